// The year histogram: an inline SVG drawn from the year facet of the current results.
// Each bar is an SVG link, so it is reachable by Tab and Enter like any other link.

import { svg } from "./dom.js";

const DEFAULT_WIDTH = 640;
const HEIGHT = 96;
const AXIS = 18;
const MAX_GAP_FILL = 120; // fill missing years with empty slots when the span is this short

/**
 * years: [{value, count}] from facets.year; selected: set of selected years (strings);
 * hrefFor(year) gives the link for a bar. Returns an <svg> or null when there is too
 * little to draw.
 */
export function yearHistogram(years, selected, hrefFor, onPick, width = DEFAULT_WIDTH) {
  // Drawn at the width it is shown at, so the year labels keep their size on a phone.
  const WIDTH = Math.max(240, Math.round(width));
  const counts = new Map();
  for (const { value, count } of years || []) {
    const y = parseInt(value, 10);
    if (Number.isFinite(y) && count > 0) counts.set(y, (counts.get(y) || 0) + count);
  }
  if (counts.size < 2) return null;
  const known = [...counts.keys()].sort((a, b) => a - b);
  const first = known[0];
  const last = known[known.length - 1];
  const slots = last - first + 1 <= MAX_GAP_FILL ? range(first, last) : known;
  const max = Math.max(...counts.values());
  const slotW = WIDTH / slots.length;
  const barW = Math.max(1, Math.min(slotW * 0.8, 24));
  const plotH = HEIGHT - AXIS;

  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "histogram",
    role: "group",
    "aria-label": `结果按年份分布，${first} 年至 ${last} 年`,
  });
  root.append(svg("line", { x1: 0, x2: WIDTH, y1: plotH + 0.5, y2: plotH + 0.5, class: "axis" }));

  slots.forEach((year, i) => {
    const count = counts.get(year) || 0;
    const x = i * slotW + (slotW - barW) / 2;
    if (!count) return;
    const barH = Math.max(2, (count / max) * (plotH - 4));
    const isSelected = selected.has(String(year));
    const label = `${year} 年：${count} 件${isSelected ? "（已选）" : ""}`;
    const link = svg(
      "a",
      {
        href: hrefFor(year),
        class: `bar${isSelected ? " selected" : ""}`,
        "aria-label": label,
        "data-year": year,
        "data-spa": "1",
        onclick: (event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey || event.button) return;
          event.preventDefault();
          onPick(String(year));
        },
      },
      svg("title", {}, label),
      // A full-height transparent target: a short bar is still easy to hit.
      svg("rect", { x: i * slotW, y: 0, width: slotW, height: plotH, class: "target" }),
      svg("rect", { x, y: plotH - barH, width: barW, height: barH, class: "fill" }),
    );
    root.append(link);
  });

  // Year labels: the ends, and a few evenly spaced between them.
  const step = Math.max(1, Math.ceil(slots.length / Math.max(2, Math.floor(WIDTH / 70))));
  slots.forEach((year, i) => {
    if (i % step !== 0 && i !== slots.length - 1) return;
    if (i !== slots.length - 1 && slots.length - 1 - i < step / 2) return;
    // The end labels are anchored inwards so they are not cut off at the edges.
    const anchor = i === 0 ? "start" : i === slots.length - 1 ? "end" : "middle";
    const x = anchor === "start" ? i * slotW : anchor === "end" ? (i + 1) * slotW : i * slotW + slotW / 2;
    root.append(
      svg("text", { x, y: HEIGHT - 4, "text-anchor": anchor, class: "tick", "aria-hidden": "true" }, String(year)),
    );
  });
  return root;
}

function range(a, b) {
  const out = [];
  for (let y = a; y <= b; y += 1) out.push(y);
  return out;
}
