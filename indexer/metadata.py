"""Catalogue fields read from a 公文's own layout (GB/T 9704-2012), for files without a manifest.

A Chinese official document puts its metadata in fixed places. 版头: 份号, 密级和保密期限,
紧急程度, the 发文机关标志 ("XX人民政府文件", or "中华人民共和国国务院令" for a 令, "XX公告"
for a 公告), 发文字号 (and 签发人 for an upward document). 主体: the title (发文机关 + 事由 +
文种, often broken over lines), the 主送机关 line ending in a colon, the body, 附件说明,
the signature (发文机关署名, one line per agency or several on a line), 成文日期 (in Chinese
numerals in older documents), 附注 in brackets under it. 版记: 抄送 and 印发机关和印发日期.
Pages saved from the web keep this order except that the 文号 often follows the title.
Reading those places, and only those, keeps a phrase in running text (国家秘密, a 文号 cited
in the body, 本法自2021年1月1日起施行) from being mistaken for the document's own metadata."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from analysis import dates, docnumber
from analysis.normalize import normalize
from engine.model import Page
from indexer import secrecy

HEAD_LINES = 24  # 版头, title and 主送机关 lie in the first lines of page 1
TAIL_LINES = 12  # signature, date, 附注 and 版记 in the last lines of the last page

DOC_TYPES = ("通知", "决定", "意见", "办法", "报告", "批复", "函", "规定", "请示", "通报",
             "公告", "通告", "决议", "命令", "令", "纪要", "议案", "规划", "方案", "细则",
             "条例", "规则", "章程", "答复", "公报", "复函", "指导意见", "实施意见", "说明", "解释",
             "修正案")
_TYPE_ALT = "|".join(sorted(DOC_TYPES, key=len, reverse=True))
_TITLE = re.compile(rf"^.{{0,30}}关于.+(?:{_TYPE_ALT})$")
_ENDS_WITH_TYPE = re.compile(rf"(?:{_TYPE_ALT})$")
_LAW_TITLE = re.compile(r"^(中华人民共和国|全国人民代表大会|[\u4e00-\u9fff]{2,8}(省|市|自治区))"
                        r"[\u4e00-\u9fff（）()、]{1,40}(法|条例|规定|办法|决定|决议|解释|修正案)$")
_COPY_NUMBER = re.compile(r"^\d{6}$")  # 份号: six digits on their own
_URGENCY = re.compile(r"^(特急|加急|特提|平急)$")
_LETTERHEAD = re.compile(r"^(?P<agencies>.{0,60}?)文件$")
# 发文机关标志 of a 令 and of a 公告/通告, with its number on the next line.
_DECREE_HEAD = re.compile(r"^(?P<issuer>.{2,30}?)令$")
_NOTICE_HEAD = re.compile(r"^(?P<issuer>.{2,40}?)(?P<kind>公告|通告)$")
_SERIAL = re.compile(r"^[（(]?(?:(?P<year>(?:19|20)\d\d)年)?第(?P<num>[0-9]{1,5}|[〇零一二三四五六七八九十百千两]{1,8})号"
                     r"[）)]?$")  # 主席令 numbers are written in Chinese numerals: 第四十七号
_ONE_LINE_HEAD = re.compile(r"^(?P<heading>.{2,40}?(?:令|公告|通告))(?P<serial>[（(]?(?:(?:19|20)\d\d年)?第.{1,8}号[）)]?)$")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_AGENCY_END = re.compile(r"(政府|委员会|常务委员会|常委会|人民代表大会|局|厅|部|办公室|办公厅|院|委|"
                         r"署|馆|中心|公司|学会|协会|联合会|党委|党组|委员会办公室|法院|检察院|"
                         r"小组|指挥部|集团|大学|学校|医院|中央|银行|总社|办|处|科|所|站|队|会|社)$")
_ISSUER_MARKS = ("关于", "转发", "批转", "印发", "对")  # what follows the 发文机关 in a title
_FORWARD_MARKS = ("转发", "批转", "印发")
_SIGNER = re.compile(r"签发人[:：]\s*(?P<names>.+)$")
_SENTENCE_END = re.compile(r"[。；;！!？?]")
_NOTE = re.compile(r"^[（(](?P<note>[^（()）]{2,40})[）)]$")  # 附注: (此件公开发布)
_ATTACHMENT = re.compile(r"^附\s*件\s*[:：]\s*(?P<first>.*)$")
_NUMBERED = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[.．、]\s*(?P<item>.+)$")
_CC = re.compile(r"^抄\s*送\s*[:：]\s*(?P<names>.*)$")
_PRINTED = re.compile(r"^(?P<by>.{2,40}?)\s*(?P<date>(?:19|20)\d\d\s*年.{1,8}日|[〇○零一二三四五六七八九]{4}年.{1,8}日)"
                      r"\s*印\s*发$")
_QUOTED = re.compile(r"《(?P<title>[^《》]{2,80})》")
_CITED_NUMBER = re.compile(r"^[（(](?P<number>[^（()）]{4,30}号)[）)]")


@dataclass
class _Line:
    raw: str  # spaces kept: they separate joint agencies on one line
    text: str  # compact: OCR and PDFs space CJK out ('关 于 印 发')


def _compact(line: str) -> str:
    return re.sub(r"[\s\u3000]+", "", line)


def _lines(text: str) -> list[_Line]:
    out = []
    for raw in text.splitlines():
        c = _compact(raw)
        if c:
            out.append(_Line(raw.strip(), c))
    return out


def extract(pages: list[Page]) -> dict:
    """Fields found: title, doc_number, agency (list), recipients (list), date (datetime.date),
    doc_type, classification, signers (签发人), attachments (附件说明), note (附注), copied_to
    (抄送), printed_by and printed (印发机关, 印发日期), forwards (what a 转发/印发 document
    passes on: title, doc_number, agency). A field not found is left out, never guessed."""
    if not pages:
        return {}
    first = _lines(pages[0].text)
    head = [x.text for x in first[:HEAD_LINES]]
    if not head:
        return {}
    every = [x for p in pages for x in _lines(p.text)]
    out: dict = {}

    classification = _classification(head[:secrecy.HEAD_LINES])
    if classification:
        out["classification"] = classification

    decree = _decree(head)
    if decree:
        _read_decree(decree, every, out)
    else:
        _read_document(first[:HEAD_LINES], every, out)
    return {k: v for k, v in out.items() if v not in (None, [], "")}


# -- 版头 ---------------------------------------------------------------------------------
def _classification(lines: list[str]) -> str | None:
    """A 密级 marking standing alone on one of the first lines; 国家秘密 in prose never is."""
    found = secrecy.find(lines)
    return str(found) if found else None


def _is_header(line: str) -> bool:
    return bool(_COPY_NUMBER.match(line) or secrecy.read_line(line) or _URGENCY.match(line))


def split_agencies(text: str) -> list[str]:
    """Joint issuers: '国务院办公厅、中央军委办公厅' or '财政部 税务总局' → one name each.
    A name is kept whole when its parts are not all agency names ('国 务 院' from OCR)."""
    parts = [p for p in re.split(r"[、，,；;\s\u3000]+", text.strip()) if p]
    if not (len(parts) > 1 and all(len(p) >= 2 and _AGENCY_END.search(p) for p in parts)):
        parts = [_compact(text)] if _compact(text) else []
    # '第五届全国人民代表大会常务委员会': the term (届) is not part of the body's name.
    return [re.sub(r"^第[一二三四五六七八九十]+届(?=.{4})", "", p) for p in parts]


def is_agency(text: str) -> bool:
    names = split_agencies(text)
    return bool(names) and all(2 <= len(n) <= 30 and _AGENCY_END.search(n)
                               and not _SENTENCE_END.search(n) and not re.search(r"[，,：:]", n)
                               for n in names)


def _letterhead(head: list[_Line]) -> tuple[list[str], int]:
    """'佳木斯市人民政府文件' → ['佳木斯市人民政府']. A joint letterhead puts several names
    on the line, or stacks one agency per line above a shared 文件; those are taken too."""
    for i, line in enumerate(head[:6]):
        m = _LETTERHEAD.match(line.text)
        if m and not line.text.startswith("关于"):
            above = [x.raw for x in head[max(0, i - 3):i]
                     if _AGENCY_END.search(x.text) and len(x.text) <= 30 and not _is_header(x.text)]
            names = [n for raw in above for n in split_agencies(raw)]
            raw = re.sub(r"\s*文\s*件\s*$", "", line.raw)
            return names + split_agencies(raw), i
        if line.text == "文件":
            return [], -1
    return [], -1


def _decree(head: list[str]) -> tuple[str, str, int] | None:
    """A 令 (中华人民共和国国务院令 / 第706号) or a numbered 公告: (issuer, number, index of
    the number's line)."""
    for i, line in enumerate(head[:4]):
        one = _ONE_LINE_HEAD.match(unicodedata.normalize("NFKC", line))
        if one and _SERIAL.match(one.group("serial")) and not line.startswith("关于"):
            return one.group("heading"), one.group("serial"), i  # 中华人民共和国国务院令第706号
        if i + 1 >= len(head):
            break
        serial = _SERIAL.match(unicodedata.normalize("NFKC", head[i + 1]))
        if not serial:
            continue
        m = _DECREE_HEAD.match(line) or _NOTICE_HEAD.match(line)
        if m and not line.startswith("关于"):
            return line, unicodedata.normalize("NFKC", head[i + 1]), i + 1
    return None


def decree_number(heading: str, serial: str) -> str | None:
    """'中华人民共和国国务院令' + '第706号' → '国令第706号' (the State Council's own form);
    '中华人民共和国主席令' → '主席令第N号'; 'XX省人民政府令' → 'XX省人民政府令第N号';
    'XX公告' + '2019年第1号' → 'XX公告2019年第1号'."""
    m = _SERIAL.match(serial)
    if not m:
        return None
    num = m.group("num")
    num = num if num.isdigit() else str(chinese_number(num))
    return docnumber.parse(f"{heading}{m.group('year') + '年' if m.group('year') else ''}第{num}号")


def chinese_number(text: str) -> int:
    """'四十七' → 47, '一百二十八' → 128, '一〇五' → 105 (digit by digit)."""
    if not any(c in "十百千" for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        else:
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
    return total + digit


# -- 主体 ---------------------------------------------------------------------------------
def _number_and_signers(line: _Line) -> tuple[str | None, list[str]]:
    """The 文号 of a header line, and the 签发人 an upward document prints beside it."""
    number = docnumber.find(line.text)
    signers: list[str] = []
    m = _SIGNER.search(line.raw)
    if m:
        # Names are split by 、 or a wide gap; a two-character name is often padded (王　明).
        parts = re.split(r"[、，,]|[\s\u3000]{2,}", m.group("names"))
        signers = [_compact(n) for n in parts if _compact(n)]
    return number, signers


# '第一章 总则', '第一编 总则': the body has begun ('…第一百零四条的解释' is still the title).
_PART_HEADING = re.compile(r"^第[一二三四五六七八九十百零〇0-9]+[编章节](?:[\s\u3000]|$)")


def _title_like(line: str) -> bool:
    return (len(line) <= 80 and not _SENTENCE_END.search(line) and not line.endswith(("：", ":"))
            and not docnumber.find(line) and not _is_header(line) and dates.parse(line) is None
            and not _LETTERHEAD.match(line) and not line.startswith(("附件", "抄送")))


def _title_block(head: list[_Line], start: int) -> tuple[str | None, int]:
    """The title from line `start`: up to four title-like lines, joined. (title, last index)
    Spaces inside a line are kept (they separate joint issuers); _compact drops them."""
    lines: list[str] = []
    end = start - 1
    for j in range(start, min(start + 4, len(head))):
        if not _title_like(head[j].text) or _PART_HEADING.match(head[j].raw):
            break
        lines.append(head[j].raw)
        end = j
        if _ENDS_WITH_TYPE.search(head[j].text) and (
                j + 1 >= len(head) or not _title_like(head[j + 1].text)
                or not _continues_title(head[j].text, head[j + 1].text)):
            break
    if not lines:
        return None, -1
    return "".join(lines), end


def _continues_title(title: str, nxt: str) -> bool:
    """Whether the next short line still belongs to a title that already ends in a 文种
    ('…的通知' can be followed by nothing but the 主送 or the 文号)."""
    return not _ENDS_WITH_TYPE.search(title) or bool(re.match(r"^[的之]", nxt))


def _read_document(head: list[_Line], every: list[_Line], out: dict) -> None:
    letterhead, lh_index = _letterhead(head)
    number, signers, title, raw_title, title_end = None, [], None, None, -1
    i = lh_index + 1
    # 版头 lines up to the title: 份号, 密级, 紧急程度, 文号 and 签发人.
    while i < len(head):
        text = head[i].text
        if _is_header(text):
            i += 1
            continue
        found, who = _number_and_signers(head[i])
        if found and (_SENTENCE_END.search(text) or len(text) > len(found) + 16) and not who:
            break  # a 文号 cited in a sentence: the body has begun
        if found or who:
            number = number or found
            signers = signers or who
            i += 1
            continue
        break
    if i < len(head):
        raw_title, title_end = _title_block(head, i)
        title = _compact(raw_title) if raw_title else None
    if title and not (_TITLE.match(title) or _ENDS_WITH_TYPE.search(title) or _LAW_TITLE.match(title)
                      or title_end == i and len(head) > i + 1 and _is_recipients(head, i + 1)):
        # Not a 公文 title: keep the first short line (a speech, an article) as before.
        if title_end > i:
            title, title_end = head[i].text, i
        if len(title) > 40:
            title, title_end = None, -1
        raw_title = title
    after = title_end + 1 if title else i
    # Web pages and some releases print the 文号 under the title.
    while after < len(head) and (_is_header(head[after].text)
                                 or (docnumber.find(head[after].text)
                                     and len(head[after].text) <= 40
                                     and not _SENTENCE_END.search(head[after].text))):
        found, who = _number_and_signers(head[after])
        number = number or found
        signers = signers or who
        after += 1
    recipients, body_start = _recipients(head, after)

    if number:
        out["doc_number"] = number
    if signers:
        out["signers"] = signers
    if recipients:
        out["recipients"] = recipients

    body_from = min(body_start, len(every))  # head is the start of `every`
    sig = _signature(every, body_from)
    issuer, rest = _title_issuer(raw_title) if raw_title else ([], "")
    agencies = issuer or letterhead or (sig.agencies if sig else [])
    if title:
        if not issuer and rest == title and len(agencies) >= 1 and title.startswith(_ISSUER_MARKS[:4]):
            title = "、".join(agencies) + title  # the title names its issuer (GB/T 9704 7.3.3)
        out["title"] = title
        doc_type = _doc_type(title)
        if doc_type:
            out["doc_type"] = doc_type
        forwards = _forwards(rest, every[body_from:body_from + 6])
        if forwards:
            out["forwards"] = forwards
    if agencies:
        out["agency"] = agencies
    if sig:
        out["date"] = sig.when
        if sig.note:
            out["note"] = sig.note
    attachments = _attachments(every, body_from, sig.index if sig else len(every))
    if attachments:
        out["attachments"] = attachments
    _imprint(every, out)


def _is_recipients(head: list[_Line], i: int) -> bool:
    return _recipients(head, i)[0] != []


def _recipients(head: list[_Line], i: int) -> tuple[list[str], int]:
    """主送机关: one to three lines ending in a colon, before the body. (names, body start)"""
    joined = ""
    for j in range(i, min(i + 3, len(head))):
        text = head[j].text
        if _SENTENCE_END.search(text) or len(joined + text) > 160:
            break
        joined += text
        if text.endswith(("：", ":")):
            # Groups are separated by '，'; '、' joins names within a group (各省、自治区、直辖市人民政府).
            names = [n for n in re.split(r"[，,；;]", joined.rstrip("：:")) if n]
            return names, j + 1
    return [], i


@dataclass
class _Signature:
    agencies: list[str]
    when: date
    index: int  # of the date line in `every`
    note: str | None = None


def _signature(every: list[_Line], start: int) -> _Signature | None:
    """发文机关署名 and 成文日期: the first date standing alone on its line after the body
    begins, with the agency lines just above it, or else the last date in the last lines
    (a document signed by seal only). 附注 in brackets follows the date."""
    first_with_names = None
    for i in range(max(start, 0), len(every)):
        when = _date_line(every[i].text)
        if when is None:
            continue
        names = _names_above(every, i, start)
        if names:
            first_with_names = _Signature(names, when, i)
            break
    sig = first_with_names
    if sig is None:
        tail_from = max(start, len(every) - TAIL_LINES)
        for i in range(len(every) - 1, tail_from - 1, -1):
            when = _date_line(every[i].text)
            if when:
                sig = _Signature(_names_above(every, i, start), when, i)
                break
    if sig and sig.index + 1 < len(every):
        m = _NOTE.match(every[sig.index + 1].text)
        if m and not dates.find_all(m.group("note")):
            sig.note = every[sig.index + 1].text
    return sig


def _date_line(text: str) -> date | None:
    m = re.match(r"^[（(]?(?P<date>.+?)[）)]?$", text)
    return dates.parse(m.group("date")) if m else None


def _names_above(every: list[_Line], i: int, start: int) -> list[str]:
    names: list[str] = []
    for j in range(i - 1, max(start, i - 4) - 1, -1):
        raw = every[j].raw
        if is_agency(raw) and len(every[j].text) <= 40:
            names[:0] = split_agencies(raw)
        else:
            break
    return names


def _title_issuer(title: str) -> tuple[list[str], str]:
    """'国务院办公厅、中央军委办公厅关于…' → (['国务院办公厅', '中央军委办公厅'], '关于…').
    The issuer is what comes before the first of 关于/转发/批转/印发/对 that leaves an
    agency name in front of it. `title` may keep its spaces ('财政部 税务总局关于…');
    the rest comes back compact."""
    spots = sorted(m.start() for mark in _ISSUER_MARKS
                   for m in re.finditer(r"\s*".join(mark), title))
    for pos in spots:
        if not title[:pos].strip():
            return [], _compact(title)
        prefix = title[:pos]
        if is_agency(prefix):
            return split_agencies(prefix), _compact(title[pos:])
    return [], _compact(title)


def _forwards(rest: str, body: list[_Line]) -> list[dict]:
    """What a 转发/批转/印发 notice passes on: its title, 文号 and agency when the notice
    names them ('现将国家地震局《关于…的报告》转发给你们', '印发《…方案》')."""
    mark = next((m for m in _FORWARD_MARKS if rest.startswith(m) or rest.startswith("关于" + m)), None)
    if not mark:
        return []
    passed = rest[rest.find(mark) + len(mark):]
    passed = re.sub(r"的(?:通知|通报|批复|决定|函)$", "", passed)
    entry: dict = {}
    quoted = _QUOTED.search(passed)
    agency_part = passed[:quoted.start()] if quoted else ""
    if quoted:
        entry["title"] = quoted.group("title")
    else:
        issuer, what = _title_issuer(passed)
        entry["title"] = what if issuer else passed
        if issuer:
            entry["agency"] = issuer
    text = "".join(x.text for x in body)
    for m in _QUOTED.finditer(text):
        near = text[max(0, m.start() - 40):m.end() + 60]
        if not re.search("|".join(_FORWARD_MARKS + ("转发", "发布", "公布")), near):
            continue
        if _similar(m.group("title"), entry["title"]):
            entry["title"] = m.group("title")
            cited = _CITED_NUMBER.match(text[m.end():])
            if cited and docnumber.find(cited.group("number")):
                entry["doc_number"] = docnumber.find(cited.group("number"))
            before = re.split(r"[，。；：:、\s]", text[max(0, m.start() - 30):m.start()])[-1]
            before = re.sub(r"^(?:现将|将|经|把)", "", before)
            if not entry.get("agency") and before and is_agency(before):
                entry["agency"] = split_agencies(before)
            break
    if agency_part and not entry.get("agency") and is_agency(agency_part):
        entry["agency"] = split_agencies(agency_part)
    if isinstance(entry.get("agency"), list):
        entry["agency"] = "、".join(entry["agency"])
    return [entry] if entry.get("title") else []


def _similar(a: str, b: str) -> bool:
    """The body quotes a forwarded title exactly, or with a 的 the notice's title drops."""
    a, b = (re.sub(r"[的之《》“”\"]", "", x) for x in (a, b))
    return a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a))


def _attachments(every: list[_Line], start: int, end: int) -> list[str]:
    """附件说明: '附件：1.XXX' and the numbered lines under it, before the signature."""
    for i in range(max(start, 0), min(end, len(every))):
        m = _ATTACHMENT.match(every[i].text)
        if not m:
            continue
        items, first = [], m.group("first")
        if first:
            n = _NUMBERED.match(first)
            items.append(n.group("item") if n else first)
        for j in range(i + 1, min(end, len(every))):
            n = _NUMBERED.match(every[j].text)
            if not n or _SENTENCE_END.search(every[j].text[:-1]):
                break
            items.append(n.group("item"))
        return [x for x in items if x]
    return []


def _imprint(every: list[_Line], out: dict) -> None:
    """版记: 抄送 (may wrap to a second line) and '印发机关 印发日期印发'."""
    tail = every[-TAIL_LINES:]
    for k, line in enumerate(tail):
        cc = _CC.match(line.text)
        if cc:
            names = cc.group("names")
            if not names.endswith("。") and k + 1 < len(tail) and not _PRINTED.match(tail[k + 1].text):
                names += tail[k + 1].text
            out["copied_to"] = [n for n in re.split(r"[，,、；;。]", names) if n]
        printed = _PRINTED.match(line.text)
        if printed:
            out["printed_by"] = printed.group("by")
            when = dates.parse(printed.group("date"))
            if when:
                out["printed"] = when


def _doc_type(title: str) -> str | None:
    if _LAW_TITLE.match(title) and title.endswith("法"):
        return "法律"
    for t in sorted(DOC_TYPES, key=len, reverse=True):
        if title.endswith(t):
            return {"指导意见": "意见", "实施意见": "意见"}.get(t, t)
    return None


# -- 令 and numbered 公告 ----------------------------------------------------------------
def _read_decree(decree: tuple[str, str, int], every: list[_Line], out: dict) -> None:
    """A 令 promulgates a text: its title is that text's name ('《专利代理条例》已经…公布'),
    its number the decree's (国令第706号), its agency the one the heading names."""
    heading, serial, at = decree
    number = decree_number(heading, serial)
    if number:
        out["doc_number"] = number
    m = _DECREE_HEAD.match(heading)
    kind = "令"
    if m:
        issuer = re.sub(r"^中华人民共和国(?=.)", "", m.group("issuer"))
        issuer = "中华人民共和国主席" if issuer == "主席" else issuer
    else:
        n = _NOTICE_HEAD.match(heading)
        assert n is not None
        issuer, kind = n.group("issuer"), n.group("kind")
        issuer = re.sub(r"^中华人民共和国(?=.{2})", "", issuer)
    out["agency"] = split_agencies(issuer)
    out["doc_type"] = kind
    if kind != "令":
        # A numbered 公告 goes on like any document: its own title, the body, a signature.
        rest: dict = {}
        _read_document(every[at + 1:at + 1 + HEAD_LINES], every[at + 1:], rest)
        out.update({k: v for k, v in rest.items() if k not in ("doc_number", "agency")})
        out.setdefault("title", heading)
        return
    body = every[at + 1:]
    first = "".join(x.text for x in body[:3])
    quoted = _QUOTED.search(first)
    sig = _signature(every, at + 1)
    if quoted:
        out["title"] = quoted.group("title")
    elif sig and sig.index + 1 < len(every) and _title_like(every[sig.index + 1].text):
        out["title"] = every[sig.index + 1].text  # the promulgated text follows, under its title
    else:
        out["title"] = heading
    if sig:
        out["date"] = sig.when


# -- where each value came from ---------------------------------------------------------
MANIFEST, LAYOUT, FILE_PROPERTIES, FILE_NAME = "manifest", "layout", "file properties", "file name"
TRACKED = ("title", "doc_number", "agency", "recipients", "date", "published", "category", "doc_type",
           "fonds", "archival_code", "retention", "validity")
COMPARED = ("title", "doc_number", "agency", "date")  # fields both a catalogue and the layout give


@dataclass
class Combined:
    values: dict
    provenance: dict[str, str]  # field → manifest / layout / file properties / file name
    disagreements: list[dict]  # {field, manifest, layout}: the manifest won, a person may look


def combine(row: dict, found: dict, file_meta: dict, file_title: str) -> Combined:
    """The manifest always wins, then the layout, then the file's own properties, then the
    file name (title only). Where the manifest and the layout both give a value and they
    differ, the difference is kept for `chayue report`."""
    values: dict = {}
    provenance: dict[str, str] = {}
    for source, given in ((FILE_PROPERTIES, file_meta), (LAYOUT, found), (MANIFEST, row)):
        for key in TRACKED:
            if given.get(key) not in (None, "", []):
                values[key] = given[key]
                provenance[key] = source
    for key, value in row.items():  # id, collection, access … are the manifest's alone
        values.setdefault(key, value)
    if "title" not in values:
        values["title"], provenance["title"] = file_title, FILE_NAME
    disagreements = [{"field": k, "manifest": _shown(row[k]), "layout": _shown(found[k])}
                     for k in COMPARED if row.get(k) and found.get(k) and not _same(k, row[k], found[k])]
    return Combined(values, provenance, disagreements)


def _shown(value) -> str:
    if isinstance(value, list):
        return "；".join(map(str, value))
    return value.isoformat() if isinstance(value, date) else str(value)


def _same(key: str, a, b) -> bool:
    if key == "doc_number":
        return docnumber.key(docnumber.parse(str(a)) or str(a)) == docnumber.key(docnumber.parse(str(b)) or str(b))
    if key == "agency":
        a, b = ({normalize(_compact(x)) for x in ([v] if isinstance(v, str) else v)} for v in (a, b))
        return a == b
    if key == "date":
        return _shown(a)[:10] == _shown(b)[:10]
    return normalize(_compact(str(a))) == normalize(_compact(str(b)))
