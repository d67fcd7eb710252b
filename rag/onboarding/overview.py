"""What each document says, in its own structure: kind, issuer, 文号, date and the outline
(headings with the first sentence under each, each tied to the chunk it opens).

``overview(meta, parts, chunks)`` takes the document's top-level parts as ``PolicyQA.outline``
gives them (the facility the answerer uses for "7+X机制是怎么回事") and adds the headings
below them from the chunks. It does not summarise: every line is the document's own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.records import KIND_LABELS
from rag.answer import sentences
from rag.onboarding.records import OutlineItem, Overview, Passage

SEP = " › "


def first_sentence(body: str, heading: str) -> str:
    """The first sentence of ``body`` that is not the heading itself (verbatim, for quoting).

    ("（二）招商二组。\\n牵头领导：牛炎平。", "（二）招商二组") → "牵头领导：牛炎平。";
    ("（三）信息联络机制。各招商小组牵头单位…；", "（三）信息联络机制") → "各招商小组牵头单位…；"
    """
    squash = re.sub(r"\s+", "", heading).rstrip("。.：:")
    for line in body.splitlines():
        for s in sentences(line):
            if re.sub(r"\s+", "", s).rstrip("。.：:") != squash and len(s) > 1:
                return s
    return ""


def outline_items(
    parts: Sequence[tuple[str, Mapping[str, Any]]], chunks: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[OutlineItem]:
    """Headings of a document in reading order, level 1 from ``parts`` (the first chunk of each
    top-level part), deeper levels from ``chunks``.

    chunks with paths "一、成立7个招商小组", "一、… › （一）招商一组" → [("一、成立7个招商小组", 1, "由7位…"),
    ("（一）招商一组", 2, "牵头领导：李民生。")]
    """
    tops = {str(m.get("section_path", "")).split(SEP)[0]: (body, m) for body, m in parts}
    items: list[OutlineItem] = []
    seen: set[str] = set()
    for body, meta in chunks:
        path = str(meta.get("section_path", ""))
        if not path:
            continue
        levels = path.split(SEP)
        for depth in range(1, len(levels) + 1):
            prefix = SEP.join(levels[:depth])
            if prefix in seen:
                continue
            seen.add(prefix)
            heading = levels[depth - 1].strip()
            src_body, src_meta = tops.get(prefix, (body, meta)) if depth == 1 else (body, meta)
            sentence = first_sentence(src_body, heading)
            items.append(
                OutlineItem(
                    heading=heading,
                    level=depth,
                    first_sentence=sentence,
                    passage=Passage.of(src_meta, sentence or heading),
                )
            )
    return items


def overview(
    meta: Mapping[str, Any],
    parts: Sequence[tuple[str, Mapping[str, Any]]],
    chunks: Sequence[tuple[str, Mapping[str, Any]]],
) -> Overview:
    """One document's overview from its first chunk's metadata, its parts and its chunks."""
    kind = str(meta.get("kind", ""))
    items = outline_items(parts, chunks)
    if not items and chunks:  # no headings (a news item): its opening sentence
        body, m = chunks[0]
        s = first_sentence(body, str(m.get("title", "")))
        items = [
            OutlineItem(heading="（正文）", level=1, first_sentence=s, passage=Passage.of(m, s))
        ]
    return Overview(
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        kind=KIND_LABELS.get(kind, kind),
        issuer=str(meta.get("issuer", "")),
        doc_number=str(meta.get("doc_number", "")),
        date=str(meta.get("date", "")),
        region=str(meta.get("region", "")),
        items=tuple(items),
    )
