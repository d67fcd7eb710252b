"""When a document was issued, read off the document itself: its dated signature or header.

A notice closes with its issuer and date ("焦作市人民政府办公室\\n2020年3月6日印发"), a bulletin
opens with them ("许昌市科技创新公共服务中心  二O二三年四月十五日"). These lines are no
evidence units (``rag.answering.units.is_fragment``: they say nothing by themselves), so a
question for the document's date — "那份通知是哪天印发的？" — is answered from them directly,
quoted and cited like any other answer.

    asks_issue_date("焦作“7+X”那份通知是哪天印发的？") → True
    asks_issue_date("项目是哪天开工的？") → False
    asks_issuer("郑州这份意见最后是由哪个机关印发的？") → True
    date_lines(["…\\n焦作市人民政府办公室\\n2020年3月6日印发"], "哪天印发的")
    → [(0, offset, "焦作市人民政府办公室"), (0, offset, "2020年3月6日印发")]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answering.types import own_question
from rag.answering.units import is_addressee_line, is_fragment

# the document as the thing asked about, and its issuing: "这份材料…出的", "通知…印发", "发文日期"
_DOCUMENT = r"通知|文件|意见|办法|方案|规定|细则|决定|公告|通告|材料|文章|报告|参阅|简报|稿子|这份|那份|该文|这篇|那篇|此文|本文"
_ISSUING = r"印发|发布|下发|出台|发的|出的|签发|成文|发出|刊发|出版|落款|发文"
_WHEN = r"哪天|哪一天|什么时候|何时|几月几[日号]|什么日子|日期|哪年哪月|什么时间"
_ASKS = re.compile(
    rf"(?:{_DOCUMENT})[^，。？?]{{0,12}}(?:{_WHEN})[^，。？?]{{0,6}}(?:{_ISSUING})|"
    rf"(?:{_DOCUMENT})[^，。？?]{{0,12}}(?:{_ISSUING})[^，。？?]{{0,6}}(?:{_WHEN})|"
    r"(?:发文|成文|印发|落款|签发)(?:的)?(?:日期|时间)"
)
_WHO = r"哪个机关|哪个单位|哪个部门|哪家单位|哪一级|什么机关|什么单位|谁"
_ASKS_ISSUER = re.compile(
    rf"(?:{_DOCUMENT})[^，。？?]{{0,12}}(?:{_WHO})[^，。？?]{{0,6}}(?:{_ISSUING})|"
    r"发文(?:机关|单位)|(?:印发|发文|落款)(?:的)?(?:是)?(?:哪个|什么)?(?:机关|单位)"
)
_DIGIT = r"[\d〇○OＯ零一二三四五六七八九]"
DATE = re.compile(
    rf"{_DIGIT}{{4}}年[\d一二三四五六七八九十]{{1,3}}月[\d一二三四五六七八九十]{{1,3}}日"
)
_ISSUER = re.compile(
    r"(?:政府|办公室|办公厅|委员会|中心|厅|局|委|部|院|会|处|社|报)(?:\s|$)"
)  # an organisation's name standing alone on its line
# only the opening lines and the closing of a document carry its own date
HEAD_LINES = 8


def asks_issue_date(question: str) -> bool:
    """Whether the question asks when the document itself was issued (not a date in it)."""
    own = own_question(question)
    return bool(_ASKS.search(own))


def asks_issuer(question: str) -> bool:
    """Whether the question asks who issued the document itself ("这份意见是哪个机关印发的？")."""
    own = own_question(question)
    return bool(_ASKS_ISSUER.search(own))


_ASKS_RECIPIENTS = re.compile(
    r"(?:发给|印发给|发到|发至|下发给|下发到|抄送|抄给|主送|送达|分送)[^，。？?]{0,8}(?:哪|谁|什么)|"
    r"哪些单位参考|(?:发|送)给谁|发文对象|主送(?:单位|机关)"
)


def asks_recipients(question: str) -> bool:
    """Whether the question asks who the document went to ("还抄给了哪些政法机关？"), not what
    was sent ("下发了哪些文件")."""
    own = own_question(question)
    return bool(_ASKS_RECIPIENTS.search(own))


def addressee_lines(chunks: Sequence[str]) -> list[tuple[int, int, str]]:
    """A document's addressee and distribution lines, as (chunk index, offset, line): the
    header's ("各县（市）区人民政府，…各有关单位：") and the closing's ("抄送：…", "发：…"), with
    the lines a closing list runs on to ("市人大常委会办公厅，市政协办公厅，市法院，市检察院。").
    """
    out: list[tuple[int, int, str]] = []
    last = len(chunks) - 1
    for i in dict.fromkeys((0, last)) if chunks else ():
        lines = _lines(chunks[i])
        if i == 0 and i != last:
            lines = lines[:HEAD_LINES]
        j = 0
        while j < len(lines):
            off, line = lines[j]
            j += 1
            if not is_addressee_line(line):
                continue
            out.append((i, off, line))
            while line[-1] not in "：:" and j < len(lines) and _runs_on(lines[j][1]):
                out.append((i, *lines[j]))
                j += 1
    return out


def _runs_on(line: str) -> bool:
    """A line that continues a list of recipients: names of bodies, each short, no date."""
    parts = [p for p in re.split(r"[，,、。；;]", line) if p]
    return len(parts) >= 2 and all(len(p) <= 14 for p in parts) and not DATE.search(line)


def names_issuer(lines: Sequence[tuple[int, int, str]]) -> bool:
    """Whether the dating lines name an issuer, not only a date."""
    return any(len(re.findall(r"[\u4e00-\u9fff]", DATE.sub("", s))) >= 4 for _, _, s in lines)


def _lines(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            out.append((pos + line.index(stripped), stripped))
        pos += len(line) + 1
    return out


def date_lines(chunks: Sequence[str], question: str = "") -> list[tuple[int, int, str]]:
    """The lines that date the document, as (chunk index, offset, line): its closing date (the
    issuer's line before it too), else the date in its opening lines. Of several closing dates
    ("2018年2月13日", "…2018年2月13日印发"), the one with the question's verb ("印发") is taken.
    """
    if not chunks:
        return []

    def dated(i: int, lines: list[tuple[int, str]]) -> list[tuple[int, int, str]]:
        return [(i, off, s) for off, s in lines if is_fragment(s) and DATE.search(s)]

    last = len(chunks) - 1
    closing_lines = _lines(chunks[last])
    closing = dated(last, closing_lines)
    if closing:
        verb = next((v for v in _ISSUING.split("|") if v in question and len(v) == 2), "")
        pick = next((c for c in closing if verb and verb in c[2]), closing[0])
        before = [(off, s) for off, s in closing_lines if off < pick[1]]
        if before and is_fragment(before[-1][1]) and _ISSUER.search(before[-1][1] + " "):
            return [(last, before[-1][0], before[-1][1]), pick]
        return [pick]
    opening = dated(0, _lines(chunks[0])[:HEAD_LINES])
    return opening[:1]
