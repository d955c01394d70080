"""Real Elasticsearch nodes for the tests and the benchmarks, started and stopped here.

The node is Elastic's integration-test distribution of the version the compose file deploys
(`org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip` on Maven
Central: the server, its HTTP transport and x-pack security, without a bundled JDK). It is
fetched once with Maven into a cache outside the repository and unpacked there; each start
gets a fresh directory of its own (configuration, data, logs) under the system's temp dir.

    with Cluster(nodes=1) as es:          # or .start() / .stop()
        es.url                            # http://127.0.0.1:<free port>
        es.nodes[0].kill()                # kill -9, as a crash would
        es.nodes[0].start(); es.wait("green")

Elasticsearch needs Java 21 or newer (found under /usr/lib/jvm, /opt or ES_JAVA_HOME) and
refuses to run as root: as root the nodes run as the system user `chayue-es`, created here.
Anything missing raises NodeUnavailable with the reason, for a skip or a failure that says
what to install.

    python -m tests.es_node [--nodes N] [--security]   # a node for a shell, until Ctrl-C
    python -m tests.es_node --fetch                    # only fetch and unpack (make test)"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from settings import cache_root, maven_copy

REPO = Path(__file__).resolve().parent.parent
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
# Pinned: its `copy` goal fetches one artifact without a project (the version Maven picks by
# default, 2.8, has no such goal outside a project).
MIN_JAVA = 21
SERVICE_USER = "chayue-es"
HEAP = "512m"
START_TIMEOUT = 300.0  # seconds; a start takes about a minute on a busy 2-core machine


class NodeUnavailable(RuntimeError):
    """No node can start on this machine; the message says why and what would fix it."""


def compose_version() -> str:
    """The Elasticsearch version docker-compose.yml deploys: the tests run the same one."""
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    m = re.search(r"docker\.elastic\.co/elasticsearch/elasticsearch:(\d+\.\d+\.\d+)", text)
    if not m:
        raise NodeUnavailable("docker-compose.yml names no elasticsearch image version")
    return m.group(1)


def distribution(version: str) -> Path:
    """The unpacked distribution of `version`, fetched from Maven Central the first time."""
    root = cache_root()
    home = root / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as tmp:
        (Path(tmp) / "zip").mkdir()
        try:
            archive = maven_copy(ARTIFACT.format(version=version), Path(tmp) / "zip")
        except RuntimeError as exc:
            raise NodeUnavailable(str(exc)) from None
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = Path(zf.extract(info, unpacked))
                mode = info.external_attr >> 16 & 0o777  # zipfile drops the permission bits
                if mode:
                    target.chmod(mode | (0o755 if info.is_dir() else 0o644))
        with contextlib.suppress(OSError):  # another process may have unpacked it meanwhile
            (unpacked / f"elasticsearch-{version}").rename(home)
    return home


def java_major(java_home: Path) -> int:
    """The feature version of a JDK, from its `release` file (0 when it has none)."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    m = re.search(r'^JAVA_VERSION="(\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def find_java() -> Path:
    """ES_JAVA_HOME, else the newest JDK >= 21 in JAVA_HOME, /usr/lib/jvm or /opt."""
    if os.environ.get("ES_JAVA_HOME"):
        return Path(os.environ["ES_JAVA_HOME"])
    candidates = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    for parent in (Path("/usr/lib/jvm"), Path("/opt")):
        if parent.is_dir():
            candidates += sorted(p for p in parent.iterdir() if (p / "bin" / "java").exists())
    usable = [(java_major(p), p) for p in candidates if java_major(p) >= MIN_JAVA]
    if not usable:
        raise NodeUnavailable(f"Elasticsearch 9 needs Java {MIN_JAVA} or newer; none found in JAVA_HOME, "
                              "/usr/lib/jvm or /opt (set ES_JAVA_HOME)")
    return max(usable)[1]


def service_user() -> pwd.struct_passwd | None:
    """The user the nodes run as: None (this process's own) unless we are root, which
    Elasticsearch refuses; then `chayue-es`, created as a system user if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True, capture_output=True)
        return pwd.getpwnam(SERVICE_USER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    """One node: its own directory (config, data, logs) and ports, kept across restarts."""
    name: str
    home: Path  # the distribution
    dir: Path
    http_port: int
    transport_port: int
    env: dict[str, str]
    user: pwd.struct_passwd | None
    proc: subprocess.Popen | None = None
    wanted: bool = False  # started by us and neither stopped nor killed since
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.dir / "console.log"

    def start(self) -> None:
        user = self.user
        self.wanted = True
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(self.home / "bin" / "elasticsearch")], cwd=self.dir, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                user=user.pw_uid if user else None, group=user.pw_gid if user else None,
                extra_groups=[] if user else None)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        # The launcher and the server JVM it starts share the session made for this node.
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """kill -9 the node (launcher and server), as a crash or the OOM killer would."""
        self.wanted = False
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 60) -> None:
        self.wanted = False
        if not self.running:
            return
        self._signal_group(signal.SIGTERM)
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._signal_group(signal.SIGKILL)  # a server JVM the launcher left behind

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Cluster:
    """`nodes` Elasticsearch nodes on 127.0.0.1, free ports, one cluster of their own.

    With `security`, as deployed with TLS: x-pack security on, user `elastic` with a random
    password, HTTPS with a certificate of a CA made for the cluster (`ca_certs`)."""

    def __init__(self, nodes: int = 1, *, security: bool = False, heap: str = HEAP,
                 version: str | None = None):
        self.size = nodes
        self.security = security
        self.heap = heap
        self.version = version or compose_version()
        self.password = uuid.uuid4().hex if security else None
        self.nodes: list[Node] = []
        self.dir: Path | None = None
        self.ca_certs: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> Cluster:
        home = distribution(self.version)
        java = find_java()
        user = service_user()
        self.dir = Path(tempfile.mkdtemp(prefix="chayue-es-"))
        self.dir.chmod(0o755)
        names = [f"node-{i}" for i in range(self.size)]
        ports = [(free_port(), free_port()) for _ in names]
        for name, (http_port, transport_port) in zip(names, ports, strict=True):
            ndir = self.dir / name
            shutil.copytree(home / "config", ndir / "config")
            for sub in ("data", "logs", "tmp"):
                (ndir / sub).mkdir()
            settings = self._settings(name, ndir, http_port, transport_port, names, [t for _, t in ports])
            if self.security:
                settings.update(self._tls(ndir / "config"))
            with open(ndir / "config" / "elasticsearch.yml", "a", encoding="utf-8") as f:
                f.write("\n# chayue test node\n")
                f.writelines(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ndir), "LANG": "C.UTF-8",
                   "ES_JAVA_HOME": str(java), "ES_PATH_CONF": str(ndir / "config"), "ES_TMPDIR": str(ndir / "tmp"),
                   "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}"}
            node = Node(name, home, ndir, http_port, transport_port, env, user)
            if self.security:
                self._keystore(node)
            if user:
                for path in [ndir, *ndir.rglob("*")]:
                    os.chown(path, user.pw_uid, user.pw_gid)
            self.nodes.append(node)
        for node in self.nodes:
            node.start()
        try:
            self.wait("green", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration -------------------------------------------------------------------
    def _settings(self, name: str, ndir: Path, http_port: int, transport_port: int,
                  names: list[str], transport_ports: list[int]) -> dict[str, Any]:
        s: dict[str, Any] = {
            "cluster.name": f"chayue-test-{self.dir.name if self.dir else 'x'}",
            "node.name": name,
            "path.data": str(ndir / "data"),
            "path.logs": str(ndir / "logs"),
            "network.host": "127.0.0.1",
            "http.port": http_port,
            "transport.port": transport_port,
            # The shared disk may be fuller than the default watermarks allow; a test must
            # not see its index turn read-only for that.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "xpack.security.enabled": self.security,
        }
        if self.size == 1:
            s["discovery.type"] = "single-node"
        else:
            s["discovery.seed_hosts"] = [f"127.0.0.1:{p}" for p in transport_ports]
            s["cluster.initial_master_nodes"] = names
        return s

    def _tls(self, config: Path) -> dict[str, Any]:
        """A CA for this cluster and a certificate for 127.0.0.1/localhost signed by it, for
        HTTP and for the transport between the nodes (security requires TLS there)."""
        assert self.dir is not None
        if self.ca_certs is None:
            self._make_ca()
        shutil.copy(self.dir / "ca.crt", config / "ca.crt")
        shutil.copy(self.dir / "node.crt", config / "node.crt")
        shutil.copy(self.dir / "node.key", config / "node.key")
        pem = {"key": "node.key", "certificate": "node.crt", "certificate_authorities": ["ca.crt"]}
        out: dict[str, Any] = {"xpack.security.http.ssl.enabled": True,
                               "xpack.security.transport.ssl.enabled": True,
                               "xpack.security.transport.ssl.verification_mode": "certificate"}
        for layer in ("http", "transport"):
            out.update({f"xpack.security.{layer}.ssl.{k}": v for k, v in pem.items()})
        return out

    def _make_ca(self) -> None:
        import datetime as dt
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        assert self.dir is not None
        now = dt.datetime.now(dt.UTC)

        def cert(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
            b = (x509.CertificateBuilder()
                 .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                 .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
                 .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
            if ca:
                b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
            else:
                b = b.add_extension(x509.SubjectAlternativeName([
                    x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            return b.sign(signer, hashes.SHA256())

        ca_key, node_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = cert("chayue test CA", ca_key, "chayue test CA", ca_key, True)
        node = cert("localhost", node_key, "chayue test CA", ca_key, False)
        pem = serialization.Encoding.PEM
        (self.dir / "ca.crt").write_bytes(ca.public_bytes(pem))
        (self.dir / "node.crt").write_bytes(node.public_bytes(pem))
        (self.dir / "node.key").write_bytes(node_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.ca_certs = self.dir / "ca.crt"

    def _keystore(self, node: Node) -> None:
        """The `elastic` user's password, as the official image sets it from ELASTIC_PASSWORD:
        `bootstrap.password` in the node's keystore."""
        tool = str(node.home / "bin" / "elasticsearch-keystore")
        env = {**node.env, "ES_JAVA_OPTS": ""}
        for args, given in ((["create"], None), (["add", "-x", "bootstrap.password"], self.password)):
            done = subprocess.run([tool, *args], env=env, input=given, text=True, capture_output=True, timeout=300)
            if done.returncode:
                raise NodeUnavailable(f"elasticsearch-keystore {args[0]} failed: {(done.stdout + done.stderr)[-500:]}")

    # -- talking to it ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.node_url(self.nodes[0])

    def node_url(self, node: Node) -> str:
        return f"{'https' if self.security else 'http'}://127.0.0.1:{node.http_port}"

    @property
    def es_url(self) -> str:
        """ES_URL for chayue: with the credentials in it when security is on."""
        if not self.security:
            return self.url
        return self.url.replace("://", f"://elastic:{self.password}@", 1)

    def request(self, method: str, path: str, body: Any = None, node: Node | None = None,
                timeout: float = 30) -> Any:
        """One JSON request to a node (the first one that runs, unless named)."""
        node = node or next((n for n in self.nodes if n.wanted), self.nodes[0])
        req = Request(self.node_url(node) + path, method=method,
                      data=None if body is None else json.dumps(body).encode(),
                      headers={"Content-Type": "application/json"})
        if self.password:
            token = base64.b64encode(f"elastic:{self.password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        ctx = ssl.create_default_context(cafile=str(self.ca_certs)) if self.ca_certs else None
        with urlopen(req, timeout=timeout, context=ctx) as resp:
            return json.loads(resp.read() or b"null")

    def health(self, node: Node | None = None) -> dict[str, Any]:
        return self.request("GET", "/_cluster/health", node=node)

    def wait(self, status: str = "green", timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Until every running node answers and the cluster has all its nodes at `status`;
        NodeUnavailable (with the end of the node's log) when a node exits or time is up."""
        deadline = time.monotonic() + timeout
        expected = sum(n.wanted for n in self.nodes)
        rank = {"red": 0, "yellow": 1, "green": 2}
        last: Any = None
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.wanted and not node.running:
                    raise NodeUnavailable(f"Elasticsearch node {node.name} exited with {node.proc.returncode}:\n"
                                          f"{node.log_tail()}")
            try:
                last = self.request("GET", f"/_cluster/health?wait_for_nodes={expected}&timeout=2s", timeout=10)
                if rank[last["status"]] >= rank[status] and last["number_of_nodes"] == expected \
                        and not last.get("timed_out"):
                    return last
            except (URLError, HTTPError, OSError, ValueError) as exc:
                last = exc
            time.sleep(1)
        raise NodeUnavailable(f"Elasticsearch did not reach {status} with {expected} node(s) within {timeout:.0f} s "
                              f"(last: {last}):\n{self.nodes[0].log_tail()}")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--security", action="store_true")
    ap.add_argument("--fetch", action="store_true", help="fetch and unpack the distribution, find Java, and exit")
    args = ap.parse_args(argv)
    if args.fetch:
        try:
            home, java = distribution(compose_version()), find_java()
        except NodeUnavailable as exc:
            print(f"Elasticsearch node for the tests: {exc}")
            return 1
        print(f"Elasticsearch node for the tests: {home} (Java {java_major(java)} at {java})")
        return 0
    with Cluster(args.nodes, security=args.security) as es:
        print(f"ES_URL={es.es_url}" + (f" ES_CA_CERTS={es.ca_certs}" if es.ca_certs else ""), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
