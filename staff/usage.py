"""Online use, counted without personal data: views, downloads and exports of each document
per day and channel (网上 for the public, 阅览室 for reading-room callers), searches per day,
and the text of anonymous searches (how often asked, how often they found nothing), which
staff read to improve description.

What is never kept: an IP address, a key, a session, or the query of a named caller (a
personal key, staff). Staff's own use is not counted at all: it is work, not 利用.

A request only adds to counters in memory (a dict under a lock: well under a microsecond);
a thread writes them to the staff store every `usage_flush_seconds` in one transaction of
upserts, and again when the service stops. Counting never fails a request: any error is
logged and the request goes on. A kill -9 loses at most the last interval's counts."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import date
from typing import Any

from engine.model import Audience
from settings import Settings

log = logging.getLogger("chayue.usage")

CHANNELS = {Audience.public: "online", Audience.reading_room: "reading_room"}
CHANNEL_LABELS = {"online": "网上", "reading_room": "阅览室"}
KINDS = ("view", "download", "export")
MAX_QUERY = 100  # characters of a query kept; longer ones are cut


class Usage:
    def __init__(self, settings: Settings, side: Any):
        self.settings, self.side = settings, side  # side.store: made on the first flush
        self._lock = threading.Lock()
        self._docs: Counter[tuple[str, str, str, str]] = Counter()  # (day, doc, channel, kind)
        self._about: dict[str, tuple[str, str, str, str]] = {}  # doc -> (title, collection, fonds, category)
        self._searches: Counter[tuple[str, str]] = Counter()  # (day, channel)
        self._empty: Counter[tuple[str, str]] = Counter()
        self._queries: Counter[tuple[str, str]] = Counter()  # (day, query)
        self._query_empty: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- counting (called by the routes; never raises) -----------------------------------------
    def document(self, audience: Audience, doc: dict[str, Any], kind: str, day: str | None = None) -> None:
        try:
            channel = CHANNELS.get(audience)
            if channel is None or not doc.get("id"):
                return
            day = day or date.today().isoformat()
            doc_id = str(doc["id"])
            with self._lock:
                self._docs[(day, doc_id, channel, kind)] += 1
                if doc_id not in self._about:
                    self._about[doc_id] = (str(doc.get("title") or ""), str(doc.get("collection") or ""),
                                           str(doc.get("fonds") or ""), str(doc.get("category") or ""))
        except Exception:
            log.exception("counting a %s failed", kind)

    def search(self, audience: Audience, named: bool, q: str, total: int) -> None:
        """One search (its first page). The query text is kept only when nobody is named."""
        try:
            channel = CHANNELS.get(audience)
            if channel is None:
                return
            day = date.today().isoformat()
            text = " ".join(q.split())[:MAX_QUERY]
            with self._lock:
                self._searches[(day, channel)] += 1
                if total == 0:
                    self._empty[(day, channel)] += 1
                if text and not named:
                    self._queries[(day, text)] += 1
                    if total == 0:
                        self._query_empty[(day, text)] += 1
        except Exception:
            log.exception("counting a search failed")

    # -- writing to the store ------------------------------------------------------------------
    def flush(self) -> None:
        with self._lock:
            docs, about, searches, empty = self._docs, self._about, self._searches, self._empty
            queries, query_empty = self._queries, self._query_empty
            self._docs, self._about, self._searches, self._empty = Counter(), {}, Counter(), Counter()
            self._queries, self._query_empty = Counter(), Counter()
        if not (docs or searches or queries):
            return
        try:
            with self.side.store.connect() as db:
                db.executemany(
                    "INSERT INTO usage_docs (day, doc_id, channel, kind, n) VALUES (?,?,?,?,?) "
                    "ON CONFLICT (day, doc_id, channel, kind) DO UPDATE SET n = n + excluded.n",
                    [(*k, n) for k, n in docs.items()])
                # The same counts summed by month and what the statistics break them down by:
                # the year's figures read these (a few thousand rows), not every document's day.
                months: Counter[tuple[str, ...]] = Counter()
                for (day, doc_id, channel, kind), n in docs.items():
                    _title, collection, fonds, category = about.get(doc_id, ("", "", "", ""))
                    months[(day[:7], channel, kind, collection, fonds, category)] += n
                db.executemany(
                    "INSERT INTO usage_months (month, channel, kind, collection, fonds, category, n) "
                    "VALUES (?,?,?,?,?,?,?) ON CONFLICT (month, channel, kind, collection, fonds, category) "
                    "DO UPDATE SET n = n + excluded.n", [(*k, n) for k, n in months.items()])
                db.executemany(
                    "INSERT INTO usage_doc_info (doc_id, title, collection, fonds, category) VALUES (?,?,?,?,?) "
                    "ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, collection = excluded.collection, "
                    "fonds = excluded.fonds, category = excluded.category",
                    [(k, *v) for k, v in about.items()])
                db.executemany(
                    "INSERT INTO usage_searches (day, channel, n, empty) VALUES (?,?,?,?) "
                    "ON CONFLICT (day, channel) DO UPDATE SET n = n + excluded.n, empty = empty + excluded.empty",
                    [(*k, n, empty.get(k, 0)) for k, n in searches.items()])
                db.executemany(
                    "INSERT INTO usage_queries (day, query, n, empty) VALUES (?,?,?,?) "
                    "ON CONFLICT (day, query) DO UPDATE SET n = n + excluded.n, empty = empty + excluded.empty",
                    [(*k, n, query_empty.get(k, 0)) for k, n in queries.items()])
        except Exception:
            # Put them back for the next turn: a busy store loses no count.
            log.exception("writing usage counts failed; kept for the next flush")
            with self._lock:
                self._docs.update(docs)
                self._searches.update(searches)
                self._empty.update(empty)
                self._queries.update(queries)
                self._query_empty.update(query_empty)
                for k, v in about.items():
                    self._about.setdefault(k, v)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="chayue-usage", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.usage_flush_seconds):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()


def of(app: Any) -> Usage | None:
    return getattr(app.state, "usage", None)


def named_caller(request: Any, settings: Settings) -> bool:
    """Whether the caller names a person: any key other than the shared reading-room key
    (a personal key, the staff key). The shared key and the terminal network name nobody."""
    from api.access import _presented_key, _same

    key = _presented_key(request)
    return bool(key) and not _same(key, settings.reading_room_key)


def searched(request: Any, audience: Audience, q: str, total: int) -> None:
    """The search route's hook: counts one search, its text only when the caller is anonymous."""
    counter = of(request.app)
    if counter is not None and audience in CHANNELS:
        try:
            named = named_caller(request, request.app.state.settings)
        except Exception:
            named = True  # in doubt, keep no text
        counter.search(audience, named, q, total)


# -- reading the counts (staff only) -------------------------------------------------------------
def report(store: Any, since: str, until: str, limit: int = 50) -> dict[str, Any]:
    """The counts between two days (inclusive): per document, searches per day, and the most
    frequent and the fruitless queries."""
    span = (since, until)
    with store.connect() as db:
        docs = db.execute(
            "SELECT u.doc_id, i.title, i.collection, i.fonds, i.category, "
            "sum(CASE WHEN kind='view' THEN n ELSE 0 END) AS views, "
            "sum(CASE WHEN kind='download' THEN n ELSE 0 END) AS downloads, "
            "sum(CASE WHEN kind='export' THEN n ELSE 0 END) AS exports "
            "FROM usage_docs u LEFT JOIN usage_doc_info i ON i.doc_id = u.doc_id "
            "WHERE day BETWEEN ? AND ? GROUP BY u.doc_id ORDER BY views + downloads + exports DESC, u.doc_id "
            "LIMIT ?", (*span, limit)).fetchall()
        days = db.execute("SELECT day, channel, n, empty FROM usage_searches WHERE day BETWEEN ? AND ? "
                          "ORDER BY day, channel", span).fetchall()
        frequent = db.execute("SELECT query, sum(n) AS n, sum(empty) AS empty FROM usage_queries "
                              "WHERE day BETWEEN ? AND ? GROUP BY query ORDER BY n DESC, query LIMIT ?",
                              (*span, limit)).fetchall()
        fruitless = db.execute("SELECT query, sum(empty) AS n FROM usage_queries WHERE day BETWEEN ? AND ? "
                               "GROUP BY query HAVING sum(empty) > 0 ORDER BY n DESC, query LIMIT ?",
                               (*span, limit)).fetchall()
    return {"since": since, "until": until,
            "documents": [dict(r) for r in docs],
            "searches": [{**dict(r), "channel_label": CHANNEL_LABELS.get(r["channel"], r["channel"])} for r in days],
            "frequent": [dict(r) for r in frequent],
            "fruitless": [dict(r) for r in fruitless]}
