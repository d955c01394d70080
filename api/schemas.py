"""Response models: the API's contract, published at /docs and /openapi.json."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SnippetOut(BaseModel):
    page: int = Field(description="1-based page number the snippet comes from")
    html: str = Field(description="HTML-escaped text with <mark> around matches")


class HitOut(BaseModel):
    id: str
    title: str
    doc_number: str | None = None
    agency: list[str] = []
    date: str | None = None
    published: str | None = None
    collection: str
    validity: str | None = None
    category: str | None = None
    doc_type: str | None = None
    year: int | None = None
    pages: int | None = None
    archival_code: str | None = None
    score: float
    snippets: list[SnippetOut] = []


class FacetValueOut(BaseModel):
    value: str
    count: int


class LooserOut(BaseModel):
    q: str = Field(description="a looser reading of the query (bigrams, any word, no filters)")
    total: int
    dropped_filters: bool = False


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, list[FacetValueOut]]
    took_ms: float
    page: int
    size: int
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page (deep paging)")
    looser: LooserOut | None = Field(None, description="offered when there are no results")


class PageOut(BaseModel):
    number: int
    text: str
    ocr: bool
    confidence: float | None = None
    low_confidence: bool = False
    image_size: list[int] | None = Field(
        None, description="OCR pages: width and height in pixels of the image the lines are boxed on")
    lines: list[list[int]] | None = Field(
        None, description="OCR pages: each line as [left, top, right, bottom, start, end]: its box on "
                          "the page image (pixels of image_size) and its characters text[start:end]")


class LinksOut(BaseModel):
    file: str | None = Field(None, description="download of the original; null when not allowed")
    page_image: str | None = Field(None, description="template with {n} for a page image (PNG)")
    similar: str


class DocumentOut(BaseModel):
    id: str
    title: str
    collection: str
    doc_number: str | None = None
    agency: list[str] = []
    recipients: list[str] = []
    date: str | None = None
    published: str | None = None
    year: int | None = None
    category: str | None = None
    doc_type: str | None = None
    fonds: str | None = None
    archival_code: str | None = None
    retention: str | None = None
    validity: str | None = None
    access: str
    pages: list[PageOut]
    page_count: int
    ocr: bool = False
    ocr_confidence: float | None = None
    media_type: str | None = None
    links: LinksOut
    matches: list[SnippetOut] | None = Field(None, description="every match of `q`, in reading order")
    provenance: dict[str, str] | None = Field(
        None, description="staff only: where each field's value came from (manifest, layout, file properties, "
                          "file name)")


class SimilarOut(BaseModel):
    hits: list[HitOut]


class SuggestOut(BaseModel):
    suggestions: list[str]


class StatsOut(BaseModel):
    total: int
    collection: list[FacetValueOut]
    agency: list[FacetValueOut]
    year: list[FacetValueOut]


class HealthOut(BaseModel):
    status: str
    engine: str
    documents: int | None = None
    index_bytes: int | None = None
    last_indexed: str | None = None


class ConfigOut(BaseModel):
    kiosk: bool
    kiosk_idle_minutes: float


class ErrorOut(BaseModel):
    error: str = Field(description="machine-readable code")
    message: str = Field(description="Chinese first, then English")
