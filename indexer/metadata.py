"""Catalogue fields read from a 公文's own layout (GB/T 9704), for files without a manifest.

A Chinese official document puts its metadata in fixed places: 份号/密级/紧急程度 in the
first lines, the red letterhead (发文机关标志, "XX人民政府文件"), the 文号 under it, then
the title (关于……的通知), the 主送机关 line ending in a colon; at the end the signature
(发文机关署名) and the 成文日期. Reading those places, and only those, keeps a phrase in
running text (国家秘密, a 文号 cited in the body, 本法自2021年1月1日起施行) from being
mistaken for the document's own metadata."""

from __future__ import annotations

import re
from datetime import date

from analysis import dates, docnumber
from engine.model import Page
from indexer import secrecy

HEAD_LINES = 12  # the 版头 and title fit in the first dozen lines of page 1
TAIL_LINES = 8  # signature and date in the last lines of the last page

DOC_TYPES = ("通知", "决定", "意见", "办法", "报告", "批复", "函", "规定", "请示", "通报",
             "公告", "通告", "决议", "命令", "令", "纪要", "议案", "规划", "方案", "细则",
             "条例", "规则", "章程", "答复", "公报")
_TYPE_ALT = "|".join(sorted(DOC_TYPES, key=len, reverse=True))
_TITLE = re.compile(rf"^.{{0,30}}关于.+(?:{_TYPE_ALT})$")
_LAW_TITLE = re.compile(r"^(中华人民共和国|全国人民代表大会|[\u4e00-\u9fff]{2,8}(省|市|自治区))"
                        r"[\u4e00-\u9fff（）()、]{1,40}(法|条例|规定|办法|决定|决议|解释|修正案)$")
_CLASSIFICATION = secrecy.LINE  # .match(line): the 密级 marking a whole line is, or None
_LETTERHEAD = re.compile(r"^(?P<agencies>.{2,60}?)文件$")
_AGENCY_END = re.compile(r"(政府|委员会|常务委员会|人民代表大会|局|厅|部|办公室|办公厅|院|委|"
                         r"署|馆|中心|公司|学会|协会|联合会|党委|委员会办公室|公安局|法院|"
                         r"检察院|小组|指挥部|集团|大学)$")
_DATE_LINE = re.compile(r"^[（(]?(?P<date>.+?)[）)]?$")


def _compact(line: str) -> str:
    """OCR and PDFs space CJK out ('关 于 印 发'); metadata lines carry no meaningful spaces."""
    return re.sub(r"[\s\u3000]+", "", line)


def _lines(text: str) -> list[str]:
    return [c for c in (_compact(x) for x in text.splitlines()) if c]


def extract(pages: list[Page]) -> dict:
    """Fields found: title, doc_number, agency (list), recipients (list), date (datetime.date),
    doc_type, classification. A field not found is left out, never guessed."""
    if not pages:
        return {}
    head = _lines(pages[0].text)[:HEAD_LINES]
    tail = _lines(pages[-1].text)[-TAIL_LINES:]
    if not head:
        return {}
    out: dict = {}

    classification = _classification(head[:secrecy.HEAD_LINES])
    if classification:
        out["classification"] = classification

    agencies = _letterhead(head)
    number = _doc_number(head)
    if number:
        out["doc_number"] = number

    title, title_end = _title(head)
    if title:
        out["title"] = title
        doc_type = _doc_type(title)
        if doc_type:
            out["doc_type"] = doc_type
        recipients = _recipients(head, title_end)
        if recipients:
            out["recipients"] = recipients

    when, signature = _date_and_signature(tail)
    if when:
        out["date"] = when
    for name in signature:
        if name not in agencies:
            agencies.append(name)
    if agencies:
        out["agency"] = agencies
    return out


def _classification(lines: list[str]) -> str | None:
    """A 密级 marking standing alone on one of the first lines; 国家秘密 in prose never is."""
    found = secrecy.find(lines)
    return str(found) if found else None


def _letterhead(head: list[str]) -> list[str]:
    """'佳木斯市人民政府文件' → ['佳木斯市人民政府']. A joint letterhead stacks one agency
    per line above a shared 文件; those lines are taken too."""
    for i, line in enumerate(head[:6]):
        m = _LETTERHEAD.match(line)
        if m and not line.startswith("关于"):
            above = [x for x in head[max(0, i - 3):i] if _AGENCY_END.search(x) and len(x) <= 30]
            return above + [m.group("agencies")]
    return []


def _doc_number(head: list[str]) -> str | None:
    # The 文号 precedes the title; a number cited in the body's first lines comes after it.
    for line in head:
        if _TITLE.match(line):
            break
        found = docnumber.find(line)
        if found:
            return found
    return None


def _title(head: list[str]) -> tuple[str | None, int]:
    """(title, index of its last line). Titles break over two or three lines."""
    for i, line in enumerate(head):
        if docnumber.find(line) or _CLASSIFICATION.match(line) or _LETTERHEAD.match(line):
            continue
        if "关于" in line[:31]:
            joined = line
            for j in range(i, min(i + 3, len(head))):
                if j > i:
                    if head[j].endswith(("：", ":")):
                        break
                    joined += head[j]
                if _TITLE.match(joined):
                    return joined, j
    for i, line in enumerate(head[:3]):  # laws: the first line is the title
        if _LAW_TITLE.match(line):
            return line, i
    for i, line in enumerate(head[:3]):
        if (len(line) <= 40 and not docnumber.find(line) and not _CLASSIFICATION.match(line)
                and not _LETTERHEAD.match(line) and not re.search(r"[，。；：:,;]$", line)
                and not dates.find_all(line)):
            return line, i
    return None, -1


def _doc_type(title: str) -> str | None:
    if _LAW_TITLE.match(title) and title.endswith("法"):
        return "法律"
    for t in sorted(DOC_TYPES, key=len, reverse=True):
        if title.endswith(t):
            return t
    return None


def _recipients(head: list[str], title_end: int) -> list[str]:
    if title_end < 0 or title_end + 1 >= len(head):
        return []
    line = head[title_end + 1]
    if not line.endswith(("：", ":")) or len(line) > 120:
        return []
    names = re.split(r"[，,、；;]", line.rstrip("：:"))
    return [n for n in names if n]


def _date_and_signature(tail: list[str]) -> tuple[date | None, list[str]]:
    """The last line that is only a date (成文日期), and the agency lines just above it."""
    for i in range(len(tail) - 1, -1, -1):
        m = _DATE_LINE.match(tail[i])
        when = dates.parse(m.group("date")) if m else None
        if when is None:
            continue
        signature = []
        for line in reversed(tail[max(0, i - 3):i]):
            if len(line) <= 30 and _AGENCY_END.search(line) and not re.search(r"[，。；]", line):
                signature.insert(0, line)
            else:
                break
        return when, signature
    return None, []
