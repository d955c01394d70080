// Reading-room kiosk mode: large type, touch-size targets, no downloads or external links,
// and an idle timer that hands the terminal to the next visitor with nothing of the last.
//
// Back must never reach a previous visitor's search. The page therefore never *adds*
// history entries in kiosk mode: searches use history.replaceState and links between
// pages use location.replace, so the visitor's whole session is one history entry, which
// the reset replaces with the start page.

import { api } from "./api.js";
import { h } from "./dom.js";
import { startUrl } from "./state.js";

const STORAGE_PREFIX = "chayue.";
const ACTIVITY_EVENTS = ["pointerdown", "keydown", "wheel", "touchstart", "input", "scroll"];

export const kiosk = { on: false, idleMs: 0 };

/** Decide kiosk mode (server config, or ?kiosk=1 for testing) and start it if on. */
export async function setupKiosk() {
  const params = new URLSearchParams(location.search);
  const byUrl = params.get("kiosk") === "1";
  let config = { kiosk: false, kiosk_idle_minutes: 3 };
  try {
    config = { ...config, ...(await api.config()) };
  } catch {
    // No config: an ordinary page, unless the URL asks for kiosk mode.
  }
  kiosk.on = byUrl || Boolean(config.kiosk);
  if (!kiosk.on) return kiosk;

  let idleMs = Number(config.kiosk_idle_minutes || 3) * 60_000;
  // ?idle=N (seconds) is for tests, and only together with ?kiosk=1.
  const idleOverride = parseFloat(params.get("idle"));
  if (byUrl && idleOverride > 0) idleMs = idleOverride * 1000;
  kiosk.idleMs = idleMs;

  document.documentElement.classList.add("kiosk");
  document.addEventListener("click", keepHistoryFlat, true);
  addEndButton();
  startIdleTimer(idleMs);
  return kiosk;
}

/** Navigate without adding a history entry in kiosk mode. */
export function go(url) {
  if (kiosk.on) location.replace(url);
  else location.assign(url);
}

function keepHistoryFlat(event) {
  const link = event.target.closest && event.target.closest("a[href]");
  if (!link || link.dataset.spa === "1") return; // search-page links replaceState themselves
  const url = new URL(link.href, location.href);
  event.preventDefault();
  if (url.origin !== location.origin) return; // no way out of the reading room's service
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    history.replaceState(null, "", url.href); // an in-page jump
    document.getElementById(decodeURIComponent(url.hash.slice(1)))?.scrollIntoView();
    return;
  }
  location.replace(url.href);
}

function addEndButton() {
  const slot = document.getElementById("kiosk-slot");
  if (!slot) return;
  // The visitor's register code (利用登记): what they open here is then recorded under
  // their visit. The server answers only reading-room terminals; the cookie it sets holds
  // the signed visit number and nothing personal.
  const code = h("input", { class: "kiosk-visit-code", inputmode: "numeric", maxlength: "8", autocomplete: "off",
                            "aria-label": "阅览登记码（向工作人员索取）", placeholder: "阅览登记码" });
  const status = h("span", { class: "kiosk-visit-status", role: "status" });
  const bind = async (event) => {
    event.preventDefault();
    const resp = await fetch("/api/reading-room/visit", { method: "POST", headers: { "Content-Type": "application/json" },
                                                         body: JSON.stringify({ code: code.value.trim() }) }).catch(() => null);
    status.textContent = resp && resp.ok ? "已关联本次阅览登记" : "登记码不正确，请向工作人员询问";
    code.value = "";
  };
  slot.append(
    h("form", { class: "kiosk-visit", onsubmit: bind }, code,
      h("button", { type: "submit", class: "button button-secondary" }, "关联登记"), status),
    h("button", { type: "button", class: "button button-secondary kiosk-end", onclick: resetTerminal }, "结束查阅，清空记录"),
  );
}

let timer = null;
let warnTimer = null;

function startIdleTimer(idleMs) {
  const warnMs = idleMs >= 60_000 ? Math.min(30_000, idleMs / 3) : 0;
  const banner = h("div", { class: "idle-warning", role: "alert", hidden: true });
  document.body.append(banner);
  const arm = () => {
    clearTimeout(timer);
    clearTimeout(warnTimer);
    banner.hidden = true;
    timer = setTimeout(resetTerminal, idleMs);
    if (warnMs) {
      warnTimer = setTimeout(() => {
        banner.textContent = `长时间无操作，${Math.round(warnMs / 1000)} 秒后将返回首页并清空本次查阅记录。触摸屏幕可继续。`;
        banner.hidden = false;
      }, idleMs - warnMs);
    }
  };
  for (const type of ACTIVITY_EVENTS) window.addEventListener(type, arm, { passive: true, capture: true });
  arm();
}

/** Hand the terminal to the next visitor: nothing of this one's session may remain. */
export function resetTerminal() {
  clearTimeout(timer);
  clearTimeout(warnTimer);
  // The next visitor's reading is not the last one's visit (keepalive: sent as the page goes).
  fetch("/api/reading-room/visit", { method: "DELETE", keepalive: true }).catch(() => {});
  for (const store of [sessionStorage, localStorage]) {
    try {
      for (const key of Object.keys(store)) if (key.startsWith(STORAGE_PREFIX)) store.removeItem(key);
      if (store === sessionStorage) store.clear();
    } catch {
      // Storage may be disabled on a locked-down terminal; nothing to clear then.
    }
  }
  window.getSelection()?.removeAllRanges();
  for (const input of document.querySelectorAll("input, textarea")) {
    if (input.type === "checkbox" || input.type === "radio") input.checked = false;
    else input.value = "";
  }
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  // Replace the current (and, in kiosk mode, only) history entry with the start page,
  // then load it fresh so no script state of the last visitor survives.
  const start = startUrl();
  history.replaceState(null, "", start);
  location.replace(start);
}
