// Small DOM helpers. Every string from the API goes into the page as a text node;
// the one exception, snippet HTML, is rebuilt from text by markedText() below.

/** h("a", {href, class}, child, ...): children are nodes or strings (as text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// The server escapes snippet text and adds only <mark> and </mark>. We do not trust that:
// the string is split on exactly those two tags, every other piece must be plain escaped
// text (no "<" or ">"), its entities are decoded by hand, and the result is built as text
// nodes and <mark> elements. Anything else is shown as literal text, never parsed as HTML.
const NAMED_ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

export function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (whole, body) => {
    if (body[0] === "#") {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return Object.prototype.hasOwnProperty.call(NAMED_ENTITIES, body) ? NAMED_ENTITIES[body] : whole;
  });
}

/** Parse "a<mark>b</mark>c" into [{text, marked}], or null if it holds anything else. */
export function parseMarked(html) {
  const parts = String(html).split(/(<mark>|<\/mark>)/);
  const out = [];
  let depth = 0;
  for (const part of parts) {
    if (part === "<mark>") { depth += 1; continue; }
    if (part === "</mark>") { depth = Math.max(0, depth - 1); continue; }
    if (part === "") continue;
    if (/[<>]/.test(part)) return null; // a tag we did not ask for: refuse to interpret
    out.push({ text: decodeEntities(part), marked: depth > 0 });
  }
  return out;
}

/** A fragment of text nodes and <mark> elements for a snippet; never innerHTML. */
export function markedText(html) {
  const frag = document.createDocumentFragment();
  const pieces = parseMarked(html);
  if (pieces === null) {
    frag.append(document.createTextNode(String(html)));
    return frag;
  }
  for (const { text, marked } of pieces) {
    frag.append(marked ? h("mark", {}, text) : document.createTextNode(text));
  }
  return frag;
}

/** The marked words of a snippet, for highlighting the same words elsewhere. */
export function markedTerms(html) {
  const pieces = parseMarked(html) || [];
  return pieces.filter((p) => p.marked && p.text.trim()).map((p) => p.text);
}

export const COLLECTION_LABEL = { current: "现行文件", archive: "开放档案" };

export const FACET_LABEL = {
  collection: "馆藏类别",
  agency: "发文机关",
  year: "年份",
  category: "主题分类",
  doc_type: "文种",
  validity: "有效性",
  relation: "关联",
  fonds: "全宗",
  valid_on: "在此日有效",
  tree_1: "全宗",
  tree_parent: "案卷",
  node: "所在单元",
};

export function facetValueLabel(field, value) {
  if (field === "collection") return COLLECTION_LABEL[value] || value;
  if (field === "year") return `${value} 年`;
  if (field === "tree_1" || field === "tree_parent" || field === "node") return String(value).split("/").join(" › ");
  return value;
}

// Validity → badge tone. Unknown values get the neutral tone rather than a guess.
const VALIDITY_TONE = {
  现行有效: "valid",
  有效: "valid",
  已修改: "amended",
  已被修改: "amended",
  部分失效: "amended",
  尚未生效: "pending",
  已废止: "void",
  失效: "void",
  已失效: "void",
  历史版本: "void",
};

export function validityBadge(value) {
  if (!value) return null;
  const tone = VALIDITY_TONE[value] || "neutral";
  return h("span", { class: `badge badge-${tone}` }, value);
}

export function formatDate(value) {
  if (!value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : String(value);
}

export function formatNumber(n) {
  return Number(n || 0).toLocaleString("zh-CN");
}

export function joinList(value, sep = "、") {
  if (Array.isArray(value)) return value.filter(Boolean).join(sep);
  return value ? String(value) : "";
}

/** A query in Chinese quotation marks for a sentence about it: “推进国家治理体系”, also when
 * it was typed as one quoted phrase ("推进国家治理体系"), whose quotes are not doubled. */
export function quoted(query) {
  const q = query.trim();
  return /^["“][^"“”]*["”]$/.test(q) ? `“${q.slice(1, -1)}”` : `“${q}”`;
}
