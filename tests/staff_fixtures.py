"""Shared by the staff-side tests: accounts made through the real service, a signed-in
client, and archival items registered as the indexer registers them."""

from __future__ import annotations

from datetime import date

from engine.model import Document, Page
from settings import Settings
from staff.accounts import Accounts
from staff.store import Store

PASSWORD = "correct horse battery"


def make_accounts(settings: Settings, *people: tuple[str, str, str]) -> Accounts:
    accounts = Accounts(Store(settings.staff_path), settings)
    for username, name, role in people:
        if accounts.get(username) is None:
            accounts.create(username, name, role, PASSWORD, "test")
    return accounts


def sign_in(client, username: str, password: str = PASSWORD) -> str:
    """Signs the client in; the CSRF token the page would keep."""
    resp = client.post("/staff/api/signin", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()["csrf"]


def archive_item(i: int, formed: date | None, access: str = "restricted", **kw) -> Document:
    return Document(id=f"J012-{i:04d}", collection="archive", title=kw.pop("title", f"佳木斯市林业局关于湿地第{i}号的报告"),
                    pages=[Page(1, kw.pop("body", f"湿地保护档案第{i}件，形成于{formed}。"))],
                    date=formed, fonds=kw.pop("fonds", "J012 佳木斯市林业局"), archival_code=f"J012-{i:04d}",
                    category=kw.pop("category", "林业"), retention=kw.pop("retention", "永久"), access=access, **kw)


def build_archive(data, docs: list[Document]) -> None:
    """Writes documents as the indexer does: registered with the staff store first (which
    sets each item's access as decided), then upserted and committed by the one writer."""
    from engine import Engine
    from engine.embedded import open_embedded
    from staff import opening

    opening.register(Store(Settings(data=data).staff_path), docs)
    engine = Engine(open_embedded(data, writable=True))
    engine.upsert(docs)
    engine.commit()
    engine.close()
