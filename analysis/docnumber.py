"""文号 (document numbers): find them in text and bring every form people write to one.

`佳政发[2007]12号`, `佳政发（2007）12号`, `佳政发〔2007〕12号`, `佳政发 〔2007〕 第12号`,
`佳政发2007年12号`, `佳政发〔二〇〇七〕十二号`, `佳政发〔2007〕12` all become `佳政发〔2007〕12号`,
the form GB/T 9704 prescribes; State Council orders take its own form, `国令第707号`. `key()` is
the form used for exact matching, the same at index and at query time: simplified script,
no spaces, and one name for an issuer of orders written two ways (`国务院令` = `国令`)."""

from __future__ import annotations

import re
import unicodedata

from analysis.normalize import normalize

_OPEN = "[〔［\\[（(【｛{〖]"
_CLOSE = "[〕］\\]）)】｝}〗]"
# Issuer code: CJK characters (and sometimes letters), e.g. 佳政发, 国办发, 黑政规.
_PATTERN = re.compile(
    rf"(?P<prefix>[\u4e00-\u9fffA-Za-z]{{1,16}}?)\s*{_OPEN}\s*(?P<year>(?:19|20)\d\d)\s*{_CLOSE}"
    rf"\s*第?\s*(?P<num>\d{{1,5}})\s*号"
)
# 令 numbers: 中华人民共和国国务院令第707号 / 国务院令第707号 / 国令第707号 (the State Council's
# own form, used on gov.cn) / 中华人民共和国主席令第十号 in digits / 海南省人民政府令第1号.
_PATTERN_DECREE = re.compile(
    r"(?:中华人民共和国)?(?P<issuer>[\u4e00-\u9fff]{1,24}?)\s*令\s*[（(]?\s*第\s*(?P<num>\d{1,5})\s*号[）)]?"
)
# 公告/通告 numbers: 国家税务总局公告2019年第1号, 海关总署公告（2018年第1号）.
_PATTERN_NOTICE = re.compile(
    r"(?:中华人民共和国)?(?P<issuer>[\u4e00-\u9fff]{2,30}?(?:公告|通告))\s*[（(]?\s*"
    r"(?:(?P<year>(?:19|20)\d\d)\s*年)?\s*第\s*(?P<num>\d{1,5})\s*号[）)]?"
)

# -- as people type them (parse: the whole text is one number) -------------------------------
_CN_DIGITS = "〇○零一二三四五六七八九"
_CN_NUMERAL = f"[{_CN_DIGITS}十百千两]"
_YEAR = rf"(?P<year>(?:19|20)\d\d|[{_CN_DIGITS}]{{4}})"
_NUM = rf"(?P<num>\d{{1,5}}|{_CN_NUMERAL}{{1,8}})"
_ISSUER = r"(?P<prefix>[\u4e00-\u9fffa-zA-Z]{1,20}?)"
# Spaces are folded to at most one before these are tried; ` ?` allows one anywhere.
_TYPED = [
    # 国发〔2019〕5号, 国发[2019年]第5号, 国发（2019）5
    re.compile(rf"{_ISSUER} ?{_OPEN} ?{_YEAR} ?年? ?{_CLOSE} ?第? ?{_NUM} ?号?"),
    # 国发2019年5号, 国发2019年第5号, 国家税务总局公告2019年第1号
    re.compile(rf"{_ISSUER} ?{_YEAR} ?年 ?第? ?{_NUM} ?号?"),
    # 国发2019第5号, 国发2019 5号, 国发2019-5, 国发20195号
    re.compile(rf"{_ISSUER} ?{_YEAR} ?(?:第|-|/| )? ?{_NUM} ?号"),
    re.compile(rf"{_ISSUER} ?{_YEAR} ?(?:第|-|/| ) ?{_NUM}"),
]
# Orders carry no year: 国务院令第707号, 国令第707号, 中华人民共和国主席令第十二号, 财政部令第41号.
_ORDER = re.compile(rf"(?P<prefix>[\u4e00-\u9fff]{{1,20}}?令) ?(?P<di>第)? ?{_NUM} ?(?P<hao>号)?")
# A series without its number: 国办发〔2019〕, 国办发[2019], 国办发2019年.
_SERIES = [
    re.compile(rf"{_ISSUER} ?{_OPEN} ?{_YEAR} ?年? ?{_CLOSE} ?(?:第|号)?"),
    re.compile(rf"(?P<prefix>[\u4e00-\u9fffa-zA-Z]{{0,19}}[发函字规电]) ?{_YEAR} ?年 ?第?"),
]
# Issuers of orders written two ways; the key uses the second.
_ORDER_ISSUERS = (("中华人民共和国", ""), ("国务院令", "国令"))
_CN_VALUE = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0, "两": 2}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}


def _fold(text: str) -> str:
    # NFKC turns full-width digits and brackets into ASCII; 〔〕 survive and are handled above.
    return unicodedata.normalize("NFKC", text)


def _typed(text: str) -> str:
    """The text folded for parsing: NFKC, traditional → simplified (號 → 号), spaces at most one."""
    return re.sub(r"\s+", " ", normalize(_fold(text))).strip()


def _cn_int(s: str) -> int | None:
    """12, 十二, 一百二十八, 一二八, 二〇一九 → the number; None if it is none."""
    if s.isdigit():
        return int(s)
    if not any(c in _CN_UNIT for c in s):  # digit by digit: 二〇一九
        return int("".join(str(_CN_VALUE[c]) for c in s)) if all(c in _CN_VALUE for c in s) else None
    total, digit = 0, None
    for c in s:
        if c in _CN_VALUE:
            digit = _CN_VALUE[c]
        elif c in _CN_UNIT:
            total += (1 if digit is None else digit) * _CN_UNIT[c]
            digit = None
        else:
            return None
    return total + (digit or 0)


def parse(text: str) -> str | None:
    """The canonical 文号 if `text` is (only) a document number, else None."""
    t = _typed(text)
    m = _PATTERN_NOTICE.fullmatch(t)
    if m:
        return f"{m.group('issuer')}{m.group('year') + '年' if m.group('year') else ''}第{int(m.group('num'))}号"
    m = _PATTERN_DECREE.fullmatch(t)
    if m:
        return _decree(m.group("issuer"), int(m.group("num")))
    for pat in _TYPED:
        m = pat.fullmatch(t)
        if m and _CJK_END.search(m.group("prefix")):
            year, num = _cn_int(m.group("year")), _cn_int(m.group("num"))
            if year and 1900 <= year <= 2099 and num:
                if m.group("prefix").endswith("公告"):  # announcements keep their form
                    return f"{m.group('prefix')}{year}年第{num}号"
                return f"{m.group('prefix')}〔{year}〕{num}号"
    m = _ORDER.fullmatch(t)
    if m and (m.group("di") or m.group("hao")):
        num = _cn_int(m.group("num"))
        if num:
            return _decree(m.group("prefix")[:-1].removeprefix("中华人民共和国"), num)
    return None


_CJK_END = re.compile(r"[\u4e00-\u9fff]$")


def series(text: str) -> str | None:
    """The key prefix of a series if `text` names one without its number (`国办发〔2019〕`,
    `国办发[2019]`, `国办发2019年`): the keys of its documents start with it."""
    t = _typed(text)
    for pat in _SERIES:
        m = pat.fullmatch(t)
        if m and _CJK_END.search(m.group("prefix")):
            year = _cn_int(m.group("year"))
            if year and 1900 <= year <= 2099:
                return key(f"{m.group('prefix')}〔{year}〕")
    return None


def find(text: str) -> str | None:
    """The first 文号 in running text (e.g. the lines under a red letterhead), canonical."""
    t = _fold(text)
    m = _PATTERN.search(t)
    return _canonical(m) if m else None


def _decree(issuer: str, num: int) -> str:
    """国务院令 is numbered 国令第N号 by the State Council itself; others keep their name."""
    return f"国令第{num}号" if issuer in ("国务院", "国") else f"{issuer}令第{num}号"


def _canonical(m: re.Match[str]) -> str:
    return f"{m.group('prefix')}〔{m.group('year')}〕{int(m.group('num'))}号"


def key(doc_number: str) -> str:
    """Exact-match key of a 文号 in any form: its canonical form (when it parses) in simplified
    script, lower case, without spaces; an order under one name of its issuer."""
    k = re.sub(r"\s+", "", normalize(parse(doc_number) or doc_number))
    if "令第" in k:
        for written, same in _ORDER_ISSUERS:
            if k.startswith(written) and len(k) > len(written) + 3:
                k = same + k[len(written):]
    return k
