"""Query rewriting for keyword (BM25) search: normalisation, number forms, synonyms.

Staff ask in their own words ("县区一把手一年至少要花多少时间出门招商？") while documents
say "县（市）区主要负责同志全年外出实质招商要不少于1/4时间". ``expand_query`` bridges the two
by appending alternative spellings of the query's numbers ("四分之一" ↔ "1/4") and the
interchangeable terms of ``rag/data/synonyms.txt`` (一把手 → 主要负责同志 …) to the
normalised query. Only BM25 gets the expanded text; the dense query stays as asked.
Everything here is pure string work: no model is loaded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ingest.clean import normalize_text
from rag.errors import ConfigError

DEFAULT_SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "data" / "synonyms.txt"

# --------------------------------------------------------------------------- normalisation


def normalize_query(q: str) -> str:
    """The query as ingest normalised documents, lowercased, whitespace collapsed.

    "  焦作　ＡＢＣ  招商政策(2020年) " → "焦作 abc 招商政策（2020年）"
    """
    s = normalize_text(" ".join(q.split()))
    return " ".join(s.split()).lower()  # rag.store.bm25.tokenize lowercases too


# --------------------------------------------------------------------------- numbers

_CN_DIGIT = dict(
    zip("零〇○一二两三四五六七八九", (0, 0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
# Years are spelt digit by digit, sometimes with a Latin O or 0 ("二O二O年").
_YEAR_DIGIT = {c: d for c, d in _CN_DIGIT.items() if c != "两"} | {"o": 0, "O": 0, "0": 0}
_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_TO_CN = "零一二三四五六七八九"

_DIG = "".join(_CN_DIGIT)
_NUM = _DIG + "十百千万亿"
# Measure words and units after which a numeral is a quantity ("五亿元", "十五个", "两年").
_UNITS = (
    "平方公里 平方米 平方 公里 公顷 小时 季度 个 年 月 天 日 家 项 人 次 倍 岁 名 批 条 亩 吨 米 "
    "元 % 位 台 户 座 处 栋 周 件 套 所 场"
).split()
# A bare "一" is usually part of a word ("一批", "一个", "一年" = a whole year); it counts as
# a number only before these.
_ONE_UNITS = frozenset("平方公里 平方米 公里 公顷 小时 元 亩 吨 米 倍 岁".split())
_UNIT_RE = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
# Characters that make a following numeral part of a word: 第一, 统一, 唯一, 之一, 初一, 周一…
_NOT_BEFORE_CN = f"{_NUM}第统唯之初周单同专逐"

_NUMBER_RE = re.compile(
    rf"(?<![{_NOT_BEFORE_CN}])(?P<year>[一二三四五六七八九][{''.join(_YEAR_DIGIT)}]{{3}})年"
    rf"|(?<![{_NOT_BEFORE_CN}])百分之(?P<pct>[{_NUM}]+(?:点[{_DIG}]+)?)"
    rf"|(?<![{_NOT_BEFORE_CN}])(?P<den>[{_NUM}]+)分之(?P<nom>[{_NUM}]+)"
    rf"|(?<![{_NOT_BEFORE_CN}])(?P<cn>[{_NUM}]+(?:点[{_DIG}]+)?(?:万亿|亿|万)?)"
    rf"(?P<cn_unit>[余多]?(?:{_UNIT_RE}))?"
    rf"|(?<![\d./a-z第])(?P<an>\d+)/(?P<ad>\d+)(?![\d./])"
    rf"|(?<![\d./a-z第])(?P<ar>\d+)(?![\d./])(?P<ar_mag>万亿|亿|万)?"
    rf"(?P<ar_unit>[余多]?(?:{_UNIT_RE}))?"
)


def _parse_int(s: str) -> int | None:
    """A Chinese numeral's value, or None if ``s`` is not a well-formed numeral.

    "一百二十三" → 123, "两千" → 2000, "十二" → 12, "一千零五" → 1005, "一万五" → 15000,
    "一亿两千万" → 120000000; "一把" / "千万" / "二二" → None
    """
    total = wan = small = last = 0
    digit: int | None = None
    zero = False
    for i, ch in enumerate(s):
        if ch in _CN_DIGIT:
            if digit is not None:
                return None
            if _CN_DIGIT[ch] == 0:
                zero = True
            else:
                digit = _CN_DIGIT[ch]
        elif ch in _SMALL_UNIT:
            m = _SMALL_UNIT[ch]
            if digit is None and not (m == 10 and i == 0):
                return None
            if small % (m * 10):  # units must fall: 二十三百 is not a number
                return None
            small += (1 if digit is None else digit) * m
            digit, zero, last = None, False, m
        elif ch in "万亿":
            value = small + (digit or 0) + (wan if ch == "亿" else 0)
            if not value or (wan if ch == "万" else total):
                return None
            if ch == "万":
                wan = value * 10**4
            else:
                total, wan = value * 10**8, 0
            small, digit, zero, last = 0, None, False, 10**4 if ch == "万" else 10**8
        else:
            return None
    if digit is not None:
        # "一百五" is 150 and "一万五" 15000, but "一千零五" is 1005.
        small += digit * (last // 10 if last >= 100 and not zero else 1)
    return total + wan + small


def _parse_decimal(s: str) -> Decimal | None:
    """Value of a numeral with optional decimals: "三点五" → 3.5, "二十" → 20."""
    whole, _, frac = s.partition("点")
    n = _parse_int(whole)
    if n is None or not all(c in _CN_DIGIT and c != "两" for c in frac):
        return None
    return Decimal(f"{n}.{''.join(str(_CN_DIGIT[c]) for c in frac)}" if frac else n)


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _cn_amount(run: str) -> str | None:
    """Arabic spelling of a Chinese numeral, keeping a final 万/亿 as a unit.

    "五" → "5", "三点五万亿" → "3.5万亿", "五千万" → "5000万", "一亿两千万" → "1.2亿"
    """
    mag = next((m for m in ("万亿", "亿", "万") if run.endswith(m) and len(run) > len(m)), "")
    head = run[: len(run) - len(mag)]
    if mag and "万" not in head and "亿" not in head:
        v = _parse_decimal(head)
        return None if v is None else _fmt(v) + mag
    v = _parse_decimal(run)
    if v is None:
        return None
    if mag:
        scale = "亿" if "亿" in run else "万"
        return _fmt(v / (10**8 if scale == "亿" else 10**4)) + scale
    return _fmt(v)


def _to_chinese(n: int) -> str:
    """Chinese numeral of 0 ≤ n < 10**12: 10 → "十", 1005 → "一千零五", 120000 → "十二万"."""

    def four(k: int, leading: bool) -> str:
        out, gap = "", False
        for mult, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = k // mult % 10
            if not d:
                gap = bool(out)
                continue
            out += ("零" if gap else "") + _TO_CN[d] + name
            gap = False
        return out[1:] if leading and out.startswith("一十") else out

    if n == 0:
        return "零"
    out = ""
    for scale, name in ((10**8, "亿"), (10**4, "万"), (1, "")):
        k = n // scale % 10**4
        if k:
            if out and k < 1000:
                out += "零"
            out += four(k, leading=not out) + name
    return out


def _variant(m: re.Match[str]) -> str | None:
    """The other spelling of one matched number expression, or None."""
    g = m.groupdict()
    if g["year"]:
        return "".join(str(_YEAR_DIGIT[c]) for c in g["year"]) + "年"
    if g["pct"]:
        v = _parse_decimal(g["pct"])
        return None if v is None else f"{_fmt(v)}%"
    if g["den"]:
        den, nom = _parse_int(g["den"]), _parse_int(g["nom"])
        return f"{nom}/{den}" if den and nom is not None else None
    if g["cn"]:
        run, unit = g["cn"], g["cn_unit"] or ""
        if not unit and not run.endswith(("万", "亿")):
            return None
        if run == "一" and unit not in _ONE_UNITS:
            return None
        amount = _cn_amount(run)
        return None if amount is None else amount + unit
    if g["an"]:
        nom, den = int(g["an"]), int(g["ad"])
        return f"{_to_chinese(den)}分之{_to_chinese(nom)}" if 0 < nom < den < 10**12 else None
    digits, mag, unit = g["ar"], g["ar_mag"] or "", g["ar_unit"] or ""
    n = int(digits)
    if not (mag or unit) or n >= 10**12:
        return None
    if unit == "%" and not mag:
        return f"百分之{_to_chinese(n)}"
    if unit == "年" and not mag and len(digits) == 4:
        return "".join("〇一二三四五六七八九"[int(c)] for c in digits) + "年"
    cn = "两" if n == 2 and unit not in ("月", "日") else _to_chinese(n)
    return cn + mag + unit


def number_variants(text: str) -> list[str]:
    """Other spellings of the quantities in ``text``, in order, without those already there.

    "至少四分之一时间，投资五亿元" → ["1/4", "5亿元"]; "20%" → ["百分之二十"];
    "二〇二〇年" → ["2020年"]; "一把手", "第一", "一批", "七组" → []
    """
    out: list[str] = []
    for m in _NUMBER_RE.finditer(text):
        v = _variant(m)
        if v and v not in text and v not in out:
            out.append(v)
    return out


# --------------------------------------------------------------------------- synonyms


class Synonyms:
    """Groups of interchangeable terms; a query term brings in the rest of its groups.

    >>> Synonyms([["一把手", "主要负责同志"]]).expand("县区一把手")
    ['主要负责同志']
    """

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        self.groups = tuple(
            tuple(dict.fromkeys(t for t in map(normalize_query, g) if t)) for g in groups
        )
        alternatives: dict[str, dict[str, None]] = {}
        for group in self.groups:
            for term in group:
                alternatives.setdefault(term, {}).update(
                    dict.fromkeys(t for t in group if t != term)
                )
        self._alternatives = {t: list(a) for t, a in alternatives.items()}
        by_first: dict[str, list[str]] = {}
        for term in sorted(alternatives, key=len, reverse=True):
            by_first.setdefault(term[0], []).append(term)
        self._by_first = by_first

    def __len__(self) -> int:
        return len(self.groups)

    def alternatives(self, term: str) -> list[str]:
        """The other members of every group ``term`` belongs to ("一年" → ["全年", "年度", …])."""
        return list(self._alternatives.get(normalize_query(term), ()))

    def find(self, text: str) -> list[str]:
        """Group members in ``text``, leftmost-longest: "主要负责同志" hides "负责" in it."""
        found: list[str] = []
        i = 0
        while i < len(text):
            term = next((t for t in self._by_first.get(text[i], ()) if text.startswith(t, i)), "")
            if term:
                found.append(term)
            i += len(term) or 1
        return found

    def expand(self, query: str) -> list[str]:
        """Alternatives of the group members in ``query``, without terms it already has.

        "县区一把手" → ["县（市、区）", ..., "主要负责同志", "党政正职", ...]
        """
        q = normalize_query(query)
        out: list[str] = []
        for term in self.find(q):
            out.extend(a for a in self._alternatives[term] if a not in q and a not in out)
        return out


_OPEN, _CLOSE = "（(", "）)"


def _split_terms(line: str) -> list[str] | None:
    """Terms of one line, split at whitespace and "、" outside brackets; None if unbalanced.

    "县区 县（市、区）、县市区" → ["县区", "县（市、区）", "县市区"]
    """
    terms, cur, depth = [], "", 0
    for ch in line:
        depth += (ch in _OPEN) - (ch in _CLOSE)
        if depth < 0:
            return None
        if depth == 0 and (ch.isspace() or ch == "、"):
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return None if depth else [t for t in terms if t]


def _parse_synonyms(data: bytes, path: Path) -> Synonyms:
    groups: list[list[str]] = []
    for n, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as e:
            raise ConfigError(f"同义词文件 {path} 第 {n} 行不是 UTF-8 编码，请另存为 UTF-8") from e
        terms = _split_terms(line.split("#", 1)[0])
        if terms is None:
            raise ConfigError(f"同义词文件 {path} 第 {n} 行括号不配对：{line.strip()}")
        if len(set(terms)) == 1:
            raise ConfigError(
                f"同义词文件 {path} 第 {n} 行只有一个词「{terms[0]}」，一组至少要两个词"
            )
        if terms:
            groups.append(terms)
    return Synonyms(groups)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Synonyms:
    return _parse_synonyms(path.read_bytes(), path)


def load_synonyms(path: Path | None = None) -> Synonyms:
    """The synonym groups of ``path`` (default: the packaged file), re-read when it changes.

    One group per line, terms separated by whitespace or "、" ("、" inside brackets belongs
    to the term, as in "县（市、区）"); "#" starts a comment. Raises ConfigError.
    """
    p = (path or DEFAULT_SYNONYMS_FILE).resolve()
    try:
        mtime = p.stat().st_mtime_ns
    except OSError as e:
        raise ConfigError(f"找不到同义词文件 {p}") from e
    return _load(p, mtime)


# --------------------------------------------------------------------------- expansion


@dataclass(frozen=True)
class QueryExpansion:
    """A normalised query and the terms expansion added to it (shown as "扩展词")."""

    normalized: str
    added: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What BM25 tokenizes: the query followed by the added terms."""
        return " ".join([self.normalized, *self.added])


def expand_query(query: str, synonyms: Synonyms | None = None) -> QueryExpansion:
    """Normalise ``query`` and collect its number variants and synonyms.

    "一把手外出招商不少于四分之一时间" → added ["1/4", "主要负责同志", "党政正职", ...]
    ``synonyms`` defaults to ``load_synonyms()``.
    """
    normalized = normalize_query(query)
    syn = load_synonyms() if synonyms is None else synonyms
    added = list(dict.fromkeys(number_variants(normalized) + syn.expand(normalized)))
    return QueryExpansion(normalized, added)


def expand_for_bm25(query: str, synonyms: Synonyms | None = None) -> str:
    """The BM25 query text: "县区一把手…" → "县区一把手… 县（市、区） 主要负责同志 …"."""
    return expand_query(query, synonyms).text
