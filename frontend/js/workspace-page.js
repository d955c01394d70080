// The workspace page: folders with their documents, passages and notes, export of a folder
// in each format, the workspace as a file, saved searches and the search history.

import { clear, h, formatDate, joinList, COLLECTION_LABEL } from "./dom.js";
import { kiosk, setupKiosk } from "./kiosk.js";
import { docUrl } from "./state.js";
import * as ws from "./workspace.js";

const $ = (id) => document.getElementById(id);

function render() {
  const data = ws.load();
  renderFolders(data.folders);
  renderSaved(data.saved);
  renderHistory(data.history);
}

function noteEditor(label, value, onSave, placeholder = "批注") {
  const area = h("textarea", { rows: 2, maxlength: 5000, "aria-label": label, placeholder }, value);
  const saved = h("span", { class: "export-status", role: "status" });
  return h("div", { class: "note-editor" }, area,
    h("button", {
      type: "button", class: "button button-secondary",
      onclick: () => { onSave(area.value); saved.textContent = "已保存"; },
    }, "保存批注"), saved);
}

function renderFolders(folders) {
  const root = clear($("folders"));
  if (!folders.length) {
    root.append(h("p", { class: "muted" }, "还没有专题。在文件页面点击“加入专题”，或在上方新建一个。"));
    return;
  }
  for (const folder of folders) {
    const items = h("ol", { class: "folder-items" });
    for (const item of folder.items) {
      const passages = h("ul", { class: "passages" });
      for (const p of item.passages) {
        passages.append(h("li", { class: "passage" },
          h("blockquote", {}, p.text),
          h("p", { class: "passage-meta" }, p.page ? h("a", { href: `${docUrl(item.id, "")}#page-${p.page}` }, `第 ${p.page} 页`) : null,
            p.note ? h("span", { class: "passage-note" }, `批注：${p.note}`) : null,
            h("button", {
              type: "button", class: "link-button", "aria-label": `删除摘录：${p.text.slice(0, 20)}`,
              onclick: () => { ws.removePassage(folder.id, item.id, p.id); render(); },
            }, "删除摘录"))));
      }
      items.append(h("li", { class: "folder-item", "data-doc": item.id },
        h("h4", {}, h("a", { href: docUrl(item.id, "") }, item.title || "（无题名）")),
        h("p", { class: "muted" }, [item.doc_number, joinList(item.agency), formatDate(item.date),
          COLLECTION_LABEL[item.collection]].filter(Boolean).join(" · ")),
        noteEditor(`《${item.title}》的批注`, item.note, (v) => ws.setItemNote(folder.id, item.id, v)),
        item.passages.length ? passages : null,
        h("button", {
          type: "button", class: "link-button", onclick: () => { ws.removeItem(folder.id, item.id); render(); },
        }, "移出专题")));
    }
    const nameInput = h("input", { type: "text", value: folder.name, maxlength: 200, "aria-label": "专题名称" });
    root.append(h("section", { class: "folder", "data-folder": folder.id, "aria-label": `专题：${folder.name}` },
      h("h3", { class: "folder-name" }, folder.name, h("span", { class: "count" }, `${folder.items.length} 件`)),
      h("div", { class: "inline-form" }, nameInput,
        h("button", { type: "button", class: "button button-secondary", onclick: () => { ws.renameFolder(folder.id, nameInput.value); render(); } }, "重命名"),
        h("button", {
          type: "button", class: "button button-secondary",
          onclick: (e) => {
            const b = e.currentTarget;
            if (b.dataset.confirm !== "1") { b.dataset.confirm = "1"; b.textContent = "确认删除专题"; return; }
            ws.deleteFolder(folder.id);
            render();
          },
        }, "删除专题")),
      noteEditor(`专题“${folder.name}”的说明`, folder.note, (v) => ws.setFolderNote(folder.id, v), "专题说明（写入 Word 汇编的开头）"),
      folder.items.length ? items : h("p", { class: "muted" }, "专题中还没有文件。"),
      folder.items.length ? ws.exportControls(() => ({ body: ws.folderBody(ws.load().folders.find((f) => f.id === folder.id) || folder) }),
        { label: "导出此专题" }) : null));
  }
}

function searchHref(params) {
  return `./${params ? `?${params}` : ""}`;
}

function renderSaved(saved) {
  const root = clear($("saved"));
  if (!saved.length) {
    root.append(h("li", { class: "muted" }, "还没有保存的检索。在检索结果页点击“保存检索”。"));
    return;
  }
  for (const s of saved) {
    const input = h("input", { type: "text", value: s.name, maxlength: 200, "aria-label": "检索名称" });
    root.append(h("li", { class: "saved-search", "data-saved": s.id },
      h("a", { href: searchHref(s.params), class: "saved-link" }, s.name),
      h("span", { class: "muted" }, ws.describe(s.params)),
      h("a", { href: ws.feedUrl(s.params), type: "application/atom+xml", class: "feed-link" }, "订阅（Atom）"),
      h("span", { class: "inline-form" }, input,
        h("button", { type: "button", class: "button button-secondary", onclick: () => { ws.renameSaved(s.id, input.value); render(); } }, "重命名"),
        h("button", { type: "button", class: "button button-secondary", onclick: () => { ws.deleteSaved(s.id); render(); } }, "删除"))));
  }
}

function renderHistory(history) {
  const root = clear($("history"));
  if (!history.length) root.append(h("li", { class: "muted" }, "暂无检索记录。"));
  for (const s of history) {
    root.append(h("li", {}, h("a", { href: searchHref(s.params) }, s.label || ws.describe(s.params)),
      h("span", { class: "muted" }, ` ${formatDate(s.at)}`)));
  }
}

function wire() {
  $("new-folder").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("new-folder-name").value.trim();
    if (!name) return $("new-folder-name").focus();
    ws.createFolder(name);
    $("new-folder-name").value = "";
    render();
  });
  $("ws-export").addEventListener("click", () => {
    ws.offerFile(ws.workspaceFile(), `查阅专题-${new Date().toISOString().slice(0, 10)}.json`);
    $("ws-file-status").textContent = "已导出专题文件。";
  });
  $("ws-import").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const status = $("ws-file-status");
    status.classList.remove("error");
    try {
      const { folders } = ws.importWorkspace(await file.text());
      status.textContent = `已导入 ${folders} 个专题。`;
      render();
    } catch (err) {
      status.textContent = err.message;
      status.classList.add("error");
    }
    event.target.value = "";
  });
  $("clear-history").addEventListener("click", () => { ws.clearHistory(); render(); });
}

async function main() {
  await setupKiosk();
  if (kiosk.on) {
    $("ws-off").hidden = false;
    return;
  }
  $("ws").hidden = false;
  wire();
  render();
}

main();
