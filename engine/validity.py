"""Searching by validity over time and by version, as plain query nodes that every backend
translates as it translates any other (ranges and terms on fields of the catalogue), so the
engines cannot differ on them.

- `valid_on(day)`: in force on that day: valid_from ≤ day < valid_until (engine/record.py
  fills both from 施行日期, the end and the validity).
- `LATEST_VERSIONS`: one hit per document: former versions (a newer one is in the collection
  and visible to whoever may see the former) are left out; `other_versions` counts what was
  left out, per hit, under the caller's access filter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from engine.model import Audience
from engine.query import Bool, Node, Range, SearchSpec, Term, Terms

if TYPE_CHECKING:
    from engine.base import Engine

RELATION_FACET = "relation_flags"
LATEST_VERSIONS: Node = Bool(must_not=(Term("version_state", "former"),))


def valid_on(day: date) -> Node:
    return Bool(filter=(Range("valid_from", lte=day),), must_not=(Range("valid_until", lte=day),))


def other_versions(engine: Engine, groups: Iterable[str], audience: Audience) -> dict[str, int]:
    """How many documents the caller may see share each version group, minus the hit itself."""
    wanted = tuple(dict.fromkeys(g for g in groups if g))
    if not wanted:
        return {}
    spec = SearchSpec(query=Terms("version_group", wanted), size=0, facets=("version_group",),
                      facet_size=len(wanted))
    counts = engine.search(spec, audience).facets.get("version_group", [])
    return {v.value: v.count - 1 for v in counts if v.count > 1}
