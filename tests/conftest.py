"""Shared fixtures: a real index built once per session from the repo's demo sample by the
real pipeline (extraction, OCR, ledger), and an API client over it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Reading questions by meaning embeds every passage an index run reads (22 passages a second on
# a core): the suite indexes the same corpora dozens of times for other reasons (crashes, kills,
# a three-node cluster's 2,400 files), so its index runs and apis read questions by words unless
# meaning is their subject: tests/test_meaning.py, relevance/test_questions.py and the browser's
# demo ask for it. The child processes the tests start inherit this.
os.environ.setdefault("CHAYUE_MEANING", "false")
SAMPLE = REPO / "sample"


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> Path:
    """A data directory holding the demo sample, indexed with `chayue index` in process."""
    from indexer.cli import main

    data = tmp_path_factory.mktemp("sample-data")
    code = main(["index", str(SAMPLE / "current"), str(SAMPLE / "archive"),
                 "--manifest", str(SAMPLE / "manifest.csv"), "--data", str(data), "--quiet"])
    assert code == 0
    from indexer.ledger import Ledger

    ledger = Ledger(data / "ledger.sqlite")
    not_indexed = [(e.path, e.status, e.reason) for e in ledger.entries() if e.status != "indexed"]
    ledger.close()
    assert not not_indexed, f"every file of the demo sample must be indexed: {not_indexed}"
    return data


@pytest.fixture(scope="session")
def sample_settings(sample_data):
    from settings import Settings

    return Settings(data=sample_data, staff_key="staff-secret", reading_room_key="room-secret")


@pytest.fixture(scope="session")
def client(sample_settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(sample_settings)) as c:
        yield c


@pytest.fixture
def copy_of_sample(tmp_path) -> Path:
    dest = tmp_path / "sample"
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("build.py", "README.md"))
    return dest


def pytest_terminal_summary(terminalreporter):
    from tests import es_backend

    if es_backend.started_note:
        terminalreporter.write_line(es_backend.started_note)


def pytest_sessionfinish(session, exitstatus):
    from tests import es_backend

    es_backend.stop_node()  # the tests' own Elasticsearch node, if one was started
