"""The FastAPI application: JSON API under /api, OpenAPI at /docs, the page at /."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.access import audience_of, host_allowed, scrub_access_log
from api.routes import documents, exports, feed, iiif, oai, permalink, relations, search, service, tree
from engine.model import Audience
from settings import Settings, get_settings
from staff import web as staff_web

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"

# The page loads nothing from elsewhere; scripts only from our own files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

# The IIIF viewer page (Mirador, vendored) styles itself with <style> elements it writes and
# draws page images into canvases from blob: URLs; scripts stay our own files only.
VIEWER_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
    "img-src 'self' data:", "img-src 'self' data: blob:")


class LimitsAndHeaders:
    """Refuses requests to a host name not answered to and oversized requests, and adds the
    security and cache headers. A plain ASGI
    middleware: Starlette's @app.middleware("http") runs every request through a task
    group and memory streams, which cost about as much as the headers' purpose."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not host_allowed(request.headers.get("host"), self.settings):
            await errors.bad_host()(scope, receive, self._with_headers(request, send))
            return
        too_big = errors.request_too_big(request)
        if too_big is not None:
            await too_big(scope, receive, self._with_headers(request, send))
            return
        await self.app(scope, receive, self._with_headers(request, send))

    def _with_headers(self, request: Request, send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                path = request.url.path
                if path == "/viewer.html":
                    headers.setdefault("Content-Security-Policy", VIEWER_CSP)
                elif not path.startswith("/docs"):
                    headers.setdefault("Content-Security-Policy", CSP)
                if path.startswith("/api/"):
                    # Answers depend on who asks (key or terminal network), so no shared cache
                    # may keep them; a keyed or reading-room answer is not kept at all.
                    headers["Vary"] = "X-Chayue-Key, Authorization"
                    if audience_of(request, self.settings) != Audience.public or path == "/api/health":
                        headers["Cache-Control"] = "no-store"
                    else:
                        headers.setdefault("Cache-Control", "private, no-cache")
            await send(message)

        return send_with_headers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Swagger UI from the files fastapi-offline ships, under /docs/static: a reading-room
    # intranet reaches no CDN.
    app = FastAPIOffline(
        title="查阅 chayue",
        description="现行文件与开放档案全文检索 / Full-text search of current government documents and opened archives.",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs/static",
    )
    app.state.settings = settings
    app.state.engine = None
    scrub_access_log(settings)
    errors.install(app)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(relations.router)
    app.include_router(service.router)
    app.include_router(exports.router)
    app.include_router(feed.router)
    staff_web.mount(app, settings)  # the archive's own side: /staff/api and /api/openings
    app.include_router(tree.router)
    app.include_router(permalink.router)
    app.include_router(oai.router)
    app.include_router(iiif.router)
    app.add_middleware(LimitsAndHeaders, settings=settings)

    if FRONTEND.is_dir():
        app.mount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend")
    return app
