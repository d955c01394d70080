"""A question's hits ordered by meaning (analysis/meaning.py): the engine finds what holds the
question's words, for the caller and under their filters; of its first WINDOW, those whose
best passage is closest to the question come first, and their closest passages are shown.

Only the engine's hits are looked up, so a document the caller may not see is never weighed
for them; pages past the window keep the engine's order (the window holds exactly the
engine's first WINDOW, reordered, so no document is shown twice or skipped)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis import meaning
from settings import Settings

WINDOW = 100  # the engine's first hits that are ordered by meaning


@dataclass
class Ordered:
    ids: list[str]  # the window, closest first
    closeness: dict[str, np.ndarray]  # each id's passages' closeness to the question
    best: dict[str, float]  # each id's closest passage's (the hit's score)


_stores: dict[Path, meaning.Vectors] = {}
_lock = threading.Lock()


def _vectors(data: Path) -> meaning.Vectors | None:
    with _lock:
        if data not in _stores:
            found = meaning.Vectors.open(data)
            if found is None:
                return None  # not written yet: looked for again at the next question
            _stores[data] = found
        return _stores[data]


def model(settings: Settings) -> meaning.Model | None:
    return meaning.load(settings.meaning_model) if settings.meaning else None


def ready(settings: Settings) -> bool:
    """Questions can be ordered by meaning here: it is on, and the model and vectors are there."""
    return model(settings) is not None and _vectors(settings.data) is not None


def order(ids: list[str], text: str, settings: Settings) -> Ordered | None:
    """The engine's first WINDOW hits (`ids`, as the engine found them for the caller), closest
    to `text` first; None where meaning is off, the model or the vectors are missing, or a hit
    has no vectors yet (its document is being indexed): the engine's order stands."""
    m = model(settings)
    store = _vectors(settings.data) if m else None
    if m is None or store is None:
        return None
    vecs = store.get(ids)
    if not ids or any(i not in vecs for i in ids):
        return None
    q = meaning.QUESTIONS.get(m, text)
    closeness = {i: vecs[i] @ q for i in ids}
    best = {i: float(c.max()) if len(c) else -1.0 for i, c in closeness.items()}
    # Closest first; the engine's order breaks ties (sorted is stable).
    return Ordered(sorted(ids, key=lambda i: -best[i]), closeness, best)
