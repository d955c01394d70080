// What the staff pages (staff.js: 开放审核; use.js: 利用登记 and 利用统计) share: calls to
// /staff/api with the session's CSRF token on every state change, elements built with their
// text as text (never HTML), the message line, and signing in and out.

export const $ = (sel) => document.querySelector(sel);
let csrf = null;

export function say(text) { $("#message").textContent = text; }

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                   credentials: "same-origin" });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(data.message || `请求失败（${resp.status}）`);
    err.status = resp.status;
    throw err;
  }
  return data;
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v; else if (k in node) node[k] = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

// The page's sign-in form and sign-out button: `signedIn(me)` shows the page for the person
// signed in, `signedOut()` the sign-in form. Returns the person already signed in, or null.
export async function session(signedIn, signedOut) {
  const enter = (me) => { csrf = me.csrf; return signedIn(me); };
  const leave = () => { csrf = null; signedOut(); };
  $("#signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const me = await call("POST", "/staff/api/signin", { username: $("#username").value, password: $("#password").value });
      $("#password").value = "";
      say("");
      await enter(me);
    } catch (err) {
      say(err.message);
    }
  });
  $("#signout").addEventListener("click", async () => {
    try { await call("POST", "/staff/api/signout"); } catch { /* signed out either way */ }
    say("已退出登录");
    leave();
  });
  let me;
  try {
    me = await call("GET", "/staff/api/me");
  } catch {
    leave();
    return null;
  }
  await enter(me);
  return me;
}
