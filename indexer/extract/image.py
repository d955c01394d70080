"""Scanned images: TIFF (often multi-page, one frame per page), JPEG, PNG, BMP → OCR per frame."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from indexer import limits
from indexer.extract import Extracted, ExtractionError, OcrService, ensure_not_empty

_MEDIA = {"TIFF": "image/tiff", "JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp",
          "MPO": "image/jpeg"}


class ImageExtractor:
    media_types = tuple(sorted(set(_MEDIA.values())))
    extensions = (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp")

    def extract(self, path: Path, ocr: OcrService) -> Extracted:
        ensure_not_empty(path)
        try:
            with warnings.catch_warnings():
                # Pillow only warns between 1× and 2× the limit; treat it as the error it is.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    media = _MEDIA.get(im.format or "", f"image/{(im.format or 'x').lower()}")
                    pages = ocr.ocr_images(_frames(im, path), source=path.name)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ExtractionError(f"{path.name}: 图像过大，疑似解压炸弹 / image exceeds the "
                                  f"decompression-bomb pixel limit ({e})") from e
        except UnidentifiedImageError as e:
            raise ExtractionError(f"{path.name}: 无法识别的图像 / not a readable image") from e
        except (OSError, SyntaxError) as e:  # Pillow reports truncated/corrupt data so
            raise ExtractionError(f"{path.name}: 图像损坏或不完整 / corrupt or truncated image "
                                  f"({e})") from e
        if not pages:
            raise ExtractionError(f"{path.name}: 图像没有页面 / image has no frames", skip=True)
        return Extracted(pages, media)


def _frames(im: Image.Image, path: Path) -> Iterator[Image.Image]:
    """Each frame as its own RGB copy (frames share one decoder; a copy is independent)."""
    for i, frame in enumerate(ImageSequence.Iterator(im), start=1):
        limits.checkpoint()
        try:
            yield frame.convert("RGB")
        except OSError as e:
            raise ExtractionError(f"{path.name}: 第{i}帧损坏 / frame {i} corrupt ({e})") from e
