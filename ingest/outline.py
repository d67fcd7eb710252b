"""Parse the outline of a Chinese official document into sections.

Recognised heading forms, from the top down: markdown ``#`` headings without a Chinese
marker, ``第X章``, ``第X节``, ``一、`` / ``第X条``, ``（一）``, ``1.``/``1、``, ``（1）``,
``一是``. A marker opens a section only at the start of a paragraph. A paragraph that
starts with a marker and goes on ("（一）各县（市）区。各县（市）区及其……") has the part
up to the first full stop as its heading.

It does not try to repair numbering (a missing （三）) or infer headings without markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.records import Paragraph, Section

_CN_NUM = "一二三四五六七八九十百零〇两"
_MARKERS: list[tuple[float, re.Pattern[str]]] = [
    (1.0, re.compile(rf"^第[{_CN_NUM}\d]+章")),
    (2.0, re.compile(rf"^第[{_CN_NUM}\d]+节")),
    (3.0, re.compile(rf"^[{_CN_NUM}]+、|^第[{_CN_NUM}\d]+条")),
    (4.0, re.compile(rf"^[（(][{_CN_NUM}]+[）)]")),
    (5.0, re.compile(r"^\d{1,2}(?:[.．、](?!\d)|\s(?=\D))")),
    (6.0, re.compile(r"^[（(]\d{1,2}[）)]")),
    (7.0, re.compile(rf"^[{_CN_NUM}]是")),
]
_MD = re.compile(r"^(#{1,6})\s*(.*)$")
_HEADING_END = re.compile(r"[。；：:？！]")


def heading_rank(text: str) -> float | None:
    """Rank of a heading paragraph (smaller = higher), or None for body text.

    "（六）招商六组。" → 4.0; "一、成立 7 个招商小组" → 3.0; "2018年2月13日" → None
    """
    m = _MD.match(text)
    if m:
        inner = m.group(2).strip()
        rank = heading_rank(inner) if inner else None
        return rank if rank is not None else len(m.group(1)) / 10
    for rank, pat in _MARKERS:
        if pat.match(text):
            return rank
    return None


def heading_text(text: str, limit: int = 40) -> str:
    """The heading part of a paragraph that starts with an outline marker.

    "（一）各县（市）区。各县（市）区及其产业集聚区……" → "（一）各县（市）区"
    "一、成立 7 个招商小组" → "一、成立 7 个招商小组"
    """
    text = _MD.sub(r"\2", text).strip()
    m = _HEADING_END.search(text)
    if m and m.start() <= limit:
        head = text[: m.start()]
    elif len(text) <= limit:
        head = text.rstrip("。；，")
    else:
        cut = re.search(r"[，,]", text)
        head = text[: cut.start()] if cut and cut.start() <= limit else text[:limit] + "…"
    return head.strip()


def parse_sections(paragraphs: Sequence[Paragraph], title: str = "") -> list[Section]:
    """Group paragraphs into sections with heading breadcrumbs.

    A markdown heading equal to the document title (or the file's header line before the
    first marker) is front matter, not a section.
    """
    stack: list[tuple[float, str]] = []
    sections: list[Section] = []
    buf: list[Paragraph] = []
    buf_path: tuple[str, ...] = ()

    def flush() -> None:
        if buf:
            only_heading = (
                len(buf) == 1
                and heading_rank(buf[0].text) is not None
                and (heading_text(buf[0].text) == _MD.sub(r"\2", buf[0].text).strip().rstrip("。"))
            )
            sections.append(Section(buf_path, tuple(buf), heading_only=only_heading))

    ranks = [heading_rank(p.text) for p in paragraphs]
    if not any(r is not None for r in ranks):
        paragraphs, ranks = _subtitles(paragraphs)
    first_marker = next((i for i, r in enumerate(ranks) if r is not None and r >= 1), None)
    for i, para in enumerate(paragraphs):
        rank = ranks[i]
        if (
            rank is not None
            and rank < 1
            and (
                (first_marker is not None and i < first_marker)
                or _norm(heading_text(para.text, 200)) == _norm(title)
            )
        ):
            rank = None  # front matter (header, title) written as markdown headings
        if rank is not None:
            flush()
            buf = []
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, heading_text(para.text)))
            buf_path = tuple(h for _, h in stack)
        if _MD.match(para.text):
            para = Paragraph(_MD.sub(r"\2", para.text).strip(), para.page, para.page_end)
        buf.append(para)
    flush()
    return sections


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


_PLAIN_SUBTITLE = re.compile(r"^[\u4e00-\u9fff“”\s]{2,16}$")


def _subtitles(paragraphs: Sequence[Paragraph]) -> tuple[list[Paragraph], list[float | None]]:
    """For articles without outline markers: short punctuation-free lines before a body
    paragraph are subtitles; two in a row make one ("驻地招商" + "主攻十大重点领域" →
    "驻地招商 主攻十大重点领域"). The first paragraph never is one."""
    paras: list[Paragraph] = []
    ranks: list[float | None] = []
    for i, p in enumerate(paragraphs):
        is_sub = (
            0 < i < len(paragraphs) - 1
            and bool(_PLAIN_SUBTITLE.match(p.text))
            and (
                len(paragraphs[i + 1].text) > 40
                or bool(_PLAIN_SUBTITLE.match(paragraphs[i + 1].text))
            )
        )
        if is_sub and ranks and ranks[-1] is not None:
            paras[-1] = Paragraph(f"{paras[-1].text} {p.text}", paras[-1].page, p.page_end)
            continue
        paras.append(p)
        ranks.append(3.0 if is_sub else None)
    return paras, ranks
