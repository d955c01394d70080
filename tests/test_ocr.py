"""OCR through the service with both real engines (PP-OCR by RapidOCR, the default, and
tesseract) on pages rendered from real laws at 300 dpi. Accuracy on a wider set of faces,
degradations and real scans is measured in tests/test_ocr_eval.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.model import LOW_CONFIDENCE
from indexer.ocr import Ocr, is_low_confidence
from indexer.ocr.clean import clean, estimate_skew, remove_red
from indexer.ocr.tesseract import TesseractEngine, data_from_tsv, lines_from_data, mean_confidence
from tests import inputs

REPO = Path(__file__).resolve().parent.parent
ARCHIVES_LAW = inputs.law_excerpt(title="中华人民共和国档案法", chars=300)


@pytest.fixture(scope="module")
def ocr(tmp_path_factory) -> Ocr:
    with Ocr(tmp_path_factory.mktemp("ocr-cache"), workers=2) as service:
        yield service


@pytest.fixture(scope="module")
def tess(tmp_path_factory) -> Ocr:
    with Ocr(tmp_path_factory.mktemp("ocr-cache"), workers=1, engine="tesseract") as service:
        yield service


def test_red_seal_ink_is_removed_but_black_text_under_it_stays():
    page = inputs.render_page("档案工作", font_pt=20, chars_per_line=4, seal=True)
    cleaned = remove_red(page)
    rgb = np.asarray(cleaned.convert("RGB")).astype(int)
    assert not (rgb[..., 0] - rgb[..., 1:].max(axis=-1) > 60).any()
    dark_before = int((np.asarray(page.convert("L")) < 80).sum())
    dark_after = int((np.asarray(cleaned.convert("L")) < 80).sum())
    assert dark_after >= 0.9 * dark_before  # the text (and seal/text overlaps) survive


@pytest.mark.parametrize("angle", [-2.0, 1.5, 3.0])
def test_skew_is_estimated_within_a_quarter_degree(angle):
    page = inputs.render_page(ARCHIVES_LAW, skew=angle)
    assert abs(estimate_skew(page.convert("L")) + angle) <= 0.25


def test_default_engine_is_pp_ocr_and_reads_a_clean_page(ocr):
    page = ocr.ocr_images([inputs.render_page(ARCHIVES_LAW)])[0]
    accuracy = inputs.char_accuracy(ARCHIVES_LAW, page.text)
    assert ocr.engine_name == "rapid" and "PP-OCRv6" in ocr.engine_version
    assert accuracy >= 0.99, page.text
    assert page.ocr and page.confidence > LOW_CONFIDENCE and not is_low_confidence(page)


def test_sealed_skewed_speckled_scan_is_read_with_boxes_on_the_page_as_given(ocr):
    scan = inputs.render_page(ARCHIVES_LAW, seal=True, letterhead="佳木斯市人民政府文件",
                              skew=1.5, noise=0.002)
    result = ocr.ocr_image(scan)
    body = result.text.replace("佳木斯市人民政府文件\n", "")
    assert inputs.char_accuracy(ARCHIVES_LAW, body) >= 0.98, result.text
    assert result.size == scan.size and result.lines
    for left, top, right, bottom, start, end, _ in result.lines:
        assert 0 <= left < right <= scan.width and 0 <= top < bottom <= scan.height
        assert 0 <= start < end <= len(result.text)
    # The title's box is where the title was drawn: near the top, one line high.
    (title,) = [x for x in result.lines if "档案法" in result.text[int(x[4]):int(x[5])]]
    assert title[1] < scan.height / 4 and 40 < title[3] - title[1] < 120


def test_large_scan_is_read_shrunk_with_its_boxes_on_the_page_as_given(ocr):
    # A page well over 2000 px is shrunk before the engine reads it (rapid.SHRINK_BELOW):
    # its boxes must still be where the lines are on the page the reader sees.
    text = inputs.law_excerpt(9, 160)
    scan = inputs.render_page(text)
    large = scan.resize((scan.width * 3 // 2, scan.height * 3 // 2))
    assert max(large.size) > 2000 / 0.7
    small_result, large_result = ocr.ocr_image(scan), ocr.ocr_image(large)
    assert inputs.char_accuracy(text, large_result.text) >= 0.98, large_result.text
    assert large_result.size == large.size
    assert len(large_result.lines) == len(small_result.lines)
    # Read at two sizes, the detector's boxes differ by a few px; boxes left at the shrunk
    # size would be 0.63 of where the lines are, hundreds of px off.
    for small_box, large_box in zip(small_result.lines, large_result.lines):
        height = large_box[3] - large_box[1]
        for a, b in zip(small_box[:4], large_box[:4]):
            assert abs(a * 1.5 - b) <= height / 3, (small_box, large_box)


def test_newspaper_print_of_8_px_is_enlarged_for_the_detector_and_read(ocr):
    from tests.ocr_eval import pages as P

    text = inputs.law_excerpt(130, 900)
    page = P.newspaper(text, px=8, columns=4, chars_per_line=14)
    result = ocr.ocr_image(page)
    assert 7 <= result.detection["glyph_px"] <= 10 and result.detection["det_scale"] > 1.2
    assert P.han_f1(text, result.text) >= 0.85, result.text  # the 8 px render of the evaluation set: 0.67 before


def test_small_print_under_large_type_is_read_again_and_the_record_says_where(ocr):
    # Detected at the scale of the page's 22 pt type, the 8 px footnote under it vanishes;
    # the check of what was read against the ink on the page finds it and reads it again.
    from PIL import ImageDraw

    from tests.ocr_eval import pages as P

    body, note = inputs.law_excerpt(3, 120), inputs.law_excerpt(4, 300)
    top = P.render(body, "Noto Serif CJK SC", 22, 200, chars_per_line=14)
    lines = inputs.wrap(note, 60)
    page = Image.new("RGB", (top.width, top.height + 12 * len(lines) + 60), "white")
    page.paste(top, (0, 0))
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((80, top.height + 20 + i * 12), line, font=P.font("Noto Serif CJK SC", 8), fill=(25, 25, 25))
    result = ocr.ocr_image(P.jpeg(page, 50))
    found = result.detection
    assert found["ink_read"] < found["ink_read_after"]
    assert found["reread"] and all(y0 >= top.height - 200 for y0, *_ in found["reread"]), found
    assert P.han_f1(body + note, result.text) >= 0.95, result.text


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_turned_page_is_read_upright_in_order(ocr, rotation):
    text = inputs.law_excerpt(7, 120)
    page = inputs.render_page(text).rotate(rotation, expand=True)
    result = ocr.ocr_image(page)
    # Turned clockwise, a page reads like 竖排 (top to bottom, right to left): it may be
    # taken for either, the order is the same.
    assert result.rotation == rotation or (rotation, result.rotation) == (270, 0)
    assert inputs.char_accuracy(text, result.text) >= 0.98, result.text


def test_vertical_page_is_read_top_to_bottom_right_to_left(ocr):
    text = inputs.law_excerpt(7, 150)
    result = ocr.ocr_image(inputs.render_page(text, vertical=True, chars_per_line=16))
    assert inputs.char_accuracy(text, result.text) >= 0.97, result.text


def test_traditional_page_is_read_in_its_own_script(ocr):
    text = inputs.to_traditional(inputs.law_excerpt(5, 200))
    result = ocr.ocr_image(inputs.render_page(text, traditional=True))
    assert inputs.char_accuracy(text, result.text) >= 0.98, result.text


def test_same_page_is_never_ocrd_twice_even_by_a_new_service(tmp_path):
    page = inputs.render_page(inputs.law_excerpt(30, 80))
    with Ocr(tmp_path, workers=1) as first:
        a = first.ocr_images([page])[0]
    with Ocr(tmp_path, workers=1) as second:
        b = second.ocr_images([page.copy()])[0]
    assert (first.misses, second.misses, second.hits) == (1, 0, 1)
    assert (a.text, a.confidence) == (b.text, b.confidence)


def test_engines_do_not_share_cache_entries(tmp_path):
    page = inputs.render_page(inputs.law_excerpt(30, 80))
    with Ocr(tmp_path, workers=1) as rapid, Ocr(tmp_path, workers=1, engine="tesseract") as tess:
        assert rapid.cache_key(page, "chi_sim+eng") != tess.cache_key(page, "chi_sim+eng")


def test_pages_come_back_in_order_with_their_numbers(ocr):
    texts = [f"第{n}页\n" + inputs.law_excerpt(40 + n, 40) for n in range(1, 5)]
    pages = ocr.ocr_images((inputs.render_page(t) for t in texts), numbers=[3, 4, 7, 9])
    assert [p.number for p in pages] == [3, 4, 7, 9]
    for page, text in zip(pages, texts, strict=True):
        assert inputs.char_accuracy(text, page.text) >= 0.95


def test_blank_page_has_no_text_and_counts_as_low_confidence(ocr):
    page = ocr.ocr_images([Image.new("RGB", (1200, 800), "white")])[0]
    assert page.text == "" and page.confidence is None and is_low_confidence(page)


def test_page_over_the_decompression_bomb_limit_is_refused_with_its_number(ocr, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    from indexer.extract import ExtractionError
    with pytest.raises(ExtractionError) as e:
        ocr.ocr_images([Image.new("RGB", (100, 100), "white")], numbers=[5], source="big.tif")
    assert "big.tif" in e.value.reason and "page 5" in e.value.reason


def test_unknown_engine_and_unknown_language_are_named_when_the_service_starts(tmp_path):
    with pytest.raises(ValueError, match="easyocr"):
        Ocr(tmp_path, engine="easyocr")
    with pytest.raises(RuntimeError, match="klingon"):
        Ocr(tmp_path, "chi_sim+klingon", engine="tesseract")


def test_each_worker_loads_the_models_once(tmp_path):
    texts = [inputs.law_excerpt(50 + n, 60) for n in range(4)]
    with Ocr(tmp_path, workers=2) as service:
        service.ocr_images(inputs.render_page(t) for t in texts)
        assert len(service._idle["rapid"]) <= 2  # one engine per worker, not per page


def _own_children() -> set[int]:
    return {int(pid) for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()}


def _timed_starts(monkeypatch, delay_s: float = 0.0, fail_in_background: bool = False) -> list:
    """Wrap the service's engine start: each start's (begin, end) is recorded; a start in
    the background thread waits `delay_s` first, or fails."""
    import threading

    from indexer.ocr import service
    from indexer.ocr.engine import OcrFailed
    real, starts = service._start, []

    def start(*args):
        begin = time.monotonic()
        if threading.current_thread().name == "ocr-start":
            if fail_in_background:
                raise OcrFailed("no engine for this test")
            time.sleep(delay_s)
        engine = real(*args)
        starts.append((begin, time.monotonic()))
        return engine

    monkeypatch.setattr(service, "_start", start)
    return starts


def test_every_workers_engine_loads_at_once_when_the_service_starts(tmp_path, monkeypatch):
    """One after the other, the second worker's engine loaded only when the first page came,
    and a core stood idle while the first loaded (1.2 s for PP-OCR)."""
    starts, before = _timed_starts(monkeypatch, delay_s=0.3), _own_children()
    with Ocr(tmp_path, workers=2, engine="tesseract") as service:
        page = service.ocr_images([inputs.render_page(inputs.law_excerpt(50, 40))])[0]
        assert page.text
        # On a loaded machine the page can be read before the background start ends (seen
        # with two test runs at once): a start is recorded when it ends, so wait for it.
        deadline = time.monotonic() + 60
        while len(starts) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(starts) == 2  # the page took a loaded engine; none was started for it
        (a0, a1), (b0, b1) = sorted(starts)
        assert b0 < a1, "the engines were loaded one after the other"
    assert _own_children() <= before


def test_an_engine_that_fails_to_start_in_the_background_stalls_no_page(tmp_path, monkeypatch):
    import threading
    _timed_starts(monkeypatch, fail_in_background=True)
    texts = [inputs.law_excerpt(60 + n, 30) for n in range(3)]
    with Ocr(tmp_path, workers=2, engine="tesseract") as service:
        pages: list = []
        reader = threading.Thread(target=lambda: pages.extend(
            service.ocr_images(inputs.render_page(t) for t in texts)), daemon=True)
        reader.start()
        reader.join(timeout=120)
        assert not reader.is_alive(), "pages waited for an engine that never came"
        assert [inputs.char_accuracy(t, p.text) >= 0.9 for t, p in zip(texts, pages)] == [True] * 3


def test_closing_while_an_engine_still_loads_leaves_no_engine_running(tmp_path, monkeypatch):
    starts, before = _timed_starts(monkeypatch, delay_s=1.0), _own_children()
    service = Ocr(tmp_path, workers=3, engine="tesseract")
    service.close()  # the two background engines are still loading
    assert len(starts) == 3
    assert _own_children() <= before, "an engine started in the background outlived close()"


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) for a network namespace")
def test_nothing_is_downloaded_every_socket_refused(tmp_path):
    """The engine and its models load and read a page in a process without a network (a
    namespace of its own: every connection fails), with an empty home and cache, so
    nothing can come from a download or a model cache outside the installed wheel."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -rn not permitted here")
    page = tmp_path / "page.png"
    inputs.render_page("档案工作实行统一领导、分级管理的原则", chars_per_line=20).save(page)
    program = ("import sys, socket; from pathlib import Path; from PIL import Image; "
               "from indexer.ocr import Ocr\n"
               "s = socket.socket(); s.settimeout(3)\n"
               "assert s.connect_ex(('1.1.1.1', 443)) != 0, 'network reachable'\n"
               "with Ocr(Path(sys.argv[1]) / 'cache', workers=1) as o:\n"
               "    print(o.ocr_image(Image.open(sys.argv[2]).convert('RGB')).text)\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(REPO)}
    out = subprocess.run(["unshare", "-rn", sys.executable, "-c", program, str(tmp_path), str(page)],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "档案工作实行统一领导" in out.stdout
    assert not (tmp_path / "home").exists() and not (tmp_path / "xdg").exists()


# ---- tesseract, selectable ------------------------------------------------------------------

@pytest.mark.slow
def test_tesseract_reads_a_sealed_scan_from_the_cleaned_page(tess):
    scan = inputs.render_page(ARCHIVES_LAW, seal=True, letterhead="佳木斯市人民政府文件",
                              skew=1.5, noise=0.002)
    result = tess.ocr_image(scan)
    assert result.engine == "tesseract"
    assert inputs.char_accuracy(ARCHIVES_LAW, result.text) >= 0.97
    assert abs(result.angle + 1.5) <= 0.25
    assert "佳木斯市人民政府文件" not in result.text  # red letterhead removed before OCR


@pytest.mark.slow
def test_tesseract_switches_a_traditional_page_to_chi_tra_and_keeps_a_simplified_one(tess):
    text = inputs.to_traditional(inputs.law_excerpt(5, 200))
    result = tess.ocr_image(inputs.render_page(text, traditional=True))
    assert result.script.startswith("chi_tra")
    assert inputs.char_accuracy(text, result.text) >= 0.95
    assert tess.ocr_image(inputs.render_page(inputs.law_excerpt(5, 200))).script.startswith("chi_sim")


def test_tesseract_tsv_becomes_columns_with_fractional_confidence():
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\t"
           "height\tconf\ttext\n"
           "1\t1\t0\t0\t0\t0\t0\t0\t800\t600\t-1\t\n"
           "5\t1\t1\t1\t1\t1\t208\t223\t83\t54\t96.080833\t中\n"
           "5\t1\t1\t1\t1\t2\t322\t218\t70\t81\t93.272736\t华人\n")
    data = data_from_tsv(tsv)
    assert data["level"] == [1, 5, 5] and data["text"] == ["", "中", "华人"]
    lines = lines_from_data(data)
    assert [x.text for x in lines] == ["中华人"]
    assert mean_confidence(lines) == 94.7  # not 94.5, the mean of truncated 96, 93


def _tsv(*words: tuple[int, str, float, tuple[int, int, int, int]]) -> dict:
    """data_from_tsv's columns for words given as (line, text, conf, (left, top, w, h))."""
    cols = ("block_num", "par_num", "line_num", "text", "conf", "left", "top", "width",
            "height")
    data: dict[str, list] = {c: [] for c in cols}
    for line, text, conf, (left, top, w, h) in words:
        for c, v in zip(cols, (1, 1, line, text, conf, left, top, w, h), strict=True):
            data[c].append(v)
    return data


def test_tesseract_spaces_between_cjk_glyphs_are_dropped_between_latin_words_kept():
    data = _tsv((1, "第", 90, (0, 0, 50, 50)), (1, "一", 80, (60, 0, 50, 50)),
                (1, "条", 70, (120, 0, 50, 50)), (2, "PDF", 90, (0, 80, 90, 40)),
                (2, "file", 90, (100, 80, 90, 40)), (2, "格式", 90, (200, 80, 90, 40)),
                (2, "", -1, (0, 0, 0, 0)))
    lines = lines_from_data(data)
    assert [x.text for x in lines] == ["第一条", "PDF file格式"]
    assert lines[1].box == (0, 80, 290, 120)


def test_tesseract_script_check_runs_on_low_confidence_or_many_unsure_words():
    sure = [*[90.0] * 95, *[40.0] * 5]
    unsure = [*[95.0] * 90, *[40.0] * 10]
    line = lines_from_data(_tsv(*((1, "字", c, (0, 0, 10, 10)) for c in sure)))
    assert not TesseractEngine.script_in_doubt(line, 87.5)
    assert TesseractEngine.script_in_doubt(line, 84.0)
    line = lines_from_data(_tsv(*((1, "字", c, (0, 0, 10, 10)) for c in unsure)))
    assert TesseractEngine.script_in_doubt(line, 89.5)


@pytest.mark.slow
def test_tesseract_cjk_line_read_as_latin_is_read_again_without_eng():
    title = "中华人民共和国档案法"
    line = "第二条本法所称档案是指过去和现在的机关"
    after = "第三条档案工作实行统一领导分级管理的原则"
    page = inputs.render_page(f"{title}\n{line}\n{after}", chars_per_line=len(line))
    binary, _, _ = clean(page)
    # What chi_sim+eng sometimes makes of a CJK line (seen on a real page), between lines
    # read right: only the Latin line is read again.
    lines = lines_from_data(_tsv(
        *((1, ch, 92, (150 + 58 * i, 150, 58, 60)) for i, ch in enumerate(title)),
        *((2, w, 41, (140, 238, 1180, 70)) for w in ("LF,", "RPANEN", "AAG,", "MEMRAM")),
        *((3, ch, 92, (150 + 58 * i, 334, 58, 60)) for i, ch in enumerate(after))))
    engine = TesseractEngine("chi_sim+eng")
    try:
        again = engine.reread_latin_lines(binary, lines, "chi_sim", 6)
    finally:
        engine.close()
    assert again[0] is lines[0] and again[2] is lines[2]
    assert inputs.char_accuracy(line, again[1].text) >= 0.9
