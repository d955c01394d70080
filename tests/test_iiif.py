"""IIIF over the demo sample: Presentation 3 manifests that validate with iiif-prezi3 (the
IIIF community's Python models), the Image API at level 1 (regions, sizes, never past the
page image), and Content Search 2.0 hits boxed where the words are printed on the scan."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from iiif_prezi3 import Manifest
from PIL import Image

SCAN = "J012-2020-长期-0004"  # the sealed JPEG of the Archives Law, one page, read by PP-OCR
SPEECH = "J012-2007-永久-0001"  # image-only PDF, 3 pages
PHRASE = "国家治理体系"
ROOM = {"X-Chayue-Key": "room-secret"}
STAFF = {"X-Chayue-Key": "staff-secret"}


def _iiif(doc_id: str, rest: str) -> str:
    return f"/api/iiif/{quote(doc_id, safe='')}/{rest}"


@pytest.mark.parametrize("doc_id", [SCAN, SPEECH])
def test_manifests_validate_and_have_a_canvas_per_page(client, doc_id):
    resp = client.get(_iiif(doc_id, "manifest"))
    assert resp.status_code == 200 and "iiif.io/api/presentation/3" in resp.headers["content-type"]
    data = resp.json()
    Manifest(**data)  # raises on anything the Presentation 3 models refuse
    doc = client.get(f"/api/documents/{quote(doc_id)}").json()
    assert len(data["items"]) == doc["page_count"]
    assert data["label"]["zh"] == [doc["title"]]
    assert data["homepage"][0]["id"].endswith(f"/a/{quote(doc_id, safe='')}")
    first = data["items"][0]
    body = first["items"][0]["items"][0]["body"]
    info = client.get(_iiif(doc_id, "image/1/info.json")).json()
    assert (first["width"], first["height"]) == (info["width"], info["height"]) == (body["width"], body["height"])
    assert body["service"][0]["id"] == info["id"] and info["profile"] == "level1"
    assert {s.get("type") or s.get("@type") for s in data["service"]} == {"SearchService2", "SearchService1"}


def _image(client, doc_id, region, size, n=1, **kw):
    return client.get(_iiif(doc_id, f"image/{n}/{region}/{size}/0/default.jpg"), **kw)


def test_image_api_cuts_regions_and_scales_but_never_enlarges(client):
    info = client.get(_iiif(SCAN, "image/1/info.json")).json()
    w, h = info["width"], info["height"]
    full = Image.open(io.BytesIO(_image(client, SCAN, "full", "max").content))
    assert full.size == (w, h) and full.format == "JPEG"
    tile = Image.open(io.BytesIO(_image(client, SCAN, "0,0,512,512", "256,").content))
    assert tile.size == (256, 256)
    assert Image.open(io.BytesIO(_image(client, SCAN, "full", ",200").content)).size[1] == 200
    assert Image.open(io.BytesIO(_image(client, SCAN, "pct:50,50,50,50", "max").content)).size == (w - w // 2, h - h // 2)
    assert Image.open(io.BytesIO(_image(client, SCAN, "square", "!100,100").content)).size == (100, 100)
    # Past the right edge the region is cut to the image.
    assert Image.open(io.BytesIO(_image(client, SCAN, f"{w - 10},0,100,100", "max").content)).size == (10, 100)
    for region, size in (("full", f"{w + 1},"), ("full", "pct:150"), (f"{w},0,10,10", "max"), ("0,0,0,10", "max"),
                         ("full", "^max"), ("nonsense", "max")):
        assert _image(client, SCAN, region, size).status_code == 400, (region, size)
    assert client.get(_iiif(SCAN, "image/1/full/max/90/default.jpg")).status_code == 400  # level 1: no rotation
    assert client.get(_iiif(SCAN, "image/2/info.json")).status_code == 404


def test_content_search_boxes_the_phrase_where_it_is_printed(client):
    data = client.get(_iiif(SCAN, "search"), params={"q": PHRASE}).json()
    assert data["type"] == "AnnotationPage" and data["@context"] == "http://iiif.io/api/search/2/context.json"
    matches = client.get(f"/api/documents/{quote(SCAN)}", params={"q": PHRASE}).json()["matches"]
    hits = {a["id"].rsplit("/", 1)[0] for a in data["items"]}
    marks = sum(m["html"].count("<mark>") for m in matches)
    assert len(hits) == marks >= 1  # every word the document view marks, boxed
    info = client.get(_iiif(SCAN, "image/1/info.json")).json()
    doc = client.get(f"/api/documents/{quote(SCAN)}").json()
    layout = doc["pages"][0]
    sx, sy = info["width"] / layout["image_size"][0], info["height"] / layout["image_size"][1]
    for anno in data["items"]:
        assert anno["motivation"] == "highlighting" and anno["body"]["value"]
        canvas, _, xywh = anno["target"].partition("#xywh=")
        assert canvas.endswith("/canvas/1")
        x, y, w, h = map(int, xywh.split(","))
        assert 0 <= x and x + w <= info["width"] and 0 <= y and y + h <= info["height"] and w > 0 and h > 0
        # The box lies inside an OCR line holding the words (scaled to the canvas).
        text = layout["text"]
        inside = [line for line in layout["lines"] if set(anno["body"]["value"]) & set(text[line[4]:line[5]])]
        assert any(line[0] * sx - 2 <= x and x + w <= line[2] * sx + 2 and line[1] * sy - 2 <= y
                   and y + h <= line[3] * sy + 2 for line in inside), anno
    contexts = data["annotations"][0]["items"]
    assert all(c["target"]["selector"][0]["exact"] for c in contexts)
    # The same hits for Mirador, in Content Search 1.0.
    v1 = client.get(_iiif(SCAN, "search1"), params={"q": PHRASE}).json()
    assert v1["within"]["total"] == marks and len(v1["resources"]) == len(data["items"])
    assert client.get(_iiif(SCAN, "search"), params={"q": "不存在的词语组合"}).json()["items"] == []


def test_iiif_follows_the_access_rules(client):
    restricted, room_only = "J012-2023-永久-0009", "J001-1958-永久-0012"
    missing = client.get(_iiif("no-such-document", "manifest"))
    assert missing.status_code == 404
    for rest in ("manifest", "image/1/info.json", "image/1/full/max/0/default.jpg", "search?q=法"):
        for doc_id, hidden_from in ((restricted, (None, ROOM)), (room_only, (None,))):
            for headers in hidden_from:
                resp = client.get(_iiif(doc_id, rest), headers=headers or {})
                assert resp.status_code == 404 and resp.json() == missing.json(), (doc_id, rest, headers)
        assert client.get(_iiif(room_only, rest), headers=ROOM).status_code == 200
        assert client.get(_iiif(restricted, rest), headers=STAFF).status_code == 200
    # A text document has no page images: nothing for an image viewer.
    assert client.get(_iiif("J005-001-0001-001", "manifest")).status_code == 404
