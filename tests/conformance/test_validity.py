"""Validity over time and versions on every backend: `valid_on`, the relation facet and one
hit per document give the sets worked out straight from the laws' own dates and titles
(not from indexer/relations.py), for every audience."""

from __future__ import annotations

import re
from datetime import date

import pytest

from engine import Engine
from engine.model import ACCESS_FOR, Audience, Document, Page
from engine.query import MatchAll, SearchSpec
from engine.validity import LATEST_VERSIONS, RELATION_FACET, other_versions, valid_on
from indexer import relations as R
from tests.inputs import laws as all_laws
from tests.conformance.engines import BACKENDS, engine_for

DAYS = [date(1985, 1, 1), date(1996, 1, 1), date(2010, 1, 1), date(2016, 6, 1), date(2021, 1, 1),
        date(2026, 6, 1), date(2026, 8, 15), date(2026, 12, 1), date(2027, 6, 1)]
# Access spread so that versions and counts are checked under the filter: the former 仲裁法
# and one repealed law are for the reading room, a restricted law sits among the rest.
ACCESS = {"de6142b062cb": "reading_room", "4fa69671e3b4": "reading_room", "0e235668417f": "restricted"}


def _day(value):
    return date.fromisoformat(value) if value else None


def _rows() -> list[dict]:
    rows = all_laws()
    titles = {}
    for r in rows:
        titles.setdefault(r["title"], []).append(r)
    code = next(r for r in rows if r["title"] == "中华人民共和国生态环境法典")
    chosen = [r for r in rows if r["validity"] != "现行有效" or len(titles[r["title"]]) > 1
              or "修正案" in r["title"] or r is code]
    chosen += [r for r in rows if r not in chosen][:25]
    return chosen


def _documents(rows: list[dict]) -> list[Document]:
    items = [R.Item(r["id"], r["title"], date=_day(r["publish_date"]), effective=_day(r["effective_date"]),
                    validity=r["validity"], access=ACCESS.get(r["id"], "open"),
                    relations=R.extract(r["title"], re.sub(r"\s+", "", r["text"]),
                                        _day(r["effective_date"]) or _day(r["publish_date"])))
             for r in rows]
    _, derived = R.link(items)
    docs = []
    for r, item in zip(rows, items):
        text = r["text"][:300]
        doc = Document(id=r["id"], collection="current", title=r["title"], pages=[Page(1, text)],
                       date=item.date, validity=r["validity"], effective=item.effective, access=item.access,
                       relations=[x.to_json() for x in item.relations])
        R.apply(doc, item, derived[r["id"]])
        docs.append(doc)
    return docs


def _truth(rows: list[dict]) -> dict[str, dict]:
    """Per law: first day in force, first day no longer, and what a reader sees of it, from
    the corpus columns and the 同时废止 sentences alone."""
    by_title: dict[str, list[dict]] = {}
    for r in rows:
        by_title.setdefault(r["title"], []).append(r)
    repeal_clauses = [(other, clause) for other in rows for clause in re.findall(r"([^。；\n]*)同时废止", other["text"])]
    out = {}
    for r in rows:
        end, flags, former = None, set(), False
        newer = [x for x in by_title[r["title"]] if x["validity"] == "现行有效" and x is not r]
        if r["validity"] == "历史版本" and newer:
            end, former = _day(newer[0]["effective_date"]), True
            flags.add("已被替代")
        for other, clause in repeal_clauses:
            if f"《{r['title']}》" in clause and other is not r:
                end = _day(other["effective_date"])
                flags.add("已被废止")
        if "修正案" not in r["title"] and any(x["title"].startswith(r["title"] + "修正案") for x in rows):
            flags.add("被修改过")
        out[r["id"]] = {"start": _day(r["effective_date"]) or _day(r["publish_date"]), "end": end,
                        "no_end": r["validity"] != "现行有效" and end is None, "flags": flags, "former": former,
                        "access": ACCESS.get(r["id"], "open"), "title": r["title"]}
    return out


@pytest.fixture(scope="module")
def laws():
    rows = _rows()
    return rows, _truth(rows)


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request, laws, tmp_path_factory) -> Engine:
    rows, _ = laws
    e = engine_for(request.param, tmp_path_factory, _documents(rows), "validity")
    yield e
    e.close()


def _visible(truth: dict[str, dict], audience: Audience) -> dict[str, dict]:
    return {i: t for i, t in truth.items() if t["access"] in ACCESS_FOR[audience]}


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_valid_on_gives_the_laws_in_force_that_day(engine, laws, day):
    _, truth = laws
    for audience in Audience:
        expected = {i for i, t in _visible(truth, audience).items()
                    if t["start"] <= day and not t["no_end"] and (t["end"] is None or day < t["end"])}
        spec = SearchSpec(query=MatchAll(), filters={"valid_on": valid_on(day)}, size=1000)
        res = engine.search(spec, audience)
        assert {h.id for h in res.hits} == expected, (day, audience)
        assert res.total == len(expected)


def test_the_environment_code_ends_the_laws_it_repeals_on_its_first_day(engine, laws):
    _, truth = laws
    repealed = {i for i, t in truth.items() if "已被废止" in t["flags"] and t["access"] == "open"}
    assert len(repealed) == 4  # 环境保护法, 环境影响评价法, 大气污染防治法, 固体废物污染环境防治法
    before = {h.id for h in engine.search(SearchSpec(query=MatchAll(), filters={"v": valid_on(date(2026, 8, 14))},
                                                     size=1000), Audience.public).hits}
    after = {h.id for h in engine.search(SearchSpec(query=MatchAll(), filters={"v": valid_on(date(2026, 8, 15))},
                                                    size=1000), Audience.public).hits}
    assert repealed <= before and not repealed & after


def test_relation_facet_counts_what_points_at_each_law(engine, laws):
    _, truth = laws
    for audience in Audience:
        visible = _visible(truth, audience)
        res = engine.search(SearchSpec(query=MatchAll(), size=0, facets=(RELATION_FACET,)), audience)
        counts = {v.value: v.count for v in res.facets[RELATION_FACET]}
        for flag in ("已被废止", "已被替代", "被修改过"):
            assert counts.get(flag, 0) == sum(flag in t["flags"] for t in visible.values()), (flag, audience)


def test_one_hit_per_document_with_its_other_versions_counted(engine, laws):
    _, truth = laws
    for audience in Audience:
        visible = _visible(truth, audience)
        spec = SearchSpec(query=MatchAll(), filters={"validity": LATEST_VERSIONS}, size=1000,
                          fields=("id", "title", "version_group"))
        hits = engine.search(spec, audience).hits
        assert {h.id for h in hits} == {i for i, t in visible.items() if not t["former"]}, audience
        counts = other_versions(engine, [h.fields["version_group"] for h in hits], audience)
        for h in hits:
            same = [t for i, t in visible.items() if t["title"] == h.fields["title"] and i != h.id]
            assert counts.get(h.fields["version_group"], 0) == len(same), (h.fields["title"], audience)
    # The former 仲裁法 is for the reading room: the public sees no other version of it.
    arbitration = next(i for i, t in truth.items() if t["title"] == "中华人民共和国仲裁法" and not t["former"])
    group = engine.get(arbitration, Audience.staff)["version_group"]
    assert other_versions(engine, [group], Audience.public) == {}
    assert other_versions(engine, [group], Audience.reading_room) == {group: 1}
