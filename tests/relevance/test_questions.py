"""Questions people ask (bench/questions.py): the 308 real STARD questions over the relevance
corpus, on chayue and on SQLite FTS5 beside it. Prints the figures; holds the floors chayue
reached when questions were first read as words (issue 23's goals are higher: see the README)."""

from __future__ import annotations

import json

import pytest

from bench import questions


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    result = questions.measure(tmp_path_factory.mktemp("questions"))
    print("\nquestions people ask:", json.dumps(result, ensure_ascii=False))
    return result


def test_no_question_finds_nothing(figures):
    assert figures["chayue"]["empty"] == 0


def test_the_answering_law_is_among_the_first_ten_hits(figures):
    ours, fts5 = figures["chayue"], figures["fts5"]
    assert ours["law@10"] >= 0.85
    assert ours["law@10"] >= fts5["law@10"]


def test_an_answering_article_is_among_the_first_three_passages_shown(figures):
    assert figures["chayue"]["article@3"] >= 0.40
