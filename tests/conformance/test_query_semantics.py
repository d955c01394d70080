"""Query semantics of the search box, per backend: what a query finds is checked against the
brute-force answers of tests/corpus.py; how it ranks (title over body, whole words over
bigrams, exact 文号 first, tie-breaks) against a small corpus built so the order is known."""

from __future__ import annotations

import random
from datetime import date

import pytest

from engine import Engine, syntax
from engine.base import NO_LONGER_VALID, TIEBREAK, access_filter
from engine.model import Audience, Document, Page
from engine.query import Bool, SearchSpec
from tests import corpus
from tests.conformance.engines import BACKENDS, engine_for, engines_with

ALL = 10_000


def ids(engine: Engine, q: str, audience: Audience = Audience.public, **kw) -> list[str]:
    spec = SearchSpec(query=syntax.to_node(syntax.parse(q)), size=ALL, **kw)
    return [h.id for h in engine.search(spec, audience).hits]


# -- what matches: against the brute-force answers ------------------------------------------

@pytest.mark.parametrize("simplified, other", [
    ("档案法", "檔案法"),            # traditional script
    ("环境保护", "環境保護"),
    ("人民法院", "人民法院"),        # full-width letters and digits fold too (below)
])
def test_traditional_script_finds_what_simplified_finds(backend, simplified, other):
    assert set(ids(backend, other)) == set(ids(backend, simplified)) == corpus.containing(simplified, Audience.public)


def test_full_width_query_finds_what_half_width_finds(backend):
    assert ids(backend, "２０１８") == ids(backend, "2018")
    assert ids(backend, "＂档案 管理＂") == ids(backend, '"档案 管理"')
    assert ids(backend, "环境　－海洋") == ids(backend, "环境 -海洋")  # ideographic space, full-width minus


def test_phrase_in_curly_quotes_is_a_phrase(backend):
    assert set(ids(backend, "“人民 法院”", Audience.staff)) == corpus.containing("人民法院", Audience.staff)


@pytest.mark.parametrize("term", ["保护", "档案", "环境"])
def test_title_field_finds_exactly_the_titles_containing_it(backend, term):
    for audience in Audience:
        assert set(ids(backend, f"标题:{term}", audience)) == corpus.title_containing(term, audience)
    # Field names in traditional script and English mean the same.
    assert set(ids(backend, f"標題:{term}")) == set(ids(backend, f"title:{term}")) == set(ids(backend, f"标题:{term}"))


def test_agency_field_finds_the_agency(backend):
    for value in ("全国人民代表大会常务委员会", "全国人民代表大会", "全國人民代表大會"):
        assert set(ids(backend, f"机关:{value}")) == corpus.with_agency_or_title(value, Audience.public)


def test_year_field_single_year_range_and_reversed_range(backend):
    assert set(ids(backend, "年份:2018")) == corpus.in_years(2018, 2018, Audience.public)
    assert set(ids(backend, "年份:2001-2010")) == corpus.in_years(2001, 2010, Audience.public)
    assert set(ids(backend, "年份:2010-2001")) == corpus.in_years(2001, 2010, Audience.public)
    both = corpus.in_years(2018, 2018, Audience.public) & corpus.containing("环境", Audience.public)
    assert set(ids(backend, "环境 年份:2018")) == both


def test_excluding_a_year_keeps_the_other_years(backend):
    env = corpus.containing("环境", Audience.public)
    assert set(ids(backend, "环境 -年份:2018")) == env - corpus.in_years(2018, 2018, Audience.public)


def test_or_of_a_field_and_a_word(backend):
    expected = corpus.title_containing("档案", Audience.public) | corpus.containing("海洋", Audience.public)
    assert set(ids(backend, "标题:档案 OR 海洋")) == expected


@pytest.mark.parametrize("q", [
    '"unbalanced', 'OR', 'OR OR', '-', '--', '标题:', '文号:', '机关:', '年份:', '年份:abc', '年份:99999',
    ':', '((档案', '档案))', '*', '?', '\\', '"""', '""', '-""', 'AND OR NOT', '机关:国', '机关:a', '标题:"',
    '文号:[2007]', '佳政发[', '〔2007〕', '[]', '-年份:2018-', 'a' * 200, '档' * 200, '\x00', '\u200b',
    '𠀀𠀁', '🙂', 'title:', 'TITLE:档案', '年份:2001-2007-2009', '"档案" OR', '- 档案',
])
def test_bad_syntax_is_never_an_error(backend, q):
    """Whatever the box holds becomes a query that runs; syntax it cannot read is words."""
    for audience in (Audience.public, Audience.staff):
        res = backend.search(SearchSpec(query=syntax.to_node(syntax.parse(q)), size=5,
                                        facets=("agency", "year")), audience)
        assert res.total >= 0


def test_unreadable_syntax_degrades_to_words(backend):
    # An unbalanced quote is dropped; the words still count.
    assert set(ids(backend, '"人民 法院', Audience.staff)) == set(ids(backend, "人民 法院", Audience.staff))
    # A field name that is not one is a word.
    assert set(ids(backend, "年份:abc")) == set(ids(backend, "年份 abc"))


def test_title_matches_rank_above_body_matches(backend):
    for term in ("保护", "档案"):
        in_title = corpus.title_containing(term, Audience.public)
        found = ids(backend, term)
        assert in_title and set(found[:len(in_title)]) == in_title, term


def test_membership_is_the_same_for_every_audience(backend):
    """The public finds what staff find, less what the public may not see. The order may
    differ: each audience is ranked by the statistics of its own documents only (the public
    ranking is that of an index without the hidden documents: tests/test_access_tiers.py)."""
    public = {d.id for d in corpus.visible(Audience.public)}
    staff = ids(backend, "法院 OR 环境", Audience.staff)
    assert sorted(ids(backend, "法院 OR 环境", Audience.public)) == sorted(i for i in staff if i in public)


# -- how it ranks: a small corpus built so the order is known ------------------------------------

def _doc(id: str, title: str, body: str, *, year: int = 2020, validity: str | None = "现行有效",
         doc_number: str | None = None, collection: str = "current") -> Document:
    return Document(id=id, collection=collection, title=title, pages=[Page(1, body)], doc_number=doc_number,
                    agency=["测试市人民政府"], date=date(year, 6, 1), validity=validity, access="open")


FILLER = "本文件自发布之日起施行。各单位应当认真贯彻落实，结合实际制定具体措施。"
RANKING_DOCS = (
    # whole word beats bigram: 会计 is a word in w1, only a bigram (开会|计划) in w2
    _doc("w1", "关于加强财务工作的意见", FILLER + "会计工作由各单位负责。" + FILLER),
    _doc("w2", "关于加强财务工作的办法", FILLER + "开会计划由各单位负责。" + FILLER),
    # title beats body
    _doc("t1", "关于湿地的通知", FILLER + FILLER),
    _doc("t2", "关于开展工作的通知", FILLER + "湿地湿地湿地湿地湿地湿地。" + FILLER),
    # exact 文号 first, even against a document that cites it over and over
    _doc("n1", "关于调整补助标准的通知", FILLER, doc_number="佳政发〔2007〕12号"),
    _doc("n2", "佳政发〔2007〕12号的解读", ("根据佳政发〔2007〕12号，" * 8) + FILLER),
    # equal relevance: in force before repealed, then newer before older, archives in between
    _doc("e_valid_2021", "关于候鸟保护的规定", FILLER, year=2021),
    _doc("e_valid_2019", "关于候鸟保护的规定", FILLER, year=2019),
    _doc("e_valid_1998", "关于候鸟保护的规定", FILLER, year=1998),
    _doc("e_repealed_2022", "关于候鸟保护的规定", FILLER, year=2022, validity="已废止"),
    _doc("e_history_2020", "关于候鸟保护的规定", FILLER, year=2020, validity="历史版本"),
    _doc("e_archive_2000", "关于候鸟保护的规定", FILLER, year=2000, validity=None, collection="archive"),
)


ranking = engines_with(RANKING_DOCS, "ranking")


def test_whole_word_ranks_above_bigram(ranking):
    assert ids(ranking, "会计") == ["w1", "w2"]


def test_title_match_ranks_above_body_match(ranking):
    assert ids(ranking, "湿地") == ["t1", "t2"]


@pytest.mark.parametrize("q", ["佳政发[2007]12号", "佳政发〔2007〕12号", "佳政发（2007）12号", "佳政发(2007)第12号",
                               "佳政发 [2007] 12号", "佳政發〔2007〕12號", "文号:佳政发[2007]12号"])
def test_doc_number_in_any_bracket_style_ranks_that_document_first(ranking, q):
    assert ids(ranking, q)[0] == "n1"


def test_equal_relevance_puts_documents_in_force_first_then_newer(ranking):
    order = ids(ranking, "候鸟")
    assert order == ["e_valid_2021", "e_valid_2019", "e_archive_2000", "e_valid_1998",
                     "e_repealed_2022", "e_history_2020"]


def test_empty_query_orders_by_the_same_tie_breaks(ranking):
    order = ids(ranking, "")
    assert order.index("e_valid_2021") < order.index("e_valid_2019") < order.index("e_valid_1998")
    assert order.index("e_valid_1998") < order.index("e_repealed_2022")


# -- the tie-break over many near-equal scores: the same order as the bonus written into the query --

def _near_tie_docs() -> list[Document]:
    """A word in every document (so its score differs only by the length of the text, less than
    the bonus), in every year class (none, before 1950, within, after 2035) and validity."""
    rng = random.Random(7)
    docs = []
    for i in range(300):
        year = rng.choice([None, 1940, 1950, 1990, 2001, 2019, 2020, 2021, 2035, 2036, 2040])
        validity = rng.choice([None, "现行有效", "已修改", "已废止", "失效", "历史版本"])
        body = FILLER + "候鸟迁徙" + "各地区各部门" * (i % 13) + FILLER
        docs.append(Document(id=f"m{i:03d}", collection="current", title=f"关于第{i}号事项的通知",
                             pages=[Page(1, body)], agency=["测试市人民政府"], validity=validity,
                             date=date(year, 6, 1) if year else None, access="open"))
    return docs


near_ties = engines_with(_near_tie_docs(), "near_ties")


def _with_bonus_in_query(engine: Engine, q: str, **kw) -> list[tuple[str, float]]:
    """The ranking as the tie-break's definition gives it: its clauses as should clauses of the query."""
    spec = SearchSpec(query=Bool(must=(syntax.to_node(syntax.parse(q)),), should=TIEBREAK),
                      filters={"_access": access_filter(Audience.public)}, **kw)
    return [(h.id, h.score) for h in engine.backend.execute(spec).hits]


def _ranked(engine: Engine, q: str, **kw) -> list[tuple[str, float]]:
    spec = SearchSpec(query=syntax.to_node(syntax.parse(q)), **kw)
    return [(h.id, h.score) for h in engine.search(spec, Audience.public).hits]


@pytest.mark.parametrize("q", ["候鸟", "", "年份:2019-2021", "候鸟 -年份:2020", "迁徙 OR 第7号"])
@pytest.mark.parametrize("offset, size", [(0, 10), (0, 1), (25, 10), (290, 20), (0, ALL)])
def test_tie_break_order_and_scores_are_those_of_the_bonus_clauses(near_ties, q, offset, size):
    expected = _with_bonus_in_query(near_ties, q, size=ALL)
    assert len(expected) > 50
    assert _ranked(near_ties, q, offset=offset, size=size) == expected[offset:offset + size]


def test_cursor_pages_through_near_ties_in_tie_break_order(near_ties):
    seen: list[tuple[str, float]] = []
    after = None
    while True:
        spec = SearchSpec(query=syntax.to_node(syntax.parse("候鸟")), size=37, search_after=after)
        hits = near_ties.search(spec, Audience.public).hits
        if not hits:
            break
        seen += [(h.id, h.score) for h in hits]
        after = hits[-1].sort
    assert seen == _with_bonus_in_query(near_ties, "候鸟", size=ALL)


def test_newer_documents_in_force_lead_among_near_ties(near_ties):
    top = near_ties.search(SearchSpec(query=syntax.to_node(syntax.parse("候鸟")), size=10), Audience.public).hits
    docs = {d.id: d for d in _near_tie_docs()}
    assert all(docs[h.id].validity not in NO_LONGER_VALID and (docs[h.id].year or 0) >= 2035 for h in top)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_document_repealed_after_indexing_drops_below_those_in_force(kind, tmp_path_factory):
    docs = [_doc("a", "关于候鸟保护的规定", FILLER, year=2021), _doc("b", "关于候鸟保护的规定", FILLER, year=2019)]
    engine = engine_for(kind, tmp_path_factory, docs, "repealed")
    try:
        assert ids(engine, "候鸟") == ["a", "b"]
        engine.upsert([_doc("a", "关于候鸟保护的规定", FILLER, year=2021, validity="已废止")])
        engine.commit()
        assert ids(engine, "候鸟") == ["b", "a"]
    finally:
        engine.close()


# -- queries as people type them ------------------------------------------------------------------

def test_text_cut_anywhere_finds_every_document_holding_it_first(backend):
    """A fragment copied from a document, cut mid-word at both ends, finds every visible
    document that holds it, and one of them first (the bigrams carry it, whatever jieba makes
    of the cut ends)."""
    rng = random.Random(12)
    docs = corpus.visible(Audience.public)
    for _ in range(40):
        line = max(rng.choice(rng.choice(docs).pages).text.split("\n"), key=len).replace("\u3000", "")
        n = rng.randint(6, 20)
        start = rng.randrange(0, max(1, len(line) - n))
        q = line[start:start + n]
        expected = corpus.containing(q, Audience.public)
        assert expected
        found = ids(backend, q)
        assert expected <= set(found), q
        assert found[0] in expected, q


def test_a_passage_typed_in_pieces_finds_the_document_holding_it_whole_first(typed):
    assert ids(typed, "档案信息化建设，推进 数字档案馆建设")[:2] == ["p_whole", "p_apart"]
    # a last piece of one character cut from its word (拍 of 拍卖) still finds it
    assert ids(typed, "数字档案馆建设。 拍")[0] == "p_whole"


def test_one_misread_character_still_finds_the_scan_below_the_exact_text(typed):
    for q in ("执行文件材料归档制度", "行文件材料归", "严格执行文件材料归档制度，任何单位"):
        found = ids(typed, q)
        assert found[:2] == ["x_exact", "x_scan"], q
        if len(q) > 6:  # two characters misread within it: not the same text any more
            assert "x_noise" not in found, q


def test_orders_are_found_by_either_name_of_their_issuer(typed):
    for q in ("国务院令第706号", "国令第706号", "中华人民共和国国务院令第706号", "国务院令706号", "文号:国令第706号"):
        assert ids(typed, q)[0] == "o_long", q
    for q in ("国令第707号", "国务院令第707号"):
        assert ids(typed, q)[0] == "o_short", q


@pytest.mark.parametrize("q", ["国办发2019年3号", "国办发2019年第3号", "国办发〔2019年〕3号", "国办发 2019 3号",
                               "国办发【2019】3号", "国办发〔2019〕3", "国办发［２０１９］３号", "国办发〔二〇一九〕三号",
                               "国办发[2019]第3号", "國辦發〔2019〕3號"])
def test_doc_number_as_people_type_it_ranks_that_document_first(typed, q):
    assert ids(typed, q)[0] == "s03"


def test_a_doc_number_series_lists_its_documents_by_number(typed):
    for q in ("国办发〔2019〕", "国办发[2019]", "国办发2019年", "文号:国办发〔2019〕"):
        assert ids(typed, q)[:5] == ["s01", "s02", "s03", "s10", "s12"], q


def test_other_names_are_searched_a_little_below_the_words_typed(typed):
    from analysis.abbreviations import names_for

    names = names_for(None)
    found = [h.id for h in typed.search(SearchSpec(query=syntax.to_node(syntax.parse("国办 幼儿园", names)),
                                                   size=ALL), Audience.public).hits]
    assert found == ["g_typed", "g_full"]
    assert ids(typed, "国办 幼儿园") == ["g_typed"]  # without the names: only what was typed
    parsed = syntax.parse("个税法", names)
    assert parsed.expansions() == [("个税法", ("个人所得税法",))]
    found = [h.id for h in typed.search(SearchSpec(query=syntax.to_node(parsed), size=ALL), Audience.public).hits]
    assert found[0] == "a_full"


def test_a_doc_number_one_character_off_is_offered_instead(typed):
    field, node = syntax.did_you_mean(syntax.parse("国办发〔2019〕13号"))
    assert field == "doc_number"
    found = {h.id for h in typed.search(SearchSpec(query=node, size=ALL), Audience.public).hits}
    assert found == {"s01", "s03", "s10", "s12"}  # 1, 3, 10, 12: one edit from 13; 2 is two
    field, node = syntax.did_you_mean(syntax.parse("个人所得锐法"))  # 税 misread as 锐
    assert field == "title"
    assert [h.id for h in typed.search(SearchSpec(query=node, size=ALL), Audience.public).hits] == ["a_full"]


TYPED_DOCS = (
    _doc("p_whole", "关于档案工作的通知", FILLER + "加强档案信息化建设，推进数字档案馆建设。拍卖" + FILLER),
    _doc("p_apart", "关于信息工作的通知", "推进数字档案馆建设。" + FILLER * 3 + "加强档案信息化建设。" + FILLER),
    _doc("x_exact", "关于档案归档的规定", FILLER + "严格执行文件材料归档制度，任何单位" + FILLER, year=2001),
    _doc("x_scan", "关于档案归档的规定（扫描件）", FILLER + "严格执行文信材料归档制度，任何单位" + FILLER, year=2021,
         collection="archive"),
    _doc("x_noise", "关于档案归档的规定（草稿）", FILLER + "严格执行文信材料归对制度，任何革位" + FILLER),
    _doc("o_long", "专利代理条例", FILLER, doc_number="国务院令第706号"),
    _doc("o_short", "关于修改部分行政法规的决定", FILLER, doc_number="国令第707号"),
    *(_doc(f"s{n:02d}", f"关于第{n}项工作的通知", FILLER, doc_number=f"国办发〔2019〕{n}号") for n in (12, 3, 10, 1, 2)),
    _doc("s_other", "关于另一项工作的通知", FILLER, doc_number="国办发〔2018〕5号"),
    _doc("g_typed", "国办关于幼儿园的通知", FILLER + "幼儿园" + FILLER),
    _doc("g_full", "国务院办公厅关于幼儿园的通知", FILLER + "幼儿园" + FILLER),
    _doc("a_full", "中华人民共和国个人所得税法", FILLER),
)


typed = engines_with(TYPED_DOCS, "typed")


APART_DOCS = (
    _doc("k_side", "关于工作的通知", FILLER + "加强安全监督，落实责任。" + FILLER),
    _doc("k_apart", "关于工作的意见", "安全第一，安全为本。" + FILLER + "监督检查，监督到位。" + FILLER),  # more often
    _doc("k_title", "关于安全监督的意见", FILLER + "安全工作。" + FILLER + "监督检查。" + FILLER),
)


apart = engines_with(APART_DOCS, "apart")


def test_words_typed_apart_rank_the_document_holding_them_side_by_side_first(apart):
    """In bodies, words typed apart count as side by side where the bigram across the gap is
    there (全监): a document holding 方案管理 and 档案 elsewhere counts for 档案 管理 as well
    (engine/syntax.py _adjacent). In titles, and for a passage, the phrase."""
    assert ids(apart, "安全 监督") == ["k_title", "k_side", "k_apart"]


# -- a question or keywords typed together, read as words ---------------------------------

READING_DOCS = (
    _doc("k_together", "关于档案开放的通知", FILLER + "推进档案开放，方便群众利用。" + FILLER),
    _doc("k_apart", "关于档案工作的意见", FILLER + "档案工作要适应形势。" + FILLER + "逐步开放历史资料。" + FILLER),
    _doc("k_one", "关于档案保管的意见", FILLER + "档案保管要安全。" + FILLER * 2),
    _doc("q_answer", "农村土地承包合同管理办法", FILLER + "第十条　承包合同违反民主议定程序的，该承包合同无效。" + FILLER),
    _doc("q_title", "关于承包合同效力的规定", FILLER + "合同的订立应当遵循法定程序。" + FILLER),
    _doc("q_some", "关于民主管理的意见", FILLER + "村务实行民主管理。" + FILLER * 2),
    _doc("q_none", "关于会议安排的通知", FILLER * 3),
)
reading = engines_with(READING_DOCS, "reading")


def test_keywords_typed_together_find_them_apart_too_below_those_side_by_side(reading):
    # Read exactly, 档案开放 finds only the document holding it as typed.
    exact = [h.id for h in reading.search(SearchSpec(query=syntax.to_node(syntax.parse("档案开放", reading="exact")),
                                                     size=ALL), Audience.public).hits]
    assert exact == ["k_together"]
    assert ids(reading, "档案开放") == ["k_together", "k_apart"]  # all the words must be there, apart or not


def test_a_question_finds_what_holds_its_words_not_all_of_them(reading):
    q = "违反民主议定程序的承包合同是否有效？"
    parsed = syntax.parse(q)
    assert parsed.reading == "words" and parsed.question
    assert "是否" not in parsed.keywords and "的" not in parsed.keywords
    found = ids(reading, q)
    # More of the words, and words side by side, rank first; one word (民主) is enough to be found.
    assert found[0] == "q_answer"
    assert set(found) == {"q_answer", "q_title", "q_some"}
    exact = [h.id for h in reading.search(SearchSpec(query=syntax.to_node(syntax.parse(q, reading="exact")),
                                                     size=ALL), Audience.public).hits]
    # The question as one phrase (what every question was before) finds at most the document
    # holding half of it whole.
    assert set(exact) <= {"q_answer"}


def test_words_in_a_title_rank_above_the_same_words_in_a_body(reading):
    found = ids(reading, "承包合同的效力怎么认定")
    assert found.index("q_title") < found.index("q_answer")
