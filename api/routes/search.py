"""GET /api/search and GET /api/suggest."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints

from analysis.abbreviations import names_for
from api.admission import admit_search
from api.deps import get_audience, get_engine, get_settings
from api.errors import ERROR_RESPONSES, bad_request
from api import meaning, passages
from api.highlight import QueryTerms, lead, query_terms, snippets
from api.schemas import (
    AnswerOut, DidYouMeanOut, ExpandedOut, HitOut, LooserOut, PassageOut, ReadingOut, SearchOut, SnippetOut,
    SuggestOut,
)
from api.routes import tree
from engine import Engine
from engine.base import RESULT_WINDOW, InvalidCursor
from engine.model import Audience, Hit, SearchResult
from engine.query import Bool, ConstScore, MatchAll, Node, Range, SearchSpec, Terms
from engine import syntax
from engine.validity import LATEST_VERSIONS, RELATION_FACET, grouped, other_versions, valid_on
from settings import Settings
from staff import usage

router = APIRouter(prefix="/api", tags=["search"])

MAX_QUERY_CHARS = 200
MAX_WINDOW = RESULT_WINDOW  # page × size beyond this needs the cursor (as Elasticsearch's max_result_window)
# tree_1 and tree_parent: the levels of the arrangement (全宗, and the 案卷 an item is in).
FACETS = ("collection", "agency", "year", "category", "doc_type", "validity", RELATION_FACET, "tree_1", "tree_parent")
HIT_FIELDS = ("id", "title", "doc_number", "agency", "date", "published", "collection", "validity",
              "category", "doc_type", "year", "pages", "archival_code", "page_text",
              "effective", "ended", "relation_flags", "version_group")

# A facet is named in the answer as its filter parameter is (relation_flags is filtered by `relation`).
FACET_NAMES = {RELATION_FACET: "relation"}
MAX_VALUE_CHARS = 200
MAX_CURSOR_CHARS = 500
Str = Annotated[list[Annotated[str, StringConstraints(max_length=MAX_VALUE_CHARS)]] | None,
                Query(max_length=20, description="any of these values (repeat the parameter)")]
# The dates an index can hold (the embedded engine counts nanoseconds in 64 bits); bounds
# outside are clamped, so any valid date is accepted.
EARLIEST, LATEST = date(1678, 1, 1), date(2261, 12, 31)
# YYYY-MM-DD only: a bare number would otherwise be read as a Unix timestamp.
IsoDate = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"},
                                      description="YYYY-MM-DD")]


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"日期不正确 / {name}: not a valid date (YYYY-MM-DD)") from None


def date_filter(lo: date | None, hi: date | None) -> Node:
    """成文日期 within [lo, hi]; a document without one (some released documents carry only a
    发布日期) is placed by its 发布日期 instead, as its year is."""
    lo = min(max(lo, EARLIEST), LATEST) if lo else None
    hi = max(min(hi, LATEST), EARLIEST) if hi else None
    undated = Bool(must=(Range("published", lo, hi),), must_not=(Range("date", gte=EARLIEST),))
    return Bool(should=(Range("date", lo, hi), undated))


def filters_from(params: dict[str, Any]) -> dict[str, Node]:
    out: dict[str, Node] = {}
    for name in ("collection", "agency", "category", "doc_type", "validity", "fonds", "access", "tree_1", "tree_parent"):
        values = [v for v in params.get(name) or [] if v]
        if values:
            out[name] = Terms(name, tuple(values))
    if params.get("node"):  # search within a node of the arrangement (api/routes/tree.py)
        out["node"] = tree.node_filter(params["node"])
    if params.get("year"):
        out["year"] = Terms("year", tuple(params["year"]))
    relation = [v for v in params.get("relation") or [] if v]
    if relation:
        out[RELATION_FACET] = Terms(RELATION_FACET, tuple(relation))
    if params.get("valid_on"):
        out["valid_on"] = valid_on(min(max(params["valid_on"], EARLIEST), LATEST))
    elif params.get("versions", "group") == "group" and not (params.get("validity") or relation):
        # One hit per document: its former versions are counted under it ("其他版本 N"). Keyed
        # as the validity filter, so the validity facet still counts 历史版本 and selecting it
        # (or asking what was in force on a day, or for a relation) shows the versions.
        out["validity"] = LATEST_VERSIONS
    lo, hi = params.get("date_from"), params.get("date_to")
    if lo or hi:
        if lo and hi and lo > hi:
            raise bad_request("起始日期晚于结束日期 / date_from is after date_to")
        out["date"] = date_filter(lo, hi)
    return out


def _fingerprint(q: str, params: dict[str, Any], sort: str) -> str:
    blob = json.dumps([q, params, sort], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def encode_cursor(sort_key: list[Any], fingerprint: str) -> str:
    raw = json.dumps({"a": sort_key, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> list[Any]:
    """The search_after key inside a cursor we handed out, checked for shape: a short list
    of plain values. Anything else is a 422 (never a 500), and the message names nothing."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw, parse_constant=_no_constant)
        after, f = data["a"], data["f"]
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("翻页游标无效 / invalid cursor") from exc
    if not isinstance(after, list) or not 1 <= len(after) <= 3 or not all(map(_plain, after)):
        raise bad_request("翻页游标无效 / invalid cursor")
    if f != fingerprint:
        raise bad_request("翻页游标与当前检索条件不符 / cursor belongs to another search")
    return after


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _plain(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) < 2**63
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, str) and len(v) <= MAX_VALUE_CHARS


PASSAGES_PER_HIT = 2
ANSWERS = 3


def hit_out(hit: Hit, terms: QueryTerms, versions: dict[str, int] | None = None,
            best: list[PassageOut] | None = None) -> HitOut:
    f = hit.fields
    pages = f.get("page_text", [])
    snips = snippets(pages, terms.for_pages(pages)) if terms else []
    if not snips:
        snips = lead(pages)
    return HitOut(
        id=hit.id, title=f.get("title", ""), doc_number=f.get("doc_number"), agency=f.get("agency", []),
        date=f.get("date"), published=f.get("published"), collection=f.get("collection", ""),
        validity=f.get("validity"), category=f.get("category"), doc_type=f.get("doc_type"),
        year=f.get("year"), pages=f.get("pages"), archival_code=f.get("archival_code"),
        score=round(hit.score, 4), snippets=[SnippetOut(page=s.page, html=s.html) for s in snips],
        effective=f.get("effective"), ended=f.get("ended"), relation_flags=f.get("relation_flags", []),
        other_versions=(versions or {}).get(f.get("version_group", ""), 0), passages=best or [],
    )


def best_passages(hits: list[Hit], parsed: syntax.ParsedQuery, terms: QueryTerms,
                  closeness: dict[str, Any] | None = None) -> tuple[list[list[PassageOut]], list[AnswerOut]]:
    """Words reading: each hit's best passages, and for a question the best across the hits:
    the closest in meaning, with their words, where the hits were ordered so (`closeness`,
    api/meaning.py), else by BM25 over their words."""
    per_hit: list[list[PassageOut]] = [[] for _ in hits]
    if parsed.reading != "words" or not hits:
        return per_hit, []
    docs = [(h.id, h.fields.get("page_text", [])) for h in hits]
    scored = (passages.closest(docs, closeness, parsed.keywords) if closeness
              else passages.score(docs, parsed.keywords))
    answers: list[AnswerOut] = []
    wanted = len(hits) * PASSAGES_PER_HIT + (ANSWERS if parsed.question else 0)
    for s in scored:  # best first: only what is shown is drawn (a law has a thousand articles)
        p, n = s.passage, s.doc
        to_hit = len(per_hit[n]) < PASSAGES_PER_HIT
        to_answers = parsed.question and len(answers) < ANSWERS
        if not (to_hit or to_answers):
            continue
        out = dict(label=p.label, page=p.page, start=p.start, score=round(s.score, 3),
                   html=passages.shown(p, terms.for_pages(docs[n][1])))
        if to_hit:
            per_hit[n].append(PassageOut(**out))
        if to_answers:
            answers.append(AnswerOut(**out, id=hits[n].id, title=hits[n].fields.get("title", "")))
        wanted -= to_hit + to_answers
        if not wanted:
            break
    return per_hit, answers


@router.get("/search", response_model=SearchOut, responses=ERROR_RESPONSES,
            summary="Full-text search with filters and facets", dependencies=[Depends(admit_search)])
def search(
    request: Request = None,  # type: ignore[assignment]  # FastAPI injects it; None when called directly (bench)
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="words, \"phrase\", -exclude, A OR B, 标题: 文号: 机关: 年份:")] = "",
    collection: Str = None,
    agency: Str = None,
    category: Str = None,
    doc_type: Str = None,
    validity: Str = None,
    fonds: Str = None,
    tree_1: Str = None,
    tree_parent: Str = None,
    node: Annotated[str | None, Query(max_length=300, description="within this node of the arrangement (its key, see /api/tree)")] = None,
    year: Annotated[list[Annotated[int, Query(ge=1000, le=2999)]] | None, Query(max_length=50)] = None,
    date_from: IsoDate = None,
    date_to: IsoDate = None,
    valid_on: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"},
                                          description="in force on this day (YYYY-MM-DD): 施行 on or before it, not yet repealed or superseded")] = None,
    relation: Annotated[list[Annotated[str, StringConstraints(max_length=MAX_VALUE_CHARS)]] | None,
                        Query(max_length=20, description="关联: 被修改过, 已被废止, 已被替代, 有解读, 被引用 (repeat)")] = None,
    versions: Annotated[Literal["group", "all"], Query(description="group: one hit per document, its other versions counted (default); all: every version")] = "group",
    access: Annotated[list[Literal["open", "reading_room", "restricted"]] | None, Query(description="staff only")] = None,
    sort: Literal["relevance", "date_desc", "date_asc"] = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_WINDOW)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 10,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page")] = None,
    expand: Annotated[bool, Query(description="also search other names of agencies and laws typed (国办 → "
                                              "国务院办公厅); false: the typed words only")] = True,
    reading: Annotated[Literal["auto", "exact", "words"], Query(
        description="auto: a question or keywords typed together are read as words, the rest exactly; "
                    "exact: all of it, in order; words: as words that should match")] = "auto",
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> SearchOut:
    date_from, date_to = _date(date_from, "date_from"), _date(date_to, "date_to")
    day = _date(valid_on, "valid_on")
    params = {"collection": collection, "agency": agency, "category": category, "doc_type": doc_type,
              "validity": validity, "fonds": fonds, "year": year, "date_from": date_from, "date_to": date_to,
              "access": access if audience == Audience.staff else None}
    # Only when asked for, so a cursor's fingerprint stays what it was for searches without them.
    params |= {k: v for k, v in (("valid_on", day), ("relation", relation), ("versions", versions),
                                 ("tree_1", tree_1), ("tree_parent", tree_parent), ("node", node))
               if v and v != "group"}
    # The staff's own table in the data directory is read again when it changes.
    parsed = syntax.parse(q, names_for(settings.data) if expand else None, reading)
    filters = filters_from(params)
    # A cursor belongs to one reading of the query: with or without the other names, exact or as words.
    fingerprint = _fingerprint(q, {**params, **({} if expand else {"expand": False}),
                                   **({} if reading == "auto" else {"reading": reading})}, sort)
    after = decode_cursor(cursor, fingerprint) if cursor else None
    if after is None and page * size > MAX_WINDOW:
        raise bad_request(f"超过 {MAX_WINDOW} 条请使用 cursor 翻页 / beyond {MAX_WINDOW} results use the cursor")
    # With a cursor the position comes from the cursor, not from `page`.
    node = syntax.to_node(parsed)
    versions_grouped = filters.get("validity") is LATEST_VERSIONS
    if versions_grouped and not parsed.empty:
        filters = grouped(engine, node, filters, audience)
    spec = SearchSpec(query=node, filters=filters, facets=FACETS, sort=sort,
                      offset=0 if after else (page - 1) * size, size=size, search_after=after, fields=HIT_FIELDS)
    # A question's first WINDOW hits are ordered by meaning, page by page (not by cursor).
    by_meaning = sort == "relevance" and not after and spec.offset + size <= meaning.WINDOW
    try:
        result, ordered = _page(engine, spec, audience, parsed, q, settings, by_meaning)
    except InvalidCursor as exc:
        raise bad_request("翻页游标无效 / invalid cursor") from exc
    if result.total == 0 and reading == "auto" and parsed.sentence and not after:
        # Read exactly, a sentence typed as it is asked finds nothing: read it as words (the
        # page says so and offers the exact reading back). Words typed apart, or a short
        # string, are offered the looser reading instead, as before.
        parsed = syntax.parse(q, names_for(settings.data) if expand else None, "words")
        parsed.fallback = True
        node = syntax.to_node(parsed)
        if versions_grouped:
            filters = grouped(engine, node, filters_from(params), audience)
        spec = replace(spec, query=node, filters=filters)
        result, ordered = _page(engine, spec, audience, parsed, q, settings, by_meaning)
    terms = query_terms(parsed)
    counts = other_versions(engine, (h.fields.get("version_group", "") for h in result.hits), audience,
                            {k: v for k, v in filters.items() if k == "access"}) if versions_grouped else {}
    per_hit, answers = best_passages(result.hits, parsed, terms, ordered.closeness if ordered else None)
    hits = [hit_out(h, terms, counts, best) for h, best in zip(result.hits, per_hit)]
    next_cursor = None
    more = bool(after) or spec.offset + len(hits) < result.total
    # Within the window ordered by meaning, pages go by `page` (the engine's sort values no
    # longer follow the order shown).
    if len(hits) == size and more and result.hits[-1].sort is not None and ordered is None:
        next_cursor = encode_cursor(result.hits[-1].sort, fingerprint)
    nothing = result.total == 0 and not parsed.empty
    looser = _looser(engine, audience, parsed, filters) if nothing else None
    if page == 1 and not after and request is not None:  # one search, not each page of it (staff/usage.py)
        usage.searched(request, audience, q, result.total)
    return SearchOut(
        total=result.total, hits=hits,
        # Plain dicts: pydantic-core builds the ~70 FacetValueOut in one call, twice as fast.
        facets={FACET_NAMES.get(k, k): [{"value": v.value, "count": v.count} for v in vals]
                for k, vals in result.facets.items()},
        took_ms=round(result.took_ms, 2), partial=result.partial, page=page, size=size, next_cursor=next_cursor,
        looser=looser,
        expanded=[ExpandedOut(typed=t, names=list(n)) for t, n in parsed.expansions()],
        did_you_mean=_did_you_mean(engine, audience, parsed, filters) if nothing else [],
        reading=ReadingOut(used=parsed.reading, question=parsed.question, words=list(parsed.keywords),
                           other=parsed.other_reading, fallback=parsed.fallback) if parsed.other_reading else None,
        answers=answers if page == 1 and not after else [],
    )


def _page(engine: Engine, spec: SearchSpec, audience: Audience, parsed: syntax.ParsedQuery, q: str,
          settings: Settings, by_meaning: bool) -> tuple[SearchResult, meaning.Ordered | None]:
    """The engine's answer for the page; for a question where meaning can order it, one search
    for the total, the facets and the ids of the first WINDOW hits (api/meaning.py), then the
    page's hits in that order by id, each scored by its closest passage's closeness."""
    if by_meaning and parsed.question and meaning.ready(settings):
        window = engine.search(replace(spec, offset=0, size=meaning.WINDOW, fields=("id",)), audience)
        ordered = meaning.order([h.id for h in window.hits], q, settings)
        if ordered is not None:
            hits = _hits_in_order(engine, spec.filters, audience, ordered.ids[spec.offset:spec.offset + spec.size])
            return replace(window, hits=[replace(h, score=round(ordered.best[h.id], 4)) for h in hits]), ordered
    return engine.search(spec, audience), None


def _hits_in_order(engine: Engine, filters: dict[str, Node], audience: Audience, ids: list[str]) -> list[Hit]:
    """The hits of `ids` (the engine's, found under `filters` for the audience), in that order:
    fetched by id, the filters and the audience's kept as a second line of defence."""
    if not ids:
        return []
    spec = SearchSpec(query=Terms("id", tuple(ids)), filters=dict(filters), size=len(ids), fields=HIT_FIELDS)
    found = {h.id: h for h in engine.search(spec, audience).hits}
    return [found[i] for i in ids if i in found]


DID_YOU_MEAN = 3


def _did_you_mean(engine: Engine, audience: Audience, parsed: syntax.ParsedQuery,
                  filters: dict[str, Node]) -> list[DidYouMeanOut]:
    """A 文号 or title one character off the query, among the documents the caller may see
    under the same filters; the likeliest (in force, newer) first."""
    found = syntax.did_you_mean(parsed)
    if found is None:
        return []
    field, node = found
    # A constant score, so both engines order the candidates by the tie-breaks alone.
    spec = SearchSpec(query=ConstScore(node, 1.0), filters=dict(filters), size=10, fields=(field,))
    out: list[DidYouMeanOut] = []
    for hit in engine.search(spec, audience).hits:
        value = hit.fields.get(field)
        if value and all(o.q != value for o in out):
            out.append(DidYouMeanOut(q=value, field=field))
    return out[:DID_YOU_MEAN]


def _looser(engine: Engine, audience: Audience, parsed: syntax.ParsedQuery, filters: dict[str, Node]) -> LooserOut | None:
    """Zero results: offer any of the words; failing that, the same words without filters."""
    text = syntax.looser_text(parsed)
    candidates = [(text, filters, False)] if text else []
    # Dropping filters keeps the staff's own `access` choice: it narrows who, not what.
    kept = {k: v for k, v in filters.items() if k == "access"}
    if len(filters) > len(kept):
        candidates.append((text or " ".join(u.text for u in parsed.units()), kept, True))
    for q, f, dropped in candidates:
        if not q:
            continue
        node = syntax.to_node(syntax.parse(q))
        if isinstance(node, MatchAll):
            continue
        total = engine.search(SearchSpec(query=node, filters=dict(f), size=0), audience).total
        if total:
            return LooserOut(q=q, total=total, dropped_filters=dropped)
    return None


@router.get("/suggest", response_model=SuggestOut, responses=ERROR_RESPONSES,
            summary="Completions from titles, agencies and 文号 (also by pinyin and initials)")
def suggest(
    q: Annotated[str, Query(min_length=1, max_length=50)],
    size: Annotated[int, Query(ge=1, le=20)] = 8,
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> SuggestOut:
    return SuggestOut(suggestions=engine.suggest(q, audience, size))
