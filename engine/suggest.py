"""Completion keys: titles, agencies and 文号, each also as pinyin and pinyin initials, so
`dag` completes 档案馆 and `jms` completes 佳木斯. The keys are indexed with the document,
so suggestions pass through the same access filter as every other query."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from analysis.normalize import normalize
from analysis.segment import word_spans
from engine.model import Document

KEY_SEP = "\u241f"  # between the key and the text it completes to


def _pinyin_forms(text: str) -> tuple[str, str]:
    full = "".join(lazy_pinyin(text, errors="ignore"))
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))
    return full.lower(), initials.lower()


MAX_STARTS = 16


def _suffix_starts(text: str) -> list[str]:
    """Completions start at the text and at each inner word start, so 档案 completes
    中华人民共和国档案法, dag completes 佳木斯市档案馆 and daj 佳木斯市档案局."""
    begins = sorted({begin for _, begin, _ in word_spans(text) if begin and len(text) - begin >= 2})
    return [text] + [text[b:] for b in begins][: MAX_STARTS - 1]


def suggest_keys(doc: Document) -> list[str]:
    """Keys of the form `<normalised key>␟<display text>`; a prefix query finds them."""
    keys: set[str] = set()
    if doc.doc_number:
        keys.add(f"{normalize(doc.doc_number)}{KEY_SEP}{doc.doc_number}")
    for value in [doc.title, *doc.agency]:
        if not value:
            continue
        for start in _suffix_starts(value):
            n = normalize(start)
            full, initials = _pinyin_forms(n)
            for k in (n, full, initials):
                if len(k) >= 2:
                    keys.add(f"{k[:64]}{KEY_SEP}{value}")
    return sorted(keys)


def split_key(key: str) -> tuple[str, str]:
    k, _, display = key.partition(KEY_SEP)
    return k, display
