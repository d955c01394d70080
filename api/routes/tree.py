"""The finding aid: GET /api/tree (a node of the arrangement, its children and items, with
counts) and GET /api/tree/of/{id} (an item's breadcrumbs, previous and next item in its 案卷).

Everything is read through the engine with the caller's audience: a node exists for a caller
only while it holds an item they may see, its counts count only those, and its label comes
from a visible item (indexer/arrangement.py, engine/record.tree_fields)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path as PathParam, Query
from pydantic import BaseModel

from api.deps import get_audience, get_engine
from api.errors import ERROR_RESPONSES, bad_request, not_found
from engine import Engine
from engine.model import Audience
from engine.query import MatchAll, Node, SearchSpec, Term
from engine.record import TREE_DEPTH

router = APIRouter(prefix="/api/tree", tags=["finding aid"])

MAX_CHILDREN = 500
MAX_ITEMS = 1000
LABEL_HITS = 20  # visible items read for a node's label
ITEM_FIELDS = ("id", "title", "item_no", "archival_code", "date", "year", "doc_type", "pages", "tree_parent")
NodeKey = Annotated[str, Query(max_length=300, description="a node's key: its codes from the top joined by /")]


class NodeOut(BaseModel):
    path: str
    kind: str
    code: str
    label: str = ""
    count: int


class ItemOut(BaseModel):
    id: str
    title: str
    item_no: str | None = None
    archival_code: str | None = None
    date: str | None = None
    doc_type: str | None = None
    pages: int | None = None


class TreeOut(BaseModel):
    node: NodeOut | None  # None at the top (the fonds are its children)
    breadcrumbs: list[NodeOut]
    children: list[NodeOut]
    items: list[ItemOut]  # the items right under this node (a 案卷's 件), in order
    items_total: int


class PlaceOut(BaseModel):
    breadcrumbs: list[NodeOut]
    item_no: str | None = None
    position: int  # 1-based among the items of its 案卷 the caller may see
    of: int
    previous: ItemOut | None = None
    next: ItemOut | None = None


def depth_of(path: str) -> int:
    """How far down a node key is (1 for a 全宗); a key the index cannot hold is a 400."""
    parts = path.split("/")
    if not path or any(not p for p in parts) or len(parts) > TREE_DEPTH:
        raise bad_request("单元编号无效 / not a node key")
    return len(parts)


def node_filter(path: str) -> Node:
    """The items at or below a node: what a search within the node is filtered by."""
    return Term(f"tree_{depth_of(path)}", path)


def item_key(fields: dict[str, Any]) -> tuple[float, str, str]:
    """Items in their 件号 order: by number where it is one, then as written, then by id."""
    no = str(fields.get("item_no") or "")
    return (int(no) if no.isdigit() else math.inf, no, str(fields.get("id", "")))


def _nodes(fields: dict[str, Any]) -> list[list[str]]:
    try:
        nodes = json.loads(fields.get("tree_nodes") or "[]")
    except ValueError:
        return []
    return nodes if isinstance(nodes, list) else []


def _labelled(hits: list[Any], depth: int) -> list[list[str]]:
    """The nodes as the visible item that labels most of them records them (an open item in
    a closed 案卷 carries no title for it; its neighbours may)."""
    best: list[list[str]] = []
    for hit in hits:
        nodes = _nodes(hit.fields)[:depth]
        if sum(1 for n in nodes if len(n) > 2 and n[2]) > sum(1 for n in best if len(n) > 2 and n[2]) or not best:
            best = nodes
    return best


def _describe(engine: Engine, audience: Audience, path: str, count: int) -> NodeOut:
    """A node's kind and label, as a visible item under it records them."""
    depth = depth_of(path)
    spec = SearchSpec(query=Term(f"tree_{depth}", path), size=LABEL_HITS, fields=("tree_nodes",))
    nodes = _labelled(engine.search(spec, audience).hits, depth)
    kind, code, label = (nodes[depth - 1] + ["", "", ""])[:3] if len(nodes) >= depth else ("", path.rsplit("/", 1)[-1], "")
    return NodeOut(path=path, kind=str(kind), code=str(code), label=str(label), count=count)


def _breadcrumbs(engine: Engine, audience: Audience, nodes: list[list[str]], paths: list[str]) -> list[NodeOut]:
    out = []
    for i, (node, path) in enumerate(zip(nodes, paths)):
        count = engine.count(Term(f"tree_{i + 1}", path), audience)
        kind, code, label = (list(node) + ["", "", ""])[:3]
        out.append(NodeOut(path=path, kind=str(kind), code=str(code), label=str(label), count=count))
    return out


def _item(fields: dict[str, Any]) -> ItemOut:
    return ItemOut(id=fields["id"], title=fields.get("title", ""), item_no=fields.get("item_no"),
                   archival_code=fields.get("archival_code"), date=fields.get("date"),
                   doc_type=fields.get("doc_type"), pages=fields.get("pages"))


def _items_under(engine: Engine, audience: Audience, parent: str) -> tuple[list[dict[str, Any]], int]:
    spec = SearchSpec(query=Term("tree_parent", parent), size=MAX_ITEMS, fields=ITEM_FIELDS)
    res = engine.search(spec, audience)
    return sorted((h.fields for h in res.hits), key=item_key), res.total


@router.get("", response_model=TreeOut, responses=ERROR_RESPONSES, summary="A node of the arrangement with its children")
def tree(
    node: NodeKey = "",
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> TreeOut:
    depth = depth_of(node) if node else 0
    if depth >= TREE_DEPTH:
        child_field = None
    else:
        child_field = f"tree_{depth + 1}"
    query: Node = Term(f"tree_{depth}", node) if node else MatchAll()
    spec = SearchSpec(query=query, size=LABEL_HITS, fields=("tree_nodes",),
                      facets=(child_field,) if child_field else (), facet_size=MAX_CHILDREN)
    res = engine.search(spec, audience)
    if node and res.total == 0:
        raise not_found()  # a node with nothing the caller may see does not exist for them
    children = sorted(((v.value, v.count) for v in res.facets.get(child_field or "", []) if v.value),
                      key=lambda vc: item_key({"item_no": vc[0].rsplit("/", 1)[-1], "id": vc[0]}))
    breadcrumbs: list[NodeOut] = []
    current = None
    if node and res.hits:
        nodes = _labelled(res.hits, depth)
        paths = ["/".join(node.split("/")[:i + 1]) for i in range(depth)]
        breadcrumbs = _breadcrumbs(engine, audience, nodes, paths)
        current = breadcrumbs[-1] if breadcrumbs else None
    items, total = _items_under(engine, audience, node) if node else ([], 0)
    return TreeOut(node=current, breadcrumbs=breadcrumbs,
                   children=[_describe(engine, audience, path, count) for path, count in children],
                   items=[_item(f) for f in items], items_total=total)


@router.get("/of/{doc_id}", response_model=PlaceOut, responses=ERROR_RESPONSES,
            summary="An item's place: breadcrumbs, previous and next item in its 案卷")
def place(
    doc_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    engine: Engine = Depends(get_engine),
    audience: Audience = Depends(get_audience),
) -> PlaceOut:
    doc = engine.get(doc_id, audience)
    if doc is None:
        raise not_found()
    parent = doc.get("tree_parent")
    if not parent:
        raise not_found()  # not arranged: no place to show
    nodes = _nodes(doc)
    paths = ["/".join(parent.split("/")[:i + 1]) for i in range(len(parent.split("/")))]
    siblings, _ = _items_under(engine, audience, parent)
    ids = [s["id"] for s in siblings]
    at = ids.index(doc_id) if doc_id in ids else 0
    return PlaceOut(
        breadcrumbs=_breadcrumbs(engine, audience, nodes, paths), item_no=doc.get("item_no"),
        position=at + 1, of=len(ids),
        previous=_item(siblings[at - 1]) if at > 0 else None,
        next=_item(siblings[at + 1]) if at + 1 < len(siblings) else None,
    )
