"""Catalogue fields read from where GB/T 9704 puts them, and nowhere else."""

from __future__ import annotations

from datetime import date

from engine.model import Page
from indexer.metadata import extract
from tests import inputs

NOTICE_HEAD = """000123
机密★10年
特急
佳木斯市人民政府文件
佳政发[2007]12号
佳木斯市人民政府关于印发佳木斯市档案工作
规范化管理办法的通知
各县（市）区人民政府，市政府各直属单位：
现将《佳木斯市档案工作规范化管理办法》印发给你们，请认真贯彻执行。"""
NOTICE_TAIL = """按国办发〔2005〕3号文件规定办理。
附件：佳木斯市档案工作规范化管理办法
佳木斯市人民政府
二〇〇七年九月五日
（此件公开发布）"""


def test_red_header_notice_yields_every_field():
    fields = extract([Page(1, NOTICE_HEAD), Page(2, NOTICE_TAIL)])
    assert fields == {
        "classification": "机密★10年",
        "doc_number": "佳政发〔2007〕12号",
        "title": "佳木斯市人民政府关于印发佳木斯市档案工作规范化管理办法的通知",
        "doc_type": "通知",
        "recipients": ["各县（市）区人民政府", "市政府各直属单位"],
        "date": date(2007, 9, 5),
        "agency": ["佳木斯市人民政府"],
    }


def test_ocr_spacing_does_not_hide_the_fields():
    spaced = "\n".join(" ".join(line) for line in NOTICE_HEAD.splitlines())
    fields = extract([Page(1, spaced, ocr=True, confidence=88.0)])
    assert fields["doc_number"] == "佳政发〔2007〕12号"
    assert fields["title"].endswith("规范化管理办法的通知")


def test_signature_before_the_date_gives_the_agency_without_a_letterhead():
    text = ("关于开展档案安全检查的通知\n各区档案馆：\n请于十月底前完成自查。\n"
            "佳木斯市档案局\n2007年9月5日")
    fields = extract([Page(1, text)])
    assert fields["agency"] == ["佳木斯市档案局"]
    assert fields["date"] == date(2007, 9, 5)
    assert fields["recipients"] == ["各区档案馆"] and fields["doc_type"] == "通知"


def test_law_title_is_its_first_line_and_dates_in_articles_are_not_the_document_date():
    law = inputs.law("中华人民共和国档案法")
    fields = extract([Page(1, law["text"])])
    assert fields["title"] == "中华人民共和国档案法"
    assert fields["doc_type"] == "法律"
    assert "date" not in fields  # 本法自2021年1月1日起施行 is not a 成文日期
    assert "classification" not in fields  # 国家秘密 appears in its articles


def test_secret_in_running_text_is_not_a_classification_marking():
    laws_mentioning_secrets = [x for x in inputs.laws() if "秘密" in x["text"]][:20]
    assert laws_mentioning_secrets
    for law in laws_mentioning_secrets:
        assert "classification" not in extract([Page(1, law["text"])]), law["title"]


def test_marking_with_long_term_and_copy_number_is_read():
    fields = extract([Page(1, "秘密★长期\n关于档案移交的请示\n市档案局：\n正文")])
    assert fields["classification"] == "秘密★长期"
    assert fields["doc_type"] == "请示"


def test_title_of_the_2007_speech_is_its_first_line():
    assert extract([Page(1, inputs.seed_speech())])["title"] == "为构建和谐佳木斯市提供档案服务"


def test_no_pages_no_fields():
    assert extract([]) == {} and extract([Page(1, "")]) == {}
