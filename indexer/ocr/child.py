"""An OCR engine in a child process of its own, spoken to through its pipes.

Engines crash on real scans (tesseract: SIGFPE on a line of the sample's sealed JPEG) and
hang on some (a blank 4000×3 strip at psm 7 spins past its deadline). In process that killed
or stalled the indexer, and on the next run the same file did it again. In a child, the
child dies or is ended, the page fails with what happened named, and the next page gets a
new engine. Every engine's child speaks the same framing: a request of the engine's own
shape on stdin; a reply on stdout as a status byte, a uint32 length and the payload."""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
from pathlib import Path

from indexer.ocr.engine import OcrFailed

DONE, NO_MODEL, OUT_OF_TIME = 0, 1, 2  # reply statuses, as the child programs send them


class EngineProcess:
    """One child program holding an engine's models; not thread-safe, so one per thread."""

    def __init__(self, name: str, program: Path, args: list[str], env: dict[str, str],
                 load_timeout_s: float, site_packages: bool = False):
        self.name = name  # "tesseract", "RapidOCR": how errors name the engine
        # -I: the child imports nothing of ours; -S: nor site-packages, when it needs none
        # (tesseract's starts in ~20 ms). stderr: engines' notes would litter the progress
        # display.
        flags = ["-I"] if site_packages else ["-I", "-S"]
        self.process = subprocess.Popen(
            [sys.executable, *flags, str(program), *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **env})
        try:
            self.status, self.greeting = self.reply(load_timeout_s, "while loading its models")
        except OcrFailed:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: bytes, timeout_s: float, doing: str = "on this page") -> tuple[int, bytes]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except BrokenPipeError:  # dead before it could take the page
            raise self.crashed(doing) from None
        return self.reply(timeout_s, doing)

    def reply(self, timeout_s: float, doing: str) -> tuple[int, bytes]:
        """The child's answer: (status, payload)."""
        assert self.process.stdout is not None
        out = self.process.stdout
        ready, _, _ = select.select([out], [], [], timeout_s)
        if not ready:  # stuck where the engine's own deadline is not checked
            self.process.kill()
            self.process.wait()
            raise OcrFailed(f"{self.name} 无响应 / {self.name} did not answer {doing} within "
                            f"{timeout_s:.0f} s; its process was ended")
        head = out.read(5)
        if len(head) < 5:
            raise self.crashed(doing)
        status, size = struct.unpack("<BI", head)
        payload = out.read(size)
        if len(payload) < size:
            raise self.crashed(doing)
        return status, payload

    def crashed(self, doing: str) -> OcrFailed:
        """The error for a child that is gone (its pipe at EOF), with the signal that ended
        it: it is reaped here, so it is no longer `alive` and never goes back to the pool."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its pipe closed but it lingers: finish it
            self.process.kill()
            code = self.process.wait()
        if code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        else:
            how = f"exit status {code}"
        return OcrFailed(f"{self.name} 进程崩溃 / {self.name} crashed {doing} ({how})")

    def close(self) -> None:
        """End the child: EOF on its input, and reaped, so its CPU time is counted and no
        process stays behind."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass  # already dead: nothing was left to tell it
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
