"""利用统计 over a generated year of use: tens of thousands of reading-room visits (three
items each) and a million online views and downloads over 20,000 documents, written into a
staff store as the service writes them (daily counts per document, register rows); then the
year's figures (JSON, every breakdown) and the yearly XLSX, timed. The baseline is the
online breakdowns alone summed from each document's daily counts (what the figures would
read without the daily sums by dimension), in the same run.

    .venv/bin/python -m bench.usage_figures [--visits 30000] [--views 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics as stats
import tempfile
import time
from types import SimpleNamespace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from engine.model import Audience
from settings import Settings
from staff import statistics
from staff.store import Store
from staff.usage import Usage

PURPOSES = ("编史修志", "工作查考", "学术研究", "经济建设", "宣传教育", "个人取证", "民生", "其他")
YEAR = 2025


def generate(store: Store, visits: int, views: int, docs: int = 20_000,
             seed: int = 7) -> tuple[list[tuple[str, str, str]], float]:
    """Fills the store; returns the raw view log (day, doc, kind) for the baseline and the
    seconds the counting took (the requests' share and the flushes)."""
    rnd = random.Random(seed)
    days = [(date(YEAR, 1, 1) + timedelta(days=i)).isoformat() for i in range(365)]
    fonds = [f"J{n:03d} 全宗{n}" for n in range(60)]
    categories = ("林业", "水利", "农业", "工业", "文教", "民政", "人事", "财政")
    info = [(f"D{i:06d}", f"文件{i}", "archive" if i % 3 else "current", fonds[i % 60], categories[i % 8])
            for i in range(docs)]
    # Popular documents are read far more often (a Zipf-like weight).
    weights = [1 / (i + 1) ** 0.8 for i in range(docs)]
    picked = rnd.choices(range(docs), weights=weights, k=views)
    log = [(rnd.choice(days), info[d][0], "download" if rnd.random() < 0.1 else "view") for d in picked]
    # Counted through the service's own counter and flushes (one per 50,000 counts, as a busy
    # interval would be), so the store holds what the service would have written.
    counter = Usage(Settings(data=store.path.parent), SimpleNamespace(store=store))
    docs_by_id = {i[0]: dict(zip(("id", "title", "collection", "fonds", "category"), i)) for i in info}
    started = time.perf_counter()
    for n, (day, doc, kind) in enumerate(log, 1):
        counter.document(Audience.public if int(doc[1:]) % 5 else Audience.reading_room, docs_by_id[doc], kind, day)
        if n % 50_000 == 0:
            counter.flush()
    counter.flush()
    counting_s = time.perf_counter() - started
    with store.connect() as db:
        db.executemany("INSERT INTO usage_searches VALUES (?,?,?,?)",
                       [(d, c, rnd.randint(500, 3000), rnd.randint(20, 200)) for d in days for c in ("online", "reading_room")])
        for _ in range(visits):
            day, purpose = rnd.choice(days), rnd.choice(PURPOSES)
            cur = db.execute("INSERT INTO register_visits (day, purpose, created_at, created_by) VALUES (?,?,?,?)",
                             (day, purpose, "bench", "bench"))
            db.executemany("INSERT INTO register_items (visit_id, day, purpose, item_id, title, collection, fonds, "
                           "category, copies, added_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           [(cur.lastrowid, day, purpose, *info[d], rnd.randint(0, 20), "bench")
                            for d in rnd.sample(range(docs), 3)])
    return log, counting_s


def _timed(fn, runs: int = 5) -> float:
    fn()  # warm: the pages in the cache, as a page opened twice is
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return stats.median(times)


def measure(visits: int, views: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="chayue-bench-stats-") as tmp:
        store = Store(Path(tmp) / "staff.sqlite")
        t = time.perf_counter()
        _log, counting_s = generate(store, visits, views)
        built = time.perf_counter() - t
        span = statistics.year_span(YEAR)
        figures = statistics.figures(store, *span)
        json_s = _timed(lambda: statistics.figures(store, *span))
        xlsx_s = _timed(lambda: statistics.xlsx(statistics.figures(store, *span), f"{YEAR}年度档案利用情况统计表"))
        raw = sqlite3.connect(store.path)

        def baseline() -> None:
            for key in ("substr(u.day, 1, 7)", "u.channel", "d.collection", "d.fonds", "d.category"):
                raw.execute(f"SELECT {key}, u.kind, sum(u.n) FROM usage_docs u JOIN usage_doc_info d "
                            "ON d.doc_id = u.doc_id WHERE u.day BETWEEN ? AND ? GROUP BY 1, 2", span).fetchall()

        base_s = _timed(baseline)
        rows = sqlite3.connect(Path(tmp) / "staff.sqlite").execute("SELECT count(*) FROM usage_docs").fetchone()[0]
    return {"visits": visits, "views": views, "usage_rows": rows, "build_s": built, "count_us": counting_s / views * 1e6, "json_s": json_s,
            "xlsx_s": xlsx_s, "baseline_s": base_s, "persons": figures["totals"]["persons"],
            "online_items": figures["totals"]["online_items"]}


def rows(table: Any, visits: int = 30_000, views: int = 1_000_000) -> None:
    m = measure(visits, views)
    table.add("statistics", f"利用统计 of a generated year ({m['visits']:,} visits, {m['views']:,} online views and "
              f"downloads in {m['usage_rows']:,} daily rows): every breakdown as JSON; as the yearly XLSX; "
              f"counting one view, flushes included, µs", "",
              f"{m['json_s'] * 1000:.0f} ms; {m['xlsx_s'] * 1000:.0f} ms; {m['count_us']:.1f} µs",
              f"{m['baseline_s'] * 1000:.0f} ms (the online breakdowns alone, summed from each document's daily counts)",
              f"{m['baseline_s'] / m['json_s']:.1f}×", "< 1 s", "met" if m["xlsx_s"] < 1 else "not met")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=30_000)
    ap.add_argument("--views", type=int, default=1_000_000)
    args = ap.parse_args()
    print(json.dumps(measure(args.visits, args.views)))


if __name__ == "__main__":
    main()
