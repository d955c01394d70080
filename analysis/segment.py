"""Segmentation: jieba words (with the project's user dictionary) and character bigrams.

Both engines receive these tokens joined by single spaces and split them on whitespace
only, so the tokens here are exactly the terms in the index."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import jieba

from analysis.normalize import normalize

USER_DICT = Path(__file__).with_name("userdict.txt")

_tokenizer = jieba.Tokenizer()
jieba.setLogLevel(logging.WARNING)
_tokenizer.load_userdict(str(USER_DICT))

# A token is kept when it has a letter, a digit or a CJK character; punctuation and space go.
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# Runs over which bigrams are made: CJK characters, and latin/digit words as single units.
_GRAM_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]|[0-9a-z]+")


def words(normalized: str) -> list[str]:
    """jieba words of already-normalised text, punctuation and spaces dropped."""
    return [w for w in _tokenizer.cut(normalized, HMM=True) if _WORDLIKE.search(w) and not w.isspace()]


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """jieba words of `text` with their character offsets, in search mode: the words inside
    a long dictionary word too (档案局 inside 佳木斯市档案局), for completion starting points."""
    return [t for t in _tokenizer.tokenize(text, mode="search") if _WORDLIKE.search(normalize(t[0]))]


def bigrams(normalized: str) -> list[str]:
    """Overlapping character bigrams of CJK runs; latin and digit runs stay whole words.

    A run broken by punctuation or space starts again, so no bigram spans a sentence break.
    A single CJK character alone between breaks is kept as a unigram so it stays findable.
    """
    out: list[str] = []
    for run in re.split(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+", normalized):
        if not run:
            continue
        units = _GRAM_UNIT.findall(run)
        cjk_run: list[str] = []
        for unit in units + [""]:
            if unit and _CJK.fullmatch(unit):
                cjk_run.append(unit)
                continue
            if len(cjk_run) == 1:
                out.append(cjk_run[0])
            else:
                out.extend(a + b for a, b in zip(cjk_run, cjk_run[1:]))
            cjk_run = []
            if unit:
                out.append(unit)
    return out


@dataclass
class Analyzed:
    words: list[str]
    grams: list[str]

    @property
    def words_text(self) -> str:
        return " ".join(self.words)

    @property
    def grams_text(self) -> str:
        return " ".join(self.grams)


def analyze(text: str) -> Analyzed:
    n = normalize(text)
    return Analyzed(words(n), bigrams(n))
