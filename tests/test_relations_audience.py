"""Versions and catalogue relations as each audience may see them, on every backend: a version
hidden in the middle of a chain shows neither in the list nor by its effect (the version
before it is superseded by the next one its readers may see), and what a catalogue says of a
file the caller cannot open (its id, title or 文号) is never shown.

The documents go through what the indexer does (indexer/relations.py: link, then apply)
and into a fresh engine of each kind (Elasticsearch when ES_URL is set)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.model import Document, Page
from indexer import relations as R
from settings import Settings
from tests.conformance.engines import BACKENDS, engine_for

STAFF = {"X-Chayue-Key": "staff-k"}
LAW = "佳木斯市档案查阅办法"
SECRET_TITLE = "关于内部档案保管的绝密规定"
SECRET_NUMBER = "佳密发〔2003〕9号"


def _doc(doc_id: str, title: str, day: date, access: str = "open", number: str | None = None,
         rows: dict[str, str] | None = None) -> Document:
    row = {"rel_" + kind: [target] for kind, target in (rows or {}).items()}
    rels = [r.to_json() for r in R.from_manifest(row, day)] + \
        [r.to_json() for r in R.extract(title, "", day)]
    return Document(id=doc_id, collection="current", title=title, doc_number=number, date=day, access=access,
                    pages=[Page(1, f"{title}。第一条 为了规范档案查阅工作，制定本办法。")], relations=rels)


def documents() -> list[Document]:
    docs = [
        _doc("V2001", LAW, date(2001, 3, 1)),
        _doc("V2005", LAW, date(2005, 3, 1), access="restricted"),
        _doc("V2010", LAW, date(2010, 3, 1)),
        _doc("S1", "佳木斯市秘密档案保管规定", date(2002, 1, 1), access="restricted"),
        _doc("S2", SECRET_TITLE, date(2002, 6, 1), access="restricted"),
        _doc("S3", "关于保管期限的内部说明", date(2003, 1, 1), access="restricted", number=SECRET_NUMBER),
        # An open document whose catalogue row names closed files, by id, title and 文号.
        _doc("C", "佳木斯市档案查阅实施细则", date(2012, 1, 1),
             rows={"根据": "S1", "替代": SECRET_TITLE, "解读": SECRET_NUMBER}),
        # An open document the catalogue names by id, and an amendment both its catalogue and
        # its title state.
        _doc("T", "佳木斯市档案开放条例", date(2004, 1, 1)),
        _doc("A", "佳木斯市人民政府关于修改《佳木斯市档案开放条例》的决定", date(2015, 5, 1),
             rows={"修改": "T"}),
        _doc("B", "佳木斯市档案开放条例解读", date(2016, 1, 1), rows={"解读": "T"}),
    ]
    items = {d.id: R.item_of(d, d.validity) for d in docs}
    _, derived = R.link(items.values())
    for d in docs:
        R.apply(d, items[d.id], derived[d.id])
    return docs


@pytest.fixture(scope="module", params=BACKENDS)
def api(request, tmp_path_factory):
    engine = engine_for(request.param, tmp_path_factory, documents(), "relations-audience")
    app = create_app(Settings(data=tmp_path_factory.mktemp("unused"), staff_key="staff-k"))
    app.state.engine = engine
    with TestClient(app) as c:
        yield c
    engine.close()


def _in_force(api, day: str, headers=None) -> list[str]:
    body = api.get("/api/search", params={"q": LAW, "valid_on": day, "versions": "all", "size": 50},
                   headers=headers or {}).json()
    return sorted(h["id"] for h in body["hits"] if h["title"] == LAW)


def test_a_hidden_version_in_the_middle_shows_neither_itself_nor_its_effect(api):
    assert _in_force(api, "2020-01-01") == ["V2010"]
    assert _in_force(api, "2003-01-01") == ["V2001"]
    assert _in_force(api, "2020-01-01", STAFF) == ["V2010"]
    public = api.get("/api/documents/V2001").json()
    assert public["validity"] == "历史版本"
    rel = public["relations"]
    assert [(v["id"], v["current"]) for v in rel["versions"]] == [("V2010", True), ("V2001", False)]
    assert "V2005" not in str(public) and "2005-03-01" not in str(public)
    grouped = api.get("/api/search", params={"q": LAW}).json()
    assert [(h["id"], h["other_versions"]) for h in grouped["hits"] if h["title"] == LAW] == [("V2010", 1)]
    current = [h["id"] for h in api.get("/api/search", params={"q": LAW, "validity": "现行有效", "versions": "all"})
               .json()["hits"] if h["title"] == LAW]
    assert "V2001" not in current
    # Staff see the closed version too, superseded by the open one after it.
    staff = api.get("/api/documents/V2005/relations", headers=STAFF).json()
    assert staff["status"]["ended_by"]["id"] == "V2010"


@pytest.mark.parametrize("headers", [{}, {"X-Chayue-Key": "nobody"}])
def test_catalogue_relations_to_hidden_files_show_neither_id_title_nor_number(api, headers):
    resp = api.get("/api/documents/C", headers=headers)
    assert resp.status_code == 200
    cites = resp.json()["relations"]["cites"]
    assert sorted(r["kind"] for r in cites) == sorted(["根据", "替代", "解读"])
    assert all(r["text"] == "未收录或未公开的文件" and r["document"] is None for r in cites)
    for told in ("S1", SECRET_TITLE, "内部档案", SECRET_NUMBER, "佳密发"):
        assert told not in resp.text, told
    # Staff see what their catalogue says, and where it leads.
    staff = api.get("/api/documents/C/relations", headers=STAFF).json()["cites"]
    assert sorted((r["kind"], r["document"]["id"]) for r in staff) == sorted([("根据", "S1"), ("替代", "S2"), ("解读", "S3")])


def test_a_catalogue_relation_by_id_reaches_its_target_once(api):
    for headers in ({}, STAFF):
        rel = api.get("/api/documents/T/relations", headers=headers).json()
        assert sorted((r["kind"], r["document"]["id"]) for r in rel["cited_by"]) == sorted([("修改", "A"), ("解读", "B")])
        assert "2015-05-01 修改" in rel["status"]["line"]
        assert [(e["kind"], e["document"]["id"]) for e in rel["timeline"] if e["kind"] != "版本"] == \
            [("修改", "A"), ("解读", "B")]
