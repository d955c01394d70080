"""Relations between documents (修改, 废止, 替代, 根据, 转发, 印发, 解读) and the validity they imply.

A relation comes from a manifest column or from the text (title and body patterns such as
`关于修改《…》的决定`, `…修正案`, `《…》同时废止`, `根据《…》`, `现将《…》印发给你们`), and keeps
where it came from. It names its target as written (a title or a 文号); `link` resolves it
against the collection (by 文号, then by title; versions of one title by date) and derives
each document's state from what points at it: repealed by whom and when, superseded by its
newer version, amended. An unresolved target stays text. Extraction is pure and cheap;
`RelationStore` keeps what the pipeline has seen so `settle` can rewrite the few documents
whose derived state changed."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TYPE_CHECKING

from analysis import dates
from analysis.titles import document_keys, target_keys, title_key, version_key
from engine.model import Audience, Document, Page

if TYPE_CHECKING:
    from engine import Engine

log = logging.getLogger("chayue.relations")

KINDS = ("修改", "废止", "替代", "根据", "转发", "印发", "解读")
# What a document that is the target of a relation is, as a facet value.
FLAG_FOR = {"修改": "被修改过", "废止": "已被废止", "替代": "已被替代", "解读": "有解读", "根据": "被引用",
            "转发": "被转发", "印发": "被印发"}
# Manifest columns of relations, English and Chinese (the value: titles, 文号 or ids, `;`-separated).
MANIFEST_COLUMNS = {
    "amends": "修改", "修改": "修改", "修正": "修改",
    "repeals": "废止", "废止": "废止",
    "replaces": "替代", "替代": "替代", "新版本": "替代", "取代": "替代",
    "based_on": "根据", "根据": "根据", "依据": "根据",
    "forwards": "转发", "转发": "转发",
    "issues": "印发", "印发": "印发",
    "interprets": "解读", "解读": "解读", "解释": "解读",
}
NO_LONGER_VALID = ("已废止", "失效", "历史版本")
ACCESS_RANK = {"open": 0, "reading_room": 1, "restricted": 2}

MANIFEST, TEXT, TITLE = "manifest", "text", "title"  # sources, in order of trust


@dataclass
class Relation:
    """One relation from a document to a target named by title or 文号 (or id, from a manifest)."""

    kind: str
    target: str  # as written: a title without 《》, a 文号, or an id
    date: date | None = None  # when it took effect (the source's 施行日期 or date)
    source: str = TEXT  # manifest | title | text
    target_id: str | None = None  # filled by resolution
    alias: str | None = None  # the target's title when `target` is its 文号: looked for second
    uncertain: str | None = None  # why staff should confirm it, when they should

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat() if self.date else None
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Relation:
        d = dict(d)
        d["date"] = date.fromisoformat(d["date"]) if d.get("date") else None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @property
    def extracted(self) -> bool:
        return self.source != MANIFEST


# -- extraction from the text ------------------------------------------------------------------
_BOOK = r"《([^《》\n]{2,80})》"
_AMENDMENT_TITLE = re.compile(r"^(?P<law>.+?)修正案(?:[(（][^()（）]{1,12}[)）])?$")
_AMEND_DECISION = re.compile(r"关于修改(?P<list>(?:《[^《》]+》[、和及与]?)+)(?:等[\d一二三四五六七八九十百]+部\w{0,4})?的决定")
_REPEAL_DECISION = re.compile(r"关于废止(?P<list>(?:《[^《》]+》[、和及与]?)+)(?:等[\d一二三四五六七八九十百]+部\w{0,4})?的决定")
_INTERPRETATION = re.compile(r"关于《(?P<law>[^《》]+)》.*的解释$")
_ISSUE_TITLE = re.compile(r"关于(?P<kind>印发|转发)(?P<what>.+?)的通知$")
_REPEALED_TOO = re.compile(r"(?:^|[。；;\n，,])(?P<clause>[^。；;\n，,]*?)同时废止")
_BASED_ON = re.compile(r"(?:根据|依据|依照)(?P<list>(?:" + _BOOK + r"[、和及与]?)+)")
_BASED_ON_CONSTITUTION = re.compile(r"根据宪法[，,]?制定本法")
_ISSUED_HERE = re.compile(r"现将" + _BOOK + r"(?:等)?(?P<kind>印发|转发)给你们")
_IN_FORCE = re.compile(r"(?:本法|本决定|本修正案|本条例|本规定|本办法|本解释|本细则|本通知|本意见|本法典|本规则)"
                       r"(?:自(?P<date>[^。；;\n起]{4,24}?)起|自公布之日起)(?:施行|生效|实施)")
_ON_PUBLICATION = "自公布之日起"


def _books(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(_BOOK, text)]


def effective_in_text(text: str, published: date | None) -> date | None:
    """施行日期 from the last `本法自…起施行` (the final article; earlier ones may be quoted)."""
    found = None
    for m in _IN_FORCE.finditer(text):
        found = m
    if not found:
        return None
    if found.group("date") is None or "公布" in found.group("date"):
        return published
    return dates.parse(found.group("date").strip())


def extract(title: str, text: str, when: date | None = None) -> list[Relation]:
    """Relations a document's title and text state, marked as extracted (source title/text).
    `when` is the document's own effective date or date, used as the relation's date."""
    out: list[Relation] = []
    t = re.sub(r"\s+", "", title)
    m = _AMENDMENT_TITLE.match(t)
    if m:
        out.append(Relation("修改", m.group("law"), when, TITLE))
    for pattern, kind in ((_AMEND_DECISION, "修改"), (_REPEAL_DECISION, "废止")):
        m = pattern.search(t)
        if m:
            out += [Relation(kind, b, when, TITLE) for b in _books(m.group("list"))]
    m = _INTERPRETATION.search(t)
    if m and not out:
        out.append(Relation("解读", m.group("law"), when, TITLE))
    m = _ISSUE_TITLE.search(t)
    if m and not out:
        # 关于印发《…》的通知, or without the marks: 关于转发国务院办公厅关于…的通知的通知.
        books = _books(m.group("what")) or [m.group("what").strip("《》")]
        out += [Relation(m.group("kind"), b, when, TITLE) for b in books]
    for m in _REPEALED_TOO.finditer(text):
        out += [Relation("废止", b, when, TEXT) for b in _books(m.group("clause"))]
    for m in _ISSUED_HERE.finditer(text):
        out.append(Relation(m.group("kind"), m.group(1).strip(), when, TEXT))
    cited = []
    if _BASED_ON_CONSTITUTION.search(text):
        cited.append("中华人民共和国宪法")
    for m in _BASED_ON.finditer(text):
        cited += _books(m.group("list"))
    out += [Relation("根据", b, when, TEXT) for b in cited]
    return dedupe(out)


def from_forwards(forwards: Iterable[dict[str, Any]], title: str, when: date | None) -> list[Relation]:
    """The documents metadata.extract() found this one forwards or issues (转发/印发 lines)."""
    kind = "印发" if "印发" in title and "转发" not in title else "转发"
    out = []
    for f in forwards or []:
        title = str(f.get("title") or "").strip("《》") or None
        if f.get("doc_number"):
            out.append(Relation(kind, str(f["doc_number"]), when, TEXT, alias=title))
        elif title:
            out.append(Relation(kind, title, when, TEXT))
    return out


def from_manifest(row: dict[str, Any], when: date | None) -> list[Relation]:
    """Relation columns of a manifest row (already mapped to kinds by indexer.manifest)."""
    out = []
    for kind in KINDS:
        for target in row.get("rel_" + kind) or []:
            out.append(Relation(kind, str(target).strip().strip("《》"), when, MANIFEST))
    return out


def dedupe(relations: Iterable[Relation]) -> list[Relation]:
    """One relation per (kind, target), the most trusted source kept."""
    trust = {MANIFEST: 0, TITLE: 1, TEXT: 2}
    best: dict[tuple[str, str], Relation] = {}
    for r in relations:
        k = (r.kind, title_key(r.target))
        if k not in best or trust[r.source] < trust[best[k].source]:
            best[k] = r
    # Amending a document is also basing on it: the weaker 根据 is dropped.
    strong = {t for (kind, t) in best if kind != "根据"}
    return [r for (kind, t), r in best.items() if kind != "根据" or t not in strong]


# -- the collection: resolution and derived state -------------------------------------------------
@dataclass
class Item:
    """What linking needs to know of one document."""

    id: str
    title: str
    doc_number: str | None = None
    date: date | None = None  # 成文日期 (or 发布日期): the date of this version
    effective: date | None = None  # 施行日期
    validity: str | None = None  # as the manifest (or the text) says
    ended: date | None = None  # as the manifest says
    access: str = "open"
    collection: str = "current"
    relations: list[Relation] = field(default_factory=list)

    @property
    def start(self) -> date | None:
        return self.effective or self.date

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "doc_number": self.doc_number,
                "date": self.date.isoformat() if self.date else None,
                "effective": self.effective.isoformat() if self.effective else None,
                "validity": self.validity, "ended": self.ended.isoformat() if self.ended else None,
                "access": self.access, "collection": self.collection,
                "relations": [r.to_json() for r in self.relations]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Item:
        return cls(id=d["id"], title=d["title"], doc_number=d.get("doc_number"),
                   date=date.fromisoformat(d["date"]) if d.get("date") else None,
                   effective=date.fromisoformat(d["effective"]) if d.get("effective") else None,
                   validity=d.get("validity"), access=d.get("access") or "open",
                   ended=date.fromisoformat(d["ended"]) if d.get("ended") else None,
                   collection=d.get("collection") or "current",
                   relations=[Relation.from_json(r) for r in d.get("relations", [])])


@dataclass
class Derived:
    """A document's state from the relations that point at it (and its versions)."""

    version_group: str
    version_state: str = "current"  # or "former": a newer version is in the collection
    flags: list[str] = field(default_factory=list)  # facet values: 被修改过, 已被废止 …
    ended: date | None = None
    ended_by: str | None = None  # id of the document that repealed or superseded it
    validity: str | None = None  # derived, used where the manifest is silent
    review: list[str] = field(default_factory=list)  # disagreements for staff

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ended"] = self.ended.isoformat() if self.ended else None
        return d


def pick(candidates: list[Item], when: date | None) -> tuple[Item | None, str | None]:
    """The candidate a relation dated `when` means, and why it is uncertain (if it is):
    one candidate is it; versions of one title, the one in force then (the latest dated
    on or before), else the earliest; several different documents, a guess for staff."""
    if not candidates:
        return None, None
    if len(candidates) == 1:
        return candidates[0], None
    dated = sorted(candidates, key=lambda i: (i.date or date.min, i.id))
    groups = {version_key(i.title, i.id) for i in candidates}
    before = [i for i in dated if when is None or (i.date and i.date <= when)]
    chosen = before[-1] if before else dated[0]
    why = None if len(groups) == 1 else f"{len(candidates)} 个同名文件，按日期选取 / several documents match"
    return chosen, why


class Collection:
    """Items by key, for resolution."""

    def __init__(self, items: Iterable[Item]):
        self.items: dict[str, Item] = {}
        self.by_key: dict[str, list[Item]] = {}
        self.by_group: dict[str, list[Item]] = {}
        for it in items:
            self.items[it.id] = it
            for k in document_keys(it.id, it.title, it.doc_number):
                self.by_key.setdefault(k, []).append(it)
            self.by_group.setdefault(version_key(it.title, it.id), []).append(it)

    def resolve(self, source: Item, rel: Relation) -> Relation:
        """The relation with its target id (or still text), and why it is uncertain."""
        if rel.source == MANIFEST and rel.target in self.items and rel.target != source.id:
            return _replace(rel, target_id=rel.target, uncertain=None)
        found: list[Item] = []
        for k in target_keys(rel.target) + (target_keys(rel.alias) if rel.alias else []):
            found = [i for i in self.by_key.get(k, []) if i.id != source.id]
            if found:
                break
        when = rel.date or source.start
        chosen, why = pick(found, when)
        if chosen is not None and version_key(chosen.title, chosen.id) == version_key(source.title, source.id) \
                and rel.kind == "废止" and chosen.date and source.date and chosen.date >= source.date:
            # 工会法 (2021) repealing "1950年…的《中华人民共和国工会法》": not a newer version of itself.
            return _replace(rel, target_id=None, uncertain=None)
        return _replace(rel, target_id=chosen.id if chosen else None, uncertain=why)


def _replace(rel: Relation, **changes: Any) -> Relation:
    return Relation(**{**asdict(rel), **changes})


def link(items: Iterable[Item]) -> tuple[dict[str, list[Relation]], dict[str, Derived]]:
    """Resolve every relation and derive every document's state.

    Returns the resolved outgoing relations of each document (versions add 替代 from the
    newer to the older) and each document's Derived. A relation only changes the state of
    a target whose readers may all see its source (the source's access is no more closed
    than the target's), so a derived state never tells anyone of a document they may not see."""
    coll = Collection(items)
    out: dict[str, list[Relation]] = {}
    derived = {i.id: Derived(version_group=version_key(i.title, i.id)) for i in coll.items.values()}
    for it in coll.items.values():
        out[it.id] = [coll.resolve(it, r) for r in it.relations]
    # Versions: titles equal but for a suffix, ordered by date; each one is superseded by the
    # next newer one that all its readers may see. A closed version in between is skipped, not
    # a link: the open 2001 text is superseded by the open 2010 one for everyone, never left
    # "in force" because the 2005 one between them is one the public may not see.
    for members in coll.by_group.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda i: (i.date or date.min, i.id))
        for k, older in enumerate(ordered):
            rank = ACCESS_RANK.get(older.access, 2)
            newer = next((n for n in ordered[k + 1:] if ACCESS_RANK.get(n.access, 2) <= rank), None)
            if newer is not None and not any(r.kind == "替代" and r.target_id == older.id for r in out[newer.id]):
                out[newer.id].append(Relation("替代", older.title, newer.start, TITLE, target_id=older.id))
    for it in coll.items.values():
        for rel in out[it.id]:
            target = coll.items.get(rel.target_id or "")
            if target is None or ACCESS_RANK.get(it.access, 2) > ACCESS_RANK.get(target.access, 2):
                continue
            d = derived[target.id]
            flag = FLAG_FOR[rel.kind]
            if flag not in d.flags:
                d.flags.append(flag)
            if rel.kind in ("废止", "替代"):
                if rel.kind == "替代" or version_key(it.title, it.id) == d.version_group:
                    d.version_state = "former"
                ended = rel.date or it.start
                if d.ended is None or (ended and ended < d.ended):
                    d.ended, d.ended_by = ended, it.id
                d.validity = "已废止" if rel.kind == "废止" and d.validity != "历史版本" else "历史版本"
    for d, it in ((derived[i], coll.items[i]) for i in derived):
        d.flags.sort(key=list(FLAG_FOR.values()).index)
        manifest = it.validity
        if d.validity and manifest and manifest not in NO_LONGER_VALID:
            by = coll.items[d.ended_by].title if d.ended_by in coll.items else d.ended_by
            d.review.append(f"清单有效性为“{manifest}”，但《{by}》{('废止' if d.validity == '已废止' else '替代')}了它"
                            f" / manifest says {manifest}, derived {d.validity}")
    return out, derived


# -- the pipeline's side: relations of a new document, derived state kept and applied ------------------
_COMPACT = re.compile(r"\s+")


def compact(text: str) -> str:
    """Text with its whitespace gone: PDFs and scans break 《…》 and dates across lines."""
    return _COMPACT.sub("", text)


def for_document(title: str, text: str, row: dict[str, Any], found: dict[str, Any],
                 when: date | None) -> list[Relation]:
    """Every relation of a document being indexed, most trusted first: its manifest row, then
    its title and text, then the 转发/印发 lines metadata.extract() found."""
    return dedupe(from_manifest(row, when) + extract(title, compact(text), when)
                  + from_forwards(found.get("forwards") or [], title, when))


def item_of(doc: Document, manifest_validity: str | None) -> Item:
    return Item(id=doc.id, title=doc.title, doc_number=doc.doc_number, date=doc.date or doc.published,
                effective=doc.effective, validity=manifest_validity, ended=doc.ended, access=doc.access,
                collection=doc.collection, relations=[Relation.from_json(r) for r in doc.relations])


def apply(doc: Document, item: Item, d: Derived) -> None:
    """Derived state onto a document. A manifest that says the document is in force wins: no
    end, not a former version (the disagreement is in d.review for staff)."""
    in_force = bool(item.validity) and item.validity not in NO_LONGER_VALID
    doc.version_group = d.version_group
    if in_force:
        doc.relation_flags = [f for f in d.flags if f not in ("已被废止", "已被替代")]
        doc.ended, doc.ended_by, doc.version_state, doc.validity = item.ended, None, "current", item.validity
    else:
        doc.relation_flags = list(d.flags)
        doc.ended, doc.ended_by = item.ended or d.ended, d.ended_by
        doc.version_state = d.version_state
        doc.validity = item.validity or d.validity


def document_from(stored: dict[str, Any]) -> Document:
    """A document back from the engine's stored fields, to be written again with a new state."""
    def day(name: str) -> date | None:
        v = stored.get(name)
        return date.fromisoformat(str(v)[:10]) if v else None

    conf = stored.get("page_confidence", [])
    pages = [Page(i + 1, t, ocr=i < len(conf) and conf[i] >= 0, confidence=conf[i] if i < len(conf) and conf[i] >= 0
                  else None) for i, t in enumerate(stored.get("page_text", []))]
    return Document(
        id=stored["id"], collection=stored.get("collection", "current"), title=stored.get("title", ""), pages=pages,
        doc_number=stored.get("doc_number"), agency=list(stored.get("agency", [])),
        recipients=list(stored.get("recipients", [])), date=day("date"), published=day("published"),
        category=stored.get("category"), doc_type=stored.get("doc_type"), fonds=stored.get("fonds"),
        archival_code=stored.get("archival_code"), retention=stored.get("retention"),
        validity=stored.get("validity"), effective=day("effective"), ended=day("ended"),
        ended_by=stored.get("ended_by"), relations=[json.loads(r) for r in stored.get("relations", [])],
        relation_flags=list(stored.get("relation_flags", [])), version_group=stored.get("version_group"),
        version_state=stored.get("version_state"), classification=stored.get("classification"),
        access=stored.get("access", "open"), source_path=stored.get("source_path"),
        source_sha256=stored.get("source_sha256"), media_type=stored.get("media_type"),
        provenance=dict(v.split(":", 1) for v in stored.get("provenance", []) if ":" in v),
    )


class RelationStore:
    """What linking needs of every indexed document, and the state last written for each, in
    `relations.sqlite` beside the ledger: `prepare` gives a document being written the state it
    had; `settle` links the whole collection once per run and rewrites the documents whose
    state changed (the targets of new repeals, amendments and versions: a few)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, item TEXT NOT NULL, derived TEXT);
            CREATE TABLE IF NOT EXISTS review (id TEXT NOT NULL, title TEXT, kind TEXT, target TEXT, reason TEXT);
        """)

    def prepare(self, docs: Iterable[Document]) -> None:
        """Before documents are written: note them, and give each the state it had (its own
        validity, from the manifest or the text, is kept apart from the derived one)."""
        rows = []
        for doc in docs:
            item = item_of(doc, doc.validity)
            old = self.db.execute("SELECT derived FROM items WHERE id = ?", (doc.id,)).fetchone()
            d = _derived_from(json.loads(old[0])) if old and old[0] else Derived(version_key(doc.title, doc.id))
            apply(doc, item, d)
            rows.append((doc.id, json.dumps(item.to_json(), ensure_ascii=False), json.dumps(d.to_json(), ensure_ascii=False)))
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO items (id, item, derived) VALUES (?, ?, ?)", rows)

    def settle(self, engine: Engine, indexed: set[str]) -> int:
        """Link everything, rewrite the documents whose state changed; returns how many."""
        started = time.perf_counter()
        gone = [r[0] for r in self.db.execute("SELECT id FROM items") if r[0] not in indexed]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in gone])
        stored = {r[0]: (Item.from_json(json.loads(r[1])), r[2]) for r in self.db.execute("SELECT id, item, derived FROM items")}
        out, derived = link(it for it, _ in stored.values())
        changed = [i for i, d in derived.items() if json.dumps(d.to_json(), ensure_ascii=False) != stored[i][1]]
        for i in changed:
            doc_fields = engine.get(i, Audience.staff)
            if doc_fields is None:
                continue
            doc = document_from(doc_fields)
            apply(doc, stored[i][0], derived[i])
            engine.upsert([doc])
        if changed:
            engine.commit()
        review = []
        for i, d in derived.items():
            title = stored[i][0].title
            review += [(i, title, "有效性 validity", "", reason) for reason in d.review]
            review += [(i, title, r.kind, r.target, r.uncertain) for r in out[i] if r.uncertain]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("UPDATE items SET derived = ? WHERE id = ?",
                                [(json.dumps(derived[i].to_json(), ensure_ascii=False), i) for i in changed])
            self.db.execute("DELETE FROM review")
            self.db.executemany("INSERT INTO review VALUES (?, ?, ?, ?, ?)", review)
        log.info("relations: %d documents linked, %d rewritten, %d to confirm, in %.2f s",
                 len(derived), len(changed), len(review), time.perf_counter() - started)
        return len(changed)

    def review(self) -> list[dict[str, str]]:
        """Relations and states staff should confirm: uncertain resolutions, manifests that disagree."""
        rows = self.db.execute("SELECT id, title, kind, target, reason FROM review ORDER BY title, kind, target")
        return [dict(zip(("id", "title", "kind", "target", "reason"), r)) for r in rows]

    def close(self) -> None:
        self.db.close()


def _derived_from(d: dict[str, Any]) -> Derived:
    return Derived(version_group=d["version_group"], version_state=d.get("version_state", "current"),
                   flags=list(d.get("flags", [])), ended=date.fromisoformat(d["ended"]) if d.get("ended") else None,
                   ended_by=d.get("ended_by"), validity=d.get("validity"), review=list(d.get("review", [])))
