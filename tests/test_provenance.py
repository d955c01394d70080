"""Where each field came from: the manifest wins, the layout fills in, and what the two
disagree on is listed by `chayue report` for a person to check."""

from __future__ import annotations

import json

from indexer.cli import main
from tests.test_pipeline import documents, rows

NOTICE = ("佳木斯市人民政府文件\n佳政发〔2007〕12号\n佳木斯市人民政府关于加强\n档案安全工作的通知\n"
          "各县（市）区人民政府：\n请认真做好档案安全工作。\n佳木斯市人民政府\n二〇〇七年九月五日\n")


def test_manifest_wins_layout_fills_in_and_disagreements_are_reported(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (folder / "plain.txt").write_text(NOTICE.replace("佳政发〔2007〕12号", "佳政发〔2007〕14号"), encoding="utf-8")
    manifest = tmp_path / "目录.csv"
    manifest.write_text("文件,题名,文号,发文机关\n"
                        "in/notice.txt,关于加强档案安全工作的通知,佳政发[2007]13号,佳木斯市人民政府\n",
                        encoding="utf-8")
    data = tmp_path / "data"
    assert main(["index", str(folder), "--manifest", str(manifest), "--data", str(data), "--quiet"]) == 0
    docs = documents(data)
    notice = docs[rows(data)["notice.txt"].doc_id]
    assert notice["title"] == "关于加强档案安全工作的通知" and notice["doc_number"] == "佳政发〔2007〕13号"
    assert dict(v.split(":", 1) for v in notice["provenance"]) == {
        "title": "manifest", "doc_number": "manifest", "agency": "manifest", "recipients": "layout",
        "date": "layout", "doc_type": "layout"}
    plain = docs[rows(data)["plain.txt"].doc_id]
    assert "title:layout" in plain["provenance"] and plain["doc_number"] == "佳政发〔2007〕14号"

    capsys.readouterr()
    assert main(["report", "--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(d["field"], d["manifest"], d["layout"]) for d in report["disagreements"]] == [
        ("title", "关于加强档案安全工作的通知", "佳木斯市人民政府关于加强档案安全工作的通知"),
        ("doc_number", "佳政发〔2007〕13号", "佳政发〔2007〕12号"),
    ]  # the same agency written either way is no disagreement; plain.txt has no manifest row
    assert {d["path"] for d in report["disagreements"]} == {str(folder / "notice.txt")}
    assert main(["report", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "清单与版式不一致" in out and "佳政发〔2007〕13号" in out, out


def test_the_document_view_shows_provenance_to_staff_only(client):
    scan = "J012-2007-永久-0001"
    staff = client.get(f"/api/documents/{scan}", headers={"X-Chayue-Key": "staff-secret"}).json()
    assert staff["provenance"]["doc_number"] == "manifest" and staff["provenance"]["title"] == "manifest"
    assert client.get(f"/api/documents/{scan}").json()["provenance"] is None
    room = client.get(f"/api/documents/{scan}", headers={"X-Chayue-Key": "room-secret"}).json()
    assert room["provenance"] is None
