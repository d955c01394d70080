// The page's whole state lives in the URL: read it from location, write it with
// pushState (or replaceState in kiosk mode, so Back never reaches another visitor's search).

export const FILTER_FIELDS = ["collection", "agency", "year", "category", "doc_type", "validity", "relation", "fonds", "valid_on",
  "tree_1", "tree_parent", "node"];
export const SORTS = ["relevance", "date_desc", "date_asc"];
export const PAGE_SIZE = 10;
export const READINGS = ["exact", "words"];

// The result list last shown in this tab, so the document view can link back to it with
// its filters and page (the server sends no Referer). Kiosk reset clears it with the rest.
export const LAST_SEARCH_KEY = "chayue.lastSearch";

// Parameters that belong to the terminal, not to the visitor: carried on every link
// so that a kiosk started with ?kiosk=1 stays a kiosk.
const TERMINAL_PARAMS = ["kiosk", "idle"];

export function readSearchState(search = location.search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const field of FILTER_FIELDS) {
    const values = params.getAll(field).filter((v) => v !== "");
    if (values.length) filters[field] = [...new Set(values)];
  }
  const sort = SORTS.includes(params.get("sort")) ? params.get("sort") : "relevance";
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  return {
    q: params.get("q") || "",
    filters,
    date_from: params.get("date_from") || "",
    date_to: params.get("date_to") || "",
    sort,
    page,
    // expand=0: the typed words only, without the other names of agencies and laws
    expand: params.get("expand") !== "0",
    // reading=exact|words: how the query is read; empty: as the server judges (a question
    // or keywords as words, the rest exactly)
    reading: READINGS.includes(params.get("reading")) ? params.get("reading") : "",
  };
}

/** True when the URL asks for a result list (a query, a filter, or a sort to browse by). */
export function hasSearch(state, search = location.search) {
  const params = new URLSearchParams(search);
  return Boolean(
    state.q || Object.keys(state.filters).length || state.date_from || state.date_to || params.has("sort"),
  );
}

export function terminalParams(search = location.search) {
  const params = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const key of TERMINAL_PARAMS) if (params.has(key)) out.set(key, params.get(key));
  return out;
}

/** Query string (without "?") for a search state, defaults left out, in a stable order. */
export function searchParams(state, { withTerminal = true, explicitSort = false } = {}) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  for (const field of FILTER_FIELDS) for (const v of state.filters[field] || []) params.append(field, v);
  if (state.date_from) params.set("date_from", state.date_from);
  if (state.date_to) params.set("date_to", state.date_to);
  if (state.sort !== "relevance" || explicitSort) params.set("sort", state.sort);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.expand === false) params.set("expand", "0");
  if (state.reading) params.set("reading", state.reading);
  if (withTerminal) for (const [k, v] of terminalParams()) params.set(k, v);
  return params;
}

export function searchUrl(state, opts) {
  const qs = searchParams(state, opts).toString();
  return "./" + (qs ? `?${qs}` : "");
}

export function docUrl(id, q) {
  const params = new URLSearchParams({ id });
  if (q) params.set("q", q);
  for (const [k, v] of terminalParams()) params.set(k, v);
  return `doc.html?${params}`;
}

export function startUrl() {
  const qs = terminalParams().toString();
  return "./" + (qs ? `?${qs}` : "");
}

export function cloneState(state) {
  return {
    ...state,
    filters: Object.fromEntries(Object.entries(state.filters).map(([k, v]) => [k, [...v]])),
  };
}
