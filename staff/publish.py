"""The staff side's share of the one writer: access changes queued in the store's outbox
(openings, decisions that keep an item closed, withdrawals and their lifting) written to the
index. A document is rewritten from what the staff tier stores (the analysed fields, which
are not stored, are made again from its title and page text exactly as the indexer makes
them), with its new access level, so no file is read again.

The engine keeps one writer: this runs only when it can take the writer (the embedded
engine's lock; a running `chayue index` holds it, and this waits for the next turn), and a
row leaves the outbox only after the engine has committed it, so a crash at any point
leaves it to be written again."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from analysis.segment import analyze
from engine import Engine, EngineUnavailable, open_engine
from engine.model import Audience
from engine.record import title_keys
from settings import Settings
from staff import opening, register
from staff.store import Store

log = logging.getLogger("chayue.staff")


def rebuilt(stored: dict[str, Any], access: str) -> dict[str, Any]:
    """The record the indexer wrote, from the fields the index stores, with a new access level."""
    rec = dict(stored)
    title = analyze(rec.get("title") or "")
    words: list[str] = []
    grams: list[str] = []
    for text in rec.get("page_text") or []:
        a = analyze(text)
        words.extend(a.words)
        grams.extend(a.grams)
    rec.update(title_words=title.words_text, title_grams=title.grams_text, title_key=title_keys(rec.get("title") or ""),
               body_words=" ".join(words), body_grams=" ".join(grams), access=access)
    return {k: v for k, v in rec.items() if v is not None and v != []}


def apply_pending(store: Store, engine: Engine, limit: int = 500) -> int:
    """Writes queued access changes (the newest per item wins); the number of items written."""
    with store.connect() as db:
        rows = db.execute("SELECT seq, item_id, access FROM outbox WHERE applied_at IS NULL ORDER BY seq LIMIT ?",
                          (limit,)).fetchall()
    if not rows:
        return 0
    latest: dict[str, str] = {}
    for r in rows:
        latest[r["item_id"]] = r["access"]
    records = []
    for item_id, access in latest.items():
        stored = engine.get(item_id, Audience.staff)
        if stored is not None and stored.get("access") != access:
            records.append(rebuilt(stored, access))
    if records:
        engine.backend.upsert(records)
        engine.commit()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.connect() as db:
        db.executemany("UPDATE outbox SET applied_at = ? WHERE seq = ?", [(now, r["seq"]) for r in rows])
    return len(records)


def pending(store: Store) -> int:
    with store.connect() as db:
        return db.execute("SELECT count(*) FROM outbox WHERE applied_at IS NULL").fetchone()[0]


def run_once(settings: Settings, store: Store | None = None) -> dict[str, Any]:
    """One opening run: today's batch, then the outbox written by the writer. What the
    timer's `chayue opening run` and the serve process's scheduler both call."""
    store = store or Store(settings.staff_path)
    number = opening.open_due(store, opening.today(settings))
    written = 0
    if pending(store):
        try:
            open_engine(settings)  # the index must exist and read: a writer would rebuild a bad one
            engine = open_engine(settings, writable=True)
        except (EngineUnavailable, OSError, ValueError, RuntimeError) as exc:
            log.warning("access changes wait for the writer: %s", exc)
            return {"batch": number, "written": 0, "waiting": pending(store)}
        try:
            while True:
                n = apply_pending(store, engine)
                written += n
                if not pending(store):
                    break
        except ValueError as exc:
            if "LockBusy" not in str(exc):
                raise
            # Another writer (`chayue index`, another api worker's run) has the index: this
            # run's rows stay in the outbox for the next turn.
            log.info("the index writer is busy; access changes wait for the next run")
        finally:
            engine.close()
    return {"batch": number, "written": written, "waiting": pending(store)}


class Scheduler:
    """Runs `run_once` every `opening_interval` seconds in the serve process, so approved
    items open on their day with nobody pressing a button. Everything it does is kept in the
    store, so a restart (or kill -9) loses nothing: the next run picks up where this stopped."""

    def __init__(self, settings: Settings, side: Any):
        self.settings, self.side = settings, side  # side.store: made on the first run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.settings.opening_interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="chayue-opening", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = run_once(self.settings, self.side.store)
                if result["batch"] or result["written"]:
                    log.info("opening run: %s", result)
            except Exception:  # the loop must outlive one bad run; the error is logged whole
                log.exception("opening run failed")
            try:  # the register's retention runs on the same turn (staff/register.py)
                if erased := register.purge(self.side.store, self.settings):
                    log.info("register: personal fields of %d visits past retention erased", erased)
            except Exception:
                log.exception("register purge failed")
            self._stop.wait(self.settings.opening_interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
