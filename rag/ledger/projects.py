"""The investment project ledger (项目台账) as a queryable source.

Ledger files (CSV/XLSX, ``ingest.loaders.load_table``) are indexed one row per document of
kind ``project_record``; the row's fields ride on its chunk as ``x_*`` metadata. This module
reads them back from the index and answers list and filter questions exactly, by field,
instead of by retrieval:

    parse_conditions("投资超过10亿元的项目有哪些？")  → amount > 10 (亿元)
    Ledger.from_index(index).answer("山阳区引进了哪些项目？")  → every matching row, cited

Conditions: places (省/市/县/区 names), industry (a known industry word, or the words
before 产业/行业/领域/方面), amount in 亿元 (超过/不少于/以上/以下/不超过/低于/…到…之间;
万元 converted), stage, year, and a project name (resolved against the ledger).

Stages are ordered 洽谈 < 签约 < 落地 < 开工/在建 < 投产, and a record's 阶段 text is read
onto that scale (引进/签订 count as 签约, 招引/对接 as 洽谈, 建设 as 在建; 推进 is not on
it). "签约了哪些项目" asks for projects that reached 签约 (so also those since started);
洽谈 and 在建, and any stage after 正在/还在, ask for that stage exactly.

Every answer cites each listed row's chunk, quoting the row's 原文 (the source document's
sentence, which the row text repeats verbatim), and gives the total of the known amounts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from rag.answer import verify
from rag.errors import QueryError
from rag.lexicon.industries import INDUSTRIES
from rag.lexicon.places import find_places
from rag.records import Answer, Citation
from rag.store.index import PolicyIndex

KIND = "project_record"
STAGES = ("洽谈", "签约", "落地", "开工", "在建", "投产")
_STAGE_LEVEL = {"洽谈": 1, "签约": 2, "落地": 3, "开工": 4, "在建": 4, "投产": 5}
_EXACT_STAGES = ("洽谈", "在建")
# words of a record's 阶段 → level; the highest found wins ("签约落地" → 落地)
_RECORD_STAGE_WORDS = (
    (5, ("投产", "达产")),
    (4, ("开工", "在建", "建设", "动工", "施工")),
    (3, ("落地",)),
    (2, ("签约", "签订", "引进", "落户")),
    (1, ("洽谈", "在谈", "对接", "招引", "谋划")),
)
# stage words in a question, most specific first
_QUESTION_STAGES = (
    ("洽谈", re.compile(r"在谈|洽谈")),
    ("在建", re.compile(r"在建|建设中|正在建设|施工中")),
    ("投产", re.compile(r"投产|达产")),
    ("开工", re.compile(r"开工|动工")),
    ("落地", re.compile(r"落地")),
    ("签约", re.compile(r"签约|签订|签下|签了")),
)
_NOW = re.compile(r"(?:正在|尚在|还在|仍在|处于)$")
_DURATION = re.compile(r"多久|多长时间|多少天|几天|几个月|用时|用了多长")

_NUM = r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+"
_AMOUNT_PATTERNS: tuple[
    tuple[str, re.Pattern[str]], ...
] = (  # negated forms before their positives
    (
        "range",
        re.compile(
            rf"(?:在|介于)?({_NUM})\s*(亿|万)?元?\s*(?:到|至|~|～|—|-)\s*({_NUM})\s*(亿|万)元?(?:之间)?"
        ),
    ),
    ("ge", re.compile(rf"(?:不少于|不低于|不小于|至少|起码)\s*({_NUM})\s*(亿|万)(?:元|人民币)?")),
    ("le", re.compile(rf"(?:不超过|不高于|不大于|至多|最多)\s*({_NUM})\s*(亿|万)(?:元|人民币)?")),
    ("gt", re.compile(rf"(?<!不)(?:超过|大于|多于|高于|逾)\s*({_NUM})\s*(亿|万)(?:元|人民币)?")),
    ("lt", re.compile(rf"(?<!不)(?:低于|少于|小于|不足|不到)\s*({_NUM})\s*(亿|万)(?:元|人民币)?")),
    ("ge", re.compile(rf"({_NUM})\s*(亿|万)(?:元|人民币)?\s*(?:及以上|或以上|以上)")),
    ("le", re.compile(rf"({_NUM})\s*(亿|万)(?:元|人民币)?\s*(?:及以下|或以下|以下|以内)")),
    ("eq", re.compile(rf"(?:总投资|投资额|投资)(?:为|是|达)?\s*({_NUM})\s*(亿|万)(?:元|人民币)?")),
)
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PLACE_SUFFIX = re.compile(r"新区|自治区|省|市|县|区")
_INDUSTRY_SUFFIX = re.compile(r"(?:^|\|)([^|]{2,8}?)(?:产业链|产业|行业|领域|方面)")
# what a ledger question says besides its conditions; longest first when removed
_FILLER = sorted(
    (
        "哪些 哪几个 哪几项 哪个 哪家 什么 多少个 多少项 多少家 几个 几项 多少 有没有 是否 列出 列举 一下 请问 告诉我 "
        "查询 查一下 目前 现在 已经 正在 一共 总共 合计 总计 汇总 所有 全部 引进了 引进 招引 落户 招商引资 招商 引资 "
        "重点 重大 相关 有关 项目台账 台账 清单 名单 项目 投资额 总投资 投资 总金额 金额 总额 规模 亿元 万元 方面 领域 "
        "产业链 产业 行业 用了 用时 多久 多长时间 几天 花了 情况 进展 阶段 状态 如何 怎么样 县区 地区 之间 还有 以及 "
        "的 了 有 在 是 和 及 与 或 中 里 呢 吗 啊 都 共 各 个 从 到 于 按 为 其 之 对 给 已 等 类"
    ).split(),
    key=len,
    reverse=True,
)
_FILLER_CHARS = frozenset(w for w in _FILLER if len(w) == 1)
_LIST_CUE = re.compile(
    r"哪些|哪几|什么|多少|几个|几项|列出|列举|清单|名单|台账|合计|总共|一共|汇总|总额|总金额|总投资"
)
_SPLIT = re.compile(r"[|\s\W]+")
MAX_LISTED = 50


def _cn_int(s: str) -> int:
    """ "五千" → 5000, "二十" → 20, "十" → 10, "三" → 3."""
    digits = {
        "零": 0,
        "〇": 0,
        "一": 1,
        "二": 2,
        "两": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
    }
    units = {"十": 10, "百": 100, "千": 1000}
    total, cur = 0, 0
    for ch in s:
        if ch in digits:
            cur = digits[ch]
        else:
            total += (cur or 1) * units[ch]
            cur = 0
    return total + cur


def to_yi(number: str, unit: str) -> float:
    """An amount in 亿元: ("5000", "万") → 0.5; ("10", "亿") → 10.0; ("二十", "亿") → 20.0."""
    value = Decimal(number) if number[0].isdigit() else Decimal(_cn_int(number))
    return float(value / 10000 if unit == "万" else value)


def stage_level(stage: str) -> int:
    """Where a record's 阶段 text stands: "签约落地" → 3, "引进" → 2, "推进" → 0 (not on the scale)."""
    for level, words in _RECORD_STAGE_WORDS:
        if any(w in stage for w in words):
            return level
    return 0


@dataclass(frozen=True)
class ProjectRecord:
    """One ledger row as indexed: its fields and the chunk that cites it."""

    doc_id: str
    chunk_id: str
    row: int
    name: str
    region: str = ""
    province: str = ""
    city: str = ""
    county: str = ""
    industry: str = ""
    amount_yi: float | None = None
    stage: str = ""
    date: str = ""
    units: str = ""
    source_doc: str = ""
    quote: str = ""
    text: str = ""
    source: str = ""

    @classmethod
    def from_chunk(cls, chunk_id: str, text: str, meta: Mapping[str, Any]) -> ProjectRecord:
        """From a ``project_record`` chunk: its text and Chroma metadata (fields under ``x_``)."""

        def x(key: str) -> str:
            return str(meta.get(f"x_{key}", ""))

        amount = meta.get("x_amount_yi")
        return cls(
            doc_id=str(meta.get("doc_id", "")),
            chunk_id=chunk_id,
            row=int(meta.get("x_row", 0) or 0),
            name=x("project_name") or str(meta.get("title", "")),
            region=x("region") or str(meta.get("region", "")),
            province=x("province"),
            city=x("city"),
            county=x("county"),
            industry=x("industry"),
            amount_yi=float(amount) if amount is not None else None,
            stage=x("stage"),
            date=x("date"),
            units=x("units"),
            source_doc=x("source_doc"),
            quote=x("quote"),
            text=text,
            source=str(meta.get("source", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field but the chunk text."""
        return {k: v for k, v in asdict(self).items() if k != "text"}

    def summary(self) -> str:
        """ "金刚石散热基板项目（河南省焦作市山阳区；新材料；投资30亿元；阶段：引进）"."""
        parts = [self.region, self.industry]
        parts.append(
            f"投资{self.amount_yi:g}亿元" if self.amount_yi is not None else "投资额未载明"
        )
        when = f"{self.date}年" if re.fullmatch(r"\d{4}", self.date) else self.date
        if self.stage:
            parts.append(f"阶段：{self.stage}" + (f"（{when}）" if when else ""))
        elif when:
            parts.append(f"时间：{when}")
        return f"{self.name}（{'；'.join(p for p in parts if p)}）"


@dataclass(frozen=True)
class ProjectQuery:
    """Conditions on ledger records; empty fields do not filter.

    Amounts are in 亿元; ``*_strict`` makes a bound exclusive (超过, 低于). ``rest`` holds the
    words of the question that no condition explains (a project name, or a sign that the
    question is not a ledger query at all).
    """

    regions: tuple[str, ...] = ()
    industry: str = ""
    name: str = ""
    min_amount: float | None = None
    min_strict: bool = False
    max_amount: float | None = None
    max_strict: bool = False
    stage: str = ""
    stage_exact: bool = False
    year: str = ""
    duration: bool = False
    rest: tuple[str, ...] = field(default=())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ProjectQuery:
        """Filters from the CLI or the REST API (amount bounds inclusive, in 亿元).

        {"region": "山阳区", "min_amount": 10, "stage": "签约"} → a query for 山阳区, ≥ 10 亿元, reached 签约
        """
        data = dict(data or {})
        known = {"region", "industry", "name", "min_amount", "max_amount", "stage", "year"}
        if unknown := set(data) - known:
            raise QueryError(
                f"未知的项目筛选条件：{'、'.join(sorted(unknown))}（可用：{'、'.join(sorted(known))}）"
            )
        bounds: list[float | None] = []
        for key in ("min_amount", "max_amount"):
            value = data.get(key)
            if value in (None, ""):
                bounds.append(None)
                continue
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise QueryError(f"投资额“{value}”不是数字（单位：亿元）") from None
            if not number.is_finite() or number < 0:
                raise QueryError(f"投资额“{value}”不是有效的金额（单位：亿元）")
            bounds.append(float(number))
        if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
            raise QueryError(f"投资额下限 {bounds[0]:g} 大于上限 {bounds[1]:g}")
        stage = str(data.get("stage") or "").strip()
        if stage and stage not in STAGES:
            raise QueryError(f"未知的项目阶段“{stage}”（可用：{'、'.join(STAGES)}）")
        year = str(data.get("year") or "").strip()
        if year and not re.fullmatch(r"(?:19|20)\d{2}", year):
            raise QueryError(f"年份格式不正确：{year}（应为四位数字，如 2017）")
        region = str(data.get("region") or "")
        return cls(
            regions=tuple(r for r in re.split(r"[\s,，、]+", region) if r),
            industry=str(data.get("industry") or "").strip(),
            name=str(data.get("name") or "").strip(),
            min_amount=bounds[0],
            max_amount=bounds[1],
            stage=stage,
            stage_exact=stage in _EXACT_STAGES,
            year=year,
        )

    def has_conditions(self) -> bool:
        return bool(
            self.regions
            or self.industry
            or self.name
            or self.stage
            or self.year
            or self.min_amount is not None
            or self.max_amount is not None
        )

    def has_amount(self) -> bool:
        return self.min_amount is not None or self.max_amount is not None

    def describe(self) -> str:
        """The conditions in words: "地区：山阳区；投资额：超过10亿元"."""
        parts = []
        if self.regions:
            parts.append("地区：" + "".join(self.regions))
        if self.industry:
            parts.append(f"产业：{self.industry}")
        if self.name:
            parts.append(f"名称含：{self.name}")
        lo, hi = self.min_amount, self.max_amount
        if (
            lo is not None
            and hi is not None
            and lo == hi
            and not (self.min_strict or self.max_strict)
        ):
            parts.append(f"投资额：{lo:g}亿元")
        elif lo is not None and hi is not None:
            parts.append(
                f"投资额：{lo:g}亿元{'（不含）' if self.min_strict else ''}至{hi:g}亿元{'（不含）' if self.max_strict else ''}"
            )
        elif lo is not None:
            parts.append(f"投资额：{'超过' if self.min_strict else '不少于'}{lo:g}亿元")
        elif hi is not None:
            parts.append(f"投资额：{'低于' if self.max_strict else '不超过'}{hi:g}亿元")
        if self.stage:
            parts.append(f"阶段：{self.stage}" + ("" if self.stage_exact else "及以后"))
        if self.year:
            parts.append(f"年份：{self.year}年")
        return "；".join(parts) or "全部项目"

    def matches(self, r: ProjectRecord, amount: bool = True) -> bool:
        """Whether record ``r`` meets every condition (``amount=False`` ignores the amount bounds)."""
        if any(p not in r.region for p in self.regions):
            return False
        if self.industry and self.industry not in r.industry + "|" + r.name:
            return False
        if self.name and self.name not in r.name + "|" + r.units:
            return False
        if self.year and not r.date.startswith(self.year):
            return False
        if self.stage:
            want, got = _STAGE_LEVEL[self.stage], stage_level(r.stage)
            if got == 0 or (got != want if self.stage_exact else got < want):
                return False
        if amount and self.has_amount():
            return self._amount_ok(r.amount_yi)
        return True

    def _amount_ok(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min_amount is not None and (
            value <= self.min_amount if self.min_strict else value < self.min_amount
        ):
            return False
        return not (
            self.max_amount is not None
            and (value >= self.max_amount if self.max_strict else value > self.max_amount)
        )


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + "|" * (end - start) + text[end:]


def _amounts(text: str) -> tuple[dict[str, Any], str]:
    """Amount bounds found in ``text`` and the text with them masked out."""
    found: dict[str, Any] = {}
    for op, pat in _AMOUNT_PATTERNS:
        for m in pat.finditer(text):
            if op == "eq" and found:
                continue
            if op == "range":
                unit = m.group(4)
                found |= {
                    "min_amount": to_yi(m.group(1), m.group(2) or unit),
                    "min_strict": False,
                    "max_amount": to_yi(m.group(3), unit),
                    "max_strict": False,
                }
            elif op in ("gt", "ge"):
                found |= {"min_amount": to_yi(m.group(1), m.group(2)), "min_strict": op == "gt"}
            elif op in ("lt", "le"):
                found |= {"max_amount": to_yi(m.group(1), m.group(2)), "max_strict": op == "lt"}
            else:
                value = to_yi(m.group(1), m.group(2))
                found |= {"min_amount": value, "max_amount": value}
            text = _mask(text, m.start(), m.end())
    return found, text


def _stage(text: str, duration: bool) -> tuple[str, bool, str]:
    """(stage, exact, masked text): the latest stage the question names; none for "从洽谈到开工用了多久"."""
    best, exact = "", False
    for stage, pat in _QUESTION_STAGES:
        for m in pat.finditer(text):
            if not duration and (not best or _STAGE_LEVEL[stage] > _STAGE_LEVEL[best]):
                best, exact = stage, stage in _EXACT_STAGES or bool(_NOW.search(text[: m.start()]))
            text = _mask(text, m.start(), m.end())
    return best, exact, text


def parse_conditions(question: str, industries: Iterable[str] = ()) -> ProjectQuery:
    """The ledger conditions a question states; ``industries`` adds words to ``INDUSTRIES``.

    "山阳区引进了哪些项目？" → regions ("山阳区",)
    "投资超过10亿元的项目有哪些？" → min_amount 10.0, min_strict
    "新材料方面签约了哪些项目？" → industry "新材料", stage "签约" (reached)
    "投资额在1亿到5亿元之间的项目" → 1.0 ≤ amount ≤ 5.0
    """
    text = question.strip()
    duration = bool(_DURATION.search(text))
    amounts, text = _amounts(text)
    year, text = _year(text)
    stage, exact, text = _stage(text, duration)
    regions, text = _regions(text)
    industry, text = _industry(text, industries)
    rest = tuple(w for w in _SPLIT.split(text) if w)
    return ProjectQuery(
        regions=regions,
        industry=industry,
        stage=stage,
        stage_exact=exact,
        year=year,
        duration=duration,
        rest=rest,
        **amounts,
    )


def _year(text: str) -> tuple[str, str]:
    year = ""
    for m in _YEAR.finditer(text):
        year = year or m.group(1)
        text = _mask(text, m.start(), m.end())
    return year, text


def _regions(text: str) -> tuple[tuple[str, ...], str]:
    """Place names ("雄安" takes its "新区") and the text with them masked."""
    regions = []
    for place in find_places(text):
        at = text.find(place)
        if at >= 0:
            end = at + len(place)
            if suffix := _PLACE_SUFFIX.match(text, end):
                end = suffix.end()
            regions.append(text[at:end])
            text = _mask(text, at, end)
    return tuple(regions), text


_INDUSTRY_WORDS = ("产业链", "产业", "行业", "领域", "方面")


def _industry(text: str, industries: Iterable[str]) -> tuple[str, str]:
    """A known industry word, else the words before 产业/领域/方面; the text is returned with
    the industry and every filler word masked, so what is left is the question's rest."""
    industry, first = "", len(text)
    for word in sorted(
        {*INDUSTRIES, *(i for i in industries if len(i) >= 2)}, key=lambda w: (-len(w), w)
    ):
        at = text.find(word)
        if at >= 0:
            if at < first:  # the first named, the longest word at a place
                industry, first = word, at
            text = _mask(text, at, at + len(word))
    text = _drop_fillers(text)
    if not industry and (m := _INDUSTRY_SUFFIX.search(text)):
        industry = m.group(1)
        text = _mask(text, m.start(1), m.end(1))
    for word in _INDUSTRY_WORDS:
        text = text.replace(word, "|")
    return industry, text


def _drop_fillers(text: str) -> str:
    """Mask question and function words: longer ones wherever they stand, single characters
    only as words of their own (so 中 goes from "项目中" but stays in "硼中子")."""
    import rjieba

    for word in _FILLER:
        if len(word) > 1 and word not in _INDUSTRY_WORDS:
            text = text.replace(word, "|" * len(word))
    return "".join("|" * len(tok) if tok in _FILLER_CHARS else tok for tok in rjieba.cut(text))


def is_project_question(question: str) -> bool:
    """A list or filter question about ledger projects, and nothing else.

    True for "山阳区引进了哪些项目？", "投资超过10亿元的项目有哪些？", "5000万元以上的项目";
    False for "郑州对投资5亿元以上的项目，要及时上报哪个部门？" (a policy question: words
    remain that no ledger condition explains) and "瑞庆项目从洽谈到开工用了多久？".
    """
    if "项目" not in question and "台账" not in question:
        return False
    q = parse_conditions(question)
    if q.rest or q.duration:
        return False
    return q.has_conditions() or bool(_LIST_CUE.search(question))


def total_amount(records: Iterable[ProjectRecord]) -> float | None:
    """Sum of the known amounts in 亿元 (exact decimal sum), or None when none is known."""
    known = [Decimal(str(r.amount_yi)) for r in records if r.amount_yi is not None]
    return float(sum(known, Decimal(0))) if known else None


class Ledger:
    """The project records of an index, filtered by field.

    ``titles`` maps a source document id to its title, for naming the document a row
    was taken from.
    """

    def __init__(
        self, records: Sequence[ProjectRecord], titles: Mapping[str, str] | None = None
    ) -> None:
        self.records = sorted(records, key=lambda r: (r.source, r.row, r.doc_id))
        self.titles = dict(titles or {})

    @classmethod
    def from_index(cls, index: PolicyIndex) -> Ledger:
        """Every ``project_record`` document in the index, one record each (the chunk holding its 原文)."""
        by_doc: dict[str, ProjectRecord] = {}
        for chunk_id, text, meta in index.chunks(where={"kind": KIND}):
            rec = ProjectRecord.from_chunk(str(meta.get("chunk_id", chunk_id)), text, meta)
            held = by_doc.get(rec.doc_id)
            if held is None or (rec.quote and rec.quote in rec.text and rec.quote not in held.text):
                by_doc[rec.doc_id] = rec
        sources = sorted({r.source_doc for r in by_doc.values() if r.source_doc})
        titles: dict[str, str] = {}
        if sources:
            rows = index.chunks(where={"doc_id": {"$in": sources}}, texts=False)
            titles = {str(m["doc_id"]): str(m.get("title", "")) for _, _, m in rows}
        return cls(list(by_doc.values()), titles)

    def parse(self, question: str) -> ProjectQuery:
        """``parse_conditions`` with the ledger's own industries and project names.

        A record's full name (or a leftover word of the question found in a name or unit,
        such as 瑞庆) becomes the name condition: "瑞庆项目从洽谈到开工用了多久？" → name "瑞庆".
        """
        named = ""
        for r in sorted(self.records, key=lambda r: len(r.name), reverse=True):
            core = r.name.removesuffix("项目")
            if len(core) >= 2 and core in question:
                named = core
                break
        q = parse_conditions(
            question.replace(named, "|") if named else question,
            industries=(r.industry for r in self.records if r.industry),
        )
        # a place no record lies in but a name holds ("北京摩腾…") is part of that name
        in_names = [
            p
            for p in q.regions
            if not any(p in r.region for r in self.records)
            and any(p in r.name + "|" + r.units for r in self.records)
        ]
        rest = [*in_names, *q.rest]
        if not named:
            found = [(self._name_part(w), w) for w in rest]
            named, word = max(
                ((n, w) for n, w in found if n), key=lambda nw: len(nw[0]), default=("", "")
            )
            if named:
                rest.remove(word)
        regions = tuple(p for p in q.regions if p not in in_names)
        return replace(q, regions=regions, name=named, rest=tuple(rest))

    def _name_part(self, word: str) -> str:
        """The part of ``word`` that lies in a record's name or units: all of it ("瑞庆"), or a
        long shared run ("瑞庆第五代混合动力发动机" → "第五代混合动力发动机"); else ""."""
        best = ""
        for r in self.records:
            for held in (r.name, r.units):
                if len(word) >= 2 and word in held:
                    return word
                m = SequenceMatcher(None, word, held, autojunk=False).find_longest_match()
                if m.size >= max(4, 0.6 * len(word)) and m.size > len(best):
                    best = word[m.a : m.a + m.size]
        return best

    def filter(self, query: ProjectQuery) -> list[ProjectRecord]:
        """The records meeting every condition, in ledger order."""
        return [r for r in self.records if query.matches(r)]

    def answer(self, question: str) -> Answer:
        """Every matching record, each cited to its row chunk with the row's 原文 as quote.

        A question about one named project ("瑞庆项目从洽谈到开工用了多久？") is answered from
        that row's 原文. No match is a refusal that states the conditions.
        """
        query = self.parse(question)
        if query.rest and not query.has_conditions():
            return Answer(
                question,
                question,
                False,
                "项目台账中没有与“" + "、".join(query.rest) + "”对应的项目记录。",
                [],
                "refusal",
            )
        found = self.filter(query)
        if not found:
            return self._none(question, query)
        shown = found[:MAX_LISTED]
        citations = [self._citation(n, r) for n, r in enumerate(shown, start=1)]
        if query.name and len(found) == 1:
            r = found[0]
            where = (
                f"《{self.titles[r.source_doc]}》" if self.titles.get(r.source_doc) else "来源文件"
            )
            text = f"项目台账记载：{r.summary()}。据{where}原文：“{citations[0].quote}”[1]"
        else:
            lines = [f"项目台账中符合条件（{query.describe()}）的项目共{len(found)}个："]
            lines += [f"{n}. {r.summary()}[{n}]" for n, r in enumerate(shown, start=1)]
            if len(found) > len(shown):
                lines.append(f"（仅列出前{len(shown)}个，完整清单请用 policyqa projects 查询。）")
            lines.append(self._total_line(found))
            if query.has_amount():
                unknown = sum(
                    1
                    for r in self.records
                    if query.matches(r, amount=False) and r.amount_yi is None
                )
                if unknown:
                    lines.append(f"另有{unknown}个符合其他条件的项目未载明投资额，未列入。")
            text = "\n".join(lines)
        chunk_texts = {r.chunk_id: r.text for r in shown}
        return verify(
            Answer(question, question, True, text, citations, "ledger", strength=1.0), chunk_texts
        )

    @staticmethod
    def _total_line(records: Sequence[ProjectRecord]) -> str:
        total = total_amount(records)
        known = sum(1 for r in records if r.amount_yi is not None)
        if total is None:
            return "以上项目均未载明投资额。"
        if known == len(records):
            return f"以上项目投资额合计{total:g}亿元。"
        return (
            f"其中{known}个项目载明投资额，合计{total:g}亿元；其余{len(records) - known}个未载明。"
        )

    def _none(self, question: str, query: ProjectQuery) -> Answer:
        text = f"项目台账中没有符合条件（{query.describe()}）的项目记录。"
        if query.has_amount():
            unknown = sum(
                1 for r in self.records if query.matches(r, amount=False) and r.amount_yi is None
            )
            if unknown:
                text += f"另有{unknown}个符合其他条件的项目未载明投资额。"
        return Answer(question, question, False, text, [], "refusal")

    @staticmethod
    def _citation(n: int, r: ProjectRecord) -> Citation:
        quote = r.quote if r.quote and r.quote in r.text else r.text.split("\n")[0]
        return Citation(
            n=n,
            chunk_id=r.chunk_id,
            doc_id=r.doc_id,
            title=r.name,
            doc_number="",
            kind=KIND,
            date=r.date,
            section_path="",
            page=None,
            quote=quote,
            source=r.source,
        )
