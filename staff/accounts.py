"""Staff accounts: who may sign in, with which role, and every security decision about them
in one place (after pypi/warehouse's accounts service).

- Passwords are hashed with argon2 (argon2-cffi); a hash made with older parameters is
  replaced on the next good sign-in.
- Sign-in is throttled per account and overall, checked *before* the hash is computed, and
  failures are counted whether or not the account exists.
- Sessions are server-side rows named by a random id; the cookie carries that id signed
  (itsdangerous, salt per purpose) with a maximum age. A session ends when signed out, when
  idle too long, at its maximum age, or when its account is disabled or its password reset.
- CSRF tokens are the session id signed under another purpose: a page of another site can
  send the cookie but cannot read the token.
- Personal API keys are random, shown once, stored as their SHA-256 only."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from settings import Settings
from staff import audit
from staff.store import Store

ROLES = {"admin": "管理员", "reviewer": "审核员", "reading_room": "阅览室"}
KEY_PREFIX = "cy_"


class SignInRefused(Exception):
    """A sign-in that did not succeed; `throttled` when refused before the password was read."""

    def __init__(self, throttled: bool = False):
        super().__init__("throttled" if throttled else "refused")
        self.throttled = throttled


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    name: str
    role: str
    disabled: bool

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    @property
    def label(self) -> str:
        """How the audit trail and the pages name this person."""
        return f"{self.name}（{self.username}）"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _secret(store: Store) -> bytes:
    """The signing secret, made once and kept beside the store, readable by its owner only."""
    path = store.path.with_name("staff.secret")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode()


class Accounts:
    def __init__(self, store: Store, settings: Settings):
        self.store, self.settings = store, settings
        self.hasher = PasswordHasher()
        secret = _secret(store)
        self._sessions = URLSafeTimedSerializer(secret, salt="chayue.staff.session")
        self._csrf = URLSafeTimedSerializer(secret, salt="chayue.staff.csrf")
        # A hash to spend the same time on when the account does not exist.
        self._dummy = self.hasher.hash(secrets.token_hex(16))

    # -- accounts ---------------------------------------------------------------------------
    def create(self, username: str, name: str, role: str, password: str, actor: str = "cli") -> Account:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        check_password(password)
        with self.store.connect() as db:
            if db.execute("SELECT 1 FROM accounts WHERE username = ?", (username,)).fetchone():
                raise ValueError(f"account {username!r} exists already")
            db.execute("INSERT INTO accounts (username, name, role, password_hash, created_at, password_changed_at) "
                       "VALUES (?,?,?,?,?,?)", (username, name, role, self.hasher.hash(password), _now_iso(), _now_iso()))
            audit.append(db, self.store, actor, "account.create", username, {"role": role, "name": name})
        account = self.get(username)
        assert account is not None
        return account

    def get(self, username: str) -> Account | None:
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()
        return _account(row) if row else None

    def by_id(self, account_id: int) -> Account | None:
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return _account(row) if row else None

    def all(self) -> list[Account]:
        with self.store.connect() as db:
            return [_account(r) for r in db.execute("SELECT * FROM accounts ORDER BY username")]

    def set_disabled(self, username: str, disabled: bool, actor: str = "cli") -> None:
        with self.store.connect() as db:
            row = db.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise ValueError(f"no account {username!r}")
            db.execute("UPDATE accounts SET disabled = ? WHERE id = ?", (int(disabled), row["id"]))
            if disabled:
                db.execute("UPDATE sessions SET ended = 1 WHERE account_id = ?", (row["id"],))
            audit.append(db, self.store, actor, "account.disable" if disabled else "account.enable", username)

    def reset_password(self, username: str, password: str, actor: str = "cli") -> None:
        check_password(password)
        with self.store.connect() as db:
            row = db.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise ValueError(f"no account {username!r}")
            db.execute("UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                       (self.hasher.hash(password), _now_iso(), row["id"]))
            db.execute("UPDATE sessions SET ended = 1 WHERE account_id = ?", (row["id"],))
            db.execute("DELETE FROM signin_failures WHERE username = ?", (username,))
            audit.append(db, self.store, actor, "account.reset", username)

    # -- sign-in ----------------------------------------------------------------------------
    def throttled(self, username: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        since = now - self.settings.signin_window_minutes * 60
        with self.store.connect() as db:
            db.execute("DELETE FROM signin_failures WHERE at < ?", (since,))
            mine = db.execute("SELECT count(*) FROM signin_failures WHERE username = ?", (username,)).fetchone()[0]
            every = db.execute("SELECT count(*) FROM signin_failures").fetchone()[0]
        return mine >= self.settings.signin_account_failures or every >= self.settings.signin_global_failures

    def sign_in(self, username: str, password: str, client: str = "") -> Account:
        """The account, or SignInRefused. Throttling comes first, so a throttled attacker
        costs no hash and learns nothing from the answer's timing."""
        username = username.strip()[:64]
        if self.throttled(username):
            audit.record(self.store, username or "-", "signin.throttled", username, {"client": client})
            raise SignInRefused(throttled=True)
        with self.store.connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone()
        ok = False
        try:
            ok = self.hasher.verify(row["password_hash"] if row else self._dummy, password) and row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row["disabled"]:
            with self.store.connect() as db:
                db.execute("INSERT INTO signin_failures (username, at) VALUES (?, ?)", (username, time.time()))
                audit.append(db, self.store, username or "-", "signin.failed", username, {"client": client})
            raise SignInRefused()
        account = _account(row)
        with self.store.connect() as db:
            if self.hasher.check_needs_rehash(row["password_hash"]):
                db.execute("UPDATE accounts SET password_hash = ? WHERE id = ?",
                           (self.hasher.hash(password), account.id))
            db.execute("DELETE FROM signin_failures WHERE username = ?", (username,))
            audit.append(db, self.store, account.label, "signin", username, {"client": client})
        return account

    # -- sessions ---------------------------------------------------------------------------
    def start_session(self, account: Account) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.connect() as db:
            db.execute("INSERT INTO sessions (id, account_id, created, last_seen) VALUES (?,?,?,?)",
                       (sid, account.id, now, now))
        return self._sessions.dumps(sid)

    def session(self, token: str | None) -> tuple[Account, str] | None:
        """The signed-in account and the session id, or None (unsigned, too old, idle too
        long, ended, account disabled). A good call counts as activity."""
        if not token:
            return None
        max_age = self.settings.staff_session_hours * 3600
        try:
            sid = self._sessions.loads(token, max_age=math.ceil(max_age))  # whole seconds; exact below
        except BadSignature:
            return None
        now = time.time()
        with self.store.connect() as db:
            row = db.execute("SELECT s.*, a.username FROM sessions s JOIN accounts a ON a.id = s.account_id "
                             "WHERE s.id = ?", (sid,)).fetchone()
            if row is None or row["ended"]:
                return None
            if now - row["created"] > max_age or now - row["last_seen"] > self.settings.staff_idle_minutes * 60:
                db.execute("UPDATE sessions SET ended = 1 WHERE id = ?", (sid,))
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (now, sid))
        account = self.by_id(row["account_id"])
        if account is None or account.disabled:
            return None
        return account, sid

    def end_session(self, sid: str) -> None:
        with self.store.connect() as db:
            db.execute("UPDATE sessions SET ended = 1 WHERE id = ?", (sid,))

    def csrf_token(self, sid: str) -> str:
        return self._csrf.dumps(sid)

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        if not token:
            return False
        try:
            signed = self._csrf.loads(token, max_age=math.ceil(self.settings.staff_session_hours * 3600))
        except BadSignature:
            return False
        return isinstance(signed, str) and hmac.compare_digest(signed, sid)

    # -- personal API keys ------------------------------------------------------------------
    def new_key(self, account: Account, actor: str) -> str:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.store.connect() as db:
            db.execute("INSERT INTO api_keys (account_id, digest, prefix, created_at) VALUES (?,?,?,?)",
                       (account.id, _digest(key), key[:8], _now_iso()))
            audit.append(db, self.store, actor, "apikey.create", account.username, {"prefix": key[:8]})
        return key

    def revoke_keys(self, account: Account, actor: str) -> int:
        with self.store.connect() as db:
            n = db.execute("UPDATE api_keys SET revoked = 1 WHERE account_id = ? AND revoked = 0", (account.id,)).rowcount
            audit.append(db, self.store, actor, "apikey.revoke", account.username, {"keys": n})
        return n

    def by_key(self, key: str | None) -> Account | None:
        if not key or not key.startswith(KEY_PREFIX):
            return None
        with self.store.connect() as db:
            row = db.execute("SELECT a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id "
                             "WHERE k.digest = ? AND k.revoked = 0", (_digest(key),)).fetchone()
        if row is None or row["disabled"]:
            return None
        return _account(row)


def _digest(key: str) -> str:
    # A random key of 256 bits needs no slow hash: SHA-256 cannot be reversed to it.
    return hashlib.sha256(key.encode()).hexdigest()


def _account(row) -> Account:
    return Account(id=row["id"], username=row["username"], name=row["name"], role=row["role"],
                   disabled=bool(row["disabled"]))


def check_password(password: str) -> None:
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters / 密码至少 10 个字符")


def store_for(data: Path) -> Store:
    from staff.store import store_path

    return Store(store_path(data))
