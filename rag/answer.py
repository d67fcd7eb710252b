"""Answers with checkable citations: the rules every answerer obeys (the records are in ``rag.records``).

An ``Answer`` is text with inline markers [1], [2]… and the ``Citation``s they point at.
Whatever produced the text (the extractive answerer, an LLM), ``verify`` runs last: a
citation whose quote is not a verbatim substring of its chunk's stored text is removed,
and so is every marker that does not point at a surviving citation. The user never sees
a marker that cannot be checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from rag.records import Answer, Citation, Hit

MARKER = re.compile(r"\[(\d{1,2})\]")  # a citation marker: "…4%奖励[1]。" → 1
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?[”」’）)]*")


def sentences(text: str) -> list[str]:
    """Split Chinese text into sentences, keeping their end punctuation and closing quotes.

    "一是甲；二是乙。“丙。”丁" → ["一是甲；", "二是乙。", "“丙。”", "丁"]
    """
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def markers(text: str) -> list[int]:
    """The citation numbers used in ``text``, in order of first use."""
    seen: list[int] = []
    for m in MARKER.finditer(text):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def verify(answer: Answer, chunk_texts: Mapping[str, str]) -> Answer:
    """Drop citations whose quote is not in their chunk, then markers without a citation.

    ``chunk_texts`` maps chunk id → stored chunk text (what Chroma holds). Surviving
    citations are renumbered 1…n in order of first use and the text rewritten to match.
    """
    valid = {
        c.n: c for c in answer.citations if c.quote and c.quote in chunk_texts.get(c.chunk_id, "")
    }
    order = [n for n in markers(answer.text) if n in valid]
    renumber = {old: new for new, old in enumerate(order, start=1)}

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    text = MARKER.sub(sub, answer.text)
    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)  # "[1][1]" → "[1]"
    citations = [replace(valid[old], n=new) for old, new in renumber.items()]
    dropped = len(answer.citations) - len(citations)
    notes = list(answer.notes)
    if dropped and answer.mode == "llm":
        notes.append(f"已移除 {dropped} 处无法在原文中核实的引用")
    return replace(answer, text=text, citations=citations, notes=notes)


def cite_text(quotes: Sequence[tuple[str, Citation]]) -> str:
    """Join (sentence, citation) pairs into answer text with markers after each sentence."""
    return "".join(f"{s}[{c.n}]" for s, c in quotes)


def citation_for(n: int, hit: Hit, quote: str) -> Citation:
    """A citation numbered ``n`` for a ``Hit`` and a quote from its text."""
    return Citation(
        n=n,
        chunk_id=hit.chunk_id,
        doc_id=hit.doc_id,
        title=hit.title,
        doc_number=hit.doc_number,
        kind=hit.kind,
        date=hit.date,
        section_path=hit.section_path,
        page=hit.page,
        quote=quote,
        source=hit.source,
    )
