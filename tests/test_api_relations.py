"""Validity, versions and relations over the API, on the demo sample: one hit per document with
its other versions counted, `valid_on`, the relation facet, and GET /api/documents/{id}/relations."""

from __future__ import annotations

STAFF = {"X-Chayue-Key": "staff-secret"}


def search(client, **params) -> dict:
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _id(client, title: str, **params) -> str:
    return next(h["id"] for h in search(client, q=title, size=50, versions="all", **params)["hits"]
                if h["title"] == title)


def test_versions_are_one_hit_with_the_other_versions_counted(client):
    grouped = search(client, q="仲裁法")
    arbitration = [h for h in grouped["hits"] if h["title"] == "中华人民共和国仲裁法"]
    assert [(h["date"], h["validity"], h["other_versions"]) for h in arbitration] == [("2025-09-12", "现行有效", 1)]
    every = search(client, q="仲裁法", versions="all")
    assert sorted(h["date"] for h in every["hits"] if h["title"] == "中华人民共和国仲裁法") == ["2017-09-01", "2025-09-12"]
    assert grouped["total"] == every["total"] - 1
    # The validity facet still counts the former version, and choosing it shows it.
    assert {"value": "历史版本", "count": 1} in grouped["facets"]["validity"]
    former = search(client, q="仲裁法", validity="历史版本")["hits"]
    assert [(h["title"], h["date"]) for h in former] == [("中华人民共和国仲裁法", "2017-09-01")]


def test_valid_on_gives_the_version_in_force_that_day(client):
    def arbitration(day):
        return [h["date"] for h in search(client, q="仲裁法", valid_on=day)["hits"] if h["title"] == "中华人民共和国仲裁法"]

    assert arbitration("2020-01-01") == ["2017-09-01"]  # in force 1995-09-01 until 2026-03-01
    assert arbitration("2026-03-01") == ["2025-09-12"]
    assert arbitration("1990-01-01") == []
    # Repealed laws with no known end are never shown in force; the 1958 household rule is.
    repealed = search(client, valid_on="2000-01-01", validity="已废止")
    assert repealed["total"] == 0
    assert search(client, q="户口登记条例", valid_on="1960-01-01")["total"] >= 1
    bad = client.get("/api/search", params={"valid_on": "2020-02-30"})
    assert bad.status_code == 422 and "valid_on" in bad.json()["message"]


def test_relation_facet_and_filter(client):
    body = search(client, size=50)
    flags = {v["value"]: v["count"] for v in body["facets"]["relation"]}
    assert flags["被修改过"] == 1  # 宪法, amended by 宪法修正案（2018年）
    amended = search(client, relation="被修改过")["hits"]
    assert [h["title"] for h in amended] == ["中华人民共和国宪法"]
    assert amended[0]["relation_flags"][0] == "被修改过"
    superseded = search(client, relation="已被替代")["hits"]
    assert [(h["title"], h["ended"]) for h in superseded] == [("中华人民共和国仲裁法", "2026-03-01")]


def test_relations_of_a_former_version(client):
    old = _id(client, "中华人民共和国仲裁法", validity="历史版本")
    rel = client.get(f"/api/documents/{old}/relations").json()
    assert rel["status"]["line"] == "历史版本：已被《中华人民共和国仲裁法》（2025-09-12）替代，2026-03-01 起不再施行"
    assert [(v["date"], v["current"]) for v in rel["versions"]] == [("2025-09-12", True), ("2017-09-01", False)]
    kinds = [(e["date"], e["kind"]) for e in rel["timeline"]]
    assert kinds == [("1995-09-01", "施行"), ("2017-09-01", "版本"), ("2025-09-12", "版本"), ("2026-03-01", "施行"),
                     ("2026-03-01", "替代")]


def test_amendments_and_citations_both_ways(client):
    constitution = _id(client, "中华人民共和国宪法")
    rel = client.get(f"/api/documents/{constitution}").json()["relations"]
    amendments = [(r["text"], r["date"]) for r in rel["cited_by"] if r["kind"] == "修改"]
    assert amendments == [("中华人民共和国宪法修正案（2018年）", "2018-03-11")]
    assert rel["status"]["line"].startswith("现行有效，2018-03-11 修改")
    citing = {r["text"] for r in rel["cited_by"] if r["kind"] == "根据"}
    assert "中华人民共和国反分裂国家法" not in citing and "反分裂国家法" in citing
    assert rel["cited_by_total"] == len({r["document"]["id"] for r in rel["cited_by"]})
    # From the other side: the amendment links to the 宪法; the 刑法 amendment names a law not here.
    amendment = client.get(f"/api/documents/{_id(client, '中华人民共和国宪法修正案（2018年）')}/relations").json()
    assert [(r["kind"], r["document"]["id"], r["extracted"]) for r in amendment["cites"]] == [("修改", constitution, True)]
    criminal = client.get(f"/api/documents/{_id(client, '中华人民共和国刑法修正案（十二）')}/relations").json()
    assert [(r["kind"], r["text"], r["document"]) for r in criminal["cites"]] == [("修改", "中华人民共和国刑法", None)]


def test_a_hidden_document_is_plain_text_and_not_counted(client):
    # The restricted 反间谍法 (archive) cites the 宪法 (根据宪法); only staff are told.
    constitution = _id(client, "中华人民共和国宪法")
    public = client.get(f"/api/documents/{constitution}/relations").json()
    staff = client.get(f"/api/documents/{constitution}/relations", headers=STAFF).json()
    hidden = "中华人民共和国反间谍法（节选）"
    assert hidden in {r["text"] for r in staff["cited_by"]}
    assert hidden not in str(public) and staff["cited_by_total"] == public["cited_by_total"] + 1
    assert client.get("/api/documents/J012-2023-永久-0009/relations").status_code == 404


def test_grouping_never_hides_text_only_a_former_version_has(client):
    """Versions are one hit, but a sentence a revision removed still finds the version that has it."""
    old = _id(client, "中华人民共和国仲裁法", validity="历史版本")
    new = next(h["id"] for h in search(client, q="仲裁法")["hits"] if h["title"] == "中华人民共和国仲裁法")
    text = lambda doc_id: "".join(p["text"] for p in client.get(f"/api/documents/{doc_id}").json()["pages"])  # noqa: E731
    old_text, new_text = text(old), "".join(text(new).split())
    phrase = next(old_text[i:i + 12] for i in range(0, len(old_text) - 12)
                  if len(set(old_text[i:i + 12])) > 8 and "".join(old_text[i:i + 12].split()) == old_text[i:i + 12]
                  and old_text[i:i + 12] not in new_text and all("\u4e00" <= c <= "\u9fff" for c in old_text[i:i + 12]))
    hits = [h["id"] for h in search(client, q=f'"{phrase}"')["hits"]]
    assert old in hits and new not in hits, (phrase, hits)
    # Text both versions share is still one hit: the current version, the other counted.
    shared = search(client, q="仲裁法")["hits"]
    assert old not in [h["id"] for h in shared] and new in [h["id"] for h in shared]
