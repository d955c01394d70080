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
    locations = ("location /api/", "location /a/", "location /staff/api/", "location = /docs",
                 "location /docs/static/", "location = /openapi.json")  # /a/: permanent links; the staff side
    for location in locations:
        assert location in conf
    assert conf.count("proxy_pass http://api:8000;") == len(locations)  # no URI part: the path is kept


def test_nginx_limits_request_rate_connections_and_slow_clients():
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "limit_req_zone $binary_remote_addr zone=chayue_api:10m rate=20r/s;" in conf
    assert "limit_conn chayue_conn 20;" in conf
    api = conf[conf.index("location /api/"):]
    assert api[:api.index("}")].count("limit_req zone=chayue_api") == 1
    for directive in ("client_header_timeout 10s;", "client_body_timeout 10s;", "error_page 429 = @too_many;"):
        assert directive in conf
    body = conf[conf.index("return 429 '") + len("return 429 '"):]
    assert set(json.loads(body[:body.index("';")])) == {"error", "message"}  # the api's error shape


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


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_configuration(tmp_path):
    """`nginx -t` on deploy/nginx.conf inside an http block, with the compose host name `api`
    (which resolves only on the compose network) replaced by loopback."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8").replace("http://api:8000", "http://127.0.0.1:8000")
    (tmp_path / "chayue.conf").write_text(conf, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                    f"http {{ access_log off; include {tmp_path}/chayue.conf; }}\n", encoding="utf-8")
    out = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "syntax is ok" in out.stderr
