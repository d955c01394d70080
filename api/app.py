"""The FastAPI application: JSON API under /api, OpenAPI at /docs, the page at /."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from api import errors
from api.access import audience_of
from api.routes import documents, search, service
from engine.model import Audience
from settings import Settings, get_settings

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"

# The page loads nothing from elsewhere; scripts only from our own files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="查阅 chayue",
        description="现行文件与开放档案全文检索 / Full-text search of current government documents and opened archives.",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = None
    errors.install(app)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(service.router)

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next):
        too_big = errors.request_too_big(request)
        response = too_big or await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        if request.url.path.startswith("/api/"):
            # Answers depend on who asks (key or terminal network), so no shared cache may
            # keep them; a keyed or reading-room answer is not kept at all.
            response.headers["Vary"] = "X-Chayue-Key, Authorization"
            if audience_of(request, settings) != Audience.public or request.url.path == "/api/health":
                response.headers["Cache-Control"] = "no-store"
            else:
                response.headers.setdefault("Cache-Control", "private, no-cache")
        return response

    if FRONTEND.is_dir():
        app.mount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend")
    return app
