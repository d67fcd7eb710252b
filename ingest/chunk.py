"""Split a document into chunks along its own outline.

A chunk holds paragraphs of one section, at most ``chunk_size`` characters of body.
Neighbouring sibling sections that are both tiny (list items such as the "五大弊病")
share a chunk, whose breadcrumb is then their parent's. A section that is only a
heading with subsections under it makes no chunk of its own: its heading is in every
child's breadcrumb. Over-long paragraphs are cut at sentence ends, over-long sentences
at the size limit.

A table row (``Paragraph.table``, e.g. "重点任务分工表 › 第3行") is a chunk of its own whose
section path is the row's place, so an answer cites the row; rows follow the text sections.
A chunk of OCR'd pages carries their mean recognition confidence.

Chunk ids are ``doc_id::<hash of section path>-<ordinal in section>``: stable across
re-ingests as long as the section keeps its place and wording before the chunk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

from ingest.outline import parse_sections
from ingest.records import SECTION_SEP, Chunk, Document, Paragraph, Section

CHUNKER_VERSION = "1"
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def _pieces(para: Paragraph, limit: int) -> Iterator[Paragraph]:
    """Cut an over-long paragraph at sentence ends (then hard at ``limit``)."""
    if len(para.text) <= limit:
        yield para
        return
    buf = ""
    for sent in (s for s in _SENTENCE_END.split(para.text) if s):
        while len(sent) > limit:
            if buf:
                yield Paragraph(buf, para.page, para.page_end)
                buf = ""
            yield Paragraph(sent[:limit], para.page, para.page_end)
            sent = sent[limit:]
        if len(buf) + len(sent) > limit:
            yield Paragraph(buf, para.page, para.page_end)
            buf = ""
        buf += sent
    if buf:
        yield Paragraph(buf, para.page, para.page_end)


def _size(paras: Sequence[Paragraph]) -> int:
    return sum(len(p.text) for p in paras) + max(len(paras) - 1, 0)


def _merge_tiny(sections: Sequence[Section], min_chars: int, limit: int) -> list[Section]:
    """Merge runs of tiny sibling sections into one section at their parent's path.

    [(…, "一是A"), (…, "二是B")] both under 100 characters → one section at (…,)
    """
    out: list[tuple[Section, tuple[str, ...] | None]] = []  # (section, parent if merged)
    for sec in sections:
        if out and sec.path and _size(sec.paragraphs) < min_chars:
            prev, merged_at = out[-1]
            parent = sec.path[:-1]
            fits = _size(prev.paragraphs) + _size(sec.paragraphs) < limit
            into_parent = bool(parent) and (merged_at == parent or prev.path == parent)
            with_sibling = (
                bool(prev.path) and prev.path[:-1] == parent and _size(prev.paragraphs) < min_chars
            )
            if fits and (into_parent or with_sibling):
                out[-1] = (Section(parent, prev.paragraphs + sec.paragraphs), parent)
                continue
        out.append((sec, None))
    return [s for s, _ in out]


def chunk_document(
    doc: Document, chunk_size: int = 600, min_section_chars: int = 100
) -> list[Chunk]:
    sections = parse_sections([p for p in doc.paragraphs if not p.table], doc.meta.title)
    # heading-only sections with children are represented by the children's breadcrumbs
    kept = [
        s
        for i, s in enumerate(sections)
        if not (
            s.heading_only
            and i + 1 < len(sections)
            and sections[i + 1].path[: len(s.path)] == s.path
            and len(sections[i + 1].path) > len(s.path)
        )
    ]
    kept = _merge_tiny(kept, min_section_chars, chunk_size)
    kept += [Section(tuple(p.table.split(SECTION_SEP)), (p,)) for p in doc.paragraphs if p.table]
    chunks: list[Chunk] = []
    ordinals: dict[str, int] = {}
    for sec in kept:
        path = SECTION_SEP.join(sec.path)
        key = hashlib.sha1(path.encode("utf-8")).hexdigest()[:8]
        for group in _group(sec.paragraphs, chunk_size):
            n = ordinals.get(path, 0)
            ordinals[path] = n + 1
            pages = [p.page for p in group if p.page is not None] + [
                p.page_end for p in group if p.page_end is not None
            ]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}::{key}-{n}",
                    doc_id=doc.doc_id,
                    ordinal=len(chunks),
                    section_path=path,
                    text="\n".join(p.text for p in group),
                    meta=doc.meta,
                    source=doc.source,
                    page=min(pages) if pages else None,
                    page_end=max(pages) if pages else None,
                    extra=doc.extra,
                    ocr_confidence=_ocr_confidence(doc, pages),
                )
            )
    return chunks


def _ocr_confidence(doc: Document, pages: Sequence[int | None]) -> float | None:
    """Mean OCR confidence of the chunk's OCR'd pages; None when none of them was OCR'd."""
    if not doc.ocr_pages or not pages:
        return None
    span = range(min(p for p in pages if p is not None), max(p for p in pages if p is not None) + 1)
    scores = [doc.ocr_pages[p] for p in span if p in doc.ocr_pages]
    return round(sum(scores) / len(scores), 4) if scores else None


def _group(paras: Sequence[Paragraph], limit: int) -> Iterator[list[Paragraph]]:
    buf: list[Paragraph] = []
    for para in paras:
        for piece in _pieces(para, limit):
            if buf and _size(buf) + 1 + len(piece.text) > limit:
                yield buf
                buf = []
            buf.append(piece)
    if buf:
        yield buf
