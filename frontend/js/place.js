// The finding aid's shared pieces: how a node of the arrangement is named, and the links
// to browse it (browse.html) and to search within it (the search page with ?node=).

import { h } from "./dom.js";
import { terminalParams } from "./state.js";

export function nodeName(node) {
  const code = node.kind === "全宗" ? node.code : `${node.kind} ${node.code}`;
  return node.label ? `${code} ${node.label}` : code;
}

export function browseUrl(path) {
  const params = new URLSearchParams();
  if (path) params.set("node", path);
  for (const [k, v] of terminalParams()) params.set(k, v);
  const qs = params.toString();
  return `browse.html${qs ? `?${qs}` : ""}`;
}

/** Breadcrumbs: 全部全宗 › 全宗 › … › the node, each a link to browse it. */
export function crumbs(list, breadcrumbs, { linkLast = true } = {}) {
  list.append(h("li", {}, h("a", { href: browseUrl("") }, "全部全宗")));
  breadcrumbs.forEach((node, i) => {
    const last = i === breadcrumbs.length - 1;
    const label = `${nodeName(node)}（${node.count} 件）`;
    list.append(h("li", last && !linkLast ? { "aria-current": "page" } : {},
      last && !linkLast ? label : h("a", { href: browseUrl(node.path) }, label)));
  });
}
