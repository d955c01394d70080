// The reading room's register (利用登记: a visit, the items consulted, pages copied, the
// outcome) and the statistics (利用统计: figures, a chart drawn by the vendored Apache
// ECharts, the yearly XLSX). Reads and writes /staff/api only; every state change carries
// the session's CSRF token; text from the server goes into the page as text, never as HTML.

import { $, call, el, say, session } from "./common.js";

let visit = null;
let chart = null;

async function showSignedIn(me) {
  $("#signin-panel").hidden = true;
  $("#who").hidden = false;
  $("#who-name").textContent = `${me.name}（${me.role_label}）`;
  $("#register").hidden = !["reading_room", "admin"].includes(me.role);
  $("#statistics").hidden = !["reviewer", "admin"].includes(me.role);
  if (!$("#register").hidden) {
    const options = await call("GET", "/staff/api/register/options");
    $("#v-idtype").replaceChildren(...options.id_types.map((t) => el("option", { value: t }, t)));
    $("#v-purpose").replaceChildren(...options.purposes.map((p) => el("option", { value: p }, p)));
  }
  if (!$("#statistics").hidden) {
    $("#stat-year").value = new Date().getFullYear();
    loadStatistics();
  }
}

function showSignIn() {
  $("#signin-panel").hidden = false;
  $("#register").hidden = $("#statistics").hidden = $("#who").hidden = true;
  $("#username").focus();
}

// -- the register -----------------------------------------------------------------------------
async function registerVisit(event) {
  event.preventDefault();
  try {
    const made = await call("POST", "/staff/api/register/visits", {
      name: $("#v-name").value.trim(), id_type: $("#v-idtype").value, id_number: $("#v-idnumber").value.trim(),
      purpose: $("#v-purpose").value, items: [] });
    $("#visit-form").reset();
    say(`已登记（第 ${made.id} 号）`);
    await showVisit(made.id);
  } catch (err) {
    say(err.message);
  }
}

async function showVisit(id) {
  visit = await call("GET", `/staff/api/register/visits/${id}`);
  $("#visit").hidden = false;
  if (visit.id !== Number($("#visit").dataset.id)) $("#terminal-code-text").textContent = "";
  $("#visit").dataset.id = String(visit.id);
  $("#visit-title").textContent = `第 ${visit.id} 号登记：${visit.name}（${visit.purpose}）`;
  $("#v-outcome").value = visit.outcome || "";
  $("#visit-items").replaceChildren(...visit.items.map((i) => el("tr", {},
    el("td", {}, i.archival_code || i.id), el("td", {}, i.title),
    el("td", {}, el("input", { type: "number", min: "0", value: String(i.copies), class: "copies",
                                "data-row": String(i.row), "aria-label": `${i.title} 复制页数` })))));
}

async function addItem(ref) {
  try {
    await call("POST", `/staff/api/register/visits/${visit.id}/items`, { items: [{ ref }] });
    await showVisit(visit.id);
    say(`已添加 ${ref}`);
  } catch (err) {
    say(err.message);
  }
}

async function searchItems(event) {
  event.preventDefault();
  const q = $("#item-q").value.trim();
  try {
    const found = await call("GET", `/staff/api/queue?${new URLSearchParams({ view: "all", q })}`);
    $("#item-results").replaceChildren(...found.items.slice(0, 20).map((i) => el("li", {},
      el("span", {}, `${i.archival_code || i.id} ${i.title}`),
      el("button", { type: "button", class: "button button-secondary", onclick: () => addItem(i.id) }, "加入登记"))));
    if (!found.items.length) say("没有找到档案");
  } catch (err) {
    say(err.message);
  }
}

async function terminalCode() {
  try {
    const made = await call("POST", `/staff/api/register/visits/${visit.id}/terminal`);
    $("#terminal-code-text").textContent = `${made.code}（请读者在阅览终端输入，8 小时内有效）`;
  } catch (err) {
    say(err.message);
  }
}

async function saveOutcome(event) {
  event.preventDefault();
  const copies = {};
  for (const input of document.querySelectorAll(".copies")) copies[input.dataset.row] = Number(input.value || 0);
  try {
    await call("POST", `/staff/api/register/visits/${visit.id}/outcome`, { outcome: $("#v-outcome").value.trim(), copies });
    await showVisit(visit.id);
    say("已保存");
  } catch (err) {
    say(err.message);
  }
}

// -- the statistics ---------------------------------------------------------------------------
async function loadStatistics(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ year: $("#stat-year").value, period: $("#stat-period").value });
  $("#stat-xlsx").href = `/staff/api/statistics.xlsx?${params}`;
  let f;
  try {
    f = await call("GET", `/staff/api/statistics?${params}`);
  } catch (err) {
    say(err.message);
    return;
  }
  const t = f.totals;
  const row = (label, value, unit) => el("tr", {}, el("th", {}, label), el("td", { class: "figure" }, String(value)), el("td", {}, unit));
  $("#stat-totals").replaceChildren(
    row("接待档案利用者（阅览室）", t.persons, "人次"), row("提供档案资料（阅览室）", t.room_items, "卷(件)次"),
    row("复制档案", t.copies, "页"), row("在线查阅档案资料", t.online_items, "卷(件)次"),
    row("在线检索", t.searches, "次"), row("开放档案", t.opened, "卷(件)"));
  $("#stat-purpose").replaceChildren(...f.by_purpose.map((p) => el("tr", {},
    el("td", {}, p.label), el("td", {}, String(p.persons)), el("td", {}, String(p.items)), el("td", {}, String(p.copies)))));
  $("#stat-fonds").replaceChildren(...f.by_fonds.map((p) => el("tr", {},
    el("td", {}, p.label), el("td", {}, String(p.persons)), el("td", {}, String(p.room_items)),
    el("td", {}, String(p.online_items)))));
  drawChart(f);
}

function drawChart(f) {
  if (!window.echarts) return; // the tables above carry every figure
  chart = chart || window.echarts.init($("#stat-chart"), null, { renderer: "canvas" });
  const keys = f.by_period.map((p) => p.key);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: ["阅览室人次", "阅览室卷(件)次", "在线查阅卷(件)次"] },
    xAxis: { type: "category", data: keys },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "阅览室人次", type: "bar", data: f.by_period.map((p) => p.persons) },
      { name: "阅览室卷(件)次", type: "bar", data: f.by_period.map((p) => p.room_items) },
      { name: "在线查阅卷(件)次", type: "bar", data: f.by_period.map((p) => p.online_items) },
    ],
  }, true);
}

async function start() {
  $("#visit-form").addEventListener("submit", registerVisit);
  $("#item-search").addEventListener("submit", searchItems);
  $("#item-code-form").addEventListener("submit", (e) => { e.preventDefault(); addItem($("#item-code").value.trim()); });
  $("#outcome-form").addEventListener("submit", saveOutcome);
  $("#terminal-code").addEventListener("click", terminalCode);
  $("#stat-form").addEventListener("submit", loadStatistics);
  await session(showSignedIn, showSignIn);
}

start();
