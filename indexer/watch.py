"""Watch a drop folder (`chayue index --watch DIR`): new and changed files are indexed
once they stop changing, deleted ones leave the index, Ctrl-C stops cleanly.

Events come from watchfiles (inotify through Rust's notify crate, with a polling mode
for network shares where inotify never fires). A file is read only when its size and
mtime have held still for `settle` seconds: a scanner or a copy over SMB writes a large
PDF for a while, and a half-written PDF would be recorded as truncated."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import watchfiles

from indexer.pipeline import Indexer, discover

log = logging.getLogger("chayue.watch")

Signature = tuple[int, int] | None  # (size, mtime_ns), None when the path is gone


def signature(path: str) -> Signature:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class Settler:
    """Paths that changed, released once they have held still for `settle` seconds."""

    def __init__(self, settle: float):
        self.settle = settle
        self.waiting: dict[str, tuple[Signature, float]] = {}

    def changed(self, paths: set[str], now: float) -> None:
        for p in paths:
            self.waiting[p] = (signature(p), now)

    def ready(self, now: float) -> list[str]:
        out = []
        for p, (sig, since) in list(self.waiting.items()):
            current = signature(p)
            if current != sig:
                self.waiting[p] = (current, now)
            elif now - since >= self.settle:
                out.append(p)
                del self.waiting[p]
        return sorted(out)


def watch(root: Path, indexer: Indexer, *, settle: float = 2.0, poll: bool = False,
          on_batch: Callable[[list[str]], None] | None = None) -> None:
    """Index what changes under root until `indexer.stop` is set (Ctrl-C)."""
    root = root.absolute()
    opts = indexer.opts
    manifest_path = opts.manifest.path if opts.manifest else None
    excluded = [p.resolve() for p in opts.exclude]
    settler = Settler(settle)
    for changes in watchfiles.watch(root, stop_event=indexer.stop, yield_on_timeout=True, rust_timeout=500,
                                    debounce=400, step=100, force_polling=poll, raise_interrupt=False,
                                    watch_filter=None):
        now = time.monotonic()
        settler.changed({p for _, p in changes
                         if not any(Path(p).resolve().is_relative_to(x) for x in excluded)}, now)
        ready = settler.ready(now)
        if not ready or indexer.stop.is_set():
            continue
        present = [p for p in ready if os.path.lexists(p)]
        gone = [p for p in ready if not os.path.lexists(p)]
        for p in present:
            indexer.index(discover(Path(p), manifest_path, opts.exclude, within=root))
        indexer.flush()
        indexer.remove([e for p in gone for e in indexer.ledger.at_or_below(p)])
        indexer.adopt_orphans()
        indexer.settle()
        if on_batch:
            on_batch(ready)
