"""Catalogue manifests: CSV (UTF-8 or GB18030) or JSON lines exported from an archive
system or a disclosure site, joined to files by a `file` column (relative path) or by 档号.
English and the usual Chinese column headers are both accepted. Manifest values win over
values found in the text."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from analysis import dates, docnumber
from indexer import arrangement, secrecy
from indexer.relations import MANIFEST_COLUMNS as MANIFEST_RELATIONS

COLUMNS: dict[str, str] = {
    # English names (the document model) map to themselves.
    **{k: k for k in ("file", "id", "title", "doc_number", "agency", "recipients", "date", "published",
                      "collection", "category", "doc_type", "validity", "access", "fonds",
                      "archival_code", "retention", "classification", "open_date", "opening_mark",
                      "series", "filing_year", "file_no", "item_no", "level")},
    "文件": "file", "文件名": "file", "文件路径": "file", "电子文件名": "file",
    "档号": "archival_code",
    "题名": "title", "标题": "title", "文件题名": "title",
    "文号": "doc_number", "发文字号": "doc_number", "文件编号": "doc_number",
    "发文机关": "agency", "责任者": "agency", "发布机构": "agency", "发文单位": "agency",
    "主送机关": "recipients",
    "成文日期": "date", "日期": "date", "形成日期": "date",
    "发布日期": "published", "公布日期": "published",
    "类别": "category", "主题分类": "category", "分类": "category",
    "文种": "doc_type",
    "有效性": "validity", "效力状态": "validity", "时效性": "validity",
    "开放状态": "access", "访问级别": "access", "开放级别": "access",
    "全宗号": "fonds", "全宗": "fonds", "全宗名称": "fonds",
    "保管期限": "retention",
    # The arrangement (indexer/arrangement.py): 全宗号 → 目录号 or 类别号 → 年度 → 案卷号 → 件号;
    # 层级 marks a row that describes a unit (a 案卷) rather than an item.
    "目录号": "series", "类别号": "series", "类别代码": "series", "门类代码": "series", "实体分类号": "series",
    "年度": "filing_year", "案卷号": "file_no", "件号": "item_no", "卷内顺序号": "item_no", "顺序号": "item_no",
    "层级": "level", "著录层级": "level",
    "密级": "classification", "密級": "classification", "密级和保密期限": "classification",
    "馆藏类别": "collection", "类型": "collection",
    "effective": "effective", "施行日期": "effective", "生效日期": "effective", "实施日期": "effective",
    "ended": "ended", "失效日期": "ended", "废止日期": "ended",
    # The opening review (staff/opening.py): the day an item opens, over every rule, and its 开放标识.
    "开放日期": "open_date", "到期开放日期": "open_date", "开放标识": "opening_mark",
    # Relations to other documents (titles, 文号 or ids): see indexer/relations.py.
    **{name: "rel_" + kind for name, kind in MANIFEST_RELATIONS.items()},
}
RELATION_SEPARATORS = (";", "；", "|")

ACCESS_VALUES = {
    "open": "open", "开放": "open", "公开": "open", "主动公开": "open",
    "reading_room": "reading_room", "阅览室": "reading_room", "馆内查阅": "reading_room",
    "到馆查阅": "reading_room", "依申请公开": "reading_room",
    "restricted": "restricted", "控制": "restricted", "限制": "restricted", "不开放": "restricted",
    "控制使用": "restricted", "内部": "restricted", "不公开": "restricted",
}
COLLECTION_VALUES = {
    "current": "current", "现行文件": "current", "现行": "current",
    "archive": "archive", "开放档案": "archive", "档案": "archive",
}
MULTI = ("agency", "recipients")
SEPARATORS = (";", "；", "|", "、")


class ManifestError(ValueError):
    """A manifest that cannot be read at all (the run stops before indexing anything)."""


@dataclass
class ManifestRow:
    line: int
    values: dict[str, Any]


@dataclass
class Manifest:
    path: Path
    by_file: dict[str, ManifestRow] = field(default_factory=dict)  # resolved absolute path → row
    by_code: dict[str, ManifestRow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    joined_codes: set[str] = field(default_factory=set)  # 档号 rows a file was joined to
    units: list[tuple[list[str], ManifestRow]] = field(default_factory=list)  # 案卷 … rows: node paths, row

    def unit_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """An item row with what its units say and it does not: access is inherited downward
        (a closed 案卷 closes its items) unless the item gives its own. The nearest unit wins."""
        place = arrangement.arrange(values)
        if place is None or not self.units:
            return values
        paths = set(place.paths)
        above = sorted((u for u in self.units if u[0][-1] in paths), key=lambda u: len(u[0]), reverse=True)
        out = dict(values)
        for unit_paths, row in above:
            if "access" not in out and "access" in row.values:
                out["access"] = row.values["access"]
                out["access_from"] = row.values.get("archival_code") or unit_paths[-1]
        # A unit's title names its node on the item only where the unit is no more closed
        # than the item: an open item in a reading-room 案卷 does not tell the public its title.
        rank = {level: i for i, level in enumerate(("open", "reading_room", "restricted"))}
        mine = rank.get(out.get("access", "open"), 2)
        labels = {u[0][-1]: str(u[1].values.get("title") or "") for u in above if u[1].values.get("title")
                  and rank.get(u[1].values.get("access", "open"), 2) <= mine}
        if labels:
            out["unit_titles"] = labels
        return out

    def lookup(self, file: Path) -> tuple[ManifestRow | None, str | None]:
        """The file's row and how it was found: by its path (`文件`), else by a 档号 that
        names the file (scans are saved as `J012-2007-永久-0001.pdf`, or with a suffix
        such as `J012-2007-永久-0001_扫描.tif`)."""
        row = self.by_file.get(str(file.resolve()))
        if row is not None:
            return row, "文件 file"
        code = self.code_for(file.stem)
        if code is None:
            return None, None
        self.joined_codes.add(code)
        return self.by_code[code], f"档号 {code}"

    def code_for(self, stem: str) -> str | None:
        """The 档号 of a row without a `文件` column that the file name carries."""
        if self._joinable(stem):
            return stem
        # The longest code the name starts with, followed by a separator (not a digit:
        # J012-2007-永久-0001 must not claim J012-2007-永久-00012).
        for i in range(len(stem) - 1, 0, -1):
            if not stem[i].isalnum() and self._joinable(stem[:i]):
                return stem[:i]
        return None

    def _joinable(self, code: str) -> bool:
        row = self.by_code.get(code)
        return row is not None and "file" not in row.values

    @property
    def files(self) -> set[str]:
        return set(self.by_file)

    def unmatched(self) -> list[str]:
        """Rows that point at no file: a `文件` that does not exist, a 档号 no file carries."""
        out = [f"清单中的文件不存在 / manifest lists a missing file: {f}"
               for f in sorted(self.by_file) if not Path(f).exists()]
        file_rows = {id(r) for r in self.by_file.values()}
        out += [f"清单第 {row.line} 行的档号 {code} 没有对应文件 / no file found for 档号 {code}"
                for code, row in sorted(self.by_code.items())
                        if id(row) not in file_rows and code not in self.joined_codes]
        return out


def _decode(data: bytes, path: Path) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ManifestError(f"{path}: neither UTF-8 nor GB18030 / 清单文件编码无法识别")


def _rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ManifestError(f"{path}:{n}: not JSON ({exc.msg}) / 第 {n} 行不是合法的 JSON") from exc
        return out
    reader = csv.DictReader(io.StringIO(text))
    return [(n, row) for n, row in enumerate(reader, 2)]


def _value(key: str, raw: Any, problems: list[str], where: str) -> Any:
    if raw is None:
        return None
    if isinstance(raw, list):
        values = [str(v).strip() for v in raw if str(v).strip()]
        return values if key in MULTI or key.startswith("rel_") else (values[0] if values else None)
    text = str(raw).strip()
    if not text:
        return None
    if key.startswith("rel_"):
        for sep in RELATION_SEPARATORS:
            text = text.replace(sep, ";")
        return [v.strip() for v in text.split(";") if v.strip()]
    if key in MULTI:
        for sep in SEPARATORS:
            text = text.replace(sep, ";")
        return [v.strip() for v in text.split(";") if v.strip()]
    if key in ("date", "published", "effective", "ended", "open_date"):
        parsed = _parse_date(text)
        if parsed is None:
            problems.append(f"{where}: {key}={text!r} is not a date / 日期无法识别")
        return parsed
    if key == "doc_number":
        return docnumber.parse(text) or text
    if key == "access":
        value = ACCESS_VALUES.get(text.lower()) or ACCESS_VALUES.get(text)
        if value is None:
            problems.append(f"{where}: access={text!r} unknown, treated as restricted / 开放状态未知，按控制处理")
            return "restricted"  # an unknown access level must never open a document
        return value
    if key == "classification":
        marking = secrecy.from_manifest(text)
        if marking:
            return str(marking)
        if secrecy.unclassified(text):
            return None
        problems.append(f"{where}: 密级={text!r} unknown, treated as classified / 密级无法识别，按涉密处理")
        return text  # an unknown 密级 must never open a document
    if key == "collection":
        value = COLLECTION_VALUES.get(text.lower()) or COLLECTION_VALUES.get(text)
        if value is None:
            problems.append(f"{where}: collection={text!r} unknown / 馆藏类别未知")
        return value
    return text


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return dates.parse(text)


def load(path: Path) -> Manifest:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read ({exc.strerror}) / 无法读取清单") from exc
    text = _decode(data, path)
    manifest = Manifest(path=path)
    rows = _rows(text, path)
    if rows and not any(COLUMNS.get(str(k).strip()) for k in rows[0][1]):
        raise ManifestError(f"{path}: no known column (file, title, 档号, 题名 …) / 清单没有可识别的列")
    for line, raw in rows:
        where = f"{path.name}:{line}"
        values: dict[str, Any] = {}
        for k, v in raw.items():
            key = COLUMNS.get(str(k).strip()) if k is not None else None
            if key:
                val = _value(key, v, manifest.problems, where)
                if val not in (None, [], ""):
                    values[key] = val
        row = ManifestRow(line, values)
        unit = arrangement.unit_of(values) if "file" not in values else None
        if unit is not None:
            manifest.units.append((unit.paths, row))
            continue
        if arrangement.is_unit_level(values.get("level")) and "file" not in values:
            manifest.problems.append(f"{where}: 层级 {values['level']} 无法确定其档号或全宗 / unit row without a place, ignored")
            continue
        if "file" in values:
            key = str((path.parent / values["file"]).resolve())
            if key in manifest.by_file:
                manifest.problems.append(f"{where}: 文件 {values['file']} 已在第 {manifest.by_file[key].line} 行出现，"
                                         f"以本行为准 / file listed twice, this row wins")
            manifest.by_file[key] = row
        elif "archival_code" in values:
            if values["archival_code"] in manifest.by_code:
                manifest.problems.append(f"{where}: 档号 {values['archival_code']} 重复，以本行为准 / "
                                         f"archival code listed twice, this row wins")
            manifest.by_code[values["archival_code"]] = row
        else:
            manifest.problems.append(f"{where}: no file and no 档号, row ignored / 既无文件也无档号")
            continue
        if "archival_code" in values:
            manifest.by_code.setdefault(values["archival_code"], row)
    return manifest
