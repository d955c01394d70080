"""Exports of a 10,000-hit search (every document of the 10k index, asked as staff so the
generated reading-room and restricted documents are in it) through a live `chayue serve`:
time and the server's peak memory above its memory before the export, per format; the
baseline is the same hits loaded whole in one engine search and written in memory, as an
exporter that did not stream would, in a process of its own measured the same way.

    .venv/bin/python -m bench.exports bench/out/data-10000-1
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from api.routes.exports import MAX_EXPORT
from bench import queries

__all__ = ["MAX_EXPORT", "measure", "rows"]

FORMATS = ("csv", "xlsx", "csljson", "ris", "bibtex")
STAFF = {"X-Chayue-Key": "bench-staff-key"}


def _reset_peaks(server: queries.Server) -> float:
    """Reset the kernel's peak-RSS mark of each server process (clear_refs 5) and return
    the RSS now, so the next peak is the export's own."""
    for pid in server._tree():
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass
    return server.rss_mb()[0]


def _timed(server: queries.Server, path: str, params: dict[str, Any]) -> dict[str, float]:
    import httpx

    before = _reset_peaks(server)
    started = time.perf_counter()
    size = 0
    with httpx.stream("GET", server.url + path, params=params, headers=STAFF, timeout=600) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - started
    _rss, peak = server.rss_mb()
    return {"seconds": seconds, "mb": size / 1e6, "growth_mb": peak - before, "count": resp.headers.get(
        "x-chayue-export-count", "")}


def measure(data: Path) -> dict[str, Any]:
    import httpx

    with queries.Server(data, env={"CHAYUE_STAFF_KEY": STAFF["X-Chayue-Key"]}) as server:
        total = httpx.get(server.url + "/api/search", params={"q": "", "size": 1}, headers=STAFF).json()["total"]
        _timed(server, "/api/export/csv", {"q": ""})  # warm: the index pages and the imports
        out: dict[str, Any] = {"total": total, "formats": {}}
        for fmt in FORMATS:
            out["formats"][fmt] = _timed(server, f"/api/export/{fmt}", {"q": ""})
        out["whole"] = _whole(data)
    return out


def _whole(data: Path) -> dict[str, float]:
    """Load all hits in one engine search and write the CSV in memory, in a child process
    so its peak is its own (growth above the process after opening the index)."""
    import json
    import subprocess

    code = (
        "import io,json,resource,time,csv\n"
        "from pathlib import Path\n"
        "from engine import open_engine\n"
        "from engine.model import Audience\n"
        "from engine.query import MatchAll, SearchSpec\n"
        "from api.routes.exports import EXPORT_FIELDS, Entry, write_csv\n"
        "from settings import Settings\n"
        f"e = open_engine(Settings(data=Path({str(data)!r})))\n"
        "e.search(SearchSpec(query=MatchAll(), size=10, fields=EXPORT_FIELDS), Audience.staff)\n"
        "def rss():\n"
        "    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) / 1024\n"
        "open('/proc/self/clear_refs', 'w').write('5'); before = rss(); t = time.perf_counter()\n"
        "hits = e.search(SearchSpec(query=MatchAll(), size=10000, fields=EXPORT_FIELDS), Audience.staff).hits\n"
        "body = b''.join(write_csv([Entry(h.fields, 'http://x/doc.html?id=' + h.id) for h in hits], False))\n"
        "peak = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1024\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'mb': len(body) / 1e6, 'growth_mb': peak - before}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=queries.REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(table: Any, data: Path, label: str) -> None:
    """The rows `make bench` prints for the 10k index."""
    m = measure(data)
    whole = m["whole"]
    for fmt, r in m["formats"].items():
        table.add("exports", f"export of a {m['total']:,}-hit search as {fmt}, streamed over HTTP: seconds; "
                  f"MB written; server peak memory above its memory before, MB", label,
                  f"{r['seconds']:.2f} s; {r['mb']:.1f} MB; +{r['growth_mb']:.1f} MB",
                  f"{whole['seconds']:.2f} s; +{whole['growth_mb']:.1f} MB (all hits loaded whole, CSV in memory)"
                  if fmt == "csv" else "", "",
                  "streams: memory flat in the hits", met_flat(r["growth_mb"], whole["growth_mb"]))


def met_flat(streamed: float, whole: float) -> str:
    return "met" if streamed < whole else "not met"


if __name__ == "__main__":
    import json

    print(json.dumps(measure(Path(sys.argv[1])), indent=1))
