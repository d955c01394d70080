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


@pytest.mark.parametrize("raw", ["国发2019年5号", "国发2019年第5号", "国发〔2019年〕5号", "国发 2019 5号", "国发20195号",
                                 "国发【2019】5号", "国发(2019)5", "国发〔二〇一九〕五号", "國發〔２０１９〕５號",
                                 "国发 [2019] 第 5 号"])
def test_document_numbers_as_people_type_them_become_one_form(raw):
    assert docnumber.parse(raw) == "国发〔2019〕5号"


def test_orders_keep_their_form_and_share_a_key_by_either_name_of_the_issuer():
    assert docnumber.parse("国务院令707号") == docnumber.parse("国務院令第七〇七號") == "国令第707号"
    assert docnumber.parse("中华人民共和国主席令第十二号") == "主席令第12号"
    keys = {docnumber.key(x) for x in ("国务院令第707号", "国令第707号", "中华人民共和国国务院令第707号", "国令 第707号")}
    assert keys == {"国令第707号"}
    assert docnumber.parse("国家税务总局公告2019年第1号") == "国家税务总局公告2019年第1号"


def test_a_series_without_its_number_is_a_key_prefix():
    assert docnumber.series("国办发〔2019〕") == docnumber.series("国办发[2019]") == "国办发〔2019〕"
    assert docnumber.key("国办发〔2019〕3号").startswith(docnumber.series("国办发2019年"))
    assert docnumber.series("截至2019年") is None and docnumber.parse("2019年5月") is None


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
