"""GET /api/documents/{id}/relations: is it in force, what replaced it, its versions, what it
cites and what cites it.

Everything here is looked up through the engine under the caller's audience: a target the
caller may not see is found as nothing, so the relation shows as the text its source wrote
(never a link, title or count of the hidden document; a catalogue's relation to it, which
names it as staff wrote it, shows as a neutral 未收录或未公开的文件), and what points at a
document is counted among the documents the caller may see."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path as PathParam

from analysis.titles import document_keys, target_keys
from api.deps import get_audience, get_engine
from api.errors import ERROR_RESPONSES, not_found
from api.schemas import DocRefOut, EventOut, RelationOut, RelationsOut, StatusOut, VersionOut
from engine import Engine
from engine.model import Audience
from engine.query import Bool, Node, SearchSpec, Term, Terms
from indexer.relations import MANIFEST, NO_LONGER_VALID, Item, pick

router = APIRouter(prefix="/api/documents", tags=["documents"])

REF_FIELDS = ("id", "title", "doc_number", "date", "published", "validity", "effective", "ended", "version_group")
CITED_BY_MAX = 200
UNSEEN = "未收录或未公开的文件"
INCOMING = {"修改": "修改", "废止": "废止", "替代": "替代", "根据": "引用", "转发": "转发", "印发": "印发", "解读": "解读"}


def _ref(f: dict[str, Any]) -> DocRefOut:
    return DocRefOut(id=f["id"], title=f.get("title", ""), date=f.get("date") or f.get("published"),
                     validity=f.get("validity"))


def _item(f: dict[str, Any]) -> Item:
    d = f.get("date") or f.get("published")
    return Item(f["id"], f.get("title", ""), doc_number=f.get("doc_number"), date=date.fromisoformat(d) if d else None)


def _find(engine: Engine, audience: Audience, query: Node, size: int, fields: tuple[str, ...] = REF_FIELDS):
    return engine.search(SearchSpec(query=query, size=size, fields=fields, sort="date_asc"), audience)


def _named(r: dict[str, Any]) -> set[str]:
    """The keys a stored relation names its target by (文号, title as written, id)."""
    keys = set(target_keys(r["target"])) | {"id:" + r["target"], "id:" + (r.get("target_id") or "")}
    return keys | (set(target_keys(r["alias"])) if r.get("alias") else set())


def _keys_of(f: dict[str, Any]) -> set[str]:
    return set(document_keys(f["id"], f.get("title", ""), f.get("doc_number")))


def outgoing(engine: Engine, doc: dict[str, Any], audience: Audience) -> list[RelationOut]:
    rels = [json.loads(r) for r in doc.get("relations", [])]
    if not rels:
        return []
    keys = {k for r in rels for k in _named(r)}
    ids = tuple({r["target"] for r in rels if r.get("source") == MANIFEST} | {r["target_id"] for r in rels if r.get("target_id")})
    query = Bool(should=(Terms("title_key", tuple(k[2:] for k in keys if k.startswith("t:"))),
                         Terms("doc_number_key", tuple(k[3:] for k in keys if k.startswith("no:"))),
                         Terms("id", ids)))
    found = [h.fields for h in _find(engine, audience, query, 500).hits if h.id != doc["id"]]
    out = []
    for r in rels:
        wanted = _named(r)
        candidates = [f for f in found if _keys_of(f) & wanted]
        when = date.fromisoformat(r["date"]) if r.get("date") else None
        chosen, _ = pick([_item(f) for f in candidates], when)
        ref = next((_ref(f) for f in candidates if chosen and f["id"] == chosen.id), None)
        text = r.get("alias") or r["target"]
        if ref is None and r.get("source") == MANIFEST and audience != Audience.staff:
            # What a catalogue says of a file the caller cannot open is the catalogue's, not the
            # document's: its id, title or 文号 are not shown, and a hidden target reads as one
            # that is not in the collection.
            text = UNSEEN
        out.append(RelationOut(kind=r["kind"], text=text, document=ref, date=r.get("date"),
                               source=r.get("source", "text"), extracted=r.get("source") != MANIFEST))
    return out


def incoming(engine: Engine, doc: dict[str, Any], audience: Audience) -> tuple[list[RelationOut], int]:
    """Documents the caller may see whose relations name this one (by id, title or 文号)."""
    mine = _keys_of(doc)
    res = _find(engine, audience, Bool(must=(Terms("relation_keys", tuple(mine)),), must_not=(Term("id", doc["id"]),)),
                CITED_BY_MAX, REF_FIELDS + ("relations",))
    out = []
    for h in res.hits:
        said: set[str] = set()
        for r in (json.loads(x) for x in h.fields.get("relations", [])):
            # A relation both the catalogue and the title state is one (the catalogue's first).
            if _named(r) & mine and r["kind"] not in said:
                said.add(r["kind"])
                out.append(RelationOut(kind=r["kind"], text=h.fields.get("title", ""), document=_ref(h.fields),
                                       date=r.get("date"), source=r.get("source", "text"),
                                       extracted=r.get("source") != MANIFEST))
    return out, res.total


def versions(engine: Engine, doc: dict[str, Any], audience: Audience) -> list[VersionOut]:
    group = doc.get("version_group")
    if not group:
        return []
    hits = [h.fields for h in _find(engine, audience, Term("version_group", group), 100).hits]
    if len(hits) < 2:
        return []
    hits.sort(key=lambda f: (f.get("date") or f.get("published") or "", f["id"]), reverse=True)
    return [VersionOut(**_ref(f).model_dump(), effective=f.get("effective"), ended=f.get("ended"), current=i == 0)
            for i, f in enumerate(hits)]


def status(engine: Engine, doc: dict[str, Any], audience: Audience, cited_by: list[RelationOut]) -> StatusOut:
    validity, effective, ended = doc.get("validity"), doc.get("effective"), doc.get("ended")
    by = engine.get(doc["ended_by"], audience) if doc.get("ended_by") else None
    by_ref = _ref(by) if by else None
    if validity in NO_LONGER_VALID or ended:
        label = validity or "已废止"
        if by_ref and label == "历史版本":
            line = f"历史版本：已被《{by_ref.title}》（{by_ref.date}）替代" + (f"，{ended} 起不再施行" if ended else "")
        elif by_ref:
            line = f"{label}：被《{by_ref.title}》废止" + (f"，{ended}" if ended else "")
        else:
            line = label + (f"，{ended} 起不再施行" if ended else "")
    elif effective and effective > date.today().isoformat():
        line = f"尚未施行：{effective} 起施行"
    else:
        amended = sorted(r.date for r in cited_by if r.kind == "修改" and r.date)
        parts = [validity or ("现行有效" if doc.get("collection") == "current" else "")]
        if amended:
            parts.append(f"{amended[-1]} 修改")
        if effective:
            parts.append(f"{effective} 施行")
        line = "，".join(p for p in parts if p)
    return StatusOut(validity=validity, effective=effective, ended=ended, ended_by=by_ref, line=line)


def timeline(doc: dict[str, Any], vs: list[VersionOut], cited_by: list[RelationOut]) -> list[EventOut]:
    events: list[EventOut] = []
    own = [VersionOut(**_ref(doc).model_dump(), effective=doc.get("effective"), ended=doc.get("ended"),
                      current=True)] if not vs else vs
    for v in own:
        ref = DocRefOut(id=v.id, title=v.title, date=v.date, validity=v.validity)
        if v.date:
            events.append(EventOut(date=v.date, kind="版本", text=f"{v.title}（{v.date}）", document=ref))
        if v.effective:
            events.append(EventOut(date=v.effective, kind="施行", text=f"{v.title} 施行", document=ref))
        if v.ended:
            events.append(EventOut(date=v.ended, kind="替代" if v.validity == "历史版本" else "废止",
                                   text=f"{v.title}（{v.date}）不再施行" if v.date else f"{v.title} 不再施行",
                                   document=ref))
    seen = set()
    for r in cited_by:
        if r.kind in ("修改", "废止", "解读") and r.date and r.document and (r.kind, r.document.id) not in seen:
            seen.add((r.kind, r.document.id))
            events.append(EventOut(date=r.date, kind=r.kind, text=r.text, document=r.document))
    return sorted(events, key=lambda e: (e.date, e.kind != "版本"))


def relations_of(engine: Engine, doc: dict[str, Any], audience: Audience) -> RelationsOut:
    cites = outgoing(engine, doc, audience)
    cited_by, total = incoming(engine, doc, audience)
    vs = versions(engine, doc, audience)
    return RelationsOut(status=status(engine, doc, audience, cited_by), versions=vs, cites=cites,
                        cited_by=cited_by, cited_by_total=total, timeline=timeline(doc, vs, cited_by))


@router.get("/{doc_id}/relations", response_model=RelationsOut, responses=ERROR_RESPONSES,
            summary="Validity, versions, what it cites and what cites it")
def document_relations(
    doc_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> RelationsOut:
    doc = engine.get(doc_id, audience)
    if doc is None:
        raise not_found()
    return relations_of(engine, doc, audience)
