"""The figures an archive reports (档案利用统计): 人次 and 卷(件)次 by month, quarter or year, by
purpose, collection, fonds, category and channel, from the reading-room register (阅览室) and
the online counts (网上), and the items opened per batch; as JSON and as an XLSX laid out
like the yearly report.

- 阅览室 人次: visits registered; 卷(件)次: items consulted (one per item per visit);
  复制页数: pages copied.
- 网上 卷(件)次: views of a document and downloads of its file. Online use names nobody, so
  网上 has no 人次; its searches are reported beside it (检索次数) instead.
- Exports (each document in an export) are reported apart: a list is not a reading.

Every figure is one SQL aggregate over the store's own tables; a year of use (tens of
thousands of visits, a million online views) is summed in well under a second (bench/)."""

from __future__ import annotations

import calendar
import io
from datetime import date
from typing import Any

from staff.store import Store
from staff.usage import CHANNEL_LABELS

PERIODS = {
    "month": "substr({d}, 1, 7)",
    "quarter": "substr({d}, 1, 4) || '-Q' || ((CAST(substr({d}, 6, 2) AS INTEGER) + 2) / 3)",
    "year": "substr({d}, 1, 4)",
}
DIMENSIONS = ("collection", "fonds", "category")  # in usage_dims' column order
LABELS = {"collection": "门类", "fonds": "全宗", "category": "类别", "purpose": "利用目的"}
COLLECTION_LABELS = {"archive": "档案", "current": "现行文件"}
NONE = "—"


def _rows(db, sql: str, args: tuple) -> dict[str, dict[str, int]]:
    return {(r[0] or NONE): dict(zip(r.keys()[1:], (v or 0 for v in tuple(r)[1:]))) for r in db.execute(sql, args)}


def figures(store: Store, since: str, until: str, period: str = "month") -> dict[str, Any]:
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    span = (since, until)
    months = (since[:7], until[:7])
    grouped = PERIODS[period]
    with store.connect() as db:
        # 人次 from the visits (by period, purpose) or distinct visits of the items (by 门类,
        # fonds, category); 卷(件)次 and pages from one grouping of the items, which carry their
        # visit's day and purpose, summed up here. Every query reads a covering index.
        item_groups = db.execute(f"SELECT {grouped.format(d='day')}, purpose, collection, fonds, category, count(*), "
                                 "sum(copies) FROM register_items WHERE day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5",
                                 span).fetchall()

        def room(key: str) -> dict[str, dict[str, int]]:
            column = ("day", "purpose", *DIMENSIONS).index(key)
            if key in ("day", "purpose"):
                k = grouped.format(d="day") if key == "day" else key
                sql = f"SELECT {k} AS k, count(*) AS persons FROM register_visits WHERE day BETWEEN ? AND ? GROUP BY 1"
            else:
                sql = (f"SELECT {key} AS k, count(DISTINCT visit_id) AS persons FROM register_items "
                       "WHERE day BETWEEN ? AND ? GROUP BY 1")
            out = {k: {"persons": v["persons"], "items": 0, "copies": 0} for k, v in _rows(db, sql, span).items()}
            for g in item_groups:
                row = out.setdefault(g[column] or NONE, {"persons": 0, "items": 0, "copies": 0})
                row["items"] += g[5]
                row["copies"] += g[6] or 0
            return dict(sorted(out.items()))

        # Online use from its monthly sums by channel, kind and the document's 门类, fonds and
        # category (staff/usage.py writes them): a few thousand rows a year, whole months.
        def online(key: str) -> dict[str, dict[str, int]]:
            k = grouped.format(d="month || '-01'") if key == "month" else key
            return _rows(db, f"SELECT {k} AS k, sum(CASE WHEN kind = 'view' THEN n END) AS views, "
                             "sum(CASE WHEN kind = 'download' THEN n END) AS downloads, "
                             "sum(CASE WHEN kind = 'export' THEN n END) AS exports FROM usage_months "
                             "WHERE month BETWEEN ? AND ? GROUP BY 1", months)

        searches = _rows(db, f"SELECT {PERIODS[period].format(d='day')} AS k, sum(n) AS searches, "
                             "sum(empty) AS fruitless FROM usage_searches WHERE day BETWEEN ? AND ? GROUP BY k", span)
        by_period = _merge(room("day"), online("month"), searches)
        by_purpose = room("purpose")
        dims = {dim: _merge(room(dim), online(dim)) for dim in DIMENSIONS}
        channels = online("channel")
        search_channels = _rows(db, "SELECT channel AS k, sum(n) AS searches, sum(empty) AS fruitless "
                                    "FROM usage_searches WHERE day BETWEEN ? AND ? GROUP BY k", span)
        openings = [dict(r) for r in db.execute(
            "SELECT b.number, b.day, count(d.item_id) AS items FROM opening_batches b "
            "LEFT JOIN decisions d ON d.opened_batch = b.number WHERE b.day BETWEEN ? AND ? "
            "GROUP BY b.number ORDER BY b.number", span)]
    room_total = _sum(by_purpose.values(), ("persons", "items", "copies"))
    terminal, web = _online_items(channels.get("reading_room", {})), _online_items(channels.get("online", {}))
    rr_search, web_search = search_channels.get("reading_room", {}), search_channels.get("online", {})
    by_channel = [
        # The reading room's terminals name nobody: what they open is counted apart from the
        # register's 卷(件)次 (terminal_items), never added to it twice.
        {"channel": "reading_room", "label": CHANNEL_LABELS["reading_room"], "persons": room_total["persons"],
         "items": room_total["items"], "copies": room_total["copies"], "terminal_items": terminal["items"],
         "searches": rr_search.get("searches", 0)},
        {"channel": "online", "label": CHANNEL_LABELS["online"], "persons": None, "items": web["items"],
         "views": web["views"], "downloads": web["downloads"], "searches": web_search.get("searches", 0)},
    ]
    return {
        "since": since, "until": until, "period": period,
        "totals": {"persons": room_total["persons"], "room_items": room_total["items"], "copies": room_total["copies"],
                   "online_items": terminal["items"] + web["items"],
                   "exports": terminal["exports"] + web["exports"],
                   "searches": sum(v.get("searches", 0) for v in search_channels.values()),
                   "fruitless": sum(v.get("fruitless", 0) for v in search_channels.values()),
                   "opened": sum(o["items"] for o in openings)},
        "by_period": _listed(by_period),
        "by_purpose": _listed(by_purpose),
        **{f"by_{dim}": _listed(rows, COLLECTION_LABELS if dim == "collection" else None) for dim, rows in dims.items()},
        "by_channel": by_channel,
        "openings": openings,
    }


def _online_items(row: dict[str, int]) -> dict[str, int]:
    return {"views": row.get("views", 0), "downloads": row.get("downloads", 0), "exports": row.get("exports", 0),
            "items": row.get("views", 0) + row.get("downloads", 0)}


def _merge(room: dict[str, dict[str, int]], online: dict[str, dict[str, int]],
           searches: dict[str, dict[str, int]] | None = None) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key in sorted(set(room) | set(online) | set(searches or {})):
        r, o = room.get(key, {}), _online_items(online.get(key, {}))
        out[key] = {"persons": r.get("persons", 0), "room_items": r.get("items", 0), "copies": r.get("copies", 0),
                    "online_items": o["items"], "views": o["views"], "downloads": o["downloads"],
                    "exports": o["exports"], **(searches or {}).get(key, {"searches": 0, "fruitless": 0})}
        if searches is None:
            out[key].pop("searches", None), out[key].pop("fruitless", None)
    return out


def _sum(rows, keys: tuple[str, ...]) -> dict[str, int]:
    rows = list(rows)
    return {k: sum(r.get(k, 0) for r in rows) for k in keys}


def _listed(rows: dict[str, dict[str, int]], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [{"key": k, "label": (labels or {}).get(k, k), **v} for k, v in rows.items()]


def year_span(year: int) -> tuple[str, str]:
    return date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()


def month_span(since: str, until: str) -> tuple[str, str]:
    """Whole months, 'YYYY-MM' to 'YYYY-MM' (online use is summed by month)."""
    first = date.fromisoformat(since + "-01")
    y, m = (int(p) for p in until.split("-"))
    last = date(y, m, calendar.monthrange(y, m)[1])
    if first > last:
        raise ValueError("起始月份晚于截止月份 / since is after until")
    return first.isoformat(), last.isoformat()


# -- the yearly report as XLSX -----------------------------------------------------------------------------
def xlsx(data: dict[str, Any], title: str) -> bytes:
    """One workbook: 总表 (the year's figures as the report states them), then a sheet per
    breakdown, each with a title row, a header row and a 合计 row, as the yearly forms are."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    bold = Font(bold=True)
    t = data["totals"]
    ws = wb.active
    ws.title = "总表"
    ws.append([title])
    ws.append([f"统计期间：{data['since']} 至 {data['until']}"])
    ws.append([])
    ws.append(["项目", "数量", "单位"])
    for label, value, unit in (("接待档案利用者（阅览室）", t["persons"], "人次"),
                               ("提供档案资料（阅览室）", t["room_items"], "卷(件)次"),
                               ("复制档案", t["copies"], "页"),
                               ("在线查阅档案资料（网上及阅览终端）", t["online_items"], "卷(件)次"),
                               ("在线检索", t["searches"], "次"),
                               ("其中：无结果检索", t["fruitless"], "次"),
                               ("导出目录条目", t["exports"], "条"),
                               ("开放档案", t["opened"], "卷(件)")):
        ws.append([label, value, unit])
    ws.column_dimensions["A"].width = 30
    _sheet(wb, "按时间", "时间", data["by_period"], [("persons", "阅览室人次"), ("room_items", "阅览室卷(件)次"),
                                                   ("copies", "复制页数"), ("online_items", "在线查阅卷(件)次"),
                                                   ("searches", "检索次数")])
    _sheet(wb, "按利用目的", "利用目的", data["by_purpose"], [("persons", "人次"), ("items", "卷(件)次"),
                                                        ("copies", "复制页数")])
    for dim in DIMENSIONS:
        _sheet(wb, f"按{LABELS[dim]}", LABELS[dim], data[f"by_{dim}"],
               [("persons", "阅览室人次"), ("room_items", "阅览室卷(件)次"), ("online_items", "在线查阅卷(件)次")])
    ws = wb.create_sheet("按渠道")
    ws.append([f"{title}（按渠道）"])
    ws.append(["渠道", "人次", "卷(件)次", "复制页数", "终端查阅卷(件)次", "检索次数"])
    for c in data["by_channel"]:
        ws.append([c["label"], "—" if c["persons"] is None else c["persons"], c["items"], c.get("copies", "—"),
                   c.get("terminal_items", "—"), c["searches"]])
    ws = wb.create_sheet("开放批次")
    ws.append([f"{title}（开放批次）"])
    ws.append(["批次", "开放日期", "开放档案（卷/件）"])
    for o in data["openings"]:
        ws.append([f"第{o['number']}批", o["day"], o["items"]])
    ws.append(["合计", "", sum(o["items"] for o in data["openings"])])
    for sheet in wb.worksheets:
        sheet["A1"].font = Font(bold=True, size=14)
        for cell in sheet[2 if sheet.title != "总表" else 4]:
            cell.font = bold
            cell.alignment = Alignment(horizontal="center")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet(wb, name: str, key_label: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    ws = wb.create_sheet(name)
    ws.append([f"档案利用情况（{name}）"])
    ws.append([key_label] + [label for _, label in columns])
    for r in rows:
        ws.append([r["label"]] + [r.get(k, 0) for k, _ in columns])
    ws.append(["合计"] + [sum(r.get(k, 0) for r in rows) for k, _ in columns])
    ws.column_dimensions["A"].width = 24
