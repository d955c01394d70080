// The IIIF viewer page: Mirador opens the document's IIIF manifest (/api/iiif/<id>/manifest);
// with ?q= it searches inside the scan (IIIF Content Search) and marks the hits on the page.

const params = new URLSearchParams(location.search);
const id = params.get("id") || "";
const q = params.get("q") || "";
const status = document.getElementById("viewer-status");

if (!id) {
  status.textContent = "链接中缺少文件编号。";
} else if (!window.Mirador) {
  status.textContent = "图像阅览器未安装（make vendor）。";
} else {
  const manifest = `${location.origin}/api/iiif/${encodeURIComponent(id)}/manifest`;
  window.Mirador.viewer({
    id: "viewer",
    language: "zh-CN",
    // The search runs when the window opens and its hits are marked on the scan. Mirador
    // 4.0.0 then opens its search panel, which runs the search again under a URL encoded
    // differently and lists each hit twice; the marks on the scan are right.
    windows: [{ id: "chayue", manifestId: manifest, thumbnailNavigationPosition: "far-bottom",
                ...(q ? { defaultSearchQuery: q } : {}) }],
    window: { allowClose: false, allowMaximize: false, defaultView: "single" },
    workspaceControlPanel: { enabled: false },
  });
}
