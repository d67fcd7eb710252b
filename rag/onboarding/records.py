"""The records of 新人入门: who does what (``Responsibility``), what the words mean
(``GlossaryEntry``), what each document covers (``Overview``), each tied to its ``Passage``.

Frozen dataclasses, built by the pure functions of ``responsibilities``, ``glossary`` and
``overview`` from chunk texts and their metadata; stored as JSON next to the index
(``rag.onboarding.store``). Nothing here reads the index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.records import Citation


@dataclass(frozen=True)
class Passage:
    """Where a record comes from: a chunk and the verbatim words of it (``quote``)."""

    chunk_id: str
    doc_id: str
    title: str
    doc_number: str
    kind: str
    date: str
    region: str
    section_path: str
    page: int | None
    source: str
    quote: str

    @classmethod
    def of(cls, meta: Mapping[str, Any], quote: str) -> Passage:
        """A passage for a chunk's metadata (as Chroma holds it) and a quote from its text."""
        page = meta.get("page")
        return cls(
            chunk_id=str(meta.get("chunk_id", "")),
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title", "")),
            doc_number=str(meta.get("doc_number", "")),
            kind=str(meta.get("kind", "")),
            date=str(meta.get("date", "")),
            region=str(meta.get("region", "")),
            section_path=str(meta.get("section_path", "")),
            page=int(page) if page not in (None, "") else None,
            source=str(meta.get("source", "")),
            quote=quote,
        )

    def citation(self, n: int) -> Citation:
        return Citation(
            n=n,
            chunk_id=self.chunk_id,
            doc_id=self.doc_id,
            title=self.title,
            doc_number=self.doc_number,
            kind=self.kind,
            date=self.date,
            section_path=self.section_path,
            page=self.page,
            quote=self.quote,
            source=self.source,
        )

    def label(self) -> str:
        """ "《…的通知》（焦政办〔2020〕9号）"."""
        return f"《{self.title}》" + (f"（{self.doc_number}）" if self.doc_number else "")


@dataclass(frozen=True)
class Responsibility:
    """One duty of one actor: "市商务局 is 牵头单位 of 招商二组", "… 每月25日前 receives reports".

    ``actor`` is the normalised display name (焦作市商务局 / 商务局 → 市商务局), ``actor_key``
    the same actor within its region ("焦作市|商务局"); ``actor_kind`` is unit, leader or
    collective (各县（市）区, 市直相关单位). ``role`` is the document's own word where it has one
    (牵头领导, 牵头单位, 责任单位, 主办, 督办, 配合单位…) or what the sentence makes of the actor
    (负责, 报送, 接收报送, 听取汇报). ``scope`` is the group, task or mechanism the duty belongs
    to; ``deadline`` a time limit or frequency (每月25日前, 年底, 每双月).
    """

    actor: str
    actor_key: str
    actor_kind: str
    role: str
    scope: str
    duty: str
    deadline: str
    region: str
    passage: Passage

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "actor": self.actor,
            "actor_key": self.actor_key,
            "actor_kind": self.actor_kind,
            "role": self.role,
            "scope": self.scope,
            "duty": self.duty,
            "deadline": self.deadline,
            "region": self.region,
            "doc_id": p.doc_id,
            "title": p.title,
            "doc_number": p.doc_number,
            "section_path": p.section_path,
            "chunk_id": p.chunk_id,
            "page": p.page,
            "quote": p.quote,
        }


@dataclass(frozen=True)
class GlossaryEntry:
    """A term a document defines or uses as jargon, with the sentence that says what it is.

    ``how``: 定义 (X是指…, X即…), 简称 (…（以下简称X）), 列举 (A、B、C的“X”), 组成 (a numbered
    shorthand whose parts are the document's headings: “7+X”), 使用 (used, never defined:
    ``definition`` is then the first sentence that uses it). ``parts`` are the extra
    passages of a 组成 entry (one heading per part).
    """

    term: str
    how: str
    definition: str
    passage: Passage
    parts: tuple[Passage, ...] = ()

    @property
    def defined(self) -> bool:
        return self.how != "使用"

    def to_dict(self) -> dict[str, Any]:
        p = self.passage
        return {
            "term": self.term,
            "how": self.how,
            "defined": self.defined,
            "definition": self.definition,
            "doc_id": p.doc_id,
            "title": p.title,
            "doc_number": p.doc_number,
            "section_path": p.section_path,
            "chunk_id": p.chunk_id,
            "quote": p.quote,
            "parts": [
                {"section_path": q.section_path, "chunk_id": q.chunk_id, "quote": q.quote}
                for q in self.parts
            ],
        }


@dataclass(frozen=True)
class OutlineItem:
    """A heading of a document with the first sentence under it, and the chunk it opens."""

    heading: str
    level: int
    first_sentence: str
    passage: Passage


@dataclass(frozen=True)
class Overview:
    """One screen about a document: what it is, who issued it, and its outline."""

    doc_id: str
    title: str
    kind: str
    issuer: str
    doc_number: str
    date: str
    region: str
    items: tuple[OutlineItem, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "items"}
        d["outline"] = [
            {
                "heading": i.heading,
                "level": i.level,
                "first_sentence": i.first_sentence,
                "section_path": i.passage.section_path,
                "chunk_id": i.passage.chunk_id,
                "page": i.passage.page,
            }
            for i in self.items
        ]
        return d


def passage_from_dict(d: Mapping[str, Any]) -> Passage:
    return Passage(**{k: d.get(k) for k in Passage.__dataclass_fields__})  # type: ignore[arg-type]


def responsibility_from_dict(d: Mapping[str, Any]) -> Responsibility:
    return Responsibility(
        **{k: d[k] for k in Responsibility.__dataclass_fields__ if k != "passage"},
        passage=passage_from_dict(d["passage"]),
    )


def glossary_from_dict(d: Mapping[str, Any]) -> GlossaryEntry:
    return GlossaryEntry(
        term=d["term"],
        how=d["how"],
        definition=d["definition"],
        passage=passage_from_dict(d["passage"]),
        parts=tuple(passage_from_dict(p) for p in d.get("parts", ())),
    )
