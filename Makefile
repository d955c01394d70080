# Entry points of the project: `make demo`, `make test` (README), plus bench and lint.
# Each target installs what it needs once (stamp files) so running it twice is fast.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000

# maven fetches the meaning model (analysis/meaning.py) and the Elasticsearch node the tests run
# (tests/es_node.py; Java >= 21 must be there) from Maven Central.
RUN_PKGS := tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-chi-sim-vert tesseract-ocr-chi-tra-vert poppler-utils fonts-noto-cjk maven
TEST_PKGS := $(RUN_PKGS) fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei chromium docker-compose

# The IIIF viewer of frontend/viewer.html: Mirador's own bundle from the npm registry, fetched
# once at install (npm's cache outside the repo), served as a static file: no CDN, no build step.
MIRADOR_VERSION := 4.0.0
MIRADOR := frontend/vendor/mirador/mirador.min.js
NPM_CACHE ?= $(HOME)/.cache/chayue/npm
# The charts of the staff statistics page (frontend/staff/use.html): Apache ECharts' own
# bundle, fetched the same way.
ECHARTS_VERSION := 6.1.0
ECHARTS := frontend/vendor/echarts/echarts.min.js

.PHONY: demo test bench bench-large lint serve index system-run system-test clean vendor model

demo: system-run $(VENV)/.stamp-run vendor model index
	@echo "查阅 chayue: http://$(HOST):$(PORT)/   (API: http://$(HOST):$(PORT)/api/search?q=档案  docs: /docs)"
	$(VENV)/bin/chayue serve --data $(DATA) --host $(HOST) --port $(PORT)

index: $(VENV)/.stamp-run
	$(VENV)/bin/chayue index sample/current sample/archive --manifest sample/manifest.csv --data $(DATA)

test: system-test $(VENV)/.stamp-dev vendor model
	@# Fetched once into a cache outside the repository; if it cannot be had, the
	@# Elasticsearch tests say why (and fail in CI, where they must run).
	-@$(PY) -m tests.es_node --fetch
	$(PY) -m pytest

bench: system-run $(VENV)/.stamp-bench model
	$(PY) -m bench

bench-large: system-run $(VENV)/.stamp-bench
	$(PY) -m bench --large

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy analysis engine

# The meaning model questions are ordered by (bge-small-zh-v1.5, int8, from Maven Central),
# fetched once into the cache outside the repository; without it questions go by words alone
# (the demo still serves; the tests that need the model say how to fetch it).
model: $(VENV)/.stamp-run
	-$(PY) -m analysis.meaning --fetch

# -- installation ----------------------------------------------------------------------
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.stamp-run $@

$(VENV)/.stamp-bench: $(VENV)/.stamp-dev
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

vendor: $(MIRADOR) $(ECHARTS)

$(ECHARTS): Makefile
	@command -v npm >/dev/null || ./deploy/ensure-debian-packages npm
	mkdir -p $(NPM_CACHE) $(@D)
	cd $(NPM_CACHE) && npm pack --silent --cache $(NPM_CACHE)/cache echarts@$(ECHARTS_VERSION) >/dev/null
	tar -xzf $(NPM_CACHE)/echarts-$(ECHARTS_VERSION).tgz -C $(@D) --strip-components=2 package/dist/echarts.min.js
	tar -xzf $(NPM_CACHE)/echarts-$(ECHARTS_VERSION).tgz -C $(@D) --strip-components=1 package/LICENSE
	touch $@

$(MIRADOR): Makefile
	@# npm: the machine's own (e.g. with Node.js from elsewhere), else Debian's.
	@command -v npm >/dev/null || ./deploy/ensure-debian-packages npm
	mkdir -p $(NPM_CACHE) $(@D)
	cd $(NPM_CACHE) && npm pack --silent --cache $(NPM_CACHE)/cache mirador@$(MIRADOR_VERSION) >/dev/null
	tar -xzf $(NPM_CACHE)/mirador-$(MIRADOR_VERSION).tgz -C $(@D) --strip-components=2 package/dist/mirador.min.js
	tar -xzf $(NPM_CACHE)/mirador-$(MIRADOR_VERSION).tgz -C $(@D) --strip-components=1 package/LICENSE
	touch $@

system-run:
	@./deploy/ensure-debian-packages $(RUN_PKGS)

system-test:
	@./deploy/ensure-debian-packages $(TEST_PKGS)

clean:
	rm -rf $(DATA) tests/artifacts .pytest_cache
