"""Evidence by meaning and by words: every unit of the candidate passages, scored.

Each unit is described by ``UNIT_FEATURES`` that mean the same on any index (shares of the
question's words, e5 cosines, ranks — no idf sums, no corpus sizes):

- **words**: the question's content words weighted by their BM25 idf (a name such as
  孙起鹏 or 六组 counts far more than 招商), synonyms and number forms counting 0.7,
  found in the unit itself and in its section breadcrumb and title (the body
  "牵头领导：孙起鹏。" sits under "（六）招商六组"), as a share of the question's weight;
  the share of its words counted plainly, and of its character pairs;
- **meaning**: the cosine of the question's e5 *query* vector and the unit's e5
  *passage* vector (``rag.answering.units.embedding_text``), rescaled 0…1 over the
  question's units, its gap to the best cosine and its rank. e5 is trained query→passage,
  so "县里一把手一年得花多长时间出去跑项目" finds "…主要负责同志全年外出实质招商要不少于1/4
  时间" without sharing 一把手, 跑项目 or 多长;
- **place in the ranking**: the retrieval rank of the unit's passage, and its ranks in the
  BM25 and dense runs;
- **the genre**: a span of the asked answer type (``rag.answering.types``), a passage
  about another place or 招商N组 than the question names, the item the question numbers
  ("第四改"), a statement of purpose or editor's summary, a label line, the length.

A linear ``UnitModel`` fitted listwise on the dev split of two indexes
(``evals/fit_units.py`` → ``rag/data/unit_model.json``) turns them into one score; a unit's
``score`` is its probability relative to the best unit's, so "a runner-up at least 0.3 as
likely as the best" means the same for every question. Nothing here decides whether to
answer: that is ``rag.answering.refusal``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.answering.types import AnswerType, holds, own_question
from rag.answering.units import LABEL, Unit
from rag.lexicon.places import find_places, named_in, place_level
from rag.retrieval.query import Synonyms, normalize_query, number_variants
from rag.store.bm25 import STOPWORDS

QUESTION_NOISE = frozenset(
    "哪些 哪个 哪位 哪家 什么 多少 怎么 怎样 如何 是否 分别 具体 主要 一下 请问 规定 要求 提出 提到 "
    "材料 文件 这份 该文 哪里 哪儿 为什么 情况 内容 有关 关于 相关 方面 咱们 我们 他们 那边 这边 那个 这个 "
    "一般 到底 究竟 能否 可以 需要 应该 得 要 吗 呢 啊 呀 吧 回事 怎么回事 咋 咋样 是怎么 样子 "
    "里头 里面 那些 这些 当中 之类 都有 哪几 几样 啥".split()
)
# "第二条", "第四改", "排第二的那一条"
_ORDINAL = re.compile(
    r"第([一二三四五六七八九十])(?:[改条项点个是要]|(?=的?(?:那|这)?一?[改条项点个]))"
)


def numbered(question: str) -> int | None:
    """The number of the item the question itself (not the context a follow-up carries in
    brackets) asks for: numbered("排第二的一条讲的是啥？（…第一条是啥）") → 2."""
    m = _ORDINAL.search(own_question(question))
    return "一二三四五六七八九十".index(m.group(1)) + 1 if m else None


_SHORTHAND = re.compile(r"[\da-z]+(?:[+＋][\da-z]+)+")
_CONTENT = re.compile(r"[\u4e00-\u9fff\dA-Za-z]")
_ASKS_PURPOSE = re.compile(
    r"目的|为(?:啥|什么|何)要?(?:搞|建|设|出台|制定|印发|成立|这么)|初衷|出发点|想达到"
)


def asks_purpose(question: str) -> bool:
    """Whether the turn itself asks why or to what end something was set up ("当初为啥要搞",
    "想达到啥目的"): the document's statement of purpose answers it."""
    return bool(_ASKS_PURPOSE.search(own_question(question)))


GROUP = re.compile(r"招商[一二三四五六七八九十\d]+组")
# a notice's statement of purpose and an editor's note summarise the whole document
# (and the editor's summary that follows it: "文中以…的角度，介绍了…")
PURPOSE = re.compile(
    r"^(?:为(?:进一步|了|深入|加快|切实|全面|更好)|编者按|文中以|本文)|经[^，。]{1,12}研究同意|"
    r"现将[^，。]{0,12}(?:印发|刊发)|[^，。]{0,20}的角度，介绍了"
)


@dataclass(frozen=True)
class Term:
    surface: str
    alternatives: tuple[str, ...]
    weight: float

    def found_in(self, text: str) -> float:
        """1 for the question's own word, 0.7 for a synonym or number form, else 0."""
        if self.surface in text or (self.surface.isascii() and self.surface in text.lower()):
            return 1.0  # the question was lowercased ("7+x"), the text was not ("7+X")
        return 0.7 if any(a in text for a in self.alternatives) else 0.0


@dataclass(frozen=True)
class Scored:
    unit: Unit
    own: float  # share of the question's word weight in the unit itself
    cover: float  # … counting its breadcrumb and title
    meaning: float  # cosine of question and unit vectors (raw)
    score: float  # the unit model's probability relative to the best unit's (1.0 for the best)

    @property
    def hit_index(self) -> int:
        return self.unit.hit_index

    @property
    def start(self) -> int:
        return self.unit.start

    @property
    def text(self) -> str:
        return self.unit.text


def question_terms(
    question: str, idf: Callable[[str], float], synonyms: Synonyms | None = None
) -> list[Term]:
    """The question's content words with their synonyms/number forms and idf weights.

    Synonym-list members are taken whole first ("出门招商", "一把手"), the rest is segmented
    by jieba; question words ("哪些", "多少") and stopwords are dropped.
    "县区一把手一年至少要花多少时间出门招商" → 县区, 一把手, 一年, 至少, 要花, 时间, 出门招商
    """
    import rjieba

    q = normalize_query(question)
    found = synonyms.find(q) if synonyms else []
    found += [m.group(0) for m in _SHORTHAND.finditer(q)]  # "7+x" stays one term
    rest = q
    for term in found:
        rest = rest.replace(term, " ", 1)
    words = found + [w for w in rjieba.cut(rest) if w.strip()]
    terms: dict[str, Term] = {}
    for w in words:
        for noise in QUESTION_NOISE:  # "哪些项目" → "项目"
            if len(noise) > 1 and noise in w and noise != w:
                w = w.replace(noise, "")
        if (
            w in terms
            or w in QUESTION_NOISE
            or w in STOPWORDS
            or not _CONTENT.search(w)
            or (len(w) < 2 and not w.isdigit())
        ):
            continue
        alts = tuple(synonyms.alternatives(w) if synonyms else ()) + tuple(number_variants(w))
        weight = max([idf(w)] + [idf(a) for a in alts if " " not in a])
        terms[w] = Term(w, alts, weight)
    # "第四改" is written "四要改…", "四是…", "（四）…" in the item itself; a follow-up's own
    # ordinal replaces the one of the question it follows, carried in brackets ("排第二的一条
    # 讲的是啥？（…第一条是啥）" asks item 2)
    own = re.sub(r"（[^）]*）", lambda b: "（" + " " * (len(b.group(0)) - 2) + "）", q)
    for m in _ORDINAL.finditer(q):
        n = m.group(1)
        for w in [w for w in terms if w in q[m.start() : m.end() + 2]]:
            del terms[w]
        if own[m.start()] == " " and _ORDINAL.search(own):
            continue
        terms[m.group(0)] = Term(
            m.group(0),
            (f"{n}要", f"{n}是", f"（{n}）", f"{n}、"),
            max((t.weight for t in terms.values()), default=1.0),
        )
    # adjacent content words as a phrase ("牵头" + "单位"): the exact wording counts extra
    for a, b in [
        (a, b)
        for a in list(terms)
        for b in list(terms)
        if a != b and a + b in q and a + b not in terms
    ]:
        terms[a + b] = Term(a + b, (), 0.5 * min(terms[a].weight, terms[b].weight))
    return list(terms.values())


def main_weight(terms: Sequence[Term], pool: str) -> float:
    """The largest weight among the terms found in ``pool`` (words the index lacks carry the
    highest idf of all, and no passage can hold them)."""
    return max((t.weight for t in terms if t.found_in(pool)), default=0.0)


def weight(text: str, terms: Sequence[Term]) -> float:
    return sum(t.weight * t.found_in(text) for t in terms)


def core(entity: str) -> str:
    """A place without its level word: "河北省" → "河北", "“五改”" → "五改"."""
    return re.sub(r"(?:省|市|县|区|自治区|地区)$", "", entity).strip('“”"') or entity


def hard_entities(question: str) -> list[str]:
    """Names a passage must mention to be about the question: places, 招商N组, “quoted terms”."""
    quoted = [q for q in re.findall(r"“([^”]{2,12})”", question)]
    return find_places(question) + GROUP.findall(question) + quoted


def _rescale(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(values)


UNIT_MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "unit_model.json"
# what a unit is described by; each means the same on any index (shares and ranks, not idf sums)
UNIT_FEATURES = (
    "own",  # share of the question's word weight in the unit itself
    "cover",  # … counting the unit's breadcrumb and title
    "count",  # share of the question's content words (counted, not weighted) in the unit
    "meaning",  # e5 cosine of question and unit, rescaled 0…1 over the question's units
    "meaning_gap",  # e5 cosine minus the best unit's cosine (0 for the best, negative below)
    "passage",  # 1 / retrieval rank of the unit's passage (a continuation: of the passage it continues)
    "figure",  # holds a span of the asked answer type ("150天" for "多少天")
    "off_topic",  # the passage lacks a place/招商N组/quoted term the question names
    "names",  # the unit itself names that place/group/term (0.5 when it names others too)
    "item",  # the item the question numbers ("第四改" → "四要改…")
    "purpose",  # a statement of purpose or an editor's summary of the whole document
    "label",  # a label line "牵头单位：…"
    "length",  # characters / 100
    "bigrams",  # share of the question's character pairs (question words left out) in the unit
    "meaning_rank",  # 1 / (1 + the unit's rank by e5 cosine among the question's units)
    "dense_passage",  # 1 / dense-retrieval rank of the unit's passage (0 when dense missed it)
    "bm25_passage",  # 1 / BM25 rank of the unit's passage (0 when BM25 missed it)
)


@dataclass(frozen=True)
class UnitModel:
    """A linear scorer of units fitted listwise (softmax over a question's units) on the dev
    split of both indexes by ``evals/fit_units.py``: ``exp(w·x)`` is proportional to the
    probability that the unit holds the answer."""

    weights: tuple[float, ...]

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ np.asarray(self.weights)

    @classmethod
    def load(cls, path: Path = UNIT_MODEL_FILE) -> UnitModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != UNIT_FEATURES:
            raise ValueError(f"{path}: features {data['features']} differ from {UNIT_FEATURES}")
        return cls(tuple(float(w) for w in data["weights"]))


@lru_cache(maxsize=1)
def default_unit_model() -> UnitModel:
    return UnitModel.load()


def question_bigrams(question: str) -> set[str]:
    """The character pairs of the question's content, question words and punctuation left out.

    "焦作靠啥技术摸清落户心思？" → {"焦作", "作靠", "技术", …, "落户", "户心", "心思"}
    """
    text = normalize_query(question)
    for noise in sorted(QUESTION_NOISE, key=len, reverse=True):
        if len(noise) > 1:
            text = text.replace(noise, " ")
    text = re.sub(r"[的了和与及在是有把被就都也还又这那啥个吗呢么咋谁哪几多]", " ", text)
    runs = re.findall(r"[\u4e00-\u9fff\dA-Za-z]+", text)
    return {r[i : i + 2] for r in runs for i in range(len(r) - 1)}


def unit_features(
    question: str,
    units: Sequence[Unit],
    hits: Sequence,
    terms: Sequence[Term],
    meaning: np.ndarray | None,
    kind: AnswerType,
) -> np.ndarray:
    """The ``UNIT_FEATURES`` of every unit, one row each. ``meaning[i]`` is the cosine of the
    question and unit i (zeros without vectors).

    For "县区一把手一年至少要花多少时间出门招商" the unit "…主要负责同志全年外出实质招商要不少于
    1/4时间" has meaning 1.0 (the best cosine), figure 1 (a duration, "1/4"), and a low ``own``:
    it shares 招商 and 时间 only.
    """
    total = sum(t.weight for t in terms) or 1.0
    single = [
        t
        for t in terms
        if not any(t.surface != o.surface and o.surface in t.surface for o in terms)
    ]
    hard = hard_entities(question)
    levels = {place_level(e) for e in hard}
    ordinal = _ORDINAL.search(own_question(question)) or _ORDINAL.search(question)
    item_n = (
        re.compile(
            rf"^(?:{ordinal.group(1)}[是要]|[（(]{ordinal.group(1)}[）)]|{ordinal.group(1)}、)"
        )
        if ordinal
        else None
    )
    # "建这个机制最终想达到啥目的": a statement of purpose is the answer, not a summary to avoid
    purpose_asked = asks_purpose(question)
    sims = meaning if meaning is not None and len(meaning) == len(units) else np.zeros(len(units))
    rel = _rescale(sims)
    best = float(sims.max()) if len(sims) else 0.0
    pools = {i: f"{h.title} {h.section_path} {h.region} {h.text}" for i, h in enumerate(hits)}
    consistent = {i: all(named_in(e, pool) for e in hard) for i, pool in pools.items()}
    pairs = question_bigrams(question)
    order = np.empty(len(units), dtype=int)
    order[np.argsort(-sims, kind="stable")] = np.arange(len(units))
    rows = []
    for u, sim, r, rank in zip(units, sims, rel, order, strict=True):
        hit = hits[u.hit_index]
        context = f"{hit.title} {hit.section_path}"
        names = 0.0
        if hard and any(named_in(e, u.text) for e in hard):
            others = {core(p) for p in find_places(u.text) if place_level(p) in levels} - {
                core(e) for e in hard
            }
            names = 0.5 if others else 1.0
        rows.append(
            [
                weight(u.text, terms) / total,
                weight(u.text + context, terms) / total,
                sum(t.found_in(u.text) for t in single) / len(single) if single else 0.0,
                float(r),
                float(sim) - best,
                1.0 / (getattr(hit, "rank", 0) or u.hit_index + 1),
                1.0 if kind.checkable and holds(kind.name, u.text, question) else 0.0,
                0.0 if consistent[u.hit_index] else 1.0,
                names,
                1.0 if item_n and item_n.match(u.text) else 0.0,
                1.0 if PURPOSE.search(u.text) and not purpose_asked else 0.0,
                1.0 if LABEL.match(u.text) else 0.0,
                len(u.text) / 100,
                sum(p in u.text for p in pairs) / len(pairs) if pairs else 0.0,
                1.0 / (1 + int(rank)),
                1.0 / hit.dense_rank if getattr(hit, "dense_rank", None) else 0.0,
                1.0 / hit.bm25_rank if getattr(hit, "bm25_rank", None) else 0.0,
            ]
        )
    return np.asarray(rows, dtype=float).reshape(len(units), len(UNIT_FEATURES))


def score_units(
    question: str,
    units: Sequence[Unit],
    hits: Sequence,
    terms: Sequence[Term],
    meaning: np.ndarray | None,
    kind: AnswerType,
    model: UnitModel | None = None,
) -> list[Scored]:
    """Every unit scored, best first: ``score`` is the unit model's probability relative to the
    best unit (1.0 for the best, 0.5 for a unit half as likely to hold the answer)."""
    if not units:
        return []
    x = unit_features(question, units, hits, terms, meaning, kind)
    z = (model or default_unit_model()).logits(x)
    rel = np.exp(z - z.max())
    sims = meaning if meaning is not None and len(meaning) == len(units) else np.zeros(len(units))
    out = [
        Scored(u, float(f[0]), float(f[1]), float(s), float(p))
        for u, f, s, p in zip(units, x, sims, rel, strict=True)
    ]
    return sorted(out, key=lambda s: -s.score)
