"""One PP-OCR engine (RapidOCR on onnxruntime) in a process of its own, models loaded once.

indexer/ocr/rapid.py starts it as `python -I indexer/ocr/rapid_child.py THREADS`
and talks to it through its pipes, framed as tesseract_child.py is. It imports rapidocr and
numpy only (not our code); the models are the files inside the rapidocr wheel, given by
path, so nothing is ever downloaded.

Requests on stdin: width, height, channels (1 or 3) as little-endian int32, then the pixels
(8-bit gray or RGB). Replies on stdout: a status byte, a uint32 length and a JSON object: "lines", a list of
[[x0, y0, x1, y1, x2, y2, x3, y3], text, score, turned], where `turned` says the line
classifier turned the line 180° before reading it; and "note", what detect() says of the
page (its characters' height, the scale detected at, the share of its text ink read, the
regions read again)."""

import json
import math
import os
import struct
import sys
import threading
import time

# Lines are detected on the page drawn at the scale where its characters are DET_GLYPH px
# high, their height measured on the page's ink (text_size): a page of 12 pt body text at
# 300 dpi is detected at a third of its size, a broadsheet scanned with 7-pixel characters at
# twice its size. Shrunk past 12 px, the detector lost the 10.5 pt lines of a 200 dpi page;
# at the fixed 736 px of before, 7-pixel newspaper print vanished (Han F1 0.11). Never
# smaller than DET_SIDE_MIN px on the page's longer side, nor larger than DET_PIXELS_MAX.
DET_GLYPH = 13
DET_SIDE_MIN = 736
DET_PIXELS_MAX = 8_000_000
# The text size is measured in vertical strips STRIP px wide (text_size): in each, the runs
# of rows that hold ink are a line's characters (the gaps between them its leading); the
# median run of at least RUN_MIN px is the characters' height.
STRIP = 32
RUN_MIN = 3
# What was read against what is printed: the share of the page's text ink (runs from
# RUN_MIN px to twice the characters' height; pictures, rules and specks are not text) under
# a found line. Where runs of text ink are left uncovered, up to REREAD_MAX regions holding
# at least REREAD_RUNS such runs are detected again, at the scale their own characters need
# and at least REREAD_SCALE times the page's.
REREAD_RUNS = 4  # one table cell of 5 strips (12 left a cell of 20 characters unread, Han F1 0.927)
REREAD_MAX = 6
REREAD_SCALE = 2.0
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
REC_HEIGHT = 48  # the height the recogniser reads a line at (PP-OCR's rec_img_shape)
REC_SMALL = 24
REC_SQUEEZE_SMALL = 0.8  # 7 px print, Han F1: 0.59 squeezed to 0.6, 0.62 to 0.7, 0.63 to 0.8
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
        # on its longer side (now: at its characters' size, DET_GLYPH), not the 2000 px the
        # lines are cut from, is 3.3 → 1.0 on the renders at the same accuracy; lines recognised one at a time, not
        # six padded to the widest, 2.0 → 1.4; onnxruntime's memory arena, which RapidOCR
        # turns off, a further fifth of both.
        "Det.limit_type": "max",
        "Det.limit_side_len": DET_SIDE_MIN,
        "Rec.rec_batch_num": 1,
        "Rec.rec_img_shape": [3, REC_HEIGHT, REC_MIN_WIDTH],
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

    def squeeze(crop):
        """A line's crop squeezed to REC_SQUEEZE of its width. A line lower than REC_SMALL px
        is enlarged to the recogniser's REC_HEIGHT in the same step, and squeezed less:
        squeezed at its own size, the 7-8 px characters of a newspaper were 4-5 px wide when
        the recogniser enlarged them, and it read a third of them wrong. Enlarged bilinearly
        as RapidOCR does (bicubic read 12% fewer characters of a 7 px page)."""
        h, w = crop.shape[:2]
        if h >= REC_SMALL:
            return cv2.resize(crop, (max(1, round(w * REC_SQUEEZE)), h), interpolation=cv2.INTER_AREA)
        return cv2.resize(crop, (max(1, round(w * REC_HEIGHT / h * REC_SQUEEZE_SMALL)), REC_HEIGHT),
                          interpolation=cv2.INTER_LINEAR)

    def read(crops, columns):
        """Texts and scores of these line crops (already turned to run left to right); a
        line, but not a column, squeezed first: a column's crop holds its characters on
        their sides, and squeezed it read 9% of a vertical page wrong against 3%."""
        rec = engine.recognize_txt([c if column else squeeze(c) for c, column in zip(crops, columns)])
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

    def ink(page):
        """Pixels darker than the page's paper (its median) by INK_BELOW_PAPER."""
        gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
        return gray < float(np.median(gray[::4, ::4])) - INK_BELOW_PAPER

    def inked(page):
        """The part of the page (y0, y1, x0, x1) that holds anything darker than its paper,
        with a margin: what the detector is given. With the margin kept, that is 0.68-0.75 of
        the pixels of the real scanned book pages and 0.74-0.81 of the bench's renders
        (bench/RESULTS.md). Found on the page at a quarter of its size, where a speck of
        dust averages out to paper; a dark scanner border keeps the whole page."""
        h, w = page.shape[:2]
        quarter = cv2.resize(page, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        ys, xs = np.nonzero(ink(quarter))
        if not len(ys):
            return 0, h, 0, w
        pad = max(INK_PAD_MIN, round(INK_PAD * max(h, w)))
        return (max(0, 4 * int(ys.min()) - pad), min(h, 4 * int(ys.max()) + 4 + pad),
                max(0, 4 * int(xs.min()) - pad), min(w, 4 * int(xs.max()) + 4 + pad))

    def runs_of(inked_px, width):
        """Per vertical strip `width` px wide, the runs of rows that hold ink, as arrays
        (strip, start, end)."""
        h, w = inked_px.shape
        n = max(1, w // width)
        strips = np.zeros((n, h + 2), np.int8)
        strips[:, 1:-1] = inked_px[:, :n * width].reshape(h, n, -1).any(axis=2).T if w >= width \
            else inked_px.any(axis=1)[None, :]
        d = np.diff(strips, axis=1)
        strip, start = np.nonzero(d == 1)
        return strip, start, np.nonzero(d == -1)[1]

    def text_size(inked_px):
        """The height of the page's characters (px; 0: no text), its runs of ink (runs_of)
        and the strips' width. A strip narrower than a character cuts 三 or 旦 into strokes:
        measured in STRIP px strips, 22 pt characters at 200 dpi were 32 px, not 52; so they
        are measured again in strips three such heights wide."""
        def median(runs):
            tall = runs[2] - runs[1]
            text = tall[(tall >= RUN_MIN) & (tall <= inked_px.shape[0] // 4)]
            return float(np.median(text)) if len(text) else 0.0

        width = STRIP
        runs = runs_of(inked_px, width)
        glyph = median(runs)
        if 3 * glyph > STRIP:
            width = round(3 * glyph)
            runs = runs_of(inked_px, width)
            glyph = median(runs)
        return glyph, runs, width

    def scale_for(glyph, shape, page_side):
        """The scale the page (of `page_side` px on its longer side) is detected at, its
        part of `shape` given to the detector."""
        scale = DET_GLYPH / glyph if glyph else 1.0
        scale = max(scale, min(1.0, DET_SIDE_MIN / page_side))
        return min(scale, math.sqrt(DET_PIXELS_MAX / (shape[0] * shape[1])))

    def find(image, scale):
        """Boxes (N, 4, 2, on `image`) and crops of the lines the detector finds on `image`
        drawn at `scale`."""
        det = engine.text_det
        det.limit_type, det.limit_side_len = (("max", max(1, round(scale * max(image.shape[:2]))))
                                              if scale <= 1 else
                                              ("min", round(scale * min(image.shape[:2]))))
        record = {}
        try:
            crops, out = engine.detect_and_crop(image, record)
        except RapidOCRError:  # RapidOCR's way of saying the image has no lines
            return np.zeros((0, 4, 2), np.float32), []
        pad = record["padding_1"]
        boxes = out.boxes.astype(np.float32) - np.float32([pad["left"], pad["top"]])
        return boxes, list(crops)

    def unread(runs, width, glyph, boxes, shape):
        """The share of the page's text ink under the found lines' boxes, and the regions
        where text ink was left unread, most unread first: (y0, y1, x0, x1, the height of
        the characters there). Text ink is runs from RUN_MIN px to twice the page's
        characters' height: small print on a page of larger type counts too; pictures and
        rules (longer runs) and specks do not."""
        strip, start, end = runs
        tall = end - start
        text = (tall >= RUN_MIN) & (tall <= 2 * glyph)
        if not text.any():
            return 1.0, []
        strip, start, end, tall = strip[text], start[text], end[text], tall[text]
        covered = np.zeros(shape, np.uint8)
        if len(boxes):
            cv2.fillPoly(covered, [np.round(b).astype(np.int32) for b in boxes], 1)
        n = max(1, shape[1] // width)
        # A run is read when a found line covers its middle row anywhere in its strip.
        strips = covered[:, :n * width].reshape(shape[0], n, -1).max(axis=2) if shape[1] >= width \
            else covered.max(axis=1)[:, None]
        left = ~strips[(start + end) // 2, strip].astype(bool)
        share = 1 - float(tall[left].sum() / tall.sum())
        # Unread runs on a grid of cells a strip wide and a character high, joined with their
        # neighbours into regions.
        cell = max(1, round(glyph))
        rows = (start + end)[left] // 2 // cell
        grid = np.zeros((shape[0] // cell + 1, n), np.int32)
        np.add.at(grid, (rows, strip[left]), 1)
        joined = cv2.dilate((grid > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        of_run = labels[rows, strip[left]]
        regions = []
        for label in range(1, count):
            mine = tall[left][of_run == label]
            if len(mine) < REREAD_RUNS:
                continue
            x, y, w, h = stats[label, :4]
            pad = 2 * cell
            regions.append((len(mine), (max(0, y * cell - pad), min(shape[0], (y + h) * cell + pad),
                                        max(0, x * width - pad), min(shape[1], (x + w) * width + pad),
                                        float(np.median(mine)))))
        regions.sort(key=lambda r: -r[0])
        return share, [r for _, r in regions[:REREAD_MAX]]

    def detect(small):
        """The line boxes (N, 4, 2, on `small`) and crops of the page, and what the page's
        record says of it: the characters' height, the scale detected at, the share of the
        text ink read, and the regions read again. The detector sees only the inked part of
        the page."""
        y0, y1, x0, x1 = inked(small)
        part = small[y0:y1, x0:x1]
        marked = ink(part)
        glyph, runs, width = text_size(marked)
        scale = scale_for(glyph, part.shape[:2], max(small.shape[:2]))
        boxes, crops = find(part, scale)
        note = {"glyph_px": round(glyph, 1), "det_scale": round(scale, 3)}
        if glyph:
            share, regions = unread(runs, width, glyph, boxes, marked.shape)
            note["ink_read"] = round(share, 3)
            again = []
            for ry0, ry1, rx0, rx1, small_glyph in regions:
                region = part[ry0:ry1, rx0:rx1]
                # At the scale the characters there need, and at least twice the page's.
                more, more_crops = find(region, min(max(scale * REREAD_SCALE, DET_GLYPH / small_glyph),
                                                    math.sqrt(DET_PIXELS_MAX / (region.shape[0] * region.shape[1]))))
                more = more + np.float32([rx0, ry0])
                # Lines already found are not read twice: a new box whose centre lies in an
                # old one is dropped.
                keep = [i for i, b in enumerate(more) if not any(
                    cv2.pointPolygonTest(old, tuple(map(float, b.mean(axis=0))), False) >= 0
                    for old in boxes)]
                if keep:
                    boxes = np.concatenate([boxes, more[keep]])
                    crops += [more_crops[i] for i in keep]
                    again.append([int(ry0 + y0), int(ry1 + y0), int(rx0 + x0), int(rx1 + x0)])
            if regions:
                note["reread"] = again
                note["ink_read_after"] = round(unread(runs, width, glyph, boxes, marked.shape)[0], 3)
        return boxes + np.float32([x0, y0]), crops, note

    from importlib.metadata import version
    # What the cache keys a reading by: the package, and the settings that change the text.
    reply(0, f"{version('rapidocr')} det@{DET_GLYPH}px>{DET_SIDE_MIN}<{DET_PIXELS_MAX} size{STRIP}>{RUN_MIN} reread>{REREAD_RUNS}x{REREAD_SCALE} inked<{INK_BELOW_PAPER}+{INK_PAD} rec{REC_MIN_WIDTH} lines x{REC_SQUEEZE} <{REC_SMALL}:x{REC_SQUEEZE_SMALL}@{REC_HEIGHT} up-by-votes<{SURE}".encode())
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
        boxes, crops, note = detect(small)
        ratio = record["preprocess"]
        note["reread"] = [[round(y0 * ratio["ratio_h"]), round(y1 * ratio["ratio_h"]),
                           round(x0 * ratio["ratio_w"]), round(x1 * ratio["ratio_w"])]
                          for y0, y1, x0, x1 in note.get("reread", [])]
        if not note["reread"]:
            del note["reread"]
        if crops:
            boxes = map_boxes_to_original(boxes, {"preprocess": record["preprocess"]}, height, width)
            # RapidOCR turns a crop this much taller than wide a quarter, to read it as a line.
            columns = [math.dist(b[0], b[3]) >= 1.5 * math.dist(b[0], b[1]) for b in boxes]
            texts, scores, turned = read_either_way_up(crops, columns)
            for box, text, score, t in zip(boxes, texts, scores, turned):
                if text.strip():
                    lines.append([[round(float(v)) for v in box.ravel()], text, score, t])
        reply(0, json.dumps({"lines": lines, "note": note}, ensure_ascii=False).encode())


if __name__ == "__main__":
    main(sys.argv[1])
    os._exit(0)
