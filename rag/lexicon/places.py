"""Place names in questions and documents: regional blocs, provinces, cities, counties.

Known names come from the lists in ``data/`` (blocs, provinces, prefecture-level cities often
written without 市); any other segmenter word ending in 省/市/县/区 counts too, unless it is a
generic word such as 开发区 or 上市. Nothing here decides what a place means for an answer.
"""

from __future__ import annotations

import re

from rag.lexicon import word_list

BLOCS = "|".join(word_list("blocs"))
PROVINCES = "|".join(word_list("provinces"))
CITIES = "|".join(word_list("cities"))
PLACE = re.compile(rf"(?:{BLOCS})(?:地区)?|(?:{PROVINCES})(?:省|市|自治区)?|(?:{CITIES})(?:市)?")
NOT_PLACES = frozenset(word_list("not_places"))
_PLACE_WORD = re.compile(r"[\u4e00-\u9fff]{1,4}(?:省|市|县|区)")
_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")


def find_places(text: str) -> list[str]:
    """Place names in order: known names, and segmenter words ending in 省/市/县/区.

    find_places("焦作市和山阳区的开发区") → ["焦作市", "山阳区"]
    """
    import rjieba

    found: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in PLACE.finditer(text)]
    pos = 0
    for word in rjieba.cut(text):
        if (
            _PLACE_WORD.fullmatch(word)
            and word not in NOT_PLACES
            and not word.startswith(("各", "全", "本", "我", "该"))
            and not any(s <= pos < s + len(w) for s, w in found)
        ):
            found.append((pos, word))
        pos += len(word)
    return [w for _, w in sorted(found)]


def _bloc_members() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for line in word_list("bloc_members"):
        bloc, *members = line.split()
        out[bloc] = frozenset(members)
    return out


BLOC_MEMBERS = _bloc_members()


def blocs_of(place: str) -> list[str]:
    """The regional blocs a province or city belongs to: blocs_of("广东省") → ["珠三角",
    "粤港澳大湾区"]."""
    name = re.sub(r"(?:省|市|自治区)$", "", place)
    return [bloc for bloc, members in BLOC_MEMBERS.items() if name in members]


def named_in(place: str, text: str) -> bool:
    """Whether ``text`` names ``place`` (without its level word), or a bloc it belongs to:
    named_in("广东", "在珠三角地区要重点…") → True."""
    name = re.sub(r"(?:省|市|县|区|自治区|地区)$", "", place) or place
    return name in text or any(b in text for b in blocs_of(place))


def place_level(name: str) -> str:
    """The level of a place name: 长三角 → "bloc", 河南省 → "province", 上海 → "city",
    山阳区 → "county", 焦作 → "city"."""
    if re.fullmatch(rf"(?:{BLOCS})(?:地区)?", name):
        return "bloc"
    if re.fullmatch(rf"(?:{PROVINCES})(?:省|自治区)?", name) and name not in _MUNICIPALITIES:
        return "province"
    if name.endswith(("区", "县")):
        return "county"
    return "city"
