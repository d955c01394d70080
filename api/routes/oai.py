"""OAI-PMH 2.0 at /api/oai (GET or POST): the catalogue as Dublin Core (oai_dc) for harvesters
and aggregators.

Sets: `collection:current`, `collection:archive` and `fonds:<全宗号>` (tree_1, see
indexer/arrangement.py). Lists come a page at a time with a resumption token that carries
the request and the position, and expires with the index (a rebuilt index answers
badResumptionToken, and the harvester starts again). A document the caller once could see
and that was removed or closed since (indexer/withdrawals.py) is a deleted record for that
caller; a document they never could see is nowhere, as in every other answer.

Limits: one list (a set and date window) reaches RESULT_WINDOW records; harvest by set or
by from/until past that."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import get_audience, get_engine, get_settings
from api.routes.permalink import permalink
from engine import Engine
from engine.base import RESULT_WINDOW
from engine.model import ACCESS_FOR, Audience
from engine.query import Bool, MatchAll, Node, Range, SearchSpec, Term, Terms
from indexer.ledger import Ledger
from settings import Settings

router = APIRouter(tags=["OAI-PMH"])

EARLIEST = "1970-01-01T00:00:00Z"
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
FIELDS = ("id", "title", "agency", "date", "published", "collection", "doc_type", "category", "doc_number",
          "archival_code", "fonds", "tree_1", "media_type", "access", "indexed_at", "pages")
ID_SAFE = "-_.!~*'()"
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
COLLECTION_NAME = {"current": "现行文件", "archive": "开放档案"}
RIGHTS = {"open": "公开", "reading_room": "仅限馆内阅览室查阅", "restricted": "限制利用"}
VERBS = {
    "Identify": set(), "ListMetadataFormats": {"identifier"}, "ListSets": {"resumptionToken"},
    "GetRecord": {"identifier", "metadataPrefix"},
    "ListIdentifiers": {"metadataPrefix", "from", "until", "set", "resumptionToken"},
    "ListRecords": {"metadataPrefix", "from", "until", "set", "resumptionToken"},
}

for prefix, uri in NS.items():
    ET.register_namespace(prefix if prefix != "oai" else "", uri)


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _stamp(value: Any) -> str:
    """A stored indexed_at as the repository's datestamp (seconds, UTC, with Z)."""
    text = str(value or "")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return EARLIEST
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(value: str, name: str, end: bool) -> datetime:
    """from/until: YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (the day's end for a day `until`)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return day.replace(hour=23, minute=59, second=59) if end else day
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    raise OaiError("badArgument", f"{name} is not a UTC datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")


def _repository_id(request: Request) -> str:
    return request.url.hostname or "chayue"


def _identifier(request: Request, doc_id: str) -> str:
    # An OAI identifier is a URI: a 档号's Chinese characters are percent-encoded.
    return f"oai:{_repository_id(request)}:{quote(doc_id, safe=ID_SAFE)}"


def _local_id(request: Request, identifier: str) -> str:
    prefix = f"oai:{_repository_id(request)}:"
    if not identifier.startswith(prefix) or len(identifier) == len(prefix):
        raise OaiError("idDoesNotExist", "no such identifier")
    return unquote(identifier[len(prefix):])


def _set_filter(spec: str) -> tuple[Node, str, str]:
    """The set's filter, and (kind, value) to match withdrawn records by."""
    kind, _, value = spec.partition(":")
    if kind == "collection" and value in COLLECTION_NAME:
        return Term("collection", value), kind, value
    if kind == "fonds" and value:
        return Term("tree_1", value), kind, value
    raise OaiError("badArgument", "no such set")


class Listing:
    """What a list request asks, as it travels in the resumption token."""

    def __init__(self, prefix: str, set_spec: str | None, start: str | None, end: str | None, offset: int = 0,
                 generation: str | None = None):
        self.prefix, self.set_spec, self.start, self.end = prefix, set_spec, start, end
        self.offset, self.generation = offset, generation

    def token(self, offset: int, generation: str | None) -> str:
        raw = json.dumps([self.prefix, self.set_spec, self.start, self.end, offset, generation], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Listing:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            prefix, set_spec, start, end, offset, generation = data
            texts = (set_spec, start, end, generation)
            if not (isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset <= RESULT_WINDOW
                    and prefix == "oai_dc" and all(t is None or isinstance(t, str) for t in texts)):
                raise ValueError(offset)
        except (ValueError, TypeError) as exc:
            raise OaiError("badResumptionToken", "the resumption token is not one this repository gave") from exc
        return cls(prefix, set_spec, start, end, offset, generation)

    def query(self) -> Node:
        must: list[Node] = []
        if self.set_spec:
            must.append(_set_filter(self.set_spec)[0])
        if self.start or self.end:
            lo = _when(self.start, "from", False) if self.start else None
            hi = _when(self.end, "until", True) if self.end else None
            must.append(Range("indexed_at", lo, hi))
        return Bool(filter=tuple(must)) if must else MatchAll()


def _withdrawn(request: Request, settings: Settings, engine: Engine, audience: Audience,
               listing: Listing | None = None, doc_id: str | None = None) -> list[sqlite3.Row]:
    """Withdrawals this audience may be told of: what it could see and can see no longer."""
    if not settings.ledger_path.exists():
        return []
    ledger = Ledger.open_readonly(settings.ledger_path)
    try:
        rows = [r for r in ledger.withdrawn() if r["access_was"] in ACCESS_FOR[audience]
                and (doc_id is None or r["doc_id"] == doc_id)]
    finally:
        ledger.close()
    if listing is not None:
        if listing.set_spec:
            _, kind, value = _set_filter(listing.set_spec)
            rows = [r for r in rows if (r["collection"] if kind == "collection" else r["fonds"]) == value]
        lo = _when(listing.start, "from", False) if listing.start else None
        hi = _when(listing.end, "until", True) if listing.end else None
        rows = [r for r in rows if (lo is None or _at(r) >= lo) and (hi is None or _at(r) <= hi)]
    if not rows:
        return []
    visible = engine.search(SearchSpec(query=Terms("id", tuple(r["doc_id"] for r in rows)), size=len(rows),
                                       fields=("id",)), audience).hits
    seen = {h.id for h in visible}
    return [r for r in rows if r["doc_id"] not in seen]


def _at(row: sqlite3.Row) -> datetime:
    return datetime.fromisoformat(_stamp(row["at"]).replace("Z", "+00:00"))


def _header(parent: ET.Element, request: Request, doc_id: str, stamp: str, sets: list[str],
            deleted: bool = False) -> None:
    header = ET.SubElement(parent, _q("oai", "header"), {"status": "deleted"} if deleted else {})
    ET.SubElement(header, _q("oai", "identifier")).text = _identifier(request, doc_id)
    ET.SubElement(header, _q("oai", "datestamp")).text = stamp
    for s in sets:
        ET.SubElement(header, _q("oai", "setSpec")).text = s


def _sets_of(fields: dict[str, Any]) -> list[str]:
    out = [f"collection:{fields['collection']}"] if fields.get("collection") in COLLECTION_NAME else []
    if fields.get("tree_1") and SET_SPEC.match(str(fields["tree_1"])):
        out.append(f"fonds:{fields['tree_1']}")
    return out


def _dc(parent: ET.Element, request: Request, f: dict[str, Any]) -> None:
    metadata = ET.SubElement(parent, _q("oai", "metadata"))
    dc = ET.SubElement(metadata, _q("oai_dc", "dc"), {_q("xsi", "schemaLocation"): DC_SCHEMA})

    def add(name: str, value: Any) -> None:
        for v in value if isinstance(value, list) else [value]:
            if v not in (None, ""):
                ET.SubElement(dc, _q("dc", name)).text = str(v)

    add("title", f.get("title"))
    add("creator", f.get("agency"))
    add("subject", f.get("category"))
    add("date", f.get("date") or f.get("published"))
    add("type", f.get("doc_type"))
    add("type", "Text")
    add("format", f.get("media_type"))
    add("identifier", permalink(request, f))
    add("identifier", f.get("archival_code"))
    add("identifier", f.get("doc_number"))
    add("source", f.get("fonds"))
    add("language", "zh")
    add("rights", RIGHTS.get(str(f.get("access"))))


def _record(parent: ET.Element, request: Request, f: dict[str, Any], with_metadata: bool) -> None:
    if not with_metadata:
        _header(parent, request, f["id"], _stamp(f.get("indexed_at")), _sets_of(f))
        return
    record = ET.SubElement(parent, _q("oai", "record"))
    _header(record, request, f["id"], _stamp(f.get("indexed_at")), _sets_of(f))
    _dc(record, request, f)


def _deleted(parent: ET.Element, request: Request, row: sqlite3.Row, with_metadata: bool) -> None:
    sets = [f"collection:{row['collection']}"] if row["collection"] in COLLECTION_NAME else []
    if row["fonds"] and SET_SPEC.match(str(row["fonds"])):
        sets.append(f"fonds:{row['fonds']}")
    target = ET.SubElement(parent, _q("oai", "record")) if with_metadata else parent
    _header(target, request, row["doc_id"], _stamp(row["at"]), sets, deleted=True)


def _check_prefix(prefix: str | None) -> None:
    if prefix is None:
        raise OaiError("badArgument", "metadataPrefix is required")
    if prefix != "oai_dc":
        raise OaiError("cannotDisseminateFormat", "only oai_dc is offered")


def _list(body: ET.Element, verb: str, params: dict[str, str], request: Request, engine: Engine,
          audience: Audience, settings: Settings) -> None:
    if "resumptionToken" in params:
        if len(params) > 1:
            raise OaiError("badArgument", "resumptionToken is exclusive")
        listing = Listing.from_token(params["resumptionToken"])
        if listing.generation != engine.generation:
            raise OaiError("badResumptionToken", "the index changed since this token was given; start again")
    else:
        _check_prefix(params.get("metadataPrefix"))
        listing = Listing(params["metadataPrefix"], params.get("set"), params.get("from"), params.get("until"))
        if listing.start and listing.end and len(listing.start) != len(listing.end):
            raise OaiError("badArgument", "from and until have different granularities")
        if listing.start and listing.end and _when(listing.start, "from", False) > _when(listing.end, "until", True):
            raise OaiError("badArgument", "from is after until")
    query = listing.query()
    with_metadata = verb == "ListRecords"
    # Withdrawn records first (a handful, from the ledger), then the live ones by position.
    gone = _withdrawn(request, settings, engine, audience, listing)
    live_total = engine.count(query, audience)
    total = len(gone) + min(live_total, RESULT_WINDOW)
    if total == 0:
        raise OaiError("noRecordsMatch", "no records match")
    start, end = listing.offset, min(listing.offset + settings.oai_page_size, total)
    out = ET.SubElement(body, _q("oai", verb))
    for row in gone[start:end]:
        _deleted(out, request, row, with_metadata)
    live_from = max(0, start - len(gone))
    live_size = end - max(start, len(gone))
    if live_size > 0:
        spec = SearchSpec(query=query, size=live_size, offset=live_from, sort="date_asc", fields=FIELDS)
        for hit in engine.search(spec, audience).hits:
            _record(out, request, {"id": hit.id, **hit.fields}, with_metadata)
    if end < total or listing.offset:
        token = ET.SubElement(out, _q("oai", "resumptionToken"),
                              {"completeListSize": str(total), "cursor": str(listing.offset)})
        token.text = listing.token(end, engine.generation) if end < total else ""


def _list_sets(body: ET.Element, engine: Engine, audience: Audience) -> None:
    res = engine.search(SearchSpec(query=MatchAll(), size=0, facets=("collection", "tree_1"), facet_size=1000),
                        audience)
    out = ET.SubElement(body, _q("oai", "ListSets"))
    for v in res.facets.get("collection", []):
        if v.value in COLLECTION_NAME:
            s = ET.SubElement(out, _q("oai", "set"))
            ET.SubElement(s, _q("oai", "setSpec")).text = f"collection:{v.value}"
            ET.SubElement(s, _q("oai", "setName")).text = COLLECTION_NAME[str(v.value)]
    for v in res.facets.get("tree_1", []):
        if not SET_SPEC.match(str(v.value)):
            continue
        hit = engine.search(SearchSpec(query=Term("tree_1", v.value), size=1, fields=("fonds",)), audience).hits
        s = ET.SubElement(out, _q("oai", "set"))
        ET.SubElement(s, _q("oai", "setSpec")).text = f"fonds:{v.value}"
        ET.SubElement(s, _q("oai", "setName")).text = f"全宗 {hit[0].fields.get('fonds') if hit else v.value}"


def _get_record(body: ET.Element, params: dict[str, str], request: Request, engine: Engine, audience: Audience,
                settings: Settings) -> None:
    if "identifier" not in params:
        raise OaiError("badArgument", "identifier is required")
    _check_prefix(params.get("metadataPrefix"))
    doc_id = _local_id(request, params["identifier"])
    doc = engine.get(doc_id, audience)
    out = ET.SubElement(body, _q("oai", "GetRecord"))
    if doc is not None:
        _record(out, request, {"id": doc_id, **doc}, True)
        return
    gone = _withdrawn(request, settings, engine, audience, doc_id=doc_id)
    if not gone:
        raise OaiError("idDoesNotExist", "no such identifier")
    _deleted(out, request, gone[0], True)


def _identify(body: ET.Element, request: Request) -> None:
    out = ET.SubElement(body, _q("oai", "Identify"))
    for name, value in (
        ("repositoryName", "查阅 chayue · 现行文件与开放档案"),
        ("baseURL", str(request.url.remove_query_params(list(request.query_params.keys())))),
        ("protocolVersion", "2.0"),
        ("adminEmail", "archive@invalid"),
        ("earliestDatestamp", EARLIEST),  # a lower bound of every datestamp, as the protocol asks
        ("deletedRecord", "transient"),
        ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
    ):
        ET.SubElement(out, _q("oai", name)).text = value


def _formats(body: ET.Element, params: dict[str, str], request: Request, engine: Engine, audience: Audience,
             settings: Settings) -> None:
    if "identifier" in params:
        doc_id = _local_id(request, params["identifier"])
        if engine.get(doc_id, audience) is None and not _withdrawn(request, settings, engine, audience, doc_id=doc_id):
            raise OaiError("idDoesNotExist", "no such identifier")
    out = ET.SubElement(body, _q("oai", "ListMetadataFormats"))
    fmt = ET.SubElement(out, _q("oai", "metadataFormat"))
    ET.SubElement(fmt, _q("oai", "metadataPrefix")).text = "oai_dc"
    ET.SubElement(fmt, _q("oai", "schema")).text = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    ET.SubElement(fmt, _q("oai", "metadataNamespace")).text = NS["oai_dc"]


async def _params(request: Request) -> list[tuple[str, str]]:
    items = list(request.query_params.multi_items())
    if request.method == "POST":  # application/x-www-form-urlencoded, as the protocol says
        try:
            body = (await request.body()).decode("utf-8")
            items += parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            items.append(("verb", ""))  # answered as badVerb/badArgument
    return items


XML_RESPONSES: dict[int | str, dict] = {200: {"content": {"text/xml": {}}}}


@router.get("/api/oai", response_class=Response, responses=XML_RESPONSES, summary="OAI-PMH 2.0 (oai_dc)")
async def oai(request: Request, engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience),
              settings: Settings = Depends(get_settings)) -> Response:
    return await _answer(request, engine, audience, settings)


@router.post("/api/oai", response_class=Response, responses=XML_RESPONSES,
             summary="OAI-PMH 2.0 (oai_dc), arguments form-encoded in the body")
async def oai_post(request: Request, engine: Engine = Depends(get_engine), audience: Audience = Depends(get_audience),
                   settings: Settings = Depends(get_settings)) -> Response:
    return await _answer(request, engine, audience, settings)


async def _answer(request: Request, engine: Engine, audience: Audience, settings: Settings) -> Response:
    items = await _params(request)
    xml = await run_in_threadpool(answer, request, items, engine, audience, settings)
    return Response(xml, media_type="text/xml; charset=utf-8")


def answer(request: Request, items: list[tuple[str, str]], engine: Engine, audience: Audience,
           settings: Settings) -> bytes:
    root = ET.Element(_q("oai", "OAI-PMH"), {_q("xsi", "schemaLocation"): OAI_SCHEMA})
    ET.SubElement(root, _q("oai", "responseDate")).text = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    req = ET.SubElement(root, _q("oai", "request"))
    req.text = str(request.url.remove_query_params(list(request.query_params.keys())))
    params: dict[str, str] = {}
    try:
        names = [k for k, _ in items]
        if any(names.count(k) > 1 for k in names):
            raise OaiError("badArgument", "an argument is repeated")
        params = dict(items)
        verb = params.pop("verb", None)
        if verb not in VERBS:
            raise OaiError("badVerb", "illegal or missing verb")
        if set(params) - VERBS[verb]:
            raise OaiError("badArgument", "illegal argument")
        req.set("verb", verb)
        for k, v in params.items():
            if len(v) > 1000:
                raise OaiError("badArgument", f"{k} is too long")
            req.set(k, v)
        if verb == "Identify":
            _identify(root, request)
        elif verb == "ListMetadataFormats":
            _formats(root, params, request, engine, audience, settings)
        elif verb == "ListSets":
            if "resumptionToken" in params:
                raise OaiError("badResumptionToken", "sets come in one list")
            _list_sets(root, engine, audience)
        elif verb == "GetRecord":
            _get_record(root, params, request, engine, audience, settings)
        else:
            _list(root, verb, params, request, engine, audience, settings)
    except OaiError as exc:
        for child in list(root)[2:]:
            root.remove(child)
        if exc.code in ("badVerb", "badArgument"):
            req.attrib.clear()
        ET.SubElement(root, _q("oai", "error"), {"code": exc.code}).text = exc.message
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
