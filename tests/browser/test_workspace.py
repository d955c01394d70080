"""The researcher's workspace in real Chromium: two documents and a passage go into a folder
with notes, the folder is exported in every format (each file read back by its parser), the
workspace file re-opens the folder in a fresh profile, a saved search leads back to its
results and its feed can be subscribed to; a kiosk shows none of it."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import bibtexparser
import feedparser
import httpx
import pytest
import rispy
from docx import Document as Docx
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, _open_page

pytestmark = pytest.mark.browser

FOLDER = "档案法规沿革"
DOC_NOTE = "第一件：注意施行日期"
PASSAGE_NOTE = "此段可作为编研导语"


def _select_text(page, chars: int = 24) -> str:
    """Select the first `chars` characters of page 1's text, as a reader's drag would."""
    return page.evaluate("""(n) => {
        const el = document.querySelector('#page-1 .page-text');
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node = walker.nextNode();
        while (node && node.textContent.trim().length < n) node = walker.nextNode();
        const start = node.textContent.search(/\\S/);
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, start + n);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        return sel.toString();
    }""", chars)


def _fill_folder(page, artifacts) -> tuple[list[str], str]:
    page.goto("/?q=%E6%A1%A3%E6%A1%88%E6%B3%95")  # 档案法
    expect(page.locator("#status")).to_contain_text("共 ")
    hrefs = [a.get_attribute("href") for a in page.locator(".hit-title a").all()[:2]]
    ids = [parse_qs(urlsplit(h).query)["id"][0] for h in hrefs]
    assert len(ids) == 2

    page.goto(f"/{hrefs[0]}")
    expect(page.locator("#doc-title")).to_be_visible()
    page.click("#collect-button")
    expect(page.locator("#collect-new")).to_be_visible()  # no folder yet: a new one is named
    page.fill("#collect-new", FOLDER)
    page.fill("#collect-note", DOC_NOTE)
    page.click("#collect-doc")
    expect(page.locator("#collect .export-status")).to_contain_text(f"已将本文件加入专题“{FOLDER}”")
    selected = _select_text(page)
    expect(page.locator("#collect-passage")).to_have_text("加入摘录（第 1 页）")
    page.fill("#collect-note", PASSAGE_NOTE)
    page.click("#collect-passage")
    expect(page.locator("#collect .export-status")).to_contain_text("第 1 页的摘录")
    page.screenshot(path=str(artifacts / "workspace-collect.png"))

    page.goto(f"/{hrefs[1]}")
    expect(page.locator("#doc-title")).to_be_visible()
    page.click("#collect-button")
    expect(page.locator("#collect-folder")).to_have_value(re.compile(r"^f-"))  # the folder is offered
    page.click("#collect-doc")
    expect(page.locator("#collect .export-status")).to_contain_text(FOLDER)
    return ids, selected


def _export(page, folder, fmt: str, tmp_path) -> bytes:
    with page.expect_download() as info:
        folder.locator(f"button[data-format='{fmt}']").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    expect(folder.locator(".export-controls .export-status")).to_contain_text("已导出")
    return path.read_bytes()


def test_folder_with_two_documents_and_a_passage_exports_and_moves_to_a_fresh_profile(
        page, server, chromium, problems, tmp_path, artifacts):
    ids, selected = _fill_folder(page, artifacts)
    page.goto("/workspace.html")
    folder = page.locator("section.folder")
    expect(folder).to_have_count(1)
    expect(folder.locator(".folder-name")).to_contain_text(FOLDER)
    expect(folder.locator(".folder-item")).to_have_count(2)
    expect(folder.locator(".passage blockquote")).to_have_text(selected)
    expect(folder.locator(".passage-meta a")).to_have_text("第 1 页")
    expect(folder.locator(".passage-note")).to_have_text(f"批注：{PASSAGE_NOTE}")
    expect(folder.locator(".folder-item").first.locator("textarea")).to_have_value(DOC_NOTE)
    page.screenshot(path=str(artifacts / "workspace-folder.png"), full_page=True)

    files = {fmt: _export(page, folder, fmt, tmp_path) for fmt in ("csv", "xlsx", "docx", "ris", "bibtex", "csljson")}
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    assert [r["编号"] for r in rows] == ids
    assert rows[0]["批注"] == DOC_NOTE and rows[0]["摘录"] == f"第 1 页：{selected}（批注：{PASSAGE_NOTE}）"
    sheet = list(load_workbook(io.BytesIO(files["xlsx"]), read_only=True)["文件目录"].iter_rows(values_only=True))
    assert [r[0] for r in sheet[1:]] == ids
    docx = Docx(io.BytesIO(files["docx"]))
    paras = [p.text for p in docx.paragraphs]
    assert paras[0] == FOLDER and f"{selected}（第 1 页）" in paras and f"批注：{DOC_NOTE}" in paras
    assert [e["id"] for e in rispy.loads(files["ris"].decode("utf-8-sig"))] == ids
    bib = bibtexparser.parse_string(files["bibtex"].decode())
    assert not bib.failed_blocks and len(bib.entries) == 2
    assert [i["id"] for i in json.loads(files["csljson"])] == ids

    # The DOCX cites each document exactly as the page's cite.js does.
    cited = [p.removeprefix("引文（GB/T 7714—2015）：") for p in paras if p.startswith("引文（GB/T 7714—2015）：")]
    for doc_id, line in zip(ids, cited, strict=True):
        doc = httpx.get(f"{server}/api/documents/{doc_id}").json()
        ours = page.evaluate("async (doc) => (await import('/js/cite.js')).citation(doc)", doc)
        assert line == ours

    with page.expect_download() as info:
        page.click("#ws-export")
    saved = tmp_path / "workspace.json"
    info.value.save_as(saved)

    # A fresh profile (another machine): nothing there until the file is imported.
    context, fresh = _open_page(chromium, server, DESKTOP, problems)
    try:
        fresh.goto("/workspace.html")
        expect(fresh.locator("#folders")).to_contain_text("还没有专题")
        fresh.set_input_files("#ws-import", str(saved))
        expect(fresh.locator("#ws-file-status")).to_have_text("已导入 1 个专题。")
        again = fresh.locator("section.folder")
        expect(again.locator(".folder-name")).to_contain_text(FOLDER)
        expect(again.locator(".folder-item")).to_have_count(2)
        expect(again.locator(".passage blockquote")).to_have_text(selected)
        expect(again.locator(".folder-item").first.locator("textarea")).to_have_value(DOC_NOTE)
        # Importing the same file twice adds nothing.
        fresh.set_input_files("#ws-import", str(saved))
        expect(fresh.locator("#ws-file-status")).to_have_text("已导入 1 个专题。")
        expect(fresh.locator("section.folder .folder-item")).to_have_count(2)
        expect(fresh.locator("section.folder .passage")).to_have_count(1)
    finally:
        context.close()


def test_a_bad_workspace_file_is_refused_and_changes_nothing(page, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"folders": "<img src=x onerror=alert(1)>"}', encoding="utf-8")
    page.goto("/workspace.html")
    page.set_input_files("#ws-import", str(bad))
    expect(page.locator("#ws-file-status")).to_have_text("文件无法读取：不是查阅专题文件。")
    expect(page.locator("#folders")).to_contain_text("还没有专题")


def test_a_workspace_file_larger_than_the_browser_keeps_says_nothing_was_imported(page, tmp_path):
    """Chromium keeps about 5 million characters per site: a file of 8 million is refused as a
    whole, with the reason, and what the workspace held is still there after a reload."""
    page.goto("/workspace.html")
    page.fill("#new-folder-name", "已有的专题")
    page.click("#new-folder button[type=submit]")
    expect(page.locator("section.folder .folder-name")).to_contain_text("已有的专题")
    items = [{"id": f"doc-{i}", "title": f"文件{i}", "passages": [{"id": f"p-{i}", "text": "摘" * 5000}]}
             for i in range(1600)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"format": "chayue-workspace", "version": 1,
                               "folders": [{"id": "f-big", "name": "很大的专题", "items": items}]},
                              ensure_ascii=False), encoding="utf-8")
    page.set_input_files("#ws-import", str(big))
    status = page.locator("#ws-file-status")
    expect(status).to_contain_text("存储空间不足")
    expect(status).to_contain_text("未导入任何内容")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    page.reload()
    expect(page.locator("section.folder .folder-name")).to_contain_text("已有的专题")
    expect(page.locator("#folders")).not_to_contain_text("很大的专题")


def test_save_a_search_rename_it_get_back_to_it_and_subscribe_to_its_feed(page, server, artifacts):
    page.goto("/?q=%E6%A1%A3%E6%A1%88&collection=current")  # 档案, 现行文件
    expect(page.locator("#status")).to_contain_text("共 ")
    total = re.search(r"共 \d+ 条", page.locator("#status").text_content())[0]
    page.click("#workspace-tools summary")
    page.fill("#save-search-name", "现行档案文件")
    page.click(".save-search button[type=submit]")
    expect(page.locator(".save-search .export-status")).to_contain_text("已保存检索“现行档案文件”")
    feed_href = page.locator("link[rel=alternate][type='application/atom+xml']").get_attribute("href")
    assert page.locator("a.feed-link").get_attribute("href") == feed_href
    page.screenshot(path=str(artifacts / "workspace-search-tools.png"))

    page.goto("/workspace.html")
    saved = page.locator("li.saved-search")
    expect(saved).to_have_count(1)
    saved.locator("input").fill("档案·现行")
    saved.get_by_role("button", name="重命名").click()
    expect(page.locator("a.saved-link")).to_have_text("档案·现行")
    expect(page.locator("#history li a").first).to_contain_text("“档案” · 现行文件")
    page.click("a.saved-link")
    expect(page.locator("#status")).to_contain_text(total)
    assert parse_qs(urlsplit(page.url).query) == {"q": ["档案"], "collection": ["current"]}
    expect(page.locator("#chips")).to_contain_text("馆藏类别：现行文件")

    # Subscribing: what a feed reader fetches from the link.
    feed = feedparser.parse(httpx.get(f"{server}{feed_href}").content)
    assert not feed.bozo and feed.entries
    api = httpx.get(f"{server}/api/search", params={"q": "档案", "collection": "current", "sort": "date_desc",
                                                    "size": 50}).json()
    assert [e.title for e in feed.entries] == [h["title"] for h in api["hits"]]

    # History: one click back to an earlier search.
    page.goto("/?q=%E5%AE%AA%E6%B3%95")  # 宪法
    expect(page.locator("#status")).to_contain_text("共 ")
    page.goto("/workspace.html")
    expect(page.locator("#history li a").first).to_contain_text("“宪法”")
    page.locator("#history li a", has_text="“档案” · 现行文件").click()
    expect(page.locator("#status")).to_contain_text(total)

    page.goto("/workspace.html")
    page.locator("li.saved-search").get_by_role("button", name="删除").click()
    expect(page.locator("#saved")).to_contain_text("还没有保存的检索")


def test_search_export_shows_its_progress_and_gives_the_file(page, tmp_path):
    page.goto("/?q=%E6%A1%A3%E6%A1%88")
    expect(page.locator("#status")).to_contain_text("共 ")
    total = int(re.search(r"共 (\d+) 条", page.locator("#status").text_content())[1])
    tools = page.locator("#workspace-tools")
    tools.locator("summary").click()
    with page.expect_download() as info:
        tools.locator("button[data-format='csv']").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    expect(tools.locator(".export-controls .export-status")).to_contain_text(f"已导出 CSV 表格：{total} 件")
    assert len(list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))) == total


@pytest.fixture(scope="module")
def kiosk_server(browser_data):
    from tests.browser.conftest import LiveServer

    srv = LiveServer(browser_data, env={"CHAYUE_KIOSK": "true"}, log_name="serve-kiosk-workspace.log")
    srv.start()
    yield srv
    srv.stop()


def test_the_kiosk_shows_no_workspace_and_offers_printing(chromium, kiosk_server, problems, artifacts):
    context, page = _open_page(chromium, kiosk_server.url, DESKTOP, problems)
    try:
        page.goto("/?q=%E6%A1%A3%E6%A1%88")
        expect(page.locator("#status")).to_contain_text("共 ")
        expect(page.locator("#workspace-link")).to_be_hidden()
        tools = page.locator("#workspace-tools")
        expect(tools.get_by_role("button", name="打印结果列表")).to_be_visible()
        expect(tools.locator(".export-button, .save-search, .feed-link")).to_have_count(0)
        assert page.locator("link[data-feed]").count() == 0
        page.screenshot(path=str(artifacts / "workspace-kiosk-results.png"))
        page.locator(".hit-title a").first.click()
        expect(page.locator("#doc-title")).to_be_visible()
        expect(page.locator("#collect-button")).to_have_count(0)
        expect(page.locator("#print-button")).to_be_visible()
        page.screenshot(path=str(artifacts / "workspace-kiosk-doc.png"))
        assert page.evaluate("localStorage.getItem('chayue.workspace')") is None  # nothing recorded
        page.goto("/workspace.html")
        expect(page.locator("#ws-off")).to_be_visible()
        expect(page.locator("#ws")).to_be_hidden()
        page.screenshot(path=str(artifacts / "workspace-kiosk-page.png"))
        # The server refuses the export itself, not only the page.
        assert httpx.get(f"{kiosk_server.url}/api/export/csv", params={"q": "档案"}).status_code == 404
    finally:
        context.close()
    assert not problems.dialogs and not problems.errors, problems.errors


def test_the_idle_reset_clears_a_workspace_left_on_a_terminal(page):
    page.goto("/workspace.html")
    page.evaluate("""localStorage.setItem('chayue.workspace', JSON.stringify({version: 1,
        folders: [{id: 'f-1', name: '上一位读者的专题', items: []}], history: [], saved: []}))""")
    page.goto("/?kiosk=1&idle=2")
    expect(page.locator("#start")).to_be_visible()
    page.wait_for_function("() => localStorage.getItem('chayue.workspace') === null", timeout=10_000)
