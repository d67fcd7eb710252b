"""What the words mean: glossary entries read from a document's chunks.

Candidates are the genre's jargon, found by form, never from a list of words:

- quoted terms “…” (2–16 characters, no sentence punctuation): “7+X”, “五改”, “四个一”, “飞地招商”;
- named methods in running text, compounds ending in 招商/引资 that stand in an enumeration
  or after 开展/推行/实施… ("全力开展精准招商、驻地招商、以商招商、委托招商" → 以商招商, 驻地招商 …).

Each candidate gets the strongest explanation its document gives, in this order:

- 定义: "X是指…", "X即…", "X，就是…";
- 简称: "…（以下简称“X”）";
- 组成: a numbered shorthand whose parts each name a top-level heading of the document
  (“7+X” → "一、成立7个招商小组", "二、实施“X”主体联动招商");
- 列举: "A、B、C的“X”", or "“X”是：" / "存在“X”：" followed by the items (一要…, 二是…);
- 使用: only used; the first sentence using it is kept and the answer says it is not defined.

It does not guess meanings, merge a term across documents, or read definitions in another
document than the one using the term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rag.answer import sentences
from rag.onboarding.records import GlossaryEntry, Passage

SEP = " › "
_QUOTED = re.compile(r"“([^“”《》，。；！？\n]{2,16})”")
_METHOD = re.compile(r"([\u4e00-\u9fff]{2}(?:招商|引资))")
_METHOD_CONTEXT = re.compile(r"(?:开展|推行|实施|探索|创新|采取|坚持|通过|推进|积极)$")
_NOT_METHOD = (
    "开展",
    "进行",
    "加强",
    "推进",
    "组织",
    "实质",
    "外出",
    "有偿",
    "参与",
    "全市",
    "全力",
    "积极",
    "做好",
    "改进",
    "强化",
    "深化",
    "重点",
    "扩大",
    "主要",
    "产业",
    "各类",
    "实现",
    "促进",
)
_AFTER_METHOD = "、，,。；;：:”）)等"
_SHORTHAND = re.compile(
    r"^[\dA-Za-zＸ一二三四五六七八九十]+(?:[+＋][\dA-Za-zＸ一二三四五六七八九十]+)+$"
)
_ITEM_HEAD = re.compile(r"^[一二三四五六七八九十]+(?:是|要|为|、)")
_HEADING = re.compile(
    r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d+[.．])[^，。；]{0,20}[。.]?$"
)
_RANK = {"定义": 0, "简称": 1, "组成": 2, "列举": 3, "使用": 4}


def candidates(text: str) -> list[str]:
    """Jargon terms of a text, in order of first appearance.

    "通过以企引企、以商招商等多种形式，形成…的“乘法效应”" → ["以商招商", "乘法效应"]
    """
    found: list[tuple[int, str]] = []
    for m in _QUOTED.finditer(text):
        found.append((m.start(1), m.group(1).strip()))
    starts = _word_starts(text)
    for m in _METHOD.finditer(text):
        term = m.group(1)
        before, after = text[max(0, m.start(1) - 4) : m.start(1)], text[m.end(1) : m.end(1) + 1]
        if (
            term[:2] in _NOT_METHOD
            or m.start(1) not in starts
            or (after and after not in _AFTER_METHOD)
        ):
            continue  # "掀起大招商" (not a word start), "各项招商活动" (招商 is not the word's end)
        enumerated = before.endswith("、") or after == "、"
        if enumerated or _METHOD_CONTEXT.search(before):
            found.append((m.start(1), term))
    out: list[str] = []
    for _, term in sorted(found):
        if term not in out:
            out.append(term)
    return out


def _word_starts(text: str) -> set[int]:
    """Offsets where jieba (rjieba, as BM25 uses) starts a word: "掀起大招商" → {0, 2, 3}."""
    import rjieba

    starts, at = set(), 0
    for word in rjieba.cut(text):
        starts.add(at)
        at += len(word)
    return starts


def explain(term: str, sentence: str, following: Sequence[str]) -> tuple[str, int]:
    """How ``sentence`` explains ``term`` and how many of the ``following`` sentences belong
    to the explanation (the items of a 列举).

    ("五改", "这“五改”是：", ["一要改坐等上门为主动引资。", "要扩大…"]) → ("列举", 1);
    ("招商大使", "选聘一批热心人士作为“招商大使”", []) → ("使用", 0)
    """
    t = re.escape(term)
    q = rf"“?{t}”?"
    if re.search(q + r"(?:，|,)?(?:是指|指的是|即|就是)", sentence) or re.search(
        r"所谓" + q, sentence
    ):
        return "定义", 0
    if re.search(r"(?:以下|下文)?简称" + q, sentence):
        return "简称", 0
    colon = re.search(q + r"(?:是|为|包括|主要有|有)?[：:]", sentence)
    if colon:
        items = 1 if _ITEM_HEAD.match(sentence[colon.end() :].strip()) else 0
        for s in following:
            if _ITEM_HEAD.match(s):
                items += 1
            elif items == 0:
                break
        if items:
            return "列举", len(following)
    if re.search(r"(?:[^，。；、]{2,20}、){2,}[^，。；、]{2,20}的“" + t + "”", sentence):
        return "列举", 0
    return "使用", 0


def _item_quotes(following: Sequence[str]) -> list[str]:
    """The item-opening sentences of an enumeration ("一要改…。", "二要改…。")."""
    return [s for s in following if _ITEM_HEAD.match(s)][:12]


def _parts(term: str, chunks: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Passage]:
    """For a numbered shorthand, one passage per part: the first sentence under the top-level
    heading that names the part ("7" → "一、成立7个招商小组"), or [] if a part has none."""
    if not _SHORTHAND.match(term):
        return []
    out: list[Passage] = []
    for part in re.split(r"[+＋]", term):
        boundary = (
            rf"(?<![\dA-Za-z]){re.escape(part)}(?:个|条|项|大|类|支|家|位|种)|“{re.escape(part)}”"
        )
        hit = None
        for body, meta in chunks:
            top = str(meta.get("section_path", "")).split(SEP)[0]
            if top and re.search(boundary, top):
                first = [
                    s
                    for s in sentences(body)
                    if s.strip() and s.strip().rstrip("。") != top.rstrip("。")
                ]
                quote = next((s for s in first if not _HEADING.match(s)), first[0] if first else "")
                if quote:
                    hit = Passage.of(meta, quote)
                break
        if hit is None:
            return []
        out.append(hit)
    return out


def extract(chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> list[GlossaryEntry]:
    """Glossary entries of one document's chunks (body, metadata), the best explanation of
    each term; terms only used, never explained, are kept when they look like shorthand
    (three characters or more, or with a digit)."""
    rows = list(chunks)
    best: dict[str, GlossaryEntry] = {}
    for body, meta in rows:
        title = re.sub(r"\s+", "", str(meta.get("title", "")))
        sents = [
            s
            for line in body.splitlines()
            for s in sentences(line)
            if re.sub(r"\s+", "", s) != title
        ]
        for i, sentence in enumerate(sents):
            for term in candidates(sentence):
                how, n = explain(term, sentence, sents[i + 1 : i + 16])
                parts: tuple[Passage, ...] = ()
                if how == "使用":
                    found = _parts(term, rows) or [
                        Passage.of(meta, s) for s in _counted(term, sents[i : i + 3])
                    ]
                    if found:
                        how, parts = "组成", tuple(found)
                elif how == "列举" and n:
                    parts = tuple(
                        Passage.of(meta, q) for q in _item_quotes(sents[i + 1 : i + 1 + n])
                    )
                definition = _definition(term, how, sentence, parts)
                entry = GlossaryEntry(
                    term=term,
                    how=how,
                    definition=definition,
                    passage=Passage.of(meta, sentence),
                    parts=parts,
                )
                old = best.get(term)
                if old is None or _RANK[how] < _RANK[old.how]:
                    best[term] = entry
    return [
        e
        for e in best.values()
        if e.defined or len(e.term) >= 3 or re.search(r"\d|^[一二三四五六七八九十两]", e.term)
    ]


def _counted(term: str, window: Sequence[str]) -> list[str]:
    """For a numbered shorthand, the sentence that counts out each of its parts in order.

    ("3+13+N", ["…围绕“3+13+N”产业链群…", "努力打造3个千亿级产业集群，培育13个重点产业链，发展N条特色产业链。"])
    → ["努力打造3个千亿级产业集群，培育13个重点产业链，发展N条特色产业链。"]
    """
    if not _SHORTHAND.match(term):
        return []
    parts = re.split(r"[+＋]", term)
    pattern = ".*?".join(
        rf"(?<![\dA-Za-z]){re.escape(p)}(?:个|条|项|大|类|支|家|位|种)" for p in parts
    )
    for s in window:
        rest = s.replace(f"“{term}”", "")
        if re.search(pattern, rest):
            return [s]
    return []


def _definition(term: str, how: str, sentence: str, parts: Sequence[Passage]) -> str:
    """The text shown for an entry: the sentence, and for 组成/列举 the parts it names."""
    names = re.split(r"[+＋]", term)
    if how == "组成" and parts and len(parts) != len(names):  # one sentence counts the parts out
        return sentence + ("" if parts[0].quote == sentence else parts[0].quote)
    if how == "组成":
        pieces = [
            f"{p}：{q.section_path.split(SEP)[0]}"
            for p, q in zip(re.split(r"[+＋]", term), parts, strict=False)
        ]
        return (
            f"“{term}”由"
            + "、".join(f"“{p}”" for p in re.split(r"[+＋]", term))
            + "组成——"
            + "；".join(pieces)
            + "。"
        )
    if how == "列举" and parts:
        return sentence + "".join(q.quote for q in parts)
    return sentence


def usage(term: str, chunks: Iterable[tuple[str, Mapping[str, Any]]]) -> GlossaryEntry | None:
    """A 使用 entry for a term found verbatim in the chunks (the first sentence holding it), or None.

    ("顶格招商", [("…实现顶格招商再提升、再突破。", meta)]) → 顶格招商, 使用, "…实现顶格招商再提升、再突破。"
    """
    for body, meta in chunks:
        for line in body.splitlines():
            for s in sentences(line):
                if term in s:
                    return GlossaryEntry(
                        term=term, how="使用", definition=s, passage=Passage.of(meta, s)
                    )
    return None


def looks_like_jargon(term: str) -> bool:
    """A named method or a numbered shorthand: "顶格招商", "7+X" (not "梁柱型项目")."""
    return bool(re.fullmatch(r"[\u4e00-\u9fff]{2,4}(?:招商|引资)", term) or _SHORTHAND.match(term))


def find(entries: Sequence[GlossaryEntry], query: str) -> list[GlossaryEntry]:
    """Entries whose term holds ``query`` (or is held by it), defined ones first.

    find(entries, "以商招商") → [以商招商 in 002, 以商招商 in 003#1]; find(entries, "") → all
    """
    q = query.strip().strip("“”\"'")
    hits = [e for e in entries if not q or q in e.term or (len(e.term) >= 2 and e.term in q)]
    return sorted(hits, key=lambda e: (e.term != q, _RANK[e.how], e.term))
