"""IIIF for documents with page images, so any IIIF viewer opens them:

- Presentation 3 manifest: GET /api/iiif/{id}/manifest, one canvas per page;
- Image API 3, level 1: GET /api/iiif/{id}/image/{n}/info.json and
  /api/iiif/{id}/image/{n}/{region}/{size}/{rotation}/{quality}.{format}, cut from the page
  image the document view shows (api/routes/documents.py: rendered once, cached, under the
  pixel limits of indexer/limits.py), never upscaled;
- Content Search 2.0: GET /api/iiif/{id}/search?q=, hits boxed on the scan from the stored
  OCR line boxes; and the same hits as Content Search 1.0 (/search1), which is what Mirador's
  search panel reads.

Every route fetches the document with the caller's audience first: a document they may not
see is a 404 like a missing one, its images and its text included."""

from __future__ import annotations

import io
import json
import math
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from api.deps import get_audience, get_engine, get_settings
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.schemas import ErrorOut
from api.highlight import find_spans, query_terms
from api.routes import documents
from api.routes.permalink import permalink
from engine import Engine, syntax
from engine.model import Audience
from indexer import limits
from settings import Settings

router = APIRouter(prefix="/api/iiif", tags=["IIIF"])

DocId = Annotated[str, PathParam(min_length=1, max_length=200)]
PageNo = Annotated[int, PathParam(ge=1, le=100_000)]
PRESENTATION = "http://iiif.io/api/presentation/3/context.json"
IMAGE = "http://iiif.io/api/image/3/context.json"
SEARCH2 = "http://iiif.io/api/search/2/context.json"
SEARCH1 = "http://iiif.io/api/search/1/context.json"
TILE = 512
MAX_HITS = 500
JSON_LD = "application/ld+json"
LD_RESPONSES: dict[int | str, dict] = {**ERROR_RESPONSES, 200: {"content": {JSON_LD: {}}}}
BAD_IMAGE = {400: {"model": ErrorOut, "description": "an image request outside level 1 (IIIF Image API 3)"}}
LABELS = (("title", "题名"), ("archival_code", "档号"), ("fonds", "全宗"), ("doc_number", "文号"),
          ("agency", "责任者"), ("date", "成文日期"), ("retention", "保管期限"), ("doc_type", "文种"))


def _json(data: dict[str, Any], profile: str) -> JSONResponse:
    return JSONResponse(data, media_type=f'{JSON_LD};profile="{profile}"')


def _doc(engine: Engine, doc_id: str, audience: Audience) -> dict[str, Any]:
    doc = engine.get(doc_id, audience)
    if doc is None or not documents._has_page_images(doc):
        raise not_found()
    return doc


def _base(request: Request, doc_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/iiif/{quote(doc_id, safe='')}"


def _page_png(doc: dict[str, Any], n: int, settings: Settings) -> bytes:
    """The page image the document view shows, rendered once into the cache."""
    if n > int(doc.get("pages") or 0):
        raise ApiError(404, "no_such_page", "页码超出范围 / no such page")
    cache = settings.data / "page-cache" / f"{doc.get('source_sha256', doc['id'])}-{n}.png"
    with documents._source(doc, settings) as f:  # refused once the original changed, cached or not
        if not cache.exists():
            documents._render_once(f, str(doc.get("media_type")), n, cache)
    return cache.read_bytes()


def _page_size(doc: dict[str, Any], n: int, settings: Settings) -> tuple[int, int]:
    with Image.open(io.BytesIO(_page_png(doc, n, settings))) as im:
        return im.size


def _layout(doc: dict[str, Any], n: int) -> dict[str, Any]:
    boxes: list[str] = doc.get("page_lines", [])
    try:
        return json.loads(boxes[n - 1]) if n - 1 < len(boxes) and boxes[n - 1] else {}
    except ValueError:
        return {}


# -- Presentation 3 ---------------------------------------------------------------------
@router.get("/{doc_id}/manifest", responses=LD_RESPONSES, response_class=JSONResponse, summary="IIIF Presentation 3 manifest")
def manifest(doc_id: DocId, request: Request, engine: Engine = Depends(get_engine),
             audience: Audience = Depends(get_audience), settings: Settings = Depends(get_settings)) -> JSONResponse:
    doc = _doc(engine, doc_id, audience)
    base = _base(request, doc_id)
    canvases = []
    for n in range(1, int(doc.get("pages") or 0) + 1):
        try:
            width, height = _page_size(doc, n, settings)
        except ApiError:
            if n == 1:
                raise  # nothing to show at all: the original changed or cannot be rendered
            continue  # a page that cannot be rendered has no canvas; the others still show
        canvas = f"{base}/canvas/{n}"
        service = f"{base}/image/{n}"
        canvases.append({
            "id": canvas, "type": "Canvas", "label": {"zh": [f"第 {n} 页"]}, "width": width, "height": height,
            "items": [{"id": f"{base}/page/{n}", "type": "AnnotationPage", "items": [{
                "id": f"{base}/painting/{n}", "type": "Annotation", "motivation": "painting", "target": canvas,
                "body": {"id": f"{service}/full/max/0/default.jpg", "type": "Image", "format": "image/jpeg",
                         "width": width, "height": height,
                         "service": [{"id": service, "type": "ImageService3", "profile": "level1"}]},
            }]}],
        })
    metadata = []
    for key, label in LABELS:
        value = doc.get(key)
        values = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        if values:
            metadata.append({"label": {"zh": [label]}, "value": {"zh": values}})
    data = {
        "@context": PRESENTATION, "id": f"{base}/manifest", "type": "Manifest",
        "label": {"zh": [doc.get("title") or doc_id]},
        "metadata": metadata,
        "homepage": [{"id": permalink(request, doc), "type": "Text", "format": "text/html",
                      "label": {"zh": [doc.get("title") or doc_id]}}],
        "service": [
            {"id": f"{base}/search", "type": "SearchService2"},
            {"@id": f"{base}/search1", "@type": "SearchService1", "profile": "http://iiif.io/api/search/1/search"},
        ],
        "items": canvases,
    }
    return _json(data, PRESENTATION)


# -- Image API 3, level 1 -----------------------------------------------------------------
@router.get("/{doc_id}/image/{n}/info.json", responses={**LD_RESPONSES, **BAD_IMAGE}, response_class=JSONResponse, summary="IIIF Image API 3 information")
def info(doc_id: DocId, n: PageNo, request: Request, engine: Engine = Depends(get_engine),
         audience: Audience = Depends(get_audience), settings: Settings = Depends(get_settings)) -> JSONResponse:
    doc = _doc(engine, doc_id, audience)
    width, height = _page_size(doc, n, settings)
    factors = [f for f in (1, 2, 4, 8, 16) if f == 1 or max(width, height) / f >= TILE / 2]
    data = {
        "@context": IMAGE, "id": f"{_base(request, doc_id)}/image/{n}", "type": "ImageService3",
        "protocol": "http://iiif.io/api/image", "profile": "level1", "width": width, "height": height,
        "maxWidth": width, "maxHeight": height,  # the page image is the largest there is
        "tiles": [{"width": TILE, "height": TILE, "scaleFactors": factors}],
        "sizes": [{"width": max(1, width // f), "height": max(1, height // f)} for f in reversed(factors)],
    }
    return _json(data, IMAGE)


def _bad(what: str) -> ApiError:
    return ApiError(400, "bad_image_request", f"图像请求无效 / invalid IIIF image request: {what}")


def region_box(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """full, square, x,y,w,h or pct:x,y,w,h → a crop box inside the image (400 if empty)."""
    if region == "full":
        return 0, 0, width, height
    if region == "square":
        side = min(width, height)
        return (width - side) // 2, (height - side) // 2, (width - side) // 2 + side, (height - side) // 2 + side
    pct = region.startswith("pct:")
    try:
        x, y, w, h = (float(v) for v in region[4 if pct else 0:].split(","))
    except ValueError:
        raise _bad("region") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise _bad("region")
    if pct:
        x, y, w, h = x * width / 100, y * height / 100, w * width / 100, h * height / 100
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x >= width or y >= height:
        raise _bad("region")
    return int(x), int(y), int(min(x + w, width)), int(min(y + h, height))


def output_size(size: str, w: int, h: int) -> tuple[int, int]:
    """max, w,, ,h, w,h, !w,h or pct:n for a region of w × h; never larger than the region
    (no ^), never over the pixel limit."""
    if size == "max":
        out = (w, h)
    elif size.startswith("pct:"):
        try:
            p = float(size[4:])
        except ValueError:
            raise _bad("size") from None
        if not 0 < p <= 100:
            raise _bad("size")
        out = (round(w * p / 100), round(h * p / 100))
    else:
        fit = size.startswith("!")
        try:
            sw, sh = (int(v) if v else None for v in size.lstrip("!").split(","))
        except ValueError:
            raise _bad("size") from None
        if sw is None and sh is None:
            raise _bad("size")
        if fit:
            if sw is None or sh is None:
                raise _bad("size")
            scale = min(sw / w, sh / h)
            out = (round(w * scale), round(h * scale))
        elif sh is None:
            out = (sw, round(h * sw / w))  # type: ignore[operator]
        elif sw is None:
            out = (round(w * sh / h), sh)
        else:
            out = (sw, sh)
    if out[0] < 1 or out[1] < 1 or out[0] > w or out[1] > h or out[0] * out[1] > limits.DISPLAY_PIXELS:
        raise _bad("size")
    return out


@router.get("/{doc_id}/image/{n}/{region}/{size}/{rotation}/{quality}.{fmt}",
            responses={**ERROR_RESPONSES, **BAD_IMAGE, 200: {"content": {"image/jpeg": {}, "image/png": {}}}},
            response_class=Response, summary="IIIF Image API 3 (level 1): a region of a page at a size")
def image(doc_id: DocId, n: PageNo, region: str, size: str, rotation: str, quality: str, fmt: str,
          engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience),
          settings: Settings = Depends(get_settings)) -> Response:
    doc = _doc(engine, doc_id, audience)
    if rotation != "0":
        raise _bad("rotation (level 1: 0 only)")
    if quality not in ("default", "color", "gray"):
        raise _bad("quality")
    if fmt not in ("jpg", "png"):
        raise _bad("format")
    with Image.open(io.BytesIO(_page_png(doc, n, settings))) as im:
        box = region_box(region, *im.size)
        w, h = box[2] - box[0], box[3] - box[1]
        out_size = output_size(size, w, h)
        picture = im.crop(box).resize(out_size, Image.Resampling.LANCZOS) if out_size != (w, h) else im.crop(box)
    picture = picture.convert("L" if quality == "gray" or picture.mode in ("1", "L") else "RGB")
    buf = io.BytesIO()
    picture.save(buf, format="JPEG" if fmt == "jpg" else "PNG", quality=85)
    return Response(buf.getvalue(), media_type="image/jpeg" if fmt == "jpg" else "image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


# -- Content Search ----------------------------------------------------------------------
def _hits(doc: dict[str, Any], q: str, settings: Settings) -> list[dict[str, Any]]:
    """Each match of the query on each page: the page, the matched text with some context,
    and its boxes on the canvas (from the OCR line boxes, scaled to the canvas)."""
    texts: list[str] = doc.get("page_text", [])
    terms = query_terms(syntax.parse(q)).for_pages(texts)
    out: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        spans = find_spans(text, terms) if terms else []
        if not spans:
            continue
        n = i + 1
        layout = _layout(doc, n)
        scale = None
        if layout.get("size") and layout.get("lines"):
            cw, ch = _page_size(doc, n, settings)
            ow, oh = layout["size"]
            scale = (cw / ow, ch / oh)
        for start, end in spans:
            boxes = []
            for left, top, right, bottom, s, e in layout.get("lines", []) if scale else []:
                lo, hi = max(start, s), min(end, e)
                if lo >= hi or e <= s:
                    continue
                vertical = bottom - top > (right - left) * 1.5
                a, b = (lo - s) / (e - s), (hi - s) / (e - s)
                if vertical:
                    x0, x1, y0, y1 = left, right, top + a * (bottom - top), top + b * (bottom - top)
                else:
                    x0, x1, y0, y1 = left + a * (right - left), left + b * (right - left), top, bottom
                boxes.append((round(x0 * scale[0]), round(y0 * scale[1]),
                              max(1, round((x1 - x0) * scale[0])), max(1, round((y1 - y0) * scale[1]))))
            out.append({"page": n, "exact": text[start:end], "prefix": text[max(0, start - 10):start],
                        "suffix": text[end:end + 10], "boxes": boxes})
            if len(out) >= MAX_HITS:
                return out
    return out


def _target(canvas: str, box: tuple[int, int, int, int] | None) -> str:
    return f"{canvas}#xywh={','.join(map(str, box))}" if box else canvas


@router.get("/{doc_id}/search", responses=LD_RESPONSES, response_class=JSONResponse, summary="IIIF Content Search 2.0 within the document")
def search(doc_id: DocId, request: Request, q: Annotated[str, Query(max_length=200)] = "",
           engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience),
           settings: Settings = Depends(get_settings)) -> JSONResponse:
    doc = _doc(engine, doc_id, audience)
    base = _base(request, doc_id)
    items, contexts = [], []
    for k, hit in enumerate(_hits(doc, q, settings)):
        canvas = f"{base}/canvas/{hit['page']}"
        ids = []
        for j, box in enumerate(hit["boxes"] or [None]):
            anno = f"{base}/search/hit/{k}/{j}"
            ids.append(anno)
            items.append({"id": anno, "type": "Annotation", "motivation": "highlighting",
                          "body": {"type": "TextualBody", "value": hit["exact"], "format": "text/plain"},
                          "target": _target(canvas, box)})
        contexts += [{"id": f"{a}/context", "type": "Annotation", "motivation": "contextualizing",
                      "target": {"type": "SpecificResource", "source": a, "selector": [{
                          "type": "TextQuoteSelector", "prefix": hit["prefix"], "exact": hit["exact"],
                          "suffix": hit["suffix"]}]}} for a in ids]
    data = {"@context": SEARCH2, "id": str(request.url), "type": "AnnotationPage", "items": items}
    if contexts:
        data["annotations"] = [{"type": "AnnotationPage", "items": contexts}]
    return _json(data, SEARCH2)


@router.get("/{doc_id}/search1", responses=LD_RESPONSES, response_class=JSONResponse, summary="The same hits as IIIF Content Search 1.0")
def search1(doc_id: DocId, request: Request, q: Annotated[str, Query(max_length=200)] = "",
            engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience),
            settings: Settings = Depends(get_settings)) -> JSONResponse:
    doc = _doc(engine, doc_id, audience)
    base = _base(request, doc_id)
    resources, hits = [], []
    for k, hit in enumerate(_hits(doc, q, settings)):
        canvas = f"{base}/canvas/{hit['page']}"
        ids = []
        for j, box in enumerate(hit["boxes"] or [None]):
            anno = f"{base}/search1/hit/{k}/{j}"
            ids.append(anno)
            resources.append({"@id": anno, "@type": "oa:Annotation", "motivation": "sc:painting",
                              "resource": {"@type": "cnt:ContentAsText", "chars": hit["exact"]},
                              "on": _target(canvas, box)})
        hits.append({"@type": "search:Hit", "annotations": ids, "match": hit["exact"],
                     "before": hit["prefix"], "after": hit["suffix"]})
    data = {"@context": [PRESENTATION.replace("/3/", "/2/"), SEARCH1], "@id": str(request.url),
            "@type": "sc:AnnotationList", "within": {"@type": "sc:Layer", "total": len(hits)},
            "resources": resources, "hits": hits}
    return _json(data, SEARCH1)
