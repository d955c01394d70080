"""`chayue`: index files, serve the api and page, report what the ledger holds."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)
from rich.table import Table

from settings import Settings

console = Console(stderr=True)

# What a file name may carry to an operator's terminal: C0/C1 controls (ESC sequences clear
# the screen or set the window title), DEL, line and paragraph separators, zero-width and
# bidi controls (a name that reads backwards), and rich markup ("[red]", "[link=…]").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def _visible(m: re.Match[str]) -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def shown(value: object) -> str:
    """A name, path or reason as a terminal line or table cell may show it: control and
    bidi characters written out (\\x1b, \\u202e), rich markup escaped."""
    return escape(_UNSAFE.sub(_visible, str(value)))


class _SafeFormatter(logging.Formatter):
    """Log lines name files too: their control characters are written out (tracebacks keep
    their line breaks)."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(_UNSAFE.sub(_visible, line) for line in super().format(record).split("\n"))


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
    paths = [Path(p) for p in (args.paths or [])]
    if args.watch:
        paths.append(Path(args.watch))
    if not paths:
        console.print("[red]请给出要索引的文件或目录 / give files or folders to index[/]")
        return 2
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        console.print(f"[red]路径不存在 / no such path:[/] {shown(', '.join(missing))}")
        return 2
    if args.watch and not Path(args.watch).is_dir():
        console.print(f"[red]--watch 需要一个目录 / --watch needs a folder:[/] {shown(args.watch)}")
        return 2
    try:
        manifest = load(Path(args.manifest)) if args.manifest else None
    except ManifestError as exc:
        console.print(f"[red]清单错误 / manifest error:[/] {shown(exc)}")
        return 2
    try:
        engine = open_engine(settings, writable=True)
    except EngineUnavailable as exc:
        console.print(f"[red]搜索引擎不可用 / engine unavailable:[/] {shown(exc)}")
        return 3
    ledger = Ledger(settings.ledger_path)
    ocr = Ocr(settings.data / "ocr-cache", languages=settings.ocr_languages, workers=settings.ocr_workers,
              engine=settings.ocr_engine)
    opts = pipeline.Options(collection=args.collection, manifest=manifest,
                            max_file_bytes=settings.max_file_mb * 1024 * 1024,
                            batch_docs=args.batch, exclude=(settings.data,), retry_failed=args.retry_failed,
                            workers=args.workers, file_seconds=settings.file_seconds,
                            file_memory_mb=settings.file_memory_mb, meaning=settings.meaning,
                            meaning_model=settings.meaning_model)
    indexer = pipeline.Indexer(engine, ledger, ocr, opts, roots=paths)
    stop = _stop_on_signals(indexer)
    started = time.perf_counter()
    try:
        with _progress(args.quiet) as progress:
            total = 0 if args.quiet else sum(
                1 for p in paths for _ in pipeline.discover(p.absolute(), manifest.path if manifest else None,
                                                           opts.exclude))
            indexer.progress = _advance(progress, total)
            indexer.recover()
            indexer.run(paths)
            summary = indexer.finish()
        _print_summary(summary, time.perf_counter() - started, interrupted=indexer.stop.is_set())
        if args.watch and not indexer.stop.is_set():
            from indexer.watch import watch

            console.print(f"[bold]监视中 / watching[/] {shown(Path(args.watch).absolute())} — Ctrl-C 停止 / to stop")
            session = pipeline.Indexer(engine, ledger, ocr, opts, progress=_print_outcome, roots=[Path(args.watch)])
            stop.indexer = session
            with session:
                watch(Path(args.watch), session, settle=args.settle, poll=args.poll)
                session.finish(problems=[])
            console.print("已停止监视 / stopped watching")
    finally:
        stop.restore()
        indexer.close()
        engine.close()
        ocr.close()
        ledger.close()
    return 0


class _stop_on_signals:
    """First Ctrl-C (or SIGTERM): finish the current file, write what is done, stop.
    A second Ctrl-C aborts at once (a re-run repairs that too)."""

    def __init__(self, indexer) -> None:
        self.indexer = indexer
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self)

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __call__(self, signum, frame) -> None:
        if self.indexer.stop.is_set():
            raise KeyboardInterrupt
        console.print("[yellow]正在停止：写入已完成的部分 / stopping: writing what is done "
                      "(Ctrl-C again to abort)[/]")
        self.indexer.stop.set()


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]索引 indexing"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rates]}"), TimeElapsedColumn(), TextColumn("剩余 ETA"),
                    TimeRemainingColumn(), TextColumn("{task.description}"),
                    console=console, transient=False, disable=quiet)


def _advance(progress: Progress, total: int):
    task = progress.add_task("", total=total or None, rates="")
    counts = {"files": 0, "pages": 0, "ocr": 0}
    started = time.perf_counter()

    def advance(o) -> None:
        counts["files"] += 1
        if not o.unchanged:
            counts["pages"] += o.entry.pages or 0
            counts["ocr"] += o.entry.ocr_pages or 0
        minutes = max(time.perf_counter() - started, 1e-6) / 60
        rates = (f"{counts['pages']} 页 pages · {counts['ocr']} OCR · 每分钟 per min: "
                 f"{counts['files'] / minutes:.0f} 件 files, {counts['pages'] / minutes:.0f} 页, "
                 f"{counts['ocr'] / minutes:.0f} OCR")
        progress.update(task, advance=1, description=shown(Path(o.entry.path).name[-30:]), rates=rates)

    return advance


STATUS_ZH = {"indexed": "已索引", "skipped": "跳过", "failed": "失败"}


def _print_outcome(o) -> None:
    """One line per file in watch mode (no bar: there is no end to estimate)."""
    if o.unchanged:
        return
    e = o.entry
    colour = {"indexed": "green", "skipped": "yellow", "failed": "red"}[e.status]
    console.print(f"[{colour}]{STATUS_ZH[e.status]} {e.status}[/] {shown(e.path)}"
                  + (f" — {shown(e.reason)}" if e.reason else f" → {shown(e.doc_id)}"))


def _print_summary(summary, elapsed: float, interrupted: bool = False) -> None:
    title = "索引已中断 / indexing interrupted" if interrupted else "索引完成 / indexing done"
    table = Table(title=f"{title} ({elapsed:.1f} s)")
    for col in ("已索引 indexed", "未变 unchanged", "跳过 skipped", "失败 failed", "移除 removed", "页 pages",
                "OCR 页"):
        table.add_column(col, justify="right")
    table.add_row(*map(str, (summary.indexed, summary.unchanged, summary.skipped, summary.failed,
                             summary.removed, summary.pages, summary.ocr_pages)))
    console.print(table)
    if summary.notable:
        t = Table(title="本次跳过或失败 / skipped or failed in this run")
        t.add_column("状态 status")
        t.add_column("文件 file", overflow="fold")
        t.add_column("原因 reason", overflow="fold")
        for e in summary.notable:
            t.add_row(f"{STATUS_ZH[e.status]} {e.status}", shown(e.path), shown(e.reason or ""))
        console.print(t)
    for problem in summary.problems:
        console.print(f"[yellow]注意 / note:[/] {shown(problem)}")
    if interrupted:
        console.print("再次运行同一命令即可继续 / run the same command again to continue")
    elif summary.failed or summary.skipped or summary.problems:
        console.print("查看全部原因 / see every reason: [bold]chayue report[/]")


FIELD_LABELS = {"title": "题名 title", "doc_number": "文号 doc_number", "agency": "发文机关 agency",
                "date": "成文日期 date"}


def cmd_report(args: argparse.Namespace) -> int:
    from indexer import source
    from indexer.ledger import FAILED, INDEXED, SKIPPED, Ledger

    settings = _settings(args)
    if not settings.ledger_path.exists():
        console.print(f"[yellow]还没有索引记录 / no ledger at {shown(settings.ledger_path)}[/]")
        return 1
    ledger = Ledger(settings.ledger_path)
    try:
        counts = ledger.counts()
        failed, skipped, review = ledger.entries(FAILED), ledger.entries(SKIPPED), ledger.for_review()
        # Indexed files replaced or changed since (a link, a FIFO, new bytes): the api refuses
        # to serve them until they are indexed again.
        indexed = ledger.entries(INDEXED)
        changed = [(e, why) for e in indexed if (why := source.changed(e))]
        notes = [e for e in indexed if e.reason]  # indexed, with what was read around (bad bytes)
        problems = ledger.problems()
        disagree = [(e, d) for e, ds in ledger.disagreements() for d in ds]
        links = _relations_review(settings)
        if args.json:
            def row(e) -> dict:
                return {"path": e.path, "status": e.status, "reason": e.reason, "doc_id": e.doc_id,
                        "review": e.review, "size": e.size, "sha256": e.sha256, "pages": e.pages,
                        "ocr_pages": e.ocr_pages, "updated_at": e.updated_at}
            report = {"counts": {s: counts.get(s, 0) for s in ("indexed", "skipped", "failed")},
                      "last_run": ledger.last_run(), "failed": [row(e) for e in failed],
                      "skipped": [row(e) for e in skipped], "review": [row(e) for e in review],
                      "changed": [{**row(e), "changed": why} for e, why in changed],
                      "notes": [row(e) for e in notes],
                      "problems": [{"source": s, "message": m} for s, m in problems],
                      "disagreements": [{"path": e.path, "doc_id": e.doc_id, **d} for e, d in disagree],
                      "relations_review": links}
            sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
            return 0
        out = Console()
        summary = Table(title="索引记录 / ledger", show_header=True)
        for col in ("已索引 indexed", "跳过 skipped", "失败 failed", "待审核 review", "上次运行 last run"):
            summary.add_column(col, justify="right")
        summary.add_row(str(counts.get("indexed", 0)), str(counts.get("skipped", 0)), str(counts.get("failed", 0)),
                        str(len(review)), ledger.last_run() or "-")
        out.print(summary)
        for entries, title in ((failed, "失败 / failed"), (skipped, "跳过 / skipped")):
            if entries:
                table = Table(title=f"{title} ({len(entries)})")
                table.add_column("文件 file", overflow="fold")
                table.add_column("原因 reason", overflow="fold")
                for e in entries:
                    table.add_row(shown(e.path), shown(e.reason or ""))
                out.print(table)
        if review:
            table = Table(title=f"待人工审核 / for review: restricted by a marking in the text ({len(review)})")
            table.add_column("文件 file", overflow="fold")
            table.add_column("文档 id")
            table.add_column("原因 reason", overflow="fold")
            for e in review:
                table.add_row(shown(e.path), shown(e.doc_id or ""), shown(e.review or ""))
            out.print(table)
        if notes:
            table = Table(title=f"已索引，附说明 / indexed, with a note ({len(notes)})")
            table.add_column("文件 file", overflow="fold")
            table.add_column("说明 note", overflow="fold")
            for e in notes:
                table.add_row(shown(e.path), shown(e.reason))
            out.print(table)
        if changed:
            table = Table(title=f"索引后已改变，不再提供原件，请重新索引 / changed since indexed, not served: "
                                f"run chayue index again ({len(changed)})")
            table.add_column("文件 file", overflow="fold")
            table.add_column("原因 reason", overflow="fold")
            for e, why in changed:
                table.add_row(shown(e.path), shown(why))
            out.print(table)
        if disagree:
            table = Table(title=f"清单与版式不一致，以清单为准 / manifest and layout disagree, the manifest "
                                f"won ({len(disagree)})")
            table.add_column("文件 file", overflow="fold")
            table.add_column("字段 field")
            table.add_column("清单 manifest", overflow="fold")
            table.add_column("版式 layout", overflow="fold")
            for e, d in disagree:
                table.add_row(shown(e.path), shown(FIELD_LABELS.get(d["field"], d["field"])), shown(d["manifest"]),
                              shown(d["layout"]))
            out.print(table)
        if links:
            table = Table(title=f"待确认的关联 / relations and validity to confirm ({len(links)})")
            for col in ("文档 document", "关系 kind", "对象 target", "原因 reason"):
                table.add_column(col, overflow="fold")
            for r in links:
                table.add_row(shown(f"{r['title']} ({r['id']})"), shown(r["kind"]), shown(r["target"]), shown(r["reason"]))
            out.print(table)
        if problems:
            table = Table(title=f"清单问题 / manifest problems ({len(problems)})")
            table.add_column("来源 source")
            table.add_column("问题 problem", overflow="fold")
            for source, message in problems:
                table.add_row(shown(source), shown(message))
            out.print(table)
    finally:
        ledger.close()
    return 0


def _relations_review(settings: Settings) -> list[dict[str, str]]:
    from indexer.relations import RelationStore

    path = settings.data / "relations.sqlite"
    if not path.exists():
        return []
    store = RelationStore(path)
    try:
        return store.review()
    finally:
        store.close()


def cmd_serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    settings = _settings(args)
    workers = args.workers or settings.workers
    # h11 with a deadline for reading each request (slowloris), headers up to 16 KB, idle
    # keep-alive connections closed after settings.keep_alive seconds.
    options = {"host": args.host, "port": args.port, "log_level": "info", "proxy_headers": False,
               "http": "api.protocol:DeadlineH11Protocol", "h11_max_incomplete_event_size": 16_384,
               "timeout_keep_alive": settings.keep_alive}
    if workers <= 1:
        from api.app import create_app

        uvicorn.run(create_app(settings), **options)
        return 0
    # The supervisor only starts and watches the workers: it imports none of the api (about
    # 170 MB of analysis dictionaries and engine it would never use).
    # Each worker process builds its own app from the environment (uvicorn imports it by
    # name), so this command's --data and --engine are handed down as the settings read them.
    os.environ["CHAYUE_DATA"] = str(settings.data.resolve())
    os.environ["CHAYUE_ENGINE"] = settings.engine
    os.environ["CHAYUE_WORKERS"] = str(workers)  # the cores are shared out over them (expensive_bound)
    config = uvicorn.Config("api.app:create_app", factory=True, workers=workers, **options)
    # uvicorn makes this listener without proto=IPPROTO_TCP, so asyncio would leave Nagle on
    # for its connections and every keep-alive answer would wait ~40 ms for the client's
    # delayed ACK (uvicorn issue 3149). The same socket, marked as TCP.
    sock = config.bind_socket()
    sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    try:
        Multiprocess(config, sockets=[sock]).run()  # as uvicorn.run does for workers > 1
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chayue", description="查阅 chayue: search Chinese archives and government documents")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", help="data directory (index, ledger, OCR cache); env CHAYUE_DATA, default ./data")
        p.add_argument("--engine", choices=("embedded", "elasticsearch"), help="env CHAYUE_ENGINE, default embedded")

    p = sub.add_parser("index", help="index files and folders; re-runs skip unchanged files")
    p.add_argument("paths", nargs="*", help="files or folders")
    p.add_argument("--collection", choices=("current", "archive"), help="collection when the manifest does not say")
    p.add_argument("--manifest", help="catalogue CSV or JSON lines (English or Chinese headers)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--batch", type=int, default=32, metavar="N",
                   help="documents per engine commit (default 32); smaller commits more often")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="processes reading files ahead of the writer (default 0: read in this process)")
    p.add_argument("--retry-failed", action="store_true", help="read failed files again even if unchanged")
    p.add_argument("--watch", metavar="DIR",
                   help="index DIR, then keep indexing files dropped into it, changed or deleted (Ctrl-C stops)")
    p.add_argument("--settle", type=float, default=2.0, metavar="S",
                   help="with --watch: seconds a file's size and mtime must hold still before it is read")
    p.add_argument("--poll", action="store_true", help="with --watch: poll instead of inotify (network shares)")
    common(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("serve", help="serve the api and the page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, metavar="N",
                   help="api processes, e.g. one per core (env CHAYUE_WORKERS, default 1); each maps the index")
    common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("report", help="what the ledger holds: failures, skips, items for review")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    common(p)
    p.set_defaults(func=cmd_report)

    from staff.cli import add_commands  # staff, audit, opening

    add_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
