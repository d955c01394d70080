"""Where an archival item sits in its fonds: 全宗 → (类别 / 目录) → 年度 → 保管期限 → (机构)
→ 案卷 → 件, read from the manifest's columns, else from the 档号, else from the folders.

The 档号 is read the way archives write it (DA/T 13 档号编制规则, DA/T 22 归档文件整理规则):
levels separated by "-" (also a full-width or long dash, or "/"), a 门类 code and a year
joined by "·" inside one level ("WS·2011"):

    J012-2007-永久-0001            DA/T 22 件: 全宗号-年度-保管期限-件号
    Z109-WS·2011-Y-BGS-0001        DA/T 22-2015: 全宗号-门类·年度-保管期限-机构-件号
    J005-001-0002-003              DA/T 13 案卷: 全宗号-目录号-案卷号-件号 (卷内顺序号)
    J005-0002-003                  全宗号-案卷号-件号

A level is a `Node` (kind, code, label); the document is the item under the last node.
`paths` gives each node's key, the codes from the top joined by "/", which is what the
index stores (tree_1 … tree_6, tree_parent) and what a browse or a search within a node
names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

MAX_DEPTH = 6  # node levels above the item the index keeps (tree_1 … tree_6)

FONDS, SERIES, YEAR, RETENTION, DEPT, FILE, FOLDER = "全宗", "类别", "年度", "保管期限", "机构", "案卷", "文件夹"
DIRECTORY = "目录"

# 保管期限 as written in full or by its DA/T 22 code.
RETENTION_CODES = {"永久": "永久", "Y": "永久", "长期": "长期", "C": "长期", "短期": "短期", "D": "短期",
                   "定期": "定期", "D10": "10年", "D30": "30年", "10年": "10年", "30年": "30年"}
_SEPARATORS = re.compile(r"\s*[-－—–/]\s*")
_YEAR = re.compile(r"^(19|20)\d{2}$")
_NUMBER = re.compile(r"^\d{1,6}$")
_LETTERS = re.compile(r"^[A-Za-z]{1,6}\d{0,3}$")

# A manifest row describes a unit above the item (a 案卷, a 全宗) when its 层级 says so.
UNIT_LEVELS = {"案卷": FILE, "卷": FILE, "file": FILE, "全宗": FONDS, "fonds": FONDS,
               "目录": DIRECTORY, "series": SERIES, "类别": SERIES}


@dataclass(frozen=True)
class Node:
    kind: str
    code: str
    label: str = ""


@dataclass
class Arrangement:
    nodes: list[Node] = field(default_factory=list)
    item: str | None = None  # 件号, None for a unit row
    source: str = ""  # manifest, archival code, folders

    @property
    def paths(self) -> list[str]:
        out, acc = [], []
        for n in self.nodes[:MAX_DEPTH]:
            acc.append(n.code.replace("/", "／"))
            out.append("/".join(acc))
        return out

    @property
    def parent(self) -> str | None:
        paths = self.paths
        return paths[-1] if paths else None


def _fonds_code(fonds: str | None) -> tuple[str, str]:
    """'J012 佳木斯市档案局' → ('J012', '佳木斯市档案局')."""
    text = (fonds or "").strip()
    if not text:
        return "", ""
    code, _, name = text.partition(" ")
    if not re.match(r"^[A-Za-z0-9·.]+$", code):
        return text, ""  # a name only: the name is its own code
    return code, name.strip()


def parse_code(code: str, unit: bool = False) -> Arrangement | None:
    """The levels a 档号 names (None when it is not one). `unit`: the code names a unit (a
    案卷), so its last level is a node, not an item."""
    parts = [p for p in _SEPARATORS.split(code.strip()) if p]
    if len(parts) < (2 if unit else 3):
        return None
    fonds, rest = parts[0], parts[1:]
    nodes = [Node(FONDS, fonds)]
    item = None if unit else rest.pop()
    if item is not None and not _NUMBER.match(item):
        return None
    numbers: list[str] = []
    dated = False
    for part in rest:
        if "·" in part:  # 门类·年度
            head, _, tail = part.partition("·")
            if not (_LETTERS.match(head) and _YEAR.match(tail)):
                return None
            nodes += [Node(SERIES, head), Node(YEAR, tail)]
            dated = True
        elif _YEAR.match(part) and not numbers:
            nodes.append(Node(YEAR, part))
            dated = True
        elif part in RETENTION_CODES:
            nodes.append(Node(RETENTION, RETENTION_CODES[part]))
        elif _LETTERS.match(part):
            nodes.append(Node(DEPT if dated else SERIES, part))
        elif _NUMBER.match(part):
            numbers.append(part)
            nodes.append(Node(FILE, part))
        else:
            return None
    if not dated and len(numbers) == 2:  # 全宗号-目录号-案卷号
        nodes[-2] = Node(DIRECTORY, nodes[-2].code)
    if len(nodes) == 1 and item is None:
        return None
    return Arrangement(nodes=nodes, item=item, source="档号")


def from_columns(values: dict[str, Any], unit: bool = False) -> Arrangement | None:
    """Levels from the manifest's own columns (全宗号, 目录号 or 类别号, 年度, 保管期限,
    案卷号, 件号); None unless the fonds and at least one level below it are given."""
    code, name = _fonds_code(values.get("fonds"))
    if not code:
        return None
    nodes = [Node(FONDS, code, name)]
    if values.get("series"):
        nodes.append(Node(DIRECTORY if str(values["series"]).isdigit() else SERIES, str(values["series"])))
    if values.get("filing_year"):
        nodes.append(Node(YEAR, str(values["filing_year"])))
    if values.get("file_no"):
        nodes.append(Node(FILE, str(values["file_no"]), str(values.get("title") or "") if unit else ""))
    item = None if unit else (str(values["item_no"]) if values.get("item_no") else None)
    if len(nodes) == 1 and item is None:
        return None
    if not unit and item is None:
        return None
    return Arrangement(nodes=nodes, item=item, source="清单 manifest")


def from_folders(relative: PurePath) -> Arrangement | None:
    """Each folder between the indexed root and the file is a level; the file is the item."""
    folders = list(relative.parts[:-1])
    if not folders:
        return None
    return Arrangement(nodes=[Node(FOLDER, f) for f in folders], item=relative.stem, source="文件夹 folders")


def arrange(values: dict[str, Any], relative: PurePath | None = None, collection: str = "archive") -> Arrangement | None:
    """An item's place: the manifest's columns, else its 档号, else (archive items only) its folders."""
    found = from_columns(values)
    if found is None and values.get("archival_code"):
        found = parse_code(str(values["archival_code"]))
    if found is None and relative is not None and collection == "archive":
        found = from_folders(relative)
    if found is None:
        return None
    fonds_code, fonds_name = _fonds_code(values.get("fonds"))
    if found.nodes and found.nodes[0].kind == FONDS and fonds_code == found.nodes[0].code and fonds_name:
        found.nodes[0] = Node(FONDS, fonds_code, fonds_name)
    return found


def is_unit_level(level: Any) -> bool:
    text = str(level or "").strip()
    return bool(text) and (text in UNIT_LEVELS or text.lower() in UNIT_LEVELS)


def unit_of(values: dict[str, Any]) -> Arrangement | None:
    """The unit a manifest row describes (层级 案卷 …), or None for an item row."""
    level = UNIT_LEVELS.get(str(values.get("level") or "").strip().lower()) \
        or UNIT_LEVELS.get(str(values.get("level") or "").strip())
    if level is None:
        return None
    found = from_columns(values, unit=True)
    if found is None and values.get("archival_code"):
        found = parse_code(str(values["archival_code"]), unit=True)
    if found is None and level == FONDS and values.get("fonds"):
        code, name = _fonds_code(values.get("fonds"))
        found = Arrangement(nodes=[Node(FONDS, code, name)])
    if found is None:
        return None
    title = str(values.get("title") or "")
    last = found.nodes[-1]
    found.nodes[-1] = Node(level if level != SERIES else last.kind, last.code, title or last.label)
    return found
