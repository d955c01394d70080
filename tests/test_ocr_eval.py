"""The OCR evaluation set: accuracy floors the default engine must keep, on pages rendered
from real law texts in five Debian faces (10.5-22 pt, 200 and 300 dpi; clean, and degraded
as scanners and paper degrade them), on real scanned pages nobody on this project made
(../shared/corpus/real, with transcriptions in tests/ocr_eval/truth/, made as its README
says), and on dense small print (characters 7-10 px high, JPEG): real report, magazine and
table pages drawn at 72 dpi, scored against their text layer, and newspaper pages rendered
from law texts. A class below its floor fails, with every page's figures printed; on no
page may chayue read less than raw RapidOCR does (tests/ocr_eval/raw.py).

OCR results are kept in pytest's cache (keyed by the pixels, the engine and its version,
as the indexer's cache is), so a second run reads nothing again."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.ocr import Ocr
from tests import inputs
from tests.ocr_eval import pages as P
from tests.ocr_eval import raw

TRUTH = Path(__file__).resolve().parent / "ocr_eval" / "truth"
REAL = inputs.SHARED / "real"
CLEAN_CER = 0.01
DEGRADED_CER = 0.03
REAL_HAN_F1 = 0.97
MEAN_HAN_F1 = 0.97  # over every page of the set
BELOW_RAW = 0.01  # on any page, chayue's Han F1 at most this much under raw RapidOCR's

pytestmark = pytest.mark.slow


def _text(n: int, chars: int = 220) -> str:
    return inputs.law_excerpt(n, chars)


def _faces_or_skip(faces: list[str]) -> None:
    """A class is measured on all its faces or not at all: without some of them its floor
    would pass on the easy pages alone (it did, on a machine without the AR PL and
    WenQuanYi faces, dropping the vertical, speckled and yellowed pages unsaid)."""
    if missing := P.missing_packages(faces):
        pytest.skip(f"faces of the evaluation set not installed: apt-get install {' '.join(missing)} "
                    "(make test installs them)")


def _clean_cases() -> list[P.Case]:
    specs = [("Noto Serif CJK SC", 12, 300), ("AR PL UMing CN", 10.5, 300),
             ("AR PL UKai CN", 14, 200), ("WenQuanYi Zen Hei", 22, 200),
             ("Noto Sans CJK SC", 10.5, 200)]
    _faces_or_skip([face for face, _, _ in specs])
    return [P.Case(f"{face} {pt}pt {dpi}dpi", t := _text(60 + i),
                   P.render(t, face, pt, dpi, chars_per_line=22 if pt > 20 else 30))
            for i, (face, pt, dpi) in enumerate(specs)]


def _degraded_cases() -> list[P.Case]:
    serif, ming, kai, sans = ("Noto Serif CJK SC", "AR PL UMing CN", "AR PL UKai CN",
                              "Noto Sans CJK SC")
    specs = [
        ("skew 3°", ming, 12, 300, P.skew, {}),
        ("blur", serif, 12, 300, P.blur, {}),
        ("JPEG q20", sans, 12, 200, P.jpeg, {}),
        ("red seal", serif, 14, 300, P.seal, {}),
        ("speckle", kai, 12, 300, P.speckle, {}),
        ("faded ink", serif, 12, 300, P.faded, {}),
        ("yellowed paper", ming, 12, 300, P.yellowed, {}),
        ("two columns", serif, 10.5, 300, None, {"columns": 2, "chars_per_line": 16}),
        ("vertical", kai, 14, 300, None, {"vertical": True, "chars_per_line": 18}),
    ]
    _faces_or_skip([spec[1] for spec in specs])
    out = []
    for i, (name, face, pt, dpi, spoil, kw) in enumerate(specs):
        text = _text(80 + i)
        page = P.render(text, face, pt, dpi, **kw)
        out.append(P.Case(f"{name} ({face} {pt}pt {dpi}dpi)", text, spoil(page) if spoil else page))
    return out


def _dense_cases() -> list[P.Case]:
    _faces_or_skip([face for face, *_ in P.NEWSPAPERS])
    return P.dense_cases(REAL)


def _real_cases(name: str) -> list[P.Case]:
    """The pages of a real scanned PDF that have a transcription, drawn as the indexer draws
    them, with it."""
    import pypdfium2 as pdfium

    from indexer.extract.pdf import render

    path = _real(name)
    truths = sorted(TRUTH.glob(f"{path.stem}-*.txt"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert truths, f"no transcription of {path.name} in {TRUTH}"
    doc = pdfium.PdfDocument(path)
    try:
        return [P.Case(truth.name, truth.read_text("utf-8").split("\n\n", 1)[1],  # after the note
                       render(doc, int(truth.stem.rsplit("-", 1)[1]) - 1)) for truth in truths]
    finally:
        doc.close()


@pytest.fixture(scope="module")
def raw_rapid(request):
    """Raw RapidOCR's reading of pages, by their pixels and its version: as recorded in
    tests/ocr_eval/raw-readings.json.xz (raw.RECORDED: reading the 36 pages of this module took
    three minutes of CI at every run), else read now and kept in pytest's cache. A page drawn
    differently (other fonts, another renderer) or another RapidOCR is read again."""
    import hashlib
    import importlib.metadata
    import json

    cache = Path(request.config.cache.mkdir("ocr-eval-raw"))
    version = importlib.metadata.version("rapidocr")
    recorded = raw.recorded()

    def read(images: list, tmp: Path) -> list[str]:
        keys = [hashlib.sha256(f"{version}:{im.size}:".encode() + im.tobytes()).hexdigest()
                for im in images]
        todo = [i for i, k in enumerate(keys) if k not in recorded and not (cache / f"{k}.json").exists()]
        print(f"raw RapidOCR {version}: {len(images) - len(todo)} pages as recorded or cached, {len(todo)} read now")
        for i in todo:
            images[i].save(tmp / f"{i}.png")
        for n in range(0, len(todo), 4):  # kept as it goes: a run cut short keeps what it read
            some = todo[n:n + 4]
            for i, text in zip(some, raw.read([tmp / f"{i}.png" for i in some])):
                (cache / f"{keys[i]}.json").write_text(json.dumps(text, ensure_ascii=False), "utf-8")
        return [recorded[k] if k in recorded else json.loads((cache / f"{k}.json").read_text("utf-8"))
                for k in keys]

    return read


@pytest.fixture(scope="module")
def ocr(request) -> Ocr:
    cache = Path(request.config.cache.mkdir("ocr-eval"))
    with Ocr(cache, workers=2) as service:
        yield service


def _score(ocr: Ocr, cases: list[P.Case]) -> float:
    results = ocr.ocr_images(c.image for c in cases)
    edits = chars = 0
    for case, page in zip(cases, results, strict=True):
        e, n = P.errors(case.text, page.text)
        edits, chars = edits + e, chars + n
        print(f"{case.name:55} CER {e / n:6.2%} ({e}/{n})")
        if e / n > 0.05:
            print("   read:", page.text.replace("\n", " | ")[:300])
    return edits / max(chars, 1)


def test_clean_renders_in_five_faces_are_read_within_one_percent_cer(ocr):
    rate = _score(ocr, _clean_cases())
    print(f"clean: CER {rate:.2%}")
    assert rate <= CLEAN_CER


def test_degraded_renders_are_read_within_three_percent_cer(ocr):
    cases = _degraded_cases()
    rate = _score(ocr, cases)
    print(f"degraded: CER {rate:.2%}")
    assert rate <= DEGRADED_CER


def _real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not here: the real pages live beside a checkout in ../shared")
    return path


REAL_SCANS = ["scans/mineru_small_ocr.pdf", "pdf/pdfplumber_pr-136-example.pdf"]


@pytest.mark.parametrize("name", REAL_SCANS)
def test_real_scanned_pages_are_read_with_han_f1_of_097(ocr, name):
    cases = _real_cases(name)
    read = ocr.ocr_images((c.image for c in cases), numbers=range(1, len(cases) + 1))
    for case, page in zip(cases, read, strict=True):
        print(f"{case.name:40} Han F1 {P.han_f1(case.text, page.text):.3f}")
    f1 = P.han_f1("".join(c.text for c in cases), "".join(p.text for p in read))
    print(f"{name}: Han F1 {f1:.3f}")
    assert f1 >= REAL_HAN_F1


# Pages still read worse than raw RapidOCR, with chayue's Han F1 when that was last measured
# (2026-12-08: 0.937 against raw 0.949; 0.927 before a missed table cell was read again; the
# rest is 8 px characters misread, 34 against raw's 28): issue 24 stays open for them, and
# they may not fall further.
KNOWN_BELOW_RAW = {"dense real: issue-914-xmp-data": 0.937}


def test_no_page_is_read_worse_than_by_raw_rapidocr_dense_print_included(ocr, raw_rapid, tmp_path):
    """Every page of the set, dense small print included: chayue's Han F1 beside raw
    RapidOCR's (its defaults, the same models), page by page."""
    cases = _clean_cases() + _degraded_cases() + _dense_cases()
    if REAL.exists():
        cases += [c for name in REAL_SCANS for c in _real_cases(name)]
    ours = ocr.ocr_images(c.image for c in cases)
    raws = raw_rapid([c.image for c in cases], tmp_path)
    worse, f1s = [], []
    print(f"\n{'page':75} chayue    raw")
    for case, page, text in zip(cases, ours, raws, strict=True):
        f1, raw_f1 = P.han_f1(case.text, page.text), P.han_f1(case.text, text)
        f1s.append(f1)
        known = next((floor for prefix, floor in KNOWN_BELOW_RAW.items() if case.name.startswith(prefix)), None)
        flag = "  << below raw" if f1 < raw_f1 - BELOW_RAW else ""
        print(f"{case.name[:75]:75} {f1:6.3f} {raw_f1:6.3f}{flag}{'  (known, issue 24)' if known else ''}")
        if flag and (known is None or f1 < known - BELOW_RAW):
            worse.append(case.name)
    dense = [f for c, f in zip(cases, f1s) if c.name.startswith("dense")]
    mean = sum(f1s) / len(f1s)
    print(f"mean Han F1 of {len(f1s)} pages: {mean:.3f}; of the {len(dense)} dense pages: "
          f"{sum(dense) / max(len(dense), 1):.3f}")
    assert not worse, f"read worse than raw RapidOCR: {worse}"
    assert mean >= MEAN_HAN_F1
