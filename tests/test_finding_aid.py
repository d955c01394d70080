"""The finding aid: an item's place in its fonds (全宗 → … → 案卷 → 件) from the manifest's
columns, the 档号 or the folders; access inherited from a closed 案卷; the browse tree with
counts, breadcrumbs, previous and next item, search within a node and level facets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from indexer.arrangement import parse_code
from indexer.cli import main
from settings import Settings

ROOM = {"X-Chayue-Key": "room-secret"}


@pytest.mark.parametrize("code, kinds, item", [
    ("J012-2007-永久-0001", ["全宗", "年度", "保管期限"], "0001"),           # DA/T 22 件
    ("Z109-WS·2011-Y-BGS-0001", ["全宗", "类别", "年度", "保管期限", "机构"], "0001"),  # DA/T 22-2015
    ("J005-001-0002-003", ["全宗", "目录", "案卷"], "003"),                 # DA/T 13 全宗-目录-案卷-件
    ("J005—0002—003", ["全宗", "案卷"], "003"),                            # long dashes, no 目录号
    ("J003-1998-D30-0021", ["全宗", "年度", "保管期限"], "0021"),
])
def test_archival_codes_are_read_as_archives_write_them(code, kinds, item):
    place = parse_code(code)
    assert place is not None and [n.kind for n in place.nodes] == kinds and place.item == item


@pytest.mark.parametrize("code", ["LEAKCODE-0001", "佳政发〔2007〕12号", "J012-二〇〇七-0001", "abc"])
def test_what_is_not_an_archival_code_gives_no_place(code):
    assert parse_code(code) is None


@pytest.fixture(scope="module")
def arranged(tmp_path_factory):
    """A corpus placed three ways: manifest columns (全宗号 目录号 案卷号 件号, and a closed
    案卷 row whose items inherit its access unless they say otherwise), 档号 only, folders only."""
    root = tmp_path_factory.mktemp("arranged")
    files = root / "files"
    (files / "散存" / "第一盒").mkdir(parents=True)
    texts = {
        "a1.txt": "佳木斯市林业局关于造林工作的通知，全文如下。",
        "a2.txt": "佳木斯市林业局关于护林防火的报告，全文如下。",
        "b1.txt": "佳木斯市林业局关于林场改制的请示，全文如下。",
        "b2.txt": "佳木斯市林业局关于苗圃建设的批复，全文如下。",
        "J020-2001-永久-0007.txt": "佳木斯市水务局关于防汛工作的通知，全文如下。",
        "散存/第一盒/c1.txt": "佳木斯市林业局旧存零散文件一件，全文如下。",
    }
    for name, text in texts.items():
        (files / name).write_text(text, encoding="utf-8")
    manifest = files / "目录.csv"
    manifest.write_text(
        "文件,题名,全宗号,目录号,案卷号,件号,层级,开放状态,馆藏类别,档号\n"
        ",林业局造林档案,J030 佳木斯市林业局,002,0010,,案卷,,开放档案,\n"
        ",林业局改制档案（控制）,J030 佳木斯市林业局,002,0011,,案卷,控制,开放档案,\n"
        "a1.txt,造林通知,J030 佳木斯市林业局,002,0010,2,,,开放档案,\n"
        "a2.txt,护林报告,J030 佳木斯市林业局,002,0010,1,,,开放档案,\n"
        "b1.txt,林场改制请示,J030 佳木斯市林业局,002,0011,1,,,开放档案,\n"
        "b2.txt,苗圃建设批复,J030 佳木斯市林业局,002,0011,2,,开放,开放档案,\n"
        ",防汛通知,J020 佳木斯市水务局,,,,,,开放档案,J020-2001-永久-0007\n",  # joined by the file's name
        encoding="utf-8")
    data = root / "data"
    assert main(["index", str(files), "--manifest", str(manifest), "--collection", "archive",
                 "--data", str(data), "--quiet"]) == 0
    with TestClient(create_app(Settings(data=data, staff_key="staff-secret", reading_room_key="room-secret"))) as c:
        yield c


def _place(client, doc_id, headers=None):
    return client.get(f"/api/tree/of/{doc_id}", headers=headers or {})


def test_manifest_columns_place_items_in_their_file_in_item_order(arranged):
    ids = {h["title"]: h["id"] for h in arranged.get("/api/search", params={"size": 50},
                                                     headers={"X-Chayue-Key": "staff-secret"}).json()["hits"]}
    place = _place(arranged, ids["造林通知"]).json()
    assert [(b["kind"], b["code"]) for b in place["breadcrumbs"]] == [("全宗", "J030"), ("目录", "002"), ("案卷", "0010")]
    assert place["breadcrumbs"][0]["label"] == "佳木斯市林业局"
    assert place["breadcrumbs"][-1]["label"] == "林业局造林档案"  # the 案卷 row's title names its node
    # 件号 2 follows 件号 1, whatever the file names say.
    assert place["position"] == 2 and place["previous"]["title"] == "护林报告" and place["next"] is None


def test_a_closed_file_closes_its_items_unless_an_item_says_otherwise(arranged):
    public = {h["title"] for h in arranged.get("/api/search", params={"size": 50}).json()["hits"]}
    assert "林场改制请示" not in public  # inherits 控制 from its 案卷
    assert {"苗圃建设批复", "造林通知", "护林报告", "防汛通知"} <= public  # says 开放 itself
    tree = arranged.get("/api/tree", params={"node": "J030/002/0011"}).json()
    assert tree["node"]["count"] == 1 and [i["title"] for i in tree["items"]] == ["苗圃建设批复"]
    # The closed 案卷's own title is not told through its open item.
    assert "控制" not in str(tree)
    assert arranged.get("/api/tree", params={"node": "J030/002/0011"},
                        headers={"X-Chayue-Key": "staff-secret"}).json()["node"]["count"] == 2


def test_archival_code_and_folders_place_what_has_no_columns(arranged):
    top = arranged.get("/api/tree").json()
    by_code = {c["code"]: c for c in top["children"]}
    assert by_code["J020"]["label"] == "佳木斯市水务局" and by_code["J020"]["count"] == 1
    assert by_code["J030"]["count"] == 3  # 4 items, one closed
    folder = by_code["散存"]
    assert folder["kind"] == "文件夹"
    inner = arranged.get("/api/tree", params={"node": "散存/第一盒"}).json()
    assert [i["title"] for i in inner["items"]] == ["c1"]


def test_sample_fonds_has_three_levels_browsable_with_counts(client):
    top = client.get("/api/tree").json()
    j005 = next(c for c in top["children"] if c["code"] == "J005")
    assert j005["count"] == 4  # the reading-room item of 案卷 0002 is not counted for the public
    room = {c["code"]: c["count"] for c in client.get("/api/tree", headers=ROOM).json()["children"]}
    assert room["J005"] == 5
    series = client.get("/api/tree", params={"node": "J005"}).json()
    assert [c["kind"] for c in series["children"]] == ["目录"]
    files = client.get("/api/tree", params={"node": "J005/001"}).json()
    assert [(c["kind"], c["code"], c["count"]) for c in files["children"]] == [("案卷", "0001", 3), ("案卷", "0002", 1)]
    items = client.get("/api/tree", params={"node": "J005/001/0001"}).json()["items"]
    assert [i["item_no"] for i in items] == ["001", "002", "003"]


def test_an_item_has_breadcrumbs_and_neighbours_in_its_file(client):
    place = client.get("/api/tree/of/J005-001-0001-002").json()
    assert [b["path"] for b in place["breadcrumbs"]] == ["J005", "J005/001", "J005/001/0001"]
    assert place["previous"]["id"] == "J005-001-0001-001" and place["next"]["id"] == "J005-001-0001-003"
    # In the reading-room 案卷 the public sees only the item that is open itself: no neighbours.
    alone = client.get("/api/tree/of/J005-001-0002-002").json()
    assert (alone["position"], alone["of"], alone["previous"], alone["next"]) == (1, 1, None, None)
    room = client.get("/api/tree/of/J005-001-0002-002", headers=ROOM).json()
    assert room["previous"]["id"] == "J005-001-0002-001"
    assert client.get("/api/tree/of/J005-001-0002-001").status_code == 404


def test_search_within_a_node_and_level_facets(client):
    body = client.get("/api/search", params={"q": "档案", "node": "J005/001/0001"}).json()
    assert body["total"] == 3 and all(h["id"].startswith("J005-001-0001-") for h in body["hits"])
    everywhere = client.get("/api/search", params={"q": "档案"}).json()
    assert everywhere["total"] > body["total"]
    fonds = {f["value"]: f["count"] for f in everywhere["facets"]["tree_1"]}
    assert fonds["J005"] == 4
    files = {f["value"]: f["count"] for f in everywhere["facets"]["tree_parent"]}
    assert files["J005/001/0001"] == 3
    assert client.get("/api/search", params={"node": "a//b"}).status_code == 422


def test_a_node_with_nothing_visible_does_not_exist(client):
    assert client.get("/api/tree", params={"node": "J012/2023"}).status_code == 404  # the restricted item's year
    assert client.get("/api/tree", params={"node": "J012/2023"},
                      headers={"X-Chayue-Key": "staff-secret"}).status_code == 200
