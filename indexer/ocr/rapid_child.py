"""One PP-OCR engine (RapidOCR on onnxruntime) in a process of its own, models loaded once.

indexer/ocr/rapid.py starts it as `python -I indexer/ocr/rapid_child.py THREADS`
and talks to it through its pipes, framed as tesseract_child.py is. It imports rapidocr and
numpy only (not our code); the models are the files inside the rapidocr wheel, given by
path, so nothing is ever downloaded.

Requests on stdin: width, height, channels (1 or 3) as little-endian int32, then the pixels
(8-bit gray or RGB). Replies on stdout: a status byte, a uint32 length and a JSON list of
lines [[x0, y0, x1, y1, x2, y2, x3, y3], text, score, turned], where `turned` says the line
classifier turned the line 180° before reading it."""

import copy
import json
import math
import os
import struct
import sys
import threading
import time

# Lines are detected on the page drawn at most DET_SIDES[0] px on its longer side, and again
# at the next size when the page's lines (the median) are lower than DET_MIN_LINE px at the
# size tried. A page of body text at 12 pt is done at the first size, in a third of the time;
# 10.5 pt at 200 dpi, and the real scans' dense pages, need 1280 (960 lost characters there).
DET_SIDES = (736, 1280)
DET_MIN_LINE = 16
# The inked part of a page: pixels this much darker than the page's median (its paper),
# and around them a margin of this fraction of the page's longer side, at least INK_PAD_MIN
# px, so the detector still sees paper around the outermost lines.
INK_BELOW_PAPER = 48
INK_PAD = 0.03
INK_PAD_MIN = 32
# A line is read squeezed to this fraction of its width, and a short line padded to no more
# than REC_MIN_WIDTH (RapidOCR pads every line to 320 px). The recogniser's time goes with
# the width, and a Han character at 0.6 of its width is still read (bench/RESULTS.md).
REC_SQUEEZE = 0.6
REC_MIN_WIDTH = 160
# A line read at least this sure (RapidOCR's mean character probability) is not read the
# other way up: clean lines read 0.99-1.0, sealed ones 0.93-0.98.
SURE = 0.9


def watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def main(threads):
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing the libraries print mixes in

    def reply(status, payload=b""):
        replies.write(struct.pack("<BI", status, len(payload)) + payload)
        replies.flush()

    import cv2
    import numpy as np
    from omegaconf import OmegaConf

    # Importing rapidocr parses its 85 KB model table (default_models.yaml) with OmegaConf
    # twice, in utils/model_resolver.py and inference_engine/base.py: 0.3 CPU s each, a fifth
    # of an engine's start, though the models here are given by path. Parsed once, the one
    # table is handed to both, which only read it.
    parse, parsed = OmegaConf.load, {}
    OmegaConf.load = staticmethod(lambda path: parsed.get(str(path)) or
                                  parsed.setdefault(str(path), parse(path)))
    try:
        import rapidocr
        from rapidocr import RapidOCR
    finally:
        OmegaConf.load = staticmethod(parse)
    from rapidocr.main import RapidOCRError
    from rapidocr.utils.process_img import map_boxes_to_original

    models = os.path.join(os.path.dirname(rapidocr.__file__), "models")
    n = int(threads)
    params = {
        "Global.log_level": "critical",
        "Det.model_path": os.path.join(models, "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": os.path.join(models, "PP-OCRv6_rec_small.onnx"),
        "Cls.model_path": os.path.join(models, "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        "EngineConfig.onnxruntime.intra_op_num_threads": n,
        "EngineConfig.onnxruntime.inter_op_num_threads": n,
        # Measured on the bench's sealed renders and the real scans of the evaluation set
        # (CPU s/page, one thread; bench/RESULTS.md): detection on the page at most 1280 px
        # on its longer side (DET_SIDES), not the 2000 px the lines are cut from, is
        # 3.3 → 1.0 on the renders at the same accuracy; lines recognised one at a time, not
        # six padded to the widest, 2.0 → 1.4; onnxruntime's memory arena, which RapidOCR
        # turns off, a further fifth of both.
        "Det.limit_type": "max",
        "Det.limit_side_len": DET_SIDES[-1],
        "Rec.rec_batch_num": 1,
        "Rec.rec_img_shape": [3, 48, REC_MIN_WIDTH],
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
    }
    try:
        engine = RapidOCR(params=params)
        # Load all three models now, so a page's time is reading, and a missing model is
        # reported at start.
        engine._load_det_model(), engine._load_cls_model(), engine._load_rec_model()
    except Exception as e:  # noqa: BLE001 - reported to the service, which names it
        reply(1, f"{type(e).__name__}: {e}".encode())
        return

    def read(crops, columns):
        """Texts and scores of these line crops (already turned to run left to right); a
        line, but not a column, squeezed first: a column's crop holds its characters on
        their sides, and squeezed it read 9% of a vertical page wrong against 3%."""
        rec = engine.recognize_txt([
            c if column else cv2.resize(c, (max(1, round(c.shape[1] * REC_SQUEEZE)), c.shape[0]),
                                        interpolation=cv2.INTER_AREA)
            for c, column in zip(crops, columns)])
        return list(rec.txts), [float(x) for x in rec.scores]

    def read_either_way_up(crops, columns):
        """Texts, scores and whether each line was read turned 180°. The line classifier
        turns the odd line of an upright page upside down (a line of a clean traditional
        page came out as '养', 0.43; 3 of the bench's 184 render lines, 15 of its 432 real
        ones). So the lines of each kind (wide, column) are read the way up most of them
        are, by the classifier's sure votes; a line it would turn the other way is read
        that way too only when the first reading is unsure, and the surer reading kept."""
        _, cls = engine.cls_and_rotate(crops)
        says = [label == "180" and float(score) > engine.text_cls.cls_thresh
                for label, score in cls.cls_res]
        turn = {}
        for kind in (False, True):
            votes = [t for t, c in zip(says, columns) if c == kind]
            turn[kind] = 2 * sum(votes) > len(votes)
        turned = [turn[c] for c in columns]
        texts, scores = read([cv2.rotate(c, cv2.ROTATE_180) if t else c
                              for c, t in zip(crops, turned)], columns)
        again = [i for i, t in enumerate(says) if t != turned[i] and scores[i] < SURE]
        if again:
            for i, text, score in zip(again, *read(
                    [cv2.rotate(crops[i], cv2.ROTATE_180) if says[i] else crops[i] for i in again],
                    [columns[i] for i in again])):
                if score > scores[i]:
                    texts[i], scores[i], turned[i] = text, score, says[i]
        return texts, scores, turned

    def inked(page):
        """The part of the page (y0, y1, x0, x1) that holds anything darker than its paper,
        with a margin: what the detector is given. With the margin kept, that is 0.68-0.75 of
        the pixels of the real scanned book pages and 0.74-0.81 of the bench's renders
        (bench/RESULTS.md). Found on the page at a quarter of its size, where a speck of
        dust averages out to paper; a dark scanner border keeps the whole page."""
        h, w = page.shape[:2]
        gray = cv2.cvtColor(cv2.resize(page, (max(1, w // 4), max(1, h // 4)),
                                       interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        paper = float(np.median(gray))
        ys, xs = np.nonzero(gray < paper - INK_BELOW_PAPER)
        if not len(ys):
            return 0, h, 0, w
        pad = max(INK_PAD_MIN, round(INK_PAD * max(h, w)))
        return (max(0, 4 * int(ys.min()) - pad), min(h, 4 * int(ys.max()) + 4 + pad),
                max(0, 4 * int(xs.min()) - pad), min(w, 4 * int(xs.max()) + 4 + pad))

    def detect(small, record):
        """The line crops of the page and RapidOCR's detection output (None: no lines),
        its boxes on the whole page. The detector sees only the inked part of the page, at
        the scale the whole page would be drawn at for each size tried."""
        y0, y1, x0, x1 = inked(small)
        part = small[y0:y1, x0:x1]
        # map_boxes_to_original undoes the record's steps last first: this one, after
        # RapidOCR's own padding, moves the boxes from the part back onto the page.
        record["padding_inked"] = {"top": -y0, "left": -x0}
        for side in DET_SIDES:
            engine.text_det.limit_side_len = max(1, round(side * max(part.shape[:2]) / max(small.shape[:2])))
            tried = copy.deepcopy(record)
            try:
                crops, det = engine.detect_and_crop(part, tried)
            except RapidOCRError:  # RapidOCR's way of saying the page has no lines
                crops, det = [], None
            scale = min(1.0, side / max(small.shape[:2]))
            lows = sorted(min(math.dist(b[0], b[3]), math.dist(b[0], b[1])) * scale
                          for b in (det.boxes if crops else []))
            low = lows[len(lows) // 2] if lows else 0.0
            if low >= DET_MIN_LINE:
                break
        record.clear()
        record.update(tried)  # how the page was padded, which map_boxes_to_original undoes
        return crops, det

    from importlib.metadata import version
    # What the cache keys a reading by: the package, and the settings that change the text.
    reply(0, f"{version('rapidocr')} det{'/'.join(map(str, DET_SIDES))}>{DET_MIN_LINE} inked<{INK_BELOW_PAPER}+{INK_PAD} rec{REC_MIN_WIDTH} lines x{REC_SQUEEZE} up-by-votes<{SURE}".encode())
    while True:
        head = requests.read(12)
        if len(head) < 12:
            return
        width, height, channels = struct.unpack("<3i", head)
        size = width * height * channels
        pixels = requests.read(size)
        if len(pixels) < size:
            return
        img = np.frombuffer(pixels, np.uint8).reshape(height, width, channels)
        if channels == 1:
            img = np.repeat(img, 3, axis=2)
        img = np.ascontiguousarray(img[..., ::-1])  # RGB → BGR, as OpenCV-trained models take it
        lines = []
        small, record = engine.preprocess_img(img)
        crops, det = detect(small, record)
        if crops:
            boxes = map_boxes_to_original(det.boxes, record, height, width)
            # RapidOCR turns a crop this much taller than wide a quarter, to read it as a line.
            columns = [math.dist(b[0], b[3]) >= 1.5 * math.dist(b[0], b[1]) for b in det.boxes]
            texts, scores, turned = read_either_way_up(crops, columns)
            for box, text, score, t in zip(boxes, texts, scores, turned):
                if text.strip():
                    lines.append([[round(float(v)) for v in box.ravel()], text, score, t])
        reply(0, json.dumps(lines, ensure_ascii=False).encode())


if __name__ == "__main__":
    main(sys.argv[1])
    os._exit(0)
