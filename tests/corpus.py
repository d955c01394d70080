"""Documents for the conformance suite, made from the real laws (tests/data/laws.jsonl.xz, a
copy of ../shared/corpus/laws), with access levels and marker strings spread
over them, plus brute-force answers computed straight from the text: the ground truth
every backend must match."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from analysis.normalize import normalize
from engine.model import Audience, ACCESS_FOR, Document, Page
from tests.inputs import laws

PAGE_CHARS = 1200
N_LAWS = 80


@lru_cache(maxsize=1)
def documents() -> tuple[Document, ...]:
    docs = []
    rows = [r for r in laws() if len(r["text"]) < 60_000]
    archives_law = next(r for r in rows if r["title"] == "中华人民共和国档案法")
    chosen = [archives_law] + [r for r in rows if r is not archives_law][: N_LAWS - 1]
    for i, r in enumerate(chosen):
        text = r["text"]
        pages = [Page(n + 1, text[j:j + PAGE_CHARS]) for n, j in enumerate(range(0, len(text), PAGE_CHARS))]
        access = "open"
        if i and i % 10 == 3:
            access = "restricted"
        elif i and i % 10 == 7:
            access = "reading_room"
        docs.append(Document(
            id=r["id"], collection="current" if i % 4 else "archive", title=r["title"], pages=pages,
            agency=[r["issuing_body"]] if r["issuing_body"] else [],
            date=date.fromisoformat(r["publish_date"]) if r["publish_date"] else None,
            category=r["category"] or None, doc_type=r["doc_type"] or None, validity=r["validity"] or None,
            access=access,
        ))
    return tuple(docs)


def visible(audience: Audience) -> list[Document]:
    return [d for d in documents() if d.access in ACCESS_FOR[audience]]


def containing(term: str, audience: Audience) -> set[str]:
    """Ids of visible documents whose title or text contains the normalised term."""
    t = normalize(term)
    return {d.id for d in visible(audience) if t in normalize(d.title) or t in normalize(d.text)}


def facet_counts(docs: list[Document], field: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in docs:
        values = d.agency if field == "agency" else [getattr(d, field)]
        for v in values:
            if v is not None:
                counts[str(v)] = counts.get(str(v), 0) + 1
    return counts


def title_containing(term: str, audience: Audience) -> set[str]:
    """Ids of visible documents whose title contains the normalised term."""
    t = normalize(term)
    return {d.id for d in visible(audience) if t in normalize(d.title)}


def in_years(lo: int, hi: int, audience: Audience) -> set[str]:
    """Ids of visible documents whose year lies in [lo, hi]."""
    return {d.id for d in visible(audience) if d.year is not None and lo <= d.year <= hi}


def with_agency_or_title(value: str, audience: Audience) -> set[str]:
    """Ids for `机关:value`: an agency that starts with the value, or a title naming it."""
    v = normalize(value)
    return {d.id for d in visible(audience)
            if any(normalize(a).startswith(v) or a.startswith(value) for a in d.agency) or v in normalize(d.title)}
