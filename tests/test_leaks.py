"""The leak test: restricted (and reading-room) documents carrying unique marker strings in
every field are indexed beside open ones, and no public or reading-room response, on any
endpoint, contains a marker or counts a document the caller may not see.

Two oracles: the markers themselves (a string scan of every response), and the staff view
narrowed by the staff-only `access` filter: a public answer must equal the staff answer
restricted to `access=open`, a reading-room answer the staff answer restricted to
`access=open,reading_room`, in totals, hits, facet counts and the looser-query offer."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from engine import Engine
from engine.embedded import open_embedded
from engine.model import ACCESS_FOR, Audience, Document, Page
from indexer.ledger import INDEXED, Entry, Ledger
from settings import Settings
from tests.conformance.engines import BACKENDS
from tests.es_backend import elastic_engine_or_skip, es_connection

STAFF, ROOM = "staff-leak-key", "room-leak-key"
KEYS = {Audience.public: None, Audience.reading_room: ROOM, Audience.staff: STAFF}

# Strings that exist only in the restricted documents (title, body, agency, 文号, category,
# doc_type, validity, fonds, archival code, retention, recipients, id) ...
SECRET = {
    "id": "LEAKID7731", "title": "绝密标记甲乙丙鲟鳇鱼洄游调查", "agency": "鳇鱼绝密标记机关丁戊",
    "doc_number": "鲟密发〔2019〕77号", "category": "绝密标记类别己庚", "doc_type": "绝密标记文种",
    "validity": "绝密标记效力", "fonds": "J999 绝密标记全宗", "archival_code": "LEAKCODE-0001",
    "retention": "绝密标记期限", "recipient": "绝密标记收文单位", "body": "翡翠鹦鹉螺计划",
}
SECRET_YEAR = 1911
# ... and only in the reading-room document (hidden from the public, shown in the reading room).
ROOM_ONLY = {"id": "ROOMID5521", "title": "阅览标记壬癸候鸟迁徙档案", "agency": "阅览标记机关",
             "doc_number": "阅密发〔2016〕8号", "category": "阅览标记类别", "body": "琥珀蜻蜓方案"}
ROOM_YEAR = 1923

SECRET_MARKERS = ["绝密标记", "甲乙丙", "鲟鳇鱼洄游", "LEAKID", "鲟密发", "LEAKCODE", "翡翠鹦鹉螺", "丁戊",
                  "己庚", "J999", "鳇鱼绝密", "jmbj", "juemi", "xunhuang"]
ROOM_MARKERS = ["阅览标记", "壬癸", "ROOMID", "阅密发", "琥珀蜻蜓"]

OPEN_PLACE = (("全宗", "J012", "佳木斯市档案局"), ("案卷", "0001", "湿地保护案卷"))

# Words the open documents share with the hidden ones, so they are reachable by search,
# similar documents and completions from the same starting letters.
SHARED = "佳木斯市湿地保护与鲟鱼资源调查，档案管理工作报告。"


def _hidden_doc(m: dict[str, str], access: str, year: int, source: Path, media: str) -> Document:
    body = f"{SHARED}{m['body']}。{m['title']}。{m['doc_number']}。{m['agency']}。" + SHARED * 3
    return Document(
        id=m["id"], collection="archive", title=m["title"], pages=[Page(1, body), Page(2, SHARED + m["body"])],
        doc_number=m["doc_number"], agency=[m["agency"]], recipients=[m.get("recipient", m["agency"])],
        date=date(year, 10, 10), published=date(year, 10, 11), category=m["category"],
        doc_type=m.get("doc_type", "报告"), fonds=m.get("fonds", "J012"), archival_code=m.get("archival_code"),
        retention=m.get("retention"), validity=m.get("validity"), access=access,
        source_path=str(source), source_sha256=m["id"], media_type=media,
    )


def _open_docs() -> list[Document]:
    docs = []
    for i in range(12):
        docs.append(Document(
            id=f"open-{i:02d}", collection="current" if i % 3 else "archive",
            title=f"佳木斯市湿地保护工作报告（第{i + 1}号）" if i % 2 else f"关于鲟鱼资源调查的通知{i}",
            pages=[Page(1, SHARED * (1 + i % 3) + f"第{i}次会议纪要。")],
            doc_number=f"佳档发〔{2000 + i}〕{i + 1}号", agency=["佳木斯市档案局" if i % 2 else "佳木斯市档案馆"],
            date=date(2000 + i, 3, 1), category="档案管理" if i % 2 else "环境保护", doc_type="报告",
            validity="现行有效" if i % 4 else "已废止", fonds="J012", access="open",
        ))
    return docs


def _build(kind: str, data: Path, hidden: tuple[str, ...], keep: list[Engine]) -> Settings:
    """Settings of an api over an engine of `kind` holding the open documents and the hidden
    ones of the access levels in `hidden` (an Elasticsearch engine is put in `keep`: closing
    it deletes its indices)."""
    files = data / "files"
    files.mkdir()
    secret_png, room_txt = files / "secret.png", files / "room.txt"
    Image.new("RGB", (60, 80), "white").save(secret_png)
    room_txt.write_text(ROOM_ONLY["body"], encoding="utf-8")
    extra: dict = {}
    if kind == "embedded":
        engine = Engine(open_embedded(data, writable=True))
    else:
        engine = elastic_engine_or_skip()
        keep.append(engine)
        extra = {"engine": "elasticsearch", "es_index": engine.backend.alias, **es_connection()}
    docs = [_hidden_doc(SECRET, "restricted", SECRET_YEAR, secret_png, "image/png"),
            _hidden_doc(ROOM_ONLY, "reading_room", ROOM_YEAR, room_txt, "text/plain")]
    # The finding aid: open items 1-6 of 案卷 J012/0001, the reading-room item between them
    # (件号 4), the restricted one alone in a fonds and 案卷 named by markers.
    opened = _open_docs()
    for i, doc in enumerate(opened[:6]):
        doc.arrangement, doc.item_no = [list(n) for n in OPEN_PLACE], str(i + 1 + (i >= 3))
    docs[0].arrangement, docs[0].item_no = [["全宗", "J999", "绝密标记全宗"], ["案卷", "0001", "绝密标记案卷"]], "1"
    docs[1].arrangement, docs[1].item_no = [list(n) for n in OPEN_PLACE], "4"
    engine.upsert(opened + [d for d in docs if d.access in hidden])
    engine.commit()
    if kind == "embedded":
        engine.close()
    _record_files(data, {SECRET["id"]: secret_png, ROOM_ONLY["id"]: room_txt})
    return Settings(data=data, staff_key=STAFF, reading_room_key=ROOM, **extra)


@pytest.fixture(scope="module", params=BACKENDS)
def kind(request):
    """Every test here runs on each engine: the api over the embedded index, then over
    Elasticsearch (the same app, CHAYUE_ENGINE=elasticsearch)."""
    return request.param


@pytest.fixture(scope="module")
def es_engines(kind):
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.close()


def _record_files(data: Path, files: dict[str, Path]) -> None:
    """The ledger rows the indexer would have written: files are served only as indexed."""
    ledger = Ledger(data / "ledger.sqlite")
    entries = []
    for doc_id, path in files.items():
        st = path.stat()
        entries.append(Entry(path=str(path), root=str(path.parent), size=st.st_size, mtime_ns=st.st_mtime_ns,
                             sha256=doc_id, status=INDEXED, doc_id=doc_id, device=st.st_dev, inode=st.st_ino))
    ledger.record(entries)
    ledger.close()


@pytest.fixture(scope="module")
def leak_index(kind, es_engines, tmp_path_factory) -> Settings:
    return _build(kind, tmp_path_factory.mktemp("leak-data"), ("restricted", "reading_room"), es_engines)


@pytest.fixture(scope="module")
def api(leak_index):
    with TestClient(create_app(leak_index)) as c:
        yield c


@pytest.fixture(scope="module")
def bare(kind, es_engines, tmp_path_factory):
    """For each audience, the api over an index without the documents it may not see (the
    restricted ones removed for the reading room; both hidden ones for the public)."""
    apps = {}
    with TestClient(create_app(_build(kind, tmp_path_factory.mktemp("leak-open"), (), es_engines))) as public, \
         TestClient(create_app(_build(kind, tmp_path_factory.mktemp("leak-room"), ("reading_room",),
                                      es_engines))) as room:
        apps[Audience.public], apps[Audience.reading_room] = public, room
        yield apps


def get(api, audience: Audience, path: str, params=None):
    headers = {"X-Chayue-Key": KEYS[audience]} if KEYS[audience] else {}
    return api.get(path, params=params, headers=headers)


def markers_for(audience: Audience) -> list[str]:
    return SECRET_MARKERS + (ROOM_MARKERS if audience == Audience.public else [])


def assert_clean(audience: Audience, resp, sent: str = "") -> None:
    """No marker the caller did not send themselves appears anywhere in the response."""
    text = resp.content.decode("utf-8", "replace") + json.dumps(dict(resp.headers), ensure_ascii=False)
    for marker in markers_for(audience):
        if marker.lower() in sent.lower():
            continue
        assert marker.lower() not in text.lower(), (audience, marker, resp.request.url, text[:500])


def _drop_echo(body: dict) -> dict:
    body = dict(body)
    body.pop("took_ms", None)
    body.pop("next_cursor", None)
    return body


QUERIES = [
    "", "绝密标记甲乙丙", "绝密", "标记", "甲乙丙", "鲟鳇鱼", "鲟鱼", "湿地", "翡翠鹦鹉螺计划", "LEAKID7731",
    "鲟密发[2019]77号", "鲟密发〔2019〕77号", "文号:鲟密发〔2019〕77号", "机关:鳇鱼绝密标记机关丁戊", "机关:鳇鱼",
    "标题:绝密标记", "年份:1911", "年份:1900-1930", '"绝密标记甲乙丙"', "绝密 OR 湿地", "湿地 -绝密", "阅览标记",
    "琥珀蜻蜓", "ROOMID5521", "佳木斯 档案", "绝密标记 湿地",
]
FILTERS = [
    {}, {"agency": SECRET["agency"]}, {"category": SECRET["category"]}, {"doc_type": SECRET["doc_type"]},
    {"validity": SECRET["validity"]}, {"fonds": SECRET["fonds"]}, {"year": SECRET_YEAR}, {"year": ROOM_YEAR},
    {"collection": "archive"}, {"collection": "current"}, {"date_from": "1900-01-01", "date_to": "1930-12-31"},
    {"date_to": "1999-01-01"}, {"access": "restricted"}, {"access": ["restricted", "reading_room"]},
    {"agency": ROOM_ONLY["agency"], "category": ROOM_ONLY["category"]}, {"agency": "佳木斯市档案局", "year": 2001},
    {"validity": "已废止"},
]
SORTS = ["relevance", "date_desc", "date_asc"]


def _narrowed(audience: Audience, params: dict) -> dict:
    """The same request as staff, narrowed to what `audience` may see."""
    out = {k: v for k, v in params.items() if k != "access"}
    allowed = list(ACCESS_FOR[audience])
    if "access" in params and audience == Audience.staff:
        return params
    out["access"] = allowed
    return out


def _unscored(body: dict) -> dict:
    """An answer without what term statistics shape: scores, and the order they give. Staff
    search their own tier, whose statistics count every document (the hidden ones too)."""
    hits = sorted(({k: v for k, v in h.items() if k != "score"} for h in body["hits"]), key=lambda h: h["id"])
    return {**body, "hits": hits}


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_search_never_shows_or_counts_what_the_caller_may_not_see(api, bare, audience):
    """Two oracles per request: the staff answer narrowed to the caller's access levels (the
    same documents, totals, facet counts and offers), and the caller's answer from an index
    without the documents hidden from them (the same answer exactly: ids, order and scores,
    so the hidden documents' term statistics shape nothing)."""
    checked = 0
    for q, filters, sort in itertools.product(QUERIES, FILTERS, SORTS):
        if sort != "relevance" and filters not in (FILTERS[0], FILTERS[1], FILTERS[6]):
            continue  # every filter once per query; the sorts over a few
        params = {"q": q, **filters, "sort": sort, "size": 100}
        resp = get(api, audience, "/api/search", params)
        assert resp.status_code == 200, resp.text
        assert_clean(audience, resp, sent=q)
        staff = get(api, Audience.staff, "/api/search", _narrowed(audience, params))
        mine, theirs = _drop_echo(resp.json()), _drop_echo(staff.json())
        assert _unscored(mine) == _unscored(theirs), (audience, params)
        assert mine == _drop_echo(get(bare[audience], audience, "/api/search", params).json()), (audience, params)
        checked += 1
    assert checked > 300


def test_staff_do_see_the_markers(api):
    """The positive control: the markers are in the index and staff find them."""
    body = get(api, Audience.staff, "/api/search", {"q": "翡翠鹦鹉螺计划"}).json()
    assert [h["id"] for h in body["hits"]] == [SECRET["id"]]
    body = get(api, Audience.staff, "/api/search", {"q": "", "size": 100}).json()
    assert body["total"] == 14
    assert {"value": str(SECRET_YEAR), "count": 1} in body["facets"]["year"]
    assert SECRET["title"] in get(api, Audience.staff, "/api/suggest", {"q": "jmbj"}).json()["suggestions"]
    # Completions by initials from an inner word (dag → 佳木斯市档案馆) work for everyone.
    assert "佳木斯市档案馆" in get(api, Audience.public, "/api/suggest", {"q": "dag"}).json()["suggestions"]
    assert "佳木斯市档案馆" in get(api, Audience.public, "/api/suggest", {"q": "jms"}).json()["suggestions"]
    room = get(api, Audience.reading_room, "/api/search", {"q": "琥珀蜻蜓"}).json()
    assert [h["id"] for h in room["hits"]] == [ROOM_ONLY["id"]]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_totals_and_facet_counts_count_only_visible_documents(api, audience):
    visible = 12 + (1 if audience == Audience.reading_room else 0)
    body = get(api, audience, "/api/search", {"size": 100}).json()
    assert body["total"] == visible == len(body["hits"])
    for name, values in body["facets"].items():
        if name in ("collection", "year", "category", "doc_type"):
            assert sum(v["count"] for v in values) == visible, name
        assert str(SECRET_YEAR) not in [v["value"] for v in values]


def _prefixes(text: str) -> list[str]:
    return [text[:n] for n in range(1, len(text) + 1)]


SUGGEST_PREFIXES = sorted(set(
    _prefixes("绝密标记甲乙丙") + _prefixes("鲟鳇鱼洄游") + _prefixes("鳇鱼绝密标记机关") + _prefixes("鲟密发〔2019〕77号")
    + _prefixes("juemibiaoji") + _prefixes("xunhuangyu") + _prefixes("huangyujuemi") + _prefixes("jmbjjyb")
    + _prefixes("xhyhy") + _prefixes("阅览标记") + _prefixes("yuelanbiaoji") + _prefixes("ylbj")
    + ["湿地", "佳木斯", "jms", "sd", "档案", "dangan", "LEAK", "leak", "j999", "绝密标记类别", "琥珀"]
))


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_suggestions_never_complete_to_hidden_titles_agencies_or_doc_numbers(api, audience):
    for prefix in SUGGEST_PREFIXES:
        resp = get(api, audience, "/api/suggest", {"q": prefix, "size": 20})
        assert resp.status_code == 200
        assert_clean(audience, resp, sent=prefix)
        hidden = {SECRET["title"], SECRET["agency"], SECRET["doc_number"]}
        if audience == Audience.public:
            hidden |= {ROOM_ONLY["title"], ROOM_ONLY["agency"], ROOM_ONLY["doc_number"]}
        assert not hidden & set(resp.json()["suggestions"]), prefix
    if audience == Audience.reading_room:
        assert ROOM_ONLY["title"] in get(api, audience, "/api/suggest", {"q": "ylbj"}).json()["suggestions"]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_similar_from_an_open_document_never_offers_a_hidden_one(api, audience):
    staff_ids = set()
    for i in range(12):
        resp = get(api, audience, f"/api/documents/open-{i:02d}/similar", {"size": 20})
        assert resp.status_code == 200
        assert_clean(audience, resp)
        ids = {h["id"] for h in resp.json()["hits"]}
        assert SECRET["id"] not in ids and (audience != Audience.public or ROOM_ONLY["id"] not in ids)
        staff_ids |= {h["id"] for h in get(api, Audience.staff, f"/api/documents/open-{i:02d}/similar",
                                          {"size": 20}).json()["hits"]}
    assert SECRET["id"] in staff_ids  # the shared words do lead there, for staff


HIDDEN_PATHS = ["/api/documents/{id}", "/api/documents/{id}?q=绝密", "/api/documents/{id}/file",
                "/api/documents/{id}/pages/1.png", "/api/documents/{id}/pages/2.png", "/api/documents/{id}/similar",
                "/api/documents/{id}/similar?size=20"]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_hidden_documents_answer_exactly_like_missing_ones(api, audience):
    hidden = [SECRET["id"]] + ([ROOM_ONLY["id"]] if audience == Audience.public else [])
    for template in HIDDEN_PATHS:
        missing = get(api, audience, template.format(id="NO-SUCH-DOC-000"))
        for doc_id in hidden:
            resp = get(api, audience, template.format(id=doc_id))
            assert resp.status_code == missing.status_code == 404, (template, resp.text)
            assert resp.json() == missing.json()
            assert_clean(audience, resp)
    # Staff get the same paths.
    assert get(api, Audience.staff, f"/api/documents/{SECRET['id']}").json()["title"] == SECRET["title"]
    assert get(api, Audience.staff, f"/api/documents/{SECRET['id']}/pages/1.png").status_code == 200
    assert get(api, Audience.staff, f"/api/documents/{SECRET['id']}/file").status_code == 200


# The staff side's figures of use (staff/usage.py, the register's statistics): staff-only data.
USE_PATHS = ["/staff/api/usage", "/staff/api/usage?since=1900-01-01", "/staff/api/register/visits",
             "/staff/api/register/options", "/staff/api/statistics", "/staff/api/statistics.xlsx?year=2019"]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_use_of_hidden_documents_is_neither_counted_for_nor_shown_to_the_caller(api, audience):
    """Reading a hidden document counts nothing (it answered as missing), and the figures of
    use, which name documents of every level, answer no public or reading-room caller."""
    hidden = [SECRET["id"]] + ([ROOM_ONLY["id"]] if audience == Audience.public else [])
    for template in HIDDEN_PATHS:
        for doc_id in hidden:
            assert get(api, audience, template.format(id=doc_id)).status_code == 404
    assert get(api, audience, "/api/documents/open-01").status_code == 200  # positive control
    api.app.state.usage.flush()
    with api.app.state.staff.store.connect() as db:
        counted = {r[0] for r in db.execute("SELECT doc_id FROM usage_docs WHERE channel = ?",
                                            ("online" if audience == Audience.public else "reading_room",))}
    assert "open-01" in counted and not counted & set(hidden)
    missing = get(api, audience, "/staff/api/no-such-figures")
    for path in USE_PATHS:
        resp = get(api, audience, path)
        assert (resp.status_code, resp.json()) == (404, missing.json()), (path, resp.status_code)
        assert_clean(audience, resp)


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_stats_and_health_count_only_visible_documents(api, audience):
    visible = 12 + (1 if audience == Audience.reading_room else 0)
    stats = get(api, audience, "/api/stats")
    assert_clean(audience, stats)
    s = stats.json()
    assert s["total"] == visible
    assert sum(v["count"] for v in s["collection"]) == visible
    assert str(SECRET_YEAR) not in {v["value"] for v in s["year"]}
    health = get(api, audience, "/api/health")
    assert_clean(audience, health)
    assert health.json()["documents"] == visible and health.json()["index_bytes"] is None
    staff = get(api, Audience.staff, "/api/health").json()
    assert staff["documents"] == 14 and staff["index_bytes"] > 0


BAD_REQUESTS = [
    ("/api/search", {"cursor": "not-a-cursor"}), ("/api/search", {"cursor": "eyJhIjpbMV0sImYiOiJ4In0"}),
    ("/api/search", {"q": "绝密", "cursor": "eyJhIjpbIkxFQUtJRDc3MzEiXSwiZiI6IngifQ"}),
    ("/api/search", {"page": 0}), ("/api/search", {"size": 1000}), ("/api/search", {"page": 9999, "size": 100}),
    ("/api/search", {"sort": "secret"}), ("/api/search", {"year": "abc"}), ("/api/search", {"date_from": "1911-13-01"}),
    ("/api/search", {"date_from": "1930-01-01", "date_to": "1900-01-01"}), ("/api/search", {"q": "绝" * 500}),
    ("/api/suggest", {"q": ""}), ("/api/suggest", {"q": "绝" * 80}), ("/api/documents/LEAKID7731/pages/0.png", {}),
    ("/api/documents/LEAKID7731/pages/x.png", {}), ("/api/documents/LEAKID7731/similar", {"size": 0}),
    ("/api/nothing-here", {}), ("/api/documents/" + "L" * 300, {}),
]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_error_answers_name_nothing_hidden(api, audience):
    for path, params in BAD_REQUESTS:
        resp = get(api, audience, path, params)
        assert 400 <= resp.status_code < 500, (path, params, resp.status_code)
        assert set(resp.json()) == {"error", "message"}
        assert_clean(audience, resp, sent=json.dumps(params, ensure_ascii=False) + path)


def test_keyed_answers_are_never_stored_by_a_cache(api):
    for audience in Audience:
        resp = get(api, audience, "/api/search", {"q": "湿地"})
        assert "X-Chayue-Key" in resp.headers["vary"]
        assert "private" in resp.headers["cache-control"] or "no-store" in resp.headers["cache-control"]
        if audience != Audience.public:
            assert resp.headers["cache-control"] == "no-store"
    staff_image = get(api, Audience.staff, f"/api/documents/{SECRET['id']}/pages/1.png")
    assert staff_image.headers["cache-control"] == "no-store"


# -- exports and feeds: every format, read back, never holds or counts a hidden document ----

EXPORT_FORMATS = ["csv", "xlsx", "docx", "ris", "bibtex", "csljson"]


def _export_text(fmt: str, content: bytes) -> str:
    """All the text of an export as its reader sees it (XLSX and DOCX are zip files)."""
    import io

    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    if fmt == "docx":
        from docx import Document as Docx

        doc = Docx(io.BytesIO(content))
        cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells + [doc.core_properties.title or ""])
    return content.decode("utf-8-sig")


def _exported_ids(fmt: str, content: bytes) -> list[str]:
    import csv
    import io

    if fmt == "csv":
        return [r["编号"] for r in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))]
    if fmt == "csljson":
        return [i["id"] for i in json.loads(content)]
    raise ValueError(fmt)


EXPORT_SEARCHES = [
    {"q": ""}, {"q": "湿地"}, {"q": "绝密标记甲乙丙"}, {"q": "翡翠鹦鹉螺计划"}, {"q": "阅览标记"}, {"q": "鲟鱼"},
    {"q": "", "year": SECRET_YEAR}, {"q": "", "agency": SECRET["agency"]}, {"q": "", "access": "restricted"},
    {"q": "", "collection": "archive", "sort": "date_asc"}, {"q": "湿地 OR 绝密", "sort": "date_desc"},
]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_exports_of_a_search_hold_and_count_only_visible_documents(api, audience):
    for params in EXPORT_SEARCHES:
        staff = get(api, Audience.staff, "/api/search", {**_narrowed(audience, params), "size": 100}).json()
        for fmt in EXPORT_FORMATS:
            resp = get(api, audience, f"/api/export/{fmt}", params)
            if staff["total"] == 0:
                assert resp.status_code == 422, (fmt, params)
                assert_clean(audience, resp, sent=params["q"])
                continue
            assert resp.status_code == 200, (fmt, params, resp.text)
            assert resp.headers["x-chayue-export-count"] == str(staff["total"]), (fmt, params)
            text = _export_text(fmt, resp.content)
            for marker in markers_for(audience):
                if marker.lower() not in params["q"].lower():
                    assert marker.lower() not in text.lower(), (audience, fmt, params, marker)
            if fmt not in ("xlsx", "docx"):
                assert_clean(audience, resp, sent=params["q"])
            if fmt in ("csv", "csljson"):
                assert _exported_ids(fmt, resp.content) == [h["id"] for h in staff["hits"]], (fmt, params)


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_a_folder_naming_hidden_documents_exports_as_if_they_did_not_exist(api, audience):
    hidden = [SECRET["id"]] + ([ROOM_ONLY["id"]] if audience == Audience.public else [])
    folder = {"name": "专题", "items": [{"id": "open-01"}] + [{"id": i, "note": "看看"} for i in hidden]}
    missing = {"name": "专题", "items": [{"id": "open-01"}] + [{"id": f"NO-SUCH-{n}", "note": "看看"}
                                                              for n in range(len(hidden))]}
    headers = {"X-Chayue-Key": KEYS[audience]} if KEYS[audience] else {}
    for fmt in EXPORT_FORMATS:
        resp = api.post(f"/api/export/{fmt}", json=folder, headers=headers)
        twin = api.post(f"/api/export/{fmt}", json=missing, headers=headers)
        assert resp.status_code == twin.status_code == 200
        assert resp.headers["x-chayue-export-count"] == twin.headers["x-chayue-export-count"] == "1"
        text = _export_text(fmt, resp.content)
        assert text.replace(date.today().isoformat(), "") == _export_text(fmt, twin.content).replace(
            date.today().isoformat(), "")
        for marker in markers_for(audience):
            assert marker.lower() not in text.lower(), (audience, fmt, marker)
        alone = api.post(f"/api/export/{fmt}", json={"items": folder["items"][1:]}, headers=headers)
        assert alone.status_code == 422 and set(alone.json()) == {"error", "message"}
        assert_clean(audience, alone)


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_feeds_never_hold_a_hidden_document(api, audience):
    import feedparser

    for params in EXPORT_SEARCHES:
        resp = get(api, audience, "/api/search.atom", params)
        assert resp.status_code == 200
        assert_clean(audience, resp, sent=params["q"])
        feed = feedparser.parse(resp.content)
        staff = get(api, Audience.staff, "/api/search",
                    {**_narrowed(audience, params), "sort": "date_desc", "size": 50}).json()
        assert [e.title for e in feed.entries] == [h["title"] for h in staff["hits"]], params
        assert f"共 {staff['total']} 件" in feed.feed.subtitle


def test_staff_exports_do_hold_the_restricted_document(api):
    resp = get(api, Audience.staff, "/api/export/docx", {"q": "翡翠鹦鹉螺计划"})
    assert SECRET["title"] in _export_text("docx", resp.content)
    feed = get(api, Audience.staff, "/api/search.atom", {"q": "翡翠鹦鹉螺计划"})
    assert SECRET["title"] in feed.text


# -- withdrawal: staff take an open document out of public view; it is gone at once ------------

WITHDRAWN = {"id": "WDRAWN4410", "title": "撤回标记翠鸟栖息地调查报告", "agency": "撤回标记机关",
             "doc_number": "撤发〔2012〕41号", "body": "珊瑚海马保护方案"}
WITHDRAWN_MARKERS = ["撤回标记", "翠鸟栖息地", "WDRAWN", "撤发", "珊瑚海马"]


def _public_answers(api, audience: Audience, doc_id: str) -> list:
    """Every public surface that could show or count one document: search (queries, filters,
    facets, the looser offer), suggest, similar from other documents, the document itself
    (also its file, page image, relations and similar), stats, health, every export, the
    feed and the opened-batch lists."""
    out = []
    for q in ("", "撤回标记", "翠鸟栖息地", "珊瑚海马保护方案", doc_id, "撤发〔2012〕41号", "湿地", "机关:撤回标记机关"):
        for extra in ({}, {"agency": WITHDRAWN["agency"]}, {"year": 2012}):
            out.append((q, get(api, audience, "/api/search", {"q": q, **extra, "size": 100})))
    for prefix in ("撤回", "撤回标记", "翠鸟", "chbj", "chehui", "撤发"):
        out.append((prefix, get(api, audience, "/api/suggest", {"q": prefix, "size": 20})))
    for i in range(12):
        out.append(("", get(api, audience, f"/api/documents/open-{i:02d}/similar", {"size": 20})))
    for template in HIDDEN_PATHS + ["/api/documents/{id}/relations"]:
        out.append(("", get(api, audience, template.format(id=doc_id))))
    out += [("", get(api, audience, "/api/stats")), ("", get(api, audience, "/api/health"))]
    for fmt in EXPORT_FORMATS:
        out.append(("撤回标记", get(api, audience, f"/api/export/{fmt}", {"q": "撤回标记"})))
        out.append(("", get(api, audience, f"/api/export/{fmt}", {"q": ""})))
    headers = {"X-Chayue-Key": KEYS[audience]} if KEYS[audience] else {}
    out.append(("", api.post("/api/export/csv", json={"items": [{"id": "open-01"}, {"id": doc_id}]}, headers=headers)))
    out.append(("", get(api, audience, "/api/search.atom", {"q": ""})))
    out.append(("撤回标记", get(api, audience, "/api/search.atom", {"q": "撤回标记"})))
    out.append(("", get(api, audience, "/api/openings")))
    out.append(("", get(api, audience, "/api/openings.atom")))
    return out


def _shows_it(answers, doc_id: str) -> list[str]:
    found = []
    for sent, resp in answers:
        text = resp.content.decode("utf-8", "replace")
        kind = resp.headers.get("content-type", "")
        if resp.status_code == 200 and "officedocument" in kind:
            text = _export_text("xlsx" if "spreadsheet" in kind else "docx", resp.content)
        for marker in WITHDRAWN_MARKERS:
            if marker.lower() not in sent.lower() and marker.lower() in text.lower():
                found.append(f"{resp.request.url} {marker}")
    return found


def _totals(api, audience: Audience) -> tuple[int, int]:
    return (get(api, audience, "/api/search", {"q": ""}).json()["total"], get(api, audience, "/api/stats").json()["total"])


@pytest.fixture
def withdrawal_api(tmp_path):
    from staff.accounts import Accounts
    from staff.store import Store
    from tests.staff_fixtures import PASSWORD

    data = _build("embedded", tmp_path, ("restricted", "reading_room"), []).data
    txt = data / "files" / "withdrawn.txt"
    txt.write_text(WITHDRAWN["body"], encoding="utf-8")
    doc = _hidden_doc({**WITHDRAWN, "category": "撤回标记类别"}, "open", 2012, txt, "text/plain")
    engine = Engine(open_embedded(data, writable=True))
    engine.upsert([doc])
    engine.commit()
    engine.close()
    _record_files(data, {WITHDRAWN["id"]: txt})
    settings = Settings(data=data, staff_key=STAFF, reading_room_key=ROOM, opening_interval=0)
    Accounts(Store(settings.staff_path), settings).create("wang", "王审核", "reviewer", PASSWORD, "test")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_a_withdrawn_document_is_gone_from_every_public_surface_within_seconds(withdrawal_api, audience):
    import time

    from staff import audit, publish
    from tests.staff_fixtures import sign_in

    api = withdrawal_api
    before = _public_answers(api, audience, WITHDRAWN["id"])
    assert _shows_it(before, WITHDRAWN["id"]), "positive control: the open document is found before"
    assert get(api, audience, f"/api/documents/{WITHDRAWN['id']}/file").status_code == 200
    totals = _totals(api, audience)

    token = sign_in(api, "wang")
    started = time.monotonic()
    resp = api.post("/staff/api/withdrawals", json={"id": WITHDRAWN["id"], "reason": "收到投诉：涉及个人隐私"},
                    headers={"X-CSRF-Token": token})
    assert resp.status_code == 200, resp.text
    while _totals(api, audience) != (totals[0] - 1, totals[1] - 1):
        assert time.monotonic() - started < 5, "the withdrawal took more than 5 seconds"
        time.sleep(0.1)
    after = _public_answers(api, audience, WITHDRAWN["id"])
    assert time.monotonic() - started < 5 + 60  # the sweep itself is slow; the hiding was not
    assert not _shows_it(after, WITHDRAWN["id"])
    for template in HIDDEN_PATHS:  # answers exactly like a document that never existed
        gone, missing = (get(api, audience, template.format(id=i)) for i in (WITHDRAWN["id"], "NO-SUCH-DOC-000"))
        assert gone.status_code == missing.status_code == 404 and gone.json() == missing.json()
    # Staff still see it, with the withdrawal on record; the writer then moves it out of the
    # public tiers (not needed for the hiding above), and the public answers stay clean.
    assert get(api, Audience.staff, f"/api/documents/{WITHDRAWN['id']}").status_code == 200
    publish.run_once(api.app.state.settings, api.app.state.staff.store)
    assert get(api, Audience.staff, f"/api/documents/{WITHDRAWN['id']}").json()["access"] == "restricted"
    assert not _shows_it(_public_answers(api, audience, WITHDRAWN["id"]), WITHDRAWN["id"])
    trail = [(e["action"], e["subject"], e["detail"].get("reason")) for e in audit.entries(api.app.state.staff.store)]
    assert ("withdraw", WITHDRAWN["id"], "收到投诉：涉及个人隐私") in trail


# -- the finding aid, OAI-PMH, IIIF and permanent links ---------------------------------------
TREE_PATHS = ["/api/tree", "/api/tree?node=J012", "/api/tree?node=J012/0001", "/api/tree/of/open-02",
              "/api/tree/of/open-03"]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_the_tree_counts_and_names_only_what_the_caller_may_see(api, bare, audience):
    """Every browse answer equals the one from an index without the hidden documents: the
    same nodes, counts, labels, items and neighbours."""
    for path in TREE_PATHS:
        resp = get(api, audience, path)
        assert resp.status_code == 200, path
        assert_clean(audience, resp)
        assert resp.json() == get(bare[audience], audience, path).json(), path
    missing = get(api, audience, "/api/tree?node=J998")
    for path in ("/api/tree?node=J999", "/api/tree?node=J999/0001", f"/api/tree/of/{SECRET['id']}"):
        resp = get(api, audience, path)
        assert resp.status_code == 404 and resp.json() == missing.json(), path
        assert_clean(audience, resp)
    # The reading-room item, item 4 of the 案卷, is a neighbour in the reading room only.
    after = get(api, audience, "/api/tree/of/open-02").json()["next"]["id"]
    assert after == (ROOM_ONLY["id"] if audience == Audience.reading_room else "open-03")
    staff = get(api, Audience.staff, "/api/tree").json()
    assert {c["code"] for c in staff["children"]} == {"J012", "J999"}


def _oai(client, audience, **params):
    import xml.etree.ElementTree as ET

    resp = get(client, audience, "/api/oai", params)
    assert resp.status_code == 200
    if audience != Audience.staff:  # the answer echoes the request
        assert_clean(audience, resp, sent=json.dumps(params, ensure_ascii=False))
    ns = {"o": "http://www.openarchives.org/OAI/2.0/"}
    root = ET.fromstring(resp.content)
    return resp, root, ns


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_oai_pmh_never_lists_or_names_a_hidden_document(api, bare, audience):
    for verb, extra in (("ListIdentifiers", {}), ("ListRecords", {}), ("ListSets", {}),
                        ("ListIdentifiers", {"set": "collection:archive"}), ("ListRecords", {"set": "fonds:J012"})):
        params = {"verb": verb, **({"metadataPrefix": "oai_dc"} if verb != "ListSets" else {}), **extra}
        _, root, ns = _oai(api, audience, **params)
        _, bare_root, _ = _oai(bare[audience], audience, **params)
        for element in ("o:header/o:identifier", "o:setSpec", "o:record/o:metadata"):
            got = sorted(e.findtext("o:identifier", default="", namespaces=ns) or ET_text(e)
                         for e in root.iter() if e.tag.endswith(element.split("/")[-1].split(":")[-1]))
            want = sorted(e.findtext("o:identifier", default="", namespaces=ns) or ET_text(e)
                          for e in bare_root.iter() if e.tag.endswith(element.split("/")[-1].split(":")[-1]))
            assert got == want, (params, element)
    _, missing, ns = _oai(api, audience, verb="GetRecord", identifier="oai:testserver:NO-SUCH-DOC-000",
                          metadataPrefix="oai_dc")
    hidden = [SECRET["id"]] + ([ROOM_ONLY["id"]] if audience == Audience.public else [])
    for doc_id in hidden:
        _, root, _ = _oai(api, audience, verb="GetRecord", identifier=f"oai:testserver:{doc_id}",
                          metadataPrefix="oai_dc")
        assert root.find("o:error", ns).attrib == missing.find("o:error", ns).attrib == {"code": "idDoesNotExist"}
    _, staff, _ = _oai(api, Audience.staff, verb="GetRecord", identifier=f"oai:testserver:{SECRET['id']}",
                       metadataPrefix="oai_dc")
    assert staff.find("o:GetRecord", ns) is not None


def ET_text(element) -> str:
    return "".join(element.itertext())


IIIF_PATHS = ["/api/iiif/{id}/manifest", "/api/iiif/{id}/image/1/info.json",
              "/api/iiif/{id}/image/1/full/max/0/default.jpg", "/api/iiif/{id}/image/1/0,0,10,10/5,/0/default.png",
              "/api/iiif/{id}/search?q=翡翠", "/api/iiif/{id}/search1?q=翡翠"]


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_iiif_and_permanent_links_of_hidden_documents_answer_like_missing_ones(api, audience):
    hidden = [(SECRET["id"], SECRET["archival_code"])] + (
        [(ROOM_ONLY["id"], ROOM_ONLY["id"])] if audience == Audience.public else [])
    for template in IIIF_PATHS + ["/a/{id}"]:
        missing = get(api, audience, template.format(id="NO-SUCH-DOC-000"))
        assert missing.status_code == 404
        for doc_id, code in hidden:
            for key in {doc_id, code}:
                resp = get(api, audience, template.format(id=key))
                assert resp.status_code == 404 and resp.json() == missing.json(), (template, key)
                assert_clean(audience, resp)
    for template in IIIF_PATHS:  # staff open the restricted scan
        assert get(api, Audience.staff, template.format(id=SECRET["id"])).status_code == 200, template
    resp = api.get(f"/a/{SECRET['archival_code']}", headers={"X-Chayue-Key": STAFF}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["cache-control"] == "no-store"


# -- access inherited from a closed 案卷, through the real indexer ----------------------------
CLOSED_MARKERS = ["封存标记", "FENGCUN"]


@pytest.fixture(scope="module")
def inherited(tmp_path_factory):
    """A manifest whose 案卷 J777-001-0009 is 控制 (restricted) and 0010 馆内查阅 (reading
    room); their items give no access of their own (one a scan, read by OCR), except one
    that says 开放. Only the indexer's inheritance keeps them closed."""
    from PIL import ImageDraw, ImageFont

    from indexer.cli import main

    root = tmp_path_factory.mktemp("inherited")
    files = root / "files"
    files.mkdir()
    scan = Image.new("L", (900, 300), 255)
    font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 48, index=2)
    ImageDraw.Draw(scan).text((40, 110), "封存标记扫描件湿地档案", font=font, fill=0)
    scan.save(files / "J777-001-0009-001.png")
    (files / "J777-001-0009-002.txt").write_text("封存标记正文：湿地保护档案。", encoding="utf-8")
    (files / "J777-001-0010-001.txt").write_text("阅览室内的湿地档案。", encoding="utf-8")
    (files / "J778-001-0001-001.txt").write_text("公开的湿地档案。", encoding="utf-8")
    (files / "J777-001-0009-003.txt").write_text("本件自行开放：湿地档案。", encoding="utf-8")
    (files / "目录.csv").write_text(
        "档号,题名,全宗号,层级,开放状态,馆藏类别\n"
        "J777-001-0009,封存标记案卷FENGCUN,J777 佳木斯市林业局,案卷,控制,开放档案\n"
        "J777-001-0010,阅览案卷,J777 佳木斯市林业局,案卷,馆内查阅,开放档案\n"
        "J777-001-0009-001,封存标记扫描件,J777 佳木斯市林业局,件,,开放档案\n"
        "J777-001-0009-002,封存标记正文,J777 佳木斯市林业局,件,,开放档案\n"
        "J777-001-0010-001,阅览室文件,J777 佳木斯市林业局,件,,开放档案\n"
        "J777-001-0009-003,自行开放的一件,J777 佳木斯市林业局,件,开放,开放档案\n"
        "J778-001-0001-001,公开文件,J778 公开全宗,件,开放,开放档案\n", encoding="utf-8")
    data = root / "data"
    assert main(["index", str(files), "--manifest", str(files / "目录.csv"), "--data", str(data), "--quiet"]) == 0
    with TestClient(create_app(Settings(data=data, staff_key=STAFF, reading_room_key=ROOM))) as c:
        yield c


@pytest.mark.parametrize("audience", [Audience.public, Audience.reading_room])
def test_a_closed_file_keeps_its_items_closed_on_every_surface(inherited, audience):
    scan, text, room = "J777-001-0009-001", "J777-001-0009-002", "J777-001-0010-001"
    staff = get(inherited, Audience.staff, f"/api/documents/{scan}").json()
    assert "封存标记" in "".join(p["text"] for p in staff["pages"])  # the scan was read
    assert staff["access"] == "restricted"
    closed = [scan, text] + ([room] if audience == Audience.public else [])
    search = get(inherited, audience, "/api/search", {"q": "湿地档案", "size": 50}).json()
    assert not {h["id"] for h in search["hits"]} & set(closed)
    surfaces = ["/api/tree", "/api/tree?node=J777", "/api/tree?node=J777/001", "/api/tree/of/J777-001-0009-003",
                "/api/oai?verb=ListRecords&metadataPrefix=oai_dc", "/api/oai?verb=ListSets",
                "/api/search?q=封存标记", "/api/search?q=湿地档案"]
    for path in surfaces:
        resp = get(inherited, audience, path)
        text_ = resp.content.decode()
        for marker in CLOSED_MARKERS:
            assert marker not in text_, (path, marker)
        for doc_id in closed:
            assert doc_id not in text_, (path, doc_id)
    tree = get(inherited, audience, "/api/tree", {"node": "J777/001"}).json()
    counts = {c["code"]: c["count"] for c in tree["children"]}
    assert counts == ({"0009": 1, "0010": 1} if audience == Audience.reading_room else {"0009": 1})
    for doc_id in closed:
        for path in (f"/api/documents/{doc_id}", f"/api/iiif/{doc_id}/manifest", f"/a/{doc_id}",
                     f"/api/iiif/{doc_id}/image/1/info.json", f"/api/tree/of/{doc_id}"):
            assert get(inherited, audience, path).status_code == 404, path
    assert get(inherited, Audience.staff, f"/api/iiif/{scan}/manifest").status_code == 200
