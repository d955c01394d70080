"""The opening review (开放审核): each archival item's 开放标识 and the day it is due to open,
decisions made in two steps by two people (初审, then 审定), withdrawals, and the opening
of approved items on their day (开放批次).

Access decisions are data here; they reach the index through the outbox, which the one
writer drains (staff/publish.py), and the indexer asks `effective_access` whenever it
writes an item, so a re-index keeps every decision. A withdrawal also hides the item at
once from every public read through the engine's access filter (`Withheld`), before the
writer has caught up. See docs/decisions/opening-review.md."""

from __future__ import annotations

import sqlite3
import threading
import time
import tomllib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, UTC
from pathlib import Path
from typing import Any

from settings import Settings
from staff import audit
from staff.accounts import Account
from staff.store import Store

UNREVIEWED, OPEN, CONTROLLED, DEFERRED = "未审核", "开放", "控制使用", "延期开放"
MARKS = (UNREVIEWED, OPEN, CONTROLLED, DEFERRED)
DECISIONS = (OPEN, CONTROLLED, DEFERRED)
NEEDS_REASON = (CONTROLLED, DEFERRED)
DECIDERS = ("admin", "reviewer")
SYSTEM = "系统 system"


class ReviewError(ValueError):
    """A review step the rules do not allow; the message is shown to the person, in Chinese first."""


# -- the clock ------------------------------------------------------------------------------
def today(settings: Settings) -> date:
    """The archive's day. Tests set `clock_file` to move it without waiting for midnight."""
    if settings.clock_file is not None:
        try:
            return date.fromisoformat(Path(settings.clock_file).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            pass
    return date.today()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- rules: when an item is due to open ---------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    years: int
    label: str = ""
    category: str | None = None
    fonds: str | None = None
    retention: str | None = None

    def matches(self, item: dict[str, Any]) -> bool:
        wanted = [(self.category, item.get("category")), (self.fonds, item.get("fonds")),
                  (self.retention, item.get("retention"))]
        named = [(w, v) for w, v in wanted if w is not None]
        return bool(named) and all(v is not None and (v == w or str(v).startswith(w + " ")) for w, v in named)


@dataclass(frozen=True)
class Rules:
    default_years: int = 25  # Archives Law (2020) art. 27
    deferral_review_years: int = 5  # a 延期开放 item is reviewed again after this long unless told
    rules: tuple[Rule, ...] = ()
    source: str = "默认规则 / built-in default"
    text: str = ""

    def years_for(self, item: dict[str, Any]) -> tuple[int, str]:
        for rule in self.rules:  # the first rule that matches wins
            if rule.matches(item):
                return rule.years, rule.label or f"{rule.years} 年"
        return self.default_years, f"形成满 {self.default_years} 年"


DEFAULT_RULES_TEXT = """\
# 开放规则 / opening rules. Items open this many years after they were formed (成文日期).
# The first [[rule]] that matches an item wins; a rule names one or more of category,
# fonds, retention (保管期限), all of which must match. A manifest's 开放日期 column wins
# over every rule.
default_years = 25
deferral_review_years = 5

# [[rule]]
# label = "经济、科学、技术、文化类提前开放"
# category = "科技"
# years = 10
"""


def load_rules(settings: Settings) -> Rules:
    path = settings.opening_rules or settings.data / "opening-rules.toml"
    if not Path(path).exists():
        return Rules(text=DEFAULT_RULES_TEXT)
    text = Path(path).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    rules = tuple(Rule(years=int(r["years"]), label=str(r.get("label", "")), category=r.get("category"),
                       fonds=r.get("fonds"), retention=r.get("retention")) for r in raw.get("rule", []))
    return Rules(default_years=int(raw.get("default_years", 25)),
                 deferral_review_years=int(raw.get("deferral_review_years", 5)),
                 rules=rules, source=str(path), text=text)


def add_years(day: date, years: int) -> date:
    """The day `years` full years after `day`: 29 February's anniversary in a common year is
    1 March (the years are full only then)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def due_date(item: dict[str, Any], rules: Rules) -> tuple[date | None, str]:
    """When the item is due to open and why: the manifest's 开放日期, else formation date
    plus the rule's years; None when the item has no formation date (it waits for review)."""
    if item.get("manifest_due"):
        return date.fromisoformat(item["manifest_due"]), "清单开放日期 / manifest"
    if not item.get("formed"):
        return None, "无形成日期 / no formation date"
    years, why = rules.years_for(item)
    return add_years(date.fromisoformat(item["formed"]), years), why


# -- items: what the indexer tells the store ------------------------------------------------------
def register(store: Store, docs: Iterable[Any]) -> None:
    """Records each archival item the indexer writes and sets its access to what the
    decisions say (the manifest's level where nobody has decided). Called by the indexer
    before it writes a batch; current documents pass untouched (except a withdrawal)."""
    docs = list(docs)
    if not docs:
        return
    with store.connect() as db:
        for doc in docs:
            if doc.collection == "archive":
                db.execute(
                    "INSERT INTO items (id, title, archival_code, formed, category, fonds, retention, classification, "
                    "manifest_access, manifest_due, manifest_mark, registered_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET title=excluded.title, archival_code=excluded.archival_code, "
                    "formed=excluded.formed, category=excluded.category, fonds=excluded.fonds, "
                    "retention=excluded.retention, classification=excluded.classification, "
                    "manifest_access=excluded.manifest_access, manifest_due=excluded.manifest_due, "
                    "manifest_mark=excluded.manifest_mark",
                    (doc.id, doc.title, doc.archival_code, doc.date.isoformat() if doc.date else None, doc.category,
                     doc.fonds, doc.retention, doc.classification, doc.access,
                     doc.opening_due.isoformat() if getattr(doc, "opening_due", None) else None,
                     getattr(doc, "opening_mark", None), _now()))
            doc.access = effective_access(db, doc.id, doc.access)


def effective_access(db: sqlite3.Connection, item_id: str, manifest_access: str) -> str:
    """What the index should hold for an item: withdrawn or kept closed by a decision →
    restricted; decided 开放 → open once its opening batch has been made, restricted until
    then; no decision → the manifest's level."""
    if db.execute("SELECT 1 FROM withdrawals WHERE item_id = ? AND lifted_at IS NULL", (item_id,)).fetchone():
        return "restricted"
    row = db.execute("SELECT mark, opened_batch FROM decisions WHERE item_id = ?", (item_id,)).fetchone()
    if row is None:
        return manifest_access
    if row["mark"] == OPEN:
        return "open" if row["opened_batch"] is not None else "restricted"
    return "restricted"


def _queue_change(db: sqlite3.Connection, item_id: str, access: str) -> None:
    db.execute("INSERT INTO outbox (item_id, access, queued_at) VALUES (?,?,?)", (item_id, access, _now()))


# -- the state of an item, as the queue shows it ---------------------------------------------------
@dataclass
class ItemState:
    id: str
    title: str
    archival_code: str | None
    formed: str | None
    category: str | None
    fonds: str | None
    retention: str | None
    classification: str | None
    mark: str
    due: str | None
    due_why: str
    decision: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    withdrawn: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _names(db: sqlite3.Connection) -> dict[int, str]:
    return {r["id"]: f"{r['name']}（{r['username']}）" for r in db.execute("SELECT id, name, username FROM accounts")}


def states(store: Store, rules: Rules, ids: Iterable[str] | None = None) -> list[ItemState]:
    with store.connect() as db:
        names = _names(db)
        if ids is None:
            rows = db.execute("SELECT * FROM items ORDER BY formed, id").fetchall()
        else:
            wanted = list(dict.fromkeys(ids))
            rows = []
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                rows += db.execute(f"SELECT * FROM items WHERE id IN ({','.join('?' * len(part))})", part).fetchall()
        decisions = {r["item_id"]: dict(r) for r in db.execute(
            "SELECT d.*, r.first_by, r.final_by, r.first_at, r.final_at FROM decisions d "
            "JOIN reviews r ON r.id = d.review_id")}
        pending = {r["item_id"]: dict(r) for r in db.execute("SELECT * FROM reviews WHERE final_at IS NULL")}
        withdrawn = {r["item_id"]: dict(r) for r in db.execute("SELECT * FROM withdrawals WHERE lifted_at IS NULL")}
    out = []
    for r in rows:
        item = dict(r)
        due, why = due_date(item, rules)
        d = decisions.get(item["id"])
        if d:
            d = {"mark": d["mark"], "reason": d["reason"], "open_on": d["open_on"], "next_review": d["next_review"],
                 "first_by": names.get(d["first_by"]), "final_by": names.get(d["final_by"]),
                 "decided_at": d["decided_at"], "opened_batch": d["opened_batch"]}
        p = pending.get(item["id"])
        if p:
            p = {"batch": p["batch"], "decision": p["decision"], "reason": p["reason"], "open_on": p["open_on"],
                 "next_review": p["next_review"], "first_by": names.get(p["first_by"]), "first_at": p["first_at"]}
        w = withdrawn.get(item["id"])
        if w:
            w = {"reason": w["reason"], "by": names.get(w["by"]), "at": w["at"]}
        mark = d["mark"] if d else (item["manifest_mark"] if item["manifest_mark"] in MARKS else UNREVIEWED)
        out.append(ItemState(id=item["id"], title=item["title"], archival_code=item["archival_code"],
                             formed=item["formed"], category=item["category"], fonds=item["fonds"],
                             retention=item["retention"], classification=item["classification"], mark=mark,
                             due=due.isoformat() if due else None, due_why=why, decision=d, pending=p, withdrawn=w))
    return out


def in_view(state: ItemState, view: str, day: date, horizon_days: int) -> bool:
    """The queue's views: due within the horizon and not yet decided; flagged by 密级
    detection; never reviewed; waiting for 审定; 延期开放 items whose review day has come."""
    if view == "all":
        return True
    if view == "due":
        return (state.decision is None and state.due is not None
                and date.fromisoformat(state.due) <= day + timedelta(days=horizon_days))
    if view == "flagged":
        return bool(state.classification)
    if view == "unreviewed":
        return state.decision is None and state.mark == UNREVIEWED
    if view == "pending":
        return state.pending is not None
    if view == "review_again":
        return (state.decision is not None and state.decision["mark"] == DEFERRED
                and state.decision["next_review"] is not None
                and date.fromisoformat(state.decision["next_review"]) <= day + timedelta(days=horizon_days))
    raise ReviewError(f"未知的视图 / unknown view {view!r}")


# -- two steps by two people -------------------------------------------------------------------------
def first_review(store: Store, rules: Rules, settings: Settings, who: Account, ids: list[str], decision: str,
                 reason: str | None = None, open_on: str | None = None, next_review: str | None = None) -> str:
    """初审: proposes one decision for the items (one 开放批次 of review); returns the batch's name."""
    if who.role not in DECIDERS:
        raise ReviewError("只有审核员和管理员可以审核 / only reviewers and administrators review")
    if decision not in DECISIONS:
        raise ReviewError(f"审核结论须为 {'、'.join(DECISIONS)} / unknown decision")
    reason = (reason or "").strip() or None
    if decision in NEEDS_REASON and not reason:
        raise ReviewError(f"“{decision}”须写明理由 / a reason is required for {decision}")
    if not ids:
        raise ReviewError("没有选中的档案 / no items chosen")
    day = today(settings)
    found = {s.id: s for s in states(store, rules, ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ReviewError(f"不是已登记的档案条目 / not registered archival items: {', '.join(missing[:5])}")
    busy = [i for i in ids if found[i].pending]
    if busy:
        raise ReviewError(f"已有待审定的初审 / already waiting for 审定: {', '.join(busy[:5])}")
    if decision == DEFERRED:
        next_review = next_review or add_years(day, rules.deferral_review_years).isoformat()
        date.fromisoformat(next_review)
    else:
        next_review = None
    batch = f"{day:%Y%m%d}-{uuid.uuid4().hex[:6]}"
    with store.connect() as db:
        for i in ids:
            when = open_on if decision == OPEN else None
            if decision == OPEN and when is None:
                due = found[i].due
                when = due if due and due > day.isoformat() else day.isoformat()
            if when:
                date.fromisoformat(when)
            db.execute("INSERT INTO reviews (item_id, batch, decision, reason, open_on, next_review, first_by, first_at) "
                       "VALUES (?,?,?,?,?,?,?,?)", (i, batch, decision, reason, when, next_review, who.id, _now()))
        audit.append(db, store, who.label, "review.first", batch,
                     {"decision": decision, "reason": reason, "items": ids, "open_on": open_on, "next_review": next_review})
    return batch


def pending_batches(store: Store) -> list[dict[str, Any]]:
    with store.connect() as db:
        names = _names(db)
        rows = db.execute("SELECT batch, decision, reason, min(open_on) AS open_on, next_review, first_by, "
                          "min(first_at) AS first_at, count(*) AS items FROM reviews WHERE final_at IS NULL "
                          "GROUP BY batch ORDER BY first_at").fetchall()
    return [{**dict(r), "first_by": names.get(r["first_by"]), "first_by_id": r["first_by"]} for r in rows]


def final_review(store: Store, who: Account, batch: str, approve: bool, note: str | None = None) -> int:
    """审定: a second person confirms (the decisions take effect) or sends the batch back.
    The person who made the 初审 is refused."""
    if who.role not in DECIDERS:
        raise ReviewError("只有审核员和管理员可以审定 / only reviewers and administrators approve")
    with store.connect() as db:
        rows = db.execute("SELECT * FROM reviews WHERE batch = ? AND final_at IS NULL", (batch,)).fetchall()
        if not rows:
            raise ReviewError("没有待审定的批次 / no such batch waiting for 审定")
        same = any(r["first_by"] == who.id for r in rows)
        if not same:
            _finish(db, store, who, batch, rows, approve, note)
    if same:  # recorded apart: the refused transaction is rolled back
        audit.record(store, who.label, "review.refused_same_person", batch)
        raise ReviewError("初审和审定须由两个不同的人完成 / the 初审 and the 审定 must be made by two different people")
    return len(rows)


def _finish(db: sqlite3.Connection, store: Store, who: Account, batch: str, rows: list[sqlite3.Row], approve: bool,
            note: str | None) -> None:
    """The 审定's writes: the reviews closed and, approved, the decisions in force."""
    now = _now()
    outcome = "approved" if approve else "returned"
    for r in rows:
        db.execute("UPDATE reviews SET final_by = ?, final_at = ?, outcome = ? WHERE id = ?",
                   (who.id, now, outcome, r["id"]))
        if not approve:
            continue
        db.execute("INSERT INTO decisions (item_id, mark, reason, open_on, next_review, review_id, decided_at, "
                   "opened_batch) VALUES (?,?,?,?,?,?,?,NULL) ON CONFLICT(item_id) DO UPDATE SET "
                   "mark=excluded.mark, reason=excluded.reason, open_on=excluded.open_on, "
                   "next_review=excluded.next_review, review_id=excluded.review_id, "
                   "decided_at=excluded.decided_at, opened_batch=NULL",
                   (r["item_id"], r["decision"], r["reason"], r["open_on"], r["next_review"], r["id"], now))
        if r["decision"] != OPEN:
            _queue_change(db, r["item_id"], "restricted")
    audit.append(db, store, who.label, "review.final", batch,
                 {"outcome": outcome, "items": [r["item_id"] for r in rows], "note": note})


# -- withdrawal ---------------------------------------------------------------------------------------
def withdraw(store: Store, who: Account, item_id: str, reason: str, access_before: str) -> int:
    if who.role not in DECIDERS:
        raise ReviewError("只有审核员和管理员可以撤回 / only reviewers and administrators withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("撤回须写明理由 / a withdrawal needs a reason")
    with store.connect() as db:
        if db.execute("SELECT 1 FROM withdrawals WHERE item_id = ? AND lifted_at IS NULL", (item_id,)).fetchone():
            raise ReviewError("该件已撤回 / already withdrawn")
        wid = db.execute("INSERT INTO withdrawals (item_id, reason, by, at) VALUES (?,?,?,?)",
                         (item_id, reason, who.id, _now())).lastrowid
        db.execute("INSERT OR IGNORE INTO withdrawn_access (item_id, access) VALUES (?, ?)", (item_id, access_before))
        _queue_change(db, item_id, "restricted")
        audit.append(db, store, who.label, "withdraw", item_id, {"reason": reason})
    return int(wid or 0)


def lift(store: Store, who: Account, item_id: str, reason: str) -> None:
    """Puts a withdrawn item back to what the decisions (or, undecided, its level before) say."""
    if who.role not in DECIDERS:
        raise ReviewError("只有审核员和管理员可以恢复 / only reviewers and administrators restore")
    with store.connect() as db:
        if not db.execute("SELECT 1 FROM withdrawals WHERE item_id = ? AND lifted_at IS NULL", (item_id,)).fetchone():
            raise ReviewError("该件未被撤回 / not withdrawn")
        db.execute("UPDATE withdrawals SET lifted_by = ?, lifted_at = ? WHERE item_id = ? AND lifted_at IS NULL",
                   (who.id, _now(), item_id))
        before = db.execute("SELECT access FROM withdrawn_access WHERE item_id = ?", (item_id,)).fetchone()
        item = db.execute("SELECT manifest_access FROM items WHERE id = ?", (item_id,)).fetchone()
        base = item["manifest_access"] if item else (before["access"] if before else "restricted")
        db.execute("DELETE FROM withdrawn_access WHERE item_id = ?", (item_id,))
        _queue_change(db, item_id, effective_access(db, item_id, base))
        audit.append(db, store, who.label, "withdraw.lift", item_id, {"reason": reason})


class Withheld:
    """The ids withdrawn from public view, read from the store at most once a second: the
    engine's access filter leaves them out of every non-staff read."""

    def __init__(self, path: Path, ttl: float = 1.0):
        self.path, self.ttl = Path(path), ttl
        self._ids: frozenset[str] = frozenset()
        self._read = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> frozenset[str]:
        if time.monotonic() - self._read < self.ttl:
            return self._ids
        with self._lock:
            if time.monotonic() - self._read >= self.ttl:
                if self.path.exists():  # no store yet: nothing was ever withdrawn
                    db = sqlite3.connect(self.path, timeout=30)
                    try:
                        self._ids = frozenset(r[0] for r in db.execute(
                            "SELECT item_id FROM withdrawals WHERE lifted_at IS NULL"))
                    except sqlite3.OperationalError:  # the store is being made: its tables come next
                        pass
                    finally:
                        db.close()
                self._read = time.monotonic()
        return self._ids


# -- opening on the day -----------------------------------------------------------------------------
def open_due(store: Store, day: date) -> int | None:
    """Makes the day's opening batch (第N批) of every approved item whose day has come and
    queues them for the index; None when nothing is due. One transaction: a crash leaves
    either no batch or the whole batch with its outbox rows, and a missed day is caught up
    by the next run (its items join that day's batch)."""
    with store.connect() as db:
        rows = db.execute(
            "SELECT d.item_id FROM decisions d WHERE d.mark = ? AND d.opened_batch IS NULL AND d.open_on <= ? "
            "AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.item_id = d.item_id AND w.lifted_at IS NULL) "
            "ORDER BY d.item_id", (OPEN, day.isoformat())).fetchall()
        if not rows:
            return None
        batch = db.execute("SELECT number FROM opening_batches WHERE day = ?", (day.isoformat(),)).fetchone()
        if batch is None:
            number = (db.execute("SELECT coalesce(max(number), 0) FROM opening_batches").fetchone()[0]) + 1
            db.execute("INSERT INTO opening_batches (number, day, created_at) VALUES (?,?,?)",
                       (number, day.isoformat(), _now()))
        else:
            number = batch["number"]
        ids = [r["item_id"] for r in rows]
        for i in ids:
            db.execute("UPDATE decisions SET opened_batch = ? WHERE item_id = ?", (number, i))
            _queue_change(db, i, "open")
        audit.append(db, store, SYSTEM, "opening.batch", str(number), {"day": day.isoformat(), "items": ids})
    return number


def batches(store: Store) -> list[dict[str, Any]]:
    with store.connect() as db:
        return [dict(r) for r in db.execute("SELECT * FROM opening_batches ORDER BY number")]


def batch_items(store: Store, number: int) -> list[str]:
    with store.connect() as db:
        return [r[0] for r in db.execute("SELECT item_id FROM decisions WHERE opened_batch = ? ORDER BY item_id",
                                         (number,))]
