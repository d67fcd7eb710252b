"""Evidence units: the sentences of a passage an answer may quote, with their offsets.

A unit is a sentence of the chunk text, or — for a sentence over ``LONG_SENTENCE``
characters — a run of its clauses of at most ``WINDOW`` characters, so that every unit
is short enough to be one quote and one vector. Units are cut the same way at ingest
(when their vectors are computed into the embedding cache) and at answer time (when the
vectors are looked up), so ``embedding_text`` must stay a pure function of the chunk.

A line that only repeats a heading of the breadcrumb ("（六）招商六组。") is not a unit.
Nothing here scores or chooses: that is ``rag.answering.evidence``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import sentences

LONG_SENTENCE = 160
WINDOW = 120
_CLAUSE = re.compile(r"[^，,：:、]+[，,：:、]?")


@dataclass(frozen=True)
class Unit:
    """One quotable span of a passage: ``text == passage_text[start:start + len(text)]``."""

    hit_index: int  # which retrieved passage (0 = the best)
    start: int
    text: str
    heading: str  # the section's own heading, the context the unit is read in

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def squash(text: str) -> str:
    """Whitespace and a trailing full stop removed: "（六）招商六组。 " → "（六）招商六组"."""
    return re.sub(r"\s+", "", text).rstrip("。.：:")


def section_label(path: str) -> str:
    """The last breadcrumb of a section path, without its full stop, if short enough to name it.

    "一、成立7个招商小组 › （六）招商六组。" → "（六）招商六组"
    """
    last = path.split(" › ")[-1].strip() if path else ""
    return last.rstrip("。.") if 0 < len(last) <= 30 else ""


# a label line's head: "牵头领导：", "工作职责："
LABEL = re.compile(r"^[\u4e00-\u9fff]{2,8}[：:]")


def is_fragment(sentence: str) -> bool:
    """A line that says nothing by itself: a signature, a date line, a bare sub-heading.

    "焦作市人民政府办公室" → True; "2020年3月6日" → True; "牵头领导：孙起鹏。" → False
    """
    s = sentence.strip()
    return len(s) < 30 and not re.search(r"[，,。；;！？!?、]", s) and not LABEL.match(s)


def _windows(sentence: str) -> list[tuple[int, str]]:
    """A long sentence as consecutive clause runs of ≤ ``WINDOW`` chars (offsets into it)."""
    out: list[tuple[int, str]] = []
    start, text = 0, ""
    pos = 0
    for m in _CLAUSE.finditer(sentence):
        clause = m.group(0)
        if text and len(text) + len(clause) > WINDOW:
            out.append((start, text))
            start, text = m.start(), ""
        text += clause
        pos = m.end()
    if text:
        out.append((start, text))
    if pos < len(sentence):  # characters the clause pattern did not take (none in practice)
        out.append((pos, sentence[pos:]))
    return [(o, t) for o, t in out if t.strip()]


def passage_units(
    text: str, section_path: str = "", title: str = "", hit_index: int = 0
) -> list[Unit]:
    """The units of one passage, in reading order.

    passage_units("牵头领导：孙起鹏。\\n牵头单位：市工业和信息化局。", "（六）招商六组。")
    → [Unit(0, 0, "牵头领导：孙起鹏。", "（六）招商六组"), Unit(0, 10, "牵头单位：市工业和信息化局。", …)]
    """
    headings = {squash(h) for h in [*section_path.split(" › "), title] if h.strip()}
    label = section_label(section_path)
    out: list[Unit] = []
    pos = 0
    for sent in sentences(text):
        i = text.find(sent, pos)
        if i < 0:
            continue
        pos = i + len(sent)
        if squash(sent) in headings or is_fragment(sent):
            continue
        if len(sent) <= LONG_SENTENCE:
            out.append(Unit(hit_index, i, sent, label))
        else:
            out.extend(Unit(hit_index, i + off, part, label) for off, part in _windows(sent))
    return out


def embedding_text(unit: Unit) -> str:
    """What is embedded for a unit: its heading as context, then the unit.

    Unit(…, "牵头领导：孙起鹏。", heading="（六）招商六组") → "（六）招商六组 牵头领导：孙起鹏。"
    """
    return (
        f"{unit.heading} {unit.text}"
        if unit.heading and squash(unit.heading) not in squash(unit.text)
        else unit.text
    )


# the addressees of a notice ("各县（市）区人民政府，市人民政府各部门，各有关单位：") and its
# copy line ("抄送：市委各部门，…"): who received it, which answers no other question
_ADDRESSEES = re.compile(
    r"^(?:(?:抄送|分送|主送|发)[：:].*|(?:[^。；！？]{0,30}(?:人民政府|管委会|各部门|各有关单位|各单位|各处室|各委办局|"
    r"各直属机构|主管部门)[，、]?){2,}[^。；！？]{0,20}[：:]\s*)$"
)
# a question about who a document went to
RECIPIENTS = re.compile(r"发给|下发|印发给|发到|抄送|抄给|主送|送达|哪些单位参考|发至|下发给")


def is_addressee_line(text: str) -> bool:
    """Whether a unit is a notice's addressee or copy line.

    is_addressee_line("各县（市）区人民政府，市城乡一体化示范区管委会，市人民政府各部门，各有关单位：") → True
    is_addressee_line("市商务局要发挥牵头抓总作用。") → False
    """
    return bool(_ADDRESSEES.match(text.strip()))
