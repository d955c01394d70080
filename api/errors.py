"""One error shape for every failure: `{"error": code, "message": "中文 / English"}`.

Messages never name a document the caller may not see: a restricted document is simply
"not found" (404), the same answer as an id that does not exist."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorOut
from engine import EngineUnavailable
from engine.base import InvalidCursor

log = logging.getLogger("chayue.api")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        self.status, self.code, self.message, self.headers = status, code, message, headers


def not_found(what: str = "文件") -> ApiError:
    return ApiError(404, "not_found", f"未找到该{what} / not found")


def bad_request(message: str) -> ApiError:
    return ApiError(422, "invalid_parameter", message)


ERROR_RESPONSES: dict[int | str, dict] = {
    400: {"model": ErrorOut, "description": "a host name the service does not answer to (`bad_host`, CHAYUE_ALLOWED_HOSTS)"},
    404: {"model": ErrorOut, "description": "not found (also for documents the caller may not see)"},
    413: {"model": ErrorOut, "description": "request body too large (only a folder export takes a body)"},
    422: {"model": ErrorOut, "description": "invalid parameter, parameters too long, or a body that is not JSON"},
    503: {"model": ErrorOut, "description": "search engine unavailable, or too many expensive searches at once "
                                            "(`busy`, with `Retry-After`)"},
}


# Limits on what a request may carry. Every API call but a folder export is a GET with a short
# query string; a longer URL or any sizeable body is refused before routing.
# Too many parameters is a bad parameter like any other (422, not 414: clients handle one
# kind of refusal).
MAX_URL_BYTES = 8192
MAX_BODY_BYTES = 16_384
# The bodies the API reads: a folder sent for export (ids, notes and passages), and the staff
# pages' decisions (a review may name thousands of items).
EXPORT_PATH = "/api/export/"
MAX_EXPORT_BODY_BYTES = 4 * 1024 * 1024
STAFF_PATH = "/staff/api/"
MAX_STAFF_BODY_BYTES = 1024 * 1024


def request_too_big(request: Request) -> JSONResponse | None:
    url_bytes = len(request.url.path.encode()) + len(request.url.query.encode())
    if url_bytes > MAX_URL_BYTES:
        return _json(422, "request_too_long", f"请求参数过长（上限 {MAX_URL_BYTES} 字节）/ request parameters too long "
                                              f"(limit {MAX_URL_BYTES} bytes)")
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    export = request.url.path.startswith(EXPORT_PATH)
    staff = request.url.path.startswith(STAFF_PATH)
    limit = MAX_EXPORT_BODY_BYTES if export else MAX_STAFF_BODY_BYTES if staff else MAX_BODY_BYTES
    if chunked or (length is not None and (not length.isdigit() or int(length) > limit)):
        # A folder or a decision too large is a bad one (422, like a URL too long); a body
        # sent where none is read is refused as such (413).
        return _json(422 if export or staff else 413, "request_too_large",
                     f"请求体过大（上限 {limit} 字节）/ request body too large (limit {limit} bytes)")
    return None


def bad_host() -> JSONResponse:
    return _json(400, "bad_host", "此地址不提供查阅服务，请使用本馆公布的网址 / this host name is not served "
                                  "(CHAYUE_ALLOWED_HOSTS)")


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "message": message}, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return _json(422, "invalid_parameter", "参数不正确 / invalid parameter — " + "; ".join(parts))

    @app.exception_handler(InvalidCursor)
    async def _cursor(_: Request, exc: InvalidCursor) -> JSONResponse:
        return _json(422, "invalid_parameter", "翻页游标无效 / invalid cursor")

    @app.exception_handler(EngineUnavailable)
    async def _unavailable(_: Request, exc: EngineUnavailable) -> JSONResponse:
        log.error("engine unavailable: %s", exc)
        return _json(503, "engine_unavailable", "检索服务暂不可用，请稍后再试 / search engine unavailable")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body": bytes that are not UTF-8, JSON nested past the
            # parser's depth. Answered as any body that is not JSON is.
            return _json(422, "invalid_parameter", "参数不正确：请求体不是有效的 JSON（UTF-8）/ invalid parameter: "
                                                   "the body is not valid JSON (UTF-8)")
        messages = {404: "未找到 / not found", 405: "不支持的请求方法 / method not allowed"}
        return _json(exc.status_code, "http_error", messages.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _json(500, "internal_error", "服务内部错误 / internal error")
