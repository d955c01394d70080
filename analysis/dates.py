"""Chinese dates: `二〇〇七年九月五日`, `2007年9月5日`, `2007.9.5`, `2007-09-05`, `2007/9/5`."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_DIGIT = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
          "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "两": 2}
_CN_NUM = "〇○零Ｏ一二三四五六七八九十两"

_CN_DATE = re.compile(rf"([{_CN_NUM}O]{{4}})\s*年\s*([{_CN_NUM}]{{1,3}})\s*月\s*([{_CN_NUM}]{{1,3}})\s*日")
_AR_DATE = re.compile(r"((?:19|20)\d\d)\s*(?:年|\.|-|/)\s*(\d{1,2})\s*(?:月|\.|-|/)\s*(\d{1,2})\s*日?")


def _cn_small(s: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十 → 20, 三十一 → 31."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_DIGIT[tens] if tens else 1) * 10 + (_DIGIT[ones] if ones else 0)
    return _DIGIT[s]


def _make(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse(text: str) -> date | None:
    """The date if `text` is (only) a date, else None."""
    t = unicodedata.normalize("NFKC", text).strip()
    for found in _iter(t):
        if found[1] == 0 and found[2] == len(t):
            return found[0]
    return None


def find_all(text: str) -> list[date]:
    """Every valid date in running text, in order."""
    t = unicodedata.normalize("NFKC", text)
    return [d for d, _, _ in sorted(_iter(t), key=lambda f: f[1])]


def _iter(t: str):
    for m in _CN_DATE.finditer(t):
        try:
            y = int("".join(str(_DIGIT[c]) for c in m.group(1)))
            d = _make(y, _cn_small(m.group(2)), _cn_small(m.group(3)))
        except KeyError:
            d = None
        if d:
            yield d, m.start(), m.end()
    for m in _AR_DATE.finditer(t):
        d = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            yield d, m.start(), m.end()
