"""OCR with real tesseract on pages rendered from real laws at 300 dpi."""

from __future__ import annotations

import pytest
from PIL import Image

from indexer.ocr import (
    LOW_CONFIDENCE,
    Ocr,
    clean,
    data_from_tsv,
    estimate_skew,
    is_low_confidence,
    lines_from_data,
    remove_red,
    text_from_data,
)
from tests import inputs

ARCHIVES_LAW = inputs.law_excerpt(title="中华人民共和国档案法", chars=300)


@pytest.fixture(scope="module")
def ocr(tmp_path_factory) -> Ocr:
    with Ocr(tmp_path_factory.mktemp("ocr-cache"), workers=2) as service:
        yield service


def test_red_seal_ink_is_removed_but_black_text_under_it_stays():
    page = inputs.render_page("档案工作", font_pt=20, chars_per_line=4, seal=True)
    cleaned = remove_red(page)
    reds = [px for px in cleaned.get_flattened_data() if px[0] - max(px[1], px[2]) > 60]
    assert not reds
    dark_before = sum(1 for px in page.convert("L").get_flattened_data() if px < 80)
    dark_after = sum(1 for px in cleaned.convert("L").get_flattened_data() if px < 80)
    assert dark_after >= 0.9 * dark_before  # the text (and seal/text overlaps) survive


@pytest.mark.parametrize("angle", [-2.0, 1.5, 3.0])
def test_skew_is_estimated_within_a_quarter_degree(angle):
    page = inputs.render_page(ARCHIVES_LAW, skew=angle)
    assert abs(estimate_skew(page.convert("L")) + angle) <= 0.25


@pytest.mark.slow
def test_clean_300dpi_page_is_read_at_97_percent_or_better(ocr):
    page = ocr.ocr_images([inputs.render_page(ARCHIVES_LAW)])[0]
    accuracy = inputs.char_accuracy(ARCHIVES_LAW, page.text)
    print(f"clean page accuracy {accuracy:.3f}, confidence {page.confidence}")
    assert accuracy >= 0.97
    assert page.ocr and page.confidence > LOW_CONFIDENCE and not is_low_confidence(page)


@pytest.mark.slow
def test_scan_with_red_seal_letterhead_skew_and_noise_is_read_at_97_percent(ocr):
    scan = inputs.render_page(ARCHIVES_LAW, seal=True, letterhead="佳木斯市人民政府文件",
                              skew=1.5, noise=0.002)
    result = ocr.ocr_image(scan)
    accuracy = inputs.char_accuracy(ARCHIVES_LAW, result.text)
    print(f"sealed, skewed page accuracy {accuracy:.3f}, deskew {result.angle}°")
    assert accuracy >= 0.97
    assert abs(result.angle + 1.5) <= 0.25
    assert "佳木斯市人民政府文件" not in result.text  # red letterhead removed before OCR


@pytest.mark.slow
def test_traditional_script_page_switches_to_chi_tra(ocr):
    text = inputs.to_traditional(inputs.law_excerpt(5, 200))
    result = ocr.ocr_image(inputs.render_page(text, traditional=True))
    assert result.languages.startswith("chi_tra")
    assert inputs.char_accuracy(text, result.text) >= 0.95


@pytest.mark.slow
def test_simplified_page_stays_with_chi_sim(ocr):
    result = ocr.ocr_image(inputs.render_page(inputs.law_excerpt(5, 200)))
    assert result.languages.startswith("chi_sim")


@pytest.mark.slow
def test_vertical_page_is_read_top_to_bottom_right_to_left(ocr):
    if "chi_sim_vert" not in ocr.installed:
        pytest.skip("tesseract-ocr-chi-sim-vert not installed")
    text = inputs.law_excerpt(7, 150)
    page = inputs.render_page(text, vertical=True, chars_per_line=16)
    assert clean(page)[2]  # detected as vertical
    result = ocr.ocr_image(page)
    assert result.psm == 5 and "chi_sim_vert" in result.languages
    assert inputs.char_accuracy(text, result.text) >= 0.93


@pytest.mark.slow
def test_same_page_is_never_ocrd_twice_even_by_a_new_service(tmp_path):
    page = inputs.render_page(inputs.law_excerpt(30, 80))
    first = Ocr(tmp_path, workers=2)
    a = first.ocr_images([page])[0]
    second = Ocr(tmp_path, workers=2)
    b = second.ocr_images([page.copy()])[0]
    assert (first.misses, second.misses, second.hits) == (1, 0, 1)
    assert (a.text, a.confidence) == (b.text, b.confidence)


@pytest.mark.slow
def test_pages_come_back_in_order_with_their_numbers(ocr):
    texts = [f"第{n}页\n" + inputs.law_excerpt(40 + n, 40) for n in range(1, 5)]
    pages = ocr.ocr_images((inputs.render_page(t) for t in texts), numbers=[3, 4, 7, 9])
    assert [p.number for p in pages] == [3, 4, 7, 9]
    for page, text in zip(pages, texts, strict=True):
        assert inputs.char_accuracy(text, page.text) >= 0.9


def test_blank_page_has_no_text_and_counts_as_low_confidence(ocr):
    page = ocr.ocr_images([Image.new("RGB", (1200, 800), "white")])[0]
    assert page.text == "" and page.confidence is None and is_low_confidence(page)


def test_page_over_the_decompression_bomb_limit_is_refused_with_its_number(ocr, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    from indexer.extract import ExtractionError
    with pytest.raises(ExtractionError) as e:
        ocr.ocr_images([Image.new("RGB", (100, 100), "white")], numbers=[5], source="big.tif")
    assert "big.tif" in e.value.reason and "page 5" in e.value.reason


def test_unknown_language_is_named_when_the_service_starts(tmp_path):
    with pytest.raises(RuntimeError, match="klingon"):
        Ocr(tmp_path, "chi_sim+klingon")


@pytest.mark.slow
def test_each_worker_loads_the_models_once(tmp_path):
    texts = [inputs.law_excerpt(50 + n, 60) for n in range(4)]
    with Ocr(tmp_path, workers=2) as service:
        service.ocr_images(inputs.render_page(t) for t in texts)
        assert len(service._idle["chi_sim+eng"]) <= 2  # one engine per worker, not per page


def test_tesseract_tsv_becomes_columns_with_fractional_confidence():
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\t"
           "height\tconf\ttext\n"
           "1\t1\t0\t0\t0\t0\t0\t0\t800\t600\t-1\t\n"
           "5\t1\t1\t1\t1\t1\t208\t223\t83\t54\t96.080833\t中\n"
           "5\t1\t1\t1\t1\t2\t322\t218\t70\t81\t93.272736\t华人\n")
    data = data_from_tsv(tsv)
    assert data["level"] == [1, 5, 5] and data["text"] == ["", "中", "华人"]
    assert text_from_data(data) == ("中华人", 94.7)  # not 94.5, the mean of truncated 96, 93


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
    assert text_from_data(data) == ("第一条\nPDF file格式", 85.0)
    assert lines_from_data(data)[1].box == (0, 80, 290, 120)


def test_script_check_runs_on_low_confidence_or_many_unsure_words():
    sure = [*[90.0] * 95, *[40.0] * 5]
    unsure = [*[95.0] * 90, *[40.0] * 10]
    line = lines_from_data(_tsv(*((1, "字", c, (0, 0, 10, 10)) for c in sure)))
    assert not Ocr._script_in_doubt(line, 87.5)
    assert Ocr._script_in_doubt(line, 84.0)
    line = lines_from_data(_tsv(*((1, "字", c, (0, 0, 10, 10)) for c in unsure)))
    assert Ocr._script_in_doubt(line, 89.5)


@pytest.mark.slow
def test_cjk_line_read_as_latin_is_read_again_without_eng(ocr):
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
    again = ocr._reread_latin_lines(binary, lines, "chi_sim", 6)
    assert again[0] is lines[0] and again[2] is lines[2]
    assert inputs.char_accuracy(line, again[1].text) >= 0.9
