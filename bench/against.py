"""Query latency of this checkout against an earlier one, in the same run: the in-process
query shapes of `make bench` (bench/queries.py), each side with its own code on an index its
own code built, the two sides taking turns so a burst of load hits both.

    git worktree add ../chayue-base <commit>        # e.g. the commit before a change
    (cd ../chayue-base && python3 -m venv .venv && .venv/bin/pip install -e '.[bench]' &&
     .venv/bin/python -m bench --sizes 100000 --fts5-max 0 --ocr-pages 0 --results -)
    .venv/bin/python -m bench.against ../chayue-base bench/out/data-100000-1 [--rounds 3]

The earlier checkout's bench must have built its index (its bench/out/data-<size>-1); this
checkout's index is the one named. Prints p50 / p95 / p99 per shape for both and the ratios
(this / earlier), medians over the rounds."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run inside a checkout, with that checkout's interpreter: its own bench.queries, route and
# engine. Shapes come from its own pool (cut the same way from the same corpus and seed).
SIDE = """
import json, sys
sys.path.insert(0, ".")
from pathlib import Path
from bench import corpus, queries
data, n, budget = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
pool = corpus.load_pool(corpus.REPO.parent / "shared" / "corpus", seed=0)
runner = queries.InProcess(data)
out = {}
for shape in queries.shapes(pool, 1):
    out[shape.name] = queries.percentiles(queries.time_loop(lambda s=shape: runner.run(s), n, budget))
print(json.dumps(out))
"""


def side(checkout: Path, python: Path, data: Path, n: int, budget: float) -> dict[str, dict[str, float]]:
    out = subprocess.run([str(python), "-c", SIDE, str(data.resolve()), str(n), str(budget)], cwd=checkout,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="the earlier checkout")
    ap.add_argument("data", type=Path, help="this checkout's bench data directory (bench/out/data-<size>-1)")
    ap.add_argument("--base-data", type=Path, help="the earlier checkout's (default: the same name under it)")
    ap.add_argument("--base-python", type=Path, help="default: BASE/.venv/bin/python")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per shape per side per round")
    args = ap.parse_args()
    base_data = args.base_data or args.base / "bench" / "out" / args.data.name
    base_python = args.base_python or args.base / ".venv" / "bin" / "python"
    commit = subprocess.run(["git", "-C", str(args.base), "log", "-1", "--format=%h %s"],
                            capture_output=True, text=True).stdout.strip()[:80]
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"base": [], "this": []}
    for r in range(args.rounds):
        runs["base"].append(side(args.base, base_python, base_data, args.requests, args.budget))
        runs["this"].append(side(REPO, Path(sys.executable), args.data, args.requests, args.budget))
        print(f"round {r + 1} of {args.rounds} done", file=sys.stderr, flush=True)

    def med(name: str, shape: str, p: str) -> float:
        return statistics.median(run[shape][p] for run in runs[name])

    print(f"\n### In-process query latency against `{commit}`, {args.data.name}, "
          f"median of {args.rounds} alternating rounds\n")
    print("| shape | this checkout p50 / p95 / p99 ms | earlier p50 / p95 / p99 ms | ratio p50 · p99 |")
    print("|---|---|---|---|")
    for shape in runs["this"][0]:
        this = [med("this", shape, p) for p in ("p50", "p95", "p99")]
        base = [med("base", shape, p) for p in ("p50", "p95", "p99")]
        print(f"| {shape} | {' / '.join(f'{v:.1f}' for v in this)} | {' / '.join(f'{v:.1f}' for v in base)} | "
              f"{this[0] / base[0]:.2f}× · {this[2] / base[2]:.2f}× |")


if __name__ == "__main__":
    main()
