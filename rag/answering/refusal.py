"""Whether to answer: a verdict from signals that mean the same on any index.

Two kinds of evidence decide, in this order:

1. **Rules about names.** A question naming something the passages do not contain is not
   answered by them, whatever else they share with it:
   - a place, when the lead document is about another place of the same level
     ("洛阳市…" against a 焦作 notice; a notice that names no city is no contradiction);
   - a 招商N组 or a named programme ("蓝鲸计划", "“百日攻坚”行动") found in none of
     the passages; a year's government work report that is not indexed.
2. **A calibrated model** over features that do not move when documents are added
   (``FEATURES``): the cosine of the question's e5 query vector with the best unit and with
   the best passage, the share of the question's content words present in the quotes and
   in the lead passage (counted, not idf-weighted: idf changes with every upload). The
   weights are a logistic regression fitted on the dev split over *both* indexes
   (``evals/fit_refusal.py`` → ``rag/data/refusal_model.json``).

A question whose topic is covered but whose asked figure is absent is answered in part
(``compose.partial``), never silently with the wrong figure; so is a who-question whose
asked action the quotes never name while they state nobody's duty (``action_absent``: who
"开发维护" a system is not answered by the sentence that only says the system exists).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answering.evidence import GROUP, Term, core
from rag.answering.types import holds, names_agency, own_question
from rag.lexicon.places import find_places, named_in, place_level

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "refusal_model.json"
FEATURES = ("meaning_unit", "meaning_passage", "words_quote", "words_passage")
YEAR_REPORT = re.compile(r"((?:19|20)\d{2})年(?:的)?(?:国务院)?政府工作报告")
# named programmes and schemes: a modifier the documents must contain ("蓝鲸计划" → 蓝鲸)
_PROGRAMME_WORD = re.compile(r"计划|工程|行动|基金|专项|工作法|品牌|战略|指数|示范区|试验区")
_GENERIC = frozenset(
    "招商 引资 招商引资 投资 产业 项目 发展 工作 专项 国家 全市 全省 地方 城市 政府 重点 行动 奖励".split()
)


@dataclass(frozen=True)
class RefusalModel:
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * features[name] for w, name in zip(self.weights, FEATURES, strict=True)
        )
        z = max(-60.0, min(60.0, z))
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> RefusalModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: features {data['features']} differ from {FEATURES}")
        return cls(
            tuple(float(w) for w in data["weights"]), float(data["bias"]), float(data["threshold"])
        )


@lru_cache(maxsize=1)
def default_model() -> RefusalModel:
    return RefusalModel.load()


def word_share(terms: Sequence[Term], text: str) -> float:
    """Share of the question's single content words found in ``text`` (synonyms count 0.7).

    Counted, not weighted by idf, so that it is the same on every index.
    """
    single = [
        t
        for t in terms
        if not any(
            t.surface != o.surface and o.surface in t.surface and t.surface.startswith(o.surface)
            for o in terms
        )
    ]
    if not single:
        return 0.0
    return sum(t.found_in(text) for t in single) / len(single)


def _programmes(question: str) -> list[tuple[str, str]]:
    """Named programmes as (name, full name): the word before 计划/工程/行动/…
    ("蓝鲸计划" → [("蓝鲸", "蓝鲸计划")]).

    Only a word of two or more characters that is not itself generic ("招商平台" names no
    programme) counts.
    """
    import rjieba

    out = [
        (m.group(1), m.group(0))
        for m in re.finditer(r"“([^”]{2,10})”(?:" + _PROGRAMME_WORD.pattern + ")", question)
    ]
    words = [w for w in rjieba.cut(question) if w.strip()]
    for before, word in zip(words, words[1:], strict=False):
        if (
            _PROGRAMME_WORD.fullmatch(word)
            and len(before) >= 2
            and before not in _GENERIC
            and re.fullmatch(r"[\u4e00-\u9fffA-Za-z\d+]+", before)
            and not re.search(r"[哪几什么那这个些]|多少|怎|如何", before)
            # "一五计划", "十四五规划": a plan's number, which the documents spell out in full
            and not re.fullmatch(r"[一二三四五六七八九十]+", before)
        ):
            out.append((before, before + word))
    return out


def _names_place(hit: object, place: str) -> bool:
    return named_in(place, f"{hit.title} {hit.region} {hit.section_path} {hit.text}")  # type: ignore[attr-defined]


def place_consistent(question: str, hits: Sequence) -> set[int]:
    """Indexes of the passages an answer may quote, given the places the question names.

    When some passages name the question's place, the passages of documents about another
    place of that level are left out ("焦作…的重点项目" is not answered from 郑州's notice);
    when none does, all are kept (and ``missing_names`` decides).
    """
    keep = set(range(len(hits)))
    places = find_places(question)
    asked = {core(p) for p in places}
    owners = [_owners(h) for h in hits] if places else []
    for place in places:
        naming = {i for i in keep if _names_place(hits[i], place)}
        if not naming:
            continue
        level = place_level(place)
        for i in keep - naming:
            if {p for p, lv in owners[i] if lv == level} - {core(place)}:
                keep.discard(i)
        # when the place's own documents are there, the document of a place the question does
        # not name that only mentions it ("焦作…赴京津冀招商" names 河北 by its bloc) is not
        # about its policy
        if any((core(place), level) in owners[i] for i in keep):
            keep -= {i for i in naming if owners[i] and not {p for p, _ in owners[i]} & asked}
    return keep


def _owners(hit: object) -> set[tuple[str, str]]:
    """The places a passage's document belongs to (its title and region), with their level."""
    return {
        (core(p), place_level(p))
        for p in find_places(f"{hit.title} {hit.region}")  # type: ignore[attr-defined]
    }


def year_consistent(question: str, hits: Sequence, keep: set[int]) -> set[int]:
    """Of the passages ``keep`` lists, those of the documents of the year the question gives to
    the document it asks about ("2012年的报告讲上一年粮食…" is not answered from the 1959
    report), when some passages are of that year; else ``keep``.
    """
    from rag.retrieval.runs import document_years

    years = [str(y) for y in document_years(question)]
    if not years:
        return keep
    dated = {
        i
        for i in keep
        if (hits[i].date or "")[:4] in years or any(f"{y}年" in hits[i].title for y in years)
    }
    return dated or keep


def kind_consistent(question: str, hits: Sequence, keep: set[int]) -> set[int]:
    """Of the passages ``keep`` lists, those of the kind of document the question names it by
    ("那篇评论说…" is not answered from a government work report), when some are of that kind;
    else ``keep``. The genre words are retrieval's (``rag.retrieval.runs.named_kinds``)."""
    from rag.retrieval.runs import named_kinds

    kinds = set(named_kinds(question))
    if not kinds:
        return keep
    return {i for i in keep if hits[i].kind in kinds} or keep


def name_consistent(question: str, hits: Sequence, keep: set[int]) -> set[int]:
    """Of the passages ``keep`` lists, those of documents that contain every quoted name of the
    question that some passage contains ("讲“五改”的那篇文章…" is not answered from a report
    that never says 五改); all of ``keep`` when no passage contains them."""
    places = [core(p) for p in find_places(question)]
    for name in _QUOTED.findall(question):
        flat = re.sub(r"\s+", "", name)
        docs = {
            h.doc_id
            for h in hits
            if flat in re.sub(r"\s+", "", f"{h.title} {h.section_path} {h.text}")
        }
        naming = {i for i in keep if hits[i].doc_id in docs}
        # the question's place outranks its quoted words: "汝州…“双创”政策" stays with 汝州's
        # article, which says 大众创业、万众创新, not with a national report that says “双创”
        if places and not any(_names_place(hits[i], p) for i in naming for p in places):
            continue
        if naming:
            keep = naming
    return keep


# "（这份材料提到…）", "那篇文章说…": the question is about what a document says, so a place it
# starts with is a subject of that document, not the owner of the policy
_DOCUMENT = re.compile(r"材料|文章|文件|通知|报告|这份|这篇|该文|文中")


def missing_names(
    question: str, hits: Sequence, lead: int, titles: Sequence[str] = ()
) -> list[str]:
    """Names the question gives that the passages lack (the reasons for a refusal), or [].

    ``lead`` is the passage of the first quote; ``titles`` the titles of indexed reports (for
    "2019年政府工作报告…").
    """
    if not hits:
        return []
    pool = " ".join(f"{h.title} {h.region} {h.section_path} {h.text}" for h in hits)
    head = hits[lead]
    doc_pool = f"{head.title} {head.region} {head.section_path} {head.text}"
    missing: list[str] = []
    places = find_places(question)
    subject = re.sub(r"^(?:请问|那么|那|关于)", "", question.strip())
    if places and subject.startswith(places[0]) and head.region and not _DOCUMENT.search(question):
        # "深圳市对…的标准是多少": the place the question starts with owns the policy; a document
        # of another place that only mentions it ("深入上海、深圳等地…洽谈") does not answer
        # (unless the question asks what a document says of it)
        level = place_level(places[0])
        owners = {core(p) for p in find_places(head.region) if place_level(p) == level}
        if owners and core(places[0]) not in owners:
            missing.append(places[0])
    for place in places:
        if named_in(place, doc_pool) or place in missing:
            continue
        level = place_level(place)
        others = {
            core(p)
            for p in find_places(f"{head.title} {head.region} {head.text}")
            if place_level(p) == level
        }
        if (
            others - {core(place)}
            or not named_in(place, pool)
            and head.region
            and place_level(head.region) == level
        ):
            missing.append(place)
    missing += [g for g in GROUP.findall(question) if g not in pool]
    missing += quoted_absent(question, pool)
    missing += [full for name, full in _programmes(question) if name not in pool]
    reports = " ".join(titles) if titles else " ".join(h.title for h in hits)
    missing += [
        f"{y}年政府工作报告" for y in YEAR_REPORT.findall(question) if f"{y}年" not in reports
    ]
    return list(dict.fromkeys(missing))


_QUOTED = re.compile(r"[“\"]([^”\"]{2,16})[”\"]")


def quoted_absent(question: str, pool: str) -> list[str]:
    """Names the question puts in quotation marks that no passage contains, quoted.

    A quoted name of three to six characters is a name ("“万人进万企”活动"): passages without
    it are about something else, however many other words they share. Spaces are ignored.
    quoted_absent("汝州“万人进万企”招商活动是怎么搞的？", "…驻地招商…") → ["“万人进万企”"]
    """
    flat = re.sub(r"\s+", "", pool).lower()
    names = [re.sub(r"\s+", "", n) for n in _QUOTED.findall(question)]
    # two characters ("双创", "五改") are usually a short form the documents may spell out whole;
    # past six, a quoted message or slogan ("提示“保存版本与打印版本不一致”") whose words a user
    # may not recall exactly
    return [f"“{n}”" for n in names if 3 <= len(n) <= 6 and n.lower() not in flat]


# a who-question's asker ("由哪个部门", "交给哪家机构", "由谁来") and the words around the
# action that carry no action of their own
_WHO_ASK = re.compile(
    r"由?(?:谁|(?:哪个|哪些|哪家|哪位|什么)"
    r"(?:单位|部门|机构|局(?![面势])|委|办(?![法事])|人|领导|组(?![织成建])|报刊|媒体|公司|企业|银行|平台))"
)
_NO_ACTION = frozenset(
    "来 去 在 具体 主要 一般 平时 通常 专门 统一 直接 最终 最后 "
    # light verbs: the action is in their object, which the question has already named
    "完成 进行 开展 办理 实施 执行 落实 处理 操作 组织 负责人 开始 启动 发生".split()
)
# "由哪个部门负责" is answered by any statement of a duty: "牵头单位：…", "由…承担", "职责"
_DUTY = ("负责", "牵头", "主管", "主抓", "承担", "抓总", "职责", "分管", "主办")
_DUTY_WORDS = re.compile("|".join(_DUTY))


def asked_action(question: str) -> list[str]:
    """The words of what a who-question asks the agent of: the clause after "由哪个部门/谁".

    asked_action("郑州的重大项目管理系统由哪个部门负责开发维护？") → ["负责", "开发", "维护"]
    asked_action("那套招商专案由谁来审定？") → ["审定"]
    asked_action("“一站式”服务由哪个部门具体负责？") → ["负责"] (any duty word answers it)
    asked_action("招商六组的牵头领导是谁？") → [] (nothing after the asker)
    """
    import rjieba

    own = own_question(question)
    m = _WHO_ASK.search(own)
    if not m:
        return []
    # "由谁来编": 来 carries no action, and the segmenter would glue it to the verb ("来编")
    tail = re.split(r"[，,。？?；;！!]", own[m.end() :])[0].removeprefix("来")
    return [
        w
        for w in rjieba.cut(tail)
        if len(w) >= 2 and w not in _NO_ACTION and re.fullmatch(r"[\u4e00-\u9fff]+", w)
    ]


_CLAUSE = re.compile(r"[^，,。；;：:！!？?\n]+")
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
_DUTY_LABEL = re.compile(r"(?:牵头|责任|主管|主办|承办|督办|配合)(?:单位|领导|部门)?[：:]")


def duty_stated(question: str, quotes: str) -> bool:
    """Whether the quotes state a duty (牵头, 负责, 职责 …) of what the question is about: in a
    record's label line ("牵头单位：…"), or in a sentence that names a word the question puts
    before its who-asker ("郑州的重大项目管理系统由哪个部门…": 重大项目, 管理系统). A duty of
    something else ("一把手…牵头担任重大招商项目组长") does not say who runs the system."""
    import rjieba

    if _DUTY_LABEL.search(quotes):
        return True
    own = own_question(question)
    m = _WHO_ASK.search(own)
    places = {core(p) for p in find_places(own)}
    topic = [
        w
        for w in rjieba.cut(own[: m.start()] if m else own)
        if len(w) >= 2 and core(w) not in places and re.fullmatch(r"[\u4e00-\u9fff]+", w)
    ]
    sentences = _SENTENCE.findall(quotes)
    return any(
        _DUTY_WORDS.search(s) and (not topic or any(w in s for w in topic)) for s in sentences
    )


def agent_beside(kind: str, quotes: str, words: Sequence[str], question: str = "") -> bool:
    """Whether a clause of the quotes names an agent of ``kind`` ("unit", "person") beside one of
    the question's ``words`` — the agent, its action and its object in one clause ("河北省科技厅
    发布消息" answers who put the news out, however the question words 发布). The question's
    own words do not count as the agent ("…数字一体化平台" is no unit that runs the 平台).

    agent_beside("unit", "近日，河北省科技厅发布消息，…", ["消息", "河北"]) → True
    """
    words = sorted((w for w in words if len(w) >= 2), key=len, reverse=True)
    for clause in _CLAUSE.findall(quotes):
        if not any(w in clause for w in words):
            continue
        rest = clause
        for w in words:
            rest = rest.replace(w, "，")
        if kind == "person" and holds(kind, rest, question):
            return True
        # a zone named beside the topic ("丽水经济技术开发区的“基金+飞地”模式") is no agent
        if kind == "unit" and names_agency(rest, local=False):
            return True
    return False


def action_absent(question: str, quotes: str, alternatives: object = None) -> bool:
    """A who-question the quotes do not answer: they neither name its asked action nor state
    anyone's duty. Who "开发维护" a system is not answered by the sentence that only says the
    system exists; "由哪个局挑头" is answered by "牵头单位：市住房和城乡建设局" although 挑头 is
    not 牵头 (staff word actions their own way: 挂帅, 拍板, 指定).

    ``alternatives`` (the synonym glossary, ``Synonyms.alternatives``) may spell an action
    otherwise. False when the question asks no action.
    """
    asked = asked_action(question)
    # a quote that states who leads or answers for something ("牵头单位：…", "由…负责")
    # answers a who-question however the question words the action (挂帅, 挑头, 指定)
    if not asked or duty_stated(question, quotes):
        return False
    spell = getattr(alternatives, "alternatives", None)
    return not any(
        w in quotes or bool(spell and any(a in quotes for a in spell(w)))
        for w in asked
        if w not in _DUTY
    )


_YEAR = re.compile(r"((?:19|20)\d{2})年")
_NOT_PHASE = "(?![间限货望待刊末初中])"  # 期间, 期限, 期末 … are no phases
# a phase's number ("二期", "第三批"), not "每一期", "这一批", "上一届"
_PHASE_NUMBER = r"(?<![每各这那哪几同本上下前后近多])第?[一二三四五六七八九十\d]{1,3}"
_INSTANCE = re.compile(rf"{_PHASE_NUMBER}(?:期{_NOT_PHASE}|批|届|轮)")
_CN_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


_CN_COUNT = {c: i for i, c in enumerate("一两三四五六七八九十", start=1)} | {"二": 2}
_PAST = re.compile(r"过去([一两二三四五六七八九十\d])年|(去年|上一?年|过去一年)")


def implied_years(year: str, document: str) -> set[str]:
    """The years a document of ``year`` speaks of without naming them: its own ("今年"), and
    the ones before it it reviews ("去年", "过去一年", "过去五年").

    implied_years("2023", "…过去一年…过去五年…") → {"2023", "2022", "2021", "2020", "2019", "2018"}
    implied_years("2023", "今年发展主要预期目标…") → {"2023"}
    """
    if not re.fullmatch(r"(?:19|20)\d{2}", year):
        return set()
    back = 0
    for m in _PAST.finditer(document):
        n = m.group(1)
        back = max(back, 1 if m.group(2) else int(n) if n.isdigit() else _CN_COUNT.get(n, 0))
    return {str(int(year) - i) for i in range(back + 1)}


def unstated(
    question: str, document: str, quotes: str, figure: bool = True, year: str = ""
) -> list[str]:
    """Qualifiers of the question the evidence does not state: the reasons for an answer in part.

    - for a ``figure`` question (an amount, a count … of that year), a year ("2019年实际利用
      外资…") that the ``document`` (its retrieved passages, title and date) never names, in
      digits or in Chinese numerals ("对申报2021年度…的如何处理" asks for a rule, not a figure);
    - an instance ("二期", "第三批") when the ``quotes`` name only others of its kind ("一期").

    unstated("产业园二期规划建多少栋厂房？", "…", "随着一期11栋标准化厂房的建设推进") → ["二期"]
    unstated("焦作市2019年实际利用外资金额是多少？", "去年以来…有效利用土地1910亩", "…") → ["2019年"]
    unstated("2023年的报告回顾2022年，新增就业多少？", "过去一年…", "…", year="2023") → []
    """
    out = []
    # a year's report ("2008年报告定的…") names the document, not the fact: retrieval's business
    reports = set(re.findall(r"((?:19|20)\d{2})年(?:的)?(?:国务院)?(?:政府工作)?报告", question))
    # the document's own year and the years it reviews ("2023年的报告回顾2022年…": "过去一年")
    reports |= implied_years(year, document)
    for year in dict.fromkeys(_YEAR.findall(question) if figure else ()):
        if (
            year not in reports
            and year not in document
            and year.translate(_CN_DIGITS) not in document
        ):
            out.append(f"{year}年")
    for m in dict.fromkeys(_INSTANCE.findall(question)):
        others = set(re.findall(rf"{_PHASE_NUMBER}{m[-1]}{_NOT_PHASE}", quotes))
        if others and m.lstrip("第") not in quotes:
            out.append(m)
    return out
