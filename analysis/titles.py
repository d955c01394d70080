"""How documents name each other: the keys a title or a 文号 is matched by, and which titles
are versions of one document. Shared by the indexer (resolving relations) and the api (finding
a relation's target under the caller's access filter), so both match alike."""

from __future__ import annotations

import re

from analysis import docnumber
from analysis.normalize import normalize

_SPACE = re.compile(r"\s+")
# Version or year suffixes that leave the same document: 仲裁法（2017年）, …（2017年修正）, （试行）.
_VERSION_SUFFIX = re.compile(r"[(（](?:(?:19|20)\d\d年?(?:修订|修正|修改|版)?|试行|修订|修正|草案|修订草案)[)）]$")
_PREFIX = "中华人民共和国"


def title_key(title: str) -> str:
    """A title as matched: normalised (NFKC, simplified), no spaces, no 《》, no 中华人民共和国
    (people write 档案法 for 中华人民共和国档案法)."""
    key = _SPACE.sub("", normalize(title)).strip("《》<>")
    if key.startswith(_PREFIX) and len(key) > len(_PREFIX) + 1:
        key = key[len(_PREFIX):]
    return key


_EVENT_TITLE = re.compile(r"^.{0,30}关于.+的(?:通知|通报|报告|请示|批复|复函|函|意见|决定|决议|公告|通告|解释)$")


def version_key(title: str, doc_id: str = "") -> str:
    """Titles equal but for a version or year suffix are versions of one document. An
    amendment's number or year (宪法修正案（1988年）, 刑法修正案（十二）) is not a version, and
    neither are two notices or decisions of the same title (关于…的通知 names an occasion, not a
    work that is revised): those stay groups of one."""
    key = title_key(title)
    if "修正案" in key:
        return key
    if _EVENT_TITLE.match(key):
        return key + "#" + doc_id
    return title_key(_VERSION_SUFFIX.sub("", _SPACE.sub("", title)))


def target_keys(target: str) -> list[str]:
    """Keys a target named as written may be found under: its 文号 key, else its title key."""
    number = docnumber.parse(target)
    if number:
        return ["no:" + docnumber.key(number)]
    return ["t:" + title_key(target)]


def document_keys(doc_id: str, title: str, doc_number: str | None) -> list[str]:
    """Keys a document is found under by a relation that names it (id, title, 文号)."""
    keys = ["id:" + doc_id, "t:" + title_key(title)]
    if doc_number:
        keys.append("no:" + docnumber.key(docnumber.parse(doc_number) or doc_number))
    return keys
