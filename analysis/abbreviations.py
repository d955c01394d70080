"""Other names people search by: short names of agencies and laws, former names of renamed
agencies. A query naming one also searches the other, at query time only, so the table can
grow without re-indexing.

The table shipped beside this module (`abbreviations.tsv`) is read once; the staff's own
file in the data directory (`<data>/abbreviations.tsv`, same format) is read again whenever
it changes, on the next query."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from analysis.normalize import normalize
from analysis.segment import _tokenizer

SHIPPED = Path(__file__).with_name("abbreviations.tsv")
STAFF_FILE = "abbreviations.tsv"
MAX_NAMES = 4  # other names searched for one name, at most
log = logging.getLogger("chayue.analysis")


@dataclass(frozen=True)
class Expansion:
    """`typed` (part of a query unit, normalised) also searched as each of `names`, giving the
    unit's whole text with the name put in (`texts`)."""

    typed: str
    names: tuple[str, ...]
    texts: tuple[str, ...]


def read_table(path: Path) -> dict[str, tuple[str, ...]]:
    """name → other names, from a `name<TAB>other;other` file (# comments, blank lines).
    A line that cannot be read is logged with its number and skipped, never fatal."""
    table: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, others = line.partition("\t")
            names = tuple(dict.fromkeys(normalize(o.strip()) for o in others.split(";") if o.strip()))
            key = normalize(name.strip())
            names = tuple(n for n in names if n != key)
            if not sep or not key or not names:
                log.warning("%s:%d: not `name<TAB>other name`, skipped", path, number)
                continue
            table[key] = tuple(dict.fromkeys(table.get(key, ()) + names))
    return table


class Names:
    """The shipped table merged with the staff file of one data directory."""

    def __init__(self, data_dir: Path | None):
        self._staff = Path(data_dir) / STAFF_FILE if data_dir else None
        self._stamp: tuple[int, int] | None = None
        self._table: dict[str, tuple[str, ...]] = dict(_shipped())
        self._lock = threading.Lock()

    def table(self) -> dict[str, tuple[str, ...]]:
        if self._staff is None:
            return self._table
        try:
            st = os.stat(self._staff)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            with self._lock:
                merged = dict(_shipped())
                if stamp is not None:
                    try:
                        for k, v in read_table(self._staff).items():
                            merged[k] = tuple(dict.fromkeys(v + merged.get(k, ())))
                    except (OSError, UnicodeDecodeError) as exc:
                        log.warning("cannot read %s: %s; the shipped table alone is used", self._staff, exc)
                self._table, self._stamp = merged, stamp
        return self._table

    def expand(self, text: str) -> Expansion | None:
        """The other names of the longest name in `text` that stands as whole words (so 国办 in
        国办通知, not in 全国办理), or None."""
        n = normalize(text)
        table = self.table()
        if not table:
            return None
        bounds = {0, len(n)}
        for _, start, end in _tokenizer.tokenize(n):
            bounds.update((start, end))
        best: tuple[int, int] | None = None
        for start in sorted(bounds):
            for end in sorted((b for b in bounds if b > start), reverse=True):
                if n[start:end] in table and (best is None or end - start > best[1] - best[0]):
                    best = (start, end)
                    break
        if best is None:
            return None
        typed = n[best[0]:best[1]]
        names = table[typed][:MAX_NAMES]
        return Expansion(typed, names, tuple(n[:best[0]] + name + n[best[1]:] for name in names))


_shipped_table: dict[str, tuple[str, ...]] | None = None
_by_dir: dict[Path | None, Names] = {}


def _shipped() -> dict[str, tuple[str, ...]]:
    global _shipped_table
    if _shipped_table is None:
        _shipped_table = read_table(SHIPPED)
    return _shipped_table


def names_for(data_dir: Path | None) -> Names:
    """The names of a data directory, kept across queries (the staff file is checked by its
    modification time on each use)."""
    key = Path(data_dir).resolve() if data_dir else None
    if key not in _by_dir:
        _by_dir[key] = Names(key)
    return _by_dir[key]
