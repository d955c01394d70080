"""The staff side's routes, mounted into the app by `mount(app)`: the staff JSON API under
/staff/api (every route behind sign-in or a personal key; every state change also behind
the CSRF token when the caller came by cookie), and the public lists of opened batches
under /api/openings. The staff pages are static files under frontend/staff/ that read this API."""

from __future__ import annotations

import csv
import io
from functools import cached_property
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field

from api.deps import get_engine
from api.access import site_url
from api.errors import ERROR_RESPONSES, ApiError, ErrorOut, not_found
from engine import Engine
from engine.model import Audience
from engine.query import Node, SearchSpec, Terms
from settings import Settings
from staff import audit, opening, publish, register, statistics, usage
from staff.accounts import Account, Accounts, SignInRefused
from staff.store import Store

COOKIE = "chayue_staff"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")

STAFF_RESPONSES: dict[int | str, dict] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorOut, "description": "not signed in, or a wrong username or password (`signin_required`, `signin_failed`)"},
    403: {"model": ErrorOut, "description": "a role that may not do this, or a missing CSRF token (`forbidden`, `csrf`)"},
    409: {"model": ErrorOut, "description": "a batch that cannot be decided so (`review_refused`)"},
    415: {"model": ErrorOut, "description": "a sign-in that is not a JSON body"},
    429: {"model": ErrorOut, "description": "too many failed sign-ins (`throttled`, with `Retry-After`)"},
}
staff_router = APIRouter(prefix="/staff/api", tags=["staff"], responses=STAFF_RESPONSES)
public_router = APIRouter(prefix="/api", tags=["openings"], responses=ERROR_RESPONSES)


# -- who is calling ---------------------------------------------------------------------------
class Caller(BaseModel):
    account: Any
    session: str | None = None  # None: came with a personal API key


class StaffSide:
    """The store and the accounts service, made on first use: an app that never serves a
    staff request (or a test that only reads its routes) leaves no file behind."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.staff_path)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store, self.settings)

    @cached_property
    def terminals(self) -> URLSafeTimedSerializer:
        """Signs the visit a reading-room terminal is bound to (its cookie names no person)."""
        from staff.accounts import _secret

        return URLSafeTimedSerializer(_secret(self.store), salt="chayue.register.terminal")


def _accounts(request: Request) -> Accounts:
    return request.app.state.staff.accounts


def _store(request: Request) -> Store:
    return request.app.state.staff.store


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _key(request: Request) -> str | None:
    key = request.headers.get("X-Chayue-Key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return key or None


def caller(request: Request) -> Caller:
    """The signed-in person (cookie, with the CSRF token on every state change) or the owner
    of a personal key (no cookie: a page of another site cannot send it). 401 otherwise."""
    accounts = _accounts(request)
    key = _key(request)
    if key:
        account = accounts.by_key(key)
        if account is None:
            raise ApiError(401, "signin_required", "请先登录 / sign in first")
        return Caller(account=account)
    found = accounts.session(request.cookies.get(COOKIE))
    if found is None:
        raise ApiError(401, "signin_required", "请先登录 / sign in first")
    account, sid = found
    if request.method in UNSAFE and not accounts.csrf_ok(sid, request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "csrf", "页面已过期，请刷新后重试 / missing or wrong CSRF token: reload the page")
    return Caller(account=account, session=sid)


def signed_in_or_absent(request: Request) -> Caller:
    """As `caller`, but to anyone not signed in (a public caller, a reading-room terminal) the
    register and the figures of use are not there: 404 as for any missing path, not a 401
    that says they exist. A signed-in person without the role still gets 403."""
    try:
        return caller(request)
    except ApiError as exc:
        if exc.status == 401:
            from starlette.exceptions import HTTPException

            raise HTTPException(404) from None  # answered exactly as a path that does not exist
        raise


def deciders(who: Caller = Depends(caller)) -> Caller:
    if who.account.role not in opening.DECIDERS:
        raise ApiError(403, "forbidden", "只有审核员和管理员可以进行此操作 / reviewers and administrators only")
    return who


STATISTICS_ROLES = ("admin", "reviewer")


def statisticians(who: Caller = Depends(signed_in_or_absent)) -> Caller:
    """The figures name documents of every access level: 审核员 and 管理员 only (a 阅览室
    clerk sees on the public side what the reading room sees, and no more here)."""
    if who.account.role not in STATISTICS_ROLES:
        raise ApiError(403, "forbidden", "只有审核员和管理员可以查看统计 / reviewers and administrators only")
    return who


def clerks(who: Caller = Depends(signed_in_or_absent)) -> Caller:
    """The register's personal fields: 阅览室 and 管理员 only."""
    if who.account.role not in register.READERS:
        raise ApiError(403, "forbidden", "只有阅览室和管理员可以查看利用登记 / reading room and administrators only")
    return who


def admins(who: Caller = Depends(caller)) -> Caller:
    if who.account.role != "admin":
        raise ApiError(403, "forbidden", "只有管理员可以进行此操作 / administrators only")
    return who


AUDITED_PATHS = ("/api/documents/", "/api/export/")


def staff_audience(request: Request, key: str | None) -> Audience | None:
    """The audience a personal key gives on the public API (installed into api/access.py):
    审核员 and 管理员 see what staff see, 阅览室 what the reading room sees."""
    if not key:
        return None
    account = _accounts(request).by_key(key)
    if account is None:
        return None
    path = request.url.path
    if path.startswith(AUDITED_PATHS) and not request.scope.setdefault("state", {}).get("chayue_audited"):
        # A named person reading documents or exporting with their key: on the record (once
        # per request; the audience is asked more than once). The path only: no query words.
        request.scope["state"]["chayue_audited"] = True
        action = "staff.export" if path.startswith("/api/export") else "staff.view"
        audit.record(_store(request), account.label, action, path)
    return Audience.reading_room if account.role == "reading_room" else Audience.staff


def _me(account: Account, csrf: str | None) -> dict[str, Any]:
    return {"username": account.username, "name": account.name, "role": account.role,
            "role_label": account.role_label, "csrf": csrf}


# -- sign-in ------------------------------------------------------------------------------------
class SignIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


@staff_router.post("/signin", summary="Sign in (sets the session cookie; answers the CSRF token)")
def signin(body: SignIn, request: Request) -> JSONResponse:
    # A JSON body only: a form of another site cannot send one without the browser asking
    # this server first (CORS), which it never allows, so nobody is signed in by a stranger's page.
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, "json_only", "请求格式不正确 / JSON body required")
    accounts = _accounts(request)
    try:
        account = accounts.sign_in(body.username, body.password)
    except SignInRefused as exc:
        if exc.throttled:
            raise ApiError(429, "throttled", "登录失败次数过多，请稍后再试 / too many failed sign-ins: try later",
                           {"Retry-After": str(int(_settings(request).signin_window_minutes * 60))}) from exc
        raise ApiError(401, "signin_failed", "用户名或密码不正确 / wrong username or password") from exc
    token = accounts.start_session(account)
    sid = accounts.session(token)
    assert sid is not None
    resp = JSONResponse(_me(account, accounts.csrf_token(sid[1])))
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/staff",
                    secure=request.url.scheme == "https", max_age=int(_settings(request).staff_session_hours * 3600))
    return resp


@staff_router.post("/signout", summary="Sign out")
def signout(request: Request, who: Caller = Depends(caller)) -> JSONResponse:
    if who.session:
        _accounts(request).end_session(who.session)
    audit.record(_store(request), who.account.label, "signout", who.account.username)
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(COOKIE, path="/staff")
    return resp


@staff_router.get("/me", summary="Who is signed in, with a CSRF token for state changes")
def me(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    csrf = _accounts(request).csrf_token(who.session) if who.session else None
    return _me(who.account, csrf)


@staff_router.post("/keys", summary="A new personal API key for the caller (shown once)")
def new_key(request: Request, who: Caller = Depends(caller)) -> dict[str, str]:
    return {"key": _accounts(request).new_key(who.account, who.account.label)}


# -- the review queue -----------------------------------------------------------------------------
FACETS = ("mark", "category", "fonds", "retention")


def _matches(state: opening.ItemState, q: str) -> bool:
    q = q.strip()
    return not q or any(q in (v or "") for v in (state.title, state.archival_code, state.id))


def _queue(request: Request, view: str, horizon: int, q: str, filters: dict[str, str | None],
           engine: Engine | None) -> tuple[list[opening.ItemState], dict[str, list[dict[str, Any]]]]:
    settings = _settings(request)
    rules = opening.load_rules(settings)
    day = opening.today(settings)
    states = [s for s in opening.states(_store(request), rules) if opening.in_view(s, view, day, horizon)]
    if q.strip() and engine is not None:
        # Full text through the engine (staff tier), titles and 档号 here.
        found = engine.search(SearchSpec(query=_text_query(q), size=10_000, fields=("id",)), Audience.staff)
        ids = {h.id for h in found.hits}
        states = [s for s in states if s.id in ids or _matches(s, q)]
    facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    for s in states:
        for f in FACETS:
            value = getattr(s, f) or "—"
            facets[f][value] = facets[f].get(value, 0) + 1
    chosen = [s for s in states if all(not v or (getattr(s, f) or "—") == v for f, v in filters.items())]
    return chosen, {f: [{"value": k, "count": n} for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
                    for f, c in facets.items()}


def _text_query(q: str) -> Node:
    from engine import syntax  # the public search's own reading of a query

    return syntax.to_node(syntax.parse(q))


class QueueParams(BaseModel):
    view: str = "due"
    horizon: int = Field(365, ge=0, le=36500)
    q: str = Field("", max_length=200)
    mark: str | None = None
    category: str | None = None
    fonds: str | None = None
    retention: str | None = None


def _state_out(s: opening.ItemState) -> dict[str, Any]:
    return {k: v for k, v in s.__dict__.items() if k != "extra"}


@staff_router.get("/queue", summary="The review queue: items by view, search and facets")
def queue(request: Request, view: str = "due", horizon: Annotated[int, Query(ge=0, le=36500)] = 365,
          q: Annotated[str, Query(max_length=200)] = "", mark: str | None = None, category: str | None = None,
          fonds: str | None = None, retention: str | None = None, who: Caller = Depends(caller)) -> dict[str, Any]:
    engine = _engine_or_none(request)
    try:
        items, facets = _queue(request, view, horizon, q, {"mark": mark, "category": category, "fonds": fonds,
                                                           "retention": retention}, engine)
    except opening.ReviewError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from exc
    return {"today": opening.today(_settings(request)).isoformat(), "total": len(items),
            "items": [_state_out(s) for s in items[:500]], "facets": facets,
            "pending": opening.pending_batches(_store(request))}


def _engine_or_none(request: Request) -> Engine | None:
    from api.deps import engine_of
    from engine import EngineUnavailable

    try:
        return engine_of(request.app)
    except EngineUnavailable:
        return None


@staff_router.get("/items/{item_id}", summary="One item: its opening state and its text (staff view, audited)")
def item(item_id: str, request: Request, who: Caller = Depends(caller),
         engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    doc = engine.get(item_id, Audience.staff)
    if doc is None:
        raise not_found("档案")
    states = opening.states(_store(request), opening.load_rules(_settings(request)), [item_id])
    if doc.get("access") != "open" or item_id in engine.withheld():
        audit.record(_store(request), who.account.label, "staff.view", item_id, {"access": doc.get("access")})
    return {"state": _state_out(states[0]) if states else None,
            "document": {k: doc.get(k) for k in ("id", "title", "archival_code", "date", "fonds", "category",
                                                  "retention", "classification", "access", "pages", "media_type",
                                                  "page_text")}}


@staff_router.get("/items/{item_id}/pages/{n}.png", responses={200: {"content": {"image/png": {}}}},
                  response_class=Response, summary="A page image for the review (staff)")
def item_page(item_id: str, n: int, request: Request, who: Caller = Depends(caller),
              engine: Engine = Depends(get_engine)) -> Response:
    from api.routes.documents import page_image

    return page_image(item_id, n, engine, Audience.staff, _settings(request))


class FirstReview(BaseModel):
    ids: list[str] = Field(default_factory=list, max_length=5000)
    query: QueueParams | None = None  # or: every item of this queue search (one 开放批次)
    decision: str
    reason: str | None = Field(None, max_length=2000)
    open_on: date | None = None
    next_review: date | None = None


@staff_router.post("/reviews", summary="初审: propose a decision for items or a whole queue search")
def first_review(body: FirstReview, request: Request, who: Caller = Depends(deciders)) -> dict[str, Any]:
    ids = list(body.ids)
    if body.query is not None:
        p = body.query
        items, _ = _queue(request, p.view, p.horizon, p.q, {"mark": p.mark, "category": p.category,
                                                             "fonds": p.fonds, "retention": p.retention},
                          _engine_or_none(request))
        ids += [s.id for s in items if s.pending is None]
    try:
        batch = opening.first_review(_store(request), opening.load_rules(_settings(request)), _settings(request),
                                     who.account, list(dict.fromkeys(ids)), body.decision, body.reason,
                                     body.open_on.isoformat() if body.open_on else None,
                                     body.next_review.isoformat() if body.next_review else None)
    except opening.ReviewError as exc:
        raise ApiError(422, "review_refused", str(exc)) from exc
    return {"batch": batch, "items": len(ids)}


class FinalReview(BaseModel):
    approve: bool = True
    note: str | None = Field(None, max_length=2000)


@staff_router.post("/reviews/{batch}/final", summary="审定: a second person approves or returns a batch")
def final_review(batch: str, body: FinalReview, request: Request, who: Caller = Depends(deciders)) -> dict[str, Any]:
    try:
        n = opening.final_review(_store(request), who.account, batch, body.approve, body.note)
    except opening.ReviewError as exc:
        raise ApiError(409, "review_refused", str(exc)) from exc
    return {"batch": batch, "items": n, "approved": body.approve}


class Withdrawal(BaseModel):
    id: str = Field(max_length=256)
    reason: str = Field(max_length=2000)


@staff_router.post("/withdrawals", summary="Take an item out of public view at once, with the reason")
def withdraw(body: Withdrawal, request: Request, who: Caller = Depends(deciders),
             engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    doc = engine.get(body.id, Audience.staff)
    if doc is None:
        raise not_found("档案")
    try:
        wid = opening.withdraw(_store(request), who.account, body.id, body.reason, str(doc.get("access")))
    except opening.ReviewError as exc:
        raise ApiError(422, "withdrawal_refused", str(exc)) from exc
    return {"withdrawal": wid, "id": body.id}


@staff_router.post("/withdrawals/{item_id}/lift", summary="Put a withdrawn item back")
def lift(item_id: str, body: FinalReview, request: Request, who: Caller = Depends(deciders)) -> dict[str, Any]:
    try:
        opening.lift(_store(request), who.account, item_id, body.note or "")
    except opening.ReviewError as exc:
        raise ApiError(422, "lift_refused", str(exc)) from exc
    return {"id": item_id}


@staff_router.get("/rules", summary="The opening rules in force (readable by every staff member)")
def rules(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    r = opening.load_rules(_settings(request))
    return {"source": r.source, "default_years": r.default_years, "deferral_review_years": r.deferral_review_years,
            "rules": [rule.__dict__ for rule in r.rules], "text": r.text}


@staff_router.post("/opening/run", summary="Run the opening now (管理员); the scheduler does it by itself")
def run_opening(request: Request, who: Caller = Depends(admins)) -> dict[str, Any]:
    audit.record(_store(request), who.account.label, "opening.run", "")
    return publish.run_once(_settings(request), _store(request))


@staff_router.get("/audit", summary="The audit trail, newest first (管理员)")
def audit_trail(request: Request, before: int | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                who: Caller = Depends(admins)) -> dict[str, Any]:
    count, problems = audit.verify(_store(request))
    return {"entries": audit.entries(_store(request), limit, before), "count": count,
            "problems": [str(p) for p in problems]}


@staff_router.get("/audit.csv", responses={200: {"content": {"text/csv": {}}}}, response_class=Response,
                  summary="The whole audit trail as CSV (管理员; the export is itself recorded)")
def audit_csv(request: Request, who: Caller = Depends(admins)) -> Response:
    audit.record(_store(request), who.account.label, "staff.export", "audit.csv")
    return Response(audit.export_csv(_store(request)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})


# -- online use ------------------------------------------------------------------------------------------
def _span(since: date | None, until: date | None) -> tuple[str, str]:
    until = until or datetime.now(UTC).date()
    since = since or until.replace(day=1)
    if since > until:
        raise ApiError(422, "invalid_parameter", "起始日期晚于截止日期 / since is after until")
    return since.isoformat(), until.isoformat()


@staff_router.get("/usage", summary="Online use: per document, searches per day, frequent and fruitless "
                                    "queries (审核员, 管理员)")
def usage_report(request: Request, since: date | None = None, until: date | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                 who: Caller = Depends(statisticians)) -> dict[str, Any]:
    counter = usage.of(request.app)
    if counter is not None:
        counter.flush()  # this process's last seconds too
    return usage.report(_store(request), *_span(since, until), limit)


# -- the figures an archive reports (利用统计) ----------------------------------------------------------------
def _figures(request: Request, year: int | None, since: str | None, until: str | None,
             period: str) -> dict[str, Any]:
    this_month = opening.today(_settings(request)).isoformat()[:7]
    try:
        span = statistics.year_span(year) if year is not None else \
            statistics.month_span(since or (until or this_month)[:4] + "-01", until or this_month)
    except ValueError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from exc
    counter = usage.of(request.app)
    if counter is not None:
        counter.flush()
    return statistics.figures(_store(request), *span, period)


Period = Annotated[str, Query(pattern="^(month|quarter|year)$", description="month, quarter or year")]
Year = Annotated[int | None, Query(ge=1900, le=2999, description="a calendar year (instead of since/until)")]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (whole months)")]


@staff_router.get("/statistics", summary="利用统计: 人次 and 卷(件)次 by period, purpose, collection, fonds, "
                                         "category and channel; items opened per batch (审核员, 管理员)")
def statistics_json(request: Request, year: Year = None, since: Month = None, until: Month = None,
                    period: Period = "month", who: Caller = Depends(statisticians)) -> dict[str, Any]:
    return _figures(request, year, since, until, period)


@staff_router.get("/statistics.xlsx", response_class=Response,
                  responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
                  summary="利用统计 as an XLSX laid out like the yearly report (审核员, 管理员)")
def statistics_xlsx(request: Request, year: Year = None, since: Month = None, until: Month = None,
                    period: Period = "month", who: Caller = Depends(statisticians)) -> Response:
    data = _figures(request, year, since, until, period)
    title = f"{year}年度档案利用情况统计表" if year else f"档案利用情况统计表（{data['since']}至{data['until']}）"
    audit.record(_store(request), who.account.label, "staff.export", "statistics.xlsx",
                 {"since": data["since"], "until": data["until"]})
    name = f"statistics-{year or data['since'] + '_' + data['until']}.xlsx"
    return Response(statistics.xlsx(data, title),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


# -- the reading-room register (利用登记) ---------------------------------------------------------------------
class ItemRef(BaseModel):
    ref: str = Field(min_length=1, max_length=256, description="an item's id or 档号")
    copies: int = Field(0, ge=0, le=100_000, description="pages copied")


class VisitIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    id_type: str = Field(max_length=40)
    id_number: str = Field(min_length=1, max_length=64)
    purpose: str = Field(max_length=40)
    items: list[ItemRef] = Field(default_factory=list, max_length=500)
    day: date | None = None
    outcome: str | None = Field(None, max_length=4000)


class ItemsIn(BaseModel):
    items: list[ItemRef] = Field(min_length=1, max_length=500)


class OutcomeIn(BaseModel):
    outcome: str | None = Field(None, max_length=4000, description="利用效果")
    copies: dict[int, Annotated[int, Field(ge=0, le=100_000)]] = Field(default_factory=dict,
                                                                      description="pages copied by item row")


class PersonIn(BaseModel):
    id_type: str = Field(max_length=40)
    id_number: str = Field(min_length=1, max_length=64)


def _register_call(fn, *args):
    try:
        return fn(*args)
    except register.KeyMissing as exc:
        raise ApiError(503, "register_key_missing", str(exc)) from exc
    except register.RegisterError as exc:
        raise ApiError(422, "register_refused", str(exc)) from exc


@staff_router.get("/register/options", summary="The register's purposes (利用目的) and identity document types")
def register_options(request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    return {"purposes": register.purposes(_settings(request)), "id_types": list(register.ID_TYPES),
            "retention_days": _settings(request).register_retention_days}


@staff_router.post("/register/visits", summary="Register a visit (阅览室, 管理员)")
def register_visit(body: VisitIn, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    visit_id = _register_call(register.register_visit, _store(request), _settings(request), _engine_or_none(request),
                              who.account.label, body.name, body.id_type, body.id_number, body.purpose,
                              [register.ItemIn(i.ref, i.copies) for i in body.items], body.day, body.outcome)
    return {"id": visit_id}


@staff_router.get("/register/visits", summary="The visits between two days, with personal fields (audited)")
def register_visits(request: Request, since: date | None = None, until: date | None = None,
                    who: Caller = Depends(clerks)) -> dict[str, Any]:
    span = _span(since, until)
    return {"since": span[0], "until": span[1],
            "visits": _register_call(register.visits, _store(request), _settings(request), who.account.label, *span)}


@staff_router.get("/register/visits/{visit_id}", summary="One visit (audited)")
def register_one(visit_id: int, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    try:
        return _register_call(register.visit, _store(request), _settings(request), who.account.label, visit_id)
    except ApiError as exc:
        if exc.status == 422:
            raise not_found("登记") from exc
        raise


@staff_router.post("/register/visits/{visit_id}/items", summary="Add consulted items to a visit (by id or 档号)")
def register_items(visit_id: int, body: ItemsIn, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    n = _register_call(register.add_items, _store(request), _engine_or_none(request), who.account.label, visit_id,
                       [register.ItemIn(i.ref, i.copies) for i in body.items])
    return {"id": visit_id, "added": n}


@staff_router.post("/register/visits/{visit_id}/outcome", summary="Record the outcome (利用效果) and pages copied")
def register_outcome(visit_id: int, body: OutcomeIn, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    _register_call(register.set_outcome, _store(request), who.account.label, visit_id, body.outcome, body.copies)
    return {"id": visit_id}


@staff_router.post("/register/person", summary="Everything the register holds about one person (on their request; "
                                                "POST so the number stays out of logs)")
def register_person(body: PersonIn, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    return _register_call(register.person, _store(request), _settings(request), who.account.label,
                          body.id_type, body.id_number)


@staff_router.post("/register/visits/{visit_id}/terminal", summary="A code binding a reading-room terminal to "
                                                                "the visit (the visitor types it there)")
def register_terminal(visit_id: int, request: Request, who: Caller = Depends(clerks)) -> dict[str, Any]:
    return _register_call(register.terminal_code, _store(request), who.account.label, visit_id)


TERMINAL_COOKIE = "chayue_visit"


class TerminalIn(BaseModel):
    code: str = Field(min_length=1, max_length=16)


def _reading_room_only(request: Request) -> None:
    from api.access import audience_of

    if audience_of(request, _settings(request)) != Audience.reading_room:
        raise not_found("页面")  # elsewhere this does not exist


@public_router.post("/reading-room/visit", summary="Bind this reading-room terminal to a registered visit by its "
                                                    "code (reading-room terminals only)")
def bind_terminal(body: TerminalIn, request: Request) -> JSONResponse:
    _reading_room_only(request)
    visit_id = register.bind_terminal(_store(request), body.code)
    if visit_id is None:
        raise ApiError(422, "terminal_code", "登记码不正确或已过期，请向阅览室工作人员询问 / unknown or expired code")
    resp = JSONResponse({"ok": True})
    resp.set_cookie(TERMINAL_COOKIE, request.app.state.staff.terminals.dumps(visit_id), httponly=True,
                    samesite="strict", path="/", max_age=register.TERMINAL_HOURS * 3600,
                    secure=request.url.scheme == "https")
    return resp


@public_router.delete("/reading-room/visit", summary="End this terminal's binding (reading-room terminals only)")
def unbind_terminal(request: Request) -> JSONResponse:
    _reading_room_only(request)
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(TERMINAL_COOKIE, path="/")
    return resp


def terminal_view(request: Request, audience: Audience, doc: dict[str, Any]) -> None:
    """Installed as the document route's hook: a document opened at a terminal bound to a
    visit becomes one of its consulted items. Never fails the request."""
    token = request.cookies.get(TERMINAL_COOKIE)
    if audience != Audience.reading_room or not token:
        return
    try:
        visit_id = request.app.state.staff.terminals.loads(token, max_age=register.TERMINAL_HOURS * 3600)
        register.terminal_view(_store(request), int(visit_id), doc)
    except BadSignature:
        return
    except Exception:
        import logging

        logging.getLogger("chayue.register").exception("recording a terminal view failed")


@staff_router.post("/register/purge", summary="Erase personal fields past the retention period now (管理员)")
def register_purge(request: Request, who: Caller = Depends(admins)) -> dict[str, Any]:
    return {"erased": register.purge(_store(request), _settings(request), who.account.label)}


# -- the public lists of opened batches ---------------------------------------------------------------
LIST_FIELDS = ("id", "title", "archival_code", "date", "fonds", "category", "retention")


def _batch(request: Request, engine: Engine, number: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found = [b for b in opening.batches(_store(request)) if b["number"] == number]
    if not found:
        raise not_found("批次")
    ids = opening.batch_items(_store(request), number)
    if not ids:
        return found[0], []
    # Through the public access filter: an item withdrawn (or not yet written) is not listed.
    res = engine.search(SearchSpec(query=Terms("id", tuple(ids)), size=len(ids), sort="date_asc",
                                   fields=LIST_FIELDS), Audience.public)
    return found[0], [h.fields for h in res.hits]


@public_router.get("/openings", summary="开放批次: the batches of archives opened, newest first")
def openings(request: Request, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    out = []
    for b in reversed(opening.batches(_store(request))):
        _, items = _batch(request, engine, b["number"])
        if items:
            out.append({"number": b["number"], "day": b["day"], "title": f"第{b['number']}批开放档案目录",
                        "count": len(items)})
    return {"batches": out}


@public_router.get("/openings/{number}.csv", responses={200: {"content": {"text/csv": {}}}}, response_class=Response,
                   summary="第N批开放档案目录 as CSV")
def opening_csv(number: int, request: Request, engine: Engine = Depends(get_engine)) -> Response:
    batch, items = _batch(request, engine, number)
    if not items:
        raise not_found("批次")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["编号", "档号", "题名", "形成日期", "全宗", "类别", "保管期限", "开放日期"])
    for d in items:
        w.writerow([d.get("id"), d.get("archival_code") or "", d.get("title"), d.get("date") or "",
                    d.get("fonds") or "", d.get("category") or "", d.get("retention") or "", batch["day"]])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=opening-{number}.csv"})


@public_router.get("/openings/{number}", summary="第N批开放档案目录")
def opening_list(number: int, request: Request, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    batch, items = _batch(request, engine, number)
    if not items:
        raise not_found("批次")
    return {"number": number, "day": batch["day"], "title": f"第{number}批开放档案目录", "items": items}


@public_router.get("/openings.atom", responses={200: {"content": {"application/atom+xml": {}}}}, response_class=Response,
                   summary="开放批次 as an Atom feed")
def openings_atom(request: Request, engine: Engine = Depends(get_engine)) -> Response:
    from feedgen.feed import FeedGenerator

    base = site_url(request, _settings(request))
    fg = FeedGenerator()
    fg.id(f"{base}/api/openings.atom")
    fg.title("开放档案目录 / archives opened")
    fg.link(href=f"{base}/openings.html", rel="alternate")
    fg.link(href=f"{base}/api/openings.atom", rel="self")
    fg.language("zh-CN")
    fg.updated(datetime(1970, 1, 1, tzinfo=UTC))
    for b in opening.batches(_store(request)):
        _, items = _batch(request, engine, b["number"])
        if not items:
            continue
        when = datetime.fromisoformat(b["day"]).replace(tzinfo=UTC)
        entry = fg.add_entry()
        entry.id(f"{base}/api/openings/{b['number']}")
        entry.title(f"第{b['number']}批开放档案目录（{len(items)} 件）")
        entry.link(href=f"{base}/openings.html#{b['number']}")
        entry.updated(when)
        entry.content("\n".join(f"{d.get('archival_code') or d['id']} {d.get('title')}" for d in items))
        fg.updated(max(fg.updated(), when))
    return Response(fg.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8")


# -- mounting ------------------------------------------------------------------------------------------
def mount(app: FastAPI, settings: Settings) -> None:
    """Adds the staff side to the app: its store, the withdrawn-ids reader the engine's
    access filter consults, the personal-key audience, its routes and the opening scheduler."""
    side = StaffSide(settings)
    app.state.staff = side
    app.state.withheld = opening.Withheld(settings.staff_path)
    app.state.staff_audience = staff_audience
    app.state.terminal_view = terminal_view
    app.include_router(staff_router)
    app.include_router(public_router)
    scheduler = publish.Scheduler(settings, side)
    app.router.add_event_handler("startup", scheduler.start)
    app.router.add_event_handler("shutdown", scheduler.stop)
    counter = usage.Usage(settings, side)
    app.state.usage = counter
    app.router.add_event_handler("startup", counter.start)
    app.router.add_event_handler("shutdown", counter.stop)
