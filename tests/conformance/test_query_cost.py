"""What a query costs the engine: a word typed many times is searched once, on every backend,
and finds (and ranks) exactly what the word typed once does."""

from __future__ import annotations

import pytest

from engine import Engine, syntax
from engine.model import Audience
from engine.query import SearchSpec


def _answer(engine: Engine, q: str) -> list[tuple[str, float]]:
    spec = SearchSpec(query=syntax.to_node(syntax.parse(q)), size=50)
    return [(h.id, round(h.score, 4)) for h in engine.search(spec, Audience.public).hits]


@pytest.mark.parametrize("once, many", [
    ("档案", " ".join(["档案"] * 60)),
    ("的", " ".join(["的"] * 100)),
    ("管理 -海洋", "管理 管理 -海洋 -海洋 管理"),
    ('"人民 法院" 保护', '"人民 法院" 保护 "人民 法院" 保护'),
])
def test_a_repeated_word_is_searched_once(backend, once, many):
    assert syntax.to_node(syntax.parse(many)) == syntax.to_node(syntax.parse(once))
    answer = _answer(backend, once)
    assert answer and _answer(backend, many) == answer


def test_distinct_units_count_each_different_thing_once():
    assert syntax.distinct_units(syntax.parse(" ".join(["的"] * 100))) == 1
    assert syntax.distinct_units(syntax.parse("档案 管理 OR 办法 -废止 标题:档案")) == 5
