"""利用登记 and 利用统计 in a real Chromium against a real `chayue serve`: a 阅览室 clerk
registers a visit, adds items from a search and by 档号, records pages copied and the
outcome; a 审核员 then sees them on the statistics page (figures and the ECharts chart,
served from our own files) and exports the yearly XLSX, which openpyxl reads back."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from staff import register
from tests.browser.conftest import ARTIFACTS, DESKTOP, REPO, LiveServer, _open_page
from tests.staff_fixtures import PASSWORD

pytestmark = pytest.mark.browser

WETLAND = [f"J012-2001-{i:04d}" for i in range(1, 4)]
KINGFISHER = "J012-1990-0009"


@pytest.fixture(scope="module")
def use_server(tmp_path_factory):
    if not (REPO / "frontend" / "vendor" / "echarts" / "echarts.min.js").exists():
        pytest.fail("ECharts is not vendored: run `make vendor`")
    root = tmp_path_factory.mktemp("use-browser")
    files = root / "files"
    files.mkdir()
    rows = ["档号,题名,形成日期,开放状态,馆藏类别,全宗,保管期限,类别"]
    for i, code in enumerate(WETLAND, 1):
        (files / f"{code}.txt").write_text(f"佳木斯市林业局关于三江湿地保护区第{i}次巡护的报告。", encoding="utf-8")
        rows.append(f"{code},三江湿地保护区巡护报告（第{i}次）,2001-12-08,开放,档案,J012 佳木斯市林业局,永久,林业")
    (files / f"{KINGFISHER}.txt").write_text("翠鸟栖息地调查记录。", encoding="utf-8")
    rows.append(f"{KINGFISHER},翠鸟栖息地调查记录,1990-05-01,开放,档案,J013 佳木斯市水务局,永久,水利")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = root / "data"
    run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "indexer.cli", *a], cwd=REPO, check=True,  # noqa: E731
                                           timeout=600, capture_output=True, text=True, **kw)
    run("index", str(files), "--manifest", str(root / "manifest.csv"), "--data", str(data), "--quiet")
    for user, name, role in (("desk", "孙阅览", "reading_room"), ("wang", "王审核", "reviewer")):
        run("staff", "add", user, "--name", name, "--role", role, "--password-stdin", "--data", str(data),
            input=PASSWORD + "\n")
    # Loopback is the reading room's terminal network: the kiosk page is a reading-room terminal.
    srv = LiveServer(data, env={"CHAYUE_REGISTER_KEY": register.new_key(), "CHAYUE_OPENING_INTERVAL": "0",
                                "CHAYUE_USAGE_FLUSH_SECONDS": "0.5", "CHAYUE_READING_ROOM_NETWORKS": "127.0.0.1/32"},
                     log_name="serve-use.log")
    srv.start()
    yield srv
    srv.stop()


def _signed_in(chromium, srv, problems, username: str):
    context, page = _open_page(chromium, srv.url, DESKTOP, problems)
    page.goto("/staff/use.html")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#who-name")).to_contain_text("（")
    return context, page


def _figure(page, label: str):
    return page.locator("#stat-totals tr", has=page.locator("th", has_text=label)).locator("td.figure")


def test_a_clerk_registers_a_visit_and_the_statistics_page_shows_it(chromium, use_server, problems):
    srv = use_server
    for _ in range(2):  # online use: a citizen reads an opened document twice
        assert httpx.get(f"{srv.url}/api/documents/{KINGFISHER}", timeout=10).status_code == 200
    desk_ctx, desk = _signed_in(chromium, srv, problems, "desk")
    try:
        expect(desk.locator("#statistics")).to_be_hidden()  # the figures are not the clerk's
        desk.fill("#v-name", "张秀兰")
        desk.select_option("#v-idtype", "居民身份证")
        desk.fill("#v-idnumber", "23080319580317242X")
        desk.select_option("#v-purpose", "学术研究")
        desk.click("#visit-form button[type=submit]")
        expect(desk.locator("#visit-title")).to_contain_text("张秀兰（学术研究）")
        desk.fill("#item-q", "三江湿地")
        desk.click("#item-search button[type=submit]")
        expect(desk.locator("#item-results li")).to_have_count(3)
        desk.locator("#item-results li button").first.click()
        expect(desk.locator("#visit-items tr")).to_have_count(1)
        desk.fill("#item-code", KINGFISHER)
        desk.click("#item-code-form button[type=submit]")
        expect(desk.locator("#visit-items tr")).to_have_count(2)
        expect(desk.locator("#visit-items")).to_contain_text("翠鸟栖息地调查记录")
        desk.locator("#visit-items .copies").nth(1).fill("4")
        desk.fill("#v-outcome", "为论文《三江湿地保护史》提供了巡护记录")
        desk.click("#outcome-form button[type=submit]")
        expect(desk.locator("#message")).to_have_text("已保存")
        expect(desk.locator("#visit-items .copies").nth(1)).to_have_value("4")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desk.screenshot(path=ARTIFACTS / "staff-register.png", full_page=True)
    finally:
        desk_ctx.close()

    wang_ctx, wang = _signed_in(chromium, srv, problems, "wang")
    try:
        expect(wang.locator("#register")).to_be_hidden()  # the register's names are not the reviewer's
        expect(_figure(wang, "接待档案利用者（阅览室）")).to_have_text("1")
        expect(_figure(wang, "提供档案资料（阅览室）")).to_have_text("2")
        expect(_figure(wang, "复制档案")).to_have_text("4")
        expect(_figure(wang, "在线查阅档案资料")).to_have_text("2")
        expect(wang.locator("#stat-purpose tr")).to_have_count(1)
        expect(wang.locator("#stat-purpose tr td").nth(0)).to_have_text("学术研究")
        expect(wang.locator("#stat-fonds")).to_contain_text("J013 佳木斯市水务局")
        expect(wang.locator("#stat-chart canvas")).to_have_count(1)  # drawn by the vendored ECharts
        wang.screenshot(path=ARTIFACTS / "staff-statistics.png", full_page=True)
        with wang.expect_download() as info:
            wang.click("#stat-xlsx")
        book = load_workbook(io.BytesIO(info.value.path().read_bytes()))
        summary = {r[0]: r[1] for r in book["总表"].iter_rows(values_only=True) if r and r[0]}
        assert book["总表"]["A1"].value == f"{date.today().year}年度档案利用情况统计表"
        assert (summary["接待档案利用者（阅览室）"], summary["提供档案资料（阅览室）"], summary["复制档案"]) == (1, 2, 4)
        purposes = {r[0]: r[1:] for r in book["按利用目的"].iter_rows(min_row=3, values_only=True)}
        assert purposes["学术研究"] == (1, 2, 4)
        # Signing out leaves the figures behind the sign-in form, also after a reload.
        wang.click("#signout")
        expect(wang.locator("#message")).to_have_text("已退出登录")
        expect(wang.locator("#signin-panel")).to_be_visible()
        expect(wang.locator("#statistics")).to_be_hidden()
        wang.reload()
        expect(wang.locator("#signin-panel")).to_be_visible()
        expect(wang.locator("#statistics")).to_be_hidden()
    finally:
        wang_ctx.close()
    errors = [e for e in problems.errors if not ("/staff/api/me" in e and "status of 401" in e)]
    assert not errors and not problems.dialogs, (errors, problems.dialogs)


def test_a_visitor_at_a_terminal_records_what_they_open_under_their_visit(chromium, use_server, problems):
    srv = use_server
    desk_ctx, desk = _signed_in(chromium, srv, problems, "desk")
    kiosk_ctx, kiosk = _open_page(chromium, srv.url, DESKTOP, problems)
    try:
        desk.fill("#v-name", "李建国")
        desk.fill("#v-idnumber", "230803196001011234")
        desk.select_option("#v-purpose", "编史修志")
        desk.click("#visit-form button[type=submit]")
        expect(desk.locator("#visit-title")).to_contain_text("李建国（编史修志）")
        visit = re.search(r"第 (\d+) 号", desk.locator("#visit-title").text_content()).group(1)
        desk.click("#terminal-code")
        expect(desk.locator("#terminal-code-text")).to_contain_text("8 小时内有效")
        code = desk.locator("#terminal-code-text").text_content()[:8]

        kiosk.goto("/?kiosk=1")
        kiosk.fill(".kiosk-visit-code", "12345678")
        kiosk.click(".kiosk-visit button[type=submit]")
        expect(kiosk.locator(".kiosk-visit-status")).to_have_text("登记码不正确，请向工作人员询问")
        kiosk.fill(".kiosk-visit-code", code)
        kiosk.click(".kiosk-visit button[type=submit]")
        expect(kiosk.locator(".kiosk-visit-status")).to_have_text("已关联本次阅览登记")
        kiosk.goto(f"/doc.html?id={KINGFISHER}&kiosk=1")
        expect(kiosk.locator("h1")).to_contain_text("翠鸟栖息地调查记录")
        kiosk.locator(".kiosk-end").click()  # the next visitor's reading is not this visit's
        kiosk.wait_for_url(re.compile(r"/(\?.*)?$"))
        kiosk.wait_for_timeout(500)
        kiosk.goto(f"/doc.html?id={WETLAND[0]}")
        expect(kiosk.locator("h1")).to_contain_text("三江湿地保护区巡护报告")
        shown = desk.request.get(f"/staff/api/register/visits/{visit}").json()
        assert [i["id"] for i in shown["items"]] == [KINGFISHER]
    finally:
        kiosk_ctx.close()
        desk_ctx.close()
    errors = [e for e in problems.errors if not ("status of 4" in e and ("/staff/api/me" in e or "reading-room" in e))]
    assert not errors and not problems.dialogs, (errors, problems.dialogs)
