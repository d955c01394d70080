"""The baseline a user would pick instead: SQLite FTS5 over the same jieba tokens and
bigrams (space-joined, unicode61 splitting on the spaces), the same six facets counted
in SQL (GROUP BY over the matching rowids, each facet without its own filter), and
snippets cut by the same highlighter the api uses (`api.routes.search.hit_out`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import docnumber
from analysis.normalize import normalize
from analysis.segment import bigrams, words
from api.highlight import query_terms
from api.routes.search import FACETS as API_FACETS, hit_out
from engine import syntax
from engine.model import Hit
from engine.validity import RELATION_FACET

BM25_WEIGHTS = (4.0, 1.0, 1.0, 0.25)  # title_words, body_words, title_grams, body_grams (as syntax.py)
FILTER_FIELDS = ("collection", "agency", "category", "doc_type", "validity")
# The bench's documents are recombined laws with no relations between them and no place in a
# fonds, so the baseline counts every facet of the page but the relation flags and the
# finding aid's levels (always empty here).
FACETS = tuple(f for f in API_FACETS if f not in (RELATION_FACET, "tree_1", "tree_parent"))


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'


def unit_expr(unit: syntax.Unit) -> str | None:
    """FTS5 expression of one unit of the search box: its words or its bigrams, as phrases,
    in title and body (as engine.syntax.unit_node matches them)."""
    n = normalize(unit.text)
    ws, gs = words(n), bigrams(n)
    cols = ("title",) if unit.field == "title" else ("title", "body")
    parts = []
    if ws:
        parts.append("{" + " ".join(f"{c}_words" for c in cols) + "} : " + _phrase(ws))
    if gs:
        parts.append("{" + " ".join(f"{c}_grams" for c in cols) + "} : " + _phrase(gs))
    return "(" + " OR ".join(parts) + ")" if parts else None


@dataclass
class Fts5Result:
    total: int
    hits: list[Any]
    facets: dict[str, list[tuple[str, int]]]


class Fts5Search:
    def __init__(self, path: Path):
        from bench.build import fts5_connect

        self.con = fts5_connect(path)
        self.con.execute("CREATE TEMP TABLE IF NOT EXISTS m(rowid INTEGER PRIMARY KEY, score REAL)")

    def match_rowids(self, expr: str) -> set[int]:
        return {r for (r,) in self.con.execute("SELECT rowid FROM fts WHERE fts MATCH ?", (expr,))}

    def ids(self, rowids: set[int]) -> set[str]:
        out: set[str] = set()
        rows = sorted(rowids)
        for i in range(0, len(rows), 500):
            chunk = rows[i:i + 500]
            q = f"SELECT id FROM docs WHERE rowid IN ({','.join('?' * len(chunk))})"
            out.update(x for (x,) in self.con.execute(q, chunk))
        return out

    def _fill_matches(self, parsed: syntax.ParsedQuery) -> None:
        con = self.con
        con.execute("DELETE FROM temp.m")
        must = []
        doc_numbers = []
        # Read as a question, the query is any of its words (the baseline a user would write:
        # an OR of jieba words, bm25); read as keywords, all of them.
        groups = [[syntax.Unit(w)] for w in parsed.keywords] if parsed.reading == "words" else parsed.groups
        joiner = " OR " if parsed.reading == "words" and parsed.question else " AND "
        for group in groups:
            alts = []
            for u in group:
                if u.field == "doc_number":
                    doc_numbers.append(docnumber.key(docnumber.parse(u.text) or u.text))
                    continue
                e = unit_expr(u)
                if e:
                    alts.append(e)
                canonical = docnumber.parse(u.text) if u.field is None else None
                if canonical:
                    doc_numbers.append(docnumber.key(canonical))
            if alts:
                must.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
        expr = joiner.join(must)
        for u in parsed.excluded:
            e = unit_expr(u)
            if e and expr:
                expr = f"({expr}) NOT {e}"
        w = ", ".join(str(x) for x in BM25_WEIGHTS)
        if expr:
            con.execute(f"INSERT INTO temp.m SELECT rowid, bm25(fts, {w}) FROM fts WHERE fts MATCH ?", (expr,))
        elif not doc_numbers:
            con.execute("INSERT INTO temp.m SELECT rowid, 0 FROM docs")
        for key in doc_numbers:  # an exact 文号 ranks first, as DOC_NUMBER_SCORE does
            con.execute("INSERT OR REPLACE INTO temp.m SELECT rowid, -1000 FROM docs WHERE doc_number_key = ?", (key,))

    def _where(self, params: dict[str, Any], parsed: syntax.ParsedQuery, except_facet: str | None = None):
        clauses, args = ["d.access = 'open'"], []  # the public audience
        for f in FILTER_FIELDS:
            values = params.get(f)
            if not values or f == except_facet:
                continue
            if f == "agency":
                clauses.append(f"d.rowid IN (SELECT rowid FROM doc_agency WHERE agency IN ({','.join('?' * len(values))}))")
            else:
                clauses.append(f"d.{f} IN ({','.join('?' * len(values))})")
            args += list(values)
        if params.get("year") and except_facet != "year":
            clauses.append(f"d.year IN ({','.join('?' * len(params['year']))})")
            args += list(params["year"])
        if params.get("date_from"):
            clauses.append("d.date >= ?")
            args.append(str(params["date_from"]))
        if params.get("date_to"):
            clauses.append("d.date <= ?")
            args.append(str(params["date_to"]))
        if parsed.year_from is not None:
            clauses.append("d.year BETWEEN ? AND ?")
            args += [parsed.year_from, parsed.year_to]
        return " AND ".join(clauses), args

    def search(self, q: str, params: dict[str, Any], page: int = 1, size: int = 10) -> Fts5Result:
        parsed = syntax.parse(q)
        self._fill_matches(parsed)
        con = self.con
        where, args = self._where(params, parsed)
        total = con.execute(f"SELECT count(*) FROM temp.m m JOIN docs d ON d.rowid = m.rowid WHERE {where}",
                            args).fetchone()[0]
        rows = con.execute(
            "SELECT d.id, d.title, d.doc_number, d.agency_json, d.date, d.published, d.collection, d.validity,"
            " d.category, d.doc_type, d.year, d.pages, d.archival_code, d.page_text_json, m.score"
            f" FROM temp.m m JOIN docs d ON d.rowid = m.rowid WHERE {where} ORDER BY m.score, d.rowid"
            " LIMIT ? OFFSET ?", [*args, size, (page - 1) * size]).fetchall()
        terms = query_terms(parsed)
        hits = []
        for r in rows:
            fields = {"id": r[0], "title": r[1], "doc_number": r[2], "agency": json.loads(r[3]), "date": r[4],
                      "published": r[5], "collection": r[6], "validity": r[7], "category": r[8],
                      "doc_type": r[9], "year": r[10], "pages": r[11], "archival_code": r[12],
                      "page_text": json.loads(r[13])}
            hits.append(hit_out(Hit(id=r[0], score=-r[14], fields={k: v for k, v in fields.items() if v is not None}),
                                terms))
        facets: dict[str, list[tuple[str, int]]] = {}
        for f in FACETS:
            fw, fargs = self._where(params, parsed, except_facet=f)
            if f == "agency":
                sql = ("SELECT a.agency, count(*) c FROM temp.m m JOIN docs d ON d.rowid = m.rowid"
                       f" JOIN doc_agency a ON a.rowid = m.rowid WHERE {fw} GROUP BY a.agency")
            else:
                sql = (f"SELECT d.{f}, count(*) c FROM temp.m m JOIN docs d ON d.rowid = m.rowid"
                       f" WHERE {fw} AND d.{f} IS NOT NULL GROUP BY d.{f}")
            facets[f] = [(str(v), c) for v, c in con.execute(sql + " ORDER BY c DESC, 1 LIMIT 20", fargs)]
        return Fts5Result(total, hits, facets)
