"""Benchmark documents made at run time from real text: 公文-shaped documents of 1–10k
characters recombined from the articles of the real laws, with catalogue metadata drawn
from realistic distributions (agencies, years skewed recent, categories, 文种, validity,
access), reproducible from a seed.

Analysis (jieba in Python) runs at about 80k characters a second per core, so 100k
documents (~400M characters) cannot be cut afresh in a bench run. The documents are made
of a fixed pool of text pieces, each cut once (and cached on disk under bench/out/);
`cached_record(doc)` assembles a document's record from its pieces' tokens. It is
checked to equal `engine.record.to_record(doc)` field by field (`verify`), and the
indexing-throughput figures are measured with the real analysis, not this cache."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from analysis.segment import Analyzed, analyze
from engine import record as record_module
from engine.model import Document, Page
from engine.suggest import suggest_keys

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = (REPO / ".." / "shared" / "corpus").resolve()
_ANALYSIS_CODE = [*sorted((REPO / "analysis").glob("*.*")), REPO / "engine" / "suggest.py", REPO / "engine" / "record.py",
                  Path(__file__)]
OUT = REPO / "bench" / "out"

_CJK = "\u3400-\u9fff\uf900-\ufaff"
_IS_CJK = re.compile(f"[{_CJK}]")

PAGE_CHARS = 900  # about one A4 page of 公文 (22 lines × 28 characters, plus headings)


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def pieces_of(text: str) -> list[str]:
    """Split text at the line breaks that analysis treats as breaks, so the tokens of the
    whole are the tokens of the pieces in order (checked by `verify`). normalize() removes
    a break between two CJK characters (layout, not a word break): lines joined that way
    stay one piece."""
    out: list[str] = []
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            continue
        if out and _cjk(out[-1][-1]) and _cjk(s[0]):
            out[-1] += "\n" + s
        else:
            out.append(s)
    return out


# -- metadata distributions -------------------------------------------------------------
# (agency, 文号 prefix, weight): a municipality's own bodies issue most documents, the
# province and the State Council fewer; weights follow a long tail as in real catalogues.
AGENCIES = [
    ("佳木斯市人民政府", "佳政发", 14), ("佳木斯市人民政府办公室", "佳政办发", 12),
    ("佳木斯市档案局", "佳档发", 6), ("佳木斯市财政局", "佳财发", 5), ("佳木斯市教育局", "佳教发", 5),
    ("佳木斯市公安局", "佳公发", 4), ("佳木斯市卫生健康委员会", "佳卫发", 4),
    ("佳木斯市住房和城乡建设局", "佳建发", 4), ("佳木斯市自然资源局", "佳自然资发", 3),
    ("佳木斯市生态环境局", "佳环发", 3), ("佳木斯市民政局", "佳民发", 3),
    ("佳木斯市人力资源和社会保障局", "佳人社发", 3), ("佳木斯市农业农村局", "佳农发", 3),
    ("佳木斯市交通运输局", "佳交发", 2), ("佳木斯市市场监督管理局", "佳市监发", 2),
    ("佳木斯市应急管理局", "佳应急发", 2), ("佳木斯市司法局", "佳司发", 2),
    ("佳木斯市审计局", "佳审发", 2), ("佳木斯市统计局", "佳统发", 1), ("佳木斯市水务局", "佳水发", 1),
    ("佳木斯市文化广电和旅游局", "佳文旅发", 1), ("佳木斯市发展和改革委员会", "佳发改发", 2),
    ("前进区人民政府", "前政发", 2), ("向阳区人民政府", "向政发", 2), ("郊区人民政府", "郊政发", 1),
    ("富锦市人民政府", "富政发", 2), ("同江市人民政府", "同政发", 1), ("桦南县人民政府", "桦政发", 1),
    ("黑龙江省人民政府", "黑政发", 3), ("黑龙江省人民政府办公厅", "黑政办发", 2),
    ("黑龙江省档案局", "黑档发", 1), ("国务院", "国发", 2), ("国务院办公厅", "国办发", 2),
    ("全国人民代表大会常务委员会", "人大常委会公告", 1),
]
CATEGORIES = [
    ("综合政务", 14), ("国民经济管理", 6), ("财政、金融、审计", 7), ("国土资源、能源", 5),
    ("农业、林业、水利", 7), ("工业、交通", 5), ("商贸、海关、旅游", 3), ("市场监管、安全生产监管", 6),
    ("城乡建设、环境保护", 8), ("科技、教育", 7), ("文化、广电、新闻出版", 3), ("卫生、体育", 6),
    ("民政、扶贫、救灾", 5), ("劳动、人事、监察", 6), ("公安、安全、司法", 5), ("档案", 3),
]
DOC_TYPES = [("通知", 40), ("意见", 10), ("决定", 6), ("办法", 8), ("报告", 6), ("批复", 8),
             ("通报", 5), ("函", 8), ("规定", 4), ("公告", 5)]
VALIDITY = [("现行有效", 80), ("已修改", 6), ("已废止", 14)]
ACCESS = [("open", 90), ("reading_room", 7), ("restricted", 3)]
RETENTION = [("永久", 30), ("定期30年", 45), ("定期10年", 25)]
RECIPIENTS = ["各县（市）区人民政府，市政府各委、办、局，各直属机构：", "各区人民政府，市直各有关部门：",
              "各有关单位：", "市政府各部门：", "各乡（镇）人民政府，县直各单位："]
TITLE_TEMPLATES = ["关于贯彻实施《{law}》的{t}", "关于做好{topic}工作的{t}", "关于印发《{topic}实施方案》的{t}",
                   "关于进一步加强{topic}管理的{t}", "关于{topic}有关问题的{t}", "关于开展{topic}专项检查的{t}"]
YEARS = list(range(1980, 2026))
# Skewed recent: weight doubles every 8 years (2025 is ~50× 1980), as digitised holdings are.
YEAR_WEIGHTS = [math.exp((y - 1980) * math.log(2) / 8) for y in YEARS]
ARCHIVE_SHARE = 0.3


def _pick(rng: random.Random, table: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(table, weights=[row[-1] for row in table])[0]


@dataclass
class TitleEntry:
    """A title with its agencies and 文种; documents draw from a pool of these (generic
    titles recur in real catalogues), so title analysis and completion keys are cached."""

    title: str
    agency: list[str]
    prefix: str
    doc_type: str


@dataclass
class Pool:
    corpus_sha: str
    runs: list[list[int]]  # per source law, the indices of its usable pieces in order
    pieces: list[str]
    analysed: dict[str, tuple[str, str]]  # piece → (words, grams), space-joined (compact)
    titles: list[TitleEntry]
    title_keys: list[list[str]]  # suggest keys of each title entry (without the 文号 key)
    word_df: dict[str, int] = field(default_factory=dict)  # pieces containing each word


def corpus_file(corpus: Path) -> Path:
    return Path(corpus) / "laws" / "laws.jsonl"


def _analyse_chunk(texts: list[str]) -> list[tuple[list[str], list[str]]]:
    out = []
    for t in texts:
        a = analyze(t)
        out.append((a.words_text, a.grams_text))
    return out


def _title_keys_chunk(entries: list[TitleEntry]) -> list[list[str]]:
    return [suggest_keys(Document(id="x", collection="current", title=e.title, agency=e.agency))
            for e in entries]


TITLES_PER_LAW, MOST_TITLES = 200, 20_000


def load_pool(corpus: Path, seed: int = 0, n_titles: int | None = None, workers: int = 2) -> Pool:
    """The pieces of the real laws with their tokens, cut once and cached on disk. Titles:
    `n_titles`, or TITLES_PER_LAW for each law up to MOST_TITLES (20,000 for the 300 laws;
    the smoke test's 12 laws need no more than 2,400, and analysing 20,000 took it a minute)."""
    raw = corpus_file(corpus).read_bytes()
    n_titles = n_titles or min(MOST_TITLES, TITLES_PER_LAW * sum(1 for line in raw.splitlines() if line.strip()))
    # The cache holds tokens and completion keys: it is keyed by the code that makes them
    # too, so a change to the analysis or the keys cuts the pool again (verify() checks it).
    code = b"".join(f.read_bytes() for f in _ANALYSIS_CODE if f.exists())
    sha = hashlib.sha256(raw + code).hexdigest()[:16]
    cache = OUT / f"pool-{sha}-{seed}-{n_titles}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    laws = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    pieces: list[str] = []
    index: dict[str, int] = {}
    runs: list[list[int]] = []
    for law in laws:
        run = []
        for p in pieces_of(law["text"]):
            # A piece that ends in a CJK character would merge with the next one we place
            # after it; leave those out so every join stays a piece boundary.
            if len(p) > 2000 or _IS_CJK.match(p[-1]) or p[-1].isspace():
                continue
            if p not in index:
                index[p] = len(pieces)
                pieces.append(p)
            run.append(index[p])
        if len(run) >= 3:
            runs.append(run)
    rng = random.Random(seed)
    law_titles = [law["title"] for law in laws]
    topics = sorted({re.sub(r"^(中华人民共和国|全国人民代表大会常务委员会关于)", "", t).rstrip("法")[:12]
                     for t in law_titles if len(t) < 30})
    titles: list[TitleEntry] = []
    for _ in range(n_titles):
        agency, prefix, _w = _pick(rng, AGENCIES)
        doc_type = _pick(rng, DOC_TYPES)[0]
        tpl = rng.choice(TITLE_TEMPLATES)
        title = agency + tpl.format(law=rng.choice(law_titles), topic=rng.choice(topics), t=doc_type)
        agencies = [agency]
        if rng.random() < 0.08:  # 联合发文
            other = _pick(rng, AGENCIES)[0]
            if other != agency:
                agencies.append(other)
        titles.append(TitleEntry(title, agencies, prefix, doc_type))

    texts = pieces + sorted({t.title for t in titles} | set(RECIPIENTS))
    chunks = [texts[i:i + 500] for i in range(0, len(texts), 500)]
    tchunks = [titles[i:i + 500] for i in range(0, len(titles), 500)]
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            analysed_chunks = pool.map(_analyse_chunk, chunks)
            key_chunks = pool.map(_title_keys_chunk, tchunks)
    else:
        analysed_chunks = [_analyse_chunk(c) for c in chunks]
        key_chunks = [_title_keys_chunk(c) for c in tchunks]
    analysed = {t: a for c, res in zip(chunks, analysed_chunks, strict=True) for t, a in zip(c, res, strict=True)}
    keys = [k for chunk in key_chunks for k in chunk]
    df: dict[str, int] = {}
    for p in pieces:
        for w in set(analysed[p][0].split()):
            df[w] = df.get(w, 0) + 1
    pool_obj = Pool(sha, runs, pieces, analysed, titles, keys, df)
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(pool_obj, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(cache)
    return pool_obj


# -- documents --------------------------------------------------------------------------
def _length(rng: random.Random) -> int:
    """Body length: log-normal, median 3,000 characters, kept within 1k–10k."""
    return int(min(10_000, max(1_000, rng.lognormvariate(math.log(3000), 0.55))))


def make_document(pool: Pool, i: int, seed: int = 0) -> Document:
    """Document number i of the set: the same i and seed give the same document."""
    rng = random.Random(seed * 1_000_003 + i)
    entry = pool.titles[rng.randrange(len(pool.titles))]
    year = rng.choices(YEARS, weights=YEAR_WEIGHTS)[0]
    day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    number = 1 + (i * 7919 + seed) % 400  # spread so 文号 are unique per (prefix, year)
    doc_number = f"{entry.prefix}〔{year}〕{number}号" if entry.prefix != "人大常委会公告" else None
    archive = rng.random() < ARCHIVE_SHARE
    target = _length(rng)
    body: list[str] = [rng.choice(RECIPIENTS)]
    chars = len(body[0])
    while chars < target:
        run = pool.runs[rng.randrange(len(pool.runs))]
        start = rng.randrange(len(run))
        for k in run[start:start + rng.randint(3, 12)]:
            body.append(pool.pieces[k])
            chars += len(pool.pieces[k])
            if chars >= target:
                break
    # Title, then the 文号 in brackets, as 文件汇编 and disclosure pages print them.
    header = f"{entry.title}\n（{doc_number}）" if doc_number else entry.title
    closing = f"{'　'.join(entry.agency)}\n{day.year}年{day.month}月{day.day}日"
    pages: list[Page] = []
    current: list[str] = [header]
    size = 0
    for piece in body:
        if size >= PAGE_CHARS:
            pages.append(Page(len(pages) + 1, "\n".join(current)))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    current.append(closing)
    pages.append(Page(len(pages) + 1, "\n".join(current)))
    doc_id = f"B{seed:02d}-{i:07d}"
    doc = Document(
        id=doc_id, collection="archive" if archive else "current", title=entry.title, pages=pages,
        doc_number=doc_number, agency=list(entry.agency), date=day,
        published=None if archive else day + timedelta(days=rng.randrange(30)),
        category=_pick(rng, CATEGORIES)[0], doc_type=entry.doc_type,
        validity=None if archive else _pick(rng, VALIDITY)[0],
        access=_pick(rng, ACCESS)[0],
        source_path=f"/srv/bench/{doc_id}.pdf", source_sha256=hashlib.sha256(doc_id.encode()).hexdigest(),
        media_type="application/pdf",
    )
    if archive:
        doc.fonds = f"J{(i % 40) + 1:03d}"
        doc.retention = _pick(rng, RETENTION)[0]
        doc.archival_code = f"{doc.fonds}-{year}-{doc.retention[:2]}-{i:06d}"
    return doc


def documents(pool: Pool, n: int, seed: int = 0, start: int = 0) -> Iterator[Document]:
    for i in range(start, start + n):
        yield make_document(pool, i, seed)


def text_bytes(doc: Document) -> int:
    return sum(len(p.text.encode("utf-8")) for p in doc.pages)


# -- cached analysis ----------------------------------------------------------------------
class CachedAnalysis:
    """analyze() assembled from the pool's cached pieces; pieces not in the pool (the
    header with the 文号, the closing date) are cut for real."""

    def __init__(self, pool: Pool):
        self.cache = pool.analysed
        self.misses = 0
        self.title_keys = {(e.title, tuple(e.agency)): k for e, k in zip(pool.titles, pool.title_keys, strict=True)}
        self._small: dict[str, tuple[str, str]] = {}

    def analyze(self, text: str) -> Analyzed:
        words: list[str] = []
        grams: list[str] = []
        for piece in pieces_of(text):
            got = self.cache.get(piece) or self._small.get(piece)
            if got is None:
                self.misses += 1
                a = analyze(piece)
                got = (a.words_text, a.grams_text)
                if len(piece) < 16:  # dates and short lines recur
                    if len(self._small) > 50_000:
                        self._small.clear()
                    self._small[piece] = got
            words.extend(got[0].split())
            grams.extend(got[1].split())
        return Analyzed(words, grams)

    def suggest_keys(self, doc: Document) -> list[str]:
        keys = self.title_keys.get((doc.title, tuple(doc.agency)))
        if keys is None:
            return suggest_keys(doc)
        if not doc.doc_number:
            return keys
        number_only = Document(id=doc.id, collection=doc.collection, title="", doc_number=doc.doc_number)
        return sorted(set(keys) | set(suggest_keys(number_only)))

    @contextmanager
    def patched(self) -> Iterator[None]:
        """engine.record.to_record with this cache in place of analyze and suggest_keys."""
        saved = record_module.analyze, record_module.suggest_keys
        record_module.analyze, record_module.suggest_keys = self.analyze, self.suggest_keys
        try:
            yield
        finally:
            record_module.analyze, record_module.suggest_keys = saved

    def record(self, doc: Document) -> dict[str, Any]:
        with self.patched():
            return record_module.to_record(doc)


def verify(pool: Pool, n: int = 30, seed: int = 0) -> int:
    """Records from the cache equal records from the real analysis; returns how many
    documents were compared (raises AssertionError naming the first field that differs)."""
    cached = CachedAnalysis(pool)
    for doc in documents(pool, n, seed, start=977):
        real = record_module.to_record(doc)
        fast = cached.record(doc)
        for name in set(real) | set(fast):
            if name == "indexed_at":
                continue
            assert real.get(name) == fast.get(name), f"{doc.id}: field {name} differs from to_record()"
    return n
