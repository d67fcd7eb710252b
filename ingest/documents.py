"""From a file to cleaned ``Document``s with metadata and stable ids.

``read_documents(path, catalog, max_bytes)`` loads the file, splits it into the
documents the catalog names (a newspaper page holding several articles), cleans each
one and fills its metadata: catalog values first, then what extraction found.

Document ids: the catalog's ``doc_id``; else the file stem for a one-document file, and
``stem#key`` for files holding many (a JSONL title, a CSV row, a catalog part number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ingest.clean import clean_lines, join_lines, squash
from ingest.loaders import load_file
from ingest.metadata import CatalogEntry, apply_catalog, extract_front_matter, extract_meta
from ingest.ocr import OcrSettings
from ingest.records import DocMeta, Document, Line, Paragraph, SourceDocument


def split_parts(lines: Sequence[Line], entries: Sequence[CatalogEntry]) -> list[list[Line]]:
    """Cut a file's lines into the catalog's parts at their ``starts_at`` anchor lines.

    Parts are searched in catalog order; a part with no anchor starts at the top. Lines
    that are just a part's headline (one line, or two consecutive lines) are dropped
    wherever they stand, since a newspaper page often prints headlines away from their
    article; the headline lives on as the part's title.
    """
    starts = [0]
    pos = 0
    for entry in entries[1:]:
        anchor = squash(entry.starts_at)
        for i in range(pos + 1, len(lines)):
            if anchor and squash(lines[i].text).startswith(anchor):
                starts.append(i)
                pos = i
                break
        else:
            raise ValueError(f"catalog anchor {entry.starts_at!r} not found in {entry.file}")
    bounds = list(zip(starts, starts[1:] + [len(lines)], strict=True))
    titles = {squash(e.meta.title) for e in entries if e.meta.title}
    parts = []
    for a, b in bounds:
        part = list(lines[a:b])
        keep: list[Line] = []
        skip = 0
        for i, ln in enumerate(part):
            if skip:
                skip -= 1
                continue
            one = squash(ln.text)
            nxt = next((squash(x.text) for x in part[i + 1 :] if x.text.strip()), "")
            if one and one in titles:
                continue
            if one and nxt and one + nxt in titles:
                skip = next(j for j, x in enumerate(part[i + 1 :], start=1) if x.text.strip())
                continue
            keep.append(ln)
        parts.append(keep)
    return parts


def build_document(
    src: SourceDocument, doc_id: str, lines: Sequence[Line], curated: DocMeta | None
) -> Document | None:
    """Clean lines into paragraphs and attach metadata; None if no text is left."""
    if src.needs_cleaning:
        paras = join_lines(clean_lines(lines))
    else:
        paras = [
            Paragraph(ln.text.strip(), ln.page, ln.page, ln.table)
            for ln in lines
            if ln.text.strip()
        ]
    if not paras:
        return None
    text_paras = [p for p in paras if not p.table] or paras
    hints = src.hints
    if (
        hints.get("title", "").strip() == Path(src.source).stem
    ):  # a scanner or converter naming the file
        hints = {k: v for k, v in hints.items() if k != "title"}
    meta = extract_meta(text_paras, hints)
    if curated is not None:
        meta = apply_catalog(meta, curated)
    if not meta.title:
        meta = replace(meta, title=Path(src.source).stem)
    extra = dict(src.extra)
    if src.needs_cleaning:
        extra |= {k: v for k, v in extract_front_matter(text_paras).items() if k not in extra}
    return Document(
        doc_id=doc_id,
        source=src.source,
        meta=meta,
        paragraphs=tuple(paras),
        extra=extra,
        ocr_pages=dict(src.ocr_pages),
    )


def read_documents(
    path: Path,
    catalog: dict[str, list[CatalogEntry]],
    max_bytes: int,
    ocr: OcrSettings | None = None,
) -> tuple[list[Document], list[str]]:
    """All documents of one file, and per-record problems. Raises ``LoadError``."""
    result = load_file(path, max_bytes, ocr)
    entries = catalog.get(path.name, [])
    docs: list[Document] = []
    for src in result.documents:
        if src.key:  # multi-record file: JSONL line, table row
            doc = build_document(src, f"{path.stem}#{src.key}", src.lines, None)
            if doc:
                docs.append(doc)
        elif len(entries) > 1:
            for n, (entry, lines) in enumerate(
                zip(entries, split_parts(src.lines, entries), strict=True), 1
            ):
                doc = build_document(src, entry.doc_id or f"{path.stem}#{n}", lines, entry.meta)
                if doc:
                    docs.append(doc)
        else:
            only = entries[0] if entries else None
            doc = build_document(
                src,
                (only.doc_id if only else "") or path.stem,
                src.lines,
                only.meta if only else None,
            )
            if doc:
                docs.append(doc)
    return docs, result.problems
