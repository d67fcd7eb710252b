"""The offline answerer: the documents' own sentences, chosen, ordered, cited.

No model writes anything. The question's terms are weighted by their BM25 idf over the
whole index (a name such as 孙起鹏 or 六组 counts far more than 招商); every sentence of
the top passages is scored by the weight of the terms it holds, counting its section
breadcrumb as context (the body "牵头领导：孙起鹏。" sits under "（六）招商六组"). The best
sentences, in document order, become the answer, each followed by its citation marker.

List questions ("五大弊病有哪些") take the enumerated items of the best passage (一是…,
（一）…, 1.…) instead of its single best sentence. Long sentences are cut to the window
of clauses that carries the question's terms. Every quote is a verbatim slice of the
chunk text, which ``rag.answer.verify`` checks again before the answer leaves.

``evidence_strength`` is the refusal signal: how much of the question's weight the best
sentence and its context carry, and whether the question's places, groups and years are
present at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer import Citation, citation_for, sentences
from rag.bm25 import STOPWORDS
from rag.query import Synonyms, normalize_query, number_variants
from rag.rewrite import _place_level, _places

LIST_QUESTION = re.compile(r"哪些|哪几|哪[二三四五六七八九十两\d]+[个项类条张大种]|分别|包括|有几|几[个项类条大种]|指哪|是哪(?!一)")
_ORDINAL = re.compile(r"第([一二三四五六七八九十])[改条项点个是要]")
_LABEL_LINE = re.compile(r"^([\u4e00-\u9fff]{2,8})[：:][^。\n]{1,40}。?$")
# asks for a count or each of several parts: the answer may be a run of sibling sections
ENUMERATION_QUESTION = re.compile(r"哪几|几[个项类条大种部]|分别")
_ENUM = re.compile(
    r"^(?:[一二三四五六七八九十]+(?:是|要|抓|看|靠)|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[.、．]|[①-⑳]|"
    r"第[一二三四五六七八九十]+[，,、是])"
)
_CLAUSE = re.compile(r"[^，,：:、]+[，,：:、]?")
_NUMBER_Q = re.compile(r"多少|几|多大|多长|多久|比例|金额|规模|目标")
_HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿]+[个项年月天倍家亿万元%]")
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|\d+[.、．])")
_GROUP = re.compile(r"招商[一二三四五六七八九十\d]+组")
YEAR_REPORT = re.compile(r"((?:19|20)\d{2})年(?:的)?(?:国务院)?政府工作报告")
QUESTION_NOISE = frozenset(
    "哪些 哪个 哪位 哪家 什么 多少 怎么 怎样 如何 是否 分别 具体 主要 一下 请问 规定 要求 提出 提到 "
    "材料 文件 这份 该文 哪里 哪儿 为什么 情况 内容 有关 关于 相关 方面".split()
)
LONG_SENTENCE = 160
_ENDS = re.compile(r"[。！？；!?;][”」’）)]*$")
_CONTENT = re.compile(r"[\u4e00-\u9fff\dA-Za-z]")


@dataclass
class Scored:
    hit_index: int
    start: int  # offset of the quote in the chunk text
    text: str  # the quote, verbatim
    own: float  # share of the question's weight in the sentence itself
    cover: float  # share including the section breadcrumb and title
    score: float


@dataclass(frozen=True)
class Term:
    surface: str
    alternatives: tuple[str, ...]
    weight: float

    def found_in(self, text: str) -> float:
        """1 for the question's own word, 0.7 for a synonym or number form, else 0."""
        if self.surface in text:
            return 1.0
        return 0.7 if any(a in text for a in self.alternatives) else 0.0


def question_terms(question: str, idf: Callable[[str], float], synonyms: Synonyms | None = None) -> list[Term]:
    """The question's content words with their synonyms/number forms and idf weights.

    Synonym-list members are taken whole first ("出门招商", "一把手"), the rest is segmented
    by jieba; question words ("哪些", "多少") and stopwords are dropped.
    "县区一把手一年至少要花多少时间出门招商" → 县区, 一把手, 一年, 至少, 要花, 时间, 出门招商
    """
    import rjieba

    q = normalize_query(question)
    found = synonyms.find(q) if synonyms else []
    rest = q
    for term in found:
        rest = rest.replace(term, " ", 1)
    words = found + [w for w in rjieba.cut(rest) if w.strip()]
    terms: dict[str, Term] = {}
    for w in words:
        for noise in QUESTION_NOISE:  # "哪些项目" → "项目"
            if noise in w and noise != w:
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


def _weight(text: str, terms: Sequence[Term]) -> float:
    return sum(t.weight * t.found_in(text) for t in terms)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).rstrip("。.：:")


def _spans(text: str, section_path: str = "") -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence of a chunk; offsets index into ``text``.

    A line that only repeats a heading of the breadcrumb is not a sentence of the answer.
    """
    headings = {_squash(h) for h in section_path.split(" › ") if h.strip()}
    out: list[tuple[int, str]] = []
    pos = 0
    for sent in sentences(text):
        i = text.find(sent, pos)
        if i < 0:
            continue
        pos = i + len(sent)
        if _squash(sent) in headings:
            continue
        out.append((i, sent))
    return out


def _window(sentence: str, terms: Sequence[Term], limit: int, figure: re.Pattern[str] | None = None) -> tuple[int, str]:
    """The run of clauses (≤ ``limit`` chars) carrying most of the question's weight.

    With ``figure`` (what a "多少天/多少亿元" question asks for) a window holding such a figure
    is preferred: the answer "150天" must not be cut off.
    """
    bonus = max((t.weight for t in terms), default=1.0)
    clauses = [m.group(0) for m in _CLAUSE.finditer(sentence)]
    best = (0.0, 0, sentence[:limit])
    for i in range(len(clauses)):
        text = ""
        for j in range(i, len(clauses)):
            if len(text) + len(clauses[j]) > limit:
                break
            text += clauses[j]
            w = _weight(text, terms) + (bonus if figure is not None and figure.search(text) else 0.0)
            if w > best[0]:
                best = (w, sum(len(c) for c in clauses[:i]), text)
    return best[1], best[2]


def score_sentences(question: str, hits: Sequence, terms: Sequence[Term], passages: int = 4) -> list[Scored]:
    total = sum(t.weight for t in terms) or 1.0
    wants_number = bool(_NUMBER_Q.search(question))
    hard = hard_entities(question)
    figure = asked_figure(question)
    ordinal = _ORDINAL.search(question)
    item_n = re.compile(rf"^(?:{ordinal.group(1)}[是要]|[（(]{ordinal.group(1)}[）)]|{ordinal.group(1)}、)") if ordinal else None
    out: list[Scored] = []
    for hi, hit in enumerate(hits[:passages]):
        context = f"{hit.title} {hit.section_path}"
        pool = f"{context} {hit.region} {hit.text}"
        consistent = all(_core(e) in pool for e in hard)
        for start, sent in _spans(hit.text, f"{hit.section_path} › {hit.title}"):
            quote_start, quote = start, sent
            if len(sent) > LONG_SENTENCE:
                off, quote = _window(sent, terms, LONG_SENTENCE, figure)
                quote_start = start + off
            own = _weight(quote, terms) / total
            cover = _weight(quote + context, terms) / total
            score = 0.6 * own + 0.4 * cover + 0.08 / (hi + 1)
            if wants_number and _HAS_NUMBER.search(quote):
                score += 0.05
            if not consistent:  # the question names 招商四组 or 郑州; this passage is about another
                score *= 0.5
            # the sentence itself names what the question is about ("长三角", "“五改”"), and
            # more so when it names no other place ("在长三角地区要…" beats "环渤海、长三角、珠三角")
            if hard and any(_core(e) in quote for e in hard):
                levels = {_place_level(e) for e in hard}
                others = {_core(p) for p in _places(quote) if _place_level(p) in levels} - {_core(e) for e in hard}
                score += 0.1 if others else 0.25
            if item_n and item_n.match(quote):  # "第四改" is the item that starts "四要改"
                score += 0.5
            out.append(Scored(hi, quote_start, quote, own, cover, score))
    return sorted(out, key=lambda s: -s.score)


def _greedy(best: Scored, scored: Sequence[Scored], terms: Sequence[Term], max_chars: int,
            context: str = "") -> list[Scored]:
    """Best sentence first, then sentences that add question terms it lacks (same passage preferred).

    "由谁牵头、哪个单位牵头" after the 工作职责 sentence adds "牵头领导：薛志杰。" and
    "牵头单位：市科技局。" because they carry 牵头/单位, which the first does not.
    """
    total = sum(t.weight for t in terms) or 1.0
    chosen = [best]
    # what the best sentence or its breadcrumb ("（三）招商三组") already says is not news
    covered = {t.surface for t in terms if t.found_in(best.text + context) == 1.0}
    used = len(best.text)
    candidates = [s for s in scored[:40] if s is not best and s.own > 0]

    def gain(s: Scored) -> float:
        new = sum(t.weight * t.found_in(s.text) for t in terms if t.surface not in covered) / total
        return new + (0.05 if s.hit_index == best.hit_index else 0.0) + 0.1 * s.score

    while candidates:
        pick = max(candidates, key=gain)
        candidates.remove(pick)
        new_terms = {t.surface for t in terms if t.surface not in covered and t.found_in(pick.text) == 1.0}
        if not new_terms or sum(t.weight for t in terms if t.surface in new_terms) / total < 0.08:
            continue
        if (pick.hit_index != best.hit_index and pick.score < 0.5 * best.score) or used + len(pick.text) > max_chars:
            continue
        if any(pick.text in c.text or c.text in pick.text for c in chosen):
            continue
        chosen.append(pick)
        covered |= new_terms
        used += len(pick.text)
    return chosen


_ITEM_START = re.compile(r"(?:^|(?<=[。；;：:\n]))\s*(?=" + _ENUM.pattern[1:] + ")", re.M)


def _section_items(hits: Sequence, best: Scored, terms: Sequence[Term],
                   family: Callable[[Any], list]) -> tuple[list, list[Scored]]:
    """List items that are sibling sections: each one's heading line and first sentence.

    Used when the parent heading ("三、健全保障机制", "一、成立7个招商小组") carries the
    question's main term.
    """
    members = family(hits[best.hit_index])
    if len(members) < 2:
        return list(hits), []
    parent = " › ".join(members[0].section_path.split(" › ")[:-1])
    top = max(t.weight for t in terms)
    if not any(t.weight >= 0.5 * top and t.found_in(parent) == 1.0 for t in terms):
        return list(hits), []
    extended = list(hits)
    # the heading's own chunk ("由7位市政府副市长牵头负责，…成立7个招商小组。") leads the list
    lead = hits[best.hit_index]
    chosen: list[Scored] = [best] if all(m.chunk_id != lead.chunk_id for m in members) else []
    for member in members:
        spans = _spans(member.text, member.section_path)
        if not spans:
            continue
        off, sent = spans[0]
        extended.append(member)
        chosen.append(Scored(len(extended) - 1, 0, member.text[: off + len(sent)], 0, 0, 0))
    return extended, chosen


_NOUN_AFTER = re.compile(r"哪(?:些|几|[一二三四五六七八九十两\d]+)[个项类条张大种家位]?[“\"]?([\u4e00-\u9fff]{2,6})")
_NOUN_BEFORE = re.compile(r"([\u4e00-\u9fff]{2,8})[”\"]?(?:有哪些|包括哪些|是哪些|指哪|包括哪几)")


def list_noun(question: str) -> str:
    """What a list question enumerates: "新材料产业链招引了哪些项目" → "项目", "“五大弊病”有哪些" → "五大弊病"."""
    m = _NOUN_AFTER.search(question)
    if m:
        return re.split(r"[的在和与及是]", m.group(1))[0]
    m = _NOUN_BEFORE.search(question)
    return re.split(r"[的在和与及]", m.group(1))[-1] if m else ""


def list_items(text: str, section_path: str = "") -> list[tuple[int, str]]:
    """Enumerated items of a passage as (offset, first sentence of the item).

    Items may start a line or follow "：" inside one ("这“五改”是：一要改…").
    """
    headings = {_squash(h) for h in section_path.split(" › ") if h.strip()}
    items: list[tuple[int, str]] = []
    for m in _ITEM_START.finditer(text):
        start = m.end()
        first = sentences(text[start:])
        if first and _squash(first[0]) not in headings and (not items or start >= items[-1][0] + len(items[-1][1])):
            items.append((start, first[0]))
    return items if len(items) >= 2 else []


@dataclass
class Extract:
    text: str
    citations: list[Citation]
    strength: float


def extract_answer(question: str, hits: Sequence, idf: Callable[[str], float], max_chars: int = 300,
                   synonyms: Synonyms | None = None, family: Callable[[Any], list] | None = None,
                   following: Callable[[Any], Any] | None = None) -> Extract:
    """Pick, order and cite the sentences that answer ``question`` from ``hits`` (best first).

    ``family(hit)`` returns the chunks of the sections under the hit's parent heading (or
    under the hit itself), in document order: a list question whose items are sections of
    their own ("保障机制包括哪几项" → （一）…（五）) is answered from their headings.
    ``following(hit)`` returns the next chunk of the same section, or None: a sentence the
    chunker cut at the size limit ("…再到开工建设，" | "仅用时150天…") is finished from it.
    """
    if not hits:
        return Extract("", [], 0.0)
    terms = question_terms(question, idf, synonyms)
    scored = score_sentences(question, hits, terms)
    if not scored:
        return Extract("", [], 0.0)
    best = scored[0]
    chosen: list[Scored] = []
    if LIST_QUESTION.search(question):
        for s in scored[:3]:
            hit = hits[s.hit_index]
            items = list_items(hit.text, hit.section_path)
            intro = hit.section_path + hit.text[: items[0][0]] if items else ""
            key = max(terms, key=lambda t: t.weight * t.found_in(intro), default=None)
            noun = list_noun(question)
            if (items and key is not None and key.found_in(intro) and key.weight >= 0.5 * max(t.weight for t in terms)
                    and (not noun or noun[-2:] in intro)):
                total = sum(t.weight for t in terms) or 1.0
                chosen = [Scored(s.hit_index, off, sent, _weight(sent, terms) / total, s.cover, s.score)
                          for off, sent in items]
                break
        if not chosen and family is not None and ENUMERATION_QUESTION.search(question):
            hits, chosen = _section_items(hits, best, terms, family)
    if not chosen:
        lead = hits[best.hit_index]
        chosen = _greedy(best, scored, terms, max_chars, f"{lead.title} {lead.section_path}")
        # a label line ("牵头领导：") or a short item head ("五是土地管理不严。") is explained
        # by the next sentence of the same paragraph
        line_end = hits[best.hit_index].text.find("\n", best.start)
        line_end = len(hits[best.hit_index].text) if line_end < 0 else line_end
        if best.text.endswith(("：", ":")) or (len(best.text) < 25 and best.start + len(best.text) < line_end):
            spans = _spans(hits[best.hit_index].text, hits[best.hit_index].section_path)
            nxt = next(((o, t) for o, t in spans if o > best.start), None)
            if nxt and all(c.start != nxt[0] or c.hit_index != best.hit_index for c in chosen):
                chosen.append(Scored(best.hit_index, nxt[0], nxt[1], 0, 0, 0))
        chosen += _context_lines(question, best, hits[best.hit_index], terms, chosen)
        chosen += _noun_sentences(question, best, hits[best.hit_index], chosen)
        lead = hits[best.hit_index]
        if following is not None and lead.text.rstrip().endswith(best.text) and not _ENDS.search(best.text):
            nxt = following(lead)
            if nxt is not None and sentences(nxt.text):
                hits = [*hits, nxt]
                first = sentences(nxt.text)[0]
                chosen.append(Scored(len(hits) - 1, nxt.text.find(first), first, 0, 0, 0))
    return _compose(chosen, hits, max_chars, best.cover)


def _noun_sentences(question: str, best: Scored, hit: Any, chosen: Sequence[Scored]) -> list[Scored]:
    """For a list question, the other sentences of the best passage naming what it lists.

    "哪三条“丝绸之路”" → the sentences with 空中/陆上/网上“丝绸之路”.
    """
    noun = list_noun(question) if LIST_QUESTION.search(question) else ""
    if len(noun) < 2 or noun not in best.text:
        return []
    have = {(c.hit_index, c.start) for c in chosen}
    return [Scored(best.hit_index, off, sent, 0, 0, 0) for off, sent in _spans(hit.text, hit.section_path)
            if noun in sent and (best.hit_index, off) not in have and off != best.start]


_WHO = re.compile(r"谁|哪位|哪个单位|哪个部门|哪个局|什么单位|哪家单位")


def _context_lines(question: str, best: Scored, hit: Any, terms: Sequence[Term],
                   chosen: Sequence[Scored]) -> list[Scored]:
    """Lines of the best passage a reader needs beside the best sentence.

    - label lines whose label carries a question term: "牵头领导：薛志杰。" and
      "牵头单位：市科技局。" for "由谁牵头、哪个单位牵头";
    - the head of the enumerated item the best sentence sits in: "一是新官不理旧账。" for a
      sentence from its explanation ("前任承诺的政策，后任不愿兑现。").
    """
    have = {(c.hit_index, c.start) for c in chosen}
    extra: list[Scored] = []
    who = bool(_WHO.search(question))
    pos = 0
    for line in hit.text.split("\n"):
        start = pos
        pos += len(line) + 1
        label = _LABEL_LINE.match(line.strip())
        if label and (any(t.surface in label.group(1) for t in terms if len(t.surface) >= 2)
                      or (who and re.search(r"领导|单位|负责人", label.group(1)))):
            off = start + line.index(line.strip())
            if (best.hit_index, off) not in have:
                extra.append(Scored(best.hit_index, off, line.strip(), 0, 0, 0))
        elif start <= best.start < pos and _ENUM.match(line.strip()):
            head = sentences(line)[0]
            if _squash(head) in {_squash(h) for h in hit.section_path.split(" › ")}:
                continue  # the section's own heading, already named in the answer
            off = start + line.index(head)
            if off != best.start and (best.hit_index, off) not in have:
                extra.append(Scored(best.hit_index, off, head, 0, 0, 0))
    return extra


def _compose(chosen: list[Scored], hits: Sequence, max_chars: int, strength: float) -> Extract:
    """Order by passage rank then position, merge adjacent quotes, name the documents."""
    chosen = sorted(chosen, key=lambda s: (s.hit_index, s.start))
    runs: list[tuple[int, int, str]] = []  # (hit, start, quote)
    for s in chosen:
        if runs and runs[-1][0] == s.hit_index:
            h, start, quote = runs[-1]
            text = hits[h].text
            if text[start + len(quote) : s.start].strip() == "":
                runs[-1] = (h, start, text[start : s.start + len(s.text)])
                continue
        runs.append((s.hit_index, s.start, s.text))
    budget = max_chars * (2 if len(runs) > 2 else 1)
    parts: list[str] = []
    citations: list[Citation] = []
    named: set[str] = set()
    last_label = ""
    used = 0
    for h, _, quote in runs:
        hit = hits[h]
        quote = quote.strip()
        if used and used + len(quote) > budget:
            break
        n = len(citations) + 1
        cit = citation_for(n, hit, quote)
        lead = ""
        if hit.doc_id not in named:
            lead = ("根据" if not named else "另据") + cit.label() + "，"
            named.add(hit.doc_id)
        heading = _section_label(hit.section_path)
        if heading and heading != last_label and _squash(heading) not in _squash(quote):
            lead += f"{heading}："
        last_label = heading
        parts.append(f"{lead}{_one_line(quote)}[{n}]")
        citations.append(cit)
        used += len(quote)
    return Extract("".join(parts), citations, strength)


def _section_label(path: str) -> str:
    """The last breadcrumb of a section path, without its trailing full stop."""
    last = path.split(" › ")[-1].strip() if path else ""
    return last.rstrip("。.") if 0 < len(last) <= 30 else ""


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", "", text)


def _core(entity: str) -> str:
    return re.sub(r"(?:省|市|县|区|自治区|地区)$", "", entity).strip("“”\"") or entity


def hard_entities(question: str) -> list[str]:
    """Names a passage must mention to be about the question: places, 招商N组, “quoted terms”."""
    quoted = [q for q in re.findall(r"“([^”]{2,12})”", question)]
    return _places(question) + _GROUP.findall(question) + quoted


_NUMERAL = r"[\d一二三四五六七八九十百千万两〇零Oo.．]+"
# (what the question asks for, what the evidence must then contain)
_ANSWER_TYPES: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    ("金额", re.compile(r"(?:多少|几)(?:万|亿|万亿)?元|金额|多少钱|多少资金"), re.compile(_NUMERAL + r"(?:万|亿|万亿)?(?:元|美元)")),
    ("比例", re.compile(r"多少比例|百分之几|比例(?:是|为)?多少|多少%|(?:增长|下降)多少"),
     re.compile(r"\d+(?:\.\d+)?%|百分之|" + _NUMERAL + r"成|比例(?:为|达|不低于|不超过)")),
    ("标准", re.compile(r"(?:补贴|奖励|补助|资助|奖补|扶持)[^，。？?]{0,6}(?:标准|多少|几)"),
     re.compile(_NUMERAL + r"(?:万|亿)?元|\d+(?:\.\d+)?%|百分之")),
    ("频次", re.compile(r"多久[^，。？?]{0,8}一次|多长时间[^，。？?]{0,8}一次|频次|频率"),
     re.compile(r"每(?:双?月|季度|年|周|半年|旬|天|日)|季度|半年|" + _NUMERAL + r"次")),
    ("时间", re.compile(r"多少(?:天|时间)|多久|多长时间|几(?:天|个月|年)"),
     re.compile(_NUMERAL + r"(?:天|个月|年|小时|周|个工作日)|\d+/\d+|分之")),
]
_COUNT = re.compile(r"(?<!哪)(?:多少|几)(个|家|项(?!目)|名|人|次|批|条|所|座|户|处)([\u4e00-\u9fff]{0,8})")


def asked_figure(question: str) -> re.Pattern[str] | None:
    """The pattern of the figure a question asks for ("多少天" → N天 …), or None."""
    for _, asks, needs in _ANSWER_TYPES:
        if asks.search(question):
            return needs
    m = _COUNT.search(question)
    return re.compile(_NUMERAL + r"[余多来]?(?:" + m.group(1) + "|大)") if m else None


def missing_answer_type(question: str, quotes: Sequence[str]) -> str:
    """What kind of figure the question asks for that the chosen quotes do not contain, or "".

    "雄安…入驻了多少家企业？" with quotes that give no "N家" → "家数"; a question for an
    amount needs an amount in yuan, one for a share needs a percentage.
    """
    text = "".join(quotes)
    for name, asks, needs in _ANSWER_TYPES:  # the first kind the question asks for decides
        if asks.search(question):
            return "" if needs.search(text) else name
    m = _COUNT.search(question)
    if m and not re.search(_NUMERAL + r"[余多来]?(?:" + m.group(1) + "|大)", text):
        return f"{m.group(1)}数"
    head = m.group(2)[-2:] if m and len(m.group(2)) >= 2 else ""
    if head and head not in text:  # "几个办事处" answered by "五个…分局" is not an answer
        return f"{m.group(1) if m else ''}数"
    return ""


def missing_entities(question: str, hits: Sequence) -> list[str]:
    """Places, 招商N组 and report years the question names but no retrieved passage mentions.

    Naming 洛阳 when the library only speaks of 焦作 and 郑州 is the clearest sign that the
    documents do not answer.
    """
    pool = " ".join(f"{h.title} {h.region} {h.section_path} {h.text}" for h in hits)
    titles = " ".join(h.title for h in hits)
    missing = []
    for place in _places(question):
        if _core(place) not in pool:
            missing.append(place)
    missing += [g for g in _GROUP.findall(question) if g not in pool]
    for year in YEAR_REPORT.findall(question):
        if f"{year}年" not in titles:
            missing.append(f"{year}年政府工作报告")
    return missing
