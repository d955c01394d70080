// The browse page: one node of the arrangement (全宗 → … → 案卷), its children with the
// number of items the caller may see, the items of a 案卷 in order, and a search within it.

import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { setupKiosk } from "./kiosk.js";
import { browseUrl, crumbs, nodeName } from "./place.js";
import { docUrl, searchUrl, readSearchState } from "./state.js";

const $ = (id) => document.getElementById(id);
const node = new URLSearchParams(location.search).get("node") || "";

async function main() {
  await setupKiosk();
  let data;
  try {
    data = await api.tree(node);
  } catch (err) {
    $("browse-status").textContent = err.status === 404 ? "未找到该单元，或其中没有您可以查阅的档案。" : err.message;
    $("browse-status").classList.add("error");
    return;
  }
  render(data);
}

function render(data) {
  crumbs(clear($("crumbs")), data.breadcrumbs, { linkLast: false });
  const title = data.node ? nodeName(data.node) : "按全宗浏览档案";
  $("browse-title").textContent = title;
  document.title = `${title} · 查阅`;
  const status = $("browse-status");
  status.textContent = data.node ? `本单元共 ${data.node.count} 件可查阅的档案。` : `共 ${data.children.length} 个全宗。`;
  if (!data.node && !data.children.length) status.textContent = "暂无按全宗整理的档案。";

  const children = clear($("children"));
  for (const child of data.children) {
    children.append(h("li", {},
      h("a", { href: browseUrl(child.path) }, nodeName(child)),
      h("span", { class: "tree-count" }, `${child.count} 件`)));
  }
  $("children-box").hidden = !data.children.length;

  const items = clear($("items"));
  for (const item of data.items) {
    items.append(h("li", {},
      h("span", { class: "tree-item-no" }, item.item_no ? `第 ${item.item_no} 件` : ""),
      h("a", { href: docUrl(item.id) }, item.title || item.id),
      h("span", { class: "tree-code" }, item.archival_code || "")));
  }
  $("items-box").hidden = !data.items.length;

  const form = $("within-form");
  form.hidden = !data.node;
  form.onsubmit = (event) => {
    event.preventDefault();
    const state = { ...readSearchState(""), q: $("within-q").value.trim() };
    state.filters = { node: [node] };
    location.href = searchUrl(state, { explicitSort: !state.q });
  };
}

main();
