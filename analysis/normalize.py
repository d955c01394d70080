"""Normalisation: NFKC (full-width → half-width), traditional → simplified, lower case.

Applied to text before it is cut, at index time and at query time alike, so a query in
either script or width finds both."""

from __future__ import annotations

import re
import unicodedata

import opencc

_t2s = opencc.OpenCC("t2s")

# Characters that carry no searchable meaning and only break up words.
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u200b-\u200f\ufeff]")


# Whitespace between two Chinese characters is layout (a line wrap in a PDF, a gap left by
# OCR), never a word break: Chinese is written without spaces.
# Written to start with the whitespace, so the regex engine skips to the next space instead
# of trying a look-behind at every character (2x faster; api/highlight.py scans whole pages).
CJK_GAP = re.compile(r"\s(?<=[\u3400-\u9fff\uf900-\ufaff]\s)\s*(?=[\u3400-\u9fff\uf900-\ufaff])")


def normalize(text: str) -> str:
    """NFKC, traditional → simplified, lower-cased, control characters and layout gaps removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    text = CJK_GAP.sub("", text)
    return _t2s.convert(text).lower()



def looks_traditional(text: str, sample: int = 4000) -> bool:
    """True when the text is mostly in traditional script (picks the OCR language)."""
    head = text[:sample]
    if not head:
        return False
    changed = sum(1 for a, b in zip(head, _t2s.convert(head)) if a != b)
    cjk = sum(1 for ch in head if "\u4e00" <= ch <= "\u9fff")
    return cjk > 0 and changed / cjk > 0.05
