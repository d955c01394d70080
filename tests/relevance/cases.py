"""A relevance test set: real documents and the queries people type for them, each with the
documents it must find, and the measures over it (MRR@10, recall@10, zero-result rate per
kind of query). Used by tests/relevance/ (floors) and by `make bench` (beside SQLite FTS5).

Documents: the 300 real laws (tests/data), the 2007 speech of the Jiamusi archives bureau, a
copy of that speech as OCR gives it back (one character in about forty misread), and the 20
State Council pages of ../shared/corpus/govcn with their real 文号 when that folder is there.

Queries, by kind:
- fragment: 8 to 24 characters copied from an article, cut anywhere (mid-word at both ends);
  relevant: every document holding the text (versions of a law share articles)
- passage: 40 to 80 characters pasted across line ends (a space where each line ended)
- title, short title: the full title; without 中华人民共和国; relevant: the documents so named
- 文号: each real 文号 in the forms people type (brackets of every kind or none, 2019年,
  spaces, with and without 第 and 号, full-width digits, Chinese-numeral years; 令 numbers by
  either name of the issuer)
- abbreviation: short names of laws and agencies (个税法, 国办); relevant: what they name
- traditional: fragments and titles in traditional script
- ocr: phrases of the speech that cover a misread character in the OCR copy; relevant: the
  copy (the clean speech is left out of this index, as an archive holds only the scan)"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import opencc

from analysis.normalize import normalize
from engine.model import Document, Page
from tests import inputs

PAGE_CHARS = 1200
SEED = 20261201
KINDS = ("fragment", "passage", "title", "short title", "文号", "abbreviation", "traditional", "ocr")
# (typed, what it must find: a title that contains this)
ABBREVIATIONS = [
    ("个税法", "个人所得税法"), ("消法", "消费者权益保护法"), ("消保法", "消费者权益保护法"),
    ("民诉法", "民事诉讼法"), ("刑诉法", "刑事诉讼法"), ("行诉法", "行政诉讼法"),
    ("未保法", "未成年人保护法"), ("招投标法", "招标投标法"), ("国赔法", "国家赔偿法"),
    ("数安法", "数据安全法"), ("反恐法", "反恐怖主义法"), ("药管法", "药品管理法"),
    ("非遗法", "非物质文化遗产法"), ("征管法", "税收征收管理法"), ("职教法", "职业教育法"),
    ("高教法", "高等教育法"), ("义教法", "义务教育法"), ("固废法", "固体废物污染环境防治法"),
    ("大气法", "大气污染防治法"), ("海环法", "海洋环境保护法"), ("老年法", "老年人权益保障法"),
    ("土地法", "土地管理法"), ("房地产法", "城市房地产管理法"), ("版权法", "著作权法"),
    ("基金法", "证券投资基金法"), ("环评法", "环境影响评价法"), ("安生法", "安全生产法"),
]
# Agency short names, checked against the govcn pages' 发文机关.
AGENCY_ABBREVIATIONS = [("国办", "国务院办公厅")]

_s2t = opencc.OpenCC("s2t")


@dataclass
class Case:
    kind: str
    q: str
    relevant: frozenset[str]


@dataclass
class Corpus:
    documents: list[Document]
    cases: list[Case] = field(default_factory=list)


def _law_documents(max_laws: int | None) -> list[Document]:
    docs = []
    rows = inputs.laws()
    if max_laws is not None and max_laws < len(rows):
        rows = random.Random(SEED).sample(rows, max_laws)
    for r in rows:
        text = r["text"]
        pages = [Page(n + 1, text[j:j + PAGE_CHARS]) for n, j in enumerate(range(0, len(text), PAGE_CHARS))]
        docs.append(Document(
            id=r["id"], collection="current", title=r["title"], pages=pages,
            agency=[r["issuing_body"]] if r["issuing_body"] else [],
            date=date.fromisoformat(r["publish_date"]) if r["publish_date"] else None,
            category=r["category"] or None, doc_type=r["doc_type"] or None, validity=r["validity"] or None,
        ))
    return docs


def ocr_copy(text: str, rng: random.Random, every: int = 40) -> tuple[str, list[int]]:
    """The text with about one character in `every` replaced by another of its characters,
    as OCR misreads them; with the positions changed."""
    chars = list(text)
    cjk = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
    pool = [chars[i] for i in cjk]
    changed = sorted(rng.sample(cjk, len(cjk) // every))
    for i in changed:
        chars[i] = next(c for c in iter(lambda: rng.choice(pool), None) if c != chars[i])
    return "".join(chars), changed


def _govcn_documents() -> list[Document]:
    """The State Council pages with their catalogue entries, or none without ../shared."""
    folder = inputs.SHARED / "govcn"
    if not (folder / "metadata.jsonl").exists():
        return []
    from indexer.extract.html import HtmlExtractor

    docs = []
    for line in (folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        meta = json.loads(line)
        pages = HtmlExtractor().extract(folder / meta["file"]).pages
        docs.append(Document(id="govcn-" + meta["file"].split(".")[0], collection="current", title=meta["title"],
                             pages=pages, doc_number=meta["doc_number"], agency=meta["agency"]))
    return docs


def _containing(docs: list[Document], text: str) -> frozenset[str]:
    t = re.sub(r"\s+", "", normalize(text))
    return frozenset(d.id for d in docs if any(t in page for page in _normalized(d)))


_seen: dict[str, tuple[str, ...]] = {}


def _normalized(doc: Document) -> tuple[str, ...]:
    """The document's title and pages normalised as the index sees them, spaces dropped."""
    if doc.id not in _seen:
        _seen[doc.id] = tuple(re.sub(r"\s+", "", normalize(x)) for x in [doc.title] + [p.text for p in doc.pages])
    return _seen[doc.id]


def _cut(rng: random.Random, text: str, lo: int, hi: int) -> str | None:
    """A piece of `text` of lo..hi characters starting anywhere, mostly Chinese."""
    for _ in range(20):
        n = rng.randint(lo, hi)
        start = rng.randrange(0, max(1, len(text) - n))
        piece = text[start:start + n]
        if len(piece) == n and sum("\u4e00" <= c <= "\u9fff" for c in piece) >= 0.7 * n:
            return piece
    return None


def doc_number_forms(number: str) -> list[str]:
    """A 文号 the ways people type it."""
    m = re.fullmatch(r"(.+?)〔(\d{4})〕(\d+)号", number)
    if m:
        issuer, year, num = m.groups()
        cn_year = "".join("〇一二三四五六七八九"[int(c)] for c in year)
        wide = str.maketrans("0123456789", "０１２３４５６７８９")
        return [number, f"{issuer}[{year}]{num}号", f"{issuer}（{year}）{num}号", f"{issuer}({year}){num}号",
                f"{issuer}【{year}】{num}号", f"{issuer}{year}年{num}号", f"{issuer}{year}年第{num}号",
                f"{issuer} {year} {num}号", f"{issuer}〔{year}〕第{num}号", f"{issuer}〔{year}〕{num}",
                f"{issuer}[{year}]{num}".translate(wide), f"{issuer}〔{cn_year}〕{num}号",
                f"{issuer} [{year}] 第 {num} 号", _s2t.convert(number)]
    m = re.fullmatch(r"(.+?)令第(\d+)号", number)
    if m:
        issuer, num = m.groups()
        other = "国务院" if issuer == "国" else issuer
        return [number, f"{other}令第{num}号", f"{issuer}令{num}号", f"中华人民共和国{other}令第{num}号",
                f"{other}令 第{num}号"]
    return [number]


@lru_cache(maxsize=2)
def corpus(max_laws: int | None = None) -> Corpus:
    """The documents and the cases; `max_laws` of the 300 laws (all by default)."""
    rng = random.Random(SEED)
    laws = _law_documents(max_laws)
    speech = inputs.seed_speech()
    noisy, changed = ocr_copy(speech, random.Random(SEED))
    scan = Document(id="scan-J012-2007", collection="archive", title="为构建和谐佳木斯市提供档案服务（扫描件）",
                    pages=[Page(1, noisy, ocr=True, confidence=91.0)], doc_number="佳档发〔2007〕15号",
                    agency=["佳木斯市档案局"], date=date(2007, 9, 5))
    govcn = _govcn_documents()
    docs = laws + [scan] + govcn
    out = Corpus(docs)
    add = out.cases.append

    def relevant_titles(pred: Callable[[str], bool]) -> frozenset[str]:
        return frozenset(d.id for d in docs if pred(normalize(d.title)))

    # fragments and passages cut from random laws, and the same in traditional script
    for law in rng.sample(laws, min(80, len(laws))):
        text = rng.choice(law.pages).text
        piece = _cut(rng, text.replace("\n", ""), 8, 24)
        if piece:
            add(Case("fragment", piece, _containing(docs, piece)))
        passage = _cut(rng, text, 40, 80)
        if passage and "\n" in passage.strip():
            add(Case("passage", passage.replace("\n", " ").strip(), _containing(docs, passage.replace("\n", ""))))
    for law in rng.sample(laws, min(30, len(laws))):
        piece = _cut(rng, rng.choice(law.pages).text.replace("\n", ""), 10, 20)
        if piece:
            add(Case("traditional", _s2t.convert(piece), _containing(docs, piece)))
    # titles: whole, without 中华人民共和国, in traditional script
    for law in rng.sample(laws, min(60, len(laws))):
        title = normalize(law.title)
        add(Case("title", law.title, relevant_titles(lambda t, title=title: t == title)))
        short = title.removeprefix("中华人民共和国")
        if short != title:
            add(Case("short title", short, relevant_titles(lambda t, title=title: t == title)))
    for law in rng.sample(laws, min(15, len(laws))):
        title = normalize(law.title)
        add(Case("traditional", _s2t.convert(law.title), relevant_titles(lambda t, title=title: t == title)))
    # 文号 in every form
    for d in [scan] + govcn:
        for form in doc_number_forms(d.doc_number or ""):
            add(Case("文号", form, frozenset({d.id})))
    # abbreviations of laws present in the corpus, and of agencies of the govcn pages
    for typed, full in ABBREVIATIONS:
        rel = relevant_titles(lambda t, full=full: t.endswith(full) and "关于" not in t)
        if rel:
            add(Case("abbreviation", typed, rel))
    for typed, agency in AGENCY_ABBREVIATIONS:
        rel = frozenset(d.id for d in govcn if agency in d.agency)
        if rel:
            add(Case("abbreviation", typed, rel))
    # ocr: a phrase of the clean speech around one misread character of the scan
    clean = speech.replace("\n", "")
    at = {pos - speech.count("\n", 0, pos) for pos in changed}  # positions in `clean`
    for pos in sorted(at)[::3][:25]:
        n = rng.randint(8, 16)
        start = max(0, pos - rng.randint(1, n - 2))
        phrase = clean[start:start + n]
        if sum("\u4e00" <= c <= "\u9fff" for c in phrase) >= 6 and len(at & set(range(start, start + n))) == 1:
            add(Case("ocr", phrase, frozenset({scan.id})))
    return out


@dataclass
class Scores:
    n: int = 0
    rr: float = 0.0
    recall: float = 0.0
    zero: int = 0
    misses: list[tuple[str, int | None]] = field(default_factory=list)  # (query, rank or None)

    @property
    def mrr(self) -> float:
        return self.rr / self.n if self.n else float("nan")

    @property
    def recall10(self) -> float:
        return self.recall / self.n if self.n else float("nan")

    @property
    def zero_rate(self) -> float:
        return self.zero / self.n if self.n else float("nan")


def evaluate(cases: Iterable[Case], search: Callable[[str], tuple[int, list[str]]], k: int = 10) -> dict[str, Scores]:
    """Scores per kind. `search(q)` gives (total, ids of the first k hits in order)."""
    out: dict[str, Scores] = {}
    for case in cases:
        total, ids = search(case.q)
        s = out.setdefault(case.kind, Scores())
        s.n += 1
        s.zero += total == 0
        rank = next((i + 1 for i, x in enumerate(ids[:k]) if x in case.relevant), None)
        s.rr += 1 / rank if rank else 0.0
        s.recall += len(case.relevant & set(ids[:k])) / min(len(case.relevant), k) if case.relevant else 0.0
        if rank != 1:
            s.misses.append((case.q, rank))
    return out
