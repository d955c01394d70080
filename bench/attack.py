"""The attacker's mix (issue 25): 20 clients send 100-word queries and 2 send the largest
DOCX folder the api takes, back to back, against `chayue serve --workers 1`, while one
more client sends a cheap query every 20 ms and keeps its latencies.

The 100-word query is 100 different common characters, each a word (199 characters: under
the 200-character cap); on a small collection none of them matches many documents, so only
its size makes it expensive. The folder is the largest a DOCX export takes: 20,000 passages
(the cap) of 55 characters over 100 documents, just under 4 MB of JSON (the body cap).

Baselines in the same run: the cheap query alone, and under the same attack with the
query-size bound and the bound on all searches off (CHAYUE_EXPENSIVE_UNITS and
CHAYUE_MAX_SEARCHES out of reach); exports keep their own slots in both."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import queries

SEARCH_CLIENTS, DOCX_CLIENTS = 20, 2
# 100 different characters common in Chinese text.
HUNDRED = "".join(dict.fromkeys(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把"
    "性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质"))[:100]
assert len(HUNDRED) == 100
LONG_QUERY = " ".join(HUNDRED)
FOLDER_DOCS, PASSAGES_PER_DOC = 100, 200
PASSAGE = ("第一条为了加强档案管理，规范档案收集、整理工作，有效保护和利用档案，发挥档案的作用。" * 2)[:55]

ATTACKERS = """
import asyncio, json, sys, time
import httpx

url, searchers, exporters, budget, query, folder_path = sys.argv[1:7]
folder = open(folder_path, "rb").read()
statuses = {"search": {}, "docx": {}}
took = {"docx": []}

async def one(c, kind, stop):
    while time.perf_counter() < stop:
        t = time.perf_counter()
        try:
            if kind == "search":
                r = await c.get(url + "/api/search", params={"q": query})
            else:
                r = await c.post(url + "/api/export/docx", content=folder,
                                 headers={"Content-Type": "application/json"})
            code = r.status_code
        except httpx.HTTPError:
            code = 0
        statuses[kind][code] = statuses[kind].get(code, 0) + 1
        if kind == "docx" and code == 200:
            took["docx"].append(time.perf_counter() - t)

async def main():
    stop = time.perf_counter() + float(budget)
    n = int(searchers) + int(exporters)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=120) as c:
        await asyncio.gather(*([one(c, "search", stop) for _ in range(int(searchers))]
                               + [one(c, "docx", stop) for _ in range(int(exporters))]))

asyncio.run(main())
print(json.dumps({"statuses": statuses, "docx_s": took["docx"]}))
"""


def largest_folder(url: str) -> bytes:
    """The largest folder a DOCX export takes, of documents in the index."""
    import httpx

    ids: list[str] = []
    page = 1
    while len(ids) < FOLDER_DOCS:
        hits = httpx.get(url + "/api/search", params={"q": "", "size": 100, "page": page}, timeout=60).json()["hits"]
        if not hits:
            break
        ids += [h["id"] for h in hits]
        page += 1
    items = [{"id": i, "note": "批注" * 20,
              "passages": [{"page": 1 + n % 9, "text": PASSAGE} for n in range(PASSAGES_PER_DOC)]}
             for i in ids[:FOLDER_DOCS]]
    body = json.dumps({"name": "最大的专题", "note": "", "items": items}, ensure_ascii=False).encode()
    assert len(body) <= 4 * 1024 * 1024, len(body)
    return body


def attack(url: str, cheap: queries.Shape, folder: Path, budget_s: float, searchers: int = SEARCH_CLIENTS,
           exporters: int = DOCX_CLIENTS) -> dict[str, Any]:
    """The cheap query's latencies (every 20 ms on a connection of its own) while the attackers,
    in a process of their own, send the long query and the folder back to back."""
    import httpx

    attackers = None
    if searchers or exporters:
        attackers = subprocess.Popen([sys.executable, "-c", ATTACKERS, url, str(searchers), str(exporters),
                                      str(budget_s), LONG_QUERY, str(folder)], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the attack is under way
    cheap_ms: list[float] = []
    stop = time.perf_counter() + budget_s - (1.0 if attackers else 0)
    with httpx.Client(timeout=120) as one:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            r = one.get(url + "/api/search", params=cheap.query_string())
            cheap_ms.append((time.perf_counter() - t) * 1000 if r.status_code == 200 else float("inf"))
            time.sleep(0.02)
    out: dict[str, Any] = {"statuses": {}, "docx_s": []}
    if attackers is not None:
        text, _ = attackers.communicate(timeout=budget_s + 300)
        out = json.loads(text.strip().splitlines()[-1])
    return {"cheap_ms": cheap_ms, **out}


def rows(table: Any, data: Path, shapes: list[queries.Shape], label: str, seconds: float,
         log: Any = print) -> dict[str, Any]:
    """The row: the cheap query's p99 under the attack, with its baselines."""
    def fmt_ms(p: dict[str, float]) -> str:
        return f"{p['p50']:.1f} / {p['p95']:.1f} / {p['p99']:.1f}"

    def met(ok: bool, where: str) -> str:
        return ("met" if ok else "not met") + f" ({where})"

    cheap = next(s for s in shapes if s.name == "rare word")
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "folder.json"
        for name, clients, env in (("alone", False, {}), ("attack", True, {}),
                                   ("bounds off", True, {"CHAYUE_EXPENSIVE_UNITS": "100000",
                                                         "CHAYUE_MAX_SEARCHES": "100000"})):
            log(f"{label}: attack mix, {name}")
            with queries.Server(data, workers=1, env=env) as server:
                if not folder.exists():
                    folder.write_bytes(largest_folder(server.url))
                runs[name] = attack(server.url, cheap, folder, seconds,
                                    SEARCH_CLIENTS if clients else 0, DOCX_CLIENTS if clients else 0)
    p = queries.percentiles(runs["attack"]["cheap_ms"])
    alone = queries.percentiles(runs["alone"]["cheap_ms"])
    off = queries.percentiles(runs["bounds off"]["cheap_ms"])

    def answers(out: dict[str, Any]) -> str:
        parts = []
        for kind, codes in out["statuses"].items():
            parts.append(f"{kind} " + ", ".join(f"{n:,} × {'error' if code in ('0', 0) else code}"
                                                for code, n in sorted(codes.items())))
        docx = out.get("docx_s") or []
        if docx:
            parts.append(f"a DOCX in {min(docx):.1f}-{max(docx):.1f} s")
        return "; ".join(parts)

    table.add("search, HTTP attack mix", f"rare word while {SEARCH_CLIENTS} clients send a 100-word query and "
              f"{DOCX_CLIENTS} the largest DOCX folder ({FOLDER_DOCS * PASSAGES_PER_DOC:,} passages) to "
              f"`chayue serve --workers 1`: p50 / p95 / p99 ms (n={p['n']}; answered {answers(runs['attack'])}; "
              f"bounds off: {answers(runs['bounds off'])})", label, fmt_ms(p),
              f"alone {fmt_ms(alone)}; query-size and in-flight bounds off {fmt_ms(off)} (n={off['n']})",
              f"{off['p99'] / p['p99']:.1f}×", "p99 ≤ 100 ms", met(p["p99"] <= 100, f"at {label}"))
    return runs
