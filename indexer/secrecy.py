"""密级 markings (GB/T 9704 版头, and the ways practice writes them), read from a line that
is the marking and nothing else, or from a manifest's 密级 column.

The marking sits alone on one of the first lines of page 1, left-aligned: `机密★10年`,
with the 份号 before it and the 紧急程度 after it on some layouts. Practice varies the rest:
traditional script (`機密★20年`), a `密级：` label, ☆ or * for ★, the 保密期限 in Chinese
numerals (`五年`), `长期`, months, `启用前`, brackets (`机密（★10年）`), and OCR spaces
it out or misreads a character. A phrase in running text (国家秘密, 绝密、机密、秘密三级) is
never a whole line of that shape, so documents that discuss secrecy raise no alarm."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import opencc

_t2s = opencc.OpenCC("t2s")

LEVELS = ("绝密", "机密", "秘密")
# Taiwan's 國家機密 levels, as a traditional document may carry them.
_LEVEL_ALIASES = {"绝对机密": "绝密", "极机密": "机密"}
# Characters OCR engines put for the level's characters on poor scans (checked on
# rapidocr and tesseract output of small, stamped or blurred 版头): one of them in a level
# is accepted only when the rest of the line proves a marking (★ and a 保密期限, or 密级：).
_MISREAD_FIRST = {"绝": "绝絶纟色统纯维", "机": "机札杌杋朳仉礼执", "秘": "秘祕袐泌必秋"}
_MISREAD_SECOND = "密蜜宓峦窑"
_STARS = "★☆✩✪✫✬✭✮✯✰⭐⋆*✱✲✳✴✵✶✷✸✹"

_NUM = "〇零一二两三四五六七八九十百"
_TERM = (rf"(?P<n>[0-9OolI]{{1,3}}|[{_NUM}]{{1,4}})(?P<unit>年|个月|月)"
         r"|(?P<word>长期|永久|启用前|开启前|公布前|解密前)")
_OPEN, _CLOSE = r"[(\[【〔［｛{<《〈]", r"[)\]】〕］｝}>》〉]"
_COPY = r"(?:(?:份号|编号|No\.?)[:：]?)?[0-9]{1,8}"  # 份号, printed before the marking
_URGENCY = r"(?:(?:紧急程度)[:：]?)?(?:特急|加急|特提|平急|急件|急)"
_LABEL = r"密级[:：]?"
_TERM_LABEL = r"(?:保密期限|期限)[:：]?"


def _line_pattern(level: str, star: str) -> re.Pattern[str]:
    # [份号] [(] [密级：] 机密[级] [(] [★] [保密期限：] [10年] [)] [特急] [)]
    return re.compile(
        rf"^(?:{_COPY})?{_OPEN}?(?P<label>{_LABEL})?(?P<level>{level})级?"
        rf"{_OPEN}?(?P<star>{star})?(?:{_TERM_LABEL})?(?:{_TERM})?{_CLOSE}?"
        rf"(?:{_URGENCY})?{_CLOSE}?$")


_LEVEL_EXACT = "|".join([*_LEVEL_ALIASES, *LEVELS])
_LEVEL_FUZZY = "|".join(f"[{v}][{_MISREAD_SECOND}]" for v in _MISREAD_FIRST.values())
_EXACT = _line_pattern(_LEVEL_EXACT, f"[{re.escape(_STARS)}]")
# ★ as OCR reads it: any one character (tesseract gives 女, 友, 码, 妇, 大…), accepted only
# between a level and a 保密期限 on a line that holds nothing else.
_FUZZY = _line_pattern(_LEVEL_FUZZY, ".")
# Values a manifest's 密级 column holds for a document that is not classified.
_UNCLASSIFIED = {"", "无", "非密", "公开", "普通", "一般", "内部", "无密级", "不涉密", "否", "none", "no",
                 "unclassified", "open", "-", "—", "/"}


@dataclass(frozen=True)
class Marking:
    level: str  # 绝密, 机密 or 秘密
    term: str | None  # 10年, 6个月, 长期, 启用前 (digits, simplified), or None
    line: str  # the line as it was written

    def __str__(self) -> str:
        return self.level + (f"★{self.term}" if self.term else "")


def _normalise(line: str) -> str:
    """Full-width to half-width, traditional to simplified, no spaces (OCR spaces CJK out)."""
    text = unicodedata.normalize("NFKC", line)
    text = re.sub(r"[\s\u3000\u200b-\u200f\ufeff]+", "", text)
    return _t2s.convert(text)


def _number(text: str) -> int | None:
    """'10', '1O' (OCR), '五', '十', '二十', '三十六' → int."""
    digits = text.translate(str.maketrans("OolI", "0011"))
    if digits.isdigit():
        return int(digits)
    values = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    total, current = 0, 0
    for c in text:
        if c in values:
            current = values[c]
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        elif c == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _level(found: str) -> str:
    if found in _LEVEL_ALIASES:
        return _LEVEL_ALIASES[found]
    if found in LEVELS:
        return found
    first = next(k for k, v in _MISREAD_FIRST.items() if found[0] in v)
    return first + "密"


def _term(m: re.Match[str]) -> str | None:
    if m.group("word"):
        return "长期" if m.group("word") == "永久" else m.group("word")
    if m.group("n"):
        n = _number(m.group("n"))
        if n is None or n == 0:
            return None
        return f"{n}年" if m.group("unit") == "年" else f"{n}个月"
    return None


def read_line(line: str) -> Marking | None:
    """The marking this whole line is, or None."""
    if not any(c in line for c in _MISREAD_SECOND):  # every level ends in 密 or its misreading
        return None
    text = _normalise(line)
    if not 2 <= len(text) <= 40:
        return None
    m = _EXACT.match(text)
    if m:
        return Marking(_level(m.group("level")), _term(m), line.strip())
    m = _FUZZY.match(text)
    # A misread level or ★ is a marking only when the rest of the line proves it.
    if m and (m.group("label") or (m.group("star") and _term(m))):
        return Marking(_level(m.group("level")), _term(m), line.strip())
    return None


HEAD_LINES = 8  # 份号, 密级, 紧急程度, 发文机关标志 and 文号 come before the title


def find(lines: list[str], limit: int = HEAD_LINES) -> Marking | None:
    """The marking among the first lines of page 1 (the 版头), or None. A marking that OCR
    or a PDF's text layer split over two lines (`机密` / `★10年`) is joined back."""
    head = [x for x in (ln.strip() for ln in lines) if x][:limit]
    for i, line in enumerate(head):
        found = read_line(line)
        if found:
            return found
        if i + 1 < len(head) and len(_normalise(head[i + 1])) <= 8:
            joined = read_line(line + head[i + 1])
            if joined and joined.term:
                return joined
    return None


def unclassified(value: object) -> bool:
    """A manifest value that says the document is not classified (`非密`, `无`, empty)."""
    return _normalise(str(value or "")).lower() in _UNCLASSIFIED


def from_manifest(value: object) -> Marking | None:
    """A manifest's 密级 column: `机密`, `机密★10年`, `机密级`, `秘密 长期`, traditional too;
    `非密`, `无`, `公开` and empty mean not classified. Any other value that names a level
    is taken as that level (a catalogue that says 机密 in its own words is still 机密)."""
    text = _normalise(str(value or ""))
    if unclassified(text):
        return None
    found = read_line(text)
    if found:
        return found
    for alias, level in _LEVEL_ALIASES.items():
        if alias in text:
            return Marking(level, None, str(value))
    for level in LEVELS:
        if level in text:
            return Marking(level, None, str(value))
    return None
