"""The plain records every layer passes: a search ``Hit``, an answer's ``Citation``, the ``Answer``.

They sit below everything else in ``rag`` and import nothing of it, so the store, retrieval,
answering, the ledger and the entry points can all speak them without importing each other.
All three are frozen: a later stage builds a new record (``dataclasses.replace``) instead of
changing one it was given. This module holds data and its JSON form only, no rules; the rules
every answer obeys (``verify``) live in ``rag.answer``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk, with where it is and which retriever brought it (and at what rank)."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    title: str
    doc_number: str
    kind: str
    region: str
    date: str
    section_path: str
    page: int | None
    text: str
    source: str
    dense_rank: int | None = None
    bm25_rank: int | None = None
    # the other runs of the hybrid fusion (rag.retrieval.runs): None where the chunk is not in them
    fields_rank: int | None = None
    place_rank: int | None = None
    year_rank: int | None = None
    sentence_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None
    rerank_score: float | None = None
    ordinal: int | None = None
    duplicates: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, duplicates: bool = True) -> dict[str, Any]:
        """A search result as ``policyqa search --json`` and ``POST /api/search`` give it: every
        field but ``ordinal``, ``duplicates`` as a list (or left out)."""
        d = self.to_dict()
        del d["ordinal"]
        if duplicates:
            d["duplicates"] = list(self.duplicates)
        else:
            del d["duplicates"]
        return d


@dataclass(frozen=True)
class Citation:
    """One source of an answer: where it is, and the exact words that support it."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    doc_number: str
    kind: str
    date: str
    section_path: str
    page: int | None
    quote: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        """How an answer names its document: "《关于…的通知》（焦政办〔2020〕9号）"."""
        return f"《{self.title}》" + (f"（{self.doc_number}）" if self.doc_number else "")


CITATION_FIELDS = (
    "n",
    "chunk_id",
    "doc_id",
    "title",
    "doc_number",
    "kind",
    "date",
    "section_path",
    "page",
    "quote",
    "source",
)


@dataclass(frozen=True)
class Answer:
    """Text with [n] markers and the citations they point at; ``mode`` says who wrote it."""

    question: str
    rewritten_question: str
    answered: bool
    text: str
    citations: list[Citation] = field(default_factory=list)
    # who wrote it: "extractive", "llm", "partial", "refusal", "ledger", "map" or "glossary"
    mode: str = "extractive"
    notes: list[str] = field(default_factory=list)  # fall-backs, flagged numbers: shown to the user
    flagged_numbers: list[str] = field(default_factory=list)
    # the documents nearest a refused question
    closest: list[dict[str, str]] = field(default_factory=list)
    strength: float = 0.0  # the refusal model's P(answerable) for this evidence
    evidence: dict[str, float] = field(default_factory=dict)  # the refusal model's features

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``policyqa ask --json`` and ``POST /api/ask``."""
        return {
            "question": self.question,
            "rewritten_question": self.rewritten_question,
            "answered": self.answered,
            "answer": self.text,
            "mode": self.mode,
            "notes": list(self.notes),
            "flagged_numbers": list(self.flagged_numbers),
            "closest": list(self.closest),
            "strength": round(self.strength, 3),
            "evidence": {k: round(v, 3) for k, v in self.evidence.items()},
            "citations": [
                {k: v for k, v in c.to_dict().items() if k in CITATION_FIELDS}
                for c in self.citations
            ],
        }
