"""Query shapes and the three ways of running them: in process through the route's own
function (engine.search + snippets, facets on), over HTTP against `chayue serve`, and on
the FTS5 baseline. Loops are bounded by a count and a time budget; HTTP is loopback only."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from bench import corpus

REPO = corpus.REPO


@dataclass
class Shape:
    name: str
    q: str
    params: dict[str, Any] = field(default_factory=dict)
    page: int = 1

    def query_string(self) -> dict[str, Any]:
        qs: dict[str, Any] = {"q": self.q, "page": self.page}
        for k, v in self.params.items():
            qs[k] = v
        return qs


def _pick_word(pool: corpus.Pool, preferred: list[str], rank: int) -> str:
    for w in preferred:
        if pool.word_df.get(w, 0) > 0:
            return w
    ranked = sorted((w for w in pool.word_df if len(w) >= 2 and all(corpus._cjk(c) for c in w)),
                    key=lambda w: (-pool.word_df[w], w))
    return ranked[min(rank, len(ranked) - 1)]


def rare_word(pool: corpus.Pool) -> str:
    """A word of three or more CJK characters found in one piece only (so also its bigrams
    are rare): about 35/43k of the documents contain it."""
    cands = sorted(w for w, df in pool.word_df.items()
                   if df == 1 and len(w) >= 3 and all(corpus._cjk(c) for c in w))
    for w in cands[len(cands) // 2:]:
        if sum(w in p for p in pool.pieces[:20000]) <= 1 and sum(w in p for p in pool.pieces[20000:]) <= 1:
            return w
    return cands[0]


def shapes(pool: corpus.Pool, seed: int) -> list[Shape]:
    frequent = _pick_word(pool, ["管理"], 30)
    a = _pick_word(pool, ["安全"], 60)
    b = _pick_word(pool, ["监督"], 90)
    phrase = next((p for p in ["社会公共利益", "合法权益"] if any(p in x for x in pool.pieces[:5000])), a + b)
    doc = next(d for d in corpus.documents(pool, 50, seed, start=123) if d.doc_number)
    typed_number = doc.doc_number.replace("〔", "[").replace("〕", "]")  # as a user types it
    return [
        Shape("frequent word", frequent),
        Shape("rare word", rare_word(pool)),
        Shape("two words", f"{a} {b}"),
        Shape("phrase", f'"{phrase}"'),
        Shape("文号 lookup", typed_number),
        Shape("2 facet filters + date range", frequent,
              {"category": ["综合政务"], "doc_type": ["通知"], "date_from": "2010-01-01", "date_to": "2020-12-31"}),
        Shape("deep page (page 200)", frequent, page=200),
        # A question as people ask it (issue 23): 10 words, read as any of them, with passages.
        Shape("question", "单位违反民主议定程序订立的承包合同是否有效？应当如何处理"),
    ]


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def pct(p: float) -> float:
        if not s:
            return float("nan")
        k = (len(s) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)

    return {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "n": len(s),
            "mean": statistics.fmean(s) if s else float("nan")}


def time_loop(fn: Callable[[], Any], max_n: int, budget_s: float, min_n: int = 5, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(out) < max_n and (len(out) < min_n or time.perf_counter() < deadline):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


# -- in process --------------------------------------------------------------------------
class InProcess:
    """The route function itself (`api.routes.search.search`), called with the engine: the
    same parse → engine.search → facets → snippets path as a request, minus HTTP."""

    def __init__(self, data: Path | None = None, engine: Any = None):
        from engine import Engine
        from engine.embedded import open_embedded

        from settings import Settings

        self.engine = engine if engine is not None else Engine(open_embedded(data))
        self.settings = Settings(data=data) if data is not None else Settings()

    @classmethod
    def elastic(cls, alias: str) -> InProcess:
        """The same route over the Elasticsearch backend at ES_URL, reading `alias`."""
        from engine import Engine
        from engine.elastic import ElasticBackend
        from settings import Settings

        return cls(engine=Engine(ElasticBackend.from_settings(Settings(engine="elasticsearch", es_index=alias))))

    def run(self, shape: Shape) -> Any:
        from api.routes.search import search
        from engine.model import Audience

        # Parameters as the query string carries them; the rest keep the route's defaults.
        return search(q=shape.q, page=shape.page, size=10, engine=self.engine, audience=Audience.public,
                      settings=self.settings, **shape.params)


# -- over HTTP ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`chayue serve` as a subprocess on loopback."""

    def __init__(self, data: Path, workers: int = 1, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAYUE_")} | (env or {})
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("chayue")), "serve", "--data", str(data),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def __enter__(self) -> Server:
        import httpx

        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chayue serve exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    if self.workers > 1:  # one worker answered; give the others time to start
                        time.sleep(3)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("chayue serve did not answer /api/health within 60 s")

    def _tree(self) -> list[int]:
        """The server's process and its descendants (uvicorn's workers)."""
        parents: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(parents.get(pid, []))
        return out

    def rss_mb(self) -> tuple[float, float]:
        """(RSS, peak RSS) of the server: summed over its processes, from /proc (the sum of
        the peaks is an upper bound of the peak of the sum)."""
        rss = hwm = 0.0
        for pid in self._tree():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1]) / 1024
        return rss, hwm

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _http_load(url: str, shapes_: list[Shape], clients: int, max_requests: int,
                     budget_s: float) -> tuple[list[float], dict[str, list[float]], float, int]:
    import httpx

    lat: list[float] = []
    per_shape: dict[str, list[float]] = {s.name: [] for s in shapes_}
    errors = 0
    counter = 0
    deadline = time.perf_counter() + budget_s

    async def worker(c: httpx.AsyncClient, k: int) -> None:
        nonlocal counter, errors
        i = k
        while counter < max_requests and (counter < 5 * clients or time.perf_counter() < deadline):
            counter += 1
            shape = shapes_[i % len(shapes_)]
            i += 1
            t = time.perf_counter()
            r = await c.get(url + "/api/search", params=shape.query_string())
            ms = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                errors += 1
            lat.append(ms)
            per_shape[shape.name].append(ms)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as c:
        for s in shapes_:  # warm-up
            await c.get(url + "/api/search", params=s.query_string())
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, k) for k in range(clients)))
        elapsed = time.perf_counter() - started
    return lat, per_shape, len(lat) / elapsed, errors


def http_load(url: str, shapes_: list[Shape], clients: int, max_requests: int, budget_s: float):
    return asyncio.run(_http_load(url, shapes_, clients, max_requests, budget_s))


# -- overload ------------------------------------------------------------------------------
# The attackers, in a process of their own as they would be on machines of their own: their
# event loop (50 connections, a response parsed each time one comes back) must not delay the
# victim's reading of its answers, or the bench times itself rather than the server.
ATTACKERS = """
import asyncio, json, sys, time
import httpx

url, clients, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
params = json.loads(sys.argv[4])
statuses = {}

async def attacker(c):
    stop = time.perf_counter() + budget
    while time.perf_counter() < stop:
        try:
            r = await c.get(url + "/api/search", params=params)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        except httpx.HTTPError:
            statuses[0] = statuses.get(0, 0) + 1

async def main():
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as c:
        await asyncio.gather(*(attacker(c) for _ in range(clients)))

asyncio.run(main())
print(json.dumps(statuses))
"""


def flood(url: str, costly: Shape, cheap: Shape, clients: int, budget_s: float,
          sample: Callable[[], float]) -> dict[str, Any]:
    """`clients` connections sending `costly` back to back from another process (no backing
    off: a 503 is answered by the next request at once) while this one sends `cheap` every
    20 ms on a connection of its own and keeps its latencies; the server's RSS is sampled
    every 0.1 s throughout."""
    import threading

    import httpx

    attackers = None
    if clients:
        attackers = subprocess.Popen(
            [sys.executable, "-c", ATTACKERS, url, str(clients), str(budget_s),
             json.dumps(costly.query_string(), ensure_ascii=False)],
            stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the flood is under way
    rss: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            rss.append(sample())
            done.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cheap_ms: list[float] = []
    stop = time.perf_counter() + budget_s - (0.5 if clients else 0)
    with httpx.Client(timeout=60) as one:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            r = one.get(url + "/api/search", params=cheap.query_string())
            cheap_ms.append((time.perf_counter() - t) * 1000 if r.status_code == 200 else float("inf"))
            time.sleep(0.02)
    done.set()
    watcher.join()
    statuses: dict[int, int] = {}
    if attackers is not None:
        out, _ = attackers.communicate(timeout=budget_s + 120)
        statuses = {int(k): v for k, v in json.loads(out).items()}
    return {"cheap_ms": cheap_ms, "statuses": statuses, "rss_max_mb": max(rss, default=float("nan"))}
