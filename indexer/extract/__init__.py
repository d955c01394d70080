"""One extractor per input format (after alephdata/ingest-file): each says what it accepts
and turns a file into pages of text plus whatever metadata the file itself carries.

A file that cannot be read raises ExtractionError with a reason a person understands;
the pipeline writes that reason to the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from engine.model import Page

if TYPE_CHECKING:
    from PIL.Image import Image


class ExtractionError(Exception):
    """A file could not be turned into text. `reason` is shown to people (ledger, report)."""

    def __init__(self, reason: str, *, skip: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.skip = skip  # True: not an error in the file, just nothing to index (e.g. empty)


@dataclass
class Extracted:
    pages: list[Page]
    media_type: str
    metadata: dict[str, str] = field(default_factory=dict)  # e.g. title from document properties
    notes: list[str] = field(default_factory=list)  # for the ledger: what was read around (bad bytes)


class Extractor(Protocol):
    media_types: tuple[str, ...]
    extensions: tuple[str, ...]

    def extract(self, path: Path, ocr: OcrService) -> Extracted: ...


class OcrService(Protocol):
    def ocr_images(
        self,
        images: Iterable[Image],
        languages: str | None = None,
        *,
        numbers: Iterable[int] | None = None,
        source: str = "",
    ) -> list[Page]: ...


def extractor_for(path: Path) -> Extractor | None:
    """The extractor for a file, chosen by its content type when known, else its extension."""
    from indexer.extract import registry

    return registry.pick(path)


def read_bytes(path: Path) -> bytes:
    """The file's bytes; an empty file is skipped (nothing to index), not failed."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExtractionError(f"{path.name}: 无法读取 / cannot read: {e.strerror or e}") from e
    if not data:
        raise ExtractionError("空文件 / empty file", skip=True)
    return data


def ensure_not_empty(path: Path) -> None:
    """Raise the 'empty file' skip before a parser reports something more confusing."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ExtractionError(f"{path.name}: 无法读取 / cannot read: {e.strerror or e}") from e
    if size == 0:
        raise ExtractionError("空文件 / empty file", skip=True)
