"""Original files as the ledger recorded them: opened under their indexed root without
following a link at any step, and only while they are the file that was indexed.

A drop folder is writable by others: after indexing, a file can be replaced by a link to
/etc/passwd, to the ledger or to /proc/self/environ, by a FIFO or a device, or a folder
above it by a link elsewhere. The api serves a file (and renders its pages) only through
`open_indexed`, which walks from the root with O_NOFOLLOW, takes only a regular file, and
compares what it opened (device, inode, size, mtime) with the ledger's row; `chayue report`
lists the files that no longer match, for re-indexing."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from indexer.ledger import INDEXED, Entry, Ledger

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not hang the server waiting for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_VIRTUAL = ("/proc", "/sys", "/dev")


class SourceChanged(Exception):
    """The file is not the one indexed (or not safely reachable); `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _parts(entry: Entry) -> tuple[Path, list[str]]:
    """(the folder the walk starts from, the names below it): the root's parent, so the root
    itself is not followed either (the indexer never walks a linked root), or for a file
    indexed on its own (root == path) its folder. A path that leaves its root is refused."""
    path, root = PurePosixPath(os.path.normpath(entry.path)), PurePosixPath(os.path.normpath(entry.root))
    if not path.is_absolute() or not path.is_relative_to(root):
        raise SourceChanged("路径不在索引目录内 / path outside its indexed root")
    if path == root:
        return Path(path.parent), [path.name]
    below = list(path.relative_to(root).parts)
    if root == root.parent:  # indexed from /
        return Path(root), below
    return Path(root.parent), [root.name, *below]


def open_indexed(entry: Entry) -> BinaryIO:
    """The file of this ledger row, open for reading, if it is still the file indexed."""
    if entry.status != INDEXED:
        raise SourceChanged("文件未被索引 / file not indexed")
    start, names = _parts(entry)
    try:
        fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # above the root: the operator's
    except OSError as exc:
        raise SourceChanged(f"索引目录不可用 / root not available ({exc.strerror})") from exc
    try:
        for name in names[:-1]:
            try:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise SourceChanged(f"上级目录已变为链接或不存在 / folder {name!r} is a link or gone "
                                    f"({exc.strerror})") from exc
            os.close(fd)
            fd = nxt
        try:
            file_fd = os.open(names[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            raise SourceChanged(f"文件已变为链接或不存在 / file is a link or gone ({exc.strerror})") from exc
    finally:
        os.close(fd)
    try:
        _check(file_fd, entry)
    except BaseException:
        os.close(file_fd)
        raise
    os.set_blocking(file_fd, True)
    return os.fdopen(file_fd, "rb")


def _check(fd: int, entry: Entry) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise SourceChanged("不是普通文件 / not a regular file (device, FIFO, socket or folder)")
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        real = ""
    if real.startswith(_VIRTUAL):
        raise SourceChanged("系统虚拟文件 / a /proc, /sys or /dev file")
    recorded = (entry.device, entry.inode, entry.size, entry.mtime_ns)
    if entry.device is not None and entry.inode is not None:
        now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    else:  # a row from before devices and inodes were recorded: size and mtime only
        recorded, now = recorded[2:], (st.st_size, st.st_mtime_ns)
    if recorded != now:
        raise SourceChanged("文件在索引后已改变，需重新索引 / file changed since it was indexed: re-index it")


def open_for_document(ledger_path: Path, doc_id: str, source_path: str, sha256: str | None) -> BinaryIO:
    """The original of a document as the engine holds it: the ledger row of its path must
    say this file was indexed as this document, with the same bytes."""
    if not ledger_path.exists():
        raise SourceChanged("没有索引记录 / no ledger")
    ledger = Ledger.open_readonly(ledger_path)
    try:
        entry = ledger.get(source_path)
    finally:
        ledger.close()
    if entry is None or entry.doc_id != doc_id or (sha256 and entry.sha256 != sha256):
        raise SourceChanged("索引记录中没有此文件 / the ledger holds no such indexed file")
    return open_indexed(entry)


def changed(entry: Entry) -> str | None:
    """Why an indexed file no longer matches its row (for `chayue report`), or None."""
    try:
        open_indexed(entry).close()
    except SourceChanged as exc:
        return exc.reason
    return None
