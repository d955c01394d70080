"""The Elasticsearch backend: the query tree translated to Query DSL (`to_dsl`, `search_body`,
pure and tested without a server) and executed with the official client.

One concrete index per access level, `<alias>-<UTC timestamp>-<level>`, created from
mappings/documents.json; each is behind its level's alias `<alias>-<level>` and behind the
alias `<alias>` (`settings.es_index`) that names them all. A caller searches the indices of
the levels their audience may see, with `dfs_query_then_fetch` when there are several, so
scores use the term statistics of exactly those documents and nothing hidden shapes them
(docs/decisions/access-tiers.md). A full re-index builds a new set beside the live one and
swaps the aliases in one atomic `_aliases` call."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from elasticsearch import (
    ApiError, AuthenticationException, AuthorizationException, Elasticsearch, NotFoundError,
    TransportError, UnsupportedProductError,
)
from elasticsearch.helpers import streaming_bulk

from engine.base import EngineUnavailable, InvalidCursor
from engine.model import ACCESS_FOR, ACCESS_LEVELS, FacetValue, Hit, SearchResult
from engine.query import (
    Bool, Boost, ConstScore, Fuzzy, MatchAll, MatchNone, NearPhrase, Node, Phrase, Prefix, Range, SearchSpec, Term,
    Terms,
)
from engine.schema import MULTI_VALUED, catalogue, fields

BULK_CHUNK = 500
FACET_AGG = "values"  # name of the terms agg inside each facet's filter agg
Json = dict[str, Any]


class BulkWriteError(RuntimeError):
    """Some documents were refused by Elasticsearch; the others were written.

    `failed` maps each refused id to Elasticsearch's reason, so the indexer can record the
    file as failed in the ledger instead of losing it."""

    def __init__(self, action: str, failed: dict[str, str]):
        self.failed = failed
        shown = "; ".join(f"{i}: {r}" for i, r in list(failed.items())[:10])
        more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
        super().__init__(f"Elasticsearch refused {len(failed)} {action}(s): {shown}{more}")


# -- values ------------------------------------------------------------------------------

def _date_format(field: str) -> str | None:
    return catalogue()["mappings"]["properties"].get(field, {}).get("format")


def es_value(field: str, value: Any) -> Any:
    """A value as the field's mapping accepts it: `strict_date` fields take `YYYY-MM-DD`
    only (a datetime is cut to its day), other dates take ISO datetimes."""
    spec = fields().get(field)
    ftype = spec.type if spec else "keyword"
    if ftype == "date":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value) if "T" in value or " " in value \
                    else dt.date.fromisoformat(value)
            except ValueError:
                return value  # let Elasticsearch say what is wrong with it
        if _date_format(field) == "strict_date":
            return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
        return value.isoformat()
    if ftype == "integer":
        return int(value)
    if ftype == "float":
        return float(value)
    if ftype == "boolean":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def to_source(record: dict[str, Any]) -> Json:
    """A record from engine.record as the `_source` of its document."""
    out: Json = {}
    for name, value in record.items():
        if isinstance(value, (list, tuple)):
            out[name] = [es_value(name, v) for v in value]
        else:
            out[name] = es_value(name, value)
    return out


def from_source(source: Json) -> Json:
    """`_source` back to the shape the embedded engine returns: multi-valued fields as
    lists, every other field as one value (the `_source` keeps whatever was sent)."""
    out: Json = {}
    for name, value in source.items():
        if name in MULTI_VALUED:
            out[name] = value if isinstance(value, list) else [value]
        elif isinstance(value, list):
            if value:
                out[name] = value[0]
        else:
            out[name] = value
    return out


# -- query tree → Query DSL ------------------------------------------------------------------

def to_dsl(node: Node, *, scoring: bool = True) -> Json:
    """Translate one query node. `scoring=False` marks filter context (bool filter and
    must_not, constant_score, post_filter, filter aggs), where a score is never computed,
    so `terms` can replace the scored bool of terms and boosts can be dropped."""
    if isinstance(node, Term):
        return {"term": {node.field: {"value": es_value(node.field, node.value)}}}
    if isinstance(node, Terms):
        if not node.values:
            return {"match_none": {}}
        values = [es_value(node.field, v) for v in node.values]
        if not scoring:
            return {"terms": {node.field: values}}
        if len(values) == 1:
            return {"term": {node.field: {"value": values[0]}}}
        # Scored like the embedded engine: a sum of term scores, not the constant `terms` score.
        return {"bool": {"should": [{"term": {node.field: {"value": v}}} for v in values]}}
    if isinstance(node, Phrase):
        if not node.tokens:
            return {"match_none": {}}
        # The field's analyzer is `whitespace`: the tokens are already cut, so
        # joining them with single spaces gives back exactly these tokens and positions.
        return {"match_phrase": {node.field: {"query": " ".join(node.tokens)}}}
    if isinstance(node, NearPhrase):
        # The two sides each a phrase (max_gaps 0), in order, at most max_gap positions apart.
        # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-intervals-query
        sides = [{"match": {"query": " ".join(side), "max_gaps": 0, "ordered": True}}
                 for side in (node.head, node.tail)]
        return {"intervals": {node.field: {"all_of": {"intervals": sides, "max_gaps": node.max_gap,
                                                      "ordered": True}}}}
    if isinstance(node, Fuzzy):
        # Levenshtein distance with a swap of two neighbours as one edit, as tantivy's
        # transposition_cost_one; no prefix held fixed.
        # https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-fuzzy-query
        return {"fuzzy": {node.field: {"value": node.value, "fuzziness": node.distance,
                                       "transpositions": True, "prefix_length": 0}}}
    if isinstance(node, Prefix):
        return {"prefix": {node.field: {"value": node.value}}}
    if isinstance(node, Range):
        bounds: Json = {}
        if node.gte is not None:
            bounds["gte"] = es_value(node.field, node.gte)
        if node.lte is not None:
            bounds["lte"] = es_value(node.field, node.lte)
        if not bounds:
            return {"exists": {"field": node.field}}
        return {"range": {node.field: bounds}}
    if isinstance(node, Bool):
        body: Json = {}
        if node.must:
            body["must"] = [to_dsl(n, scoring=scoring) for n in node.must]
        if node.filter:
            body["filter"] = [to_dsl(n, scoring=False) for n in node.filter]
        if node.should:
            body["should"] = [to_dsl(n, scoring=scoring) for n in node.should]
        if node.must_not:
            body["must_not"] = [to_dsl(n, scoring=False) for n in node.must_not]
        if not (node.must or node.filter or node.should):
            # Only must_not (or nothing): all documents but those, scored 1 like the
            # embedded engine's all-query; said explicitly rather than left to a default.
            body["must"] = [{"match_all": {}}]
        return {"bool": body}
    if isinstance(node, Boost):
        inner = to_dsl(node.query, scoring=scoring)
        if not scoring:
            return inner
        return {"bool": {"must": [inner], "boost": node.boost}}
    if isinstance(node, ConstScore):
        inner = to_dsl(node.query, scoring=False)
        if not scoring:
            return inner
        return {"constant_score": {"filter": inner, "boost": node.score}}
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, MatchNone):
        return {"match_none": {}}
    raise TypeError(f"unknown query node {node!r}")


def _filter_dsl(nodes: Sequence[Node]) -> Json:
    if not nodes:
        return {"match_all": {}}
    if len(nodes) == 1:
        return to_dsl(nodes[0], scoring=False)
    return {"bool": {"filter": [to_dsl(n, scoring=False) for n in nodes]}}


SORTS: dict[str, list[Json]] = {
    # `id` is a keyword with doc values, unique per document: the tiebreak search_after needs.
    "relevance": [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}],
    "date_desc": [{"date": {"order": "desc", "missing": "_last"}}, {"id": {"order": "asc"}}],
    "date_asc": [{"date": {"order": "asc", "missing": "_last"}}, {"id": {"order": "asc"}}],
}


def check_search_after(spec: SearchSpec) -> None:
    """A search_after key has one value per sort key: the score (a number) or the date
    (epoch millis, or an ISO date), then the id. Anything else came from a forged cursor and
    would make Elasticsearch answer 400."""
    after = spec.search_after or []
    if len(after) != len(SORTS[spec.sort]) or not isinstance(after[-1], str):
        raise InvalidCursor("search_after does not fit the sort")
    first = after[0]
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return
    if spec.sort != "relevance" and isinstance(first, str):
        try:
            dt.date.fromisoformat(first)
            return
        except ValueError:
            pass
    raise InvalidCursor("search_after does not fit the sort")


def search_body(spec: SearchSpec) -> Json:
    """The `_search` request body for a spec.

    Disjunctive facets use the documented post_filter pattern ("Filter search results",
    Elasticsearch reference): a filter keyed by a requested facet goes to `post_filter`,
    which narrows the hits but not the aggregations; every other filter (the audience's
    access filter among them) goes into the query's bool `filter`, which narrows both.
    Facet F is then a `filter` aggregation over the post filters except F's, wrapping a
    `terms` aggregation; so the hits match the query and every filter, and F's counts match
    the query and every filter but F's, as SearchSpec asks. No `global` aggregation is
    needed, so the access filter can never be escaped by a facet count."""
    post_keys = [k for k in spec.filters if k in spec.facets]
    query_filters = tuple(n for k, n in spec.filters.items() if k not in post_keys)
    # The bonus clauses only move scores: a count-only request leaves them out.
    scored = spec.scored_query() if spec.size > 0 else spec.query
    query = Bool(must=(scored,), filter=query_filters) if query_filters else scored
    body: Json = {"query": to_dsl(query), "track_total_hits": True, "size": spec.size}
    if post_keys:
        body["post_filter"] = _filter_dsl([spec.filters[k] for k in post_keys])
    if spec.size > 0:
        body["sort"] = SORTS[spec.sort]
        if spec.search_after:
            body["search_after"] = list(spec.search_after)  # `from` must stay 0 with it
        elif spec.offset:
            body["from"] = spec.offset
    if spec.fields is not None:
        body["_source"] = {"includes": list(dict.fromkeys((*spec.fields, "id")))}
    if spec.facets:
        body["aggs"] = {
            f: {
                "filter": _filter_dsl([spec.filters[k] for k in post_keys if k != f]),
                "aggs": {FACET_AGG: {"terms": {
                    "field": f,
                    "size": spec.facet_size,
                    # Spelled out so the cut at facet_size keeps the same values as our sort.
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }}},
            }
            for f in spec.facets
        }
    return body


def parse_response(spec: SearchSpec, resp: Json) -> SearchResult:
    """A `_search` response as a SearchResult shaped like the embedded engine's."""
    hits = []
    for h in resp["hits"]["hits"]:
        stored = from_source(h.get("_source") or {})
        stored.setdefault("id", h["_id"])
        hits.append(Hit(id=h["_id"], score=float(h.get("_score") or 0.0), fields=stored,
                        sort=h.get("sort")))
    facets: dict[str, list[FacetValue]] = {}
    aggs = resp.get("aggregations") or {}
    for f in spec.facets:
        buckets = aggs.get(f, {}).get(FACET_AGG, {}).get("buckets", [])
        values = [FacetValue(str(b.get("key_as_string", b["key"])), int(b["doc_count"])) for b in buckets]
        facets[f] = sorted(values, key=lambda v: (-v.count, v.value))
    total = resp["hits"]["total"]
    return SearchResult(total=int(total["value"] if isinstance(total, dict) else total), hits=hits,
                        facets=facets, took_ms=float(resp.get("took", 0)),
                        partial=bool((resp.get("_shards") or {}).get("failed")) or bool(resp.get("timed_out")))


# -- index lifecycle ---------------------------------------------------------------------------

def index_body() -> Json:
    """settings + mappings from the catalogue as they are (its `_comment` is not an
    index-creation key, and Elasticsearch rejects unknown keys)."""
    cat = catalogue()
    return {"settings": cat["settings"], "mappings": cat["mappings"]}


def new_index_name(alias: str, now: dt.datetime | None = None) -> str:
    """The base name of a new set of indices (one per access level: see level_indices)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{alias}-{now:%Y%m%d-%H%M%S-%f}"  # index names must be lower case


def level_alias(alias: str, level: str) -> str:
    return f"{alias}-{level}"


def level_indices(base: str) -> dict[str, str]:
    """The concrete index of each access level in the set named `base`."""
    return {level: f"{base}-{level}" for level in ACCESS_LEVELS}


def level_of(index: str) -> str | None:
    """Which access level a concrete index holds (None for an index from before the levels)."""
    return next((lvl for lvl in ACCESS_LEVELS if index.endswith(f"-{lvl}")), None)


def alias_swap_actions(alias: str, new: dict[str, str], old_indices: Iterable[str]) -> list[Json]:
    """One `_aliases` request: every remove and every add happen atomically, so a reader
    sees the old set of indices or the new one, never neither or a mix."""
    actions: list[Json] = []
    for old in old_indices:
        actions.append({"remove": {"index": old, "alias": alias}})
        if (lvl := level_of(old)) is not None:
            actions.append({"remove": {"index": old, "alias": level_alias(alias, lvl)}})
    for lvl, index in new.items():
        actions.append({"add": {"index": index, "alias": alias}})
        actions.append({"add": {"index": index, "alias": level_alias(alias, lvl)}})
    return actions


def search_target(alias: str, spec: SearchSpec) -> Json:
    """Where a search goes: the level aliases the audience may see (every index for none),
    and `dfs_query_then_fetch` when that is several indices and hits are scored, so the term
    statistics are gathered over exactly the searched documents, as in one index of them
    (query_then_fetch would score each index's hits by that index's statistics alone)."""
    if spec.audience is None:
        indices = [alias]
    else:
        indices = [level_alias(alias, lvl) for lvl in ACCESS_FOR[spec.audience]]
    several = spec.audience is None or len(indices) > 1
    target: Json = {"index": indices}
    if several and spec.size > 0:
        target["search_type"] = "dfs_query_then_fetch"
    return target


def split_url(url: str, user: str | None, password: str | None) -> tuple[str, tuple[str, str] | None]:
    """ES_URL may carry `user:password@`; take it out so the URL can be shown in messages
    and the credentials travel only as basic auth."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        user = unquote(parts.username or "") or user
        password = unquote(parts.password or "") or password
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url, ((user or "elastic", password) if password else None)


class ElasticBackend:
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch, alias: str, *, writable: bool = False,
                 where: str = "Elasticsearch", secrets: Sequence[str] = ()):
        self.client = client
        self.alias = alias
        self._writable = writable
        self._where = where  # URL without credentials, for messages
        self._secrets = tuple(s for s in secrets if s)
        self._building: dict[str, str] | None = None  # indices being filled by a full re-index

    @classmethod
    def from_settings(cls, settings: Any, *, writable: bool = False) -> ElasticBackend:
        if not settings.es_url:
            raise EngineUnavailable("CHAYUE_ENGINE=elasticsearch but ES_URL is not set")
        url, auth = split_url(settings.es_url, settings.es_user, settings.es_password)
        try:
            client = Elasticsearch(url, basic_auth=auth, ca_certs=settings.es_ca_certs,
                                   request_timeout=30, max_retries=2, retry_on_timeout=True)
        except ValueError as exc:  # e.g. ES_CA_CERTS with an http:// URL: the client refuses TLS options
            raise EngineUnavailable(f"Elasticsearch at {url}: {exc} (ES_URL, ES_CA_CERTS)") from exc
        backend = cls(client, settings.es_index, writable=writable, where=url,
                      secrets=(auth[1],) if auth else ())
        if writable:
            backend.ensure_index()
        return backend

    # -- errors ------------------------------------------------------------------------
    def _clean(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    @contextmanager
    def _calling(self, action: str) -> Iterator[None]:
        """Connection, TLS, auth and overload errors become EngineUnavailable (the api
        answers 503) with a message naming the server but never the password."""
        try:
            yield
        except (AuthenticationException, AuthorizationException) as exc:
            raise EngineUnavailable(self._clean(
                f"Elasticsearch at {self._where} refused {action} (HTTP {exc.meta.status}, {exc.error}): "
                "check ES_USER and ES_PASSWORD")) from exc
        except NotFoundError as exc:
            if exc.error in ("index_not_found_exception", "alias_not_found_exception"):
                raise EngineUnavailable(
                    f"no index behind alias {self.alias!r} at {self._where}: run `chayue index` first") from exc
            raise
        except UnsupportedProductError as exc:
            raise EngineUnavailable(f"{self._where} is not an Elasticsearch server") from exc
        except ApiError as exc:
            if exc.meta.status in (429, 502, 503, 504):
                raise EngineUnavailable(self._clean(
                    f"Elasticsearch at {self._where} is unavailable for {action} (HTTP {exc.meta.status}, "
                    f"{exc.error})")) from exc
            raise
        except TransportError as exc:  # connection refused, timeout, TLS, serialisation
            raise EngineUnavailable(self._clean(
                f"Elasticsearch at {self._where} is not reachable for {action}: {type(exc).__name__}: "
                f"{exc.message}")) from exc

    # -- index lifecycle -------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("this engine was opened read-only")

    def _create_set(self, *, with_aliases: bool) -> dict[str, str]:
        body = index_body()
        indices = level_indices(new_index_name(self.alias))
        with self._calling("creating an index"):
            for lvl, name in indices.items():
                aliases: dict[str, dict] | None = \
                    {self.alias: {}, level_alias(self.alias, lvl): {}} if with_aliases else None
                self.client.indices.create(index=name, settings=body["settings"], mappings=body["mappings"],
                                           aliases=aliases)
        return indices

    def _alias_targets(self) -> list[str]:
        with self._calling("reading the alias"):
            try:
                return sorted(self.client.indices.get_alias(name=self.alias).body)
            except NotFoundError:
                return []

    def ensure_index(self) -> None:
        """Create the first set of indices behind the aliases if there is none yet; an index
        from before the access levels (one for everyone) is replaced by an empty set, whose
        new generation tells the ledger to read every file again."""
        self._require_writable()
        targets = self._alias_targets()
        if not targets:
            self._create_set(with_aliases=True)
        elif {level_of(t) for t in targets} != set(ACCESS_LEVELS):
            self.begin_reindex()
            self.finish_reindex()

    def begin_reindex(self) -> str:
        """Start a full re-index: writes go to a new set of indices that readers do not see
        until finish_reindex swaps the aliases. Returns the set's base name."""
        self._require_writable()
        self._building = self._create_set(with_aliases=False)
        return self._building["open"].removesuffix("-open")

    def finish_reindex(self) -> None:
        """Refresh the new indices, point the aliases at them atomically, delete the old ones."""
        if self._building is None:
            raise RuntimeError("finish_reindex without begin_reindex")
        new = self._building
        old = [i for i in self._alias_targets() if i not in new.values()]
        with self._calling("swapping the alias"):
            self.client.indices.refresh(index=list(new.values()))
            self.client.indices.update_aliases(actions=alias_swap_actions(self.alias, new, old))
            self._building = None
            for index in old:
                self.client.indices.delete(index=index)

    def abort_reindex(self) -> None:
        """Drop the half-built indices; the aliases were never moved."""
        if self._building is not None:
            with self._calling("dropping the unfinished index"):
                self.client.indices.delete(index=list(self._building.values()))
            self._building = None

    @property
    def generation(self) -> str | None:
        """The concrete indices behind the alias: a new set means every file must be redone."""
        targets = self._alias_targets()
        return targets[-1] if targets else None

    def _target(self, level: str) -> str:
        return self._building[level] if self._building else level_alias(self.alias, level)

    # -- writes ------------------------------------------------------------------------------
    def _bulk(self, action: str, actions: Iterable[Json], ignore_status: tuple[int, ...] = ()) -> int:
        ok, failed = 0, {}
        with self._calling(f"bulk {action}"):
            for success, item in streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK,
                                                raise_on_error=False, max_retries=3,
                                                ignore_status=ignore_status):
                result = next(iter(item.values()))
                if success or result.get("status") in ignore_status:
                    ok += 1
                else:
                    err = result.get("error", {})
                    reason = f"{err.get('type')}: {err.get('reason')}" if isinstance(err, dict) else str(err)
                    failed[str(result.get("_id"))] = reason
        if failed:
            raise BulkWriteError(action, failed)
        return ok

    def upsert(self, records: Iterable[dict[str, Any]]) -> int:
        """Each record into its access level's index, and out of the others (its level may have
        changed; deleting what is not there is not an error)."""
        self._require_writable()
        n = 0

        def actions() -> Iterator[Json]:
            nonlocal n
            for rec in records:
                level = rec.get("access", "open")
                n += 1
                yield {"_op_type": "index", "_index": self._target(level), "_id": rec["id"], "_source": to_source(rec)}
                for other in ACCESS_LEVELS:
                    if other != level:
                        yield {"_op_type": "delete", "_index": self._target(other), "_id": rec["id"]}

        self._bulk("index", actions(), ignore_status=(404,))
        return n

    def delete(self, ids: Iterable[str]) -> None:
        self._require_writable()
        # A missing document is already deleted: 404 is not an error here.
        self._bulk("delete", ({"_op_type": "delete", "_index": self._target(lvl), "_id": i}
                              for i in ids for lvl in ACCESS_LEVELS), ignore_status=(404,))

    def commit(self) -> None:
        """Make the writes visible to searches (Elasticsearch writes are durable already)."""
        with self._calling("refresh"):
            self.client.indices.refresh(index=list(self._building.values()) if self._building else self.alias)

    # -- reads ----------------------------------------------------------------------------------
    def execute(self, spec: SearchSpec) -> SearchResult:
        started = time.perf_counter()
        if spec.search_after is not None:
            check_search_after(spec)
        with self._calling("search"):
            resp = self.client.search(**search_target(self.alias, spec), **search_body(spec))
        result = parse_response(spec, resp.body)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def info(self) -> dict[str, Any]:
        with self._calling("reading index statistics"):
            counted = self.client.search(index=self.alias, size=0, track_total_hits=True,
                                         aggs={"last": {"max": {"field": "indexed_at"}}}).body
            stats = self.client.indices.stats(index=self.alias, metric="store").body
            created = self.client.indices.get_settings(index=self.alias, name="index.creation_date").body
        indices = sorted(created)
        millis = [int(s["settings"]["index"]["creation_date"]) for s in created.values()]
        return {
            "engine": self.name,
            "alias": self.alias,
            "indices": indices,
            "documents": int(counted["hits"]["total"]["value"]),
            "index_bytes": int(stats["_all"]["primaries"]["store"]["size_in_bytes"]),
            # Elasticsearch keeps no "last refresh" time; the newest indexed_at is the moment
            # the last visible write was made.
            "last_commit": counted.get("aggregations", {}).get("last", {}).get("value_as_string"),
            "created": dt.datetime.fromtimestamp(max(millis) / 1000, dt.UTC).isoformat(
                timespec="seconds") if millis else None,
        }

    def close(self) -> None:
        self.client.close()
