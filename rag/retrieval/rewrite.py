"""Rule-based rewrite of a follow-up question into a standalone one (the offline default).

Staff chat: after "焦作招商六组的牵头领导是谁？" they ask "那招商七组呢？". Retrieval needs
"焦作招商七组的牵头领导是谁？". The rules find the new entity in the follow-up, find the
slot of the same type in the previous (already standalone) question, and substitute it:

    招商N组, 第N改/条/项, years, “quoted terms”, places (省/市/县/区 names and the
    regional blocs), industries (…产业/…业) and mechanisms (…机制)

A follow-up with its own predicate and a pronoun ("它主要负责哪些领域？") gets the previous
question's topic in place of the pronoun. A question that is already standalone is
returned unchanged. When an LLM is configured it rewrites instead (``rag.llm``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.lexicon.industries import KNOWN_INDUSTRY
from rag.lexicon.places import PLACE, find_places, place_level

_NUM = r"[一二三四五六七八九十百零〇两\d]+"
_SLOTS: list[tuple[str, re.Pattern[str]]] = [
    ("group", re.compile(rf"(?:招商)?{_NUM}组")),
    ("ordinal", re.compile(rf"第{_NUM}[改条项点章节款]|最后一?[改条项点]")),
    ("year", re.compile(r"(?:19|20)\d{2}年")),
    ("quote", re.compile(r"[“\"「][^”\"」]{1,20}[”\"」]")),
    ("mechanism", re.compile(r"[\u4e00-\u9fff]{2,6}?机制")),
    (
        "industry",
        re.compile(
            rf"(?:{KNOWN_INDUSTRY})(?:产业|行业)?"
            r"|[\u4e00-\u9fff]{2,8}?(?:产业|业)(?=方面|领域|$|[^\u4e00-\u9fff]|[重方在中里的上])"
        ),
    ),
    ("place", PLACE),  # plus segmenter words ending in 省/市/县/区, see find_places
]
_PRONOUN = re.compile(r"^(?:那么?|那)?(?:它们|它|其|该组|该市|该项目|该机制|这个|那个|这项|该)")
_LEAD = re.compile(r"^(?:那么|那|还有|另外|再问一下|请问)[，,]?")
_TAIL = re.compile(r"(?:方面|这方面|的情况|情况)?(?:呢|吗)?[？?。！!\s]*$")
_BOUNDARY_BEFORE = "的里中在与和及、，,“”：:（）() "
_QUESTION_WORDS = re.compile(
    r"哪些|哪个|哪位|哪里|哪儿|哪|什么|啥|多少|多久|多长|几|怎么|如何|是否|谁|吗|呢|[？?]"
)
# a thing named by pointing back at the conversation: "建这个机制想达到啥目的", "这份通知谁印发的"
_POINTS_BACK = re.compile(
    r"(?:这|那)(?:个|份|项|些|套|次|种|条)|该(?=[\u4e00-\u9fff]{0,3}(?:机制|通知|文件|项目|政策|办法|措施|组|园区|平台))|它"
)
# typed entities that start a conversation's new subject of their own ("招商七组的…", "2019年…")
# ("第二项" is not: it counts the items of what the conversation is about)
_OWN_SUBJECT = ("group", "year", "quote")


def _slot(text: str) -> tuple[str, str] | None:
    """The first typed entity in ``text`` (type, surface)."""
    for name, pat in _SLOTS:
        m = pat.search(text)
        if m:
            return name, _trim(name, m.group(0))
    places = find_places(text)
    return ("place", places[0]) if places else None


def _trim(name: str, surface: str) -> str:
    """Cut a greedy-from-the-left match back to its last boundary ("里的信息联络机制" → "信息联络机制")."""
    if name in ("mechanism", "industry"):
        cut = max(surface.rfind(c) for c in _BOUNDARY_BEFORE)
        surface = surface[cut + 1 :]
        place = PLACE.match(surface)
        if place and place.end() < len(surface) - 1:
            surface = surface[place.end() :]
    return surface


def _find_typed(text: str, name: str) -> list[str]:
    if name == "place":
        return find_places(text)
    pat = dict(_SLOTS)[name]
    return [_trim(name, m.group(0)) for m in pat.finditer(text)]


def is_followup(question: str) -> bool:
    """Short elliptical or pronoun-led questions lean on the conversation."""
    q = question.strip()
    if _PRONOUN.match(q):
        return True
    if re.search(r"呢[？?]?\s*$", q) and len(q) <= 16:
        return True
    if bool(_LEAD.match(q)) and len(q) <= 16:
        return True
    # a bare predicate with no subject of its own: "报给哪里？", "具体要多久？"
    bare = re.sub(r"[^\u4e00-\u9fff\w]", "", q)
    return len(bare) <= 8 and bool(_QUESTION_WORDS.search(q)) and _slot(q) is None


def rewrite_followup(question: str, history: Sequence[str]) -> str:
    """A standalone question from a follow-up and the earlier user turns (oldest first).

    rewrite_followup("那招商七组呢？", ["焦作招商六组的牵头领导是谁？"]) → "焦作招商七组的牵头领导是谁？"
    """
    q = question.strip()
    turns = [t.strip() for t in history if t and t.strip()]
    if not turns:
        return q
    prev = turns[-1]
    if len(turns) > 1:
        prev = rewrite_followup(prev, turns[:-1])
    if not is_followup(q):
        slot = _slot(q)
        if (
            _POINTS_BACK.search(q)
            or (find_places(prev) or _slot(prev) is not None)
            and not find_places(q)
            and (slot is None or slot[0] not in _OWN_SUBJECT)
        ):
            # a turn that names no place of its own, or points back ("这个机制"), goes on with
            # the conversation's subject (a place, a quoted name, a group…): "挑出来以后省里怎么
            # 扶持？" after "河北挑京津转化项目时看重哪些条件？", "服务要摆到什么位置？" after
            # "“五改”里第三改是把什么改成什么？"
            return f"{q.rstrip('？?。')}？（{prev.rstrip('？?。')}）"
        return q

    pronoun = _PRONOUN.match(q)
    if pronoun:
        topic = _topic(prev)
        rest = q[pronoun.end() :]
        if topic and not PLACE.fullmatch(topic):
            return topic + rest  # "它…" after "招商六组…": the group
        # after "汝州…那份意见叫什么？" the pronoun is what the question was about, not 汝州
        return f"{topic}{rest.rstrip('？?。')}？（{prev.rstrip('？?。')}）"

    body = _TAIL.sub("", _LEAD.sub("", q))
    predicate = ""
    for marker in (
        "是怎么",
        "怎么",
        "如何",
        "具体",
        "是什么",
        "有哪些",
        "是谁",
        "是多少",
        "多少",
        "指什么",
    ):
        i = body.find(marker)
        if i > 0:
            body, predicate = body[:i], body[i:]
            break
    new = _slot(body)
    if new is None and body and _QUESTION_WORDS.search(body + predicate):
        # its own question about the previous topic: asked first, the topic as context
        return f"{body}{predicate}？（{prev.rstrip('？?。')}）"
    if new is None:
        swapped = _swap_phrase(prev, body) if body else None
        if swapped:
            return swapped
        return f"{prev.rstrip('？?。')}（{body}）？" if body else prev
    name, surface = new
    olds = _find_typed(prev, name)
    if name == "place":
        # a city replaces a city, a bloc a bloc: "承德呢" after "河北石家庄…" swaps 石家庄
        olds = [o for o in olds if place_level(o) == place_level(surface)] or olds
    if not olds:
        if predicate:
            return f"{surface}{predicate}（{prev.rstrip('？?。')}）？"
        return _swap_phrase(prev, body) or f"{prev.rstrip('？?。')}（{surface}）？"
    old = olds[-1] if name in ("mechanism", "quote") else olds[0]
    if name == "group" and not surface.startswith("招商") and old.startswith("招商"):
        surface = "招商" + surface  # "那五组呢" after "招商四组…"
    rewritten = prev.replace(old, surface, 1)
    if predicate and not prev.rstrip("？?。").endswith(predicate):
        # the follow-up asks its own question about the new entity: keep the old context
        # words for retrieval but the follow-up's predicate for the meaning.
        context = _QUESTION_WORDS.sub("", rewritten.replace(surface, "")).strip("，,。 ")
        return f"{surface}{predicate}？（{context}）" if context else f"{surface}{predicate}？"
    return rewritten


_WHEN = re.compile(r"\d|[今去明前后上下本当]年|年度|月|季度|[一二三四]期")
_ASKED = re.compile(r"(?:是|为|有)?(?:多少|哪些|哪个|哪位|哪家|哪里|谁|什么|几)")


def _swap_phrase(prev: str, phrase: str) -> str | None:
    """The previous question asking the same of ``phrase``: the phrase it asked about swapped.

    That phrase is what stands between the last "的" and the question word ("…定的GDP增长目标
    是多少"), or, when the question word follows "的" ("焦作管文旅、电商这块招商的是哪个组"),
    what precedes that "的" after a leading place. None when neither is found.
    _swap_phrase("2013年报告定的GDP增长目标是多少？", "物价涨幅") → "2013年报告定的物价涨幅是多少？"
    _swap_phrase("焦作管文旅、电商这块招商的是哪个组？", "管农业的") → "焦作管农业的是哪个组？"
    """
    p = prev.rstrip("？?。")
    phrase = phrase.rstrip("的")
    m = _ASKED.search(p)
    if not m or not phrase or len(phrase) > 10 or _WHEN.search(phrase):
        return None  # "那去年呢？" qualifies the old question, it does not replace its subject
    head, tail = p[: m.start()], p[m.start() :]
    if head.endswith("的"):
        start = max(head.rfind("，"), head.rfind(","), head[:-1].rfind("的")) + 1
        place = PLACE.match(head, start)
        if place:
            start = place.end()
        if start >= len(head) - 1:
            return None
        return f"{head[:start]}{phrase}的{tail}？"
    cut = head.rfind("的")
    if cut < 0 or cut == len(head) - 1:
        return None
    return f"{head[: cut + 1]}{phrase}{tail}？"


def _topic(prev: str) -> str:
    """The subject of the previous question: up to and including its first typed entity."""
    for name, pat in _SLOTS:
        m = pat.search(prev)
        if m and name != "year":
            return prev[: m.end()]
    return ""
