"""Exports for the researcher's workspace (编研): a search with its filters
(`GET /api/export/{format}`) or a folder's documents with their passages and notes
(`POST /api/export/{format}`), as CSV, XLSX, DOCX, RIS, BibTeX or CSL-JSON.

Every document comes from the engine under the caller's audience, so an export holds and
counts only what the caller may see; an id the caller may not see is left out exactly like
one that does not exist. A search is read in batches and written as it is read (XLSX and
DOCX are zip files: they are written to a temporary file, then streamed), so a 10,000-hit
export never holds its hits in memory at once. On a kiosk there are no downloads."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path as PathParam, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from analysis.abbreviations import names_for
from api.citation import agencies, csl_item, gbt7714
from api.admission import admit_export
from api.deps import get_audience, get_engine, get_settings
from api.errors import ERROR_RESPONSES, ApiError, bad_request
from api.routes.permalink import permalink
from api.routes.search import IsoDate, MAX_QUERY_CHARS, Str, _date, filters_from
from engine import Engine, syntax
from engine.model import Audience
from engine.query import Node, SearchSpec, Terms
from engine.validity import grouped
from settings import Settings
from staff import usage

router = APIRouter(prefix="/api/export", tags=["exports"])

Format = Literal["csv", "xlsx", "docx", "ris", "bibtex", "csljson"]
MAX_EXPORT = 10_000   # documents in one export of a search
MAX_DOCX = 1_000      # a compilation is read by people: fewer
MAX_ITEMS = 2_000     # documents in one folder export
# Passages in one folder export (all its documents together): a 4 MB body of short passages
# would otherwise hold 160 000, and each is a paragraph to build. At this cap a DOCX takes
# about 2.2 s of CPU here (20 000 passages of 60 characters; 5.7 s on the shared machine).
MAX_PASSAGES = 20_000
BATCH = 1_000  # hits per engine request: each re-ranks the matches, so fewer is faster
EXPORT_FIELDS = ("id", "title", "doc_number", "agency", "date", "published", "collection", "validity", "category",
                 "doc_type", "year", "pages", "archival_code", "fonds", "retention", "recipients")

MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
    "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
    "csljson": ("application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}

# Columns of the metadata table (CSV, XLSX): Chinese headers, as the catalogue has them.
COLUMNS = [("id", "编号"), ("title", "题名"), ("doc_number", "文号"), ("agency", "发文机关"), ("date", "成文日期"),
           ("published", "发布日期"), ("year", "年度"), ("collection", "馆藏类别"), ("category", "主题分类"),
           ("doc_type", "文种"), ("validity", "有效性"), ("fonds", "全宗"), ("archival_code", "档号"),
           ("retention", "保管期限"), ("pages", "页数")]
COLLECTION_LABEL = {"current": "现行文件", "archive": "开放档案"}


# -- what is exported -----------------------------------------------------------------

class PassageIn(BaseModel):
    page: int | None = Field(None, ge=1, le=100_000)
    text: str = Field(max_length=5_000)
    note: str = Field("", max_length=5_000)


class ItemIn(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=10_000)
    passages: list[PassageIn] = Field(default_factory=list, max_length=200)


class FolderIn(BaseModel):
    """A folder (专题) as the page keeps it: its name, and per document its note and passages."""
    name: str = Field("", max_length=200)
    note: str = Field("", max_length=10_000)
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


@dataclass
class Entry:
    doc: dict[str, Any]
    url: str
    note: str = ""
    passages: list[PassageIn] = field(default_factory=list)


@dataclass
class SearchRequest:
    q: str
    params: dict[str, Any]
    sort: str
    names: Any = None  # other names of agencies and laws the query also searches (expand)

    _read: tuple[Node, dict[str, Node]] | None = None

    def spec(self, engine: Engine, audience: Audience, size: int, offset: int = 0) -> SearchSpec:
        """The search as /api/search reads it (versions grouped the same way), read once."""
        if self._read is None:
            parsed = syntax.parse(self.q, self.names)
            node, filters = syntax.to_node(parsed), filters_from(self.params)
            self._read = node, filters if parsed.empty else grouped(engine, node, filters, audience)
        node, filters = self._read
        return SearchSpec(query=node, filters=filters, sort=self.sort, offset=offset, size=size,
                          fields=EXPORT_FIELDS)  # type: ignore[arg-type]


def search_request(
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    collection: Str = None, agency: Str = None, category: Str = None, doc_type: Str = None,
    validity: Str = None, fonds: Str = None,
    year: Annotated[list[Annotated[int, Query(ge=1000, le=2999)]] | None, Query(max_length=50)] = None,
    date_from: IsoDate = None, date_to: IsoDate = None,
    valid_on: IsoDate = None,
    relation: Str = None,
    versions: Literal["group", "all"] = "group",
    access: Annotated[list[Literal["open", "reading_room", "restricted"]] | None, Query(description="staff only")] = None,
    sort: Literal["relevance", "date_desc", "date_asc"] = "relevance",
    expand: bool = True,
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> SearchRequest:
    """The search's parameters, as GET /api/search takes them (without paging), read the same way."""
    params = {"collection": collection, "agency": agency, "category": category, "doc_type": doc_type,
              "validity": validity, "fonds": fonds, "year": year, "date_from": _date(date_from, "date_from"),
              "date_to": _date(date_to, "date_to"), "access": access if audience == Audience.staff else None,
              "valid_on": _date(valid_on, "valid_on"), "relation": relation, "versions": versions}
    return SearchRequest(q=q, params=params, sort=sort, names=names_for(settings.data) if expand else None)


def doc_url(request: Request, doc: dict[str, Any]) -> str:
    """The document's permanent link (/a/<档号>, else /a/<id>): it survives re-indexing and moved files."""
    return permalink(request, doc)


def search_entries(engine: Engine, audience: Audience, search: SearchRequest, request: Request,
                   total: int) -> Iterator[Entry]:
    """The hits in result order, a batch at a time (the engine's position paging)."""
    for offset in range(0, total, BATCH):
        hits = engine.search(search.spec(engine, audience, min(BATCH, total - offset), offset), audience).hits
        for hit in hits:
            yield Entry(hit.fields, doc_url(request, {"id": hit.id, **hit.fields}))
        if len(hits) < BATCH:
            return


def folder_entries(engine: Engine, audience: Audience, folder: FolderIn, request: Request) -> Iterator[Entry]:
    """The folder's documents in its order; one the caller may not see is skipped like a missing one."""
    seen: set[str] = set()
    items = [i for i in folder.items if not (i.id in seen or seen.add(i.id))]  # type: ignore[func-returns-value]
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        spec = SearchSpec(query=Terms("id", tuple(i.id for i in batch)), size=len(batch), fields=EXPORT_FIELDS)
        found = {h.id: h.fields for h in engine.search(spec, audience).hits}
        for item in batch:
            if item.id in found:
                yield Entry(found[item.id], doc_url(request, {"id": item.id, **found[item.id]}), item.note, item.passages)


def _counted(request: Request, audience: Audience, entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries, each counted as an export of its document (staff/usage.py) as it is written."""
    counter = usage.of(request.app)
    for e in entries:
        if counter is not None:
            counter.document(audience, e.doc, "export")
        yield e


# -- the formats ---------------------------------------------------------------------

def _cell(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if key == "agency":
        return "；".join(agencies(doc))
    if key == "collection":
        return COLLECTION_LABEL.get(str(value), str(value or ""))
    return "" if value is None else str(value)


# A cell that starts with one of these is a formula to Excel and LibreOffice (CSV injection):
# such text is kept, behind an apostrophe, as OWASP advises.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA) else text


# Characters XML 1.0 cannot hold (XLSX, DOCX and Atom are XML): a stray control character
# from a damaged catalogue or a query would otherwise fail the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _row(e: Entry, with_notes: bool) -> list[str]:
    row = [_safe(_cell(e.doc, k)) for k, _ in COLUMNS] + [e.url, _safe(gbt7714(e.doc))]
    if with_notes:
        row += [_safe(e.note), _safe("\n".join(_passage_line(p) for p in e.passages))]
    return row


def _header(with_notes: bool) -> list[str]:
    return [label for _, label in COLUMNS] + ["链接", "引文（GB/T 7714—2015）"] + (["批注", "摘录"] if with_notes else [])


def _passage_line(p: PassageIn) -> str:
    where = f"第 {p.page} 页：" if p.page else ""
    return f"{where}{p.text}" + (f"（批注：{p.note}）" if p.note else "")


def write_csv(entries: Iterable[Entry], with_notes: bool) -> Iterator[bytes]:
    # UTF-8 with a byte-order mark, so Excel opens the Chinese text as UTF-8.
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_header(with_notes))
    yield "\ufeff".encode() + _drain(buf)
    for n, e in enumerate(entries, 1):
        writer.writerow(_row(e, with_notes))
        if n % 200 == 0:
            yield _drain(buf)
    yield _drain(buf)


def _drain(buf: io.StringIO) -> bytes:
    out = buf.getvalue().encode()
    buf.seek(0)
    buf.truncate()
    return out


def _stream_file(f: Any) -> Iterator[bytes]:
    try:
        f.seek(0)
        while chunk := f.read(64 * 1024):
            yield chunk
    finally:
        f.close()


def write_xlsx(entries: Iterable[Entry], with_notes: bool) -> Iterator[bytes]:
    from openpyxl import Workbook

    # write_only: rows go to a temporary file as they are appended, not into memory.
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("文件目录")
    ws.append(_header(with_notes))
    for e in entries:
        ws.append([xml_text(c) for c in _row(e, with_notes)])
    out = tempfile.TemporaryFile()
    wb.save(out)
    return _stream_file(out)


RIS_TYPE = {"current": "GOVDOC", "archive": "MANSCPT"}


def write_ris(entries: Iterable[Entry]) -> Iterator[bytes]:
    import rispy

    yield "\ufeff".encode()  # EndNote and NoteExpress read a BOM-marked file as UTF-8
    batch: list[dict[str, Any]] = []
    for e in entries:
        d = e.doc
        rec: dict[str, Any] = {"type_of_reference": RIS_TYPE.get(str(d.get("collection")), "GEN"),
                               "title": d.get("title") or "", "language": "zh-CN", "urls": [e.url], "id": d["id"]}
        if agencies(d):
            rec["authors"] = agencies(d)
        day = str(d.get("date") or d.get("published") or "")[:10]
        if day:
            rec["date"] = day.replace("-", "/")
        if d.get("year"):
            rec["year"] = str(d["year"])
        for key, ris in (("doc_number", "note"), ("doc_type", "type_of_work"), ("archival_code", "accession_number"),
                         ("fonds", "name_of_database")):
            if d.get(key):
                rec[ris] = str(d[key])
        if d.get("category"):
            rec["keywords"] = [str(d["category"])]
        notes = [n for n in [e.note, *(_passage_line(p) for p in e.passages)] if n]
        if notes:
            rec["notes"] = notes
        # A RIS value ends at its line's end: a line break in any of them (a title from a
        # catalogue or a Word file's properties) would start records of its own.
        batch.append({k: [_one_line(str(x)) for x in v] if isinstance(v, list) else _one_line(str(v))
                      for k, v in rec.items()})
        if len(batch) == 200:
            yield rispy.dumps(batch).encode()
            batch = []
    if batch:
        yield rispy.dumps(batch).encode()


def _one_line(text: str) -> str:
    # A RIS value ends at the line's end: a note's own line breaks would start bogus tags.
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


_TEX_SPECIAL = re.compile(r"([\\{}%&#$_~^])")


def _tex(text: Any) -> str:
    return _TEX_SPECIAL.sub(lambda m: "\\textbackslash{}" if m[1] == "\\" else "\\" + m[1], _one_line(str(text)))


def write_bibtex(entries: Iterable[Entry]) -> Iterator[bytes]:
    import bibtexparser
    from bibtexparser import model

    keys: set[str] = set()
    batch: list[model.Entry] = []
    for e in entries:
        d = e.doc
        key = re.sub(r"[^A-Za-z0-9_:-]", "_", d["id"], flags=re.ASCII)[:60] or "doc"
        base, n = key, 2
        while key in keys:
            key, n = f"{base}_{n}", n + 1
        keys.add(key)
        fields = [model.Field("title", _tex(d.get("title") or ""))]
        if agencies(d):
            # Braced: an agency is one institutional name, never "family, given".
            fields.append(model.Field("author", " and ".join("{" + _tex(a) + "}" for a in agencies(d))))
        if d.get("year"):
            fields.append(model.Field("year", str(d["year"])))
        day = str(d.get("date") or d.get("published") or "")[:10]
        if day:
            fields.append(model.Field("date", day))
        for k, bib in (("doc_number", "number"), ("doc_type", "type"), ("fonds", "organization"),
                       ("archival_code", "howpublished")):
            if d.get(k):
                fields.append(model.Field(bib, _tex(d[k])))
        fields.append(model.Field("url", e.url))
        fields.append(model.Field("langid", "chinese"))
        notes = [n for n in [e.note, *(_passage_line(p) for p in e.passages)] if n]
        if notes:
            fields.append(model.Field("note", _tex("；".join(notes))))
        batch.append(model.Entry("misc", key, fields))
        if len(batch) == 200:  # the writer's cost is half as much per entry in batches
            yield bibtexparser.write_string(bibtexparser.Library(batch)).encode() + b"\n"
            batch = []
    if batch:
        yield bibtexparser.write_string(bibtexparser.Library(batch)).encode() + b"\n"


def write_csljson(entries: Iterable[Entry]) -> Iterator[bytes]:
    yield b"["
    for n, e in enumerate(entries):
        item = csl_item(e.doc, e.url)
        notes = [x for x in [e.note, *(_passage_line(p) for p in e.passages)] if x]
        if notes:
            item["note"] = "\n".join(notes)
        yield (b",\n" if n else b"\n") + json.dumps(item, ensure_ascii=False).encode()
    yield b"\n]\n"


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W_P, W_PPR, W_PSTYLE, W_VAL = W + "p", W + "pPr", W + "pStyle", W + "val"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def run(p: Any, text: str, bold: bool = False) -> None:
    """A run of `text` at the end of paragraph `p`, its line breaks as Word's <w:br/> (what
    python-docx's Run.text does, a character at a time)."""
    from lxml.etree import SubElement

    r = SubElement(p, W + "r")
    if bold:
        SubElement(SubElement(r, W + "rPr"), W + "b")
    for n, line in enumerate(re.split(r"\r\n|\r|\n", text)):
        if n:
            SubElement(r, W + "br")
        if line:
            t = SubElement(r, W + "t")
            t.text = line
            t.set(_XML_SPACE, "preserve")


def write_docx(entries: Iterable[Entry], name: str, note: str, context: str) -> Iterator[bytes]:
    """A compilation: per document its metadata, citation, passages and notes.

    Built in time linear in its paragraphs: python-docx's own add_paragraph(style=...) looks
    the style up by name among every style each time and inserts before the section
    properties by a scan of the whole body (a 11,400-passage folder took 40 s). Styles are
    looked up once here, and each block goes in just before the section properties."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.oxml.table import CT_Tbl
    from docx.table import Table
    from lxml.etree import SubElement

    name, note, context = xml_text(name), xml_text(note), xml_text(context)
    entries = (_xml_entry(e) for e in entries)

    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "Noto Serif CJK SC"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    document.core_properties.title = name or "查阅导出"
    document.core_properties.language = "zh-CN"
    style = {n: document.styles[n].style_id for n in ("Title", "Heading 1", "Intense Quote", "Table Grid")}
    end = document.element.body.get_or_add_sectPr()
    width = document._block_width

    def paragraph(text: str = "", style_name: str | None = None) -> Any:
        p = SubElement(end.getparent(), W_P)
        end.addprevious(p)
        if style_name:
            SubElement(SubElement(p, W_PPR), W_PSTYLE).set(W_VAL, style[style_name])
        if text:
            run(p, text)
        return p

    paragraph(name or "查阅导出", "Title")
    paragraph(f"{context}，导出于 {date.today().isoformat()}。")
    if note:
        paragraph(note)
    count = 0
    for count, e in enumerate(entries, 1):
        d = e.doc
        paragraph(f"{count}. {d.get('title') or '（无题名）'}", "Heading 1")
        tbl = CT_Tbl.new_tbl(0, 2, width)
        tbl.tblStyle_val = style["Table Grid"]
        end.addprevious(tbl)
        table = Table(tbl, document._body)
        rows = [(label, _cell(d, key)) for key, label in COLUMNS[1:] if key != "title"]
        for label, value in [(label, value) for label, value in rows if value] + [("链接", e.url)]:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = label, value
        p = paragraph()
        run(p, "引文（GB/T 7714—2015）：", bold=True)
        run(p, gbt7714(d))
        if e.note:
            p = paragraph()
            run(p, "批注：", bold=True)
            run(p, e.note)
        for passage in e.passages:
            p = paragraph(passage.text, "Intense Quote")
            if passage.page:
                run(p, f"（第 {passage.page} 页）")
            if passage.note:
                paragraph(f"批注：{passage.note}")
    if not count:
        paragraph("没有可导出的文件。")
    out = tempfile.TemporaryFile()
    document.save(out)
    return _stream_file(out)


def _xml_entry(e: Entry) -> Entry:
    doc = {k: [xml_text(x) for x in v] if isinstance(v, list) else xml_text(v) if isinstance(v, str) else v
           for k, v in e.doc.items()}
    passages = [PassageIn(page=p.page, text=xml_text(p.text), note=xml_text(p.note)) for p in e.passages]
    return Entry(doc, e.url, xml_text(e.note), passages)


def _respond(fmt: str, body: Iterator[bytes], stem: str, count: int) -> StreamingResponse:
    media, ext = MEDIA[fmt]
    name = f"{stem}.{ext}"
    # RFC 6266: an ASCII fallback name and the UTF-8 one.
    disposition = f"attachment; filename=\"chayue-export.{ext}\"; filename*=UTF-8''{quote(name)}"
    return StreamingResponse(body, media_type=media, headers={
        "Content-Disposition": disposition, "X-Chayue-Export-Count": str(count)})


def _body(fmt: str, entries: Iterable[Entry], with_notes: bool, name: str, note: str, context: str) -> Iterator[bytes]:
    if fmt == "csv":
        return write_csv(entries, with_notes)
    if fmt == "xlsx":
        return write_xlsx(entries, with_notes)
    if fmt == "ris":
        return write_ris(entries)
    if fmt == "bibtex":
        return write_bibtex(entries)
    if fmt == "csljson":
        return write_csljson(entries)
    return write_docx(entries, name, note, context)


def _no_kiosk(settings: Settings) -> None:
    if settings.kiosk:
        raise ApiError(404, "no_download", "阅览终端不提供下载，请使用打印 / no downloads on reading-room terminals")


FormatParam = Annotated[Format, PathParam(description="csv, xlsx, docx, ris, bibtex or csljson")]
EXPORT_RESPONSES = {**ERROR_RESPONSES, 200: {"content": {m: {} for m, _ in MEDIA.values()},
                                             "description": "the export file, streamed"}}
FOLDER_RESPONSES = EXPORT_RESPONSES


@router.get("/{fmt}", responses=EXPORT_RESPONSES, response_class=StreamingResponse,
            summary="Export a search with its filters (CSV, XLSX, DOCX, RIS, BibTeX, CSL-JSON)",
            dependencies=[Depends(admit_export)])
def export_search(
    fmt: FormatParam,
    request: Request,
    search: SearchRequest = Depends(search_request),
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    _no_kiosk(settings)
    total = engine.search(search.spec(engine, audience, 0), audience).total
    cap = MAX_DOCX if fmt == "docx" else MAX_EXPORT
    if total > cap:
        raise ApiError(422, "export_too_large",
                       f"检索结果共 {total} 件，超过导出上限 {cap} 件，请增加筛选条件缩小范围后再导出 / "
                       f"{total} results exceed the export limit of {cap}; narrow the search")
    if total == 0:
        raise bad_request("没有可导出的检索结果 / nothing to export: the search has no results")
    context = f"检索“{search.q}”的结果，共 {total} 件" if search.q else f"浏览结果，共 {total} 件"
    entries = _counted(request, audience, search_entries(engine, audience, search, request, total))
    return _respond(fmt, _body(fmt, entries, False, "检索结果", "", context), "查阅检索结果", total)


@router.post("/{fmt}", responses=FOLDER_RESPONSES, response_class=StreamingResponse,
             summary="Export a folder's documents with their passages and notes",
             dependencies=[Depends(admit_export)])
def export_folder(
    fmt: FormatParam,
    folder: FolderIn,
    request: Request,
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """Reads only: the folder lives in the page, the body only says which documents and notes."""
    _no_kiosk(settings)
    passages = sum(len(i.passages) for i in folder.items)
    if passages > MAX_PASSAGES:
        raise ApiError(422, "export_too_large",
                       f"专题共有 {passages} 条摘录，超过导出上限 {MAX_PASSAGES} 条，请分成几个专题导出 / "
                       f"{passages} passages exceed the export limit of {MAX_PASSAGES}; split the folder")
    entries = list(_counted(request, audience, folder_entries(engine, audience, folder, request)))
    if not entries:
        raise bad_request("专题中没有可导出的文件 / none of the folder's documents can be found")
    missing = len({i.id for i in folder.items}) - len(entries)
    context = f"专题共 {len(entries)} 件" + (f"（另有 {missing} 件未找到或不可查阅）" if missing else "")
    stem = re.sub(r'[\\/:*?"<>|\r\n]', "_", folder.name).strip() or "查阅专题"
    return _respond(fmt, _body(fmt, entries, True, folder.name, folder.note, context), stem, len(entries))
