"""A three-node Elasticsearch cluster loses a node, kill -9, while `chayue index` writes into
it and the api answers searches: no document is lost (the ledger and the index agree),
searches keep answering, the indexer resumes, and the cluster is green again once the node
is back. The counts checked are printed (pytest -s, or the captured output on failure).

Runs on the tests' own nodes (tests/es_node.py), never on ES_URL: a test that kills nodes
is not pointed at someone's server."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan
from fastapi.testclient import TestClient

from api.app import create_app
from indexer.ledger import INDEXED, Ledger
from settings import Settings
from tests.es_backend import skip_or_fail
from tests.es_node import Cluster, NodeUnavailable

pytestmark = pytest.mark.slow

FILES = 2400
ALIAS = "chayue-loss"
WORDS = ["湿地", "保护", "候鸟", "迁徙", "档案", "管理", "通知", "报告", "调查", "水源", "森林", "草原", "渔业", "资源"]


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get("CHAYUE_TEST_ES") == "off":
        skip_or_fail("CHAYUE_TEST_ES=off: no Elasticsearch cluster for this run")
    es = Cluster(nodes=3, heap="384m")
    try:
        es.start(timeout=600)
    except (NodeUnavailable, OSError) as exc:
        skip_or_fail(f"no three-node Elasticsearch {es.version} cluster could start here: {exc}")
    yield es
    es.stop()


def _corpus(root: Path) -> None:
    rng = random.Random(26)
    root.mkdir()
    for i in range(FILES):
        body = "".join(rng.choice(WORDS) for _ in range(120))
        (root / f"{i:05d}.txt").write_text(f"关于第{i}号湿地档案的通知\n\n{body}。编号{i:05d}。\n", encoding="utf-8")


def _index(corpus: Path, data: Path, url: str, log: Path) -> subprocess.Popen:
    """`chayue index` in its own process, as an operator runs it, its output to `log`."""
    env = {**os.environ, "CHAYUE_ENGINE": "elasticsearch", "ES_URL": url, "CHAYUE_ES_INDEX": ALIAS,
           "CHAYUE_DATA": str(data)}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "indexer.cli", "index", str(corpus), "--data", str(data),
                                 "--quiet"], env=env, stdout=out, stderr=subprocess.STDOUT)


def _count(es: Cluster) -> int:
    try:
        return int(es.request("GET", f"/{ALIAS}/_count")["count"])
    except Exception:
        return 0  # no index yet


def _victim(es: Cluster) -> int:
    """A node other than the one chayue talks to, holding a primary of ours if one does."""
    shards = es.request("GET", f"/_cat/shards/{ALIAS}*?format=json&h=index,prirep,node")
    primaries = {s["node"] for s in shards if s["prirep"] == "p"}
    others = [i for i, n in enumerate(es.nodes) if i != 0]
    return next((i for i in others if es.nodes[i].name in primaries), others[0])


def test_a_node_killed_while_indexing_and_searching_loses_nothing(cluster, tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    _corpus(corpus)
    url = cluster.url  # node-0: the indexer and the api talk to it; another node is killed
    indexer = _index(corpus, data, url, tmp_path / "first.log")

    statuses: dict[int, int] = {}
    searches_after_kill = 0
    partial = 0
    victim = None
    settings = Settings(engine="elasticsearch", es_index=ALIAS, data=data, ES_URL=url)
    with TestClient(create_app(settings)) as api:
        killed_at = 0
        while indexer.poll() is None:
            indexed = _count(cluster)
            if victim is None and indexed >= FILES // 4:
                victim = _victim(cluster)
                cluster.nodes[victim].kill()
                killed_at = indexed
                print(f"killed {cluster.nodes[victim].name} (kill -9) with {indexed} of {FILES} documents in the index")
            if indexed:
                resp = api.get("/api/search", params={"q": "湿地 档案", "size": 5})
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if victim is not None:
                    searches_after_kill += 1
                    partial += bool(resp.status_code == 200 and resp.json().get("partial"))
            time.sleep(0.05)
        first_run = indexer.returncode
        output = (tmp_path / "first.log").read_text(encoding="utf-8", errors="replace")
        print(f"first `chayue index` run exited {first_run}; searches: {statuses} "
              f"({searches_after_kill} after the kill, {partial} said partial)")
        assert victim is not None, f"the index run ended before a node could be killed:\n{output[-2000:]}"
        assert killed_at < FILES

        # The indexer resumes: a second run finishes what the first could not (nothing, if
        # the cluster took every write).
        second = _index(corpus, data, url, tmp_path / "second.log")
        second.wait(timeout=900)
        print(f"second `chayue index` run exited {second.returncode}")
        assert second.returncode == 0, (tmp_path / "second.log").read_text(encoding="utf-8")[-3000:]

        # Searches kept answering, while the node was gone too.
        assert searches_after_kill > 0
        assert set(statuses) == {200}, statuses

        # The node comes back; the cluster returns to green.
        cluster.nodes[victim].start()
        health = cluster.wait("green", timeout=600)
        print(f"{cluster.nodes[victim].name} back: cluster {health['status']}, {health['number_of_nodes']} nodes, "
              f"{health['active_shards']} active shards")

        # The ledger and the index agree, document for document.
        ledger = Ledger(data / "ledger.sqlite")
        entries = ledger.entries()
        ledger.close()
        indexed_ids = {e.doc_id for e in entries if e.status == INDEXED}
        not_indexed = [(e.path, e.status, e.reason) for e in entries if e.status != INDEXED]
        client = Elasticsearch(url)
        in_es = [h["_id"] for h in scan(client, index=ALIAS, query={"query": {"match_all": {}}}, _source=False)]
        client.close()
        print(f"ledger: {len(entries)} files, {len(indexed_ids)} indexed; Elasticsearch: {len(in_es)} documents, "
              f"{len(set(in_es))} distinct")
        assert not not_indexed
        assert len(entries) == FILES
        assert len(in_es) == len(set(in_es)) == FILES
        assert set(in_es) == indexed_ids
        total = api.get("/api/search", params={"q": "湿地 档案"}).json()["total"]
        print(f"a search for 湿地 档案 after recovery counts {total}")
        assert total == FILES
