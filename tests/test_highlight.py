"""Match marks on pages as the index saw them: the fast paths (a few str.replace calls, gaps
dropped without per-character offsets, prepared pages kept) mark exactly what the
character-by-character reading marks."""

from __future__ import annotations

import random
import re

from analysis.normalize import CJK_GAP
from api import highlight
from engine import syntax
from api.highlight import _NFKC, _PreparedPages, _prepare, _prepare_slowly, find_spans, snippets


def marked(text: str, terms: list[str]) -> list[str]:
    return [text[s:e] for s, e in find_spans(text, terms)]


def test_traditional_page_is_marked_for_a_simplified_query():
    assert marked("國家檔案館藏有檔案三萬卷", ["档案馆", "档案"]) == ["檔案館", "檔案"]


def test_full_width_upper_case_and_wrapped_words_are_marked_in_the_original():
    assert marked("见ＡＢＣ文件，档\n  案馆开放。", ["abc", "档案馆"]) == ["ＡＢＣ", "档\n  案馆"]


def test_page_with_many_distinct_full_width_characters_is_normalised_like_one_with_few():
    text = "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ：档案"
    assert len(set(highlight._OTHERS.findall(text))) > highlight._FEW
    assert highlight._nfkc(text) == text.translate(_NFKC)
    assert marked(text, ["xyz", "档案"]) == ["ＸＹＺ", "档案"]


def test_characters_that_widen_take_the_slow_path_and_still_map_back():
    text = "㈠档案……第①条"
    assert highlight._normalized(text) is None
    assert marked(text, ["(一)档案", "1条"]) == ["㈠档案", "①条"]


def test_characters_assumed_unchanged_are_unchanged_by_nfkc():
    ranges = re.findall(r"(.)(?:-(.))?", highlight._UNCHANGED, re.S)
    chars = [chr(c) for a, b in ranges for c in range(ord(a), ord(b or a) + 1)]
    assert len(chars) > 27_000
    assert [ch for ch in chars if _NFKC[ord(ch)] != ch] == []


def test_gaps_are_dropped_only_between_chinese_characters():
    # The one pattern the analysis and the snippets share (written for speed: checked here).
    cases = {"中 \n文": "中文", "中\n a": "中\n a", "a \n b": "a \n b", "中 \t\n 文 文\n\nx": "中文文\n\nx",
             " 中": " 中", "中 ": "中 ", "\n\n中\n": "\n\n中\n", "中\u3000文": "中文", "豈 更": "豈更"}
    for text, expected in cases.items():
        assert CJK_GAP.sub("", text) == expected, text


def test_fast_and_slow_preparation_agree_on_random_pages():
    alphabet = list("档案馆管理條例國家檔案館 \n\t\u3000，。；ＡＢａｂAbc①ﬁ\u200bé\u0301𠀀İ")
    rnd = random.Random(7)
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        fast, slow = _prepare(text), _prepare_slowly(text)
        if highlight._normalized(text) is not None:
            assert fast.norm == slow.norm
            assert [fast.original(i) for i in range(len(fast.norm))] == slow.index


def test_prepared_pages_stay_within_their_budget_and_answer_like_a_fresh_preparation():
    pages = _PreparedPages(budget=100, largest=60)
    texts = [f"第{i}页 档案\n馆" * 3 for i in range(20)]
    for text in texts + texts[::-1]:
        assert pages.get(text) == _prepare(text)
        assert pages.chars <= 100
    big = "档案" * 40
    assert pages.get(big) == _prepare(big) and big not in pages._pages


def test_snippets_are_the_same_whether_pages_were_prepared_before_or_not():
    pages = ["國家檔案館\n藏有檔案。" * 20, "档案管理办法，第一条。" * 30]
    highlight.PREPARED.clear()
    cold = snippets(pages, ["档案"])
    assert cold == snippets(pages, ["档案"]) and "<mark>檔案</mark>" in cold[0].html


def _marks(query: str, pages: list[str]) -> list[str]:
    terms = highlight.query_terms(syntax.parse(query)).for_pages(pages)
    return [m for page in pages for m in marked(page, terms)]


def test_a_quoted_phrase_is_marked_whole_and_its_words_elsewhere_are_not():
    pages = ["国家档案馆推进数字化。", "提高档案信息化建设水平，推进国家治理体系和治理能力现代化。"]
    assert _marks('"推进国家治理体系"', pages) == ["推进国家治理体系"]
    # unquoted, the same words are marked wherever they stand (each is searched for)
    assert {"国家", "推进", "治理"} <= set(_marks("推进国家治理体系", pages))


def test_a_phrase_found_by_a_near_miss_has_its_words_marked():
    # OCR read 国家 as 续家: the document is found by the near miss, so its words show where
    pages = ["提高档案信息化建设水平，推进续家治理体系。"]
    assert _marks('"推进国家治理体系"', pages) == ["推进", "治理", "体系"]


def test_a_quoted_phrase_beside_other_words_keeps_both_kinds_of_marks():
    pages = ["档案工作推进国家治理体系建设，国家档案馆。"]
    assert _marks('"推进国家治理体系" 档案馆', pages) == ["推进国家治理体系", "档案馆"]


def test_a_line_break_inside_a_marked_phrase_is_not_shown_as_a_space():
    # The digital 档案法 breaks its line inside the phrase; the document view joins such lines
    # and finds the marked words in its text, so the mark must read as the phrase does.
    page = "提高档案信息化建设水平，推进国家治理体\n系和治理能力现代化，为中国特色\n社会主义事业服务。第二条　从事"
    html = snippets([page], ["推进国家治理体系"])[0].html
    assert "<mark>推进国家治理体系</mark>" in html and "特色社会主义" in html
    assert "第二条　从事" in html  # a space set on purpose stays
