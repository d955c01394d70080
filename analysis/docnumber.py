"""文号 (document numbers): find them in text and bring every bracket style to one form.

`佳政发[2007]12号`, `佳政发（2007）12号`, `佳政发〔2007〕12号`, `佳政发 〔2007〕 第12号`
all become `佳政发〔2007〕12号`, the form GB/T 9704 prescribes. `key()` is the form used
for exact matching (simplified script, no spaces)."""

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
# A bare form without brackets: 佳政发2007年12号 / 佳政发2007-12号 is rarer; accept 年 form.
_PATTERN_BARE = re.compile(
    r"(?P<prefix>[\u4e00-\u9fff]{2,16}?)\s*(?P<year>(?:19|20)\d\d)\s*年?\s*第\s*(?P<num>\d{1,5})\s*号"
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


def _fold(text: str) -> str:
    # NFKC turns full-width digits and brackets into ASCII; 〔〕 survive and are handled above.
    return unicodedata.normalize("NFKC", text)


def parse(text: str) -> str | None:
    """The canonical 文号 if `text` is (only) a document number, else None."""
    t = _fold(text).strip()
    m = _PATTERN_NOTICE.fullmatch(t)
    if m:
        return f"{m.group('issuer')}{m.group('year') + '年' if m.group('year') else ''}第{int(m.group('num'))}号"
    m = _PATTERN_DECREE.fullmatch(t)
    if m:
        return _decree(m.group("issuer"), int(m.group("num")))
    for pat in (_PATTERN, _PATTERN_BARE):
        m = pat.fullmatch(t)
        if m:
            return _canonical(m)
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
    """Exact-match key of a canonical 文号: simplified script, lower case, no spaces."""
    return re.sub(r"\s+", "", normalize(doc_number))
