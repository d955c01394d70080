"""HTML pages saved from government sites: the article, not the site around it.

Disclosure sites (TRS WCM and its kin) wrap each 公文 in navigation, breadcrumbs, related
links and footers. The article sits in an element named for it (TRS_Editor, zoom,
content, article…); failing that, in the element holding the most paragraph text.
Title and 发布日期 come from the page's meta tags where the CMS wrote them."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
from lxml import etree

from analysis import dates
from engine.model import Page
from indexer import limits
from indexer.extract import Extracted, ExtractionError, OcrService, read_bytes
from indexer.extract.text import decode
from indexer.metadata import is_agency

MEDIA_TYPE = "text/html"
_DROP = ("script", "style", "noscript", "iframe", "nav", "header", "footer", "form", "aside",
         "button", "select", "template", "svg")
_BOILERPLATE = re.compile(r"(?i)\b(nav|menu|header|footer|breadcrumb|crumb|sidebar|share|"
                          r"related|links?|banner|copyright|toolbar|login|search)\b|"
                          r"(^|[-_])(nav|menu|foot|head|top|bottom|side)([-_]|$)")
_ARTICLE = re.compile(r"(?i)TRS_Editor|\bzoom\b|^zoom|content|article|detail|zwnr|"
                      r"\bmain\b|text|body_?con|news_?con")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs"}
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
           "section", "article", "blockquote", "pre", "dd", "dt"}


def _decode(data: bytes, name: str) -> str:
    """The declared charset when there is one (as a browser would), else detection."""
    m = _CHARSET.search(data[:4096])
    if m:
        enc = m.group(1).decode("ascii").lower()
        try:
            return data.decode(_WIDEN.get(enc, enc), errors="replace")
        except LookupError:
            pass
    return decode(data, name)[0]


def _text(el: etree._Element) -> str:
    """Visible text with line breaks at block elements, blank lines squeezed."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _BLOCKS:
            parts.append("\n")
        if node.text and tag:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCKS:
            parts.append("\n")

    walk(el)
    # Runs of layout whitespace collapse; an ideographic space (第一条\u3000…) is content.
    lines = (re.sub(r"[ \t\u00a0]+", " ", ln).strip() for ln in "".join(parts).split("\n"))
    return "\n".join(ln for ln in lines if ln)


def _attrs(el: etree._Element) -> str:
    return f"{el.get('id', '')} {el.get('class', '')}"


def _is_boilerplate(el: etree._Element) -> bool:
    """Named like navigation and holding little running text: a wrapper that happens to be
    called `main-top` but carries the article is kept."""
    return (bool(_BOILERPLATE.search(_attrs(el))) and not _ARTICLE.search(el.get("id", ""))
            and _paragraph_chars(el) < 200)


def _paragraph_chars(el: etree._Element) -> int:
    """Text in the element minus text inside links: navigation is mostly links."""
    total = len("".join(el.itertext()).strip())
    linked = sum(len("".join(a.itertext()).strip()) for a in el.iter("a"))
    return total - linked


def main_element(root: etree._Element) -> etree._Element:
    named = [el for el in root.iter() if isinstance(el.tag, str) and _ARTICLE.search(_attrs(el))
             and el.tag not in ("html", "body", "meta")]
    named = [el for el in named if _paragraph_chars(el) >= 20]
    if named:
        # The smallest named element that still holds most of the text: the innermost
        # container, without the sibling share/print bars of its outer wrappers.
        best = max(_paragraph_chars(el) for el in named)
        return min((el for el in named if _paragraph_chars(el) >= 0.8 * best),
                   key=lambda el: len("".join(el.itertext())))
    blocks = [el for el in root.iter("div", "td", "section", "article", "body")]
    if not blocks:
        return root

    def density(el: etree._Element) -> int:
        # Text directly in this element's paragraphs, not in nested containers.
        return sum(len("".join(c.itertext()).strip()) for c in el
                   if isinstance(c.tag, str) and c.tag in ("p", "span", "font", "br")) + \
            len((el.text or "").strip())

    return max(blocks, key=density)


def _meta(root: etree._Element, *names: str) -> str:
    for name in names:
        for el in root.iter("meta"):
            if (el.get("name") or "").lower() == name.lower() and el.get("content", "").strip():
                return el.get("content", "").strip()
    return ""


# "标题_栏目_网站", "标题 - XX市人民政府", "标题|网站": the site's names follow the article's.
_TITLE_PARTS = re.compile(r"\s*(?:_|\||｜|\s[-－–]\s|(?<![0-9])[-－](?![0-9]))\s*")


def _page_title(title: str, *site_names: str) -> str:
    """A saved page's <title> without the site and column names browsers show after it
    (the metadata the 政府网站发展指引 asks sites to publish names them: SiteName, ColumnName)."""
    title = re.sub(r"\s+", " ", title).strip()
    for name in (n for n in site_names if n):
        title = re.sub(rf"\s*(?:_|\||｜|[-－–])?\s*{re.escape(name)}\s*$", "", title)
    parts = [p for p in _TITLE_PARTS.split(title) if p.strip()]
    return parts[0] if parts else title


class HtmlExtractor:
    media_types = (MEDIA_TYPE, "application/xhtml+xml")
    extensions = (".html", ".htm", ".shtml", ".xhtml")

    def extract(self, path: Path, ocr: OcrService | None = None) -> Extracted:
        data = read_bytes(path)
        limits.check_markup(len(data), path.name)
        text = _decode(data, path.name)
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str with a declaration
        try:
            root = lxml.html.document_fromstring(text)
        except (etree.ParserError, ValueError) as e:
            raise ExtractionError(f"{path.name}: HTML 无法解析 / unparseable HTML ({e})") from e
        meta: dict[str, str] = {}
        title = _meta(root, "ArticleTitle") or _page_title(
            root.findtext(".//title") or "", _meta(root, "SiteName"), _meta(root, "ColumnName"))
        if title:
            meta["title"] = re.sub(r"\s+", " ", title)
        source = _meta(root, "ContentSource")
        if source and is_agency(source):
            meta["agency"] = source
        pub = _meta(root, "PubDate", "publishdate", "firstpublishedtime")
        found = dates.find_all(pub) if pub else []
        if found:
            meta["published"] = found[0].isoformat()
        for el in list(root.iter(*_DROP)):
            el.drop_tree()
        for el in [e for e in root.iter() if isinstance(e.tag, str) and _is_boilerplate(e)]:
            if el.getparent() is not None:
                el.drop_tree()
        body = _text(main_element(root))
        if not body:
            raise ExtractionError(f"{path.name}: 网页没有正文 / no text in the page", skip=True)
        return Extracted([Page(number=1, text=body)], MEDIA_TYPE, meta)
