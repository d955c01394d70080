"""Pages saved from government sites: the article without the site around it."""

from __future__ import annotations

from indexer.extract import extractor_for
from tests import inputs


def test_article_text_is_kept_and_navigation_footer_and_scripts_are_dropped(tmp_path):
    body = inputs.law_excerpt(title="中华人民共和国档案法", chars=300).split("\n")
    path = inputs.gov_html(tmp_path / "t20210610_1.html", "中华人民共和国档案法", body)
    extracted = extractor_for(path).extract(path, None)
    text = extracted.pages[0].text
    assert text.split("\n") == body
    for noise in ("政务公开", "当前位置", "版权所有", "统计代码", "分享到", "国务院", "搜索"):
        assert noise not in text
    assert extracted.metadata == {"title": "中华人民共和国档案法", "published": "2021-06-10"}


def test_page_without_named_content_falls_back_to_the_densest_block(tmp_path):
    body = inputs.law_excerpt(3, 200).split("\n")
    paras = "".join(f"<p>{x}</p>" for x in body)
    html = (f"<html><head><meta charset='utf-8'><title>标题</title></head><body>"
            f"<div><a href='/'>首页</a> <a href='/x'>机构</a></div><div>{paras}</div>"
            f"<div>联系我们 | 网站地图</div></body></html>")
    path = tmp_path / "page.htm"
    path.write_text(html, encoding="utf-8")
    extracted = extractor_for(path).extract(path, None)
    assert extracted.pages[0].text.split("\n") == body
    assert extracted.metadata["title"] == "标题"


def test_page_title_loses_the_site_suffix_and_the_published_source_is_the_agency(tmp_path):
    html = ("<html><head><meta charset='utf-8'>"
            "<title>关于做好2021-2022年度档案工作的通知_通知公告_佳木斯市人民政府</title>"
            "<meta name='SiteName' content='佳木斯市人民政府'>"
            "<meta name='ContentSource' content='佳木斯市档案局'></head>"
            "<body><div id='zoom'><p>各区档案馆：</p><p>请认真做好2021-2022年度档案工作。</p></div>"
            "</body></html>")
    path = tmp_path / "t.html"
    path.write_text(html, encoding="utf-8")
    meta = extractor_for(path).extract(path, None).metadata
    assert meta["title"] == "关于做好2021-2022年度档案工作的通知"
    assert meta["agency"] == "佳木斯市档案局"
    news = html.replace("佳木斯市档案局", "新华网")
    path.write_text(news, encoding="utf-8")
    assert "agency" not in extractor_for(path).extract(path, None).metadata  # a source, not an issuer
