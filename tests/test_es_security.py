"""Elasticsearch as deployed with security: the node the suite runs on (tests/es_backend.py)
has x-pack security on, basic auth as `elastic` and HTTPS with a certificate from a CA of its
own, which chayue trusts through ES_CA_CERTS. Every Elasticsearch test already passes through
that; these say what an operator sees when one of the three is wrong: a 503-style
EngineUnavailable naming the server and the cause, never the password."""

from __future__ import annotations

import pytest

from engine.base import EngineUnavailable
from engine.elastic import ElasticBackend
from settings import Settings
from tests.es_backend import es_connection, own_node


@pytest.fixture(scope="module")
def node():
    es_connection()  # starts the suite's node, or skips (fails in CI) saying why
    node = own_node()
    if node is None:
        pytest.skip("ES_URL names a server of its own: its security is not this test's to know")
    return node


def _open(**env) -> ElasticBackend:
    return ElasticBackend.from_settings(Settings(engine="elasticsearch", es_index="chayue-security-check", **env),
                                        writable=True)


def test_the_suite_runs_on_https_with_basic_auth_and_its_own_ca(node):
    assert node.url.startswith("https://") and node.ca_certs is not None
    backend = _open(ES_URL=node.es_url, ES_CA_CERTS=str(node.ca_certs))
    try:
        assert backend.generation is not None  # created its indices: authenticated, TLS verified
    finally:
        for index in backend._alias_targets():
            backend.client.indices.delete(index=index)
        backend.close()


def test_a_wrong_password_is_refused_without_showing_it(node):
    with pytest.raises(EngineUnavailable) as err:
        _open(ES_URL=node.url, ES_PASSWORD="wrong-Pa55word", ES_CA_CERTS=str(node.ca_certs))
    assert "HTTP 401" in str(err.value) and "ES_PASSWORD" in str(err.value)
    assert "wrong-Pa55word" not in str(err.value)


def test_no_password_is_refused(node):
    with pytest.raises(EngineUnavailable, match="HTTP 401"):
        _open(ES_URL=node.url, ES_CA_CERTS=str(node.ca_certs))


def test_a_server_certificate_from_an_unknown_ca_is_not_trusted(node):
    # Without ES_CA_CERTS the system's CAs are used, and none of them signed the node's certificate.
    with pytest.raises(EngineUnavailable, match="not reachable") as err:
        _open(ES_URL=node.es_url)
    assert node.password not in str(err.value)
    assert "certificate" in str(err.value).lower() or "ssl" in str(err.value).lower()


def test_plain_http_to_the_https_port_is_not_reachable(node):
    with pytest.raises(EngineUnavailable, match="not reachable"):
        _open(ES_URL=node.es_url.replace("https://", "http://"))


def test_a_ca_for_a_plain_http_url_is_a_clear_error_not_a_traceback(node):
    with pytest.raises(EngineUnavailable, match="https") as err:
        _open(ES_URL=node.es_url.replace("https://", "http://"), ES_CA_CERTS=str(node.ca_certs))
    assert node.password not in str(err.value)
