"""GET /api/search.atom: any search, newest first, as an Atom feed, so a feed reader (or a
mail-by-feed service) alerts a researcher to new matches. Each entry links to the document
and carries its metadata; the hits come from the engine under the caller's audience, as
every search does."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated, Any
from inspect import signature
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.access import site_url
from api.citation import agencies, gbt7714
from api.admission import admit_search
from api.deps import get_audience, get_engine
from api.errors import ERROR_RESPONSES
from api.highlight import lead
from api.routes.exports import COLLECTION_LABEL, SearchRequest, doc_url, search_request, xml_text
from engine import Engine
from engine.model import Audience
from engine.query import SearchSpec

router = APIRouter(prefix="/api", tags=["search"])

FEED_FIELDS = ("id", "title", "doc_number", "agency", "date", "published", "collection", "validity", "category",
               "doc_type", "year", "archival_code", "fonds", "page_text", "indexed_at")


FEED_PARAMS = {p for p in signature(search_request).parameters if p not in ("audience", "settings")} | {"size"}


def _when(doc: dict[str, Any]) -> datetime:
    """The entry's date: 发布日期, else 成文日期, else when it was indexed (Atom needs one)."""
    for key in ("published", "date", "indexed_at"):
        value = str(doc.get(key) or "")
        if value:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)


def _summary(doc: dict[str, Any]) -> str:
    lines = [f"{label}：{value}" for label, value in (
        ("文号", doc.get("doc_number")), ("发文机关", "；".join(agencies(doc))), ("成文日期", doc.get("date")),
        ("发布日期", doc.get("published")), ("馆藏类别", COLLECTION_LABEL.get(str(doc.get("collection")))),
        ("文种", doc.get("doc_type")), ("主题分类", doc.get("category")), ("有效性", doc.get("validity")),
        ("档号", doc.get("archival_code"))) if value]
    lines.append(f"引文：{gbt7714(doc)}")
    first = lead(doc.get("page_text", []))
    if first:
        # lead() gives HTML-escaped text with no marks; the feed library escapes on its own.
        lines.append(html.unescape(first[0].html))
    return "\n".join(lines)


@router.get("/search.atom", responses={**ERROR_RESPONSES, 200: {"content": {"application/atom+xml": {}}}},
            response_class=Response, summary="A search as an Atom feed, newest first",
            dependencies=[Depends(admit_search)])
def search_feed(
    request: Request,
    search: SearchRequest = Depends(search_request),
    size: Annotated[int, Query(ge=1, le=100)] = 50,
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> Response:
    from feedgen.feed import FeedGenerator

    search.sort = "date_desc"  # a feed is newest first, whatever the page's order
    spec: SearchSpec = search.spec(engine, audience, size)
    spec.fields = FEED_FIELDS
    result = engine.search(spec, audience)
    search.q = xml_text(search.q)
    base = site_url(request, request.app.state.settings)
    # The search's own parameters only: a key someone put in the URL is not the feed's to repeat.
    page_query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k in FEED_PARAMS])
    fg = FeedGenerator()
    fg.id(f"{base}/api/search.atom?{page_query}")
    fg.title(f"查阅 · “{search.q}”的新文件" if search.q else "查阅 · 新文件")
    fg.subtitle(f"现行文件与开放档案检索，共 {result.total} 件，按日期由新到旧")
    fg.link(href=f"{base}/api/search.atom?{page_query}", rel="self", type="application/atom+xml")
    fg.link(href=f"{base}/?{page_query}", rel="alternate", type="text/html")
    fg.language("zh-CN")
    fg.author({"name": "现行文件查阅服务中心"})
    updated = max((_when(h.fields) for h in result.hits), default=datetime(1970, 1, 1, tzinfo=UTC))
    fg.updated(updated)
    for hit in result.hits:
        doc = {k: xml_text(v) if isinstance(v, str) else [xml_text(x) for x in v] if isinstance(v, list) else v
               for k, v in hit.fields.items()}
        fe = fg.add_entry(order="append")
        url = doc_url(request, {"id": hit.id, **hit.fields})
        fe.id(f"{base}/doc.html?id={quote(hit.id, safe='')}")
        fe.title(doc.get("title") or "（无题名）")
        fe.link(href=url, rel="alternate", type="text/html")
        when = _when(doc)
        fe.updated(when)
        fe.published(when)
        for name in agencies(doc):
            fe.author({"name": name})
        for term in (doc.get("collection"), doc.get("doc_type"), doc.get("category"), doc.get("validity")):
            if term:
                fe.category(term=str(term), label=COLLECTION_LABEL.get(str(term), str(term)))
        fe.summary(_summary(doc))
    return Response(fg.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8")
