"""WCAG 2.1 AA text contrast, measured in the browser on the rendered pages: every visible
text node against the background it is actually drawn on (ancestors composited)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let out = { r: 255, g: 255, b: 255 };
    for (const c of layers.reverse()) {
      out = { r: c.r * c.a + out.r * (1 - c.a), g: c.g * c.a + out.g * (1 - c.a), b: c.b * c.a + out.b * (1 - c.a) };
    }
    return out;
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest("svg")) continue;
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;  // visually hidden text
    const cs = getComputedStyle(el);
    const fg = parse(cs.color);
    const bg = background(el);
    const [a, b] = [lum(fg), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${ratio.toFixed(2)} ${cs.color} on ${JSON.stringify(bg)}: ${node.textContent.trim().slice(0, 30)}`);
  }
  return bad;
}
"""

def blank_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (70, 99), 250).save(buf, format="PNG")
    return buf.getvalue()


PAGES = {
    "start": "/",
    "results": "/?q=%E6%A1%A3%E6%A1%88&agency=%E5%85%A8%E5%9B%BD%E4%BA%BA%E6%B0%91%E4%BB%A3%E8%A1%A8%E5%A4%A7%E4%BC%9A%E5%B8%B8%E5%8A%A1%E5%A7%94%E5%91%98%E4%BC%9A",
    "browse": "/?sort=date_desc",
    "zero": "/?q=%E6%A1%A3%E6%A1%88%20%E9%87%8F%E5%AD%90%E7%BA%A0%E7%BC%A0",
    "kiosk": "/?kiosk=1&q=%E6%A1%A3%E6%A1%88",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_text_contrast_meets_wcag_aa(page, name):
    page.goto(PAGES[name])
    if name == "start":
        expect(page.locator("#stats")).to_contain_text("件")
    else:
        expect(page.locator("#status")).to_contain_text("共 ")
    assert page.evaluate(CONTRAST_JS) == []


def test_document_view_contrast_meets_wcag_aa(page):
    # Text and furniture only: the scans are drawn from a blank image of the same kind.
    page.route("**/pages/*.png", lambda route: route.fulfill(content_type="image/png", body=blank_png()))
    page.goto("/doc.html?id=a442eba8f254&q=%E6%A1%A3%E6%A1%88")
    expect(page.locator("#doc-title")).to_be_visible()
    page.locator("#next-match").click()
    page.locator("#cite-button").click()
    expect(page.locator("#similar-list li").first).to_be_visible()
    assert page.evaluate(CONTRAST_JS) == []
