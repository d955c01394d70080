// The document view: metadata, pages (image beside text), jumping between the matches
// of the query the reader came with, citation, print, download, related documents.

import { api } from "./api.js";
import {
  clear, h, svg, markedTerms, quoted, validityBadge, formatDate, joinList, COLLECTION_LABEL,
} from "./dom.js";
import { citation } from "./cite.js";
import { crumbs } from "./place.js";
import { kiosk, setupKiosk } from "./kiosk.js";
import { LAST_SEARCH_KEY, docUrl, readSearchState, searchUrl } from "./state.js";
import { docTools, showWorkspaceLink } from "./workspace.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const docId = params.get("id") || "";
const query = params.get("q") || "";

const ACCESS_LABEL = { open: "公开", reading_room: "仅限馆内阅览室查阅", restricted: "限制利用" };
const LOW_CONFIDENCE = 70; // per page, 0–100, when the API does not say low_confidence itself

let marks = [];       // <mark> elements in page text, in reading order
let matchPages = [];  // fallback when the text holds no mark: page numbers from the API
let position = -1;

async function main() {
  await setupKiosk();
  showWorkspaceLink(!kiosk.on);
  const back = $("back-link");
  back.href = lastSearchUrl();
  back.textContent = query ? `← 返回${quoted(query)}的检索结果` : "← 返回检索";
  if (!docId) return fail("链接中缺少文件编号。");

  let doc;
  try {
    doc = await api.document(docId, query);
  } catch (err) {
    return fail(err.message);
  }
  render(doc);
  loadPlace();
  loadSimilar();
}

/** Where the item sits in its fonds: breadcrumbs, and the previous and next item of its 案卷. */
async function loadPlace() {
  let place;
  try {
    place = await api.place(docId);
  } catch {
    return; // not arranged (a current document), or nothing to show
  }
  crumbs(clear($("place-crumbs")), place.breadcrumbs);
  const step = (el, item, text) => {
    el.hidden = !item;
    if (!item) return;
    el.href = docUrl(item.id, query);
    el.textContent = `${text}：${item.title || item.id}`;
  };
  step($("place-prev"), place.previous, "← 上一件");
  step($("place-next"), place.next, "下一件 →");
  $("place-position").textContent = `本卷第 ${place.position} 件，共 ${place.of} 件`;
  $("place").hidden = false;
}

/** The result list the reader came from (same query), else a plain search for the query. */
function lastSearchUrl() {
  try {
    const saved = sessionStorage.getItem(LAST_SEARCH_KEY);
    if (saved && new URLSearchParams(saved.split("?")[1] || "").get("q") === query) return saved;
  } catch {
    // Storage disabled: fall back to the query alone.
  }
  return searchUrl({ ...readSearchState(""), q: query });
}

function fail(message) {
  const status = $("doc-status");
  status.textContent = message;
  status.classList.add("error");
  document.title = "无法打开文件 · 查阅";
}

function render(doc) {
  document.title = `${doc.title || "文件"} · 查阅`;
  $("doc-status").textContent = "";
  $("doc-status").hidden = true;
  $("doc").hidden = false;
  $("doc-title").textContent = doc.title || "（无题名）";
  $("doc-number").textContent = doc.doc_number || "";
  $("doc-number").hidden = !doc.doc_number;
  const tags = $("doc-tags");
  clear(tags).append(
    doc.collection ? h("span", { class: `tag tag-${doc.collection}` }, COLLECTION_LABEL[doc.collection] || doc.collection) : "",
    validityBadge(doc.validity) || "",
    doc.doc_type ? h("span", { class: "tag" }, doc.doc_type) : "",
  );
  renderMeta(doc);
  renderRelations(doc.relations);
  renderActions(doc);
  renderPages(doc);
  if (!kiosk.on) docTools(doc, document.querySelector(".doc-actions"), $("cite"), $("pages"));
  setupMatches(doc);
}

function renderMeta(doc) {
  const body = clear($("meta-body"));
  const row = (label, value, always = false) => {
    const empty = value === null || value === undefined || value === "";
    if (empty && !always) return;
    body.append(h("div", { class: "meta-row" }, h("dt", {}, label), h("dd", {}, empty ? "—" : value)));
  };
  row("题名", doc.title, true);
  row("文号", doc.doc_number, true);
  row("发文机关", joinList(doc.agency), true);
  row("主送机关", joinList(doc.recipients));
  row("成文日期", formatDate(doc.date), true);
  row("发布日期", formatDate(doc.published), true);
  row("有效性", validityBadge(doc.validity), true);
  row("施行日期", formatDate(doc.effective));
  row("失效日期", formatDate(doc.ended));
  row("馆藏类别", COLLECTION_LABEL[doc.collection] || doc.collection);
  row("主题分类", doc.category);
  row("文种", doc.doc_type);
  const code = [doc.fonds, doc.archival_code].filter(Boolean).join(" / ");
  row("全宗/档号", code, true);
  row("保管期限", doc.retention, true);
  // The permanent link (/a/<档号>, else /a/<id>): the one to cite, it outlives file moves and rebuilds.
  const permanent = `/a/${encodeURIComponent(doc.archival_code || doc.id)}`;
  row("永久链接", h("a", { href: permanent, class: "permalink" }, `${location.origin}${permanent}`));
  // The page count is "page_count" in the API, since "pages" holds the pages themselves.
  const pageCount = doc.page_count ?? (Array.isArray(doc.pages) ? doc.pages.length : doc.pages);
  row("页数", pageCount ? `${pageCount} 页` : "", true);
  if (doc.ocr) {
    const conf = percent(doc.ocr_confidence);
    row("文本来源", conf === null ? "扫描件文字识别（OCR）" : `扫描件文字识别（OCR），平均置信度 ${conf}%`);
  }
  if (doc.access && doc.access !== "open") row("开放范围", ACCESS_LABEL[doc.access] || doc.access);
  // Staff only (the API sends it to staff alone): where each value came from.
  if (doc.provenance && Object.keys(doc.provenance).length) {
    const order = Object.keys(FIELD_LABEL); // the order of the rows above, unknown fields last
    const rank = (field) => (order.includes(field) ? order.indexOf(field) : order.length);
    const parts = Object.entries(doc.provenance)
      .sort(([a], [b]) => rank(a) - rank(b))
      .map(([field, source]) => `${FIELD_LABEL[field] || field}：${SOURCE_LABEL[source] || source}`);
    row("著录来源", parts.join("；"));
  }
}

// What a relation says, seen from this document (cites) and from the other one (cited by).
const KIND_OUT = { 修改: "修改", 废止: "废止", 替代: "取代", 根据: "依据", 转发: "转发", 印发: "印发", 解读: "解释" };
const KIND_IN = { 修改: "修改本文件", 废止: "废止本文件", 替代: "取代本文件", 根据: "依据本文件", 转发: "转发本文件",
  印发: "印发本文件", 解读: "解释本文件" };

/** A link to a document the reader may see; plain text for one that is not here (or hidden). */
function docLink(ref, text) {
  if (!ref) return h("span", { class: "relation-text" }, `《${text}》`, h("span", { class: "muted" }, "（本馆未收录）"));
  return h("a", { href: docUrl(ref.id, "") }, `《${ref.title || text}》`);
}

function renderRelations(rel) {
  if (!rel) return;
  const line = $("doc-validity");
  if (rel.status?.line) {
    const by = rel.status.ended_by;
    line.className = `doc-validity ${rel.status.ended || ["已废止", "失效", "历史版本"].includes(rel.status.validity) ? "is-ended" : ""}`;
    clear(line).append(rel.status.line);
    if (by) line.append(" ", h("a", { href: docUrl(by.id, "") }, "查看"));
    line.hidden = false;
  }
  let any = false;
  const versions = rel.versions || [];
  if (versions.length > 1) {
    const list = clear($("versions-list"));
    for (const v of versions) {
      const label = `${formatDate(v.date) || "日期不详"}${v.current ? "（现行版本）" : ""}`;
      list.append(h("li", { class: v.id === docId ? "is-this" : "" },
        v.id === docId ? h("strong", {}, label, "，本页") : h("a", { href: docUrl(v.id, "") }, label),
        v.validity ? " " : "", validityBadge(v.validity) || "",
        v.effective ? h("span", { class: "muted" }, ` ${formatDate(v.effective)} 施行`) : ""));
    }
    $("versions").hidden = false;
    any = true;
  }
  const events = rel.timeline || [];
  if (events.length > 1) {
    const list = clear($("timeline-list"));
    for (const e of events) {
      const isThis = e.document && e.document.id === docId;
      list.append(h("li", { class: `event event-${e.kind}` },
        h("time", { datetime: e.date }, formatDate(e.date)),
        h("span", { class: "event-kind" }, e.kind),
        e.document && !isThis ? h("a", { href: docUrl(e.document.id, "") }, e.text) : h("span", {}, e.text)));
    }
    $("timeline-summary").textContent = `时间线（${events.length} 项）`;
    $("timeline").hidden = false;
    any = true;
  }
  const cites = (rel.cites || []);
  if (cites.length) {
    const list = clear($("cites-list"));
    for (const r of cites) {
      list.append(h("li", {}, h("span", { class: "relation-kind" }, KIND_OUT[r.kind] || r.kind), docLink(r.document, r.text),
        r.extracted ? h("span", { class: "muted", title: "从标题或正文中识别，未经人工确认" }, "（自动识别）") : ""));
    }
    $("cites").hidden = false;
    any = true;
  }
  const citedBy = (rel.cited_by || []);
  if (citedBy.length) {
    const list = clear($("cited-by-list"));
    for (const r of citedBy) {
      list.append(h("li", {}, h("span", { class: "relation-kind" }, KIND_IN[r.kind] || r.kind), docLink(r.document, r.text),
        r.date ? h("span", { class: "muted" }, ` ${formatDate(r.date)}`) : ""));
    }
    $("cited-by-heading").textContent = `涉及本文件的文件（${rel.cited_by_total} 件）`;
    $("cited-by").hidden = false;
    any = true;
  }
  $("relations").hidden = !any;
  if (any && location.hash === "#versions") $("relations").scrollIntoView();
}

const FIELD_LABEL = {
  title: "题名", doc_number: "文号", agency: "发文机关", recipients: "主送机关", date: "成文日期",
  published: "发布日期", category: "主题分类", doc_type: "文种", fonds: "全宗", archival_code: "档号",
  retention: "保管期限", validity: "有效性",
};
const SOURCE_LABEL = {
  manifest: "目录清单", layout: "版式识别", "file properties": "文件属性", "file name": "文件名",
};

function percent(value) {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  if (!Number.isFinite(n)) return null;
  return Math.round(n <= 1 ? n * 100 : n);
}

function renderActions(doc) {
  $("print-button").addEventListener("click", () => window.print());
  // Scans open in the IIIF viewer (Mirador), which searches inside them for the same words.
  if (doc.links?.page_image) {
    const viewer = $("iiif-viewer");
    const p = new URLSearchParams({ id: doc.id });
    if (query) p.set("q", query);
    viewer.href = `viewer.html?${p}`;
    viewer.hidden = false;
  }

  const text = citation(doc);
  $("cite-text").textContent = text;
  const citeButton = $("cite-button");
  citeButton.addEventListener("click", () => {
    const open = citeButton.getAttribute("aria-expanded") !== "true";
    citeButton.setAttribute("aria-expanded", String(open));
    $("cite").hidden = !open;
  });
  const copy = $("copy-cite");
  if (kiosk.on) {
    copy.hidden = true; // a shared terminal's clipboard would pass the text to the next visitor
  } else {
    copy.addEventListener("click", async () => {
      const status = $("copy-status");
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = "已复制";
      } catch {
        // No clipboard permission: select the text so the reader can copy it by hand.
        const range = document.createRange();
        range.selectNodeContents($("cite-text"));
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        status.textContent = "请按 Ctrl+C 复制已选中的引文";
      }
    });
  }

  const file = doc.links && doc.links.file;
  const download = $("download");
  if (file && !kiosk.on && isSameOrigin(file)) {
    download.href = file;
    download.setAttribute("download", "");
    download.hidden = false;
  }
}

function isSameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

function pageImageUrl(doc, number) {
  // links.page_image is a template with {n}, or null when the original has no pages to
  // render (plain text, Word): then the text stands alone.
  const template = doc.links && doc.links.page_image;
  if (!template) return null;
  const url = template.replace(/\{n\}|\{page\}/g, encodeURIComponent(number));
  return isSameOrigin(url) ? url : null;
}

function renderPages(doc) {
  const root = clear($("pages"));
  const terms = termsOf(doc);
  const pattern = terms.length ? new RegExp(terms.map(escapeRegExp).join("|"), "giu") : null;
  const seen = new Set();
  for (const page of doc.pages || []) {
    const n = page.number;
    const conf = percent(page.confidence);
    const low = page.low_confidence === true || (page.low_confidence === undefined && page.ocr && conf !== null && conf < LOW_CONFIDENCE);
    const heading = h("h3", { class: "page-heading", id: `page-${n}-heading` },
      `第 ${n} 页`,
      page.ocr ? h("span", { class: "tag tag-plain" }, "文字识别") : null,
      low ? h("span", { class: "badge badge-warn", title: "此页文字由机器识别，可能有错漏，请以原件图像为准" },
        conf === null ? "识别置信度低" : `识别置信度低（${conf}%）`) : null);
    const warning = low ? h("p", { class: "ocr-note" },
      "此页文字由机器从扫描件识别，可能有错漏，请以原件图像为准。") : null;
    const text = h("div", { class: "page-text", lang: "zh-CN" }, withArticles(reflow(page.text || ""), pattern, n, seen));
    if (!page.text) text.append(h("p", { class: "muted" }, "此页无可检索文字。"));
    const src = pageImageUrl(doc, n);
    const figure = src ? h("figure", { class: "page-image" },
      h("img", {
        src, loading: "lazy", decoding: "async", alt: `第 ${n} 页原件图像`,
        onerror: (e) => {
          const fig = e.target.closest("figure");
          fig.classList.add("missing");
          clear(fig).append(h("p", { class: "muted" }, "原件图像暂不可用"));
        },
      }), imageMarks(page, pattern)) : null;
    root.append(h("section", {
      class: `page${low ? " low-confidence" : ""}${figure ? "" : " no-image"}`,
      id: `page-${n}`, "aria-labelledby": `page-${n}-heading`, "data-page": n,
    }, heading, warning, h("div", { class: "page-body" }, figure, text)));
  }
}

/**
 * The query's matches marked on the scan itself: an SVG over the page image, in the pixels
 * of the image OCR read (page.image_size), one rectangle per line a match runs through.
 * Within a line the match's share of its characters gives its share of the box (printed
 * Chinese is set on a square grid); columns of 竖排 text are cut top to bottom.
 */
function imageMarks(page, pattern) {
  if (!pattern || !page.lines || !page.image_size || !page.text) return null;
  const [w, h] = page.image_size;
  const rects = [];
  for (const m of page.text.matchAll(pattern)) {
    if (!m[0]) continue;
    const start = m.index;
    const end = start + m[0].length;
    for (const [left, top, right, bottom, from, to] of page.lines) {
      const a = Math.max(start, from);
      const b = Math.min(end, to);
      if (a >= b || to <= from) continue;
      const f0 = (a - from) / (to - from);
      const f1 = (b - from) / (to - from);
      const vertical = bottom - top > 1.5 * (right - left);
      const [x, y, rw, rh] = vertical
        ? [left, top + (bottom - top) * f0, right - left, (bottom - top) * (f1 - f0)]
        : [left + (right - left) * f0, top, (right - left) * (f1 - f0), bottom - top];
      rects.push(svg("rect", {
        class: "image-mark", x: x.toFixed(1), y: y.toFixed(1),
        width: rw.toFixed(1), height: rh.toFixed(1), rx: 4,
      }));
    }
  }
  if (!rects.length) return null;
  return svg("svg", {
    class: "image-marks", viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none",
    "aria-hidden": "true", "data-marks": rects.length,
  }, ...rects);
}

// Text from PDFs and OCR keeps the printed line ends, which cut Chinese sentences (and
// words) in two on screen. Join a line to the next when it runs to (nearly) the full
// printed width and does not end a sentence; short lines (headings, 第X条 ends, lists)
// keep their break. Only the display changes: search and the page image are untouched.
const SENTENCE_END = /[。！？：；…”’」』）)\]】.!?:;]$/;

function reflow(text) {
  const lines = text.split("\n").map((l) => l.trimEnd());
  const width = Math.max(0, ...lines.map((l) => l.trim().length));
  if (width < 12) return lines.join("\n");
  let out = "";
  let joined = false;
  lines.forEach((line, i) => {
    out += joined ? line.trim() : line;
    if (i === lines.length - 1) return;
    const next = lines[i + 1].trim();
    const full = line.trim().length >= width * 0.75;
    joined = Boolean(full && next && !SENTENCE_END.test(line)
      && !/^第[一二三四五六七八九十百零〇\d]+[章节条款]/.test(next));
    if (!joined) out += "\n";
    else if (/[A-Za-z0-9]$/.test(line) && /^[A-Za-z0-9]/.test(next)) out += " ";
  });
  return out;
}

/** The words the server marked for this query, longest first so "档案法" wins over "档案". */
function termsOf(doc) {
  const set = new Set();
  for (const m of doc.matches || []) for (const t of markedTerms(m.html)) set.add(t);
  return [...set].sort((a, b) => b.length - a.length);
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// An article (第十五条) starts a line: an anchor before it (#art-第十五条, its first one in the
// document), so a search's passage opens the document there.
const ARTICLE_START = /^[ \t\u3000]*(第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?)(?=[\s\u3000])/gmu;

function withArticles(text, pattern, page, seen) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(ARTICLE_START)) {
    const id = `art-${m[1]}`;
    if (seen.has(id)) continue;
    seen.add(id);
    frag.append(highlight(text.slice(last, m.index), pattern, page));
    frag.append(h("span", { id, class: "article-anchor" }));
    last = m.index;
  }
  frag.append(highlight(text.slice(last), pattern, page));
  return frag;
}

function highlight(text, pattern, page) {
  const frag = document.createDocumentFragment();
  if (!pattern) {
    frag.append(document.createTextNode(text));
    return frag;
  }
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (!m[0]) continue;
    frag.append(document.createTextNode(text.slice(last, m.index)));
    frag.append(h("mark", { tabindex: "-1", "data-page": page }, m[0]));
    last = m.index + m[0].length;
  }
  frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

function setupMatches(doc) {
  marks = [...document.querySelectorAll("#pages mark")];
  const matchList = doc.matches || [];
  matchPages = marks.length ? [] : [...new Set(matchList.map((m) => m.page))];
  const count = marks.length || matchPages.length;
  const nav = $("matches");
  if (!query) return jumpToHash();
  nav.hidden = false;
  const summary = $("match-summary");
  if (!count) {
    summary.textContent = `本文件中未找到${quoted(query)}。`;
    $("prev-match").hidden = true;
    $("next-match").hidden = true;
    return jumpToHash();
  }
  const pagesWith = new Set(marks.length ? marks.map((m) => m.dataset.page) : matchPages);
  summary.textContent = `${quoted(query)}在本文件中共 ${count} 处，分布在 ${pagesWith.size} 页。`;
  $("prev-match").addEventListener("click", () => jump(position - 1));
  $("next-match").addEventListener("click", () => jump(position + 1));
  const start = parseInt(params.get("m") || "", 10);
  if (start >= 1 && start <= count) jump(start - 1);
  else if (location.hash) jumpToHash();
  else updatePosition();
}

function jump(i) {
  const count = marks.length || matchPages.length;
  if (!count) return;
  position = (i + count) % count;
  marks.forEach((m) => m.classList.remove("current"));
  let page;
  if (marks.length) {
    const mark = marks[position];
    mark.classList.add("current");
    mark.focus({ preventScroll: true });
    mark.scrollIntoView({ block: "center" });
    page = mark.dataset.page;
  } else {
    page = matchPages[position];
    document.getElementById(`page-${page}`)?.scrollIntoView({ block: "start" });
  }
  updatePosition(page);
  const url = new URL(location.href);
  url.searchParams.set("m", String(position + 1));
  url.hash = "";
  history.replaceState(null, "", url.pathname + url.search);
}

function updatePosition(page) {
  const count = marks.length || matchPages.length;
  $("match-position").textContent = position < 0
    ? `共 ${count} 处，按“下一处”开始`
    : `第 ${position + 1} / ${count} 处 · 第 ${page} 页`;
}

function jumpToHash() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target) target.scrollIntoView({ block: "start" });
}

async function loadSimilar() {
  let data;
  try {
    data = await api.similar(docId);
  } catch {
    return; // related documents are a help; the document itself is already shown
  }
  const hits = (data.hits || []).filter((hit) => hit.id !== docId);
  if (!hits.length) return;
  const list = clear($("similar-list"));
  for (const hit of hits) {
    list.append(h("li", {},
      h("a", { href: docUrl(hit.id, "") }, hit.title || "（无题名）"),
      h("span", { class: "similar-meta" },
        [hit.doc_number, joinList(hit.agency), formatDate(hit.date)].filter(Boolean).join(" · ")),
      validityBadge(hit.validity) || ""));
  }
  $("similar").hidden = false;
}

main();
