// The public JSON API, and nothing else: every request the page makes goes through here.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, params, { signal } = {}) {
  const qs = params ? params.toString() : "";
  let response;
  try {
    response = await fetch(`/api/${path}${qs ? `?${qs}` : ""}`, {
      signal,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "无法连接到查阅服务，请检查网络后重试。");
  }
  if (!response.ok) {
    const messages = {
      400: "查询条件有误，请修改后重试。",
      403: "您没有查看此文件的权限。",
      404: "未找到该文件，可能已被移除或仅限馆内查阅。",
      503: "查阅服务暂时不可用，请稍后再试。",
    };
    throw new ApiError(response.status, messages[response.status] || `查阅服务出错（${response.status}），请稍后再试。`);
  }
  return response.json();
}

export const api = {
  search: (params, opts) => getJson("search", params, opts),
  document: (id, q, opts) => getJson(`documents/${encodeURIComponent(id)}`, q ? new URLSearchParams({ q }) : null, opts),
  similar: (id, opts) => getJson(`documents/${encodeURIComponent(id)}/similar`, null, opts),
  suggest: (q, opts) => getJson("suggest", new URLSearchParams({ q }), opts),
  stats: (opts) => getJson("stats", null, opts),
  config: (opts) => getJson("config", null, opts),
  tree: (node, opts) => getJson("tree", node ? new URLSearchParams({ node }) : null, opts),
  place: (id, opts) => getJson(`tree/of/${encodeURIComponent(id)}`, null, opts),
};
