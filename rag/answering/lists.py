"""Whole lists and whole mechanisms: every item of the enumeration a question points at.

Policy texts enumerate in a few fixed ways — "一是…二是…", "（一）…（二）…", "1.…2.…",
"①…", "第一，…", "第一步：…" — either inside one paragraph ("这“五改”是：一要改…"), as lines of a
passage, or as sibling sections with their own headings ("三、健全保障机制 › （一）高层
调度机制 … （五）督查激励机制"). A list question gets all the items, each cited; when the
enumeration runs past the end of a chunk, the next chunk of the same section is read too.

A mechanism question ("7+X机制是怎么回事") gets the structure of the section (or document)
that defines it: its sub-headings, each with its first sentence; a name the question quotes
("“X”主体联动招商") picks the part whose heading holds it.

When the best evidence is one item of an enumeration ("（3）人员应迅速撤离…"), a list, mechanism
or procedure question gets the enumeration it sits in (``enclosing``): lead-in and every item.

    list_items("五大弊病：一是新官不理旧账。二是招商不重安商。") → [(6, "一是新官不理旧账。"), (15, "二是招商不重安商。")]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from rag.answer import sentences
from rag.answering.evidence import Scored, Term, main_weight, weight
from rag.answering.types import asks_procedure, small_number
from rag.answering.units import Unit, is_addressee_line, section_label, squash

ENUM = re.compile(
    r"^(?:[一二三四五六七八九十]+(?:是|要|抓|看|靠)|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[.、．]|[①-⑳]|"
    r"第[一二三四五六七八九十]+(?:[，,、是]|步))"
)
_ITEM_START = re.compile(r"(?:^|(?<=[。；;：:\n】]))\s*(?=" + ENUM.pattern[1:] + ")", re.M)
_NOUN_AFTER = re.compile(
    r"哪(?:些|(?:几|[一二三四五六七八九十两\d]+)[个项类条张大种家位件]?)[“\"]?([\u4e00-\u9fff]{1,6})"
)
_NOUN_BEFORE = re.compile(
    r"([\u4e00-\u9fff]{2,8})[”\"]?(?:有哪些|包括哪些|是哪些|指哪|包括哪几|都有什么|有哪几)"
)
ENUMERATION_QUESTION = re.compile(r"哪几|几[个项类条大种部]|分别|都有哪些|有哪些|包括")


# nouns that say nothing of what is listed: "老做法都有哪些", "有哪些东西"
_GENERIC_NOUN = re.compile(r"(?:做法|东西|内容|事情|事儿|方面|情况|地方|名堂)$")
_ADVERB = re.compile(r"(?:都|还|也|又|一共|总共|主要|具体|分别|大概)$")


def list_noun(question: str) -> str:
    """What a list question enumerates: "新材料产业链招引了哪些项目" → "项目", "“五大弊病”有哪些" → "五大弊病".

    A word that names nothing in particular is no noun: list_noun("要被改掉的老做法都有哪些") → "".
    """
    m = _NOUN_AFTER.search(question)
    if m:
        noun = re.split(r"[的在和与及是]", m.group(1))[0]
    else:
        m = _NOUN_BEFORE.search(question)
        noun = _ADVERB.sub("", re.split(r"[的在和与及]", m.group(1))[-1]) if m else ""
    if len(noun) < 2 or _GENERIC_NOUN.search(noun):
        return ""  # "哪几件事": 事 says nothing of what is listed
    return noun


def list_items(text: str, section_path: str = "") -> list[tuple[int, str]]:
    """Enumerated items of a passage as (offset, first sentence of the item), at least two.

    Items may start a line or follow "：" inside one ("这“五改”是：一要改…").
    """
    headings = {squash(h) for h in section_path.split(" › ") if h.strip()}
    items: list[tuple[int, str]] = []
    for m in _ITEM_START.finditer(text):
        start = m.end()
        first = sentences(text[start:])
        if (
            first
            and squash(first[0]) not in headings
            and (not items or start >= items[-1][0] + len(items[-1][1]))
        ):
            items.append((start, first[0]))
    return items if len(items) >= 2 else []


def continued_items(text: str) -> list[tuple[int, str]]:
    """Items at the start of a following chunk that go on an enumeration (even a single one)."""
    items: list[tuple[int, str]] = []
    for m in _ITEM_START.finditer(text):
        first = sentences(text[m.end() :])
        if first and (not items or m.end() >= items[-1][0] + len(items[-1][1])):
            items.append((m.end(), first[0]))
    return items


def _enumerations(
    hits: list, scored: Sequence[Scored], terms: Sequence[Term], top: float
) -> Iterator[tuple[Scored, Any, list[tuple[int, str]], str, bool]]:
    """The enumerations of the passages of the four best units, each once: (the unit, its
    passage, the items, the lead-in with breadcrumb and title, whether the lead-in carries one
    of the question's main terms)."""
    seen: set[int] = set()
    for s in scored[:4]:
        if s.hit_index in seen:
            continue
        seen.add(s.hit_index)
        hit = hits[s.hit_index]
        items = list_items(hit.text, hit.section_path)
        if not items:
            continue
        intro = hit.section_path + hit.title + hit.text[: items[0][0]]
        key = max(terms, key=lambda t: t.weight * t.found_in(intro))
        yield s, hit, items, intro, bool(key.found_in(intro) and key.weight >= 0.5 * top)


def _scored(hit_index: int, start: int, text: str, terms: Sequence[Term], total: float) -> Scored:
    return Scored(Unit(hit_index, start, text, ""), weight(text, terms) / total, 0.0, 0.0, 0.0)


def enumeration(
    question: str,
    hits: list,
    scored: Sequence[Scored],
    terms: Sequence[Term],
    following: Callable[[Any], Any] | None,
) -> list[Scored]:
    """The items of the enumeration among the best-scored passages that the question points at.

    The passage's lead-in (text before the first item, plus its breadcrumb) must carry one of
    the question's main terms and, when the question names what it lists ("哪几项措施"), that
    noun. Items that continue in the next chunk of the section are appended (``hits`` grows).
    """
    if not terms:
        return []
    total = sum(t.weight for t in terms) or 1.0
    top = main_weight(terms, " ".join(f"{h.title} {h.section_path} {h.text}" for h in hits))
    noun = list_noun(question)
    for s, hit, items, intro, topical in _enumerations(hits, scored, terms, top):
        # "平台化招商推了哪几种新模式": the list inside one item, not the items
        one = _item_asked(hit.text, items, intro, terms, top, heads_only=not topical)
        if one is not None and asks_procedure(question) and not quoted_names(question):
            # a question for a procedure ("…该怎么办") wants every step of this enumeration even
            # when its words name one item (``enclosing``), not another passage's list
            return []
        if one is not None:
            chosen = [
                _scored(s.hit_index, off, sent, terms, total)
                for off, sent in _item_sentences(hit.text, items, one)
            ]
            if len(chosen) <= 2:  # an item cut off at the chunk's end: it may go on in the next
                chosen += _item_goes_on(hits, hit, items, one, terms, total, following)
            return chosen
        if not topical or (noun and noun[-2:] not in intro and not _counted(question, intro)):
            continue
        chosen = [_scored(s.hit_index, off, sent, terms, total) for off, sent in items]
        best = scored[0]
        if best.hit_index == s.hit_index and best.start < items[0][0]:
            # the best evidence is the lead-in that introduces the items ("突破传统路径依赖，积极
            # 探索多元化、开放式招商新模式…" before "一是…二是…"): it opens the answer
            chosen.insert(0, best)
        tail = hit.text[items[-1][0] :]
        if (
            following is not None and len(sentences(tail)) <= 2
        ):  # the list may go on in the next chunk
            nxt = following(hit)
            more = continued_items(nxt.text) if nxt is not None else []
            if more and more[0][0] <= 2:  # the next chunk opens with the next item
                hits.append(nxt)
                chosen += [_scored(len(hits) - 1, off, sent, terms, total) for off, sent in more]
        return chosen
    return []


_COUNTED = re.compile(r"([二三四五六七八九十两]|\d{1,2})(?:个|项|类|条|张|种|大|件)")


def _counted(question: str, intro: str) -> bool:
    """Whether the lead-in counts its items as the question counts what it lists, when the
    question calls them by another name: "那五个毛病都有哪些" against "存在“五大弊病”：一是…"."""
    m = _COUNTED.search(question)
    if not m:
        return False
    n = small_number(m.group(1))
    return n is not None and any(small_number(c) == n for c in _COUNTED.findall(intro))


def numbered_item(
    hits: list, scored: Sequence[Scored], terms: Sequence[Term], n: int
) -> list[Scored]:
    """Item ``n`` of the enumeration among the best-scored passages whose lead-in carries the
    question's main term ("改进招商的五改，排第二的一条讲的是啥" → "二要改…" and the sentences of
    its item), else []. The item must be written with its number ("二要", "二是", "（二）", "2.")."""
    if not terms or n < 1:
        return []
    total = sum(t.weight for t in terms) or 1.0
    top = main_weight(terms, " ".join(f"{h.title} {h.section_path} {h.text}" for h in hits))
    for s, hit, items, _, topical in _enumerations(hits, scored, terms, top):
        marker = (
            re.match(r"[（(]?([一二三四五六七八九十]+|\d+)", items[n - 1][1])
            if len(items) >= n
            else None
        )
        if topical and marker and small_number(marker.group(1)) == n:
            return [
                _scored(s.hit_index, off, sent, terms, total)
                for off, sent in _item_sentences(hit.text, items, n - 1)
            ]
    return []


def _item_asked(
    text: str,
    items: Sequence[tuple[int, str]],
    intro: str,
    terms: Sequence[Term],
    top: float,
    heads_only: bool = False,
) -> int | None:
    """The one item the question is about, else None: a main question term absent from the
    lead-in that stands in one item's head only ("平台化招商推了哪几种新模式" against "一是精准化
    招商。…二是平台化招商。…三是…": item 2), or else in one item's text only ("指导解放区确立了
    哪些方向": the item whose example names 解放区; only when the lead-in is on the question's
    topic)."""
    bounds = [off for off, _ in items] + [len(text)]
    spans = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    strong = [
        t for t in terms if t.weight >= 0.5 * top and len(t.surface) >= 2 and not t.found_in(intro)
    ]
    for parts in ([head for _, head in items], *([] if heads_only else [spans])):
        holders = {
            i
            for t in strong
            for i, part in enumerate(parts)
            if t.found_in(part) == 1.0 and sum(t.found_in(p) == 1.0 for p in parts) == 1
        }
        if len(holders) == 1:
            return holders.pop()
    return None


def _item_goes_on(
    hits: list,
    hit: Any,
    items: Sequence[tuple[int, str]],
    i: int,
    terms: Sequence[Term],
    total: float,
    following: Callable[[Any], Any] | None,
    most: int = 6,
) -> list[Scored]:
    """The sentences of the last item of a chunk that go on in the next chunk of its section, up
    to the next item ("四是实施闭环服务。" ends a chunk; "…实现项目从对接、洽谈、签约、落地、投产
    全周期闭环服务机制…" opens the next). ``hits`` grows by a copy of that chunk ranked as
    ``hit``, so that the sentences are read after the item's head.
    """
    if following is None or i != len(items) - 1:
        return []
    nxt = following(hit)
    if nxt is None:
        return []
    more = continued_items(nxt.text)
    end = more[0][0] if more else len(nxt.text)
    # read in the item's place: after its head, whatever rank retrieval gave the next chunk
    hits.append(replace(nxt, rank=hit.rank))
    out = []
    for off, sent in _sentences_at(nxt.text, 0, end)[:most]:
        if is_addressee_line(sent):  # a notice's copy line ends its last item
            break
        out.append(_scored(len(hits) - 1, off, sent, terms, total))
    return out


def _item_sentences(
    text: str, items: Sequence[tuple[int, str]], i: int, most: int = 6
) -> list[tuple[int, str]]:
    """The sentences of item ``i`` (its head first), as (offset, sentence), at most ``most``."""
    end = items[i + 1][0] if i + 1 < len(items) else len(text)
    return _sentences_at(text, items[i][0], end)[:most]


def section_items(
    hits: list, best: Scored, terms: Sequence[Term], family: Callable[[Any], list]
) -> list[Scored]:
    """List items that are sibling sections: each one's heading line and first sentence.

    Used when the parent heading ("三、健全保障机制", "一、成立7个招商小组") carries the
    question's main term, or question words that weigh as much together ("“X”主体联动招商中，
    除了各县（市）区，还包括哪两类主体" against "二、实施“X”主体联动招商": 主体 + 联动 + 主体联动
    outweigh 县（市）区). ``hits`` grows by the member sections' chunks.
    """
    members = family(hits[best.hit_index])
    if len(members) < 2 or not terms:
        return []
    parent = " › ".join(members[0].section_path.split(" › ")[:-1])
    top = main_weight(
        terms, " ".join(f"{h.title} {h.section_path} {h.text}" for h in [*hits, *members])
    )
    held = sum(t.weight for t in terms if t.found_in(parent) == 1.0)
    if not parent or held < 0.5 * top:
        return []
    lead = hits[best.hit_index]
    chosen: list[Scored] = [best] if all(m.chunk_id != lead.chunk_id for m in members) else []
    return chosen + _heads(hits, members, terms)


def _heads(hits: list, parts: Sequence, terms: Sequence[Term]) -> list[Scored]:
    """Each part's heading line and first sentence as a quote; ``hits`` grows by the parts."""
    chosen: list[Scored] = []
    for part in parts:
        end = _first_sentence(part)
        if end is None:
            continue
        hits.append(part)
        chosen.append(_scored(len(hits) - 1, 0, part.text[:end], terms, 1.0))
    return chosen


def _first_sentence(hit: Any) -> int | None:
    """End offset of the heading line plus first sentence of a section's chunk."""
    headings = {squash(h) for h in hit.section_path.split(" › ") if h.strip()}
    pos = 0
    for sent in sentences(hit.text):
        i = hit.text.find(sent, pos)
        pos = i + len(sent)
        if squash(sent) not in headings:
            return pos
    return None


# a question about the document's own parts: "这篇文章从哪几个方面总结…"
STRUCTURE_QUESTION = re.compile(
    r"(?:文章|材料|文件|通知|意见|报告|这篇|全文|文中)[^？?]{0,12}(?:哪几|哪些|几)个?"
    r"(?:方面|部分|板块|层面|环节|阶段)"
    # … of the document itself, not "材料说队伍要增强哪几方面本事" (the aspects of something in it)
    r"(?:[？?。，,]|$|总结|介绍|阐述|论述|讲|说|展开|入手|来|写|谈|进行|做)"
)


def heading_items(
    question: str, hits: list, best: Scored, terms: Sequence[Term], outline: Callable[[Any], list]
) -> list[Scored]:
    """A list whose items are the document's own headings: "开展了哪几种方式的招商" when the
    article's parts are headed "精准招商 …", "驻地招商 …", "委托招商 …".

    At least two top-level headings, and half of them, must be headed by the noun the question
    lists, after a modifier of two to four characters.
    """
    m = _NOUN_AFTER.search(question)
    nouns = [n[-2:] for n in re.split(r"[的在和与及是]", m.group(1)) if len(n) >= 2] if m else []
    if not nouns:
        return []
    parts = outline(hits[best.hit_index])
    for noun in nouns:
        # the heading is headed by the noun: "驻地招商 主攻十大重点领域" lists a kind of 招商
        head = re.compile(r"^[\u4e00-\u9fff]{2,4}" + re.escape(noun))
        named = [p for p in parts if head.match(ENUM.sub("", p.section_path).strip())]
        if len(named) >= 2 and 2 * len(named) >= len(parts):
            return _heads(hits, named, terms)
    return []


def named_section(
    hits: Sequence, units: Sequence[Unit], terms: Sequence[Term], max_chars: int
) -> list[Scored]:
    """The section whose own heading names what the question asks about, read from its start.

    "督查激励机制是怎么运作的" → the units of "（五）督查激励机制" up to ``max_chars``. The
    heading must carry at least 40% of the weight of the question words the passages hold.
    """
    pool = " ".join(f"{h.title} {h.section_path} {h.text}" for h in hits)
    found = sum(t.weight for t in terms if t.found_in(pool)) or 1.0
    best_i, best_w = -1, 0.0
    for i, h in enumerate(hits):
        label = section_label(h.section_path)
        w = weight(label, terms) if label else 0.0
        if w > best_w:
            best_i, best_w = i, w
    if best_i < 0 or best_w < 0.4 * found:
        return []
    chosen: list[Scored] = []
    used = 0
    total = sum(t.weight for t in terms) or 1.0
    for u in units:
        if u.hit_index != best_i:
            continue
        if used and used + len(u.text) > max_chars:
            break
        chosen.append(Scored(u, weight(u.text, terms) / total, 0.0, 0.0, 0.0))
        used += len(u.text)
    return chosen


def mechanism(
    question: str,
    hits: list,
    best: Scored,
    terms: Sequence[Term],
    outline: Callable[[Any], list],
    require_title: bool = True,
    family: Callable[[Any], list] | None = None,
) -> list[Scored]:
    """A document that defines a mechanism, by its parts: each top-level heading and first sentence.

    ``outline(hit)`` gives the first chunk of each top-level part of the hit's document. The
    mechanism's name (a main question term, "7+X") must be in the document's title. A name the
    question quotes decides first (``named_part``): the part whose heading holds it is answered
    with its own sub-sections ("“X”主体联动招商" → "二、实施“X”主体联动招商"'s （一）…（三）), and a
    quoted name that neither the title nor a heading holds is defined in a sentence, not by the
    document's outline (nothing is returned).
    """
    parts = outline(hits[best.hit_index])
    if len(parts) < 2 or not terms:
        return []
    names = quoted_names(question)
    if names:
        part = named_part(parts, names)
        if part is not None:
            children = family(part) if family is not None else []
            return _heads(hits, children if len(children) >= 2 else [part], terms)
        if require_title and not any(
            f"“{n}”" in parts[0].title or n in parts[0].title for n in names
        ):
            return []
    top = main_weight(
        terms, " ".join(f"{h.title} {h.section_path} {h.text}" for h in [*hits, *parts])
    )
    if require_title and not any(
        t.weight >= 0.5 * top and t.found_in(parts[0].title) == 1.0 for t in terms
    ):
        return []
    return _heads(hits, parts, terms)


_QUOTED = re.compile(r"“([^”]{1,16})”")


def quoted_names(question: str) -> list[str]:
    """The names a question puts in quotation marks: "“7+X”里的“X”主体联动招商" → ["7+X", "X"]."""
    return _QUOTED.findall(question)


def named_part(parts: Sequence, names: Sequence[str]) -> Any | None:
    """The part whose own heading holds a quoted name, in its quotation marks, that the
    document's title does not hold ("二、实施“X”主体联动招商" for “X” under the title's
    “7+X”): the section that defines the named thing. None when no part or several do."""
    title = parts[0].title if parts else ""
    held = [
        p for p in parts if any(f"“{n}”" in p.section_path and f"“{n}”" not in title for n in names)
    ]
    return held[0] if len(held) == 1 else None


def noun_sentences(
    question: str, best: Scored, hit: Any, units: Sequence[Unit], chosen: Sequence[Scored]
) -> list[Scored]:
    """For a list question, the other units of the best passage naming what it lists.

    "哪三条“丝绸之路”" → the sentences with 空中/陆上/网上“丝绸之路”.
    """
    noun = list_noun(question)
    if len(noun) < 2 or noun not in best.text:
        return []
    have = {(c.hit_index, c.start) for c in chosen}
    return [
        Scored(u, 0, 0, 0, 0)
        for u in units
        if u.hit_index == best.hit_index
        and noun in u.text
        and (u.hit_index, u.start) not in have
        and u.start != best.start
    ]


def semicolon_run(best: Scored, units: Sequence[Unit], hits: Sequence) -> list[Scored]:
    """The clauses of a list written as one sentence of "；"-separated parts, when the best unit
    is one of them (at least three): the whole list, not the parts after the best one.

    "建立健全迎汛指挥组织机构；组建并培训迎汛抢险队伍；储备必要的迎汛抢险物资；…" → every part.
    """
    text = hits[best.hit_index].text
    line = [
        u
        for u in units
        if u.hit_index == best.hit_index
        and "\n" not in text[min(u.start, best.start) : max(u.start, best.start)]
    ]
    at = next((i for i, u in enumerate(line) if u.start == best.start), None)
    if at is None:
        return []

    def ends_part(u: Unit) -> bool:
        return u.text.rstrip().endswith(("；", ";"))

    first = at
    while first > 0 and ends_part(line[first - 1]):
        first -= 1
    last = at
    while last < len(line) - 1 and ends_part(line[last]):
        last += 1
    run = line[first : last + 1]
    if len(run) < 3 or not any(ends_part(u) for u in run):
        return []
    return [Scored(u, 0.0, 0.0, 0.0, 0.0) for u in run]


def inline_list(text: str) -> bool:
    """Whether a sentence lists things itself, three or more "、"-separated in one clause: a list
    question it answers needs no enumeration around it.

        inline_list("厦门海翼、奇瑞汽车、中科北龙、中科星桥等一批重点项目加快推进。") → True
    """
    return any(len(c.split("、")) >= 3 for c in re.split(r"[，,；;。：:]", text))


def _style(item: str) -> str:
    """An item's marker with its number blanked: "（3）人员应…" → "（N）", "二是…" → "N是",
    "第二步：…" → "第N步"; items of one enumeration share it."""
    m = ENUM.match(item)
    return re.sub(r"[一二三四五六七八九十\d]+|[①-⑳]", "N", m.group(0)) if m else ""


def _item_spans(text: str, items: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
    """(start, end) of each item: up to the next item, the last one up to its paragraph's end."""
    ends = [off for off, _ in items[1:]]
    last = text.find("\n", items[-1][0])
    ends.append(len(text) if last < 0 else last)
    return [(off, end) for (off, _), end in zip(items, ends, strict=True)]


def _sentences_at(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """The sentences of ``text[start:end]`` as (offset in ``text``, sentence)."""
    out: list[tuple[int, str]] = []
    pos = start
    for sent in sentences(text[start:end]):
        off = text.find(sent, pos)
        if off < 0:
            continue
        out.append((off, sent))
        pos = off + len(sent)
    return out


def _whole(item: list) -> list:
    return item


def _head_explained(item: list) -> list:
    """An item's first sentence, and the next when the first is only a short head
    ("第一步：资料准备。" is explained by what follows it)."""
    return item[:2] if len(item[0][2]) < 25 else item[:1]


def _head(item: list) -> list:
    return item[:1]


def enclosing(
    best: Scored,
    hits: list,
    terms: Sequence[Term],
    following: Callable[[Any], Any] | None,
    budget: int,
    noun: str = "",
    names: Sequence[str] = (),
) -> list[Scored]:
    """The whole enumeration the best unit is an item (or the lead-in) of: the sentence that
    leads into it, then every item, continued into the next chunk of the section when the list
    goes on there (``hits`` grows by that chunk).

    With ``noun`` (what a list question lists, ``list_noun``), the enumeration must be of that:
    the noun stands in its lead-in or breadcrumb ("应符合下列条件：" for "哪些条件"), or in two of
    its items' first sentences. A name the question quotes (``names``) that one item's first
    sentence holds says the question is about that item ("“管理加服务”这一改具体要怎么做" →
    "三要改“单纯管理”为“管理加服务”。" alone): nothing is returned.

    Items are quoted whole when the enumeration fits in ``budget`` characters; otherwise each
    item's first sentence (and the next after a short head: "第一步：资料准备。"), else the first
    sentence alone — the best unit's item whole while it fits — never past ``budget``.
    Only items marked like the best unit's count ("（1）…（5）" — not the "一、" above them).

        best = "（3）人员应迅速撤离到安全地区；" in
        "核事故发生后应做好防护：（1）不惊慌；（2）禁止进入危险区；（3）人员应迅速撤离到安全地区；"
        → ["核事故发生后应做好防护：", "（1）不惊慌；", "（2）禁止进入危险区；", "（3）人员应…"]
    """
    hit = hits[best.hit_index]
    text = hit.text
    items = list_items(text, hit.section_path)
    if not items:
        return []
    spans = _item_spans(text, items)
    inside = [i for i, (a, b) in enumerate(spans) if a <= best.start < b]
    if inside:
        anchor = inside[0]
    else:  # the lead-in itself: the sentence right before the first item
        after = best.start + len(best.text)
        first = next((i for i, (a, _) in enumerate(spans) if a >= after), None)
        if first is None or text[after : spans[first][0]].strip():
            return []
        anchor = first
    style = _style(items[anchor][1])
    lo, up = anchor, anchor  # the run of like-marked items around it is the enumeration
    while lo > 0 and _style(items[lo - 1][1]) == style:
        lo -= 1
    while up + 1 < len(items) and _style(items[up + 1][1]) == style:
        up += 1
    run = list(range(lo, up + 1))
    if len(run) < 2:
        return []
    if any(sum(n in items[i][1] for i in run) == 1 for n in names):
        return []
    headings = {squash(h) for h in hit.section_path.split(" › ") if h.strip()}
    lead = [
        (best.hit_index, off, s)
        for off, s in _sentences_at(text, 0, spans[run[0]][0])[-1:]
        if squash(s) not in headings
        and ("\n" not in text[off : spans[run[0]][0]] or s.endswith(("：", ":")))
    ]
    if noun and not (
        noun in hit.section_path + "".join(s for _, _, s in lead)
        or sum(noun in items[i][1] for i in run) >= 2
    ):
        return []
    total = sum(t.weight for t in terms) or 1.0
    parts: list[list[tuple[int, int, str]]] = [  # per item: its sentences (hit, offset, text)
        [(best.hit_index, off, sent) for off, sent in _sentences_at(text, *spans[i])] for i in run
    ]
    if following is not None and run[-1] == len(items) - 1 and len(parts[-1]) <= 2:
        chunk = following(hit)  # the list may go on in the next chunk
        more = continued_items(chunk.text) if chunk is not None else []
        more = [m for m in more if _style(m[1]) == style]
        if more and more[0][0] <= 2:
            hits.append(chunk)
            parts += [
                [(len(hits) - 1, off, s) for off, s in _sentences_at(chunk.text, *span)]
                for span in _item_spans(chunk.text, more)
            ]
    parts = [p for p in parts if p]
    mine = next((k for k, p in enumerate(parts) if any(o == best.start for _, o, _ in p)), -1)
    # the richest quoting that fits the budget; the best unit's own item whole while it can be
    for cut, keep in ((_whole, True), (_head_explained, True), (_head, True), (_head, False)):
        shorter = [p if k == mine and keep else cut(p) for k, p in enumerate(parts)]
        if sum(len(s) for p in [lead, *shorter] for _, _, s in p) <= budget:
            break
    parts = shorter
    chosen: list[Scored] = []
    used = 0
    for h, off, sent in [*lead, *(q for p in parts for q in p)]:
        if used + len(sent) > budget:
            if chosen:
                break
            continue
        chosen.append(_scored(h, off, sent, terms, total))
        used += len(sent)
    return chosen if len(chosen) >= 2 else []
