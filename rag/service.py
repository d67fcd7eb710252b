"""The facade every entry point uses: ``PolicyQA(settings)`` with ingest, search, stats.

The CLI, the Gradio app, the REST API and the eval runner all call these methods and
translate ``PolicyQAError`` into their own kind of message at their edge.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from rag.errors import QueryError
from rag.index import IngestReport, PolicyIndex
from rag.retrieve import Filters, make_retriever
from rag.settings import Settings

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Hit:
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
    dense_score: float | None = None
    bm25_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_query(query: str) -> str:
    """Strip control characters and surrounding space; refuse empty or huge queries."""
    if not isinstance(query, str):
        raise QueryError("查询必须是文本")
    q = "".join(c for c in query if unicodedata.category(c)[0] != "C" or c in "\t\n").strip()
    if not q:
        raise QueryError("查询内容为空，请输入问题")
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"查询过长（{len(q)} 字），请控制在 {MAX_QUERY_CHARS} 字以内")
    return q


class PolicyQA:
    """One index, opened lazily, and the operations on it."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self._index: PolicyIndex | None = None

    @property
    def index(self) -> PolicyIndex:
        if self._index is None:
            self._index = PolicyIndex(self.settings, self._embeddings)
        return self._index

    def ingest(self, paths: Sequence[Path], prune: bool = False,
               progress: Callable[[int, int, str], None] | None = None) -> IngestReport:
        return self.index.ingest(paths, prune=prune, progress=progress)

    def search(self, query: str, k: int | None = None, filters: Filters | Mapping[str, Any] | None = None,
               retriever: str = "hybrid") -> list[Hit]:
        query = clean_query(query)
        k = k or self.settings.default_k
        if not 1 <= k <= 100:
            raise QueryError("k 必须在 1 到 100 之间")
        flt = filters if isinstance(filters, Filters) else Filters.from_mapping(filters)
        docs = make_retriever(self.index, retriever, k, flt).invoke(query)
        hits = []
        for rank, d in enumerate(docs, start=1):
            m = d.metadata
            hits.append(
                Hit(
                    rank=rank,
                    score=float(m.get("score", 0.0)),
                    chunk_id=str(m.get("chunk_id", "")),
                    doc_id=str(m.get("doc_id", "")),
                    title=str(m.get("title", "")),
                    doc_number=str(m.get("doc_number", "")),
                    kind=str(m.get("kind", "")),
                    region=str(m.get("region", "")),
                    date=str(m.get("date", "")),
                    section_path=str(m.get("section_path", "")),
                    page=int(m["page"]) if m.get("page") is not None else None,
                    text=d.page_content,
                    source=str(m.get("source", "")),
                    dense_rank=m.get("dense_rank"),
                    bm25_rank=m.get("bm25_rank"),
                    dense_score=m.get("dense_score"),
                    bm25_score=m.get("bm25_score"),
                )
            )
        return hits

    def documents(self) -> list[dict[str, Any]]:
        """One row per indexed document with its metadata and chunk count."""
        _, _, metas = self.index.all_chunks(include_documents=False)
        docs: dict[str, dict[str, Any]] = {}
        for m in metas:
            row = docs.setdefault(
                m["doc_id"],
                {k: m.get(k, "") for k in ("doc_id", "title", "kind", "issuer", "doc_number", "date", "region", "source")}
                | {"chunks": 0},
            )
            row["chunks"] += 1
        return sorted(docs.values(), key=lambda r: r["doc_id"])

    def stats(self) -> dict[str, Any]:
        idx = self.index
        size = sum(f.stat().st_size for f in Path(idx.dir).rglob("*") if f.is_file())
        return {
            "documents": len(self.documents()),
            "chunks": idx.count(),
            "embedder": idx.embedder_name,
            "dim": idx.dim,
            "index_dir": str(idx.dir),
            "index_bytes": size,
            "chroma": self.settings.chroma_url or "embedded",
        }
