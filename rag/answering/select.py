"""Choosing the sentences of a plain answer: the best unit and what a reader needs beside it.

- units that add question terms the best one lacks ("牵头领导和牵头单位" gets both lines);
- label lines whose label carries a question term or, for who-questions, 领导/单位/负责人
  ("牵头领导：薛志杰。", "牵头单位：市科技局。");
- the head of the enumerated item the best unit sits in ("一是新官不理旧账。" for its
  explanation "前任承诺的政策，后任不愿兑现。"); the next sentence after a label or a short
  item head;
- the unit holding the asked figure when the best one does not ("仅用时150天…");
- the first sentence of the next chunk when the chunker cut the best sentence at its end;
- for a question of several asks, the unit holding each ask's figure ("…多少？赤字率多少？").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from rag.answer import sentences
from rag.answering.evidence import Scored, Term
from rag.answering.lists import ENUM
from rag.answering.types import AnswerType, holds, holds_near
from rag.answering.units import Unit, squash

_LABEL_LINE = re.compile(r"^([\u4e00-\u9fff]{2,8})[：:][^。\n]{1,40}。?$")
_WHO = re.compile(
    r"谁|哪位|哪个单位|哪个部门|哪个局|什么单位|哪家单位|哪些单位|哪些部门|哪个(?:小)?组|哪一组"
)
_ENDS = re.compile(r"[。！？；!?;][”」’）)]*$")
CONFIDENT = 0.9  # runners-up join the best unit until the quotes hold this share of the mass
RUNNERS = 2


def _plain(unit: Unit) -> Scored:
    return Scored(unit, 0.0, 0.0, 0.0, 0.0)


def complements(
    best: Scored, scored: Sequence[Scored], terms: Sequence[Term], max_chars: int, context: str = ""
) -> list[Scored]:
    """Best unit first, then units that add question terms it lacks (same passage preferred).

    "由谁牵头、哪个单位牵头" after the 工作职责 sentence adds "牵头领导：薛志杰。" and
    "牵头单位：市科技局。" because they carry 牵头/单位, which the first does not.
    """
    total = sum(t.weight for t in terms) or 1.0
    chosen = [best]
    covered = {t.surface for t in terms if t.found_in(best.text + context) == 1.0}
    used = len(best.text)
    candidates = [s for s in scored[:40] if s is not best and s.own > 0]

    def gain(s: Scored) -> float:
        new = sum(t.weight * t.found_in(s.text) for t in terms if t.surface not in covered) / total
        return new + (0.05 if s.hit_index == best.hit_index else 0.0) + 0.1 * s.score

    while candidates:
        pick = max(candidates, key=gain)
        candidates.remove(pick)
        new_terms = {
            t.surface for t in terms if t.surface not in covered and t.found_in(pick.text) == 1.0
        }
        if not new_terms or sum(t.weight for t in terms if t.surface in new_terms) / total < 0.08:
            continue
        if (pick.hit_index != best.hit_index and pick.score < 0.5 * best.score) or used + len(
            pick.text
        ) > max_chars:
            continue
        if any(pick.text in c.text or c.text in pick.text for c in chosen):
            continue
        chosen.append(pick)
        covered |= new_terms
        used += len(pick.text)
    return chosen


def context_lines(
    question: str,
    best: Scored,
    hit: Any,
    units: Sequence[Unit],
    terms: Sequence[Term],
    chosen: Sequence[Scored],
) -> list[Scored]:
    """Label lines and item heads of the best passage a reader needs beside the best unit."""
    have = {(c.hit_index, c.start) for c in chosen}
    extra: list[Scored] = []
    who = bool(_WHO.search(question))
    headings = {squash(h) for h in hit.section_path.split(" › ")}
    pos = 0
    for line in hit.text.split("\n"):
        start = pos
        pos += len(line) + 1
        stripped = line.strip()
        label = _LABEL_LINE.match(stripped)
        if label and (
            any(t.surface in label.group(1) for t in terms if len(t.surface) >= 2)
            or (who and re.search(r"领导|单位|负责人", label.group(1)))
        ):
            off = start + line.index(stripped)
            if (best.hit_index, off) not in have:
                extra.append(_plain(Unit(best.hit_index, off, stripped, "")))
        elif start <= best.start < pos and ENUM.match(stripped):
            head = sentences(line)[0]
            if squash(head) in headings:
                continue  # the section's own heading, already named in the answer
            off = start + line.index(head)
            if off != best.start and (best.hit_index, off) not in have:
                extra.append(_plain(Unit(best.hit_index, off, head, "")))
    # a label ("牵头领导：") or a short item head ("五是土地管理不严。") is explained by what follows
    line_end = hit.text.find("\n", best.start)
    line_end = len(hit.text) if line_end < 0 else line_end
    if best.text.endswith(("：", ":")) or (
        len(best.text) < 25 and best.start + len(best.text) < line_end
    ):
        nxt = next(
            (u for u in units if u.hit_index == best.hit_index and u.start > best.start), None
        )
        if nxt and (nxt.hit_index, nxt.start) not in have:
            extra.append(_plain(nxt))
    return extra


def figure_unit(
    question: str,
    kind: AnswerType,
    best: Scored,
    scored: Sequence[Scored],
    chosen: Sequence[Scored],
    hits: Sequence,
) -> list[Scored]:
    """The best unit of the lead passage that holds the asked figure, if the chosen ones do not."""
    if not kind.checkable:
        return []

    def ok(text: str) -> bool:
        return holds(kind.name, text, question)

    if any(ok(c.text) for c in chosen):
        return []
    lead = hits[best.hit_index].text
    line = (
        lead.rfind("\n", 0, best.start) + 1,
        (lead.find("\n", best.start) + 1 or len(lead) + 1) - 1,
    )
    for s in scored:
        if s.hit_index != best.hit_index or not ok(s.text):
            continue
        # on the best unit's own line (a table row "…；完成时限：2020年6月底前"), or close in score
        if line[0] <= s.start < line[1] or s.score >= 0.6 * best.score:
            return [s]
    return []


def finish_cut_sentence(
    best: Scored, hits: list, following: Callable[[Any], Any] | None
) -> list[Scored]:
    """The first sentence of the next chunk when the best one was cut at the chunk's end."""
    lead = hits[best.hit_index]
    if following is None or not lead.text.rstrip().endswith(best.text) or _ENDS.search(best.text):
        return []
    nxt = following(lead)
    if nxt is None or not sentences(nxt.text):
        return []
    hits.append(nxt)
    first = sentences(nxt.text)[0]
    return [_plain(Unit(len(hits) - 1, nxt.text.find(first), first, ""))]


def paragraph_after(
    best: Scored, hit: Any, units: Sequence[Unit], chosen: Sequence[Scored], max_chars: int
) -> list[Scored]:
    """The units that follow the best one in its paragraph (how a mechanism is explained, what
    a statement rests on), then, while ``max_chars`` allows, those before it.

    "建立项目线索筛选机制，…" is followed by what the mechanism did ("共筛选…线索…").
    """
    have = {(c.hit_index, c.start) for c in chosen}
    line_end = hit.text.find("\n", best.start)
    line_end = len(hit.text) if line_end < 0 else line_end
    used = sum(len(c.text) for c in chosen)
    out: list[Scored] = []
    for u in units:
        if u.hit_index != best.hit_index or u.start <= best.start or u.start >= line_end:
            continue
        if (u.hit_index, u.start) in have:
            continue
        if used + len(u.text) > max_chars:
            break
        out.append(_plain(u))
        used += len(u.text)
    # room left: the sentences before it in the paragraph, nearest first (what the rest explains)
    line_start = hit.text.rfind("\n", 0, best.start) + 1
    before = [
        u for u in units if u.hit_index == best.hit_index and line_start <= u.start < best.start
    ]
    for u in reversed(before):
        if (u.hit_index, u.start) in have or used + len(u.text) > max_chars:
            break
        out.append(_plain(u))
        used += len(u.text)
    return out


def passage_rest(
    best: Scored, units: Sequence[Unit], chosen: Sequence[Scored], budget: int
) -> list[Scored]:
    """The units after the best one's paragraph in its passage, in order, while ``budget``
    characters allow: how something is done is told over the paragraphs that follow."""
    have = {(c.hit_index, c.start) for c in chosen}
    used = sum(len(c.text) for c in chosen)
    last = max((c.start for c in chosen if c.hit_index == best.hit_index), default=best.start)
    out: list[Scored] = []
    for u in units:
        if u.hit_index != best.hit_index or u.start <= last or (u.hit_index, u.start) in have:
            continue
        if used + len(u.text) > budget:
            break
        out.append(_plain(u))
        used += len(u.text)
    return out


def runners_up(
    best: Scored, scored: Sequence[Scored], chosen: Sequence[Scored], max_chars: int, hits: Sequence
) -> list[Scored]:
    """The next best units of the same document while the unit model is unsure: when evidence is
    close, the reader gets both quotes rather than a guess between them.

    ``score`` is each unit's probability relative to the best one's, so the units' shares of the
    summed scores are the model's probabilities that they hold the answer (calibrated on the dev
    split: a best unit of probability .5 holds it about half the time). Runners-up join until
    the quoted units hold ``CONFIDENT`` of that probability — a best unit of .95 stands alone,
    one of .5 is joined by the next ones — at most ``RUNNERS`` of them.
    """
    have = {(c.hit_index, c.start) for c in chosen}
    used = sum(len(c.text) for c in chosen)
    total = sum(s.score for s in scored) or 1.0
    mass = best.score / total
    out: list[Scored] = []
    for s in scored[1:8]:
        if len(out) >= RUNNERS or mass >= CONFIDENT:
            break
        if (s.hit_index, s.start) in have or used + len(s.text) > max_chars:
            continue
        if hits[s.hit_index].doc_id != hits[best.hit_index].doc_id:
            continue  # another document's near-equal sentence is a second answer, not context
        out.append(s)
        used += len(s.text)
        mass += s.score / total
    return out


def ask_unit(
    ask: str,
    kind: AnswerType,
    terms: Sequence[Term],
    best: Scored,
    scored: Sequence[Scored],
    chosen: Sequence[Scored],
    hits: Sequence,
) -> list[Scored]:
    """For one ask of a question of several, the best unit of the lead document that holds its
    figure next to one of its own words, when the chosen units do not.

    "…拟安排地方政府专项债券多少？赤字率多少？": the sentence with "专项债券3.65万亿元" is chosen
    for the first ask; the second adds "赤字率拟按3.2%左右安排" (a share next to 赤字率).
    """
    if not kind.checkable:
        return []
    anchors = [
        t.surface
        for t in sorted(terms, key=lambda t: -t.weight * len(t.surface))
        if len(t.surface) >= 2
    ][:3]
    if not anchors:
        return []

    def ok(text: str) -> bool:
        return any(a in text and holds_near(kind.name, text, a, ask) for a in anchors)

    if any(ok(c.text) for c in chosen):
        return []
    doc = hits[best.hit_index].doc_id
    for s in scored:
        if hits[s.hit_index].doc_id == doc and ok(s.text):
            return [s]
    return []
