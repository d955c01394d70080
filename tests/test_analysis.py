"""Text analysis: the same cut at index and query time, 文号 and dates in their many forms."""

from datetime import date

import pytest

from analysis import analyze, docnumber, dates
from analysis.normalize import normalize


def test_traditional_and_full_width_text_normalises_to_simplified_half_width():
    assert normalize("中華人民共和國檔案法　ＡＢＣ１２３") == "中华人民共和国档案法 abc123"


def test_words_follow_the_user_dictionary_and_drop_punctuation():
    a = analyze("佳木斯市档案局：认真贯彻《档案法》。")
    assert "佳木斯市档案局" in a.words and "档案法" in a.words
    assert "：" not in a.words and "《" not in a.words


def test_bigrams_cover_every_adjacent_pair_but_not_across_punctuation():
    assert analyze("档案管理，规范").grams == ["档案", "案管", "管理", "规范"]


@pytest.mark.parametrize("raw", ["佳政发[2007]12号", "佳政发（2007）12号", "佳政发〔2007〕12号",
                                 "佳政发(2007)第12号", "佳政发［２００７］１２号", "佳政发 〔2007〕 012号"])
def test_document_numbers_in_any_bracket_style_become_one_form(raw):
    assert docnumber.parse(raw) == "佳政发〔2007〕12号"


def test_document_number_is_found_under_a_letterhead():
    text = "佳木斯市人民政府文件\n佳政发〔2007〕12号\n关于加强档案工作的通知"
    assert docnumber.find(text) == "佳政发〔2007〕12号"


@pytest.mark.parametrize("raw,expected", [
    ("二〇〇七年九月五日", date(2007, 9, 5)), ("2007年9月5日", date(2007, 9, 5)),
    ("2007.9.5", date(2007, 9, 5)), ("2007-09-05", date(2007, 9, 5)),
    ("二〇〇七年十二月三十一日", date(2007, 12, 31)), ("2007年2月30日", None), ("九月五日", None),
])
def test_chinese_dates_are_parsed_in_numerals_and_digits(raw, expected):
    assert dates.parse(raw) == expected
