"""One tesseract engine in a process of its own, holding libtesseract with its models loaded.

indexer/ocr.py starts it as `python -I -S indexer/tesseract_child.py LIBRARY LANGS` and talks
to it through its pipes. It uses the standard library and libtesseract, nothing of ours:
importing indexer.ocr takes 1-2 s of CPU (the segmenter, the index engine, numpy, Pillow),
which every new engine would pay, as would a multiprocessing "spawn" child; this starts in
~20 ms.

Requests on stdin: width, height, psm, deadline (ms) as four little-endian int32, then the
packed bits of the bilevel page. Replies on stdout: a status byte, a uint32 length, the
payload. EOF on stdin (the service closed the engine, or its process died) ends it; so does
being orphaned, checked every second, in case some forked process still holds the pipe open.
"""

import ctypes
import os
import struct
import sys
import threading
import time


def watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def main(library, langs):
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing tesseract prints mixes with replies

    def reply(status, payload=b""):
        replies.write(struct.pack("<BI", status, len(payload)) + payload)
        replies.flush()

    lib = ctypes.CDLL(library)
    ptr, num, text = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    for fn, restype, argtypes in (
        ("TessVersion", text, []),
        ("TessBaseAPICreate", ptr, []),
        ("TessBaseAPIInit3", num, [ptr, text, text]),
        ("TessBaseAPIGetDatapath", text, [ptr]),
        ("TessBaseAPISetVariable", num, [ptr, text, text]),
        ("TessBaseAPISetPageSegMode", None, [ptr, num]),
        ("TessBaseAPISetImage", None, [ptr, text, num, num, num, num]),
        ("TessBaseAPIRecognize", num, [ptr, ptr]),
        ("TessBaseAPIGetTsvText", ptr, [ptr, num]),  # ptr, not text: it must be freed
        ("TessDeleteText", None, [ptr]),
        ("TessMonitorCreate", ptr, []),
        ("TessMonitorDelete", None, [ptr]),
        ("TessMonitorSetDeadlineMSecs", None, [ptr, num]),
    ):
        getattr(lib, fn).restype = restype
        getattr(lib, fn).argtypes = argtypes
    handle = lib.TessBaseAPICreate()
    # No data path: the library's own, where the distribution's packages put the models.
    if lib.TessBaseAPIInit3(handle, None, langs.encode()) != 0:
        reply(1)
        return
    lib.TessBaseAPISetVariable(handle, b"debug_file", os.devnull.encode())
    reply(0, lib.TessBaseAPIGetDatapath(handle) + b"\0" + lib.TessVersion())
    while True:
        head = requests.read(16)
        if len(head) < 16:
            return
        width, height, psm, deadline_ms = struct.unpack("<4i", head)
        bits = requests.read((width + 7) // 8 * height)
        if len(bits) < (width + 7) // 8 * height:
            return
        lib.TessBaseAPISetPageSegMode(handle, psm)
        lib.TessBaseAPISetImage(handle, bits, width, height, 0, (width + 7) // 8)
        monitor = lib.TessMonitorCreate()
        lib.TessMonitorSetDeadlineMSecs(monitor, deadline_ms)
        failed = lib.TessBaseAPIRecognize(handle, monitor) != 0
        lib.TessMonitorDelete(monitor)
        if failed:
            reply(2)
            continue
        out = lib.TessBaseAPIGetTsvText(handle, 0)
        reply(0, ctypes.string_at(out) if out else b"")
        lib.TessDeleteText(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    # Not tesseract's teardown: the models are the kernel's to free, and at exit tesseract
    # would complain of leaked ones.
    os._exit(0)
