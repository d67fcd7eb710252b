"""Evidence by meaning and by words: every unit of the top passages, scored.

Two signals, combined per unit:

- **words**: the question's content words weighted by their BM25 idf (a name such as
  孙起鹏 or 六组 counts far more than 招商), synonyms and number forms counting 0.7,
  found in the unit itself and in its section breadcrumb and title (the body
  "牵头领导：孙起鹏。" sits under "（六）招商六组");
- **meaning**: the cosine of the question's e5 *query* vector and the unit's e5
  *passage* vector (``rag.answering.units.embedding_text``). e5 is trained query→passage,
  so "县里一把手一年得花多长时间出去跑项目" finds "…主要负责同志全年外出实质招商要不少于1/4
  时间" without sharing 一把手, 跑项目 or 多长.

Within one question the cosines are rescaled to 0…1 over the candidate units (their
absolute level depends on the question's length and wording; their order does not).
The passage rank, the asked answer type (``rag.answering.types``), and the question's
places/groups/quoted terms add or take away. Nothing here decides whether to answer:
that is ``rag.answering.refusal``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering.types import AnswerType, holds
from rag.answering.units import Unit
from rag.lexicon.places import find_places as _places
from rag.lexicon.places import place_level as _place_level
from rag.retrieval.query import Synonyms, normalize_query, number_variants
from rag.store.bm25 import STOPWORDS

QUESTION_NOISE = frozenset(
    "哪些 哪个 哪位 哪家 什么 多少 怎么 怎样 如何 是否 分别 具体 主要 一下 请问 规定 要求 提出 提到 "
    "材料 文件 这份 该文 哪里 哪儿 为什么 情况 内容 有关 关于 相关 方面 咱们 我们 他们 那边 这边 那个 这个 "
    "一般 到底 究竟 能否 可以 需要 应该 得 要 吗 呢 啊 呀 吧 回事 怎么回事 咋 咋样 是怎么 样子".split()
)
_ORDINAL = re.compile(r"第([一二三四五六七八九十])[改条项点个是要]")
_SHORTHAND = re.compile(r"[\da-z]+(?:[+＋][\da-z]+)+")
_CONTENT = re.compile(r"[\u4e00-\u9fff\dA-Za-z]")
GROUP = re.compile(r"招商[一二三四五六七八九十\d]+组")
MEANING_WEIGHT = 0.35  # share of the meaning signal in a unit's score (chosen on the dev split)
# a notice's statement of purpose and an editor's note summarise the whole document
# (and the editor's summary that follows it: "文中以…的角度，介绍了…")
PURPOSE = re.compile(r"^(?:为(?:进一步|了|深入|加快|切实|全面|更好)|编者按|文中以|本文)|经[^，。]{1,12}研究同意|"
                     r"现将[^，。]{0,12}(?:印发|刊发)|[^，。]{0,20}的角度，介绍了")
PURPOSE_FACTOR = 0.6  # such a sentence shares words with every question on the document (dev split)
LENGTH_NORM = 0.0  # BM25-style length normalisation of the words signal (chosen on the dev split)


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
    score: float

    @property
    def hit_index(self) -> int:
        return self.unit.hit_index

    @property
    def start(self) -> int:
        return self.unit.start

    @property
    def text(self) -> str:
        return self.unit.text


def question_terms(question: str, idf: Callable[[str], float], synonyms: Synonyms | None = None) -> list[Term]:
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
        if w in terms or w in QUESTION_NOISE or w in STOPWORDS or not _CONTENT.search(w) or (
                len(w) < 2 and not w.isdigit()):
            continue
        alts = tuple(synonyms.alternatives(w) if synonyms else ()) + tuple(number_variants(w))
        weight = max([idf(w)] + [idf(a) for a in alts if " " not in a])
        terms[w] = Term(w, alts, weight)
    # "第四改" is written "四要改…", "四是…", "（四）…" in the item itself
    for m in _ORDINAL.finditer(q):
        n = m.group(1)
        for w in [w for w in terms if w in q[m.start():m.end() + 2]]:
            del terms[w]
        terms[m.group(0)] = Term(m.group(0), (f"{n}要", f"{n}是", f"（{n}）", f"{n}、"),
                                 max((t.weight for t in terms.values()), default=1.0))
    # adjacent content words as a phrase ("牵头" + "单位"): the exact wording counts extra
    for a, b in [(a, b) for a in list(terms) for b in list(terms) if a != b and a + b in q and a + b not in terms]:
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
    return re.sub(r"(?:省|市|县|区|自治区|地区)$", "", entity).strip("“”\"") or entity


def hard_entities(question: str) -> list[str]:
    """Names a passage must mention to be about the question: places, 招商N组, “quoted terms”."""
    quoted = [q for q in re.findall(r"“([^”]{2,12})”", question)]
    return _places(question) + GROUP.findall(question) + quoted


def _rescale(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-6 else np.zeros_like(values)


def score_units(question: str, units: Sequence[Unit], hits: Sequence, terms: Sequence[Term],
                meaning: np.ndarray | None, kind: AnswerType) -> list[Scored]:
    """Every unit scored, best first. ``meaning[i]`` is the cosine of the question and unit i.

    A unit whose passage names another 招商N组 or place than the question's is halved; a
    unit holding the asked kind of figure ("150天" for "多少天") gains; the item the
    question numbers ("第四改" → "四要改…") gains most.
    """
    if not units:
        return []
    total = sum(t.weight for t in terms) or 1.0
    hard = hard_entities(question)
    ordinal = _ORDINAL.search(question)
    item_n = re.compile(rf"^(?:{ordinal.group(1)}[是要]|[（(]{ordinal.group(1)}[）)]|{ordinal.group(1)}、)") if ordinal else None
    sims = meaning if meaning is not None and len(meaning) == len(units) else np.zeros(len(units))
    rel = _rescale(sims)
    pools = {i: f"{h.title} {h.section_path} {h.region} {h.text}" for i, h in enumerate(hits)}
    consistent = {i: all(core(e) in pool for e in hard) for i, pool in pools.items()}
    mean_len = sum(len(u.text) for u in units) / len(units)
    out: list[Scored] = []
    for u, sim, r in zip(units, sims, rel, strict=True):
        hit = hits[u.hit_index]
        context = f"{hit.title} {hit.section_path}"
        # a long unit holds more of any question's words: normalised as BM25 does (b = LENGTH_NORM)
        own = weight(u.text, terms) / total / (1 - LENGTH_NORM + LENGTH_NORM * len(u.text) / mean_len)
        cover = weight(u.text + context, terms) / total
        words = 0.6 * own + 0.4 * cover
        score = (1 - MEANING_WEIGHT) * words + MEANING_WEIGHT * float(r) + 0.08 / (u.hit_index + 1)
        if kind.checkable and holds(kind.name, u.text, question):
            score += 0.08
        if not consistent[u.hit_index]:  # the question names 招商四组 or 郑州; this passage is about another
            score *= 0.5
        # the unit itself names what the question is about ("长三角", "“五改”"), and more so
        # when it names no other place ("在长三角地区要…" beats "环渤海、长三角、珠三角")
        if hard and any(core(e) in u.text for e in hard):
            levels = {_place_level(e) for e in hard}
            others = {core(p) for p in _places(u.text) if _place_level(p) in levels} - {core(e) for e in hard}
            score += 0.1 if others else 0.25
        if item_n and item_n.match(u.text):
            score += 0.5
        if PURPOSE.search(u.text):  # "为进一步…，决定…": it names every topic of the document at once
            score *= PURPOSE_FACTOR
        out.append(Scored(u, own, cover, float(sim), score))
    return sorted(out, key=lambda s: -s.score)
