"""Response models: the API's contract, published at /docs and /openapi.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SnippetOut(BaseModel):
    page: int = Field(description="1-based page number the snippet comes from")
    html: str = Field(description="HTML-escaped text with <mark> around matches")


class PassageOut(BaseModel):
    label: str | None = Field(None, description="the article's number (第十五条); null for an item or a paragraph")
    page: int = Field(description="1-based page where the passage starts")
    start: int = Field(description="character offset in that page's text where it starts")
    html: str = Field(description="HTML-escaped text with <mark> around the query's words")
    score: float


class AnswerOut(PassageOut):
    id: str = Field(description="the document it is from")
    title: str


class ReadingOut(BaseModel):
    used: Literal["exact", "words"] = Field(description="exact: all of it, in order; words: as words "
                                            "that should match (a question or keywords)")
    question: bool = Field(False, description="words read as a question: not all must match")
    words: list[str] = Field([], description="the words searched for (function and question words left out)")
    other: Literal["exact", "words"] | None = Field(None, description="the other reading, when it reads "
                                                    "the query differently: pass it as `reading`")
    fallback: bool = Field(False, description="read as words because the exact reading found nothing")


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
    effective: str | None = Field(None, description="施行日期")
    ended: str | None = Field(None, description="repealed or superseded on this day")
    relation_flags: list[str] = Field([], description="关联: 被修改过, 已被废止, 已被替代 …")
    other_versions: int = Field(0, description="other versions of this document the caller may see (其他版本 N)")
    score: float
    snippets: list[SnippetOut] = []
    passages: list[PassageOut] = Field([], description="words reading: the hit's best articles, items "
                                       "or paragraphs for the query")


class FacetValueOut(BaseModel):
    value: str
    count: int


class LooserOut(BaseModel):
    q: str = Field(description="a looser reading of the query (bigrams, any word, no filters)")
    total: int
    dropped_filters: bool = False


class ExpandedOut(BaseModel):
    typed: str = Field(description="what was typed (normalised), e.g. 国办")
    names: list[str] = Field(description="the other names also searched, ranked a little below, e.g. 国务院办公厅")


class DidYouMeanOut(BaseModel):
    q: str = Field(description="a 文号 or title one character off the query that finds documents")
    field: str = Field(description="`doc_number` or `title`")


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, list[FacetValueOut]]
    took_ms: float
    partial: bool = Field(False, description="true when part of the index could not be searched (an "
                          "Elasticsearch shard with no copy available): total, hits and facets count the rest")
    page: int
    size: int
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page (deep paging)")
    looser: LooserOut | None = Field(None, description="offered when there are no results")
    expanded: list[ExpandedOut] = Field([], description="abbreviations and other names also searched; "
                                        "`expand=false` searches the typed words only")
    did_you_mean: list[DidYouMeanOut] = Field([], description="offered when there are no results: 文号 or "
                                              "titles one character off")
    reading: ReadingOut | None = Field(None, description="how the query was read")
    answers: list[AnswerOut] = Field([], description="a question's first page: the passages that answer "
                                     "it best across the hits (最相关条款)")


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


class DocRefOut(BaseModel):
    id: str
    title: str
    date: str | None = None
    validity: str | None = None


class RelationOut(BaseModel):
    kind: str = Field(description="修改, 废止, 替代, 根据, 转发, 印发, 解读")
    text: str = Field(description="the other document as this one names it (or its title)")
    document: DocRefOut | None = Field(None, description="the other document; null when it is not here "
                                                         "or the caller may not see it")
    date: str | None = None
    source: str = Field(description="manifest, title or text: where the relation was read")
    extracted: bool = Field(description="read from the title or text, not from a catalogue")


class VersionOut(DocRefOut):
    effective: str | None = None
    ended: str | None = None
    current: bool = Field(description="the newest version here")


class EventOut(BaseModel):
    date: str
    kind: str = Field(description="版本, 修改, 施行, 废止, 替代, 解读")
    text: str
    document: DocRefOut | None = None


class StatusOut(BaseModel):
    validity: str | None = None
    effective: str | None = None
    ended: str | None = None
    ended_by: DocRefOut | None = Field(None, description="what repealed or superseded it (when the caller may see it)")
    line: str = Field(description="the status as the page shows it, e.g. 现行有效，2020-06-20 修订，2021-01-01 施行")


class RelationsOut(BaseModel):
    status: StatusOut
    versions: list[VersionOut] = Field(description="versions of this document the caller may see, newest first")
    cites: list[RelationOut] = Field(description="what this document amends, repeals, cites, forwards, interprets")
    cited_by: list[RelationOut] = Field(description="documents the caller may see that point at this one")
    cited_by_total: int
    timeline: list[EventOut] = Field(description="versions, amendments, entry into force, end: oldest first")


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
    effective: str | None = Field(None, description="施行日期")
    ended: str | None = None
    relations: RelationsOut | None = Field(None, description="as GET /api/documents/{id}/relations")
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
