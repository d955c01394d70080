"""docker-compose.yml is valid for Compose and offers what the README promises: the services,
the published ports, the named volumes, the password from .env and the on-demand indexer.

This validates the file with `docker-compose config` (Compose's own parser and schema); it
does not start containers (there is no Docker engine where these tests run)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = ("docker-compose.yml", "Dockerfile", ".env.example", "deploy/nginx.conf")


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")


def _project(tmp_path: Path, env: str | None) -> Path:
    """A copy of the compose files; `.env` is made from .env.example, never committed."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for d in ("frontend", "sample"):
        (tmp_path / d).mkdir(exist_ok=True)
    if env is not None:
        (tmp_path / ".env").write_text(env, encoding="utf-8")
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_compose(), *args], cwd=project, capture_output=True, text=True, timeout=60)


def _config(project: Path) -> dict[str, Any]:
    """The resolved configuration as data. docker-compose v1 prints YAML only; the Python
    that runs it has PyYAML (a dependency), so it converts the output to JSON."""
    out = _run(project, "--profile", "tools", "config")
    assert out.returncode == 0, out.stderr
    script = shutil.which("docker-compose") or ""
    shebang = Path(script).read_text(errors="replace").splitlines()[0]
    python = shebang[2:].strip().split()[0] if shebang.startswith("#!") else ""
    if not python or not Path(python).exists():
        pytest.skip("cannot find the Python that runs docker-compose to read its YAML output")
    conv = subprocess.run([python, "-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                          input=out.stdout, capture_output=True, text=True, timeout=60)
    assert conv.returncode == 0, conv.stderr
    return json.loads(conv.stdout)


def _ports(service: dict[str, Any]) -> list[str]:
    """Ports as `host_ip:published:target`, whichever syntax Compose printed them in."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append(f"{p.get('host_ip', '')}:{p.get('published')}:{p['target']}".lstrip(":"))
        else:
            out.append(str(p).split("/")[0])
    return out


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    return _config(_project(tmp_path, env))


def test_compose_file_is_valid(tmp_path: Path):
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    out = _run(_project(tmp_path, env), "config", "-q")
    assert out.returncode == 0, out.stderr


def test_compose_refuses_to_start_without_a_password(tmp_path: Path):
    out = _run(_project(tmp_path, None), "config", "-q")
    assert out.returncode != 0 and "ELASTIC_PASSWORD" in out.stderr


def test_elasticsearch_service(config: dict[str, Any]):
    es = config["services"]["elasticsearch"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:9.")
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"] == "changeme"  # from .env
    assert env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert any(v.startswith("es-data:/usr/share/elasticsearch/data") for v in es["volumes"])
    assert es["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    assert "curl" in " ".join(es["healthcheck"]["test"])
    # Plain HTTP, so only on the host's loopback.
    assert _ports(es) == ["127.0.0.1:9200:9200"]


def test_api_talks_to_elasticsearch_when_it_is_healthy(config: dict[str, Any]):
    api = config["services"]["api"]
    assert api["environment"]["CHAYUE_ENGINE"] == "elasticsearch"
    assert api["environment"]["ES_URL"] == "http://elasticsearch:9200"
    assert api["environment"]["ES_PASSWORD"] == "changeme"
    assert api["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert api["command"] == ["chayue", "serve", "--host", "0.0.0.0", "--port", "8000"]


def test_nginx_serves_the_page_and_proxies_the_api(config: dict[str, Any]):
    nginx = config["services"]["nginx"]
    assert nginx["image"] == "nginx:stable-alpine"
    assert any(v.endswith(":/usr/share/nginx/html:ro") and "frontend" in v for v in nginx["volumes"])
    assert _ports(nginx) == ["8080:80"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for location in ("location /api/", "location = /docs", "location = /openapi.json"):
        assert location in conf
    assert conf.count("proxy_pass http://api:8000;") == 3  # no URI part: the path is kept


def test_indexer_runs_only_on_demand_over_a_read_only_corpus(config: dict[str, Any]):
    idx = config["services"]["indexer"]
    assert idx["profiles"] == ["tools"]
    assert idx["command"] == ["chayue", "index", "/corpus", "--manifest", "/corpus/manifest.csv"]
    assert any(v.endswith(":/corpus:ro") for v in idx["volumes"])
    assert idx["environment"]["CHAYUE_ENGINE"] == "elasticsearch"
    assert set(config["volumes"]) == {"es-data", "chayue-data"}


def test_dockerfile_and_dockerignore():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim-bookworm" in dockerfile
    for pkg in ("tesseract-ocr-chi-sim", "tesseract-ocr-chi-tra", "poppler-utils", "fonts-noto-cjk"):
        assert pkg in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and ".git" in ignored
