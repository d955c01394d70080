"""The embedded engine: tantivy on disk under the data directory, no server.

One index per audience tier (see EmbeddedBackend). One writer (the indexer) and any number
of readers (api workers); a reader notices a new commit by a tier's meta.json changing and
reloads that tier before its next query."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import shutil
import uuid
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tantivy

from engine.base import RESULT_WINDOW, EngineUnavailable, InvalidCursor
from engine.model import Audience, FacetValue, Hit, SearchResult, audiences_seeing
from engine.query import (
    Bool, Boost, ConstScore, Fuzzy, MatchAll, MatchNone, NearPhrase, Node, Phrase, Prefix, Range, SearchSpec, Term,
    Terms,
)
from engine.schema import MULTI_VALUED, PRETOKENIZED, fields, tantivy_schema

WRITER_HEAP = 128_000_000  # the indexer's indexing buffer, shared by the three tiers' writers
GENERATION_FILE = "GENERATION"
# Ranking with a bonus (see _ranked): candidates first fetched beyond the last hit asked for,
# how far the window may grow before the bonus goes back into the query, and the largest set
# of documents a bonus clause may match to be kept per snapshot.
RESCORE_MARGIN = 100
RESCORE_MAX = 10_000
MATCH_SET_MAX = 250_000
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
    """A translated query, its translated filters (by key) and bonus clauses (translated when
    first needed: most rankings do without them)."""

    def __init__(self, query: tantivy.Query, filters: dict[str, tantivy.Query],
                 bonus: Callable[[], list[tantivy.Query]]):
        self.query, self.filters, self._bonus = query, filters, bonus

    @functools.cached_property
    def bonus(self) -> list[tantivy.Query]:
        return self._bonus()

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


def _constant_scoring(node: Node) -> bool:
    """Every match scores the same: ranking is by the bonus alone, over all the matches."""
    if isinstance(node, (MatchAll, MatchNone, Range, ConstScore)):
        return True
    if isinstance(node, Boost):
        return _constant_scoring(node.query)
    if isinstance(node, Bool):
        return not node.should and all(_constant_scoring(n) for n in node.must)
    return False


@dataclass
class _BonusPlan:
    """Bonus clauses ready to be worked out per document: the term clauses on a number as one
    look-up per field (sorted values, their scores), the others one by one."""

    by_value: dict[str, tuple[np.ndarray, np.ndarray]]
    others: list[tuple[Node, np.float32]]


class _Snapshot:
    """One searcher, kept until the index changes: a fixed set of segments, so a document's
    address means the same document on every call, and what is worked out from them (the
    documents matching a bonus clause) is worked out once."""

    def __init__(self, stamp: tuple[int, int, int], searcher: tantivy.Searcher, whole: bool = False):
        # whole: no segment holds a deleted document, so a term's document frequency is the
        # exact count of the documents holding it (deleted ones count until merged away).
        self.stamp, self.searcher, self.whole = stamp, searcher, whole
        self._matching: dict[Node, np.ndarray | None] = {}
        self._ceiling: tuple[tuple[Node, ...], np.float32] | None = None

    def bonus_ceiling(self, bonus: tuple[Node, ...], clauses: list[tantivy.Query]) -> np.float32:
        """The largest bonus any document here has, as tantivy sums it (two ulps up, so a
        different order of summing cannot exceed it)."""
        if self._ceiling is None or self._ceiling[0] is not bonus:  # by identity: hashing costs
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, c) for c in clauses])
            hits = self.searcher.search(query, limit=1, count=False).hits
            top = np.float32(hits[0][0] if hits else 0.0)
            self._ceiling = (bonus, np.nextafter(np.nextafter(top, np.float32(np.inf)), np.float32(np.inf)))
        return self._ceiling[1]

    def matching(self, node: Node, translate: Callable[[Node], tantivy.Query]) -> np.ndarray | None:
        """Sorted keys of the documents matching `node`, or None if they are too many to keep
        (the node is translated only the first time, when its matches are worked out)."""
        if node not in self._matching:
            query = translate(node)
            n = self.searcher.search(query, limit=1, count=True).count  # type: ignore[attr-defined]
            keys = None
            if n <= MATCH_SET_MAX:
                hits = self.searcher.search(query, limit=max(n, 1), count=False).hits
                keys = np.sort(np.fromiter((a.segment_ord << 32 | a.doc for _, a in hits), dtype=np.int64, count=len(hits)))
            self._matching[node] = keys
        return self._matching[node]


class EmbeddedBackend:
    """Three tantivy indexes under `path`, one per audience tier (`public/`, `reading_room/`,
    `staff/`), each holding exactly the documents its audience may see: tantivy computes BM25
    statistics per index, so a tier's scores are those of an index without the documents
    hidden from its audience (docs/decisions/access-tiers.md). An open document is written
    to all three."""

    name = "embedded"

    def __init__(self, path: Path, *, writable: bool = False):
        self.path = Path(path)
        self.schema = tantivy_schema()
        self.specs = fields()
        if writable:
            self.path.mkdir(parents=True, exist_ok=True)
            if (self.path / "meta.json").exists():
                # An index from before the tiers (one index for everyone): derived data, so it
                # is rebuilt; a new generation tells the ledger that every file must be redone.
                log.warning("index layout changed (one index per audience tier): rebuilding %s", self.path)
                self._start_over()
        elif (self.path / "meta.json").exists():
            raise EngineUnavailable(f"the index at {self.path} has the old layout (one index for every "
                                    "audience): run `chayue index` to rebuild it")
        elif not all((self.path / a.value / "meta.json").exists() for a in Audience):
            raise EngineUnavailable(f"no index at {self.path}: run `chayue index` first")
        try:
            self.indexes = self._open_tiers()
        except (OSError, ValueError) as exc:
            if not (writable and "schema does not match" in str(exc)):
                hint = " (the field catalogue changed: run `chayue index` to rebuild)" \
                    if "schema does not match" in str(exc) else ""
                raise EngineUnavailable(f"cannot open the index at {self.path}: {exc}{hint}") from exc
            # The catalogue changed since this index was built: rebuild, as above.
            log.warning("field catalogue changed: rebuilding the index at %s", self.path)
            self._start_over()
            self.indexes = self._open_tiers()
        if writable and not (self.path / GENERATION_FILE).exists():
            (self.path / GENERATION_FILE).write_text(uuid.uuid4().hex, encoding="ascii")
        self._writers: dict[Audience, tantivy.IndexWriter] = {}
        self._writable = writable
        self._dirty = False  # written to since the last commit
        self._snapshots: dict[Audience, _Snapshot] = {}
        self._bonus_queries: tuple[tuple[Node, ...], list[tantivy.Query]] | None = None
        self._bonus_plan: tuple[tuple[Node, ...], _BonusPlan | None] | None = None

    def _start_over(self) -> None:
        shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def _open_tiers(self) -> dict[Audience, tantivy.Index]:
        indexes = {}
        for tier in Audience:
            (self.path / tier.value).mkdir(exist_ok=True)
            index = tantivy.Index(self.schema, path=str(self.path / tier.value), reuse=True)
            index.register_tokenizer(PRETOKENIZED, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
            indexes[tier] = index
        return indexes

    # -- writes --------------------------------------------------------------------
    def _writer(self, tier: Audience) -> tantivy.IndexWriter:
        if not self._writable:
            raise RuntimeError("this engine was opened read-only")
        if tier not in self._writers:
            # One third each: the tiers together keep the one buffer's memory bound.
            heap = WRITER_HEAP // len(Audience)
            self._writers[tier] = self.indexes[tier].writer(heap_size=heap, num_threads=1)
        return self._writers[tier]

    def upsert(self, records: Iterable[dict[str, Any]]) -> int:
        self._dirty = True
        n = 0
        for rec in records:
            doc, seen_by = self._document(rec), audiences_seeing(rec.get("access", "open"))
            for tier in Audience:
                # Deleted from every tier: the document may have changed its access level.
                writer = self._writer(tier)
                writer.delete_documents_by_term("id", rec["id"])
                if tier in seen_by:
                    writer.add_document(doc)
            n += 1
        return n

    def delete(self, ids: Iterable[str]) -> None:
        self._dirty = True
        for doc_id in ids:
            for tier in Audience:
                self._writer(tier).delete_documents_by_term("id", doc_id)

    def commit(self) -> None:
        # The writers stay open across commits and their merges run in the background: the
        # pipeline commits every batch, and waiting for merges (or dropping the writer, which
        # abandons them) on each one cost a merge per batch. close() waits for them.
        # The tiers commit one after the other; a crash between two leaves the batch's ids
        # pending in the ledger, and the next run writes them to every tier again.
        for writer in self._writers.values():
            writer.commit()
        self._dirty = False
        self._snapshots.clear()  # the next read reloads

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
    def _meta_stamp(self, tier: Audience) -> tuple[int, int, int]:
        # tantivy replaces meta.json on each commit (a new inode): two commits within one tick
        # of the file clock still differ.
        try:
            st = (self.path / tier.value / "meta.json").stat()
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def _current(self, tier: Audience = Audience.staff) -> _Snapshot:
        stamp = self._meta_stamp(tier)
        snap = self._snapshots.get(tier)
        if snap is None or snap.stamp != stamp:
            self.indexes[tier].reload()
            searcher = self.indexes[tier].searcher()
            # The commit read is the one stamped if meta.json is still that file afterwards.
            whole = self._meta_stamp(tier) == stamp and self._no_deletes(tier)
            snap = self._snapshots[tier] = _Snapshot(stamp, searcher, whole)
        return snap

    def _no_deletes(self, tier: Audience) -> bool:
        try:
            meta = json.loads((self.path / tier.value / "meta.json").read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return False
        return all(not (seg.get("deletes") or {}).get("num_deleted_docs") for seg in meta.get("segments", []))

    def doc_freqs(self, tier: Audience) -> tuple[Callable[[str, Any], int], int]:
        """A term's document count in the tier, and the tier's documents, from one searcher
        (deleted documents not yet merged away included: an upper bound, for admission
        control). A value the field cannot hold counts as every document."""
        searcher = self._current(tier).searcher

        def doc_freq(field: str, value: Any) -> int:
            try:
                return searcher.doc_freq(field, self._value(field, value))
            except (ValueError, KeyError):
                return searcher.num_docs

        return doc_freq, searcher.num_docs

    def exact_doc_freqs(self, tier: Audience) -> Callable[[str, Any], int] | None:
        """A term's exact document count in the tier, or None while a deleted document is
        not yet merged away (its terms would still count it)."""
        snap = self._current(tier)
        if not snap.whole:
            return None
        searcher = snap.searcher

        def doc_freq(field: str, value: Any) -> int:
            return searcher.doc_freq(field, self._value(field, value))

        return doc_freq

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
        if isinstance(node, NearPhrase):
            # One phrase per gap, the terms at their offsets: tantivy's slop would also let
            # the gap fall inside either side.
            head: list[str | tuple[int, str]] = [(i, t) for i, t in enumerate(node.head)]
            return Q.boolean_query([(tantivy.Occur.Should, Q.phrase_query(
                s, node.field, head + [(len(head) + gap + i, t) for i, t in enumerate(node.tail)]))
                for gap in range(node.max_gap + 1)])
        if isinstance(node, Fuzzy):
            return Q.fuzzy_term_query(s, node.field, node.value, distance=node.distance,
                                      transposition_cost_one=True, prefix=False)
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
        snap = self._current(spec.audience or Audience.staff)
        searcher = snap.searcher
        # The query and each filter are translated once, then combined for the hits and for
        # each facet group (as translate(Bool(must=(query,), filter=filters)) would).
        translated = _Translated(self.translate(spec.query), {k: self.translate(n) for k, n in spec.filters.items()},
                                 lambda: self._translate_bonus(spec.bonus))
        offset = spec.offset
        if spec.search_after:
            # Our cursors are positions: [index of the last hit returned].
            after = spec.search_after
            if len(after) != 1 or isinstance(after[0], bool) or not isinstance(after[0], int) or after[0] < 0:
                raise InvalidCursor("search_after is not a position")
            offset = after[0] + 1
            # A position costs what an offset costs (tantivy collects offset + size hits): the
            # window holds for cursors as for pages, and no cursor past it is handed out.
            if offset + spec.size > RESULT_WINDOW:
                raise InvalidCursor("search_after is past the result window")
        kwargs: dict[str, Any] = {}
        if spec.sort != "relevance":
            kwargs = {"order_by_field": "date",
                      "order": tantivy.Order.Desc if spec.sort == "date_desc" else tantivy.Order.Asc}
        try:
            # tantivy sizes its heap by offset + limit: past the last document, only count.
            ranked = None
            if spec.size > 0 and offset < searcher.num_docs and spec.bonus and not kwargs:
                ranked = self._ranked(snap, spec, translated, offset)
            if ranked is not None:
                total, raw_hits = ranked
            elif spec.size > 0 and offset < searcher.num_docs:
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
            after_this = offset + i + 1 + spec.size <= RESULT_WINDOW
            hits.append(Hit(id=stored["id"], score=score, fields=stored, sort=[offset + i] if after_this else None))
        facets = self._facets(searcher, spec, translated) if spec.facets else {}
        return SearchResult(total=total or 0, hits=hits, facets=facets,
                            took_ms=(time.perf_counter() - started) * 1000)

    def _translate_bonus(self, bonus: tuple[Node, ...]) -> list[tantivy.Query]:
        # The tie-break is the same tuple on every search: translated once (kept by identity).
        if self._bonus_queries is None or self._bonus_queries[0] is not bonus:
            self._bonus_queries = (bonus, [self.translate(n) for n in bonus])
        return self._bonus_queries[1]

    def _plan(self, bonus: tuple[Node, ...]) -> _BonusPlan | None:
        """How to work out each document's bonus, or None if these clauses are not all constant
        scores (kept by identity like the translation)."""
        if self._bonus_plan is None or self._bonus_plan[0] is not bonus:
            self._bonus_plan = (bonus, self._new_plan(bonus))
        return self._bonus_plan[1]

    def _new_plan(self, bonus: tuple[Node, ...]) -> _BonusPlan | None:
        plan = _BonusPlan({}, [])
        values: dict[str, dict[float, np.float32]] = {}
        for clause in bonus:
            if not isinstance(clause, ConstScore):
                return None
            node, score = clause.query, np.float32(clause.score)
            if isinstance(node, Term) and self._numeric(node.field):
                same_field = values.setdefault(node.field, {})
                value = float(self._value(node.field, node.value))
                if value not in same_field:
                    same_field[value] = score
                    continue
            plan.others.append((node, score))
        for field, scores in values.items():
            terms = np.array(sorted(scores))
            plan.by_value[field] = (terms, np.array([scores[v] for v in terms], dtype=np.float32))
        return plan

    def _ranked(self, snap: _Snapshot, spec: SearchSpec, translated: _Translated,
                offset: int) -> tuple[int, list[tuple[float, tantivy.DocAddress]]] | None:
        """The hits at offset..offset+size ranked by score plus bonus, without the bonus clauses
        in the query (as should clauses they make tantivy walk every clause's postings).

        The plain query's top K are fetched, each one's bonus is added as tantivy adds it (in
        f32) and they are re-sorted, ties by address as tantivy breaks them. A document outside
        the K scores at most the K-th score plus the largest bonus; once that is below the
        total of the last hit asked for, none can enter, else K grows. None where this cannot
        give tantivy's exact answer cheaply (constant scores, where every match is a candidate;
        a window grown too large; a bonus this cannot evaluate): the caller puts the clauses
        back in the query."""
        plan = self._plan(spec.bonus)
        if plan is None or _constant_scoring(spec.query):
            return None
        bmax = snap.bonus_ceiling(spec.bonus, translated.bonus)
        searcher, plain, n = snap.searcher, translated.combined(), offset + spec.size
        k = 2 * n + RESCORE_MARGIN
        found = searcher.search(plain, limit=k, count=True)
        total: int = found.count  # type: ignore[attr-defined]
        while True:
            hits = found.hits
            addrs = [a for _, a in hits]
            keys = np.fromiter((a.segment_ord << 32 | a.doc for a in addrs), dtype=np.int64, count=len(addrs))
            bonus = self._bonus(snap, plan, addrs, keys)
            if bonus is None:
                return None
            scores = np.fromiter((s for s, _ in hits), dtype=np.float32, count=len(hits))
            totals = scores + bonus  # f32 + f32 rounds as tantivy's sum does
            order = np.lexsort((keys, -totals))
            if len(hits) < k or np.float32(scores[-1]) + bmax < totals[order[n - 1]]:
                return total, [(float(totals[i]), addrs[i]) for i in order[offset:n]]
            # How many score at least the last total asked for minus the largest bonus, by the
            # density of scores in the lower half of the window; flat scores need them all.
            floor = float(totals[order[n - 1]]) - float(bmax)
            lower = scores[len(scores) // 2:].astype(np.float64)
            spread = lower[0] - lower[-1]
            need = len(scores) + (lower[-1] - floor) * len(lower) / spread if spread > 0 else np.inf
            if need > RESCORE_MAX or k >= RESCORE_MAX:
                return None
            k = min(max(2 * k, int(1.5 * need)), RESCORE_MAX)
            found = searcher.search(plain, limit=k, count=False)

    def _bonus(self, snap: _Snapshot, plan: _BonusPlan, addrs: list[tantivy.DocAddress],
               keys: np.ndarray) -> np.ndarray | None:
        """Each document's bonus: the f32 sum of the scores of the clauses it matches, or None
        if a document matches more than two (tantivy's order of summing would then matter)."""
        out = np.zeros(len(addrs), dtype=np.float32)
        matched = np.zeros(len(addrs), dtype=np.int8)
        columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for field, (terms, scores) in plan.by_value.items():
            present, values = self._column(snap, field, addrs, columns)
            at = np.minimum(np.searchsorted(terms, values), len(terms) - 1)
            hit = present & (terms[at] == values)
            out[hit] += scores[at[hit]]
            matched += hit
        for node, score in plan.others:
            mask = self._matches(snap, node, addrs, keys, columns)
            if mask is None:
                return None
            out[mask] += score
            matched += mask
        return None if (matched > 2).any() else out

    def _numeric(self, field: str) -> bool:
        """A single-valued number with a fast field, read per document by fast_field_values."""
        spec = self.specs[field]
        return field not in MULTI_VALUED and spec.indexed and spec.type in ("integer", "float")

    def _column(self, snap: _Snapshot, field: str, addrs: list[tantivy.DocAddress],
                columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        if field not in columns:
            raw = snap.searcher.fast_field_values(field, addrs)
            columns[field] = (np.array([v is not None for v in raw], dtype=bool),
                              np.array([0 if v is None else v for v in raw], dtype=np.float64))
        return columns[field]

    def _matches(self, snap: _Snapshot, node: Node, addrs: list[tantivy.DocAddress], keys: np.ndarray,
                 columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
        """Which of the documents match `node`: a term or range on a number from its fast field,
        a pure exclusion as the negation, anything else from the snapshot's set of its matches."""
        if isinstance(node, (Term, Range)) and self._numeric(node.field):
            present, values = self._column(snap, node.field, addrs, columns)
            if isinstance(node, Term):
                return present & (values == self._value(node.field, node.value))
            mask = present.copy()
            if node.gte is not None:
                mask &= values >= self._value(node.field, node.gte)
            if node.lte is not None:
                mask &= values <= self._value(node.field, node.lte)
            return mask
        if isinstance(node, Bool) and node.must_not and not (node.must or node.should or node.filter):
            excluded = np.zeros(len(addrs), dtype=bool)
            for n in node.must_not:
                m = self._matches(snap, n, addrs, keys, columns)
                if m is None:
                    return None
                excluded |= m
            return ~excluded
        matching = snap.matching(node, self.translate)
        if matching is None:
            return None
        if not len(matching):
            return np.zeros(len(addrs), dtype=bool)
        at = np.minimum(np.searchsorted(matching, keys), len(matching) - 1)
        return matching[at] == keys

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
        size = sum(f.stat().st_size for f in self.path.glob("*/*") if f.is_file())
        mtime = self._meta_stamp(Audience.staff)[0]
        return {
            "engine": self.name,
            "documents": self._current().searcher.num_docs,
            "index_bytes": size,
            "last_commit": dt.datetime.fromtimestamp(mtime / 1e9, dt.UTC).isoformat(timespec="seconds")
            if mtime else None,
        }

    def close(self) -> None:
        for writer in self._writers.values():
            if self._dirty:
                writer.rollback()  # what was not committed is dropped
            # Merges of committed segments finish. A rollback would also end the merges under
            # way and drop what they made: a bulk build closed right after its last commit
            # kept 12 segments of ~770 documents in a 10k tier, where merged it has a few.
            writer.wait_merging_threads()
        self._writers.clear()
        self._dirty = False


def open_embedded(data_dir: Path, *, writable: bool = False) -> EmbeddedBackend:
    return EmbeddedBackend(Path(data_dir) / "index", writable=writable)


