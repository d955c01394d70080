"""One settings object for the whole service, read once from the environment (CHAYUE_*)
and passed down; nothing else in the project reads environment variables."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAYUE_", extra="ignore")

    data: Path = Field(Path("./data"), description="Data directory: index, ledger, OCR cache.")
    engine: Literal["embedded", "elasticsearch"] = "embedded"

    # Elasticsearch (read without the CHAYUE_ prefix, as the official tools name them).
    es_url: str | None = Field(None, validation_alias="ES_URL")
    es_user: str = Field("elastic", validation_alias="ES_USER")
    es_password: str | None = Field(None, validation_alias="ES_PASSWORD")
    es_index: str = Field("chayue", description="Alias the service reads; one index per access level, <alias>-<ts>-<level>.")
    es_ca_certs: str | None = Field(None, validation_alias="ES_CA_CERTS")

    # Access: who is a reading-room or staff caller.
    reading_room_networks: str = Field(
        "", description="Comma-separated CIDRs of reading-room terminals, e.g. 10.20.0.0/24."
    )
    reading_room_key: str | None = None
    staff_key: str | None = None
    allowed_hosts: str = Field(
        "", description="Comma-separated host names the service answers to (`*.example.org` for a domain's "
        "hosts, `*` for any). Empty: any host, except with reading_room_networks set, where only IP "
        "addresses, localhost and base_url's host are (a page that rebinds its own name to this "
        "server cannot read reading-room answers through a terminal's browser).")
    base_url: str | None = Field(
        None, description="The service's public address, e.g. https://chayue.example.org; links in feeds "
        "and exports start with it (default: the address the request came to).")

    # Staff side (staff/): sign-in, sessions, opening on the day.
    staff_session_hours: float = Field(8.0, gt=0, description="a staff session ends this long after sign-in")
    staff_idle_minutes: float = Field(30.0, gt=0, description="a staff session ends after this long without a request")
    signin_account_failures: int = Field(5, ge=1, description="failed sign-ins per account within the window "
                                                              "before that account's sign-in is refused")
    signin_global_failures: int = Field(100, ge=1, description="failed sign-ins overall within the window before "
                                                               "every sign-in is refused")
    signin_window_minutes: float = Field(15.0, gt=0, description="the window sign-in failures are counted in")
    opening_rules: Path | None = Field(None, description="TOML file of opening rules (years after formation by "
                                                         "category, fonds, 保管期限); default <data>/opening-rules.toml")
    opening_interval: float = Field(60.0, ge=0, description="seconds between the serve process's opening runs "
                                                            "(opens approved items on their day, applies access "
                                                            "changes); 0: off, use `chayue opening run` from a timer")
    usage_flush_seconds: float = Field(10.0, gt=0, description="seconds between writes of the online-use counts "
                                                               "(views, downloads, exports, searches) from memory "
                                                               "to the staff store")
    register_key: str | None = Field(None, description="the reading-room register's key (base64 of 32 bytes, "
                                                      "`chayue register key` makes one): encrypts visitors' names and "
                                                      "identity numbers; keep it outside the data directory")
    register_key_file: Path | None = Field(None, description="a file holding the register key instead (refused "
                                                               "inside the data directory)")
    register_retention_days: int = Field(1095, ge=1, description="days a visit's personal fields are kept; then "
                                                                 "erased (the counts stay)")
    register_purposes: str = Field("编史修志,工作查考,学术研究,经济建设,宣传教育,个人取证,民生,其他",
                                   description="the purposes of use (利用目的) a visit is registered under, comma-separated")
    clock_file: Path | None = Field(None, description="tests only: a file holding today's date (YYYY-MM-DD), read "
                                                      "each time the opening rules ask what day it is")

    # Kiosk mode for reading-room terminals.
    kiosk: bool = False
    kiosk_idle_minutes: float = 3.0

    # Serving.
    workers: int = Field(1, ge=1, description="api processes `chayue serve` starts; each maps the index.")
    read_timeout: float = Field(10.0, gt=0, description="seconds a request's headers and body may take to arrive")
    keep_alive: float = Field(5.0, gt=0, description="seconds an idle keep-alive connection is kept")
    max_expensive: int | None = Field(None, ge=1, description="expensive searches in flight per api process; "
                                      "default: the cores shared out over the processes (expensive_bound); "
                                      "more wait their turn, then answer 503 busy")
    expensive_queue: int = Field(8, ge=0, description="expensive searches that may wait for a slot; more "
                                                     "answer 503 busy at once")
    expensive_wait: float = Field(2.0, ge=0, description="seconds an expensive search waits for a slot "
                                                         "before it answers 503 busy")
    expensive_matches: int = Field(5000, ge=0, description="a search whose terms may match more documents than "
                                                           "this is expensive (also: similar documents)")
    expensive_units: int = Field(12, ge=1, description="a search asking for more different words, phrases, "
                                                       "fields and exclusions than this is expensive")
    max_searches: int = Field(16, ge=1, description="searches of any kind in flight per api process; more wait "
                                                    "their turn (four times as many), then answer 503 busy")
    max_exports: int = Field(1, ge=1, description="exports in flight per api process, apart from the searches; "
                                                  "more wait their turn, then answer 503 busy")
    oai_page_size: int = Field(100, ge=1, le=1000, description="records per OAI-PMH list answer (then a resumption token)")

    # Indexer.
    meaning: bool = Field(True, description="Order a question's hits by meaning (analysis/meaning.py) where the "
                                            "model and the indexer's vectors are there; false: by words alone.")
    meaning_model: Path | None = Field(None, description="The meaning model's folder; default <cache>/models/"
                                                          "bge-small-zh-v1.5-q, where `make` fetches it.")
    ocr_engine: Literal["rapid", "tesseract"] = Field(
        "rapid", description="OCR engine: PP-OCR through RapidOCR (default), or tesseract.")
    ocr_languages: str = "chi_sim+eng"  # tesseract's; PP-OCR reads both scripts and Latin
    ocr_workers: int = 0  # 0 = one per core
    max_file_mb: int = 512
    file_seconds: float = Field(900.0, gt=0, description="Reading one file may take this long, else it fails.")
    file_memory_mb: float = Field(2048, gt=0, description="Reading one file may add this much memory, else it fails.")

    @property
    def expensive_bound(self) -> int:
        """Expensive searches one api process runs at once: `max_expensive`, or the cores this
        process may use shared out over the `workers` processes (at least one). Measured on 2
        cores at 100k documents: under a flood of the costliest search a cheap query kept p99
        44-79 ms with one slot and 61-88 ms with two (the bound is 100), while an 8-client mix
        of common searches waited 187-200 ms (p50) behind one slot and 121-130 ms with two."""
        if self.max_expensive:
            return self.max_expensive
        return max(1, len(os.sched_getaffinity(0)) // self.workers)

    @property
    def index_dir(self) -> Path:
        return self.data / "index"

    @property
    def staff_path(self) -> Path:
        return self.data / "staff.sqlite"

    @property
    def ledger_path(self) -> Path:
        return self.data / "ledger.sqlite"


def cache_root() -> Path:
    """Where what `make` fetches from registries is kept, outside the repository (the meaning
    model, the tests' Elasticsearch node): CHAYUE_CACHE, else /var/cache/chayue for root (whose
    home the service user cannot read), else ~/.cache/chayue."""
    if os.environ.get("CHAYUE_CACHE"):
        return Path(os.environ["CHAYUE_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/chayue")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chayue"


MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def maven_copy(artifact: str, into: Path) -> Path:
    """The file of `artifact` (group:name:version[:type[:classifier]]) fetched from Maven
    Central by Maven's dependency plugin into the empty folder `into` (Maven's own repository
    caches it); RuntimeError saying why where it cannot be had."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError(f"Maven (mvn) is not installed: `apt-get install maven` fetches {artifact}")
    done = subprocess.run([mvn, "-q", "-B", f"{MAVEN_DEPENDENCY_PLUGIN}:copy", f"-Dartifact={artifact}",
                           f"-DoutputDirectory={into}"], capture_output=True, text=True, timeout=1800)
    files = [p for p in into.iterdir() if p.is_file()]
    if done.returncode != 0 or len(files) != 1:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"Maven could not fetch {artifact}: " + " | ".join(tail))
    return files[0]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
