"""An engine crashing or hanging on a page: its process dies or is ended, that page fails
with a reason naming what happened, the next page is read by a new engine, and the indexing
run goes on. The crashes are real: the engine's process is sent the signal. The service is
the same for every engine; most tests drive tesseract, whose pages are quick to read, and
one the default PP-OCR engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from indexer.cli import main
from indexer.extract import ExtractionError
from indexer.ledger import Ledger
from indexer.ocr import Ocr, OcrFailed
from indexer.ocr import tesseract as ocr_module
from indexer.ocr.tesseract import TesseractProcess as _Engine
from tests import inputs

LANGS = "chi_sim+eng"
CRASH_CHARS_PER_LINE = 23  # a page width (1634 px) no other page in these tests has


def _gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _idle_engine(service: Ocr) -> _Engine:
    """The one tesseract process of the one idle engine (for its language set)."""
    (engine,) = service._idle[LANGS]
    return engine.processes[LANGS]


def _tess(cache: Path, **kw) -> Ocr:
    return Ocr(cache, LANGS, workers=1, engine="tesseract", **kw)


def test_engines_run_one_openmp_thread_and_leave_our_environment_alone(tmp_path, monkeypatch):
    # Several engines at once each with tesseract's OpenMP threads fight over the cores.
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    with _tess(tmp_path / "cache") as service:
        environ = Path(f"/proc/{_idle_engine(service).pid}/environ").read_bytes().split(b"\0")
        assert b"OMP_THREAD_LIMIT=1" in environ
    assert "OMP_THREAD_LIMIT" not in os.environ


def test_engine_that_died_while_idle_is_replaced_before_the_next_page(tmp_path):
    with _tess(tmp_path) as service:
        dead = _idle_engine(service)
        os.kill(dead.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not _gone(dead.pid):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        text = inputs.law_excerpt(21, 60)
        page = service.ocr_images([inputs.render_page(text)], numbers=[3], source="卷宗.tif")[0]
        assert inputs.char_accuracy(text, page.text) >= 0.9
        assert dead.process.returncode == -signal.SIGKILL  # reaped, not left a zombie
        assert _idle_engine(service).pid != dead.pid


def test_engine_crashing_while_it_reads_fails_the_page_with_the_signal(tmp_path):
    text = inputs.law_excerpt(22, 300)  # a full page: seconds of tesseract, time to strike
    page = inputs.render_page(text)
    with _tess(tmp_path) as service, ThreadPoolExecutor(1) as thread:
        engine = _idle_engine(service)
        before = _cpu_ticks(engine.pid)
        reading = thread.submit(service.ocr_image, page)
        deadline = time.monotonic() + 60
        while _cpu_ticks(engine.pid) < before + 5:  # 50 ms into reading the page
            assert time.monotonic() < deadline and not reading.done()
            time.sleep(0.01)
        os.kill(engine.pid, signal.SIGSEGV)
        with pytest.raises(OcrFailed, match=r"tesseract crashed on this page \(signal SIGSEGV\)"):
            reading.result()
        assert not engine.alive
        assert all(engine is not e.processes.get(LANGS) for e in service._idle.get(LANGS, []))

        again = service.ocr_image(page)
        assert inputs.char_accuracy(text, again.text) >= 0.95
        assert _idle_engine(service).pid != engine.pid


def test_pp_ocr_engine_killed_while_it_reads_fails_that_page_only(tmp_path):
    text = inputs.law_excerpt(22, 300)
    page = inputs.render_page(text)
    with Ocr(tmp_path, workers=1) as service, ThreadPoolExecutor(1) as thread:
        (engine,) = service._idle["rapid"]
        before = _cpu_ticks(engine.process.pid)
        reading = thread.submit(service.ocr_images, [page], numbers=[4], source="卷宗.pdf")
        deadline = time.monotonic() + 120
        while _cpu_ticks(engine.process.pid) < before + 5:  # 50 ms into reading the page
            assert time.monotonic() < deadline and not reading.done()
            time.sleep(0.01)
        os.kill(engine.process.pid, signal.SIGKILL)
        with pytest.raises(ExtractionError) as e:
            reading.result()
        reason = e.value.reason
        assert "卷宗.pdf" in reason and "page 4" in reason
        assert "RapidOCR crashed on this page (signal SIGKILL)" in reason
        assert not engine.alive and engine not in service._idle.get("rapid", [])

        again = service.ocr_image(page)
        assert inputs.char_accuracy(text, again.text) >= 0.98
        assert service._idle["rapid"][0] is not engine


def test_time_limit_gives_up_on_the_page_and_keeps_the_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(ocr_module, "PAGE_TIMEOUT_S", 0.001)  # tesseract's own deadline: 1 ms
    with _tess(tmp_path) as service:
        engine = _idle_engine(service)
        with pytest.raises(ExtractionError, match="time limit"):
            service.ocr_images([inputs.render_page(inputs.law_excerpt(23, 100))])
        assert _idle_engine(service) is engine and engine.alive


@pytest.mark.slow
def test_engine_that_never_answers_is_ended(tmp_path, monkeypatch):
    # Tesseract 5.3.0 spins on a blank 4000×3 strip read as one line (psm 7), its deadline
    # unchecked; the `tesseract` command does the same.
    monkeypatch.setattr(ocr_module, "PAGE_TIMEOUT_S", 1)
    monkeypatch.setattr(ocr_module, "SPARE_S", 2)
    engine = _Engine(LANGS)
    try:
        with pytest.raises(OcrFailed, match="did not answer on this page within 3 s"):
            engine.tsv(Image.new("1", (4000, 3), 1), 7)
        assert not engine.alive
    finally:
        engine.close()


def test_no_engine_process_outlives_the_service_or_its_process(tmp_path):
    service = _tess(tmp_path)
    pid = _idle_engine(service).pid
    service.close()
    assert _gone(pid)

    # A process killed outright cannot close its engines: they see EOF on their pipe and exit.
    program = ("import os, sys; from pathlib import Path; from indexer.ocr import Ocr; "
               f"o = Ocr(Path(sys.argv[1]), {LANGS!r}, workers=1, engine='tesseract'); "
               "print(o.engine_pids()[0], flush=True); "
               "os.kill(os.getpid(), 9)")
    out = subprocess.run([sys.executable, "-c", program, str(tmp_path)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    orphan = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while not _gone(orphan):
        assert time.monotonic() < deadline, "the engine outlived the process that started it"
        time.sleep(0.05)


def _crash_on_wide_pages(monkeypatch) -> None:
    """Engines die (SIGSEGV, for real) when given a page as wide as CRASH_CHARS_PER_LINE
    makes it, as tesseract does on some real scans."""
    width = inputs.render_page("档", chars_per_line=CRASH_CHARS_PER_LINE).width
    tsv = _Engine.tsv

    def crashing_tsv(self: _Engine, image: Image.Image, psm: int) -> str:
        if image.width == width:
            os.kill(self.pid, signal.SIGSEGV)
            self.process.wait()
        return tsv(self, image, psm)

    monkeypatch.setattr(_Engine, "tsv", crashing_tsv)


def test_file_whose_ocr_crashes_is_failed_with_a_reason_and_the_others_indexed(tmp_path,
                                                                                 monkeypatch):
    root = tmp_path / "drop"
    root.mkdir()
    (root / "good.txt").write_text(inputs.law_excerpt(24, 200), encoding="utf-8")
    inputs.save_tiff(root / "good.tif", [inputs.render_page(inputs.law_excerpt(25, 60))])
    crash_text = inputs.law_excerpt(26, 60)
    inputs.save_tiff(root / "crash.tif", [
        inputs.render_page(crash_text),
        inputs.render_page(crash_text, chars_per_line=CRASH_CHARS_PER_LINE)])
    inputs.save_tiff(root / "after.tif", [inputs.render_page(inputs.law_excerpt(27, 60))])
    _crash_on_wide_pages(monkeypatch)
    monkeypatch.setenv("CHAYUE_OCR_ENGINE", "tesseract")

    data = tmp_path / "data"
    assert main(["index", str(root), "--data", str(data), "--quiet"]) == 0  # in this process

    ledger = Ledger(data / "ledger.sqlite")
    rows = {Path(e.path).name: e for e in ledger.entries()}
    ledger.close()
    status = {name: e.status for name, e in rows.items()}
    assert status == {"good.txt": "indexed", "good.tif": "indexed", "crash.tif": "failed",
                      "after.tif": "indexed"}
    reason = rows["crash.tif"].reason
    assert "page 2" in reason and "崩溃" in reason and "SIGSEGV" in reason, reason


@pytest.mark.slow
def test_engine_crash_in_a_reader_process_fails_only_its_file(tmp_path):
    """`chayue index --workers 2`: the engines are children of the reader processes."""
    root = tmp_path / "drop"
    root.mkdir()
    for i in range(3):
        (root / f"doc{i}.txt").write_text(inputs.law_excerpt(30 + i, 200), encoding="utf-8")
    inputs.save_tiff(root / "scan.tif",
                     [inputs.render_page(inputs.law_excerpt(33 + i, 300)) for i in range(3)])
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "indexer.cli", "index", str(root), "--data", str(data),
           "--quiet", "--workers", "2"]
    run = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1],
                           env={**os.environ, "CHAYUE_OCR_ENGINE": "tesseract"})
    try:
        engines, busy = _busy_engine_of(run.pid, timeout_s=300)
        os.kill(busy, signal.SIGSEGV)
        assert run.wait(timeout=600) == 0
    finally:
        if run.poll() is None:
            run.kill()
    ledger = Ledger(data / "ledger.sqlite")
    rows = {Path(e.path).name: e for e in ledger.entries()}
    ledger.close()
    assert {name: e.status for name, e in rows.items()} == {
        "doc0.txt": "indexed", "doc1.txt": "indexed", "doc2.txt": "indexed",
        "scan.tif": "failed"}
    assert "SIGSEGV" in rows["scan.tif"].reason and "page" in rows["scan.tif"].reason
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in engines):
        assert time.monotonic() < deadline, "engine processes outlived the run"
        time.sleep(0.05)


def _descendants(pid: int) -> list[int]:
    """Every process under `pid`; one that exits while it is walked (the parent's own
    engines are closed when the reader processes start) is passed over."""
    out = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return out
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in map(int, children):
            out += [child, *_descendants(child)]
    return out


def _busy_engine_of(pid: int, timeout_s: float) -> tuple[set[int], int]:
    """(every engine process seen under `pid`, a chi_sim+eng one reading a page: past the
    ~0.2 s of CPU that loading its models takes, short of the ~1.5 s a page takes)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in _descendants(pid):
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                ticks = _cpu_ticks(child)
            except FileNotFoundError:
                continue
            if not any(a.endswith(b"tesseract_child.py") for a in argv):
                continue  # a reader process, not an engine
            seen.add(child)
            # Not a line re-read's or script check's engine: their failure keeps the page.
            if LANGS.encode() in argv and ticks >= 60:
                return seen, child
        time.sleep(0.01)
    raise AssertionError("no engine process started reading a page")
