"""Permanent links: GET /a/{档号} answers with the document's page, whatever its file is
called, wherever it lies and however often the index was rebuilt.

An archival item is named by its 档号 (the manifest's, kept in `archival_code`); a document
without one by its id (the manifest's, else the sha256 of its content), which also stays
when the file moves. Citations, exports and feeds link here (`permalink`). The lookup goes
through the engine with the caller's audience: what they may not see is a 404 like a code
that was never given."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path as PathParam, Request
from fastapi.responses import RedirectResponse

from api.access import site_url
from api.deps import get_audience, get_engine
from api.errors import ERROR_RESPONSES, not_found
from engine import Engine
from engine.model import Audience
from engine.query import SearchSpec, Term

router = APIRouter(tags=["permanent links"])


def permalink_path(doc: dict[str, Any]) -> str:
    key = doc.get("archival_code") or doc["id"]
    return f"/a/{quote(str(key), safe='')}"


def permalink(request: Request, doc: dict[str, Any]) -> str:
    """The absolute permanent link of a document (its stored fields: id, archival_code), from
    the configured base URL (CHAYUE_BASE_URL) where there is one."""
    return site_url(request, request.app.state.settings) + permalink_path(doc)


def resolve(engine: Engine, key: str, audience: Audience) -> dict[str, Any] | None:
    """The document a permanent link names: by 档号 first, then by id."""
    for field in ("archival_code", "id"):
        hits = engine.search(SearchSpec(query=Term(field, key), size=1, fields=("id", "archival_code")), audience).hits
        if hits:
            return hits[0].fields
    return None


@router.get("/a/{key:path}", response_class=RedirectResponse, status_code=303, responses=ERROR_RESPONSES,
            summary="Permanent link of a document (by 档号, else id): redirects to its page")
def open_permalink(
    key: Annotated[str, PathParam(min_length=1, max_length=200)],
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> RedirectResponse:
    doc = resolve(engine, key, audience)
    if doc is None:
        raise not_found()
    # Who asks decides where it leads (a reading-room item is a 404 to the public): no shared
    # cache may keep the answer.
    return RedirectResponse(f"/doc.html?id={quote(str(doc['id']), safe='')}", status_code=303,
                            headers={"Cache-Control": "no-store", "Vary": "X-Chayue-Key, Authorization"})
