"""Withdrawals as the outside world sees them: a document an audience could see that is
removed, or whose access narrows (open → reading room or restricted), is noted in the ledger
with the widest access it had, so OAI-PMH can tell that audience's harvesters it is deleted
(api/routes/oai.py) and tell nobody else anything. A document that opens again is no longer
withdrawn."""

from __future__ import annotations

from collections.abc import Iterable

from engine import Engine
from engine.model import ACCESS_FOR, Audience, Document
from engine.query import SearchSpec, Terms
from indexer.ledger import Ledger

FIELDS = ("id", "access", "collection", "tree_1", "fonds")


def _wider(old: str, new: str | None) -> bool:
    """Whether some audience saw `old` and does not see `new` (None: the document is gone)."""
    return any(old in ACCESS_FOR[a] and (new is None or new not in ACCESS_FOR[a]) for a in Audience)


def note(engine: Engine, ledger: Ledger, docs: Iterable[Document], deleted: Iterable[str]) -> None:
    """Before `docs` are written and `deleted` removed: note what closes, forget what opens."""
    docs, deleted = list(docs), [i for i in deleted]
    ids = tuple({d.id for d in docs} | set(deleted))
    if not ids:
        return
    spec = SearchSpec(query=Terms("id", ids), size=len(ids), fields=FIELDS)
    before = {h.id: h.fields for h in engine.search(spec, Audience.staff).hits}
    now: dict[str, str | None] = {i: None for i in deleted}
    now.update({d.id: d.access for d in docs})
    closing, opening = [], []
    for doc_id, access in now.items():
        old = before.get(doc_id)
        if old is not None and _wider(str(old.get("access", "open")), access):
            closing.append((doc_id, old.get("collection"), old.get("tree_1") or old.get("fonds"), str(old["access"])))
        elif access is not None:
            opening.append(doc_id)
    if closing:
        ledger.note_withdrawn(closing)
    if opening:
        ledger.restore(opening)
