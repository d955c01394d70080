"""Relevance of the queries people type (tests/relevance/cases.py: fragments, passages, titles,
文号 forms, abbreviations, traditional script, OCR'd text) on chayue and on the SQLite FTS5
baseline over the same tokens: MRR@10, recall@10 and the zero-result rate per kind of query.

    .venv/bin/python -m bench.relevance [--out bench/out]    # prints the rows as JSON

Run by `make bench` (bench/__main__.py) into its table."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.build import FTS5_SCHEMA, FTS_COLUMNS, fts5_connect
from bench.corpus import OUT


def _fts5(db: Path, records: list[dict[str, Any]]) -> None:
    """The FTS5 baseline's tables (as bench/build.py makes them) over these records."""
    db.unlink(missing_ok=True)
    con = fts5_connect(db)
    con.executescript(FTS5_SCHEMA)
    for n, r in enumerate(records, 1):
        con.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            n, r["id"], r["collection"], r["title"], r.get("doc_number"), r.get("doc_number_key"),
            r.get("date"), r.get("year"), r.get("category"), r.get("doc_type"), r.get("validity"),
            r["access"], r["pages"], r.get("archival_code"), r.get("published"),
            json.dumps(r.get("agency", []), ensure_ascii=False), json.dumps(r["page_text"], ensure_ascii=False)))
        con.executemany("INSERT INTO doc_agency VALUES (?,?)", [(n, a) for a in r.get("agency", [])])
        con.execute(f"INSERT INTO fts(rowid, {', '.join(FTS_COLUMNS)}) VALUES (?,?,?,?,?)",
                    (n, *[r.get(c, "") for c in FTS_COLUMNS]))
    con.commit()
    con.close()


def measure(out: Path) -> list[dict[str, Any]]:
    from analysis.abbreviations import names_for
    from bench.fts5 import Fts5Search
    from engine import Engine, syntax
    from engine.embedded import open_embedded
    from engine.model import Audience
    from engine.query import SearchSpec
    from engine.record import to_record
    from tests.relevance import cases

    corpus = cases.corpus()
    records = [to_record(d) for d in corpus.documents]
    data = out / "relevance-index"
    shutil.rmtree(data, ignore_errors=True)
    backend = open_embedded(data, writable=True)
    backend.upsert(records)
    backend.commit()
    engine = Engine(backend)
    db = out / "relevance-fts5.sqlite"
    _fts5(db, records)
    base = Fts5Search(db)
    names = names_for(None)

    def ours(q: str) -> tuple[int, list[str]]:
        spec = SearchSpec(query=syntax.to_node(syntax.parse(q, names)), size=10, fields=("id",))
        res = engine.search(spec, Audience.public)
        return res.total, [h.id for h in res.hits]

    def fts5(q: str) -> tuple[int, list[str]]:
        res = base.search(q, {}, size=10)
        return res.total, [h.id for h in res.hits]

    mine, theirs = cases.evaluate(corpus.cases, ours), cases.evaluate(corpus.cases, fts5)
    engine.close()
    base.con.close()
    return [{"kind": k, "n": mine[k].n, "mrr": mine[k].mrr, "recall": mine[k].recall10, "zero": mine[k].zero_rate,
             "fts5_mrr": theirs[k].mrr, "fts5_recall": theirs[k].recall10, "fts5_zero": theirs[k].zero_rate,
             "docs": len(records)} for k in cases.KINDS if k in mine]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.relevance", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(measure(args.out), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
