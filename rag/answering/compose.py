"""Answer text from chosen units: ordered, merged, each quote cited, the document named.

    根据《关于建立焦作市“7+X”招商引资工作机制的通知》（焦政办〔2020〕9号），（六）招商六组：牵头领导：孙起鹏。[1]

Quotes are verbatim slices of the chunk text (``rag.answer.verify`` checks them again).
A partial answer says what the documents do say and, plainly, what they do not:

    资料写明了：……[1]但未写明具体金额。
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import citation_for
from rag.answering.evidence import Scored
from rag.answering.units import section_label, squash
from rag.records import Citation

LIST_BUDGET = 3  # a list's or a mechanism's answer may be this many times ``max_chars``


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", "", text)


def reading_order(s: Scored, hits: Sequence) -> tuple[int, int, int]:
    """Passage rank, then passage, then position: a continuation chunk (same rank, appended after
    the hits) follows the passage it continues."""
    return (getattr(hits[s.hit_index], "rank", 0) or s.hit_index + 1, s.hit_index, s.start)


def compose(
    chosen: Sequence[Scored], hits: Sequence, max_chars: int, whole: bool = False
) -> tuple[str, list[Citation]]:
    """Order by passage rank then position, merge adjacent quotes, name each document once.

    Lists and mechanisms (more than two runs, or ``whole``: one enumeration, whose adjacent
    items merge into few runs) get ``LIST_BUDGET`` times the length budget; a quote that would
    pass the budget ends the answer (never cut in the middle).
    """
    ordered = sorted(chosen, key=lambda s: reading_order(s, hits))
    runs: list[tuple[int, int, str]] = []  # (hit, start, quote)
    for s in ordered:
        if runs and runs[-1][0] == s.hit_index:
            h, start, quote = runs[-1]
            text = hits[h].text
            if start <= s.start <= start + len(quote):  # overlapping or contained
                end = max(start + len(quote), s.start + len(s.text))
                runs[-1] = (h, start, text[start:end])
                continue
            if text[start + len(quote) : s.start].strip() == "":
                runs[-1] = (h, start, text[start : s.start + len(s.text)])
                continue
        runs.append((s.hit_index, s.start, s.text))
    budget = max_chars * (LIST_BUDGET if len(runs) > 2 or whole else 1)
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
        heading = section_label(hit.section_path)
        if heading and heading != last_label and squash(heading) not in squash(quote):
            lead += f"{heading}："
        last_label = heading
        parts.append(f"{lead}{_one_line(quote)}[{n}]")
        citations.append(cit)
        used += len(quote)
    return "".join(parts), citations


def partial(text: str, missing: str) -> str:
    """What the documents say, then what they do not: a partial answer's text.

    partial("根据《…》，全年外出招商要不少于1/4时间。[1]", "具体金额") → "…[1]但资料未写明具体金额。"
    """
    return f"{text}但资料未写明{missing}。"


def refusal_text(topic: str, closest: Sequence[dict[str, str]]) -> str:
    """ "现有资料中未找到关于……的规定或记载。最接近的资料：《…》（文号）；…。\""""
    text = f"现有资料中未找到关于{topic}的规定或记载。"
    if closest:
        text += (
            "最接近的资料："
            + "；".join(
                f"《{c['title']}》" + (f"（{c['doc_number']}）" if c["doc_number"] else "")
                for c in closest[:3]
            )
            + "。"
        )
    return text
