"""Bounded work: each bomb is built here, indexed or requested in a child process whose
time and peak memory are measured, and ends `failed` (or 404) with the limit named. The
bounds asserted are generous (a shared, busy machine); before the limits the same files
took minutes and gigabytes (issue #15: 4.5 min and 3.8 GB, 2.3 GB, 18 s and 4 GB)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from indexer import limits
from indexer.cli import main
from indexer.extract import ExtractionError
from indexer.extract.docx import DocxExtractor
from indexer.extract.html import HtmlExtractor
from indexer.extract.image import ImageExtractor
from tests import inputs
from tests.test_pipeline import rows

REPO = Path(__file__).resolve().parent.parent
PEAK_MB = 1200  # the child's peak RSS (python, jieba, OpenCC, tantivy and the file) stays under this
SECONDS = 90


def _pdf(path: Path, content: bytes, media_box: tuple[int, int] = (595, 842)) -> Path:
    """A one-page PDF around this (deflated) content stream, with a Helvetica font."""
    z = zlib.compress(content, 9)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>" % media_box,
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(z) + z + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _zip_with_huge_part(path: Path, small: dict[str, bytes], big: str, unit: bytes, repeats: int) -> Path:
    """A zip whose member `big` really inflates to len(unit) × repeats bytes, written in a
    second: one fully flushed deflate block of `unit` (self-contained, byte-aligned) repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * repeats + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = 0
    for _ in range(repeats):
        crc = zlib.crc32(unit, crc)
    members = [(n, zlib.crc32(b), len(b), zlib.compressobj(9, zlib.DEFLATED, -15), b) for n, b in small.items()]
    entries = [(n, crc_, size, co.compress(b) + co.flush()) for n, crc_, size, co, b in members]
    entries.append((big, crc, len(unit) * repeats, data))
    out, central = bytearray(), bytearray()
    for name, crc_, size, packed in entries:
        raw = name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc_, len(packed), size, len(raw), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc_, len(packed), size,
                               len(raw), 0, 0, 0, 0, 0, len(out)) + raw
        out += header + raw + packed
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def _docx_bomb(path: Path) -> Path:
    types = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
             b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
             b'</Types>')
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    return _zip_with_huge_part(path, {"[Content_Types].xml": types, "_rels/.rels": rels}, "word/document.xml",
                               b" " * (1 << 20), 1024)


def _measure(code: str, env: dict[str, str] | None = None) -> dict:
    """Run `code` in a child python; it prints one JSON object, to which the child's wall
    time and peak RSS (MB) are added."""
    wrapper = textwrap.dedent("""
        import json, sys, time
        started = time.monotonic()
        result = {}
    """) + textwrap.dedent(code) + textwrap.dedent("""
        result["seconds"] = time.monotonic() - started
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so the child would
        # report the test runner's own peak (1.2 GB at the end of the suite).
        hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        result["peak_mb"] = int(hwm.split()[1]) / 1024
        print(json.dumps(result, ensure_ascii=False))
    """)
    import os

    done = subprocess.run([sys.executable, "-c", wrapper], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


INDEX_ONE = """
    from pathlib import Path
    from indexer.cli import main
    from indexer.ledger import Ledger
    folder, data = Path(sys.argv[1] if len(sys.argv) > 1 else {folder!r}), Path({data!r})
    assert main(["index", str(folder), "--data", str(data), "--quiet"]) == 0
    ledger = Ledger(data / "ledger.sqlite")
    result["rows"] = {{Path(e.path).name: [e.status, e.reason] for e in ledger.entries()}}
"""


def _index_in_child(folder: Path, data: Path) -> dict:
    return _measure(INDEX_ONE.format(folder=str(folder), data=str(data)))


def test_pdf_whose_content_inflates_to_millions_of_operators_fails_fast(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    bomb = _pdf(folder / "bomb.pdf", b"10 10 m 20 20 l S\n" * 2_000_000)  # 6 million operators
    assert bomb.stat().st_size < 100_000
    got = _index_in_child(folder, tmp_path / "data")
    status, reason = got["rows"]["bomb.pdf"]
    print(f"\nPDF bomb ({bomb.stat().st_size // 1024} KB): {got['seconds']:.1f} s, peak {got['peak_mb']:.0f} MB")
    assert status == "failed" and "operators" in reason and "limit" in reason
    assert got["seconds"] < SECONDS and got["peak_mb"] < PEAK_MB


def test_docx_with_a_1_gib_part_fails_without_inflating_it(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    bomb = _docx_bomb(folder / "bomb.docx")
    assert bomb.stat().st_size < 1_200_000
    with zipfile.ZipFile(bomb) as z:  # it is a real 1 GiB part, not a size that lies
        assert z.getinfo("word/document.xml").file_size == 1 << 30
        with z.open("word/document.xml") as part:
            assert part.read(1 << 20).startswith(b" ")
    got = _index_in_child(folder, tmp_path / "data")
    status, reason = got["rows"]["bomb.docx"]
    print(f"\ndocx bomb ({bomb.stat().st_size // 1024} KB): {got['seconds']:.1f} s, peak {got['peak_mb']:.0f} MB")
    assert status == "failed" and "decompressed-part limit" in reason
    assert got["seconds"] < SECONDS and got["peak_mb"] < PEAK_MB


def test_zip_part_limit_also_holds_for_ofd(tmp_path):
    bomb = _zip_with_huge_part(tmp_path / "bomb.ofd", {"OFD.xml": b"<ofd:OFD/>"}, "Doc_0/Document.xml",
                               b" " * (1 << 20), 100)
    from indexer.extract.ofd import OfdExtractor

    with pytest.raises(ExtractionError, match="decompressed-part limit"):
        OfdExtractor().extract(bomb)


def test_page_image_of_a_14400_pt_page_is_bounded_and_rendered_once(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    content = b"BT /F1 400 Tf 720 13000 Td (Huge drawing sheet 14400 pt) Tj ET\n" \
              b"BT /F1 400 Tf 720 12000 Td (Second line of text here) Tj ET\n"
    _pdf(folder / "sheet.pdf", content, (14400, 14400))
    data = tmp_path / "data"
    assert main(["index", str(folder), "--data", str(data), "--quiet"]) == 0
    row = rows(data)["sheet.pdf"]
    assert row.status == "indexed", row.reason
    got = _measure(f"""
        import logging, threading
        from fastapi.testclient import TestClient
        from api.app import create_app
        from settings import Settings
        logging.basicConfig(level=logging.INFO)
        renders = []
        class Count(logging.Handler):
            def emit(self, record):
                if record.getMessage().startswith("rendered page"):
                    renders.append(record.getMessage())
        logging.getLogger("chayue.api").addHandler(Count())
        with TestClient(create_app(Settings(data={str(data)!r}, staff_key="k"))) as client:
            answers = []
            def fetch():
                r = client.get("/api/documents/{row.doc_id}/pages/1.png", headers={{"X-Chayue-Key": "k"}})
                answers.append((r.status_code, len(r.content), r.content[:4] == b"\\x89PNG"))
            threads = [threading.Thread(target=fetch) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        from PIL import Image
        import io
        result["answers"] = answers
        result["renders"] = len(renders)
    """)
    print(f"\n14400-pt page image, 4 concurrent requests: {got['seconds']:.1f} s, peak {got['peak_mb']:.0f} MB, "
          f"{got['renders']} render(s)")
    assert [a[0] for a in got["answers"]] == [200] * 4 and all(a[2] for a in got["answers"])
    assert got["renders"] == 1
    assert got["seconds"] < SECONDS and got["peak_mb"] < PEAK_MB


def test_the_pixel_limit_is_one_number_for_indexer_and_api():
    from PIL import Image

    from api.routes import documents

    assert Image.MAX_IMAGE_PIXELS == limits.MAX_PIXELS
    assert documents.limits is limits
    # An A0 sheet at the indexer's 300 dpi would be 139 megapixels: it is rendered smaller.
    scale = limits.fit_scale(2384, 3370, 300)
    assert 2384 * 3370 * scale * scale <= limits.MAX_PIXELS * 1.0001 and scale < 300 / 72


def test_image_over_the_pixel_limit_fails_naming_it(tmp_path):
    from tests.test_bad_inputs import png_claiming

    path = tmp_path / "big.png"
    path.write_bytes(png_claiming(8000, 8000))  # 64 megapixels: over 50, under Pillow's old 89
    with pytest.raises(ExtractionError, match="pixel limit"):
        ImageExtractor().extract(path, None)


def test_html_over_the_markup_limit_fails_naming_it(tmp_path):
    path = tmp_path / "huge.html"
    with path.open("wb") as f:
        f.write(b"<html><body><p>")
        f.write(b"x" * (limits.MAX_MARKUP_BYTES + 1))
    with pytest.raises(ExtractionError, match="markup limit"):
        HtmlExtractor().extract(path, None)


def test_a_file_that_takes_too_long_fails_naming_the_time_limit(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    inputs.text_pdf(folder / "long.pdf", [inputs.law_excerpt(i, 400) for i in range(40)])
    (folder / "short.txt").write_text(inputs.law_excerpt(1, 200), encoding="utf-8")
    monkeypatch.setenv("CHAYUE_FILE_SECONDS", "0.05")
    assert main(["index", str(folder), "--data", str(tmp_path / "data"), "--quiet"]) == 0
    got = rows(tmp_path / "data")
    assert got["long.pdf"].status == "failed" and "time limit of 0.05 s" in got["long.pdf"].reason
    assert got["short.txt"].status == "indexed"


def _docx_of(path: Path, paragraphs: int) -> Path:
    """A real .docx written part by part, so building it leaves no garbage in this process
    that the reading could reuse (the memory bound is measured as growth of RSS)."""
    template = inputs.docx_file(path.with_suffix(".tmp.docx"), "大文件", ["x"])
    text = inputs.law_excerpt(3, 300).replace("\n", "").encode()
    body = b"".join(b"<w:p><w:r><w:t>%d %s</w:t></w:r></w:p>" % (i, text) for i in range(paragraphs))
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                head, _, rest = data.partition(b"<w:body>")
                data = head + b"<w:body>" + body + rest[rest.index(b"<w:sectPr"):]
            dst.writestr(info, data)
    template.unlink()
    return path


def test_a_file_that_needs_too_much_memory_fails_naming_the_memory_limit(tmp_path):
    path = _docx_of(tmp_path / "big.docx", 20_000)  # ~20 MB of XML: python-docx's tree is far more
    with limits.budget(path.name, seconds=600, memory_mb=20):
        with pytest.raises(ExtractionError, match="memory limit of 20 MB"):
            DocxExtractor().extract(path)
    with limits.budget(path.name, seconds=600, memory_mb=2048):
        assert len(DocxExtractor().extract(path).pages[0].text) > 1_000_000
