// The staff workbench: sign-in, the review queue (初审 of chosen items or a whole search,
// 审定 of pending batches by a second person), the item viewer and withdrawal. Reads and
// writes /staff/api only; every state change carries the session's CSRF token. All text
// from the server goes into the page as text (textContent), never as HTML.

import { $, call, el, say, session } from "./common.js";

let facetChoice = {};
let lastQuery = null;

function showSignedIn(me) {
  $("#signin-panel").hidden = true;
  $("#work").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = `${me.name}（${me.role_label}）`;
  $("#audit").hidden = me.role !== "admin";
  loadQueue();
  if (me.role === "admin") loadAudit();
}

function showSignIn() {
  $("#signin-panel").hidden = false;
  $("#work").hidden = true;
  $("#who").hidden = true;
  $("#username").focus();
}

function queueParams() {
  return { view: $("#view").value, horizon: Number($("#horizon").value || 0), q: $("#queue-q").value.trim(),
           ...facetChoice };
}

const ACCESS_LABELS = { open: "公开", reading_room: "阅览室", restricted: "仅馆员" };
const FACET_LABELS = { mark: "开放标识", category: "类别", fonds: "全宗", retention: "保管期限" };

function statusOf(item) {
  if (item.withdrawn) return `已撤回：${item.withdrawn.reason}`;
  if (item.pending) return `待审定：${item.pending.decision}（初审 ${item.pending.first_by}）`;
  if (item.decision) {
    const d = item.decision;
    let s = `${d.mark}（初审 ${d.first_by}，审定 ${d.final_by}）`;
    if (d.mark === "开放") s += d.opened_batch ? `，第${d.opened_batch}批已开放` : `，${d.open_on} 开放`;
    if (d.next_review) s += `，${d.next_review} 复审`;
    if (d.reason) s += `；理由：${d.reason}`;
    return s;
  }
  return item.classification ? `检出密级：${item.classification}` : "未审核";
}

async function loadQueue() {
  const p = queueParams();
  lastQuery = p;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== "" && v !== undefined && v !== null) qs.set(k, v);
  let data;
  try {
    data = await call("GET", `/staff/api/queue?${qs}`);
  } catch (err) {
    if (err.status === 401) return showSignIn();
    return say(err.message);
  }
  $("#queue-status").textContent = `今天 ${data.today}，共 ${data.total} 件`;
  const body = $("#items");
  body.replaceChildren();
  for (const item of data.items) {
    const open = el("button", { type: "button", class: "link-button" }, item.title);
    open.addEventListener("click", () => openItem(item.id));
    body.append(el("tr", { "data-id": item.id },
      el("td", {}, el("input", { type: "checkbox", class: "pick", value: item.id, "aria-label": `选择 ${item.title}` })),
      el("td", {}, item.archival_code || item.id), el("td", {}, open), el("td", {}, item.formed || "—"),
      el("td", { title: item.due_why }, item.due || "—"), el("td", { class: "mark" }, item.mark),
      el("td", { class: "state" }, statusOf(item))));
  }
  const facets = $("#queue-facets");
  facets.replaceChildren();
  for (const [name, values] of Object.entries(data.facets)) {
    facets.append(el("h3", {}, FACET_LABELS[name] || name));
    for (const v of values.slice(0, 12)) {
      const pressed = facetChoice[name] === v.value;
      const b = el("button", { type: "button", "aria-pressed": String(pressed) }, `${v.value}（${v.count}）`);
      b.addEventListener("click", () => {
        if (pressed) delete facetChoice[name]; else facetChoice[name] = v.value;
        loadQueue();
      });
      facets.append(b);
    }
  }
  const list = $("#pending");
  list.replaceChildren();
  for (const b of data.pending) {
    const approve = el("button", { type: "button", class: "button button-primary approve" }, "审定通过");
    const back = el("button", { type: "button", class: "button button-secondary return" }, "退回");
    approve.addEventListener("click", () => finish(b.batch, true));
    back.addEventListener("click", () => finish(b.batch, false));
    list.append(el("li", { "data-batch": b.batch },
      el("span", {}, `批次 ${b.batch}：${b.decision} ${b.items} 件，初审 ${b.first_by}${b.reason ? "，理由：" + b.reason : ""}`),
      approve, back));
  }
}

function decisionBody() {
  const body = { decision: $("#decision").value, reason: $("#reason").value.trim() || null };
  if ($("#open-on").value) body.open_on = $("#open-on").value;
  if ($("#next-review").value) body.next_review = $("#next-review").value;
  return body;
}

async function review(all) {
  const body = decisionBody();
  if (all) body.query = lastQuery;
  else body.ids = [...document.querySelectorAll(".pick:checked")].map((c) => c.value);
  try {
    const done = await call("POST", "/staff/api/reviews", body);
    say(`已初审：批次 ${done.batch}，${done.items} 件，待另一位审核员审定`);
  } catch (err) {
    return say(err.message);
  }
  loadQueue();
}

async function finish(batch, approve) {
  try {
    const done = await call("POST", `/staff/api/reviews/${encodeURIComponent(batch)}/final`, { approve });
    say(approve ? `已审定：批次 ${done.batch}，${done.items} 件` : `已退回：批次 ${done.batch}`);
  } catch (err) {
    return say(err.message);
  }
  loadQueue();
}

let viewing = null;

async function openItem(id) {
  let data;
  try {
    data = await call("GET", `/staff/api/items/${encodeURIComponent(id)}`);
  } catch (err) {
    return say(err.message);
  }
  viewing = id;
  const d = data.document;
  $("#viewer").hidden = false;
  $("#viewer-title").textContent = d.title;
  $("#viewer-meta").textContent = [d.archival_code, d.date, d.fonds, d.retention, `访问级别 ${ACCESS_LABELS[d.access] || d.access}`,
                                   data.state ? `开放标识 ${data.state.mark}` : ""].filter(Boolean).join(" · ");
  $("#viewer-text").textContent = (d.page_text || []).join("\n\n");
  const img = $("#viewer-image");
  const media = d.media_type || "";
  img.hidden = !(media.startsWith("image/") || media === "application/pdf");
  if (!img.hidden) img.src = `/staff/api/items/${encodeURIComponent(id)}/pages/1.png`;
  $("#viewer").scrollIntoView();
}

async function withdraw(event) {
  event.preventDefault();
  if (!viewing) return;
  try {
    await call("POST", "/staff/api/withdrawals", { id: viewing, reason: $("#withdraw-reason").value.trim() });
    say(`已撤回：${viewing}，公众检索中即刻不可见`);
  } catch (err) {
    return say(err.message);
  }
  loadQueue();
}

async function loadAudit() {
  let data;
  try {
    data = await call("GET", "/staff/api/audit?limit=200");
  } catch (err) {
    return say(err.message);
  }
  $("#audit-status").textContent = data.problems.length
    ? `审计链校验失败：${data.problems.join("；")}` : `审计链完好，共 ${data.count} 条`;
  $("#audit-entries").replaceChildren(...data.entries.map((e) => el("tr", {},
    el("td", {}, String(e.seq)), el("td", {}, e.at.replace("T", " ").slice(0, 19)), el("td", {}, e.actor),
    el("td", {}, e.action), el("td", {}, e.subject), el("td", {}, JSON.stringify(e.detail)))));
}

async function start() {
  $("#queue-form").addEventListener("submit", (e) => { e.preventDefault(); loadQueue(); });
  $("#review-selected").addEventListener("click", () => review(false));
  $("#review-all").addEventListener("click", () => review(true));
  $("#withdraw-form").addEventListener("submit", withdraw);
  $("#select-all").addEventListener("change", (e) => {
    for (const c of document.querySelectorAll(".pick")) c.checked = e.target.checked;
  });
  await session(showSignedIn, showSignIn);
}

start();
