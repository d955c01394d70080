"""`make bench` / `make bench-large`: one markdown table of figures, each with its
baseline measured in the same run on the same machine and data, and the goal it is held
against (goals are reported, never asserted).

    .venv/bin/python -m bench [--sizes 10000,100000] [--large] [--seed 1] [--corpus DIR]

`--large` (make bench-large) runs the engine at 1,000,000 documents only and writes
bench/RESULTS-large.md; the text-analysis and OCR rows do not depend on the corpus size
and come from `make bench`. The FTS5 baseline is built up to --fts5-max documents (its
1M build alone takes about 50 minutes here); above that the rows say it was not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, UTC
from pathlib import Path
from typing import Any
from collections.abc import Callable

from bench import attack, corpus, exports, queries, segmenters
from bench import usage_figures

REPO = corpus.REPO
FACETED = "2 facet filters + date range"


def run_json(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Table:
    HEAD = ("area", "figure", "docs", "chayue", "baseline (same run)", "ratio", "goal", "met")

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: Any) -> None:
        cells = tuple("" if c is None else str(c) for c in cells)
        self.rows.append(cells + ("",) * (len(self.HEAD) - len(cells)))

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.HEAD) + " |", "|" + "|".join(["---"] * len(self.HEAD)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def fmt_ms(p: dict[str, float]) -> str:
    return f"{p['p50']:.1f} / {p['p95']:.1f} / {p['p99']:.1f}"


def met(ok: bool, where: str = "") -> str:
    return ("met" if ok else "not met") + (f" ({where})" if where else "")


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} × {cpu}; Python {platform.python_version()}; {platform.platform()}\n\n"
            f"```\n$ free -g\n{free}\n```")


def _md_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _number(cell: str) -> float | None:
    m = re.search(r"[\d.]+", cell.replace(",", ""))
    return float(m.group()) if m else None


def ocr_rows(table: Table, pages: int, pdf_pages: int) -> None:
    """Run bench/bench_ocr.py (owned elsewhere) and carry its rows over: pages/minute of our
    Ocr against the bare tesseract CLI run in the same process of the same run."""
    out = subprocess.run([sys.executable, "bench/bench_ocr.py", "--pages", str(pages), "--pdf-pages", str(pdf_pages)],
                         cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        table.add("OCR", "bench/bench_ocr.py failed", "", (out.stderr.strip().splitlines() or ["?"])[-1][:120])
        return
    for rows in _md_tables(out.stdout):
        head = [h.lower() for h in rows[0]]
        if any("pages/minute" in h for h in head):
            col = next(i for i, h in enumerate(head) if "pages/minute" in h)
            data = [(r[0], _number(r[col]), r) for r in rows[1:] if len(r) > col]
            raw = [v for name, v, _ in data if "`tesseract page.png" in name and v]
            base = raw[0] if raw else None  # the raw command, on the same pages in the same run
            for name, ppm, r in data:
                goal = ok = ratio = ""
                if base and ppm:
                    ratio = f"{ppm / base:.2f}×"
                    if "chayue" in name.lower() and "cold" in name.lower():
                        goal, ok = "≥ raw tesseract", met(ppm / base >= 1.0)
                extra = "; ".join(f"{h} {c}" for h, c in zip(rows[0][1:], r[1:], strict=False) if c and h.lower() != head[col])
                table.add("OCR", f"{name}: pages/minute ({extra})", "", f"{ppm:.1f}" if ppm else r[col],
                          f"{base:.1f} (raw tesseract)" if base else "", ratio, goal, ok)
        elif any("pages/second" in h for h in head):
            col = next(i for i, h in enumerate(head) if "pages/second" in h)
            for r in rows[1:]:
                table.add("OCR", f"born-digital PDF through pdf.py: pages/s ({r[0]} pages)", "", r[col])


def analysis_row(table: Table, args: argparse.Namespace) -> None:
    a = run_json(["bench.build", "analysis", str(args.out / "analysis-data"), str(args.analysis_docs),
                  str(args.seed), str(args.corpus)])
    mb = a["text_bytes"] / 1e6
    table.add("indexing", "analysis + engine, 2 processes (analysis in a pool of 2): MB/s of text (docs/s)",
              a["docs"], f"{mb / a['two_processes']:.2f} ({a['docs'] / a['two_processes']:.0f})",
              f"{mb / a['one_process']:.2f} ({a['docs'] / a['one_process']:.0f}) in 1 process, as pipeline.py runs",
              f"{a['one_process'] / a['two_processes']:.2f}×", "≥ 5 MB/s", met(mb / a["two_processes"] >= 5))


# Floors the relevance test set holds (tests/relevance/test_relevance.py), as goals here.
RELEVANCE_GOALS = {"fragment": 0.95, "passage": 0.95, "traditional": 0.95, "title": 0.98, "short title": 0.98,
                   "文号": 0.98, "ocr": 0.9}


def relevance_rows(table: Table, args: argparse.Namespace) -> None:
    """MRR@10, recall@10 and the zero-result rate per kind of query (bench/relevance.py),
    chayue beside FTS5 over the same tokens and the same queries."""
    try:
        rows = run_json(["bench.relevance", "--out", str(args.out)])
    except RuntimeError as exc:
        table.add("relevance", "bench/relevance.py failed", "", str(exc).strip().splitlines()[-1][:160])
        return
    for r in rows:
        floor = RELEVANCE_GOALS.get(r["kind"])
        goal = f"MRR ≥ {floor}" if floor else ""
        ok = met(r["mrr"] >= floor) if floor else ""
        if r["kind"] in ("fragment", "passage", "traditional"):
            goal += ", no zero results"
            ok = met(r["mrr"] >= floor and r["zero"] == 0)
        table.add("relevance", f"{r['kind']} ({r['n']} queries): MRR@10 · recall@10 · zero-result rate",
                  f"{r['docs']}", f"{r['mrr']:.3f} · {r['recall']:.3f} · {r['zero']:.3f}",
                  f"{r['fts5_mrr']:.3f} · {r['fts5_recall']:.3f} · {r['fts5_zero']:.3f} (FTS5)", "", goal, ok)


def question_rows(table: Table, args: argparse.Namespace) -> None:
    """The 308 real questions (bench/questions.py): law@10, article@3, questions finding nothing."""
    try:
        r = run_json(["bench.questions", "--out", str(args.out), "--limit", str(args.questions)])
    except RuntimeError as exc:
        table.add("relevance", "bench/questions.py failed", "", str(exc).strip().splitlines()[-1][:160])
        return
    ours, fts5 = r["chayue"], r["fts5"]
    table.add("relevance", f"questions ({ours['in_collection']} of {ours['questions']} answered in the collection): "
              "law@10 · article@3 · finding nothing", f"{r['docs']}",
              f"{ours['law@10']:.3f} · {ours['article@3']:.3f} · {ours['empty']}",
              f"{fts5['law@10']:.3f} · {fts5['article@3']:.3f} · {fts5['empty']} (FTS5)", "",
              "law@10 ≥ 0.95, article@3 ≥ 0.6, none empty",
              met(ours["law@10"] >= 0.95 and ours["article@3"] >= 0.6 and ours["empty"] == 0))
    table.add("relevance", "questions, in process: p50 · p99 ms", f"{r['docs']}",
              f"{ours['p50 ms']} · {ours['p99 ms']}", f"{fts5['p50 ms']} · {fts5['p99 ms']} (FTS5)", "", "", "")
    table.add("relevance", "questions by meaning (analysis/meaning.py): passages embedded, s (those "
              "embedded before come from the cache)", f"{r['docs']}",
              f"{r['passages']} · {r['embedding s']}" if r["meaning"] else "model absent: by words alone",
              "", "", "", "")


def engine_size(table: Table, notes: list[str], pool: corpus.Pool, size: int, args: argparse.Namespace,
                log: Callable[[str], None], first: bool) -> dict[str, Any]:
    """Build (or reuse) the embedded index and the FTS5 baseline at one size, then time the
    query shapes in process on both and over HTTP on ours. Returns the build's figures."""
    label = size_label(size)
    data = args.out / f"data-{size}-{args.seed}"
    db = args.out / f"fts5-{size}-{args.seed}.sqlite"
    figures = args.out / f"build-{size}-{args.seed}.json"
    with_fts = size <= args.fts5_max
    if args.reuse and figures.exists() and (data / "index" / "staff" / "meta.json").exists() and (db.exists() or not with_fts):
        built = json.loads(figures.read_text())
        notes.append(f"{label}: indexes reused from the build of {built['when']} (--reuse).")
    else:
        log(f"{label}: building the embedded index")
        emb = run_json(["bench.build", "embedded", str(data), str(size), str(args.seed), str(args.corpus)])
        fts = None
        if with_fts:
            log(f"{label}: building the FTS5 baseline")
            fts = run_json(["bench.build", "fts5", str(db), str(size), str(args.seed), str(args.corpus)])
        built = {"embedded": emb, "fts5": fts, "when": datetime.now(UTC).isoformat(timespec="seconds")}
        figures.write_text(json.dumps(built))
    emb, fts = built["embedded"], built["fts5"] if with_fts else None
    if fts is None:
        notes.append(f"{label}: no FTS5 baseline (built up to {args.fts5_max:,} documents, --fts5-max); "
                     "its rows at the smaller sizes give the ratio.")
    tmb = emb["text_bytes"] / 1e6
    table.add("indexing", "bulk build, engine only (cached analysis): docs/s · MB/s", label,
              f"{size / emb['seconds']:.0f} · {tmb / emb['seconds']:.1f}",
              f"{size / fts['seconds']:.0f} · {tmb / fts['seconds']:.1f} (FTS5)" if fts else "",
              f"{fts['seconds'] / emb['seconds']:.2f}×" if fts else "")
    if "indexer_anon_mb" in emb:
        table.add("indexing", "indexer peak memory, MB: own (anonymous, above the harness's text pool) · "
                  "mapped index files (page cache)", label,
                  f"{emb['indexer_anon_mb']:.0f} · {emb['mapped_files_mb']:.0f}",
                  f"{fts['indexer_anon_mb']:.0f} · {fts['mapped_files_mb']:.0f} (FTS5)" if fts else "")
    table.add("indexing", "index on disk per MB of text", label, f"{emb['index_bytes'] / emb['text_bytes']:.2f} MB",
              f"{fts['db_bytes'] / fts['text_bytes']:.2f} MB (FTS5, text and pages included)" if fts else "",
              f"{emb['index_bytes'] / fts['db_bytes']:.2f}×" if fts else "")
    if first and fts:
        table.add("baseline", "FTS5 vocabulary equals our tokens (distinct tokens of ≤ 20k docs)", label,
                  f"{fts['tokens_identical']:,} of {fts['tokens_checked']:,}", "", "", "all", met(
                      fts["tokens_identical"] == fts["tokens_checked"]))

    if args.flood_only or args.attack_only:
        if args.flood_only:
            flood_row(table, data, queries.shapes(pool, args.seed), label, args, log)
        if size <= ATTACK_MAX:
            attack.rows(table, data, queries.shapes(pool, args.seed), label, args.attack_seconds, log)
        return emb
    log(f"{label}: in-process searches")
    from bench.fts5 import Fts5Search

    shapes = queries.shapes(pool, args.seed)
    ours = queries.InProcess(data)
    base = Fts5Search(db) if fts else None
    es = es_built = None
    if os.environ.get("ES_URL") and size <= args.es_max:
        alias = f"chayue-bench-{size}-{args.seed}"
        log(f"{label}: building the Elasticsearch index {alias} at ES_URL")
        try:
            es_built = run_json(["bench.build", "elastic", alias, str(size), str(args.seed), str(args.corpus)])
        except RuntimeError as exc:  # an unreachable server is a row of the table, not a lost run
            table.add("baseline", "Elasticsearch backend", label, "failed: " + str(exc).strip().splitlines()[-1][:160])
    if es_built is not None:
        table.add("indexing", "bulk build, engine only (cached analysis): docs/s · MB/s", label,
                  f"{size / emb['seconds']:.0f} · {tmb / emb['seconds']:.1f}",
                  f"{size / es_built['seconds']:.0f} · {tmb / es_built['seconds']:.1f} (Elasticsearch)",
                  f"{es_built['seconds'] / emb['seconds']:.2f}×")
        es = queries.InProcess.elastic(alias)
    for shape in shapes:
        res = ours.run(shape)
        ours_ms = queries.percentiles(queries.time_loop(lambda shape=shape, ours=ours: ours.run(shape), args.requests, args.budget))
        goal = ok = baseline = ratio = ""
        hits = f"hits {res.total:,}"
        if base is not None:
            fres = base.search(shape.q, shape.params, page=shape.page)
            if res.total != fres.total:
                hits += f" vs FTS5 {fres.total:,}"
                notes.append(f"{label} {shape.name}: totals differ, ours {res.total} vs FTS5 {fres.total}.")
            fts_ms = queries.percentiles(queries.time_loop(
                lambda shape=shape, base=base: base.search(shape.q, shape.params, page=shape.page),
                args.requests, args.budget, min_n=3, warmup=1))
            baseline = f"{fmt_ms(fts_ms)} (FTS5, n={fts_ms['n']})"
            ratio = f"{fts_ms['p99'] / ours_ms['p99']:.1f}×"
            if shape.name == "frequent word":
                goal = "p99 ≥ 10× faster than FTS5"
                ok = met(fts_ms["p99"] / ours_ms["p99"] >= 10, f"at {label}")
        if shape.name == FACETED:
            goal = "p50 ≤ 10, p99 ≤ 50 ms (at 1M)"
            ok = met(ours_ms["p50"] <= 10 and ours_ms["p99"] <= 50, f"at {label}")
        table.add("search, in process", f"{shape.name} `{shape.q}`: p50 / p95 / p99 ms ({hits}, n={ours_ms['n']})",
                  label, fmt_ms(ours_ms), baseline, ratio, goal, ok)
        if es is not None:
            eres = es.run(shape)
            es_ms = queries.percentiles(queries.time_loop(lambda shape=shape, es=es: es.run(shape), args.requests, args.budget))
            same = "" if eres.total == res.total else f" vs Elasticsearch {eres.total:,}"
            table.add("search, in process, Elasticsearch backend", f"{shape.name}: p50 / p95 / p99 ms "
                      f"(hits {res.total:,}{same}, n={es_ms['n']})", label, fmt_ms(ours_ms),
                      f"{fmt_ms(es_ms)} (Elasticsearch)", f"{es_ms['p99'] / ours_ms['p99']:.1f}×")
    ours.engine.close()
    if base is not None:
        base.con.close()
    if es is not None:
        es.engine.close()

    log(f"{label}: HTTP")
    for workers in (1, 2):
        with queries.Server(data, workers=workers) as server:
            if workers == 1:
                for shape in shapes:
                    lat, _per, rps, errors = queries.http_load(server.url, [shape], 1, args.requests, args.budget)
                    p = queries.percentiles(lat)
                    table.add("search, HTTP 1 client", f"{shape.name}: p50 / p95 / p99 ms, req/s (n={p['n']}"
                              f"{f', {errors} errors' if errors else ''})", label, f"{fmt_ms(p)}; {rps:.0f}/s")
            lat, per, rps, errors = queries.http_load(server.url, shapes, 8, 100_000, args.http_seconds)
            p = queries.percentiles(lat)
            slowest = max(per, key=lambda k: queries.percentiles(per[k])["p99"] if per[k] else 0)
            table.add("search, HTTP 8 clients", f"`chayue serve --workers {workers}`, mix of the 7 shapes: "
                      f"p50 / p95 / p99 ms; req/s (n={p['n']}; slowest p99: {slowest})"
                      f"{f'; {errors} errors' if errors else ''}",
                      label, f"{fmt_ms(p)}; {rps:.0f}/s", "", "", "p99 ≤ 100 ms, ≥ 300 req/s (at 1M)",
                      met(p["p99"] <= 100 and rps >= 300, f"at {label}"))
            rss, hwm = server.rss_mb()
            table.add("api", f"chayue serve --workers {workers}: RSS after the load, all processes, MB (peak)",
                      label, f"{rss:.0f} ({hwm:.0f})", "", "", "≤ 500 MB (at 1M)", met(hwm <= 500, f"at {label}"))
    flood_row(table, data, shapes, label, args, log)
    if size <= ATTACK_MAX:
        attack.rows(table, data, shapes, label, args.attack_seconds, log)
    if size <= exports.MAX_EXPORT:  # the whole index as one search, within the export cap
        log(f"{label}: exports of the whole index as one search")
        exports.rows(table, data, label)
    return emb


FLOOD_CLIENTS = 50
# The attack mix (bench/attack.py) runs at these sizes and below, and on a county's archive
# of ATTACK_SMALL documents, where no word matches enough documents to be expensive.
ATTACK_MAX, ATTACK_SMALL = 10_000, 1_000


def flood_row(table: Table, data: Path, shapes: list[queries.Shape], label: str, args: argparse.Namespace,
              log: Callable[[str], None]) -> None:
    """Admission control under a flood: 50 clients send the costliest search (every document,
    facets over all of them) back to back against `chayue serve --workers 1`, while one more
    sends a rare word; the cheap query's latency, the answers the flood got, the server's RSS.
    Baselines in the same run: the rare word alone, and under the same flood with admission
    control off (a bound no flood reaches)."""
    log(f"{label}: HTTP flood of {FLOOD_CLIENTS} clients")
    costly = queries.Shape("all documents (empty query, facets)", "")
    cheap = next(s for s in shapes if s.name == "rare word")
    runs = {}
    for name, clients, settings in (("alone", 0, {}), ("flood", FLOOD_CLIENTS, {}),
                                    ("no admission", FLOOD_CLIENTS, {"CHAYUE_MAX_EXPENSIVE": "100000"})):
        with queries.Server(data, workers=1, env=settings) as server:
            idle = server.rss_mb()[0]
            out = queries.flood(server.url, costly, cheap, clients, args.flood_seconds, lambda s=server: s.rss_mb()[0])
            runs[name] = (out, idle, server.rss_mb()[1])
    p = queries.percentiles(runs["flood"][0]["cheap_ms"])
    alone = queries.percentiles(runs["alone"][0]["cheap_ms"])
    off = queries.percentiles(runs["no admission"][0]["cheap_ms"])

    def answers(out: dict[str, Any]) -> str:
        return ", ".join(f"{n:,} × {'error' if code == 0 else code}" for code, n in sorted(out["statuses"].items()))

    table.add("search, HTTP 50-client flood", f"rare word while {FLOOD_CLIENTS} clients send the costliest search "
              f"(every document, facets) to `chayue serve --workers 1`: p50 / p95 / p99 ms (n={p['n']}; "
              f"flood answered {answers(runs['flood'][0])}; without admission {answers(runs['no admission'][0])})",
              label, fmt_ms(p), f"alone {fmt_ms(alone)}; without admission control {fmt_ms(off)} (n={off['n']})",
              f"{off['p99'] / p['p99']:.1f}×", "p99 ≤ 100 ms", met(p["p99"] <= 100, f"at {label}"))
    out, idle, hwm = runs["flood"]
    out_off, _, hwm_off = runs["no admission"]
    table.add("api", "chayue serve --workers 1 under the flood: RSS, MB, idle → highest sampled (peak)", label,
              f"{idle:.0f} → {out['rss_max_mb']:.0f} ({hwm:.0f})",
              f"{out_off['rss_max_mb']:.0f} ({hwm_off:.0f}) without admission control", "",
              "bounded (≤ 500 MB)", met(hwm <= 500))


def small_collection(table: Table, pool: corpus.Pool, args: argparse.Namespace,
                     log: Callable[[str], None]) -> None:
    """The attack mix on a small archive (a county's): ATTACK_SMALL documents, built for it."""
    data = args.out / f"data-{ATTACK_SMALL}-{args.seed}"
    if not (args.reuse and (data / "index" / "staff" / "meta.json").exists()):
        log(f"{size_label(ATTACK_SMALL)}: building the embedded index for the attack mix")
        run_json(["bench.build", "embedded", str(data), str(ATTACK_SMALL), str(args.seed), str(args.corpus)])
    attack.rows(table, data, queries.shapes(pool, args.seed), size_label(ATTACK_SMALL), args.attack_seconds, log)


def memory_rows(table: Table, built: dict[int, dict[str, Any]]) -> None:
    """Whether the indexer's own memory stays flat as the corpus grows: its peak at the
    largest size against the smallest, in this run."""
    sizes = sorted(n for n in built if "indexer_anon_mb" in built[n])
    if len(sizes) < 2:
        return
    lo, hi = built[sizes[0]]["indexer_anon_mb"], built[sizes[-1]]["indexer_anon_mb"]
    table.add("indexing", f"indexer own peak memory, {size_label(sizes[-1])} against {size_label(sizes[0])} "
              f"documents ({sizes[-1] // sizes[0]}× the corpus)", f"{size_label(sizes[0])}–{size_label(sizes[-1])}",
              f"{hi:.0f} MB", f"{lo:.0f} MB", f"{hi / lo:.2f}×", "flat (≤ 1.25×)", met(hi / lo <= 1.25))


def start_es_node(table: Table, notes: list[str], log: Any) -> Any:
    """An Elasticsearch node of the bench's own, as the compose file runs it (one node, 1 GB
    heap, plain HTTP), for the rows beside the embedded ones; its ES_URL is set for the
    build's subprocess. None, and a row saying why, when it cannot start."""
    from tests.es_node import Cluster, NodeUnavailable

    node = Cluster(nodes=1, heap="1g")
    log(f"starting an Elasticsearch {node.version} node (tests/es_node.py)")
    try:
        node.start()
    except (NodeUnavailable, OSError) as exc:
        table.add("baseline", "Elasticsearch backend", "", "skipped: " + str(exc).splitlines()[0][:160])
        return None
    os.environ["ES_URL"] = node.url
    notes.append(f"Elasticsearch {node.version}: a node of the bench's own on this machine (Elastic's "
                 "integration-test distribution, 1 GB heap, plain HTTP as the compose file runs it).")
    return node


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated document counts")
    ap.add_argument("--large", action="store_true", help="1,000,000 documents, engine rows only (make bench-large)")
    ap.add_argument("--fts5-max", type=int, default=100_000, help="largest size the FTS5 baseline is built for")
    ap.add_argument("--es-max", type=int, default=100_000,
                    help="largest size the Elasticsearch backend (at ES_URL, when set) is built for")
    ap.add_argument("--no-es-node", action="store_true",
                    help="do not start an Elasticsearch node of the bench's own when ES_URL is unset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=corpus.DEFAULT_CORPUS)
    ap.add_argument("--out", type=Path, default=corpus.OUT, help="indexes and caches (git-ignored)")
    ap.add_argument("--reuse", action="store_true", help="reuse indexes built by an earlier run (figures of that build)")
    ap.add_argument("--analysis-docs", type=int, default=600, help="documents through the real analysis")
    ap.add_argument("--questions", type=int, default=0, help="the first N of the real questions (0: all 308)")
    ap.add_argument("--budget", type=float, default=5.0, help="seconds per query shape per runner")
    ap.add_argument("--requests", type=int, default=200, help="most timed requests per shape (in process)")
    ap.add_argument("--http-seconds", type=float, default=12.0, help="seconds of 8-client load")
    ap.add_argument("--flood-seconds", type=float, default=10.0, help="seconds of the 50-client flood")
    ap.add_argument("--flood-only", action="store_true",
                    help="only the 50-client flood row (with --sizes; reuses an index with --reuse)")
    ap.add_argument("--attack-seconds", type=float, default=20.0, help="seconds of each run of the attack mix")
    ap.add_argument("--attack-only", action="store_true",
                    help="only the attack-mix row (with --sizes; reuses an index with --reuse)")
    ap.add_argument("--ocr-pages", type=int, default=12, help="0 skips OCR")
    ap.add_argument("--pdf-pages", type=int, default=100)
    ap.add_argument("--segment-chars", type=int, default=400_000)
    ap.add_argument("--use-visits", type=int, default=30_000, help="reading-room visits of the generated year (利用统计)")
    ap.add_argument("--use-views", type=int, default=1_000_000, help="online views of the generated year (利用统计)")
    ap.add_argument("--results", type=Path, default=None, help="'-' for none (default bench/RESULTS.md, "
                    "bench/RESULTS-large.md with --large)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.large:
        sizes = [1_000_000]
    if args.results is None:
        args.results = REPO / "bench" / ("RESULTS-large.md" if args.large else "RESULTS.md")
    corpus.OUT = args.out
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    table = Table()
    notes: list[str] = []

    def log(msg: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    log("text pool (cut once, cached under bench/out)")
    pool = corpus.load_pool(args.corpus, seed=0)
    checked = corpus.verify(pool, 20, args.seed)
    notes.append(f"Cached analysis equals `to_record()` on {checked} documents checked in this run.")

    for r in ([] if args.large or args.flood_only or args.attack_only else segmenters.compare(pool, args.segment_chars)):
        if "chars_per_s" not in r:
            table.add("segmentation", r["name"], "", "", "", "", "", r["note"])
            continue
        if r["speedup"] == 1.0:
            base_cps = r["chars_per_s"]
            table.add("segmentation", "jieba 0.42.1 (Python), chars/s, 1 core", "", f"{r['chars_per_s']:,.0f}")
            continue
        table.add("segmentation", f"{r['name']}: chars/s; identical tokens / pieces ({r['note'] or 'all identical'})",
                  "", f"{r['chars_per_s']:,.0f}; {r['identical_tokens']:.3%} / {r['identical_pieces']:.3%}",
                  f"{base_cps:,.0f} (jieba)", f"{r['speedup']:.1f}×", "identical tokens", met(r["identical_pieces"] == 1.0))

    if not args.large and not args.flood_only and not args.attack_only:
        log(f"indexing through the real analysis ({args.analysis_docs} documents)")
        analysis_row(table, args)
        log("relevance of the queries people type (bench/relevance.py)")
        relevance_rows(table, args)
        log("questions people ask (bench/questions.py)")
        question_rows(table, args)

    es_node = None
    if not os.environ.get("ES_URL") and not args.no_es_node and min(sizes) <= args.es_max:
        es_node = start_es_node(table, notes, log)
    try:
        engine_rows = {size: engine_size(table, notes, pool, size, args, log, first=i == 0)
                       for i, size in enumerate(sizes)}
    finally:
        if es_node is not None:
            es_node.stop()
            del os.environ["ES_URL"]
    if not args.large and not args.flood_only and not args.attack_only and ATTACK_SMALL not in sizes:
        small_collection(table, pool, args, log)
    memory_rows(table, engine_rows)

    if not args.large and not args.flood_only and not args.attack_only:
        log("利用统计 over a generated year of use (bench/usage_figures.py)")
        usage_figures.rows(table, args.use_visits, args.use_views)

    if args.ocr_pages > 0 and not args.large and not args.flood_only and not args.attack_only:
        log("OCR (bench/bench_ocr.py)")
        ocr_rows(table, args.ocr_pages, args.pdf_pages)
    if not os.environ.get("ES_URL") and es_node is None and not any(r[1] == "Elasticsearch backend" for r in table.rows):
        table.add("baseline", "Elasticsearch backend", "", "skipped: ES_URL is not set and no node of the bench's own "
                  "was started (--no-es-node)")

    elapsed = time.perf_counter() - started
    text = table.markdown()
    print(text)
    for n in notes:
        print(f"- {n}")
    print(f"\n_{elapsed / 60:.1f} minutes in all._")
    if str(args.results) != "-":
        cmd = "make bench-large" if args.large else "make bench"
        args.results.write_text(
            "# Benchmark results\n\n"
            f"Measured {datetime.now().astimezone().isoformat(timespec='minutes')} with `{cmd}` "
            f"(`.venv/bin/python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}`), "
            f"{elapsed / 60:.1f} minutes. Latencies are p50 / p95 / p99 in ms; ratios are against "
            "the baseline in the same row, measured in the same run on the same machine and data.\n\n"
            f"## Machine\n\n{machine()}\n\nThe machine is shared: other jobs ran at the same time, so "
            "absolute figures are noisy; the ratios are the figures to compare.\n\n"
            f"## Figures\n\n{text}\n\n" + "".join(f"- {n}\n" for n in notes), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
