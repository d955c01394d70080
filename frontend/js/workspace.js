// The researcher's workspace (编研): folders (专题) of documents and passages with notes,
// search history and saved searches. It lives in this browser only (localStorage; no
// accounts, and the API stays read-only); a file carries it to another machine. On a
// reading-room kiosk it is off: nothing is recorded, and the idle reset clears "chayue.*".

import { h, facetValueLabel, quoted } from "./dom.js";
import { FILTER_FIELDS, searchParams } from "./state.js";

const KEY = "chayue.workspace";
const FILE_FORMAT = "chayue-workspace";
const MAX_HISTORY = 50;
const MAX_TEXT = 5000;

export const EXPORT_FORMATS = [
  { fmt: "csv", label: "CSV 表格" },
  { fmt: "xlsx", label: "Excel 表格" },
  { fmt: "docx", label: "Word 汇编" },
  { fmt: "ris", label: "RIS（EndNote、NoteExpress）" },
  { fmt: "bibtex", label: "BibTeX" },
  { fmt: "csljson", label: "CSL-JSON（Zotero）" },
];

function empty() {
  return { version: 1, folders: [], history: [], saved: [] };
}

function newId(prefix) {
  const rand = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rand[0].toString(36)}${rand[1].toString(36)}`;
}

const str = (v, max = MAX_TEXT) => (typeof v === "string" ? v.slice(0, max) : "");

// -- the store -----------------------------------------------------------------------

export function load() {
  try {
    return clean(JSON.parse(localStorage.getItem(KEY) || "null"));
  } catch {
    return empty();
  }
}

export function save(ws) {
  try {
    localStorage.setItem(KEY, JSON.stringify(ws));
    return true;
  } catch {
    return false; // storage full or disabled: the page says so where it saves
  }
}

function update(change) {
  const ws = load();
  const result = change(ws);
  save(ws);
  return result;
}

/** Whatever came from storage or a file, reduced to the shape we write (strings, numbers). */
export function clean(raw) {
  const ws = empty();
  if (!raw || typeof raw !== "object") return ws;
  for (const f of Array.isArray(raw.folders) ? raw.folders : []) {
    if (!f || typeof f !== "object") continue;
    ws.folders.push({
      id: str(f.id, 100) || newId("f"), name: str(f.name, 200) || "未命名专题", note: str(f.note),
      created: str(f.created, 40), items: (Array.isArray(f.items) ? f.items : []).filter((i) => i && str(i.id, 200)).map(cleanItem),
    });
  }
  for (const s of Array.isArray(raw.saved) ? raw.saved : []) {
    if (s && typeof s.params === "string") ws.saved.push({ id: str(s.id, 100) || newId("s"), name: str(s.name, 200) || "检索", params: str(s.params, 2000), at: str(s.at, 40) });
  }
  for (const s of Array.isArray(raw.history) ? raw.history : []) {
    if (s && typeof s.params === "string") ws.history.push({ params: str(s.params, 2000), label: str(s.label, 300), at: str(s.at, 40) });
  }
  ws.history = ws.history.slice(0, MAX_HISTORY);
  return ws;
}

function cleanItem(i) {
  const agency = Array.isArray(i.agency) ? i.agency.map((a) => str(a, 200)).filter(Boolean) : [];
  return {
    id: str(i.id, 200), title: str(i.title, 500), doc_number: str(i.doc_number, 200), agency,
    date: str(i.date, 20), collection: str(i.collection, 20), note: str(i.note), added: str(i.added, 40),
    passages: (Array.isArray(i.passages) ? i.passages : []).filter((p) => p && str(p.text)).map((p) => ({
      id: str(p.id, 100) || newId("p"), page: Number.isInteger(p.page) && p.page > 0 ? p.page : null,
      text: str(p.text), note: str(p.note), added: str(p.added, 40),
    })),
  };
}

// -- folders -------------------------------------------------------------------------

export function createFolder(name) {
  return update((ws) => {
    const folder = { id: newId("f"), name: str(name.trim(), 200) || "未命名专题", note: "", created: new Date().toISOString(), items: [] };
    ws.folders.push(folder);
    return folder;
  });
}

export function renameFolder(id, name) {
  update((ws) => { const f = ws.folders.find((x) => x.id === id); if (f && name.trim()) f.name = str(name.trim(), 200); });
}

export function setFolderNote(id, note) {
  update((ws) => { const f = ws.folders.find((x) => x.id === id); if (f) f.note = str(note); });
}

export function deleteFolder(id) {
  update((ws) => { ws.folders = ws.folders.filter((f) => f.id !== id); });
}

function itemFor(folder, doc) {
  let item = folder.items.find((i) => i.id === doc.id);
  if (!item) {
    item = cleanItem({ ...doc, agency: Array.isArray(doc.agency) ? doc.agency : [doc.agency].filter(Boolean), note: "", passages: [], added: new Date().toISOString() });
    folder.items.push(item);
  }
  return item;
}

/** Add a document (and, with `passage`, a passage of one page) to a folder, with a note. */
export function addToFolder(folderId, doc, { note = "", passage = null } = {}) {
  return update((ws) => {
    const folder = ws.folders.find((f) => f.id === folderId);
    if (!folder) return false;
    const item = itemFor(folder, doc);
    if (passage) {
      item.passages.push({ id: newId("p"), page: passage.page || null, text: str(passage.text), note: str(note), added: new Date().toISOString() });
    } else if (note) {
      item.note = item.note ? `${item.note}\n${str(note)}` : str(note);
    }
    return true;
  });
}

export function setItemNote(folderId, docId, note) {
  update((ws) => {
    const item = ws.folders.find((f) => f.id === folderId)?.items.find((i) => i.id === docId);
    if (item) item.note = str(note);
  });
}

export function removeItem(folderId, docId) {
  update((ws) => {
    const f = ws.folders.find((x) => x.id === folderId);
    if (f) f.items = f.items.filter((i) => i.id !== docId);
  });
}

export function removePassage(folderId, docId, passageId) {
  update((ws) => {
    const item = ws.folders.find((f) => f.id === folderId)?.items.find((i) => i.id === docId);
    if (item) item.passages = item.passages.filter((p) => p.id !== passageId);
  });
}

// -- searches ------------------------------------------------------------------------

/** The search's parameters as a query string, without the page (and the kiosk's own). */
export function searchKey(state) {
  return searchParams({ ...state, page: 1 }, { withTerminal: false }).toString();
}

export function describe(params) {
  const p = new URLSearchParams(params);
  const parts = [p.get("q") ? quoted(p.get("q")) : "全部文件"];
  for (const field of FILTER_FIELDS) for (const v of p.getAll(field)) parts.push(facetValueLabel(field, v));
  if (p.get("date_from") || p.get("date_to")) parts.push(`${p.get("date_from") || "…"} 至 ${p.get("date_to") || "…"}`);
  return parts.join(" · ");
}

export function recordSearch(state) {
  const params = searchKey(state);
  update((ws) => {
    ws.history = [{ params, label: describe(params), at: new Date().toISOString() },
      ...ws.history.filter((s) => s.params !== params)].slice(0, MAX_HISTORY);
  });
}

export function saveSearch(name, params) {
  return update((ws) => {
    const entry = { id: newId("s"), name: str(name.trim(), 200) || describe(params), params, at: new Date().toISOString() };
    ws.saved.push(entry);
    return entry;
  });
}

export function renameSaved(id, name) {
  update((ws) => { const s = ws.saved.find((x) => x.id === id); if (s && name.trim()) s.name = str(name.trim(), 200); });
}

export function deleteSaved(id) {
  update((ws) => { ws.saved = ws.saved.filter((s) => s.id !== id); });
}

export function clearHistory() {
  update((ws) => { ws.history = []; });
}

export function feedUrl(params) {
  return `/api/search.atom${params ? `?${params}` : ""}`;
}

// -- files ---------------------------------------------------------------------------

export function workspaceFile() {
  const ws = load();
  const body = JSON.stringify({ format: FILE_FORMAT, version: 1, exported: new Date().toISOString(), ...ws }, null, 2);
  return new Blob([body], { type: "application/json" });
}

/** Merge a workspace file into this one: folders by id (documents and passages added,
 *  nothing of ours overwritten), saved searches and history by their parameters. */
export function importWorkspace(text) {
  let raw;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error("文件无法读取：不是查阅专题文件。");
  }
  if (!raw || raw.format !== FILE_FORMAT) throw new Error("文件无法读取：不是查阅专题文件。");
  const incoming = clean(raw);
  const ws = load();
  const result = merge(ws, incoming);
  // A file larger than this browser's storage (a few MB) would be merged and then lost:
  // nothing is kept, and the reader is told so, rather than "imported" and gone on reload.
  if (!save(ws)) throw new Error("本浏览器的存储空间不足，无法保存导入的专题，未导入任何内容。请先删除不用的专题，或分开导入。");
  return result;
}

/** `incoming` merged into `ws` (changed in place); what was added. */
function merge(ws, incoming) {
  let folders = 0;
  for (const f of incoming.folders) {
    const mine = ws.folders.find((x) => x.id === f.id);
    if (!mine) { ws.folders.push(f); folders += 1; continue; }
    for (const item of f.items) {
      const have = mine.items.find((i) => i.id === item.id);
      if (!have) { mine.items.push(item); continue; }
      for (const p of item.passages) if (!have.passages.some((q) => q.id === p.id)) have.passages.push(p);
      if (item.note && !have.note.includes(item.note)) have.note = have.note ? `${have.note}\n${item.note}` : item.note;
    }
    folders += 1;
  }
  for (const s of incoming.saved) if (!ws.saved.some((x) => x.params === s.params && x.name === s.name)) ws.saved.push(s);
  const seen = new Set(ws.history.map((s) => s.params));
  ws.history = [...ws.history, ...incoming.history.filter((s) => !seen.has(s.params))].slice(0, MAX_HISTORY);
  return { folders, saved: incoming.saved.length };
}

/** Give the reader a file from a Blob (same origin, so CSP allows it). */
export function offerFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const m = /filename\*=UTF-8''([^;]+)/i.exec(header);
  try {
    return m ? decodeURIComponent(m[1]) : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Ask the API for an export and hand it over as a file, reporting progress as it arrives.
 * `body` (a folder) makes it a POST; without it, `params` name a search.
 */
export async function fetchExport(fmt, { params = "", body = null, onProgress = () => {} } = {}) {
  const url = `/api/export/${fmt}${params ? `?${params}` : ""}`;
  let response;
  try {
    response = await fetch(url, body ? {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin",
    } : { credentials: "same-origin" });
  } catch {
    throw new Error("无法连接到查阅服务，请检查网络后重试。");
  }
  if (!response.ok) {
    let message = `导出失败（${response.status}），请稍后再试。`;
    try {
      const err = await response.json();
      if (err && typeof err.message === "string") message = err.message.split(" / ")[0];
    } catch {
      // not our JSON error: keep the plain message
    }
    throw new Error(message);
  }
  const count = Number(response.headers.get("X-Chayue-Export-Count") || 0);
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress({ received, count });
  }
  const type = response.headers.get("Content-Type") || "application/octet-stream";
  offerFile(new Blob(chunks, { type }), filenameOf(response, `chayue-export.${fmt}`));
  return { received, count };
}

/** The body POST /api/export takes for a folder. */
export function folderBody(folder) {
  return {
    name: folder.name, note: folder.note,
    items: folder.items.map((i) => ({
      id: i.id, note: i.note, passages: i.passages.map((p) => ({ page: p.page, text: p.text, note: p.note })),
    })),
  };
}

/** Export buttons with a progress line; `request()` gives fetchExport's options. */
export function exportControls(request, { label = "导出" } = {}) {
  const status = h("p", { class: "export-status", role: "status", "aria-live": "polite" });
  const progress = h("progress", { class: "export-progress", hidden: true });
  const buttons = EXPORT_FORMATS.map(({ fmt, label: name }) => h("button", {
    type: "button", class: "button button-secondary export-button", "data-format": fmt,
    onclick: async (event) => {
      const button = event.currentTarget;
      for (const b of buttons) b.disabled = true;
      progress.hidden = false;
      status.classList.remove("error");
      status.textContent = `正在导出 ${name}…`;
      try {
        const { received, count } = await fetchExport(fmt, {
          ...request(),
          onProgress: ({ received: r }) => { status.textContent = `正在导出 ${name}… 已接收 ${Math.ceil(r / 1024)} KB`; },
        });
        status.textContent = `已导出 ${name}：${count} 件，${Math.ceil(received / 1024)} KB。`;
      } catch (err) {
        status.textContent = err.message;
        status.classList.add("error");
      } finally {
        progress.hidden = true;
        for (const b of buttons) b.disabled = false;
        button.focus();
      }
    },
  }, name));
  return h("div", { class: "export-controls", role: "group", "aria-label": label },
    h("span", { class: "export-label" }, `${label}：`), ...buttons, progress, status);
}

// -- hooks for the search and document pages ----------------------------------------

/** Show the header's link to the workspace page (not on a kiosk). */
export function showWorkspaceLink(on) {
  const link = document.getElementById("workspace-link");
  if (link) link.hidden = !on;
}

/**
 * Under a result list: record the search in the history, and offer to save it, subscribe
 * to its feed and export it. On a kiosk: nothing recorded, and printing instead.
 */
export function searchTools(container, state, total, { kioskOn = false } = {}) {
  while (container.firstChild) container.removeChild(container.firstChild);
  container.hidden = !total;
  if (!total) return;
  if (kioskOn) {
    container.append(h("button", { type: "button", class: "button button-secondary", onclick: () => window.print() }, "打印结果列表"));
    return;
  }
  recordSearch(state);
  const params = searchKey(state);
  const feed = feedUrl(params);
  let alt = document.querySelector("link[data-feed]");
  if (!alt) {
    alt = h("link", { rel: "alternate", type: "application/atom+xml", "data-feed": "1" });
    document.head.append(alt);
  }
  alt.setAttribute("href", feed);
  alt.setAttribute("title", `${describe(params)} · 新文件`);
  const name = h("input", { type: "text", id: "save-search-name", maxlength: 200, value: describe(params), "aria-label": "检索名称" });
  const status = h("span", { class: "export-status", role: "status", "aria-live": "polite" });
  const form = h("form", {
    class: "inline-form save-search",
    onsubmit: (event) => {
      event.preventDefault();
      const entry = saveSearch(name.value, params);
      status.textContent = `已保存检索“${entry.name}”，可在“我的专题”中找到。`;
    },
  }, h("label", { for: "save-search-name" }, "保存检索"), name,
  h("button", { type: "submit", class: "button button-secondary" }, "保存"), status);
  // Folded by default: the results come first; the state survives a new search.
  const details = h("details", { class: "search-tools", open: container.dataset.open === "1",
    ontoggle: () => { container.dataset.open = details.open ? "1" : ""; } },
  h("summary", {}, "保存、订阅或导出此检索"),
  h("div", { class: "search-tools-row" }, form,
    h("a", { href: feed, type: "application/atom+xml", class: "feed-link", title: "用阅读器订阅，有新文件时得到通知" }, "订阅此检索（Atom）")),
  total > 10000 ? h("p", { class: "muted" }, "结果超过 10 000 件，导出前请增加筛选条件缩小范围。") : "",
  exportControls(() => ({ params }), { label: `导出全部 ${total} 件结果` }));
  container.append(details);
}

/** The selection inside the document's pages, with the page it starts on, or null. */
function selectedPassage(pagesRoot) {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed || !sel.rangeCount) return null;
  const text = sel.toString().replace(/\s+\n/g, "\n").trim();
  const start = sel.getRangeAt(0).startContainer;
  const node = start.nodeType === Node.ELEMENT_NODE ? start : start.parentElement;
  if (!text || !node || !pagesRoot.contains(node)) return null;
  const page = parseInt(node.closest("[data-page]")?.dataset.page || "", 10);
  return { text: text.slice(0, MAX_TEXT), page: page > 0 ? page : null };
}

/** On the document page: "加入专题" with a folder, a note, and the selected passage. */
export function docTools(doc, actions, after, pagesRoot) {
  const toggle = h("button", { type: "button", id: "collect-button", class: "button button-secondary", "aria-expanded": "false", "aria-controls": "collect" }, "加入专题");
  actions.prepend(toggle);
  const select = h("select", { id: "collect-folder" });
  const newName = h("input", { type: "text", id: "collect-new", maxlength: 200, placeholder: "新专题名称" });
  const newRow = h("p", { class: "collect-row" }, h("label", { for: "collect-new" }, "新专题"), newName);
  const note = h("textarea", { id: "collect-note", rows: 2, maxlength: MAX_TEXT });
  const selection = h("p", { class: "collect-selection muted", id: "collect-selection" }, "摘录：在正文中选中一段文字，再点“加入摘录”。");
  const status = h("p", { class: "export-status", role: "status", "aria-live": "polite" });
  const passageButton = h("button", { type: "button", id: "collect-passage", class: "button button-secondary", disabled: true }, "加入摘录");
  let passage = null;

  const fillFolders = (selectId) => {
    while (select.firstChild) select.removeChild(select.firstChild);
    for (const f of load().folders) select.append(h("option", { value: f.id }, `${f.name}（${f.items.length} 件）`));
    select.append(h("option", { value: "" }, "新建专题…"));
    if (selectId) select.value = selectId;
    newRow.hidden = select.value !== "";
  };
  select.addEventListener("change", () => { newRow.hidden = select.value !== ""; });

  const target = () => {
    if (select.value) return select.value;
    const name = newName.value.trim();
    if (!name) { newName.focus(); status.textContent = "请填写新专题的名称。"; return null; }
    const folder = createFolder(name);
    newName.value = "";
    fillFolders(folder.id);
    return folder.id;
  };
  const summary = { id: doc.id, title: doc.title, doc_number: doc.doc_number, agency: doc.agency, date: doc.date || doc.published, collection: doc.collection };
  const folderName = (id) => load().folders.find((f) => f.id === id)?.name || "";

  const add = (withPassage) => {
    const id = target();
    if (!id) return;
    if (!addToFolder(id, summary, { note: note.value.trim(), passage: withPassage ? passage : null })) return;
    note.value = "";
    fillFolders(id);
    status.textContent = withPassage
      ? `已将第 ${passage.page || "?"} 页的摘录加入专题“${folderName(id)}”。`
      : `已将本文件加入专题“${folderName(id)}”。`;
  };
  passageButton.addEventListener("click", () => passage && add(true));

  document.addEventListener("selectionchange", () => {
    const found = selectedPassage(pagesRoot);
    if (!found) return; // keep the last selection: a click on our buttons may clear it
    passage = found;
    const preview = found.text.length > 60 ? `${found.text.slice(0, 60)}…` : found.text;
    selection.textContent = `摘录（第 ${found.page || "?"} 页）：${preview}`;
    passageButton.disabled = false;
    passageButton.textContent = `加入摘录（第 ${found.page || "?"} 页）`;
  });

  const panel = h("section", { id: "collect", class: "collect", hidden: true, "aria-labelledby": "collect-heading" },
    h("h2", { id: "collect-heading" }, "加入专题"),
    h("p", { class: "collect-row" }, h("label", { for: "collect-folder" }, "专题"), select),
    newRow,
    h("p", { class: "collect-row" }, h("label", { for: "collect-note" }, "批注"), note),
    selection,
    h("div", { class: "collect-actions" },
      h("button", { type: "button", id: "collect-doc", class: "button button-primary", onclick: () => add(false) }, "加入文件"),
      passageButton,
      h("a", { href: "workspace.html" }, "查看我的专题")),
    status);
  after.after(panel);
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
    if (open) fillFolders(select.value);
  });
  fillFolders();
}
