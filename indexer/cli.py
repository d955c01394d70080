"""`chayue`: index files, serve the api and page, report what the ledger holds."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from settings import Settings

console = Console(stderr=True)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data", None):
        overrides["data"] = Path(args.data)
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    return Settings(**overrides)


def cmd_index(args: argparse.Namespace) -> int:
    from engine import EngineUnavailable, open_engine
    from indexer import pipeline
    from indexer.ledger import Ledger
    from indexer.manifest import ManifestError, load
    from indexer.ocr import Ocr

    settings = _settings(args)
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        console.print(f"[red]路径不存在 / no such path:[/] {', '.join(missing)}")
        return 2
    try:
        manifest = load(Path(args.manifest)) if args.manifest else None
    except ManifestError as exc:
        console.print(f"[red]清单错误 / manifest error:[/] {exc}")
        return 2
    try:
        engine = open_engine(settings, writable=True)
    except EngineUnavailable as exc:
        console.print(f"[red]搜索引擎不可用 / engine unavailable:[/] {exc}")
        return 3
    ledger = Ledger(settings.ledger_path)
    ocr = Ocr(settings.data / "ocr-cache", languages=settings.ocr_languages, workers=settings.ocr_workers)
    opts = pipeline.Options(collection=args.collection, manifest=manifest,
                            max_file_bytes=settings.max_file_mb * 1024 * 1024)
    started = time.perf_counter()
    with Progress(TextColumn("[bold]索引 indexing"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[pages]} 页 pages · {task.fields[ocr]} OCR"),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                  transient=False, disable=args.quiet) as progress:
        total = sum(1 for p in paths for _ in pipeline.discover(p.absolute()))
        task = progress.add_task("", total=total, pages=0, ocr=0)
        counts = {"pages": 0, "ocr": 0}

        def advance(o: pipeline.Outcome) -> None:
            if not o.unchanged:
                counts["pages"] += o.entry.pages or 0
                counts["ocr"] += o.entry.ocr_pages or 0
            progress.update(task, advance=1, description=Path(o.entry.path).name[-40:], **counts)

        summary = pipeline.run(paths, engine, ledger, ocr, opts, progress=advance)
    engine.close()
    elapsed = time.perf_counter() - started
    table = Table(title=f"索引完成 / indexing done in {elapsed:.1f} s")
    for col in ("已索引 indexed", "未变 unchanged", "跳过 skipped", "失败 failed", "移除 removed", "页 pages", "OCR 页"):
        table.add_column(col, justify="right")
    table.add_row(*map(str, (summary.indexed, summary.unchanged, summary.skipped, summary.failed,
                             summary.removed, summary.pages, summary.ocr_pages)))
    console.print(table)
    for problem in summary.problems:
        console.print(f"[yellow]注意 / note:[/] {problem}")
    if summary.failed or summary.skipped:
        console.print("查看原因 / see why: [bold]chayue report[/]")
    ledger.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from indexer.ledger import FAILED, SKIPPED, Ledger

    settings = _settings(args)
    if not settings.ledger_path.exists():
        console.print(f"[yellow]还没有索引记录 / no ledger at {settings.ledger_path}[/]")
        return 1
    ledger = Ledger(settings.ledger_path)
    out = Console()
    counts = ledger.counts()
    out.print(f"已索引 indexed: {counts.get('indexed', 0)}   跳过 skipped: {counts.get('skipped', 0)}   "
              f"失败 failed: {counts.get('failed', 0)}   上次运行 last run: {ledger.last_run() or '-'}")
    for status, title in ((FAILED, "失败 / failed"), (SKIPPED, "跳过 / skipped")):
        entries = ledger.entries(status)
        if entries:
            table = Table(title=title, show_lines=False)
            table.add_column("文件 file", overflow="fold")
            table.add_column("原因 reason", overflow="fold")
            for e in entries:
                table.add_row(e.path, e.reason or "")
            out.print(table)
    review = ledger.for_review()
    if review:
        table = Table(title="待人工审核 / for review (restricted by a marking in the text)")
        table.add_column("文件 file", overflow="fold")
        table.add_column("文档 id")
        table.add_column("原因 reason", overflow="fold")
        for e in review:
            table.add_row(e.path, e.doc_id or "", e.review or "")
        out.print(table)
    ledger.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = _settings(args)
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chayue", description="查阅 chayue: search Chinese archives and government documents")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", help="data directory (index, ledger, OCR cache); env CHAYUE_DATA, default ./data")
        p.add_argument("--engine", choices=("embedded", "elasticsearch"), help="env CHAYUE_ENGINE, default embedded")

    p = sub.add_parser("index", help="index files and folders; re-runs skip unchanged files")
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument("--collection", choices=("current", "archive"), help="collection when the manifest does not say")
    p.add_argument("--manifest", help="catalogue CSV or JSON lines (English or Chinese headers)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("serve", help="serve the api and the page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="what the ledger holds: failures, skips, items for review")
    common(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
