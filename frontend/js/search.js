// The search page: reads its state from the URL, asks /api/search, draws results,
// facets, chips, the year histogram and pagination; every change goes back into the URL.

import { api } from "./api.js";
import {
  clear, h, markedText, validityBadge, formatDate, formatNumber, joinList,
  COLLECTION_LABEL, FACET_LABEL, facetValueLabel, quoted,
} from "./dom.js";
import { yearHistogram } from "./histogram.js";
import { kiosk, setupKiosk } from "./kiosk.js";
import {
  LAST_SEARCH_KEY, PAGE_SIZE, cloneState, docUrl, hasSearch, readSearchState, searchUrl, startUrl,
} from "./state.js";
import { setupSuggest } from "./suggest.js";
import { searchTools, showWorkspaceLink } from "./workspace.js";

const FACET_ORDER = ["collection", "agency", "year", "category", "doc_type", "validity", "relation", "tree_1", "tree_parent"];
const FACET_SHOWN = 8; // values shown before "显示全部"

const $ = (id) => document.getElementById(id);
const els = {
  form: $("search-form"), input: $("q"), suggestions: $("suggestions"),
  start: $("start"), stats: $("stats"), layout: $("results-layout"),
  filters: $("filters"), filterToggle: $("filter-toggle"), facets: $("facets"),
  dateForm: $("date-form"), dateFrom: $("date_from"), dateTo: $("date_to"), dateError: $("date-error"),
  validForm: $("valid-form"), validOn: $("valid_on"),
  results: $("results"), heading: $("results-heading"), status: $("status"), chips: $("chips"),
  histogram: $("histogram"), sort: $("sort"), notice: $("notice"), hits: $("hits"), pagination: $("pagination"),
  workspaceTools: $("workspace-tools"),
};

let state = readSearchState();
let inflight = null;
let requestSeq = 0;
const expandedFacets = new Set(); // view-only: which long facet lists are opened
let suggest = null;

// -- navigation ---------------------------------------------------------------------

async function go(next, { replace = false, ...loadOpts } = {}) {
  await kioskReady; // push or replace depends on it
  const browsing = !next.q && !Object.keys(next.filters).length && !next.date_from && !next.date_to;
  const url = searchUrl(next, { explicitSort: browsing && next.sort !== "relevance" });
  // Kiosk: replace, never push, so Back cannot reach a previous visitor's search.
  if (kiosk.on || replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  return load(loadOpts);
}

function toggleFilter(field, value) {
  const next = cloneState(state);
  const values = new Set(next.filters[field] || []);
  if (values.has(value)) values.delete(value);
  else values.add(value);
  if (values.size) next.filters[field] = [...values];
  else delete next.filters[field];
  next.page = 1;
  return next;
}

/** Handle a click on an in-page link: plain clicks are ours, modified clicks the browser's. */
function spaLink(href, onNavigate) {
  return (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey || event.button) return;
    event.preventDefault();
    onNavigate(href);
  };
}

async function goToHref(href, opts) {
  await kioskReady;
  const url = new URL(href, location.href);
  const url2 = url.pathname + url.search;
  if (kiosk.on) history.replaceState(null, "", url2);
  else history.pushState(null, "", url2);
  return load(opts);
}

// -- loading ------------------------------------------------------------------------

async function load({ focusResults = false, restoreFocus = null, initial = false } = {}) {
  state = readSearchState();
  // On first load, keep what a quick visitor already typed into an empty start page.
  if (!(initial && !state.q && els.input.value)) els.input.value = state.q;
  suggest?.reset();
  if (!hasSearch(state)) return showStart();

  els.start.hidden = true;
  els.layout.hidden = false;
  document.title = state.q ? `${quoted(state.q)}的检索结果 · 查阅` : "浏览文件 · 查阅";
  els.results.setAttribute("aria-busy", "true");
  els.status.textContent = "正在检索…";
  els.status.classList.remove("error");

  inflight?.abort();
  inflight = new AbortController();
  const seq = ++requestSeq;
  const params = searchApiParams(state);
  let data;
  try {
    data = await api.search(params, { signal: inflight.signal });
  } catch (err) {
    if (err.name === "AbortError" || seq !== requestSeq) return;
    els.results.removeAttribute("aria-busy");
    els.status.textContent = err.message || "检索失败，请稍后再试。";
    els.status.classList.add("error");
    clear(els.hits);
    clear(els.pagination);
    return;
  }
  if (seq !== requestSeq) return;
  render(data);
  try {
    sessionStorage.setItem(LAST_SEARCH_KEY, location.pathname + location.search);
  } catch {
    // Storage disabled: the document view links back by query alone.
  }
  els.results.removeAttribute("aria-busy");
  if (restoreFocus) restoreFocus();
  if (focusResults) {
    els.results.focus({ preventScroll: true });
    els.results.scrollIntoView({ block: "start" });
  }
}

function searchApiParams(s) {
  const params = new URLSearchParams();
  params.set("q", s.q);
  for (const [field, values] of Object.entries(s.filters)) for (const v of values) params.append(field, v);
  if (s.date_from) params.set("date_from", s.date_from);
  if (s.date_to) params.set("date_to", s.date_to);
  params.set("sort", s.sort);
  params.set("page", String(s.page));
  params.set("size", String(PAGE_SIZE));
  if (s.expand === false) params.set("expand", "false");
  if (s.reading) params.set("reading", s.reading);
  return params;
}

async function showStart() {
  els.layout.hidden = true;
  els.start.hidden = false;
  document.title = "查阅 · 现行文件与开放档案检索";
  try {
    const stats = await api.stats();
    const byCollection = Object.fromEntries((stats.collection || []).map((f) => [f.value, f.count]));
    const parts = [`本中心可检索文件 ${formatNumber(stats.total)} 件`];
    const sub = Object.entries(COLLECTION_LABEL)
      .filter(([key]) => byCollection[key])
      .map(([key, label]) => `${label} ${formatNumber(byCollection[key])} 件`);
    els.stats.textContent = parts[0] + (sub.length ? `，其中${sub.join("，")}。` : "。");
  } catch {
    els.stats.textContent = "";
  }
}

// -- rendering ----------------------------------------------------------------------

function render(data) {
  const total = Number(data.total || 0);
  const took = Math.round(Number(data.took_ms || 0));
  els.status.textContent = total
    ? `共 ${formatNumber(total)} 条，用时 ${formatNumber(took)} 毫秒`
    : `共 0 条，用时 ${formatNumber(took)} 毫秒`;
  els.heading.textContent = state.q ? `${quoted(state.q)}的检索结果` : "浏览文件";
  els.sort.value = state.sort;
  els.dateFrom.value = state.date_from;
  els.validOn.value = (state.filters.valid_on || [""])[0];
  els.dateTo.value = state.date_to;
  renderChips();
  renderFacets(data.facets || {});
  renderHistogram((data.facets || {}).year || []);
  renderNotice(data, total);
  renderHits(data.hits || [], total);
  renderPagination(total, Number(data.size || PAGE_SIZE));
  searchTools(els.workspaceTools, state, total, { kioskOn: kiosk.on });
  const active = Object.values(state.filters).flat().length + (state.date_from ? 1 : 0) + (state.date_to ? 1 : 0);
  // Nothing found and nothing to take away: sorting and filtering have nothing to offer.
  const bare = total === 0 && active === 0;
  els.layout.classList.toggle("bare", bare);
  els.sort.closest(".result-tools").hidden = total === 0;
  els.filterToggle.textContent = active ? `筛选（已选 ${active} 项）` : "筛选";
}

function renderNotice(data, total) {
  clear(els.notice);
  renderReading(data.reading);
  renderExpanded(data.expanded || []);
  renderAnswers(data.answers || []);
  if (total) return;
  const filtered = Object.keys(state.filters).length || state.date_from || state.date_to;
  const box = h("div", { class: "empty" });
  box.append(h("p", { class: "empty-title" },
    state.q ? `未找到与${quoted(state.q)}相关的文件。` : "没有符合筛选条件的文件。"));
  const looser = data.looser;
  if (looser && looser.q && looser.total) {
    const next = { ...cloneState(state), q: looser.q, page: 1 };
    // The API may have had to drop the filters as well to find something.
    if (looser.dropped_filters) Object.assign(next, { filters: {}, date_from: "", date_to: "" });
    const href = searchUrl(next);
    box.append(h("p", { class: "looser-offer" },
      looser.dropped_filters ? "去掉筛选条件并放宽检索，可找到：" : "放宽检索条件，可找到：",
      h("a", { href, "data-spa": "1", class: "looser", onclick: spaLink(href, (u) => goToHref(u, { focusResults: true })) }, looser.q),
      `（${formatNumber(looser.total)} 条结果）`));
  }
  const guesses = (data.did_you_mean || []).filter((d) => d && d.q);
  if (guesses.length) {
    const p = h("p", { class: "did-you-mean" }, "您是不是要找：");
    guesses.forEach((d, i) => {
      const href = searchUrl({ ...cloneState(state), q: d.q, page: 1 });
      if (i) p.append("、");
      p.append(h("a", { href, "data-spa": "1", class: "did-you-mean-link",
        onclick: spaLink(href, (u) => goToHref(u, { focusResults: true })) }, d.q));
    });
    box.append(p);
  }
  const tips = h("ul", { class: "empty-tips" },
    h("li", {}, "检查是否有错别字，或换用意思相近的词语；"),
    h("li", {}, "减少检索词，或去掉引号；"));
  if (filtered) {
    const next = { ...cloneState(state), filters: {}, date_from: "", date_to: "", page: 1 };
    const href = searchUrl(next);
    tips.append(h("li", {}, h("a", { href, "data-spa": "1", onclick: spaLink(href, (u) => goToHref(u)) }, "清除全部筛选条件"), "后重新检索。"));
  }
  box.append(tips);
  els.notice.append(box);
}

// How the query was read, with a link to the other reading (DESIGN.md, "Reading a query").
function renderReading(reading) {
  if (!reading || !reading.other) return;
  const words = (reading.words || []).map((w) => `“${w}”`).join("");
  const href = searchUrl({ ...cloneState(state), reading: reading.other, page: 1 });
  const link = (text) => h("a", { href, "data-spa": "1", class: "other-reading",
    onclick: spaLink(href, (u) => goToHref(u, { focusResults: true })) }, text);
  let said;
  if (reading.used === "exact") {
    said = ["按原文精确检索（全部字词相连）。", link("按词检索（不要求相连）")];
  } else if (reading.question) {
    said = [h("strong", {}, reading.fallback ? "按原文未找到，已按问题检索" : "按问题检索"),
      `：查找含有${words}的文件，不要求全部出现，最相关的条款排在前面。`, link("按原文精确检索")];
  } else {
    said = [h("strong", {}, "按词检索"), `：${words}相连的排在前面，不相连的也列出。`, link("只看原文相连的结果")];
  }
  els.notice.append(h("p", { class: "reading", "data-reading": reading.used }, ...said));
}

// A question's first page: the articles that answer it best, across the documents found.
function renderAnswers(answers) {
  if (!answers.length) return;
  const list = h("ol", { class: "answers-list" });
  for (const a of answers) {
    const href = passageHref(a.id, a);
    list.append(h("li", { class: "answer" },
      h("p", { class: "answer-source" },
        h("a", { href, class: "answer-link" }, a.label ? `${a.title} ${a.label}` : a.title),
        a.page ? h("span", { class: "page-ref" }, `第 ${a.page} 页`) : null),
      h("p", { class: "answer-text" }, markedText(a.html))));
  }
  els.notice.append(h("section", { class: "answers", "aria-labelledby": "answers-heading" },
    h("h2", { id: "answers-heading", class: "answers-heading" }, "最相关条款"), list));
}

// The document view opened at a passage: at its article (第X条) where it has one, else its page.
function passageHref(id, p) {
  const anchor = p.label ? `art-${p.label}` : `page-${p.page}`;
  return `${docUrl(id, state.q)}#${encodeURIComponent(anchor)}`;
}

// "也搜索了：国务院办公厅" with a link to the typed words alone (expand=0), or, when that is
// what is shown, a link back to the search with the other names.
function renderExpanded(expanded) {
  if (state.expand === false) {
    const href = searchUrl({ ...cloneState(state), expand: true, page: 1 });
    els.notice.append(h("p", { class: "expanded" }, "只搜索了输入的词语。",
      h("a", { href, "data-spa": "1", class: "expand-again", onclick: spaLink(href, (u) => goToHref(u)) },
        "同时搜索简称和别名")));
    return;
  }
  if (!expanded.length) return;
  const names = expanded.flatMap((e) => e.names || []);
  const typed = expanded.map((e) => e.typed).join("、");
  const href = searchUrl({ ...cloneState(state), expand: false, page: 1 });
  els.notice.append(h("p", { class: "expanded" }, `也搜索了：${names.join("、")}。`,
    h("a", { href, "data-spa": "1", class: "typed-only", onclick: spaLink(href, (u) => goToHref(u)) },
      `只搜索“${typed}”`)));
}

function renderHits(hits, total) {
  clear(els.hits);
  els.hits.start = (state.page - 1) * PAGE_SIZE + 1;
  els.hits.hidden = !hits.length;
  for (const hit of hits) {
    const href = docUrl(hit.id, state.q);
    const meta = h("dl", { class: "hit-meta" });
    const addMeta = (label, value) => {
      if (!value) return;
      meta.append(h("div", {}, h("dt", {}, label), h("dd", {}, value)));
    };
    addMeta("文号", hit.doc_number);
    addMeta("发文机关", joinList(hit.agency));
    addMeta("成文日期", formatDate(hit.date));
    if (!hit.date && hit.year) addMeta("年度", String(hit.year));
    const tags = h("p", { class: "hit-tags" },
      hit.collection ? h("span", { class: `tag tag-${hit.collection}` }, COLLECTION_LABEL[hit.collection] || hit.collection) : null,
      validityBadge(hit.validity),
      hit.doc_type ? h("span", { class: "tag" }, hit.doc_type) : null,
      hit.category ? h("span", { class: "tag" }, hit.category) : null,
      hit.pages ? h("span", { class: "tag tag-plain" }, `共 ${hit.pages} 页`) : null);
    // Versions of one document are one hit: the others are listed in its document view.
    const flags = (hit.relation_flags || []).filter((f) => f !== "被引用");
    const versions = hit.other_versions || flags.length
      ? h("p", { class: "hit-versions" },
        hit.other_versions ? h("a", { href: `${href}#versions` }, `其他版本 ${hit.other_versions}`) : null,
        ...flags.map((f) => h("span", { class: "hit-flag" }, f)))
      : null;
    const snippets = h("ul", { class: "snippets" });
    // Read as words, a hit shows its best articles or paragraphs; otherwise its snippets.
    for (const p of hit.passages || []) {
      snippets.append(h("li", { class: "snippet passage" },
        h("a", { class: "page-ref passage-ref", href: passageHref(hit.id, p) }, p.label || `第 ${p.page} 页`),
        h("span", { class: "snippet-text" }, markedText(p.html))));
    }
    for (const snip of (hit.passages || []).length ? [] : hit.snippets || []) {
      const pageHref = `${href}#page-${encodeURIComponent(snip.page)}`;
      snippets.append(h("li", { class: "snippet" },
        snip.page ? h("a", { class: "page-ref", href: pageHref, "aria-label": `打开第 ${snip.page} 页` }, `第 ${snip.page} 页`) : null,
        h("span", { class: "snippet-text" }, markedText(snip.html))));
    }
    els.hits.append(h("li", { class: "hit" },
      h("article", { "aria-labelledby": `hit-${cssId(hit.id)}` },
        h("h2", { class: "hit-title", id: `hit-${cssId(hit.id)}` }, h("a", { href }, hit.title || "（无题名）")),
        tags,
        meta,
        versions,
        snippets.childNodes.length ? snippets : null)));
  }
}

function cssId(id) {
  return String(id).replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.codePointAt(0).toString(16)}`);
}

function renderChips() {
  clear(els.chips);
  const chips = [];
  for (const [field, values] of Object.entries(state.filters)) {
    for (const value of values) {
      chips.push({ label: `${FACET_LABEL[field] || field}：${facetValueLabel(field, value)}`, next: () => toggleFilter(field, value) });
    }
  }
  if (state.date_from) chips.push({ label: `成文日期起：${state.date_from}`, next: () => ({ ...cloneState(state), date_from: "", page: 1 }) });
  if (state.date_to) chips.push({ label: `成文日期止：${state.date_to}`, next: () => ({ ...cloneState(state), date_to: "", page: 1 }) });
  if (!chips.length) {
    els.chips.hidden = true;
    return;
  }
  els.chips.hidden = false;
  const list = h("ul", { class: "chip-list", "aria-label": "已选筛选条件" });
  chips.forEach(({ label, next }, i) => {
    list.append(h("li", {}, h("button", {
      type: "button", class: "chip", "data-chip": i, "aria-label": `移除筛选条件 ${label}`,
      onclick: () => go(next()).then(() => focusAfterChipRemoval(i)),
    }, h("span", {}, label), h("span", { class: "chip-x", "aria-hidden": "true" }, "×"))));
  });
  if (chips.length > 1) {
    list.append(h("li", {}, h("button", {
      type: "button", class: "chip chip-clear",
      onclick: () => go({ ...cloneState(state), filters: {}, date_from: "", date_to: "", page: 1 }).then(() => els.input.focus()),
    }, "清除全部")));
  }
  els.chips.append(h("span", { class: "chips-label", "aria-hidden": "true" }, "已选："), list);
}

function focusAfterChipRemoval(i) {
  const chips = els.chips.querySelectorAll("button.chip");
  const target = chips[Math.min(i, chips.length - 1)];
  (target || els.results).focus();
}

function renderFacets(facets) {
  const focused = document.activeElement?.dataset?.facetKey;
  clear(els.facets);
  for (const field of FACET_ORDER) {
    let values = (facets[field] || []).filter((f) => f && f.value !== null && f.value !== undefined && f.value !== "");
    const selected = new Set(state.filters[field] || []);
    // A selected value the facet no longer lists is still shown, checked, so it can be unticked.
    for (const v of selected) if (!values.some((f) => String(f.value) === v)) values.push({ value: v, count: null });
    if (field === "year") values = [...values].sort((a, b) => Number(b.value) - Number(a.value));
    if (!values.length) continue;
    const open = expandedFacets.has(field);
    const shown = open ? values : values.filter((f, i) => i < FACET_SHOWN || selected.has(String(f.value)));
    const groupId = `facet-${field}`;
    const list = h("ul", { class: "facet-values", id: `${groupId}-list` });
    shown.forEach((f) => {
      const value = String(f.value);
      const id = `${groupId}-${cssId(value)}`;
      const label = facetValueLabel(field, value);
      list.append(h("li", {},
        h("input", {
          type: "checkbox", id, name: field, value, checked: selected.has(value),
          dataset: { facetKey: `${field}\u0000${value}` },
          onchange: () => go(toggleFilter(field, value), {
            restoreFocus: () => document.getElementById(id)?.focus(),
          }),
        }),
        h("label", { for: id },
          h("span", { class: "facet-label" }, label),
          f.count === null ? null : h("span", { class: "count", "aria-label": `${f.count} 件` }, formatNumber(f.count)))));
    });
    const group = h("fieldset", { class: "facet", "data-field": field },
      h("legend", {}, FACET_LABEL[field]),
      list);
    if (values.length > FACET_SHOWN) {
      group.append(h("button", {
        type: "button", class: "link-button facet-more", "aria-expanded": open ? "true" : "false",
        "aria-controls": `${groupId}-list`,
        onclick: () => {
          if (open) expandedFacets.delete(field);
          else expandedFacets.add(field);
          renderFacets(facets);
          els.facets.querySelector(`[data-field="${field}"] .facet-more`)?.focus();
        },
      }, open ? "收起" : `显示全部 ${values.length} 项`));
    }
    els.facets.append(group);
  }
  if (focused) {
    for (const input of els.facets.querySelectorAll("input[data-facet-key]")) {
      if (input.dataset.facetKey === focused) input.focus();
    }
  }
}

let lastYears = [];

function renderHistogram(years) {
  lastYears = years;
  const fig = els.histogram;
  fig.querySelector("svg")?.remove();
  const selected = new Set(state.filters.year || []);
  const pickYear = (year) => {
    const next = cloneState(state);
    const only = selected.size === 1 && selected.has(year);
    if (only) delete next.filters.year;
    else next.filters.year = [year];
    next.page = 1;
    go(next, { restoreFocus: () => fig.querySelector(`a[data-year="${year}"]`)?.focus() });
  };
  const hrefFor = (year) => {
    const next = cloneState(state);
    next.filters.year = [String(year)];
    next.page = 1;
    return searchUrl(next);
  };
  fig.hidden = false;
  const width = fig.clientWidth - 26; // inside the figure's padding and border
  const chart = yearHistogram(years, selected, hrefFor, pickYear, width > 0 ? width : undefined);
  fig.hidden = !chart;
  if (chart) fig.append(chart);
}

function renderPagination(total, size) {
  clear(els.pagination);
  const pages = Math.ceil(total / (size || PAGE_SIZE));
  if (pages <= 1) return;
  const current = Math.min(state.page, pages);
  const link = (page, text, attrs = {}) => {
    const next = { ...cloneState(state), page };
    const href = searchUrl(next);
    return h("a", { href, "data-spa": "1", onclick: spaLink(href, (u) => goToHref(u, { focusResults: true })), ...attrs }, text);
  };
  const list = h("ul", {});
  if (current > 1) list.append(h("li", {}, link(current - 1, "上一页", { rel: "prev", class: "page-step" })));
  for (const p of pageWindow(current, pages)) {
    if (p === null) list.append(h("li", { class: "gap", "aria-hidden": "true" }, "…"));
    else if (p === current) list.append(h("li", {}, h("a", { "aria-current": "page", class: "current", href: searchUrl({ ...cloneState(state), page: p }), "aria-label": `第 ${p} 页，当前页` }, String(p))));
    else list.append(h("li", {}, link(p, String(p), { "aria-label": `第 ${p} 页` })));
  }
  if (current < pages) list.append(h("li", {}, link(current + 1, "下一页", { rel: "next", class: "page-step" })));
  els.pagination.append(list, h("p", { class: "page-count" }, `第 ${current} / ${pages} 页`));
}

function pageWindow(current, pages) {
  const set = new Set([1, pages, current - 1, current, current + 1]);
  if (current <= 3) [2, 3, 4].forEach((p) => set.add(p));
  if (current >= pages - 2) [pages - 1, pages - 2, pages - 3].forEach((p) => set.add(p));
  const sorted = [...set].filter((p) => p >= 1 && p <= pages).sort((a, b) => a - b);
  const out = [];
  sorted.forEach((p, i) => {
    if (i && p - sorted[i - 1] > 1) out.push(null);
    out.push(p);
  });
  return out;
}

// -- wiring -------------------------------------------------------------------------

async function submitQuery(q) {
  await kioskReady;
  // A new query searches the other names again and is read as the server judges, whatever
  // the last one asked.
  const next = { ...cloneState(state), q: q.trim(), page: 1, expand: true, reading: "" };
  if (!next.q && !Object.keys(next.filters).length && !next.date_from && !next.date_to) {
    if (kiosk.on) history.replaceState(null, "", startUrl());
    else history.pushState(null, "", startUrl());
    return load();
  }
  return go(next);
}

function wire() {
  suggest = setupSuggest(els.input, els.suggestions, { onPick: (text) => submitQuery(text) });
  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitQuery(els.input.value);
  });
  els.sort.addEventListener("change", () => {
    go({ ...cloneState(state), sort: els.sort.value, page: 1 }, { restoreFocus: () => els.sort.focus() });
  });
  els.dateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = els.dateFrom.value;
    const to = els.dateTo.value;
    if (from && to && from > to) {
      els.dateError.textContent = "起始日期不能晚于截止日期。";
      els.dateError.hidden = false;
      els.dateFrom.setAttribute("aria-invalid", "true");
      els.dateFrom.focus();
      return;
    }
    els.dateError.hidden = true;
    els.dateFrom.removeAttribute("aria-invalid");
    go({ ...cloneState(state), date_from: from, date_to: to, page: 1 });
  });
  els.validForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = cloneState(state);
    if (els.validOn.value) next.filters.valid_on = [els.validOn.value];
    else delete next.filters.valid_on;
    go({ ...next, page: 1 });
  });
  els.filterToggle.addEventListener("click", () => {
    const open = els.filterToggle.getAttribute("aria-expanded") !== "true";
    els.filterToggle.setAttribute("aria-expanded", String(open));
    els.filters.classList.toggle("open", open);
    if (open) els.filters.querySelector("input, button")?.focus();
  });
  for (const a of document.querySelectorAll("a[data-spa='1'], a[data-home]")) {
    a.addEventListener("click", spaLink(a.getAttribute("href"), (u) => {
      const url = new URL(u, location.href);
      for (const [k, v] of new URLSearchParams(startUrl().slice(2))) url.searchParams.set(k, v);
      goToHref(url.href, { focusResults: true });
    }));
  }
  window.addEventListener("popstate", () => load());
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (!els.layout.hidden) renderHistogram(lastYears);
    }, 150);
  });
}

// The form works from the first moment; kiosk mode (which asks /api/config) is settled
// before the first navigation that depends on it.
const kioskReady = setupKiosk();

async function main() {
  wire();
  await kioskReady;
  showWorkspaceLink(!kiosk.on);
  // Kiosk links keep ?kiosk/&idle (startUrl carries them) so the terminal stays a kiosk.
  if (kiosk.on) document.querySelector("a[data-home]")?.setAttribute("href", startUrl());
  await load({ initial: true });
  if (!hasSearch(state) && document.activeElement === document.body) els.input.focus({ preventScroll: true });
}

main();
