"""Relations between documents: extraction from titles and text, resolution by 文号 then title,
versions by title, and the validity derived from them (indexer/relations.py)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from indexer import relations as R
from tests import inputs


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def law_items(rows: list[dict]) -> list[R.Item]:
    """The laws as the pipeline sees them: manifest dates and validity, relations from the text."""
    items = []
    for r in rows:
        published, effective = _day(r["publish_date"]), _day(r["effective_date"])
        items.append(R.Item(r["id"], r["title"], date=published, effective=effective, validity=r["validity"],
                            relations=R.extract(r["title"], r["text"], effective or published)))
    return items


@pytest.fixture(scope="module")
def laws() -> list[dict]:
    return inputs.laws()


@pytest.fixture(scope="module")
def linked(laws):
    items = law_items(laws)
    out, derived = R.link(items)
    return {i.id: i for i in items}, out, derived


def _titles(laws) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for r in laws:
        by.setdefault(r["title"], []).append(r)
    return by


def test_every_amendment_is_linked_to_the_law_it_amends(laws, linked):
    items, out, _ = linked
    by_title = _titles(laws)
    amendments = [r for r in laws if r["doc_type"] in ("修正案", "修改决定") or "修正案" in r["title"]]
    assert sum(r["doc_type"] == "修正案" for r in amendments) == 11
    assert sum(r["doc_type"] == "修改决定" for r in amendments) == 4
    resolved = unresolved = 0
    for r in amendments:
        # The amended law as the title names it: 《…》 in a 修改决定, the part before 修正案 otherwise.
        named = re.search(r"《(.+?)》", r["title"]).group(1) if "《" in r["title"] else r["title"].split("修正案")[0]
        rel = [x for x in out[r["id"]] if x.kind == "修改"]
        assert len(rel) == 1, (r["title"], rel)
        assert rel[0].target == named, r["title"]
        if named in by_title:
            assert rel[0].target_id in {x["id"] for x in by_title[named]}, r["title"]
            resolved += 1
        else:
            assert rel[0].target_id is None, f"{r['title']}: {named} is not in the collection"
            unresolved += 1
    # 4 宪法修正案 and 2 修改决定 name a law in the collection; 11 刑法修正案 (no 刑法 here) and
    # the decisions on 食品安全法 and 网络安全法 keep their target as text.
    assert (resolved, unresolved) == (6, 13)


def test_every_former_version_is_linked_to_its_current_version(laws, linked):
    items, out, derived = linked
    by_title = _titles(laws)
    former = [r for r in laws if r["validity"] == "历史版本"]
    assert len(former) == 9
    linked_count = 0
    for r in former:
        current = [x for x in by_title[r["title"]] if x["validity"] == "现行有效"]
        d = derived[r["id"]]
        if not current:
            assert d.version_state == "current" and d.ended_by is None, r["title"]
            continue
        (cur,) = current
        assert any(x.kind == "替代" and x.target_id == r["id"] for x in out[cur["id"]]), r["title"]
        assert (d.version_state, d.ended_by, d.validity) == ("former", cur["id"], "历史版本")
        assert d.ended == _day(cur["effective_date"]) and "已被替代" in d.flags
        assert derived[cur["id"]].version_state == "current"
        linked_count += 1
    # 民用航空法 and 对外贸易法 are here only in their former versions.
    assert linked_count == 7


def test_every_repeal_in_the_text_is_linked_where_the_repealed_law_is_here(laws, linked):
    items, out, derived = linked
    by_title = _titles(laws)
    named_total = linked_total = 0
    for r in laws:
        for clause in re.findall(r"([^。；\n]*)同时废止", r["text"]):
            for named in re.findall(r"《(.+?)》", clause.split("，")[-1]):
                named_total += 1
                rel = [x for x in out[r["id"]] if x.kind == "废止" and x.target == named]
                assert rel, (r["title"], named)
                others = [x for x in by_title.get(named, []) if x["id"] != r["id"]]
                if not others:
                    assert rel[0].target_id is None, (r["title"], named)
                    continue
                (target,) = others
                assert rel[0].target_id == target["id"]
                d = derived[target["id"]]
                assert (d.ended_by, d.validity, d.ended) == (r["id"], "已废止", _day(r["effective_date"]))
                assert "已被废止" in d.flags and target["validity"] == "已废止"
                linked_total += 1
    # 生态环境法典 repeals six laws that are here (环境保护法, 海洋环境保护法 …); the other
    # 同时废止 name regulations and laws that are not in this collection.
    assert linked_total == 6
    assert named_total == 52
    # 工会法 (2021) repeals "the 1950 《中华人民共和国工会法》": not itself.
    union = next(r for r in laws if r["title"] == "中华人民共和国工会法")
    assert [x.target_id for x in out[union["id"]] if x.kind == "废止"] == [None]


def test_repealed_laws_without_a_repealer_here_keep_their_manifest_state(laws, linked):
    _, _, derived = linked
    repealed = [r for r in laws if r["validity"] == "已废止"]
    assert len(repealed) == 9
    without = [r["title"] for r in repealed if derived[r["id"]].ended_by is None]
    assert sorted(without) == sorted(["中华人民共和国乡镇企业法", "中华人民共和国农村土地承包法",
                                      "全国人民代表大会常务委员会关于对中华人民共和国缔结或者参加的国际条约所规定的罪行行使刑事管辖权的决定"])


# -- always run: patterns on short real-shaped texts ---------------------------------------------------
def test_repeal_list_names_each_law_and_the_date_is_the_effective_date():
    text = "第一千二百六十条　本法自2021年1月1日起施行。《中华人民共和国婚姻法》、《中华人民共和国继承法》同时废止。"
    rels = R.extract("中华人民共和国民法典", text, R.effective_in_text(text, None))
    assert [(r.kind, r.target, r.date) for r in rels if r.kind == "废止"] == [
        ("废止", "中华人民共和国婚姻法", date(2021, 1, 1)), ("废止", "中华人民共和国继承法", date(2021, 1, 1))]
    assert all(r.extracted for r in rels)


def test_effective_date_on_publication_is_the_publication_date():
    assert R.effective_in_text("第五十八条　本法自公布之日起施行。", date(2021, 12, 24)) == date(2021, 12, 24)


def test_issuing_notice_and_citation():
    text = "各区人民政府：\n现将《佳木斯市档案管理办法》印发给你们，请认真贯彻执行。根据《中华人民共和国档案法》，制定本办法。"
    rels = R.extract("佳木斯市人民政府关于印发佳木斯市档案管理办法的通知", text)
    assert {(r.kind, r.target) for r in rels} == {("印发", "佳木斯市档案管理办法"), ("根据", "中华人民共和国档案法")}
    rels = R.extract("黑龙江省人民政府办公厅关于转发国务院办公厅关于加强档案工作的通知的通知", "")
    assert [(r.kind, r.target, r.source) for r in rels] == [("转发", "国务院办公厅关于加强档案工作的通知", R.TITLE)]


def test_resolution_prefers_the_document_number_and_keeps_unknown_targets_as_text():
    a = R.Item("a", "关于加强档案工作的通知", doc_number="佳政发〔2007〕12号", date=date(2007, 3, 1))
    b = R.Item("b", "关于加强档案工作的通知", doc_number="佳政发〔2009〕3号", date=date(2009, 3, 1))
    c = R.Item("c", "关于废止部分文件的决定", date=date(2012, 1, 1),
               relations=[R.Relation("废止", "佳政发[2007]12号", date(2012, 1, 1), R.MANIFEST),
                          R.Relation("废止", "关于不存在的文件的通知", date(2012, 1, 1), R.MANIFEST)])
    out, derived = R.link([a, b, c])
    assert [(r.target_id, r.extracted) for r in out["c"] if r.kind == "废止"] == [("a", False), (None, False)]
    assert derived["a"].validity == "已废止" and derived["a"].ended == date(2012, 1, 1)


def test_a_closed_source_never_changes_the_state_of_an_open_target():
    law = R.Item("law", "某某条例", date=date(2000, 1, 1), access="open")
    secret = R.Item("secret", "关于废止《某某条例》的决定", date=date(2010, 1, 1), access="restricted",
                    relations=R.extract("关于废止《某某条例》的决定", ""))
    out, derived = R.link([law, secret])
    assert out["secret"][0].target_id == "law"  # resolved, visible to staff from the source's side
    assert derived["law"].validity is None and derived["law"].flags == []


def test_manifest_that_disagrees_is_listed_for_review():
    old = R.Item("old", "某某办法", date=date(2000, 1, 1), validity="现行有效")
    new = R.Item("new", "关于废止《某某办法》的决定", date=date(2010, 1, 1),
                 relations=R.extract("关于废止《某某办法》的决定", ""))
    _, derived = R.link([old, new])
    assert derived["old"].review and "现行有效" in derived["old"].review[0]


# -- through the pipeline: validity over time in the index ---------------------------------------------
def _index(folder: Path, data: Path) -> None:
    from indexer.cli import main

    assert main(["index", str(folder), "--manifest", str(folder / "manifest.csv"), "--data", str(data), "--quiet"]) == 0


def _stored(data: Path) -> dict[str, dict]:
    from engine.embedded import open_embedded
    from engine.model import Audience
    from engine.query import MatchAll, SearchSpec
    from engine import Engine

    engine = Engine(open_embedded(data))
    try:
        hits = engine.search(SearchSpec(query=MatchAll(), size=100), Audience.staff).hits
        return {h.id: h.fields for h in hits}
    finally:
        engine.close()


def test_a_repeal_indexed_later_marks_the_earlier_document_and_leaves_with_its_file(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("佳木斯市档案管理办法\n第一条 为了加强档案管理，制定本办法。\n第二十条 本办法自2001年3月1日起施行。\n",
                                  encoding="utf-8")
    (folder / "b.txt").write_text("佳木斯市人民政府关于废止《佳木斯市档案管理办法》的决定\n"
                                  "市政府决定废止《佳木斯市档案管理办法》。\n本决定自2015年7月1日起施行。\n", encoding="utf-8")
    (folder / "c.txt").write_text("佳木斯市查阅中心管理规定\n第九条 本规定自2005年1月1日起施行。\n", encoding="utf-8")
    (folder / "d.txt").write_text("佳木斯市人民政府关于废止《佳木斯市查阅中心管理规定》的决定\n本决定自2016年1月1日起施行。\n",
                                  encoding="utf-8")
    (folder / "manifest.csv").write_text(
        "file,id,title,date,validity,collection\n"
        "a.txt,A,佳木斯市档案管理办法,2001-01-10,,current\n"
        "b.txt,B,佳木斯市人民政府关于废止《佳木斯市档案管理办法》的决定,2015-06-01,现行有效,current\n"
        "c.txt,C,佳木斯市查阅中心管理规定,2004-12-01,现行有效,current\n"
        "d.txt,D,佳木斯市人民政府关于废止《佳木斯市查阅中心管理规定》的决定,2015-12-01,现行有效,current\n",
        encoding="utf-8")
    data = tmp_path / "data"
    _index(folder, data)
    docs = _stored(data)
    # The manifest says nothing of A's validity: the repeal in the collection decides it.
    a = docs["A"]
    assert (a["validity"], a["effective"], a["ended"], a["ended_by"]) == ("已废止", "2001-03-01", "2015-07-01", "B")
    assert a["relation_flags"] == ["已被废止"]
    # C's manifest says 现行有效 although D repeals it: the manifest wins and staff are told.
    c = docs["C"]
    assert c["validity"] == "现行有效" and "ended" not in c
    from indexer.cli import main

    capsys.readouterr()
    assert main(["report", "--json", "--data", str(data)]) == 0
    review = json.loads(capsys.readouterr().out)["relations_review"]
    assert [(r["id"], r["kind"]) for r in review] == [("C", "有效性 validity")]
    # The repeal's file goes: A is in force again, as its own text and manifest say.
    (folder / "b.txt").unlink()
    _index(folder, data)
    a = _stored(data)["A"]
    assert a.get("validity") is None and "ended" not in a and a.get("relation_flags", []) == []


def test_a_restricted_repeal_tells_the_public_nothing(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from settings import Settings

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("佳木斯市查阅中心管理规定\n第九条 本规定自2005年1月1日起施行。\n", encoding="utf-8")
    (folder / "b.txt").write_text("关于废止《佳木斯市查阅中心管理规定》的决定\n本决定自2016年1月1日起施行。\n", encoding="utf-8")
    (folder / "manifest.csv").write_text(
        "file,id,title,date,access\n"
        "a.txt,A,佳木斯市查阅中心管理规定,2004-12-01,open\n"
        "b.txt,B,关于废止《佳木斯市查阅中心管理规定》的决定,2015-12-01,restricted\n", encoding="utf-8")
    data = tmp_path / "data"
    _index(folder, data)
    with TestClient(create_app(Settings(data=data, staff_key="k"))) as client:
        public = client.get("/api/documents/A").json()
        assert public["validity"] is None and public["ended"] is None
        assert public["relations"]["cited_by"] == [] and public["relations"]["cited_by_total"] == 0
        assert "废止" not in public["relations"]["status"]["line"]
        assert client.get("/api/search", params={"relation": "已被废止"}).json()["total"] == 0
        assert client.get("/api/search", params={"valid_on": "2020-01-01"}).json()["total"] == 1
        staff = client.get("/api/documents/A/relations", headers={"X-Chayue-Key": "k"}).json()
        assert [(r["kind"], r["document"]["id"]) for r in staff["cited_by"]] == [("废止", "B")]


def test_what_a_forwarding_notice_forwards_is_found_by_its_number_then_its_title():
    forwards = [{"title": "关于档案安全检查工作的意见", "doc_number": "佳档发〔2020〕3号", "agency": "市档案局"},
                {"title": "佳木斯市档案工作规范化管理办法"}]
    rels = R.from_forwards(forwards, "佳木斯市人民政府办公室关于转发市档案局关于档案安全检查工作的意见的通知", None)
    assert [(r.kind, r.target, r.alias) for r in rels] == [
        ("转发", "佳档发〔2020〕3号", "关于档案安全检查工作的意见"), ("转发", "佳木斯市档案工作规范化管理办法", None)]
    by_number = R.Item("n", "市档案局关于开展档案安全检查的意见", doc_number="佳档发[2020]3号")
    by_title = R.Item("t", "佳木斯市档案工作规范化管理办法")
    notice = R.Item("x", "佳木斯市人民政府办公室关于转发市档案局关于档案安全检查工作的意见的通知", relations=rels)
    out, derived = R.link([by_number, by_title, notice])
    assert [r.target_id for r in out["x"]] == ["n", "t"]
    assert derived["n"].flags == ["被转发"] and derived["t"].flags == ["被转发"]
    # Only the title: the 文号 names nothing here, so the title is looked for.
    elsewhere = R.from_forwards([{"title": "佳木斯市档案工作规范化管理办法", "doc_number": "佳政办发〔2019〕9号"}], "关于印发…", None)
    out, _ = R.link([by_title, R.Item("y", "关于印发…的通知", relations=elsewhere)])
    assert [r.target_id for r in out["y"]] == ["t"]
