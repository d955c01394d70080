"""OCR in its own room (DESIGN.md, "OCR"): engine.py is the seam (an engine turns a page
image into lines with text, box and confidence), rapid.py (PP-OCR, the default) and
tesseract.py the engines, each in a child process (child.py), clean.py the page cleaning an
engine may ask for, layout.py the reading order, service.py the service around them."""

from indexer.ocr.engine import Line, OcrFailed, Reading
from indexer.ocr.service import CACHE_VERSION, ENGINES, Ocr, OcrResult, is_low_confidence

__all__ = ["CACHE_VERSION", "ENGINES", "Line", "Ocr", "OcrFailed", "OcrResult", "Reading",
           "is_low_confidence"]
