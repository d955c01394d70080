"""The document model and the engine-neutral result types (DESIGN.md, "The document model")."""

from __future__ import annotations

from dataclasses import dataclass, field
import datetime as dt
from enum import Enum
from typing import Any


class Audience(str, Enum):
    """Who is asking. Each audience sees the access levels listed in ACCESS_FOR."""

    public = "public"
    reading_room = "reading_room"
    staff = "staff"


ACCESS_LEVELS = ("open", "reading_room", "restricted")
ACCESS_FOR: dict[Audience, tuple[str, ...]] = {
    Audience.public: ("open",),
    Audience.reading_room: ("open", "reading_room"),
    Audience.staff: ACCESS_LEVELS,
}


def audiences_seeing(access: str) -> tuple[Audience, ...]:
    """The audiences whose physical index (tier) holds a document of this access level: each
    tier holds exactly what its audience may see, so no hidden document shapes its scores."""
    return tuple(a for a in Audience if access in ACCESS_FOR[a])

COLLECTIONS = ("current", "archive")
VALIDITY_ORDER = ("现行有效", "已修改", "已被修改", "尚未生效", "历史版本", "已废止", "失效")


@dataclass
class Page:
    number: int  # 1-based
    text: str
    ocr: bool = False
    confidence: float | None = None  # mean OCR line confidence, 0-100, OCR pages only
    # OCR pages: the image's width and height, and each line's box and characters in `text`
    # ([left, top, right, bottom, start, end]), so the page view can mark a match on the scan.
    size: tuple[int, int] | None = None
    lines: list[list[int]] = field(default_factory=list)


@dataclass
class Document:
    id: str
    collection: str
    title: str
    pages: list[Page] = field(default_factory=list)
    doc_number: str | None = None
    agency: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    date: dt.date | None = None
    published: dt.date | None = None
    category: str | None = None
    doc_type: str | None = None
    fonds: str | None = None
    archival_code: str | None = None
    retention: str | None = None
    validity: str | None = None
    effective: dt.date | None = None  # 施行日期
    ended: dt.date | None = None  # repealed or superseded on this day (derived or from the manifest)
    ended_by: str | None = None  # by this document (id)
    relations: list[dict[str, Any]] = field(default_factory=list)  # outgoing, as indexer.relations.Relation.to_json()
    relation_flags: list[str] = field(default_factory=list)  # derived: 被修改过, 已被废止, 已被替代 …
    version_group: str | None = None  # versions of one document share it
    version_state: str | None = None  # current, or former when a newer version is in the collection
    classification: str | None = None  # 密级 found in the text
    access: str = "open"
    source_path: str | None = None
    source_sha256: str | None = None
    media_type: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # field → manifest/layout/file name…
    # The manifest's 开放日期 and 开放标识: read by the staff store (staff/opening.py), not indexed.
    opening_due: dt.date | None = None
    opening_mark: str | None = None
    # Its place in the fonds (indexer/arrangement.py): the nodes above it from the top, each
    # [kind, code, label], and its 件号.
    arrangement: list[list[str]] = field(default_factory=list)
    item_no: str | None = None

    @property
    def year(self) -> int | None:
        d = self.date or self.published
        return d.year if d else None

    @property
    def ocr(self) -> bool:
        return any(p.ocr for p in self.pages)

    @property
    def ocr_confidence(self) -> float | None:
        conf = [p.confidence for p in self.pages if p.ocr and p.confidence is not None]
        return round(sum(conf) / len(conf), 1) if conf else None

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)


@dataclass
class Snippet:
    page: int
    html: str


@dataclass
class Hit:
    id: str
    score: float
    fields: dict[str, Any]  # stored fields, page_text included
    snippets: list[Snippet] = field(default_factory=list)
    sort: list[Any] | None = None  # search_after key for the cursor


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    took_ms: float = 0.0
    # Some of the index could not be searched (Elasticsearch: every copy of a shard was
    # unavailable): the hits, total and facets count only the rest.
    partial: bool = False

LOW_CONFIDENCE = 60.0  # mean OCR word confidence below which a page is flagged for review
