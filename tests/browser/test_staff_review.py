"""The opening review in a real Chromium against a real `chayue serve`: a 审核员 makes the
初审 of a whole search, the same person is refused the 审定, a second 审核员 approves it, and
on the opening day (a test clock) the items appear in public search with nobody acting and
are listed as 第1批开放档案目录; a withdrawn item leaves public view within 5 seconds."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, DESKTOP, REPO, LiveServer, _coarse_scan, _open_page
from tests.browser.test_accessibility import CONTRAST_JS
from tests.staff_fixtures import PASSWORD

pytestmark = pytest.mark.browser

WETLAND = [f"J012-2001-{i:04d}" for i in range(1, 6)]
KINGFISHER = "J012-1990-0009"
SCAN = "J999-1998-0001"


def _corpus(root: Path) -> Path:
    files = root / "files"
    files.mkdir(parents=True)
    rows = ["档号,题名,形成日期,开放状态,馆藏类别,全宗,保管期限,类别"]
    for i, code in enumerate(WETLAND, 1):
        (files / f"{code}.txt").write_text(f"佳木斯市林业局关于三江湿地保护区第{i}次巡护的报告。湿地候鸟数量稳定。",
                                           encoding="utf-8")
        rows.append(f"{code},三江湿地保护区巡护报告（第{i}次）,2001-12-08,控制,档案,J012 佳木斯市林业局,永久,林业")
    (files / f"{KINGFISHER}.txt").write_text("翠鸟栖息地调查记录，已开放。", encoding="utf-8")
    if _coarse_scan(files / f"{SCAN}.png"):  # a scan: the viewer shows its page image beside the text
        rows.append(f"{SCAN},库房温湿度检查情况的报告,1998-05-04,控制,档案,J999 测试全宗,30年,保管")
    rows.append(f"{KINGFISHER},翠鸟栖息地调查记录,1990-05-01,开放,档案,J012 佳木斯市林业局,永久,林业")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def review_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("staff-browser")
    files = _corpus(root)
    data = root / "data"
    run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "indexer.cli", *a], cwd=REPO, check=True,  # noqa: E731
                                           timeout=600, capture_output=True, text=True, **kw)
    run("index", str(files), "--manifest", str(root / "manifest.csv"), "--data", str(data), "--quiet")
    for user, name, role in (("wang", "王审核", "reviewer"), ("li", "李审定", "reviewer"), ("boss", "赵管理", "admin")):
        run("staff", "add", user, "--name", name, "--role", role, "--password-stdin", "--data", str(data),
            input=PASSWORD + "\n")
    clock = root / "today.txt"
    clock.write_text("2026-12-07", encoding="ascii")
    srv = LiveServer(data, env={"CHAYUE_CLOCK_FILE": str(clock), "CHAYUE_OPENING_INTERVAL": "0.5"},
                     log_name="serve-staff.log")
    srv.start()
    srv.clock = clock
    yield srv
    srv.stop()


def _signed_in(chromium, srv, problems, username: str):
    context, page = _open_page(chromium, srv.url, DESKTOP, problems)
    page.goto("/staff/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#who-name")).to_contain_text("（")
    return context, page


def _real_errors(problems) -> list[str]:
    """Script errors, without Chromium's log of the answers the page expects and puts into
    words: 401 from /staff/api/me before sign-in, 409 for a refused 审定."""
    expected = ("status of 401", "status of 409")
    return [e for e in problems.errors if not ("/staff/api/" in e and any(x in e for x in expected))]


def _public_total(srv, q: str) -> int:
    return httpx.get(f"{srv.url}/api/search", params={"q": q}, timeout=10).json()["total"]


def test_two_reviewers_open_a_batch_on_its_day_with_nobody_acting(chromium, review_server, problems):
    srv = review_server
    wang_ctx, wang = _signed_in(chromium, srv, problems, "wang")
    try:
        wang.select_option("#view", "due")
        wang.fill("#horizon", "30")
        wang.fill("#queue-q", "湿地")
        wang.click("#queue-form button[type=submit]")
        expect(wang.locator("#queue-status")).to_contain_text("共 5 件")
        expect(wang.locator("#items tr").first.locator(".mark")).to_have_text("未审核")
        expect(wang.locator("#queue-facets")).to_contain_text("林业（5）")
        # The page image/text viewer: the item's text beside its state.
        wang.locator("#items tr .link-button").first.click()
        expect(wang.locator("#viewer-text")).to_contain_text("三江湿地保护区")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        wang.screenshot(path=ARTIFACTS / "staff-review-queue.png", full_page=True)
        wang.select_option("#decision", "开放")
        wang.click("#review-all")
        expect(wang.locator("#message")).to_contain_text("已初审")
        expect(wang.locator("#pending li")).to_have_count(1)
        expect(wang.locator("#pending li")).to_contain_text("开放 5 件")
        # The same person may not make the second step.
        wang.locator("#pending .approve").click()
        expect(wang.locator("#message")).to_contain_text("两个不同的人")
        expect(wang.locator("#pending li")).to_have_count(1)
    finally:
        wang_ctx.close()

    li_ctx, li = _signed_in(chromium, srv, problems, "li")
    try:
        li.select_option("#view", "pending")
        li.click("#queue-form button[type=submit]")
        expect(li.locator("#pending li")).to_contain_text("初审 王审核（wang）")
        li.locator("#pending .approve").click()
        expect(li.locator("#message")).to_contain_text("已审定")
        expect(li.locator("#pending li")).to_have_count(0)
    finally:
        li_ctx.close()

    time.sleep(2)  # several scheduler runs: still 7 December, due on the 8th
    assert _public_total(srv, "三江湿地") == 0
    srv.clock.write_text("2026-12-08", encoding="ascii")
    started = time.monotonic()
    while _public_total(srv, "三江湿地") != 5:
        assert time.monotonic() - started < 20, srv.log_tail()
        time.sleep(0.3)

    context, page = _open_page(chromium, srv.url, DESKTOP, problems)
    try:
        page.goto("/?q=三江湿地")
        expect(page.locator("#status")).to_contain_text("共 5")
        page.goto("/openings.html")
        expect(page.locator("h2").first).to_contain_text("第1批开放档案目录（2026-12-08 开放，5 件）")
        expect(page.locator(".opening-batch tbody tr")).to_have_count(5)
        assert page.evaluate(CONTRAST_JS) == []
    finally:
        context.close()
    rows = list(csv.DictReader(io.StringIO(httpx.get(f"{srv.url}/api/openings/1.csv").text.lstrip("\ufeff"))))
    assert sorted(r["档号"] for r in rows) == WETLAND and {r["开放日期"] for r in rows} == {"2026-12-08"}
    feed = feedparser.parse(httpx.get(f"{srv.url}/api/openings.atom").content)
    assert feed.entries[0].title == "第1批开放档案目录（5 件）"
    assert not _real_errors(problems) and not problems.dialogs, problems.errors


def test_a_withdrawn_item_leaves_public_view_within_5_seconds(chromium, review_server, problems):
    srv = review_server
    assert httpx.get(f"{srv.url}/api/documents/{KINGFISHER}").status_code == 200
    assert _public_total(srv, "翠鸟栖息地") == 1
    context, page = _signed_in(chromium, srv, problems, "li")
    try:
        page.select_option("#view", "all")
        page.fill("#queue-q", "翠鸟")
        page.click("#queue-form button[type=submit]")
        expect(page.locator("#queue-status")).to_contain_text("共 1 件")
        page.locator("#items .link-button").click()
        expect(page.locator("#viewer-title")).to_have_text("翠鸟栖息地调查记录")
        page.fill("#withdraw-reason", "收到投诉，核查中")
        page.click("#withdraw")
        expect(page.locator("#message")).to_contain_text("已撤回")
        started = time.monotonic()
        while httpx.get(f"{srv.url}/api/documents/{KINGFISHER}").status_code != 404:
            assert time.monotonic() - started < 5, "still public after 5 seconds"
            time.sleep(0.1)
        assert _public_total(srv, "翠鸟栖息地") == 0
        expect(page.locator("#items .state")).to_contain_text("已撤回：收到投诉，核查中")
        if (srv.data.parent / "files" / f"{SCAN}.png").exists():
            page.fill("#queue-q", "温湿度")
            page.click("#queue-form button[type=submit]")
            page.locator("#items .link-button", has_text="温湿度").click()
            expect(page.locator("#viewer-text")).to_contain_text("温度")  # a coarse scan: OCR reads it roughly
            image = page.locator("#viewer-image")
            expect(image).to_be_visible()
            page.wait_for_function("() => document.querySelector('#viewer-image').naturalWidth > 0")
        expect(page.locator("#audit")).to_be_hidden()  # 审核员 do not read the trail
    finally:
        context.close()
    context, page = _signed_in(chromium, srv, problems, "boss")
    try:
        expect(page.locator("#audit-status")).to_contain_text("审计链完好")
        withdrawal = page.locator("#audit-entries tr", has_text="收到投诉，核查中")
        expect(withdrawal).to_contain_text("李审定（li）")
        expect(withdrawal).to_contain_text("withdraw")
        assert page.evaluate(CONTRAST_JS) == []  # WCAG AA on the staff page too
    finally:
        context.close()
    assert not _real_errors(problems) and not problems.dialogs, problems.errors
