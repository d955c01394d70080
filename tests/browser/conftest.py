"""Browser tests: a real `chayue serve` over a real index, driven by Debian's Chromium.

The index is built once per session by `chayue index` from a copy of the repo's sample
plus one extra document whose text and title hold HTML (`<script>`, `<img onerror>`), so
the page's escaping is tested end to end, and one coarse scan whose OCR confidence is low.
The server runs on a free loopback port; a test that kills it fails and it is restarted.
Screenshots go to tests/artifacts/. CHAYUE_TEST_BROWSER_DATA=DIR keeps corpus and index
between runs (re-indexing then skips unchanged files)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The hostile document: its title and text are HTML that must be shown, never run.
HOSTILE_ID = "browser-hostile-0001"
HOSTILE_TITLE = "关于页面注入防护的测试说明<img src=x onerror=alert('title')>"
HOSTILE_WORD = "注入防护"
HOSTILE_TEXT = (
    "关于页面注入防护的测试说明\n"
    "本文件用于检验检索页面的注入防护。正文中出现的标记应当按原样显示为文字：\n"
    "<script>alert('snippet')</script> 注入防护 第一处。\n"
    "<img src=x onerror=alert('img')> 注入防护 第二处。\n"
    "&lt;b&gt; 也应原样显示。\n"
)


# A scan too coarse to read well: OCR gives it a low confidence, and the page must say so.
# Relations: the 1982 version of the 宪法 beside the sample's 2018 one (versions grouped, the
# 2018 amendment on the timeline), and the article of the 生态环境法典 that repeals the
# sample's 环境影响评价法. Excerpts of the real texts (../shared/corpus/laws).
CONSTITUTION_1982_ID = "browser-constitution-1982"
CONSTITUTION_1982 = (
    "中华人民共和国宪法\n第一章 总纲\n"
    "第一条　中华人民共和国是工人阶级领导的、以工农联盟为基础的人民民主专政的社会主义国家。\n"
    "社会主义制度是中华人民共和国的根本制度。禁止任何组织或者个人破坏社会主义制度。\n"
    "第二条　中华人民共和国的一切权力属于人民。\n"
    "人民行使国家权力的机关是全国人民代表大会和地方各级人民代表大会。\n"
    "第四章 国旗、国徽、首都\n第一百三十六条　中华人民共和国国旗是五星红旗。\n"
    "第一百三十七条　中华人民共和国国徽，中间是五星照耀下的天安门，周围是谷穗和齿轮。\n"
    "第一百三十八条　中华人民共和国首都是北京。\n"
)
ECO_CODE_ID = "browser-eco-code"
ECO_CODE_TITLE = "中华人民共和国生态环境法典（节选）"
ECO_CODE = (
    "中华人民共和国生态环境法典\n第一章 基本规定\n"
    "第一条　为了保护生态环境，防治污染和其他公害，保障公众健康和生态环境权益，维护生态安全，推动绿色低碳发展，"
    "建设生态文明，全面推进美丽中国建设，加快推进人与自然和谐共生的现代化，实现中华民族永续发展，根据宪法，制定本法。\n"
    "第三章 附则\n"
    "第一千二百四十二条　本法自 2026年8月15日起施行。 《中华人民共和国环境保护法》、《中华人民共和国环境影响评价法》、"
    "《中华人民共和国海洋环境保护法》、《中华人民共和国大气污染防治法》、 《中华人民共和国水污染防治法》、"
    "《中华人民共和国土壤污染防治法》、 《中华人民共和国固体废物污染环境防治法》、《中华人民共和国噪声污染防治法》、"
    "《中华人民共和国放射性污染防治法》、《中华人民共和国清洁生产促进法》同时废止。\n"
)

LOW_CONFIDENCE_ID = "browser-lowconf-0001"
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _coarse_scan(path: Path) -> bool:
    """Draw a short report and pixelate it (a quarter of the resolution, blown up again)."""
    from PIL import Image, ImageDraw, ImageFont

    if not CJK_FONT.exists():
        return False
    font = ImageFont.truetype(str(CJK_FONT), 22)
    img = Image.new("L", (900, 400), 255)
    draw = ImageDraw.Draw(img)
    lines = ["关于档案库房温湿度检查情况的报告", "各科室：经检查，本馆库房温度与湿度基本符合要求，",
             "个别库房湿度偏高，请及时处理。", "特此报告。"]
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 60), line, font=font, fill=0)
    # A quarter of the resolution: at a third PP-OCR still reads it at 93% confidence.
    img.resize((225, 100), Image.BILINEAR).resize((900, 400), Image.NEAREST).save(path)
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chayue(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indexer.cli", *args], cwd=REPO, **kwargs)


@pytest.fixture(scope="session")
def browser_workdir(tmp_path_factory) -> Path:
    # A test-only knob for people working on the page: CHAYUE_TEST_BROWSER_DATA=DIR keeps the
    # corpus copy and its index between runs, so a re-run's `chayue index` skips unchanged files.
    keep = os.environ.get("CHAYUE_TEST_BROWSER_DATA")
    return Path(keep) if keep else tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="session")
def browser_corpus(browser_workdir) -> Path:
    """A copy of sample/ with the hostile document added to its files and manifest."""
    root = browser_workdir / "sample"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("build.py", "README.md", "__pycache__"))
    (root / "current").mkdir(exist_ok=True)
    (root / "current" / "hostile.txt").write_text(HOSTILE_TEXT, encoding="utf-8")
    manifest = root / "manifest.csv"
    with manifest.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f))
    row = {
        "file": "current/hostile.txt", "id": HOSTILE_ID, "title": HOSTILE_TITLE,
        "doc_number": "测试〔2024〕1号", "agency": "查阅项目组", "date": "2024-01-02",
        "published": "2024-01-02", "collection": "current", "category": "测试", "doc_type": "说明",
        "validity": "现行有效", "access": "open",
    }
    rows = [row]
    (root / "current" / "宪法-1982.txt").write_text(CONSTITUTION_1982, encoding="utf-8")
    (root / "current" / "生态环境法典-节选.txt").write_text(ECO_CODE, encoding="utf-8")
    law = {"agency": "全国人民代表大会", "collection": "current", "access": "open"}
    rows.append({**law, "file": "current/宪法-1982.txt", "id": CONSTITUTION_1982_ID, "title": "中华人民共和国宪法",
                 "date": "1982-12-04", "published": "1982-12-04", "category": "宪法", "doc_type": "宪法",
                 "validity": "历史版本"})
    rows.append({**law, "file": "current/生态环境法典-节选.txt", "id": ECO_CODE_ID, "title": ECO_CODE_TITLE,
                 "date": "2026-03-12", "published": "2026-03-12", "category": "行政法", "doc_type": "法律",
                 "validity": "现行有效"})
    (root / "archive").mkdir(exist_ok=True)
    if _coarse_scan(root / "archive" / "coarse-scan.png"):
        rows.append({
            "file": "archive/coarse-scan.png", "id": LOW_CONFIDENCE_ID, "title": "库房温湿度检查情况的报告",
            "agency": "查阅项目组", "date": "1998-05-04", "collection": "archive", "access": "open",
            "doc_type": "报告", "retention": "30年", "fonds": "J999 测试全宗", "archival_code": "J999-1998-30年-0001",
        })
    with manifest.open("a", encoding="utf-8", newline="") as f:
        for r in rows:
            csv.writer(f).writerow([r.get(col, "") for col in header])
    return root


@pytest.fixture(scope="session")
def browser_data(browser_corpus, browser_workdir) -> Path:
    data = browser_workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    done = _chayue("index", str(browser_corpus), "--manifest", str(browser_corpus / "manifest.csv"),
                   "--data", str(data), "--quiet", capture_output=True, text=True, timeout=900,
                   env={**os.environ, "CHAYUE_MEANING": "true"})  # the demo as it is served: questions by meaning
    assert done.returncode == 0, f"chayue index failed:\n{done.stdout}\n{done.stderr}"
    return data


class LiveServer:
    """`chayue serve` in a child process on a fixed free port. If a test kills it, the
    test is failed by the `server` fixture and the server is started again for the next."""

    def __init__(self, data: Path, env: dict[str, str] | None = None, log_name: str = "serve.log") -> None:
        self.data = data
        self.extra_env = env or {}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = data / log_name

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAYUE_")} | self.extra_env
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "indexer.cli", "serve", "--data", str(self.data),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chayue serve did not come up:\n{self.log_tail()}")
            time.sleep(0.3)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.healthy()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def live_server(browser_data) -> Iterator[LiveServer]:
    srv = LiveServer(browser_data)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(live_server) -> Iterator[str]:
    """Base URL of a live `chayue serve` over the browser corpus; fails a test that kills it."""
    if not live_server.alive():
        live_server.stop()
        live_server.start()
    yield live_server.url
    if not live_server.alive():
        code = live_server.proc.poll() if live_server.proc else None
        pytest.fail(f"chayue serve died during this test (exit code {code}); its log ends:\n{live_server.log_tail()}")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """What went wrong in a page that no assertion looked at: script errors and dialogs."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []


def _open_page(chromium, server, viewport, problems: PageProblems):
    context = chromium.new_context(viewport=viewport, base_url=server, locale="zh-CN",
                                   has_touch=viewport["width"] < 600)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda exc: problems.errors.append(str(exc)))

    def on_console(msg):
        # A 404 (an unknown document, a page image that cannot be rendered) is answered by
        # the page in words; Chromium still logs the load, which is not an error of the page.
        if msg.type == "error" and "status of 404" not in msg.text:
            problems.errors.append(f"{msg.text} ({(msg.location or {}).get('url', '')})")

    page.on("console", on_console)

    def on_dialog(dialog):
        problems.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, page


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


def _checked_page(chromium, server, viewport, problems):
    """A page at this viewport; after the test, no dialog may have opened and no error shown."""
    context, page = _open_page(chromium, server, viewport, problems)
    yield page
    context.close()
    assert not problems.dialogs, f"a dialog opened: {problems.dialogs}"
    assert not problems.errors, f"errors in the page: {problems.errors}"


@pytest.fixture
def page(chromium, server, problems):
    yield from _checked_page(chromium, server, DESKTOP, problems)


@pytest.fixture
def phone_page(chromium, server, problems):
    yield from _checked_page(chromium, server, PHONE, problems)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
