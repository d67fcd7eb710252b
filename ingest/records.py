"""Plain records passed between the ingest stages.

A loader turns a file into ``SourceDocument``s (raw lines with their page numbers); cleaning
and metadata extraction make a ``Document`` of ``Paragraph``s; the outline parser and the
chunker make ``Chunk``s. All are frozen dataclasses: stages are functions over them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

KINDS = ("policy_notice", "experience_article", "news", "project_record", "report")
KIND_LABELS = {
    "policy_notice": "政策文件",
    "experience_article": "经验文章",
    "news": "新闻报道",
    "project_record": "项目记录",
    "report": "工作报告",
}


@dataclass(frozen=True)
class Line:
    """One line of extracted text; ``page`` is 1-based for paged formats (PDF, OFD, scans),
    else None. ``table`` is set on a table row rendered as text: the row's place, e.g.
    "重点任务分工表 › 第3行"; such a line is a paragraph (and a chunk) of its own."""

    text: str
    page: int | None = None
    table: str = ""


@dataclass(frozen=True)
class SourceDocument:
    """What a loader read: raw lines plus whatever metadata the format itself carries.

    ``key`` tells documents of one file apart (a JSONL line's title, a CSV row number);
    it is empty for one-document files.
    """

    source: str
    lines: tuple[Line, ...]
    key: str = ""
    hints: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str | float | int] = field(default_factory=dict)
    needs_cleaning: bool = True
    ocr_pages: dict[int, float] = field(default_factory=dict)  # OCR'd page → mean confidence


@dataclass(frozen=True)
class Paragraph:
    text: str
    page: int | None = None
    page_end: int | None = None
    table: str = ""  # a table row's place ("重点任务分工表 › 第3行"), see ``Line``


@dataclass(frozen=True)
class DocMeta:
    """Document-level metadata (empty string = unknown)."""

    title: str = ""
    kind: str = ""
    issuer: str = ""
    doc_number: str = ""
    date: str = ""
    region: str = ""


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str
    meta: DocMeta
    paragraphs: tuple[Paragraph, ...]
    extra: dict[str, str | float | int] = field(default_factory=dict)
    ocr_pages: dict[int, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256(self.text.encode("utf-8"))
        h.update(repr(sorted(vars(self.meta).items())).encode("utf-8"))
        return h.hexdigest()


@dataclass(frozen=True)
class Section:
    """A run of paragraphs under one outline heading; ``path`` is the heading breadcrumb."""

    path: tuple[str, ...]
    paragraphs: tuple[Paragraph, ...]
    heading_only: bool = False


SECTION_SEP = " › "


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    section_path: str
    text: str
    meta: DocMeta
    source: str
    page: int | None = None
    page_end: int | None = None
    extra: dict[str, str | float | int] = field(default_factory=dict)
    ocr_confidence: float | None = None  # mean OCR confidence of its pages; None = text layer

    @property
    def embedding_text(self) -> str:
        """Title and breadcrumb prepended: what is embedded and BM25-indexed."""
        return embedding_text(self.text, self.meta.title, self.section_path)


def embedding_text(body: str, title: str, section_path: str) -> str:
    head = "\n".join(x for x in (title, section_path) if x)
    return f"{head}\n{body}" if head else body
