"""Document → the flat record both engines index, with its analysed text fields."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, UTC
from typing import Any

from analysis import dates, docnumber
from analysis.normalize import normalize
from analysis.segment import analyze
from analysis.titles import target_keys, version_key
from engine.model import Document, Page
from engine.suggest import suggest_keys


def to_record(doc: Document) -> dict[str, Any]:
    title = analyze(doc.title or "")
    body_words: list[str] = []
    body_grams: list[str] = []
    for page in doc.pages:
        a = analyze(page.text)
        body_words.extend(a.words)
        body_grams.extend(a.grams)
    rec: dict[str, Any] = {
        "id": doc.id,
        "collection": doc.collection,
        "title": doc.title,
        "title_words": title.words_text,
        "title_grams": title.grams_text,
        "title_key": title_keys(doc.title or ""),
        "doc_number": doc.doc_number,
        "doc_number_key": docnumber.key(doc.doc_number) if doc.doc_number else None,
        "agency": list(doc.agency),
        "recipients": list(doc.recipients),
        "date": _iso(doc.date),
        "published": _iso(doc.published),
        "year": doc.year,
        "category": doc.category,
        "doc_type": doc.doc_type,
        "fonds": doc.fonds,
        "archival_code": doc.archival_code,
        "retention": doc.retention,
        "validity": doc.validity,
        **validity_fields(doc),
        "classification": doc.classification,
        "access": doc.access,
        "body_words": " ".join(body_words),
        "body_grams": " ".join(body_grams),
        "page_text": [p.text for p in doc.pages],
        "page_confidence": [p.confidence if p.ocr and p.confidence is not None else -1.0 for p in doc.pages],
        "page_lines": [page_lines(p) for p in doc.pages] if doc.ocr else None,
        "pages": len(doc.pages),
        "ocr": doc.ocr,
        "ocr_confidence": doc.ocr_confidence,
        "source_path": doc.source_path,
        "source_sha256": doc.source_sha256,
        "media_type": doc.media_type,
        "provenance": [f"{k}:{v}" for k, v in sorted(doc.provenance.items())],
        **tree_fields(doc),
        "suggest_keys": suggest_keys(doc),
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return {k: v for k, v in rec.items() if v is not None and v != []}


TREE_DEPTH = 6  # tree_1 … tree_6 in the catalogue


def tree_paths(nodes: list[list[str]]) -> list[str]:
    """Each node's key: the codes from the top joined by "/" (indexer/arrangement.py)."""
    out: list[str] = []
    for node in nodes[:TREE_DEPTH]:
        code = str(node[1]).replace("/", "／")
        out.append(f"{out[-1]}/{code}" if out else code)
    return out


def tree_fields(doc: Document) -> dict[str, Any]:
    """The item's place as indexed: tree_N holds the key of its node N levels down (a browse
    counts a node's items by it, a search within a node filters on it), tree_parent the node
    right above it (its 案卷: the previous and next item), tree_nodes the nodes' kinds and
    labels for breadcrumbs."""
    if not doc.arrangement:
        return {}
    paths = tree_paths(doc.arrangement)
    out: dict[str, Any] = {f"tree_{i + 1}": p for i, p in enumerate(paths)}
    out["tree_parent"] = paths[-1]
    out["tree_nodes"] = json.dumps(doc.arrangement[:TREE_DEPTH], ensure_ascii=False, separators=(",", ":"))
    out["item_no"] = doc.item_no
    return out


def page_lines(page: Page) -> str:
    """A page's OCR line boxes as stored (mappings: page_lines): {"size": [w, h], "lines":
    [[left, top, right, bottom, start, end], ...]}, in pixels of the image read, start/end
    offsets in the page's text; "" for a page that had a text layer."""
    if not page.ocr or not page.lines or not page.size:
        return ""
    return json.dumps({"size": list(page.size), "lines": page.lines}, separators=(",", ":"))


def _iso(value: date | str | None) -> str | None:
    """ISO date; a string from an extractor (e.g. an HTML PubDate) is parsed, not trusted."""
    if value is None or isinstance(value, date):
        return value.isoformat() if value else None
    parsed = dates.parse(str(value)[:10]) or dates.parse(str(value))
    return parsed.isoformat() if parsed else None


NO_LONGER_VALID = ("已废止", "失效", "历史版本")


def validity_fields(doc: Document) -> dict[str, Any]:
    """施行日期, end and relations as indexed. valid_from/valid_until make "in force on day D"
    two range tests (valid_from ≤ D < valid_until); a document said to be no longer valid
    whose end is unknown is never shown as in force (valid_until = valid_from)."""
    start = doc.effective or _date_of(doc.date) or _date_of(doc.published)
    if doc.collection != "current" and not doc.validity:
        start = None  # an archive item has no validity to speak of
    until = doc.ended if doc.ended else (start if doc.validity in NO_LONGER_VALID else None)
    keys: list[str] = []
    for r in doc.relations:
        named = target_keys(str(r.get("target", ""))) + (target_keys(r["alias"]) if r.get("alias") else [])
        # A catalogue may name its target by id (based_on=A-2005): found by it as by a title.
        by_id = [r["target_id"]] if r.get("target_id") else []
        by_id += [str(r["target"])] if r.get("source") == "manifest" and r.get("target") else []
        for k in named + ["id:" + i for i in by_id]:
            if k not in keys:
                keys.append(k)
    return {
        "effective": _iso(doc.effective),
        "ended": _iso(doc.ended),
        "ended_by": doc.ended_by,
        "valid_from": _iso(start),
        "valid_until": _iso(until),
        "relations": [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in doc.relations],
        "relation_keys": keys,
        "relation_flags": list(doc.relation_flags),
        "version_group": doc.version_group or version_key(doc.title or "", doc.id),
        "version_state": doc.version_state or "current",
    }


def _date_of(value: date | str | None) -> date | None:
    iso = _iso(value)
    return date.fromisoformat(iso) if iso else None


# Prefixes people leave out when they name a document: 档案法 for 中华人民共和国档案法.
TITLE_PREFIXES = ("中华人民共和国",)


def title_keys(title: str) -> list[str]:
    """Exact-match keys of a title, so a query naming a document by its title ranks it first."""
    key = re.sub(r"\s+", "", normalize(title))
    keys = [key] if key else []
    for prefix in TITLE_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix) + 1:
            keys.append(key[len(prefix):])
    return keys
