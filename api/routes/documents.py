"""GET /api/documents/{id} and its file, page images and similar documents.

Every fetch goes through the engine with the caller's audience, so a document the caller
may not see answers exactly like one that does not exist (404)."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import mimetypes
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.admission import admit_expensive
from api.deps import get_audience, get_engine, get_settings
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.highlight import QueryTerms, all_matches, query_terms
from api.routes.relations import relations_of
from api.routes.search import hit_out
from api.schemas import DocumentOut, LinksOut, PageOut, SimilarOut, SnippetOut
from engine import Engine, syntax
from engine.model import LOW_CONFIDENCE, Audience
from indexer import limits, source
from settings import Settings
from staff import usage

log = logging.getLogger("chayue.api")
router = APIRouter(prefix="/api/documents", tags=["documents"])

DocId = Annotated[str, PathParam(min_length=1, max_length=200)]
PAGE_IMAGE_DPI = 110
IMAGE_TYPES = ("application/pdf", "image/")
_PDFIUM_LOCK = threading.Lock()


def _fetch(engine: Engine, doc_id: str, audience: Audience) -> dict[str, Any]:
    doc = engine.get(doc_id, audience)
    if doc is None:
        raise not_found()
    return doc


def _has_page_images(doc: dict[str, Any]) -> bool:
    return str(doc.get("media_type") or "").startswith(IMAGE_TYPES)


@router.get("/{doc_id}", response_model=DocumentOut, responses=ERROR_RESPONSES, summary="One document with its pages")
def document(
    doc_id: DocId,
    request: Request,
    q: Annotated[str, Query(max_length=200, description="mark and list the matches of this query")] = "",
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> DocumentOut:
    doc = _fetch(engine, doc_id, audience)
    texts: list[str] = doc.get("page_text", [])
    conf: list[float] = doc.get("page_confidence", [])
    boxes: list[str] = doc.get("page_lines", [])
    pages = []
    for i, text in enumerate(texts):
        c = conf[i] if i < len(conf) and conf[i] >= 0 else None
        layout = json.loads(boxes[i]) if i < len(boxes) and boxes[i] else {}
        pages.append(PageOut(number=i + 1, text=text, ocr=c is not None, confidence=c,
                             low_confidence=c is not None and c < LOW_CONFIDENCE,
                             image_size=layout.get("size"), lines=layout.get("lines")))
    base = f"/api/documents/{doc_id}"
    links = LinksOut(
        file=None if settings.kiosk or not doc.get("source_path") else f"{base}/file",
        page_image=f"{base}/pages/{{n}}.png" if _has_page_images(doc) else None,
        similar=f"{base}/similar",
    )
    matches = None
    if q.strip():
        terms = query_terms(syntax.parse(q))
        matches = [SnippetOut(page=m.page, html=m.html) for m in all_matches(texts, terms.for_pages(texts))]
    if (counter := usage.of(request.app)) is not None:
        counter.document(audience, doc, "view")
    if (terminal := getattr(request.app.state, "terminal_view", None)) is not None:
        terminal(request, audience, doc)  # a reading-room terminal bound to a visit (staff/web.py)
    return DocumentOut(
        id=doc["id"], title=doc.get("title", ""), collection=doc.get("collection", ""),
        doc_number=doc.get("doc_number"), agency=doc.get("agency", []), recipients=doc.get("recipients", []),
        date=doc.get("date"), published=doc.get("published"), year=doc.get("year"),
        category=doc.get("category"), doc_type=doc.get("doc_type"), fonds=doc.get("fonds"),
        archival_code=doc.get("archival_code"), retention=doc.get("retention"), validity=doc.get("validity"),
        access=doc.get("access", "open"), pages=pages, page_count=len(pages), ocr=bool(doc.get("ocr")),
        ocr_confidence=doc.get("ocr_confidence"), media_type=doc.get("media_type"), links=links, matches=matches,
        effective=doc.get("effective"), ended=doc.get("ended"), relations=relations_of(engine, doc, audience),
        provenance=_provenance(doc) if audience == Audience.staff else None,
    )


def _provenance(doc: dict[str, Any]) -> dict[str, str]:
    """Stored as 'field:source' values (one keyword per field, the same in both engines)."""
    return dict(v.split(":", 1) for v in doc.get("provenance", []) if ":" in v)


def _source(doc: dict[str, Any], settings: Settings) -> BinaryIO:
    """The original, opened as the ledger recorded it (indexer/source.py): a file that was
    replaced (by a link to /etc/passwd, the ledger or /proc, by a FIFO or a device) or changed
    since it was indexed answers 404 until it is indexed again."""
    if not doc.get("source_path"):
        raise _file_missing()
    try:
        return source.open_for_document(settings.ledger_path, doc["id"], str(doc["source_path"]),
                                        doc.get("source_sha256"))
    except source.SourceChanged as exc:
        log.warning("not serving the original of %s: %s", doc["id"], exc.reason)
        raise _file_missing() from exc


def _file_missing() -> ApiError:
    return ApiError(404, "file_missing", "原件暂不可用 / the original file is not available")


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(1 << 16):
            yield chunk


@router.get("/{doc_id}/file", responses={**ERROR_RESPONSES, 200: {"content": {"application/octet-stream": {}}}},
            response_class=StreamingResponse, summary="The original file")
def original(
    doc_id: DocId,
    request: Request,
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    doc = _fetch(engine, doc_id, audience)
    if settings.kiosk:
        raise ApiError(404, "no_download", "阅览终端不提供下载，请使用打印 / no downloads on reading-room terminals")
    f = _source(doc, settings)
    name = Path(str(doc["source_path"])).name
    media = doc.get("media_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Streamed from the descriptor that was checked: opening the path again would follow
    # whatever it points to by then.
    quoted = quote(name)
    disposition = f"attachment; filename*=utf-8''{quoted}" if quoted != name else f'attachment; filename="{name}"'
    headers = {"Content-Length": str(os.fstat(f.fileno()).st_size), "Content-Disposition": disposition}
    if (counter := usage.of(request.app)) is not None:
        counter.document(audience, doc, "download")
    return StreamingResponse(_chunks(f), media_type=media, headers=headers)


@router.get("/{doc_id}/pages/{n}.png", responses={**ERROR_RESPONSES, 200: {"content": {"image/png": {}}}},
            response_class=Response, summary="A page rendered as an image")
def page_image(
    doc_id: DocId,
    n: Annotated[int, PathParam(ge=1, le=100_000)],
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> Response:
    doc = _fetch(engine, doc_id, audience)
    if not _has_page_images(doc):
        raise ApiError(404, "no_page_image", "此文件没有页面图像 / this format has no page images")
    if n > int(doc.get("pages") or 0):
        raise ApiError(404, "no_such_page", "页码超出范围 / no such page")
    cache = settings.data / "page-cache" / f"{doc.get('source_sha256', doc_id)}-{n}.png"
    with _source(doc, settings) as f:  # refused once the original changed, cached or not
        if not cache.exists():
            _render_once(f, str(doc.get("media_type")), n, cache)
    return Response(cache.read_bytes(), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


def _render_once(f: BinaryIO, media_type: str, n: int, cache: Path) -> None:
    """Render the page into the cache unless a concurrent request (a thread here, or another
    worker process) already is: the others wait on the page's lock and read what it wrote."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a flock per open file: threads exclude each other too
        try:
            if cache.exists():
                return
            started = time.perf_counter()
            png = _render(f, media_type, n)
            tmp = cache.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
            tmp.write_bytes(png)
            tmp.replace(cache)
            log.info("rendered page %d of %s in %.2f s", n, cache.stem.rsplit("-", 1)[0][:16],
                     time.perf_counter() - started)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _render(f: BinaryIO, media_type: str, n: int) -> bytes:
    from PIL import Image, ImageSequence

    try:
        if media_type == "application/pdf":
            import pypdfium2 as pdfium

            # PDFium is not thread-safe: two pages rendered at once in the thread pool
            # crash the whole server (SIGSEGV). One render at a time; results are cached.
            # (Per process: each `chayue serve --workers` process has its own PDFium.)
            with _PDFIUM_LOCK:
                pdf = pdfium.PdfDocument(f)
                try:
                    page = pdf[n - 1]
                    # A 14400-pt page at 110 dpi would be 484 megapixels: fit it to a screen.
                    scale = limits.fit_scale(*page.get_size(), PAGE_IMAGE_DPI, limits.DISPLAY_PIXELS)
                    image = page.render(scale=scale).to_pil()
                finally:
                    pdf.close()
        else:
            with Image.open(f) as im:
                if im.width * im.height > limits.MAX_PIXELS:
                    raise ValueError(f"{im.width}×{im.height} pixels, over the limit")
                im.draft("RGB", (1400, 1980))  # JPEG decodes at a reduced size when it can
                frames = [frame.copy() for i, frame in enumerate(ImageSequence.Iterator(im)) if i == n - 1]
            if not frames:
                raise ApiError(404, "no_such_page", "页码超出范围 / no such page")
            image = frames[0]
            image.thumbnail((1400, 1980))
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged original must not become a 500
        raise ApiError(404, "render_failed", "页面图像无法生成 / the page image could not be rendered") from exc
    buf = io.BytesIO()
    image.convert("RGB" if image.mode not in ("L", "1") else "L").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@router.get("/{doc_id}/similar", response_model=SimilarOut, responses=ERROR_RESPONSES, summary="Related documents",
            dependencies=[Depends(admit_expensive)])
def similar(
    doc_id: DocId,
    size: Annotated[int, Query(ge=1, le=20)] = 5,
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> SimilarOut:
    _fetch(engine, doc_id, audience)
    result = engine.similar(doc_id, audience, size)
    return SimilarOut(hits=[hit_out(h, QueryTerms()) for h in result.hits])
