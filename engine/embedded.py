"""The embedded engine: tantivy on disk under the data directory, no server.

One writer (the indexer) and any number of readers (api workers); a reader notices a new
commit by the index's meta.json changing and reloads before the next query."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tantivy

from engine.base import EngineUnavailable, InvalidCursor
from engine.model import FacetValue, Hit, SearchResult
from engine.query import (
    Bool, Boost, ConstScore, MatchAll, MatchNone, Node, Phrase, Prefix, Range, SearchSpec, Term, Terms,
)
from engine.schema import MULTI_VALUED, PRETOKENIZED, fields, tantivy_schema

WRITER_HEAP = 128_000_000
GENERATION_FILE = "GENERATION"
log = logging.getLogger("chayue.engine")
_RUST_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _RUST_REGEX_META else c for c in text)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC) if "T" not in str(value) \
        else dt.datetime.fromisoformat(str(value))


class _Translated:
    """A translated query, its translated filters (by key) and bonus clauses."""

    def __init__(self, query: tantivy.Query, filters: dict[str, tantivy.Query], bonus: list[tantivy.Query]):
        self.query, self.filters, self.bonus = query, filters, bonus

    def scored(self) -> tantivy.Query:
        """The query with the bonus as should clauses (translate(spec.scored_query()))."""
        if not self.bonus:
            return self.query
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, self.query)]
                                           + [(tantivy.Occur.Should, b) for b in self.bonus])

    def combined(self, except_key: str | None = None, *, scored: bool = False) -> tantivy.Query:
        """The query and the filters but `except_key`; with the bonus only if `scored`: it never
        changes which documents match, and costs a scan of every clause's postings."""
        clauses = [(tantivy.Occur.Must, self.scored() if scored else self.query)]
        clauses += [(tantivy.Occur.Must, tantivy.Query.boost_query(f, 0.0))
                    for k, f in self.filters.items() if k != except_key]
        return tantivy.Query.boolean_query(clauses)


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, path: Path, *, writable: bool = False):
        self.path = Path(path)
        self.schema = tantivy_schema()
        self.specs = fields()
        if writable:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not (self.path / "meta.json").exists():
            raise EngineUnavailable(f"no index at {self.path}: run `chayue index` first")
        try:
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        except (OSError, ValueError) as exc:
            if not (writable and "schema does not match" in str(exc)):
                hint = " (the field catalogue changed: run `chayue index` to rebuild)" \
                    if "schema does not match" in str(exc) else ""
                raise EngineUnavailable(f"cannot open the index at {self.path}: {exc}{hint}") from exc
            # The catalogue changed since this index was built. The index is derived data:
            # rebuild it; a new generation tells the ledger that every file must be redone.
            log.warning("field catalogue changed: rebuilding the index at %s", self.path)
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        if writable and not (self.path / GENERATION_FILE).exists():
            (self.path / GENERATION_FILE).write_text(uuid.uuid4().hex, encoding="ascii")
        self.index.register_tokenizer(PRETOKENIZED, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self._writer: tantivy.IndexWriter | None = None
        self._writable = writable
        self._meta_mtime = self._meta_stamp()

    # -- writes --------------------------------------------------------------------
    @property
    def writer(self) -> tantivy.IndexWriter:
        if not self._writable:
            raise RuntimeError("this engine was opened read-only")
        if self._writer is None:
            self._writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
        return self._writer

    def upsert(self, records: Iterable[dict[str, Any]]) -> int:
        n = 0
        for rec in records:
            self.writer.delete_documents_by_term("id", rec["id"])
            self.writer.add_document(self._document(rec))
            n += 1
        return n

    def delete(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            self.writer.delete_documents_by_term("id", doc_id)

    def commit(self) -> None:
        # The writer stays open across commits and its merges run in the background: the
        # pipeline commits every batch, and waiting for merges (or dropping the writer, which
        # abandons them) on each one cost a merge per batch. close() waits for them.
        if self._writer is not None:
            self._writer.commit()
        self.index.reload()
        self._meta_mtime = self._meta_stamp()

    def _document(self, rec: dict[str, Any]) -> tantivy.Document:
        doc = tantivy.Document()
        for name, value in rec.items():
            spec = self.specs[name]
            for v in value if isinstance(value, list) else [value]:
                if spec.type in ("keyword", "text") and not spec.indexed:
                    doc.add_bytes(name, str(v).encode("utf-8"))
                elif spec.type in ("keyword", "text"):
                    doc.add_text(name, str(v))
                elif spec.type == "date":
                    doc.add_date(name, _to_datetime(v))
                elif spec.type == "integer":
                    doc.add_integer(name, int(v))
                elif spec.type == "float":
                    doc.add_float(name, float(v))
                elif spec.type == "boolean":
                    doc.add_boolean(name, bool(v))
        return doc

    # -- reads ---------------------------------------------------------------------
    def _meta_stamp(self) -> int:
        try:
            return (self.path / "meta.json").stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _searcher(self) -> tantivy.Searcher:
        stamp = self._meta_stamp()
        if stamp != self._meta_mtime:
            self.index.reload()
            self._meta_mtime = stamp
        return self.index.searcher()

    def translate(self, node: Node) -> tantivy.Query:
        s = self.schema
        Q = tantivy.Query
        if isinstance(node, Term):
            return Q.term_query(s, node.field, self._value(node.field, node.value))
        if isinstance(node, Terms):
            if not node.values:
                return Q.empty_query()
            return Q.boolean_query([(tantivy.Occur.Should, Q.term_query(s, node.field, self._value(node.field, v)))
                                    for v in node.values])
        if isinstance(node, Phrase):
            # tantivy panics (an uncatchable BaseException) on a phrase of fewer than two
            # terms; Elasticsearch reads those as a term and as nothing, so do the same.
            if len(node.tokens) < 2:
                return Q.term_query(s, node.field, node.tokens[0]) if node.tokens else Q.empty_query()
            return Q.phrase_query(s, node.field, list(node.tokens))
        if isinstance(node, Prefix):
            return Q.regex_query(s, node.field, _regex_escape(node.value) + ".*")
        if isinstance(node, Range):
            ftype = {"integer": tantivy.FieldType.Integer, "date": tantivy.FieldType.Date,
                     "float": tantivy.FieldType.Float}[self.specs[node.field].type]
            lo = self._value(node.field, node.gte) if node.gte is not None else None
            hi = self._value(node.field, node.lte) if node.lte is not None else None
            return Q.range_query(s, node.field, ftype, lo, hi)
        if isinstance(node, Bool):
            clauses = [(tantivy.Occur.Must, self.translate(n)) for n in node.must]
            clauses += [(tantivy.Occur.Must, Q.boost_query(self.translate(n), 0.0)) for n in node.filter]
            clauses += [(tantivy.Occur.Should, self.translate(n)) for n in node.should]
            clauses += [(tantivy.Occur.MustNot, self.translate(n)) for n in node.must_not]
            if not node.must and not node.filter and not node.should:
                clauses.append((tantivy.Occur.Must, Q.all_query()))
            return Q.boolean_query(clauses)
        if isinstance(node, Boost):
            return Q.boost_query(self.translate(node.query), node.boost)
        if isinstance(node, ConstScore):
            return Q.const_score_query(self.translate(node.query), node.score)
        if isinstance(node, MatchAll):
            return Q.all_query()
        if isinstance(node, MatchNone):
            return Q.empty_query()
        raise TypeError(f"unknown query node {node!r}")

    def _value(self, field: str, value: Any) -> Any:
        t = self.specs[field].type
        if t == "date":
            return _to_datetime(value)
        if t == "integer":
            return int(value)
        if t == "float":
            return float(value)
        return value if isinstance(value, (str, bool)) else str(value)

    def execute(self, spec: SearchSpec) -> SearchResult:
        started = time.perf_counter()
        searcher = self._searcher()
        # The query and each filter are translated once, then combined for the hits and for
        # each facet group (as translate(Bool(must=(query,), filter=filters)) would).
        translated = _Translated(self.translate(spec.query), {k: self.translate(n) for k, n in spec.filters.items()},
                                 [self.translate(n) for n in spec.bonus])
        offset = spec.offset
        if spec.search_after:
            # Our cursors are positions: [index of the last hit returned].
            after = spec.search_after
            if len(after) != 1 or isinstance(after[0], bool) or not isinstance(after[0], int) or after[0] < 0:
                raise InvalidCursor("search_after is not a position")
            offset = after[0] + 1
        kwargs: dict[str, Any] = {}
        if spec.sort != "relevance":
            kwargs = {"order_by_field": "date",
                      "order": tantivy.Order.Desc if spec.sort == "date_desc" else tantivy.Order.Asc}
        try:
            # tantivy sizes its heap by offset + limit: past the last document, only count.
            if spec.size > 0 and offset < searcher.num_docs:
                found = searcher.search(translated.combined(scored=True), limit=spec.size, offset=offset,
                                        count=True, **kwargs)
                total, raw_hits = found.count, found.hits  # type: ignore[attr-defined]  # stub lags the binding
            else:
                total = searcher.search(translated.combined(), limit=1, count=True).count  # type: ignore[attr-defined]
                raw_hits = []
        except ValueError as exc:
            raise EngineUnavailable(f"embedded search failed: {exc}") from exc
        hits = []
        for i, (key, addr) in enumerate(raw_hits):
            stored = self._stored(searcher.doc(addr).to_dict(), spec.fields)
            score = float(key) if spec.sort == "relevance" else 0.0
            hits.append(Hit(id=stored["id"], score=score, fields=stored, sort=[offset + i]))
        facets = self._facets(searcher, spec, translated) if spec.facets else {}
        return SearchResult(total=total or 0, hits=hits, facets=facets,
                            took_ms=(time.perf_counter() - started) * 1000)

    def _facets(self, searcher: tantivy.Searcher, spec: SearchSpec, translated: _Translated) -> dict[str, list[FacetValue]]:
        # Facets whose field has no filter of its own share one aggregation request.
        groups: dict[str | None, list[str]] = {}
        for f in spec.facets:
            groups.setdefault(f if f in spec.filters else None, []).append(f)
        out: dict[str, list[FacetValue]] = {}
        for except_key, names in groups.items():
            q = translated.combined(except_key)
            aggs = {n: {"terms": {"field": n, "size": spec.facet_size}} for n in names}
            result = searcher.aggregate(q, aggs)
            for n in names:
                buckets = result.get(n, {}).get("buckets", [])
                values = [FacetValue(str(b["key"]), int(b["doc_count"])) for b in buckets]
                out[n] = sorted(values, key=lambda v: (-v.count, v.value))
        return {f: out[f] for f in spec.facets}

    def _stored(self, raw: dict[str, list[Any]], wanted: tuple[str, ...] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, values in raw.items():
            if wanted is not None and name not in wanted and name != "id":
                continue
            spec = self.specs[name]
            vals = []
            for v in values:
                if isinstance(v, bytes):
                    v = v.decode("utf-8")
                elif spec.type == "date" and isinstance(v, dt.datetime):
                    v = v.date().isoformat() if spec.name != "indexed_at" else v.isoformat()
                vals.append(v)
            out[name] = vals if name in MULTI_VALUED else vals[0]
        return out

    @property
    def generation(self) -> str | None:
        """Identifies this physical index; it changes whenever the index is rebuilt from nothing."""
        try:
            return (self.path / GENERATION_FILE).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None

    def info(self) -> dict[str, Any]:
        size = sum(f.stat().st_size for f in self.path.glob("*") if f.is_file() and f.name != GENERATION_FILE)
        stamp = self._meta_stamp()
        return {
            "engine": self.name,
            "documents": self._searcher().num_docs,
            "index_bytes": size,
            "last_commit": dt.datetime.fromtimestamp(stamp / 1e9, dt.UTC).isoformat(timespec="seconds")
            if stamp else None,
        }

    def close(self) -> None:
        if self._writer is not None:
            self._writer.rollback()  # what was not committed is dropped
            self._writer.wait_merging_threads()  # merges of committed segments finish
            self._writer = None


def open_embedded(data_dir: Path, *, writable: bool = False) -> EmbeddedBackend:
    return EmbeddedBackend(Path(data_dir) / "index", writable=writable)


