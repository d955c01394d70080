"""Searching by validity over time and by version, as plain query nodes that every backend
translates as it translates any other (ranges and terms on fields of the catalogue), so the
engines cannot differ on them.

- `valid_on(day)`: in force on that day: valid_from ≤ day < valid_until (engine/record.py
  fills both from 施行日期, the end and the validity).
- `LATEST_VERSIONS`: one hit per document: former versions (a newer one is in the collection
  and visible to whoever may see the former) are left out; `other_versions` counts what was
  left out, per hit, under the caller's access filter. `grouped` widens it for one query:
  a former version whose words the current version no longer has is shown, because grouping
  may never hide the only text that matches."""

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
FORMER: Node = Term("version_state", "former")
MAX_FORMER_GROUPS = 1000  # version groups looked at per query; a collection has far fewer matching


def valid_on(day: date) -> Node:
    return Bool(filter=(Range("valid_from", lte=day),), must_not=(Range("valid_until", lte=day),))


def other_versions(engine: Engine, groups: Iterable[str], audience: Audience,
                   narrowed: dict[str, Node] | None = None) -> dict[str, int]:
    """How many documents the caller may see share each version group, minus the hit itself
    (`narrowed`: filters that narrow who is counted further, such as staff's `access`)."""
    wanted = tuple(dict.fromkeys(g for g in groups if g))
    # A group that holds one document in the whole tier has no other version to count: most
    # hits, in a collection where few documents have versions (no search for them at all).
    bound = engine.doc_freq_bound("version_group", audience)
    if bound is not None:
        wanted = tuple(g for g in wanted if bound(g) > 1)
    if not wanted:
        return {}
    exact = None if narrowed else engine.exact_doc_freq("version_group", audience)
    if exact is not None:  # the tier holds what the caller may see: its counts are the answer
        return {g: n - 1 for g in wanted if (n := exact(g)) > 1}
    spec = SearchSpec(query=Terms("version_group", wanted), filters=dict(narrowed or {}), size=0,
                      facets=("version_group",), facet_size=len(wanted))
    counts = engine.search(spec, audience).facets.get("version_group", [])
    return {v.value: v.count - 1 for v in counts if v.count > 1}


def grouped(engine: Engine, query: Node, filters: dict[str, Node], audience: Audience) -> dict[str, Node]:
    """`filters` for a grouped search of `query`: LATEST_VERSIONS, or, when former versions
    match in groups where no current version does (a sentence that a revision removed), those
    former versions as well. Two size-0 searches restricted to the few former versions and
    their groups; none when the filters do not group, and no filter at all when the tier
    holds no former version."""
    if filters.get("validity") is not LATEST_VERSIONS:
        return filters
    rest = {k: v for k, v in filters.items() if k != "validity"}
    bound = engine.doc_freq_bound("version_state", audience)
    if bound is not None and bound("former") == 0:
        # No former version in the caller's tier: grouping leaves nothing out, and without
        # the filter the validity facet shares the one aggregation of the others.
        return rest
    spec = SearchSpec(query=query, filters={**rest, "validity": FORMER}, size=0,
                      facets=("version_group",), facet_size=MAX_FORMER_GROUPS)
    groups = tuple(v.value for v in engine.search(spec, audience).facets.get("version_group", []) if v.value)
    if not groups:
        return filters
    spec = SearchSpec(query=query, filters={**filters, "_groups": Terms("version_group", groups)}, size=0,
                      facets=("version_group",), facet_size=len(groups))
    covered = {v.value for v in engine.search(spec, audience).facets.get("version_group", [])}
    only_former = tuple(g for g in groups if g not in covered)
    if not only_former:
        return filters
    return {**rest, "validity": Bool(should=(LATEST_VERSIONS, Bool(filter=(FORMER, Terms("version_group", only_former)))))}
