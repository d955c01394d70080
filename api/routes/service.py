"""GET /api/stats, /api/health and /api/config: the overview, liveness and page settings."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.admission import admit_search
from api.deps import engine_of, get_audience, get_engine, get_settings
from api.errors import ERROR_RESPONSES
from api.schemas import ConfigOut, FacetValueOut, HealthOut, StatsOut
from engine import Engine, EngineUnavailable
from engine.model import Audience
from engine.query import MatchAll
from settings import Settings

router = APIRouter(prefix="/api", tags=["service"])


@router.get("/stats", response_model=StatsOut, responses=ERROR_RESPONSES, summary="Counts per collection, agency, year",
            dependencies=[Depends(admit_search)])
def stats(engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience)) -> StatsOut:
    s = engine.stats(audience)

    def values(key: str) -> list[FacetValueOut]:
        return [FacetValueOut(value=v.value, count=v.count) for v in s.get(key, [])]  # type: ignore[union-attr]

    return StatsOut(total=int(s["total"]), collection=values("collection"), agency=values("agency"), year=values("year"))


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}}, summary="Engine reachable, index size, last indexing")
def health(request: Request, audience: Audience = Depends(get_audience)) -> HealthOut | JSONResponse:
    """`documents` counts what the caller may see; the index size and the last indexing time
    (which grow and move with every document, restricted ones included) are for staff only."""
    settings: Settings = request.app.state.settings
    try:
        engine = engine_of(request.app)
        info = engine.info()
        documents = info.get("documents") if audience == Audience.staff else engine.count(MatchAll(), audience)
    except EngineUnavailable:
        body = HealthOut(status="unavailable", engine=settings.engine)
        return JSONResponse(status_code=503, content=body.model_dump())
    return HealthOut(status="ok", engine=info.get("engine", settings.engine), documents=documents,
                     index_bytes=info.get("index_bytes") if audience == Audience.staff else None,
                     last_indexed=info.get("last_commit") if audience == Audience.staff else None)


@router.get("/config", response_model=ConfigOut, summary="Settings the page needs (kiosk mode)")
def config(settings: Settings = Depends(get_settings)) -> ConfigOut:
    return ConfigOut(kiosk=settings.kiosk, kiosk_idle_minutes=settings.kiosk_idle_minutes)
