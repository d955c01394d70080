"""The reading room's register (利用登记): who came, why, what they consulted, how many pages
were copied and what came of it (利用效果).

Personal information (个人信息保护法):
- The visitor's name and identity-document number are encrypted with AES-GCM (the
  `cryptography` package) under a key that is *not* in the data directory: the
  `CHAYUE_REGISTER_KEY` setting or the file `CHAYUE_REGISTER_KEY_FILE` names (refused when it
  lies inside the data directory). A copy of the data directory alone holds ciphertext only.
  A keyed digest (HMAC-SHA256 under a key derived from the same key) of the identity number
  finds one person's visits for an export on request, without decrypting every row.
- Only 阅览室 and 管理员 read the register, and every read is in the audit trail (which
  names the visit, never the person: the trail cannot be erased).
- After `CHAYUE_REGISTER_RETENTION_DAYS` a visit's personal fields are erased (set to NULL
  with SQLite's secure_delete on, the WAL checkpointed); its day, purpose, items and copies
  stay, so every count (人次, 卷次, pages) is unchanged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settings import Settings
from staff import audit, opening
from staff.store import Store

ID_TYPES = ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "军官证", "工作证", "其他")
READERS = ("reading_room", "admin")
ERASED = "（已删除）"


class RegisterError(ValueError):
    """A visit that cannot be recorded so (unknown purpose, item, or visit)."""


class KeyMissing(RuntimeError):
    """No register key, or one kept where it must not be."""


def purposes(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.register_purposes.split(",") if p.strip()]


def new_key() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Cipher:
    """AES-GCM for the personal fields and an HMAC for finding a person's visits; both keys
    derived from the one register key, each for its own purpose."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(hmac.new(key, b"chayue.register.encrypt", hashlib.sha256).digest())
        self._lookup = hmac.new(key, b"chayue.register.lookup", hashlib.sha256).digest()

    def seal(self, text: str, field: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, text.encode("utf-8"), field.encode())

    def open(self, blob: bytes | None, field: str) -> str | None:
        if blob is None:
            return None
        try:
            return self._aead.decrypt(blob[:12], blob[12:], field.encode()).decode("utf-8")
        except InvalidTag as exc:
            raise KeyMissing("登记密钥与记录不符 / the register key does not open these records") from exc

    def digest(self, id_type: str, number: str) -> str:
        return hmac.new(self._lookup, f"{id_type}\x00{normalise(number)}".encode(), hashlib.sha256).hexdigest()


def normalise(number: str) -> str:
    return "".join(number.split()).upper()


def cipher(settings: Settings) -> Cipher:
    """The register's cipher, or KeyMissing: no key set, a key of the wrong size, or a key file
    inside the data directory (where a copy of the directory would carry it)."""
    text = settings.register_key
    if text is None and settings.register_key_file is not None:
        path = Path(settings.register_key_file).resolve()
        if path.is_relative_to(Path(settings.data).resolve()):
            raise KeyMissing("登记密钥文件不能放在数据目录中 / the register key file must not be inside the data directory")
        try:
            text = path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise KeyMissing(f"无法读取登记密钥文件 / cannot read the register key file: {exc.strerror}") from exc
    if not text:
        raise KeyMissing("未设置登记密钥（CHAYUE_REGISTER_KEY 或 CHAYUE_REGISTER_KEY_FILE）/ "
                         "no register key set (CHAYUE_REGISTER_KEY or CHAYUE_REGISTER_KEY_FILE)")
    try:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyMissing("登记密钥格式不正确 / the register key is not base64") from exc
    if len(key) != 32:
        raise KeyMissing("登记密钥须为 32 字节（chayue register key 生成）/ the register key must be 32 bytes "
                         "(make one with `chayue register key`)")
    return Cipher(key)


@dataclass
class ItemIn:
    ref: str  # an id or a 档号
    copies: int = 0


def _resolve(db, engine: Any, ref: str) -> dict[str, Any]:
    """An item by id or 档号: the archival items the indexer registered, else (a current
    document) the index as staff see it."""
    row = db.execute("SELECT id, title, archival_code, fonds, category FROM items WHERE id = ? OR archival_code = ? "
                     "ORDER BY id = ? DESC LIMIT 1", (ref, ref, ref)).fetchone()
    if row is not None:
        return {**dict(row), "collection": "archive"}
    doc = engine.get(ref, _staff_audience()) if engine is not None else None
    if doc is None:
        raise RegisterError(f"找不到档案 {ref} / no item {ref}")
    return {"id": doc["id"], "title": doc.get("title") or "", "archival_code": doc.get("archival_code"),
            "fonds": doc.get("fonds"), "category": doc.get("category"), "collection": doc.get("collection") or ""}


def _staff_audience():
    from engine.model import Audience

    return Audience.staff


def _add_items(db, engine: Any, visit_id: int, items: list[ItemIn]) -> int:
    # The visit's day and purpose are kept on each item too (they never change), so the
    # statistics sum items in one table.
    visit = _visit_row(db, visit_id)
    n = 0
    for item in items:
        if item.copies < 0:
            raise RegisterError("复制页数不能为负 / copies cannot be negative")
        found = _resolve(db, engine, item.ref.strip())
        db.execute("INSERT INTO register_items (visit_id, day, purpose, item_id, archival_code, title, collection, fonds, "
                   "category, copies, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (visit_id, visit["day"], visit["purpose"], found["id"], found.get("archival_code"), found["title"], found.get("collection") or "",
                    found.get("fonds") or "", found.get("category") or "", item.copies, _now()))
        n += 1
    return n


def register_visit(store: Store, settings: Settings, engine: Any, actor: str, name: str, id_type: str,
                   id_number: str, purpose: str, items: list[ItemIn], day: date | None = None,
                   outcome: str | None = None) -> int:
    c = cipher(settings)
    if purpose not in purposes(settings):
        raise RegisterError(f"利用目的须为：{'、'.join(purposes(settings))} / unknown purpose {purpose!r}")
    if id_type not in ID_TYPES:
        raise RegisterError(f"证件类型须为：{'、'.join(ID_TYPES)} / unknown identity document type")
    if not name.strip() or not normalise(id_number):
        raise RegisterError("请填写姓名和证件号码 / name and identity number are required")
    day = day or opening.today(settings)
    with store.connect() as db:
        cur = db.execute(
            "INSERT INTO register_visits (day, purpose, name_enc, id_type, id_number_enc, id_digest, outcome, "
            "created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?)",
            (day.isoformat(), purpose, c.seal(name.strip(), "name"), id_type, c.seal(normalise(id_number), "id_number"),
             c.digest(id_type, id_number), outcome, _now(), actor))
        visit_id = int(cur.lastrowid or 0)
        n = _add_items(db, engine, visit_id, items)
        # The trail names the visit, never the person: it is append-only and cannot be erased.
        audit.append(db, store, actor, "register.visit", str(visit_id), {"purpose": purpose, "items": n})
    return visit_id


def add_items(store: Store, engine: Any, actor: str, visit_id: int, items: list[ItemIn]) -> int:
    with store.connect() as db:
        n = _add_items(db, engine, visit_id, items)
        audit.append(db, store, actor, "register.items", str(visit_id), {"items": n})
    return n


def set_outcome(store: Store, actor: str, visit_id: int, outcome: str | None,
                copies: dict[int, int] | None = None) -> None:
    """The outcome (利用效果), and pages copied per consulted item (by its row number)."""
    with store.connect() as db:
        _visit_row(db, visit_id)
        if outcome is not None:
            db.execute("UPDATE register_visits SET outcome = ? WHERE id = ?", (outcome, visit_id))
        for row, pages in (copies or {}).items():
            if pages < 0:
                raise RegisterError("复制页数不能为负 / copies cannot be negative")
            if db.execute("UPDATE register_items SET copies = ? WHERE id = ? AND visit_id = ?",
                          (pages, row, visit_id)).rowcount != 1:
                raise RegisterError(f"登记中没有第 {row} 项 / no consulted item {row} in this visit")
        audit.append(db, store, actor, "register.outcome", str(visit_id),
                     {"outcome": outcome is not None, "copies": len(copies or {})})


def _visit_row(db, visit_id: int):
    row = db.execute("SELECT * FROM register_visits WHERE id = ?", (visit_id,)).fetchone()
    if row is None:
        raise RegisterError(f"没有登记 {visit_id} / no visit {visit_id}")
    return row


def _visit_out(db, c: Cipher | None, row) -> dict[str, Any]:
    items = db.execute("SELECT id, item_id, archival_code, title, fonds, category, copies FROM register_items "
                       "WHERE visit_id = ? ORDER BY id", (row["id"],)).fetchall()
    erased = row["erased_at"] is not None
    return {"id": row["id"], "day": row["day"], "purpose": row["purpose"],
            "name": ERASED if erased else (c.open(row["name_enc"], "name") if c else None),
            "id_type": ERASED if erased else row["id_type"],
            "id_number": ERASED if erased else (c.open(row["id_number_enc"], "id_number") if c else None),
            "outcome": row["outcome"], "erased_at": row["erased_at"], "created_by": row["created_by"],
            "items": [{"row": i["id"], "id": i["item_id"], "archival_code": i["archival_code"], "title": i["title"],
                       "fonds": i["fonds"], "category": i["category"], "copies": i["copies"]} for i in items],
            "copies": sum(i["copies"] for i in items)}


def visits(store: Store, settings: Settings, actor: str, since: str, until: str) -> list[dict[str, Any]]:
    c = cipher(settings)
    with store.connect() as db:
        rows = db.execute("SELECT * FROM register_visits WHERE day BETWEEN ? AND ? ORDER BY day DESC, id DESC",
                          (since, until)).fetchall()
        out = [_visit_out(db, c, r) for r in rows]
        audit.append(db, store, actor, "register.read", f"{since}..{until}", {"visits": [r["id"] for r in rows]})
    return out


def visit(store: Store, settings: Settings, actor: str, visit_id: int) -> dict[str, Any]:
    c = cipher(settings)
    with store.connect() as db:
        out = _visit_out(db, c, _visit_row(db, visit_id))
        audit.append(db, store, actor, "register.read", str(visit_id), {})
    return out


def person(store: Store, settings: Settings, actor: str, id_type: str, id_number: str) -> dict[str, Any]:
    """Everything the register holds about one person (个人信息查阅、复制), found by the keyed
    digest of their identity number."""
    c = cipher(settings)
    with store.connect() as db:
        rows = db.execute("SELECT * FROM register_visits WHERE id_digest = ? ORDER BY day, id",
                          (c.digest(id_type, id_number),)).fetchall()
        out = [_visit_out(db, c, r) for r in rows]
        audit.append(db, store, actor, "register.export_person", "", {"visits": [r["id"] for r in rows]})
    return {"id_type": id_type, "visits": out, "exported_at": _now(),
            "retention_days": settings.register_retention_days}


def purge(store: Store, settings: Settings, actor: str = "scheduler", today: date | None = None) -> int:
    """Erases the personal fields of visits older than the retention period; the visit, its
    purpose, items and copies stay. No key needed: nothing is read, only removed."""
    cutoff = ((today or opening.today(settings)) - timedelta(days=settings.register_retention_days)).isoformat()
    with store.connect() as db:
        db.execute("PRAGMA secure_delete=ON")  # freed bytes are overwritten, not left in free pages
        ids = [r[0] for r in db.execute("SELECT id FROM register_visits WHERE day < ? AND erased_at IS NULL",
                                        (cutoff,))]
        if not ids:
            return 0
        db.executemany("UPDATE register_visits SET name_enc = NULL, id_type = NULL, id_number_enc = NULL, "
                       "id_digest = NULL, erased_at = ? WHERE id = ?", [(_now(), i) for i in ids])
        audit.append(db, store, actor, "register.purge", f"<{cutoff}", {"visits": len(ids)})
    checkpoint = sqlite3.connect(store.path, timeout=30)
    try:  # the old pages in the WAL go too
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        checkpoint.close()
    return len(ids)


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# -- a reading-room terminal bound to a visit ------------------------------------------------------
TERMINAL_HOURS = 8


def terminal_code(store: Store, actor: str, visit_id: int) -> dict[str, Any]:
    """A code of eight digits the visitor types at a reading-room terminal (valid for
    TERMINAL_HOURS): from then on what they open there is recorded under their visit."""
    until = time.time() + TERMINAL_HOURS * 3600
    with store.connect() as db:
        _visit_row(db, visit_id)
        db.execute("DELETE FROM register_terminal_codes WHERE until < ?", (time.time(),))
        while True:
            code = f"{secrets.randbelow(10**8):08d}"
            if db.execute("SELECT 1 FROM register_terminal_codes WHERE code = ?", (code,)).fetchone() is None:
                break
        db.execute("INSERT INTO register_terminal_codes (code, visit_id, until) VALUES (?,?,?)", (code, visit_id, until))
        audit.append(db, store, actor, "register.terminal_code", str(visit_id), {})
    return {"code": code, "until": datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")}


def bind_terminal(store: Store, code: str) -> int | None:
    """The visit a terminal code names (None: no such code, or expired)."""
    with store.connect() as db:
        row = db.execute("SELECT visit_id FROM register_terminal_codes WHERE code = ? AND until >= ?",
                         (code.strip(), time.time())).fetchone()
        if row is not None:
            audit.append(db, store, "阅览终端 terminal", "register.terminal_bound", str(row[0]), {})
    return int(row[0]) if row else None


def terminal_view(store: Store, visit_id: int, doc: dict[str, Any]) -> None:
    """A document opened at a terminal bound to the visit: one consulted item (once)."""
    with store.connect() as db:
        visit = db.execute("SELECT day, purpose FROM register_visits WHERE id = ?", (visit_id,)).fetchone()
        if visit is None or db.execute("SELECT 1 FROM register_items WHERE visit_id = ? AND item_id = ?",
                                       (visit_id, doc["id"])).fetchone():
            return
        db.execute("INSERT INTO register_items (visit_id, day, purpose, item_id, archival_code, title, collection, fonds, "
                   "category, copies, added_at) VALUES (?,?,?,?,?,?,?,?,?,0,?)",
                   (visit_id, visit["day"], visit["purpose"], doc["id"], doc.get("archival_code"), doc.get("title") or "",
                    doc.get("collection") or "", doc.get("fonds") or "", doc.get("category") or "", _now()))
