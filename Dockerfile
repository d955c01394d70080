# The chayue image: api (`chayue serve`) and indexer (`chayue index`), with the OCR and
# PDF tools the indexer calls and CJK fonts for rendering.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CHAYUE_DATA=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-chi-sim-vert tesseract-ocr-chi-tra-vert poppler-utils fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app
# Editable install: mappings/ and frontend/ are read relative to the source tree
# (engine/schema.py, api/app.py) and are not package data, so the code must run from /app.
RUN pip install -e . \
 && useradd --system --uid 10001 --home-dir /data chayue \
 && mkdir -p /data && chown chayue /data

USER chayue
EXPOSE 8000
CMD ["chayue", "serve", "--host", "0.0.0.0", "--port", "8000"]
