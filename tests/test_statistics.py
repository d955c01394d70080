"""利用统计: the figures staff report for a year, from the reading-room register and online
use, as JSON and as the yearly report's XLSX (read back with openpyxl), unchanged by the
retention purge."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from settings import Settings
from staff import register
from tests.staff_fixtures import archive_item, build_archive, make_accounts, sign_in

PEOPLE = (("desk", "孙阅览", "reading_room"), ("boss", "赵管理", "admin"), ("wang", "王审核", "reviewer"))
YEAR = date.today().year
ROOM_KEY = "room-key-statistics-5521"


def _visit(name, number, purpose, day, items):
    return {"name": name, "id_type": "居民身份证", "id_number": number, "purpose": purpose, "day": day,
            "items": [{"ref": r, "copies": n} for r, n in items]}


VISITS = [
    _visit("张秀兰", "23080319580317242X", "个人取证", f"{YEAR}-01-12", [("J012-0001", 3)]),
    _visit("李建国", "230803196001011234", "学术研究", f"{YEAR}-01-20", [("J012-0001", 0), ("J012-0002", 10)]),
    _visit("王志强", "230803197002023456", "编史修志", f"{YEAR}-04-03", [("J012-0002", 5), ("J012-0003", 0),
                                                                     ("J012-0001", 2)]),
    _visit("赵丽", "230803198003034567", "学术研究", f"{YEAR - 1}-12-30", [("J012-0003", 1)]),  # last year
]


@pytest.fixture
def app(tmp_path):
    build_archive(tmp_path, [
        archive_item(1, date(1960, 5, 1), "open"),
        archive_item(2, date(1961, 5, 1), "open", fonds="J013 佳木斯市水务局", category="水利"),
        archive_item(3, date(1962, 5, 1), "open", fonds="J013 佳木斯市水务局", category="水利")])
    settings = Settings(data=tmp_path, opening_interval=0, register_key=register.new_key(),
                        register_retention_days=30, reading_room_key=ROOM_KEY)
    make_accounts(settings, *PEOPLE)
    with TestClient(create_app(settings)) as c:
        token = sign_in(c, "desk")
        for v in VISITS:
            assert c.post("/staff/api/register/visits", json=v, headers={"X-CSRF-Token": token}).status_code == 200
        for _ in range(4):
            assert c.get("/api/documents/J012-0002").status_code == 200
        assert c.get("/api/documents/J012-0003", headers={"X-Chayue-Key": ROOM_KEY}).status_code == 200
        for q in ("湿地", "不存在的词语"):
            assert c.get("/api/search", params={"q": q}).status_code == 200
        yield c


def test_the_years_figures_by_period_purpose_fonds_and_channel(app):
    sign_in(app, "wang")
    f = app.get("/staff/api/statistics", params={"year": YEAR}).json()
    assert f["totals"] == {"persons": 3, "room_items": 6, "copies": 20, "online_items": 5, "exports": 0,
                           "searches": 2, "fruitless": 1, "opened": 0}
    months = {r["key"]: (r["persons"], r["room_items"], r["copies"], r["online_items"]) for r in f["by_period"]}
    today = date.today().strftime("%Y-%m")
    assert months[f"{YEAR}-01"] == (2, 3, 13, 0) and months[f"{YEAR}-04"][:3] == (1, 3, 7)
    assert months[today][3] == 5
    purposes = {r["key"]: (r["persons"], r["items"], r["copies"]) for r in f["by_purpose"]}
    assert purposes == {"个人取证": (1, 1, 3), "学术研究": (1, 2, 10), "编史修志": (1, 3, 7)}
    fonds = {r["key"]: (r["persons"], r["room_items"], r["online_items"]) for r in f["by_fonds"]}
    assert fonds == {"J012 佳木斯市林业局": (3, 3, 0), "J013 佳木斯市水务局": (2, 3, 5)}
    assert {r["key"]: r["room_items"] for r in f["by_category"]} == {"林业": 3, "水利": 3}
    channels = {c["label"]: c for c in f["by_channel"]}
    assert (channels["阅览室"]["persons"], channels["阅览室"]["items"], channels["阅览室"]["terminal_items"]) == (3, 6, 1)
    assert (channels["网上"]["persons"], channels["网上"]["items"], channels["网上"]["searches"]) == (None, 4, 2)
    quarters = {r["key"] for r in app.get("/staff/api/statistics", params={"year": YEAR, "period": "quarter"}).json()["by_period"]}
    assert {f"{YEAR}-Q1", f"{YEAR}-Q2"} <= quarters
    last = app.get("/staff/api/statistics", params={"year": YEAR - 1}).json()["totals"]
    assert (last["persons"], last["room_items"]) == (1, 1)


def test_the_xlsx_reads_like_the_yearly_report(app):
    sign_in(app, "boss")
    resp = app.get("/staff/api/statistics.xlsx", params={"year": YEAR})
    assert resp.status_code == 200 and "spreadsheet" in resp.headers["content-type"]
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames[:3] == ["总表", "按时间", "按利用目的"]
    summary = {r[0]: r[1] for r in wb["总表"].iter_rows(values_only=True) if r and r[0]}
    assert wb["总表"]["A1"].value == f"{YEAR}年度档案利用情况统计表"
    assert summary["接待档案利用者（阅览室）"] == 3 and summary["提供档案资料（阅览室）"] == 6 and summary["复制档案"] == 20
    purposes = {r[0]: r[1:] for r in wb["按利用目的"].iter_rows(min_row=3, values_only=True)}
    assert purposes["学术研究"] == (1, 2, 10) and purposes["合计"] == (3, 6, 20)
    fonds = {r[0]: r[1:] for r in wb["按全宗"].iter_rows(min_row=3, values_only=True)}
    assert fonds["J013 佳木斯市水务局"] == (2, 3, 5)


def test_the_figures_are_for_reviewers_and_administrators(app):
    assert TestClient(app.app).get("/staff/api/statistics").status_code == 404  # not signed in: not there
    assert app.get("/staff/api/statistics").status_code == 403  # the fixture signed the clerk in
    assert app.get("/staff/api/statistics.xlsx").status_code == 403


def test_the_retention_purge_leaves_every_figure_unchanged(app):
    token = sign_in(app, "boss")
    before = [app.get("/staff/api/statistics", params={"year": y}).json() for y in (YEAR, YEAR - 1)]
    erased = app.post("/staff/api/register/purge", headers={"X-CSRF-Token": token}).json()["erased"]
    assert erased >= 3  # all but visits within the last 30 days
    after = [app.get("/staff/api/statistics", params={"year": y}).json() for y in (YEAR, YEAR - 1)]
    assert after == before
    visits = app.get("/staff/api/register/visits", params={"since": f"{YEAR - 1}-01-01"}).json()["visits"]
    assert sum(v["name"] == "（已删除）" for v in visits) == erased
