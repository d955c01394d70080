"""Questions ordered by meaning (analysis/meaning.py, api/meaning.py): the real model, real
vectors written by the real indexer, the real api. What a citizen notices: a question in
everyday words is answered by the law's article in the law's words, and nothing the caller
may not see is weighed, shown or counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from analysis import meaning
from api.app import create_app
from engine import Engine
from engine.embedded import open_embedded
from engine.model import Document, Page
from settings import Settings


@pytest.fixture(scope="module")
def model() -> meaning.Model:
    found = meaning.load()
    if found is None:
        pytest.fail(f"the meaning model is not at {meaning.model_dir()}: `make test` fetches it "
                    "(python -m analysis.meaning --fetch)", pytrace=False)
    return found


CHILD = ("中华人民共和国民法典", "第一千零八十五条",
         "离婚后，子女由一方直接抚养的，另一方应当负担部分或者全部抚养费。负担费用的多少和期限的长短，由双方协议；"
         "协议不成的，由人民法院判决。")
ARCHIVE = ("中华人民共和国档案法", "第二十七条",
           "县级以上各级档案馆的档案，应当自形成之日起满二十五年向社会开放。经济、教育、科技、文化等类档案，可以少于二十五年向社会开放。")


def test_a_question_in_everyday_words_is_closest_to_the_article_that_answers_it(model):
    articles = model.embed([meaning.passage_text(*CHILD), meaning.passage_text(*ARCHIVE)])
    child = model.question("离婚了孩子跟妈妈，爸爸要不要给钱")  # shares no word with the article but 离婚
    archive = model.question("档案馆的档案一般过多少年能给老百姓看")
    assert articles @ child @ np.array([1, -1]) > 0.05
    assert articles @ archive @ np.array([-1, 1]) > 0.05
    assert np.allclose(np.linalg.norm(articles, axis=1), 1, atol=1e-4)


def _doc(doc_id: str, title: str, text: str, access: str = "open") -> Document:
    return Document(id=doc_id, title=title, collection="current", access=access,
                    pages=[Page(number=1, text=text)])


def test_vectors_are_made_once_per_text_and_go_with_their_document(tmp_path, model):
    store = meaning.Vectors(tmp_path / "meaning.sqlite")
    law = _doc("law", "中华人民共和国档案法", "第一条 为了加强档案管理，制定本法。\n第二条 本法适用于档案工作。\n")
    assert store.put([law], model) == 2  # 第一条, 第二条
    assert store.put([law], model) == 0  # unchanged: not embedded again
    changed = _doc("law", law.title, law.pages[0].text + "第三条 档案馆应当开放档案。\n")
    assert store.put([changed], model) == 3
    assert store.get(["law"])["law"].shape == (3, meaning.DIM)
    store.delete(["law"])
    assert store.get(["law"]) == {}


@pytest.fixture(scope="module")
def data(tmp_path_factory, model) -> Path:
    """An index of three open laws' articles and a restricted file about the same matter, with
    their vectors, as the indexer writes them."""
    data = tmp_path_factory.mktemp("meaning-data")
    docs = [
        _doc("marriage", "中华人民共和国民法典婚姻家庭编",
             "第一条 为了调整婚姻家庭关系，制定本编。\n第一千零八十四条 父母与子女间的关系，不因父母离婚而消除。\n"
             "第一千零八十五条 " + CHILD[2] + "\n第一千零八十六条 离婚后，不直接抚养子女的父或者母，有探望子女的权利。\n"),
        _doc("archives", "中华人民共和国档案法",
             "第一条 为了加强档案管理，制定本法。\n第二十七条 " + ARCHIVE[2] + "\n第二十八条 档案馆应当公布开放档案目录。\n"),
        _doc("roads", "中华人民共和国道路交通安全法",
             "第一条 为了维护道路交通秩序，制定本法。\n第二条 孩子以后上学出行的交通安全，谁来负责，"
             "离婚登记处门前道路的停车，谁来管理，适用本法。\n"),
        _doc("secret", "绝密：某离婚案件抚养费调解记录",
             "第一条 离婚后孩子的抚养费由父亲每月给付。\n第二条 本记录不公开。\n", access="restricted"),
    ]
    engine = Engine(open_embedded(data, writable=True))
    engine.upsert(docs)
    store = meaning.Vectors(data / "meaning.sqlite")
    store.put(docs, model)
    store.close()
    engine.commit()
    engine.close()
    return data


def _search(data: Path, q: str, meaning: bool = True, **settings) -> dict:
    with TestClient(create_app(Settings(data=data, staff_key="staff-secret", meaning=meaning, **settings))) as c:
        r = c.get("/api/search", params={"q": q})
        assert r.status_code == 200, r.text
        return r.json()


QUESTION = "离婚以后孩子的抚养费谁来出？"


def test_the_question_finds_the_answering_law_first_and_its_article_as_the_answer(data):
    body = _search(data, QUESTION)
    assert body["reading"]["question"]
    assert body["hits"][0]["id"] == "marriage"
    assert (body["answers"][0]["id"], body["answers"][0]["label"]) == ("marriage", "第一千零八十五条")
    scores = [h["score"] for h in body["hits"]]  # each hit's closest passage's closeness
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    # By words alone, the law on roads (孩子, 以后, 谁来, 离婚 in one article) comes first.
    words = _search(data, QUESTION, meaning=False)
    assert words["hits"][0]["id"] == "roads"
    assert {h["id"] for h in words["hits"]} == {h["id"] for h in body["hits"]}
    assert words["total"] == body["total"]


def test_a_restricted_document_is_never_weighed_for_the_public(data):
    body = _search(data, QUESTION)
    shown = [h["id"] for h in body["hits"]] + [a["id"] for a in body["answers"]]
    assert "secret" not in shown and "绝密" not in str(body)
    assert body["total"] == _search(data, QUESTION, meaning=False)["total"]
    with TestClient(create_app(Settings(data=data, staff_key="staff-secret", meaning=True))) as c:
        staff = c.get("/api/search", params={"q": QUESTION}, headers={"X-Chayue-Key": "staff-secret"}).json()
    assert "secret" in [h["id"] for h in staff["hits"]]


def test_pages_of_a_question_show_each_hit_once(data):
    with TestClient(create_app(Settings(data=data, meaning=True))) as c:
        pages = [c.get("/api/search", params={"q": QUESTION, "size": 1, "page": n}).json() for n in (1, 2, 3, 4)]
    ids = [h["id"] for p in pages for h in p["hits"]]
    assert len(ids) == len(set(ids)) == pages[0]["total"] >= 2
    assert ids[0] == "marriage"


def test_a_question_read_by_meaning_waits_for_an_expensive_place(data):
    """Admission judges a question by its real cost: read by the model and a hundred hits
    weighed, it takes one of the expensive places, so a flood of questions leaves the cheap
    searches answering; read by words alone it is as cheap as its words."""
    one = dict(max_expensive=1, expensive_queue=0)
    with TestClient(create_app(Settings(data=data, meaning=True, **one))) as c:
        assert c.get("/api/search", params={"q": QUESTION}).status_code == 200  # its places are made
        admission = c.app.state.admission
        c.portal.call(admission.enter)  # the only expensive place is taken
        try:
            assert c.get("/api/search", params={"q": QUESTION}).status_code == 503
            assert c.get("/api/search", params={"q": "抚养费"}).status_code == 200
        finally:
            c.portal.call(admission.leave)
        assert c.get("/api/search", params={"q": QUESTION}).status_code == 200
    with TestClient(create_app(Settings(data=data, meaning=False, **one))) as c:
        thirteen = " ".join(f"词{i}" for i in range(13))  # expensive by its words: makes the places
        assert c.get("/api/search", params={"q": thirteen}).status_code == 200
        c.portal.call(c.app.state.admission.enter)
        assert c.get("/api/search", params={"q": QUESTION}).status_code == 200
