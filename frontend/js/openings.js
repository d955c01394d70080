// The public lists of opened archives, batch by batch (第N批开放档案目录), from /api/openings.
// Text from the server goes into the page as text only.

const $ = (sel) => document.querySelector(sel);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

async function start() {
  const resp = await fetch("api/openings", { headers: { Accept: "application/json" } });
  if (!resp.ok) {
    $("#status").textContent = "目录暂不可用，请稍后再试";
    return;
  }
  const { batches } = await resp.json();
  if (!batches.length) {
    $("#status").textContent = "尚无开放批次";
    return;
  }
  for (const b of batches) {
    const detail = await (await fetch(`api/openings/${b.number}`)).json();
    const rows = (detail.items || []).map((d) => el("tr", {},
      el("td", {}, d.archival_code || d.id), el("td", {}, el("a", { href: `doc.html?id=${encodeURIComponent(d.id)}` }, d.title)),
      el("td", {}, d.date || "—"), el("td", {}, d.fonds || "—")));
    $("#batches").append(el("section", { id: String(b.number), class: "opening-batch" },
      el("h2", {}, `${b.title}（${b.day} 开放，${b.count} 件）`),
      el("p", {}, el("a", { href: `api/openings/${b.number}.csv`, download: "" }, "下载 CSV")),
      el("table", { class: "meta-table" },
        el("thead", {}, el("tr", {}, el("th", {}, "档号"), el("th", {}, "题名"), el("th", {}, "形成日期"), el("th", {}, "全宗"))),
        el("tbody", {}, ...rows))));
  }
}

start();
