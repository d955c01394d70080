"""The field catalogue (mappings/documents.json) read once, and the tantivy schema derived
from it, so the two engines cannot drift apart: a field exists in both or in neither."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tantivy

MAPPING_PATH = Path(__file__).resolve().parent.parent / "mappings" / "documents.json"
# The analyzer of every indexed text field in the mapping: Elasticsearch's built-in
# `whitespace`, which lives in its server core (the `whitespace` *tokenizer* a custom analyzer
# would name is in the analysis-common module, which not every distribution carries).
WHITESPACE = "whitespace"
# The tantivy tokenizer that does the same. Its name is written into every embedded index,
# so it stays as it was when the mapping still named a custom analyzer `pretokenized`.
PRETOKENIZED = "pretokenized"

# Fields that hold several values (ES arrays, tantivy multi-valued fields).
MULTI_VALUED = frozenset({"agency", "recipients", "title_key", "page_text", "page_confidence", "page_lines", "suggest_keys",
                          "provenance", "relations", "relation_keys", "relation_flags"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # ES type: keyword, text, date, integer, float, boolean
    indexed: bool
    stored: bool
    analyzer: str | None
    label: str | None


@lru_cache(maxsize=1)
def catalogue() -> dict:
    return json.loads(MAPPING_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def fields() -> dict[str, FieldSpec]:
    mapping = catalogue()["mappings"]
    excluded = set(mapping.get("_source", {}).get("excludes", []))
    out = {}
    for name, prop in mapping["properties"].items():
        out[name] = FieldSpec(
            name=name,
            type=prop["type"],
            indexed=prop.get("index", True),
            stored=name not in excluded,
            analyzer=prop.get("analyzer"),
            label=prop.get("meta", {}).get("label"),
        )
    return out


def tantivy_schema() -> tantivy.Schema:
    """ES type → tantivy field. keyword: raw-tokenised fast text (exact terms, facets);
    text with the whitespace analyzer: whitespace-tokenised with positions (phrases);
    text not indexed: stored bytes; date/integer/float/boolean: fast numeric fields."""
    sb = tantivy.SchemaBuilder()
    for f in fields().values():
        if f.type == "keyword":
            if f.indexed:
                sb.add_text_field(f.name, stored=f.stored, fast=True, tokenizer_name="raw")
            else:
                sb.add_bytes_field(f.name, stored=f.stored, indexed=False, fast=False)
        elif f.type == "text":
            if f.indexed:
                if f.analyzer != WHITESPACE:
                    raise ValueError(f"{f.name}: the embedded engine only knows the {WHITESPACE} analyzer")
                sb.add_text_field(f.name, stored=f.stored, tokenizer_name=PRETOKENIZED, index_option="position")
            else:
                sb.add_bytes_field(f.name, stored=f.stored, indexed=False, fast=False)
        elif f.type == "date":
            sb.add_date_field(f.name, stored=f.stored, indexed=f.indexed, fast=f.indexed)
        elif f.type == "integer":
            sb.add_integer_field(f.name, stored=f.stored, indexed=f.indexed, fast=f.indexed)
        elif f.type == "float":
            sb.add_float_field(f.name, stored=f.stored, indexed=f.indexed, fast=f.indexed)
        elif f.type == "boolean":
            sb.add_boolean_field(f.name, stored=f.stored, indexed=f.indexed, fast=f.indexed)
        else:
            raise ValueError(f"{f.name}: type {f.type} has no tantivy equivalent here")
    return sb.build()
