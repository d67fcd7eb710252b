"""The PolicyQA index: a Chroma collection (vectors, bodies, metadata), a BM25 index
rebuilt from it, LangChain's SQL record manager, and a manifest saying what built it.

Writes go through LangChain's indexing API one document at a time, so a document is
indexed whole or not at all: its chunks are embedded before anything is written, and a
failure leaves the previous version in place. Unchanged documents (same text, metadata
and chunker settings) are skipped before any embedding.

Chroma is the source of truth; the BM25 index is derived from it and carries a stamp of
the chunk ids it covers, so a stale or damaged BM25 file is rebuilt on open.

Server mode (``POLICYQA_CHROMA_URL``): several processes may share one Chroma server, each
with its own index dir (BM25 files, record manager, embedding cache). Writers put a fresh
``policyqa_version`` in the collection metadata after every change; readers compare the
collection's count and that version with what their BM25 was built from (at most every
``chroma_check_seconds``) and rebuild it when the chunk ids changed. Each process keeps its
own LangChain record manager; duplicates are avoided because ingest compares doc hashes read
from Chroma itself and, after writing a document, deletes any chunk of that document in
Chroma that is not part of the new version (e.g. written by another process). A server
that cannot be reached raises ``ChromaUnavailableError``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_chroma import Chroma
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings

from ingest.chunk import CHUNKER_VERSION, chunk_document
from ingest.documents import read_documents
from ingest.loaders import SUPPORTED
from ingest.metadata import CATALOG_NAME, date_as_int, load_catalog
from ingest.ocr import OcrSettings
from ingest.records import Chunk, Document, embedding_text
from rag.errors import ChromaUnavailableError, IndexCorruptError, IndexMismatchError, PolicyQAError
from rag.settings import Settings
from rag.store.bm25 import BM25Index, stamp_of
from rag.store.embeddings import cached, embedder_dim, embedder_name, load_embedder
from rag.store.locking import index_lock, read_generation
from rag.store.units import UnitVectors

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_KEYS = (
    "chunk_id",
    "doc_id",
    "title",
    "kind",
    "issuer",
    "doc_number",
    "date",
    "region",
    "section_path",
    "source",
    "page",
    "page_end",
    "ordinal",
    "doc_hash",
)


VERSION_KEY = "policyqa_version"


def unreachable(url: str) -> ChromaUnavailableError:
    return ChromaUnavailableError(
        f"无法连接 Chroma 向量库服务（{url}）：请确认服务已启动（chroma run），网络可达，稍后重试。"
    )


class GuardedCollection:
    """A Chroma collection whose calls turn network failures into ``ChromaUnavailableError``."""

    def __init__(self, inner: Any, url: str) -> None:
        self._inner = inner
        self._url = url

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            import httpx

            try:
                return attr(*args, **kwargs)
            except httpx.TransportError as e:
                raise unreachable(self._url) from e

        return call


def widen_search(collection: Any, ef_search: int) -> bool:
    """Set the collection's HNSW search breadth to ``ef_search`` (persisted with the collection);
    whether it changed. A process sees a new breadth only in a vector index it loads afterwards.

    e5 vectors of one genre crowd together (the top 10 within cosine .87–.89), where HNSW at
    Chroma's default breadth misses true neighbours, and missed different ones from one process
    to the next: the same question got other passages in another run.
    At 1000 the top 10 matched exact search on the 2.8k-chunk eval index, the same in every
    process, at no measurable cost (4 ms a query).
    """
    hnsw = (getattr(collection, "configuration", None) or {}).get("hnsw") or {}
    if int(hnsw.get("ef_search") or 0) == ef_search:
        return False
    collection.modify(configuration={"hnsw": {"ef_search": ef_search}})
    return True


class PolicyChroma(Chroma):
    """Chroma that embeds title + breadcrumb + body but stores the body alone (for quoting)."""

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        metadatas = metadatas or [{} for _ in texts]
        if ids is None:
            raise ValueError("PolicyChroma needs ids")
        to_embed = [
            embedding_text(t, str(m.get("title", "")), str(m.get("section_path", "")))
            for t, m in zip(texts, metadatas, strict=True)
        ]
        assert self._embedding_function is not None
        vectors = self._embedding_function.embed_documents(to_embed)
        self._collection.upsert(ids=ids, documents=texts, metadatas=metadatas, embeddings=vectors)  # type: ignore[arg-type]
        return ids


@dataclass
class FileReport:
    """What became of one file: its status, how many documents it gave, and why (failures,
    per-record or per-page problems such as an OCR page left out)."""

    path: str
    status: str  # added / updated / unchanged / failed / skipped
    documents: int = 0
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path or doc id, reason)
    problems: list[tuple[str, str]] = field(default_factory=list)  # per-record warnings
    files: list[FileReport] = field(default_factory=list)  # one per file, in ingest order
    chunks_written: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def chunk_metadata(chunk: Chunk, doc_hash: str) -> dict[str, str | int | float]:
    m = chunk.meta
    meta: dict[str, str | int | float] = {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "title": m.title,
        "kind": m.kind,
        "issuer": m.issuer,
        "doc_number": m.doc_number,
        "date": m.date,
        "date_int": date_as_int(m.date),
        "region": m.region,
        "section_path": chunk.section_path,
        "source": chunk.source,
        "ordinal": chunk.ordinal,
        "doc_hash": doc_hash,
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
        meta["page_end"] = chunk.page_end or chunk.page
    if chunk.ocr_confidence is not None:
        meta["ocr"] = True
        meta["ocr_confidence"] = chunk.ocr_confidence
    for k, v in chunk.extra.items():
        if isinstance(v, str | int | float) and v != "":
            meta[f"x_{k}"] = v
    return meta


def _file_report(
    path: str, report: IngestReport, marks: tuple[int, ...], problems: Sequence[str]
) -> FileReport:
    """One file's outcome from what its documents added to ``report`` since ``marks``."""
    added, updated, unchanged = (
        len(report.added) - marks[0],
        len(report.updated) - marks[1],
        len(report.unchanged) - marks[2],
    )
    failures = [reason for _, reason in report.failed[marks[3] :]]
    status = "added" if added else "updated" if updated else "unchanged" if unchanged else "failed"
    reason = "；".join([*failures, *problems]) or (
        "" if status != "failed" else "文件中没有可导入的内容"
    )
    return FileReport(
        path, status, added + updated + unchanged, report.chunks_written - marks[4], reason
    )


@dataclass(frozen=True)
class Listing:
    """What ``list_files`` found: (file, named explicitly) pairs, and what could not be listed."""

    files: list[tuple[Path, bool]]
    unreadable: list[tuple[str, str]]  # (folder or file, reason)


def _os_reason(e: OSError) -> str:
    return "没有读取权限" if isinstance(e, PermissionError) else (e.strerror or type(e).__name__)


def list_files(paths: Sequence[Path]) -> Listing:
    """Every file under ``paths`` (a file itself, or the files under a folder), and every
    folder or file that could not be listed or examined, with the reason.

    ``Path.rglob`` skips an unreadable folder without a word; ``os.walk`` reports it.
    """
    files: list[tuple[Path, bool]] = []
    unreadable: list[tuple[str, str]] = []
    for root in paths:
        if not root.is_dir():
            files.append((root, True))
            continue
        found: list[Path] = []

        def failed(e: OSError, root: Path = root) -> None:
            unreadable.append((str(e.filename or root), f"无法读取文件夹：{_os_reason(e)}"))

        for folder, _, names in os.walk(root, onerror=failed):
            for name in names:
                f = Path(folder) / name
                try:
                    regular = f.is_file()
                except OSError as e:
                    unreadable.append((str(f), f"无法读取文件：{_os_reason(e)}"))
                    continue
                if regular and name != CATALOG_NAME and not name.startswith("."):
                    found.append(f)
        files.extend((f, False) for f in sorted(found))
    return Listing(files, unreadable)


def file_state(source: str) -> str:
    """ "present", "gone" (known not to exist) or "unknown" (cannot be checked: no permission)."""
    try:
        os.stat(source)
    except (FileNotFoundError, NotADirectoryError):
        return "gone"
    except OSError:
        return "unknown"
    return "present"


class PolicyIndex:
    """Open (or create) the index described by ``settings``."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = index_lock(self.dir)
        self._generation = read_generation(self.dir)  # the write generation this process has seen
        self._check_manifest_name()
        raw = (
            embeddings
            if embeddings is not None
            else load_embedder(settings.embedder, settings.embed_batch_size)
        )
        self.embedder_name = embedder_name(raw)
        self.dim = embedder_dim(raw)
        self.embeddings = cached(raw, settings.cache_dir)
        self._check_manifest_full()
        self.remote = bool(settings.chroma_url.strip())
        self._bm25: BM25Index | None = None
        self._bm25_lock = threading.RLock()
        self._synced: tuple[int, str] | None = None  # (count, version) the BM25 side follows
        self._checked_at = 0.0
        import httpx

        try:
            self.client, self.store = self._open_store()
        except httpx.TransportError as e:
            raise unreachable(settings.chroma_url) from e
        self._check_collection()
        from langchain_classic.indexes import SQLRecordManager

        self.records = SQLRecordManager(
            f"chroma/{settings.collection}", db_url=f"sqlite:///{self.dir / 'records.sqlite'}"
        )
        self.records.create_schema()
        self._write_manifest()

    # ---------------------------------------------------------------- set-up and checks

    def _open_store(self) -> tuple[Any, PolicyChroma]:
        client, store = self._chroma()
        if widen_search(store._chroma_collection, self.settings.hnsw_ef_search) and not self.remote:
            # the vector index this process loaded keeps its old breadth: open it afresh
            self._forget_client()
            client, store = self._chroma()
        if self.remote:
            store._chroma_collection = GuardedCollection(  # type: ignore[assignment]
                store._chroma_collection, self.settings.chroma_url
            )
        return client, store

    def _chroma(self) -> tuple[Any, PolicyChroma]:
        client = self._client()
        store = PolicyChroma(
            collection_name=self.settings.collection,
            embedding_function=self.embeddings,
            client=client,
            collection_metadata={"policyqa_embedder": self.embedder_name, "policyqa_dim": self.dim},
            collection_configuration={
                "hnsw": {"space": "cosine", "ef_search": self.settings.hnsw_ef_search}
            },
        )
        return client, store

    def _reopen_store(self) -> None:
        """A fresh embedded Chroma client: another process wrote to the folder, and this process's
        vector index (held in memory) does not see that. Requests already running keep the old
        client, which Chroma's per-path cache would otherwise hand back."""
        self._forget_client()
        self.client, self.store = self._open_store()

    def _forget_client(self) -> None:
        """Drop Chroma's cached embedded client of this folder: the next one loads it afresh."""
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(self.dir / "chroma"), None)

    def _client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url.strip()
        if not url:
            return chromadb.PersistentClient(
                path=str(self.dir / "chroma"), settings=chroma_settings
            )
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise PolicyQAError(f"Chroma 服务地址格式不正确：“{url}”（应为 http://主机:端口）")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        except ValueError as e:  # "Could not connect to a Chroma server"
            raise unreachable(url) from e

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def _read_manifest(self) -> dict | None:
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "embedder" not in data:
                raise ValueError("no embedder")
            return data
        except (ValueError, OSError) as e:
            raise IndexCorruptError(
                f"索引清单文件损坏：{self.manifest_path}。请删除该文件后重新导入（policyqa ingest）。"
            ) from e

    def _check_manifest_name(self) -> None:
        data = self._read_manifest()
        if data and data["embedder"] != self.settings.embedder:
            raise IndexMismatchError(
                f"索引（{self.dir}）是用嵌入模型“{data['embedder']}”（{data.get('dim')} 维）构建的，"
                f"当前配置的是“{self.settings.embedder}”。请改回原模型（POLICYQA_EMBEDDER），"
                f"或换一个索引目录（POLICYQA_INDEX_DIR）重新导入。"
            )
        if data and data.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"索引格式版本为 {data.get('format_version')}，本程序需要 {FORMAT_VERSION}；请重新导入。"
            )

    def _check_manifest_full(self) -> None:
        data = self._read_manifest()
        if data and data.get("dim") not in (None, self.dim):
            raise IndexMismatchError(
                f"索引向量维度为 {data['dim']}，当前嵌入模型“{self.embedder_name}”为 {self.dim} 维；请重新导入。"
            )

    def _check_collection(self) -> None:
        meta = self.store._collection.metadata or {}
        name = meta.get("policyqa_embedder")
        if name and name != self.embedder_name:
            raise IndexMismatchError(
                f"Chroma 集合“{self.settings.collection}”是用嵌入模型“{name}”构建的，"
                f"当前配置的是“{self.embedder_name}”。请改回原模型或使用另一个集合名。"
            )

    def _write_manifest(self) -> None:
        data = self._read_manifest() or {"created": datetime.now(UTC).isoformat(timespec="seconds")}
        data.update(
            format_version=FORMAT_VERSION,
            embedder=self.settings.embedder,
            embedder_name=self.embedder_name,
            dim=self.dim,
            chunker_version=CHUNKER_VERSION,
            chunk_size=self.settings.chunk_size,
            min_section_chars=self.settings.min_section_chars,
            collection=self.settings.collection,
            chroma_url=self.settings.chroma_url,
        )
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(self.manifest_path)

    @property
    def chunker_signature(self) -> str:
        return f"v{CHUNKER_VERSION}/{self.settings.chunk_size}/{self.settings.min_section_chars}"

    # ---------------------------------------------------------------- reading

    @property
    def collection(self) -> Any:
        return self.store._collection

    def count(self) -> int:
        return int(self.collection.count())

    def all_chunks(self, include_documents: bool = True) -> tuple[list[str], list[str], list[dict]]:
        """All (ids, bodies, metadatas) in Chroma, fetched in pages."""
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict] = []
        total = self.count()
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        page = 5000
        for offset in range(0, total, page):
            got = self.collection.get(include=include, limit=page, offset=offset)
            ids.extend(got["ids"])
            metas.extend(dict(m or {}) for m in got["metadatas"])
            if include_documents:
                docs.extend(got["documents"] or [])
        return ids, docs, metas

    def chunks(
        self,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        texts: bool = True,
    ) -> list[tuple[str, str, dict]]:
        """The chunks with the given ids or metadata (``where``, Chroma's filter syntax), as
        (id, body, metadata) in the order Chroma returns them; ids not indexed are left out.

        chunks(ids=["a::x-0"]) → [("a::x-0", "第一条 …", {"doc_id": "a", …})]
        """
        include = ["documents", "metadatas"] if texts else ["metadatas"]
        got = self.collection.get(
            ids=list(ids) if ids is not None else None, where=where, include=include
        )
        bodies = got["documents"] if texts else [""] * len(got["ids"])
        return [
            (i, b or "", dict(m or {}))
            for i, b, m in zip(got["ids"], bodies, got["metadatas"], strict=True)
        ]

    def nearest(
        self,
        vector: Sequence[float],
        n: int,
        ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        texts: bool = False,
    ) -> list[tuple[str, float]]:
        """The ``n`` chunks nearest ``vector`` (among ``ids`` / ``where`` when given) as
        (id, cosine distance), nearest first. ``texts`` also fetches bodies and metadata,
        as a plain vector store query would (for timing against one)."""
        include = ["distances", "documents", "metadatas"] if texts else ["distances"]
        got = self.collection.query(
            query_embeddings=[list(vector)],
            n_results=n,
            ids=list(ids) if ids is not None else None,
            where=where,
            include=include,
        )
        return [(cid, float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def export_vectors(self) -> tuple[list[str], list[str], list[dict], list[list[float]]]:
        """Every chunk's (ids, bodies, metadatas, embeddings): for building a synthetic index."""
        got = self.collection.get(include=["documents", "metadatas", "embeddings"])
        return (
            got["ids"],
            got["documents"],
            [dict(m) for m in got["metadatas"]],
            list(got["embeddings"]),
        )

    def add_vectors(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        bodies: Sequence[str],
        metadatas: Sequence[dict],
    ) -> None:
        """Write chunks with ready vectors straight into Chroma, bypassing ingest (bench only:
        no record manager, no manifest update; call ``rebuild_bm25`` after)."""
        self.collection.add(
            ids=list(ids),
            embeddings=[list(e) for e in embeddings],
            documents=list(bodies),
            metadatas=list(metadatas),
        )

    def document_chunks(self, doc_id: str) -> list[tuple[str, dict]]:
        """Every chunk of one document as (body, metadata), in reading order."""
        got = self.collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        return sorted(
            zip(got["documents"], (dict(m) for m in got["metadatas"]), strict=True),
            key=lambda r: r[1].get("ordinal", 0),
        )

    @functools.cached_property
    def units(self) -> UnitVectors:
        """The evidence units' vectors as one table (``rag.store.units``), for the sentence run."""
        return UnitVectors(self.dir / "unit_vectors")

    def embed_query(self, text: str) -> list[float]:
        """The query vector, remembered for the last few hundred queries (search, then answer)."""
        return list(self._embed_query(text))

    @functools.cached_property
    def _embed_query(self) -> Callable[[str], tuple[float, ...]]:
        @functools.lru_cache(maxsize=512)
        def embed(text: str) -> tuple[float, ...]:
            return tuple(self.embeddings.embed_query(text))

        return embed

    def neighbours(
        self, doc_id: str, ordinal: int, section_path: str | None = None
    ) -> list[tuple[str, str, dict]]:
        """The chunks just before and after ``ordinal`` in the document, as (id, body, meta).

        With ``section_path`` only neighbours in that same section are returned.
        """
        got = self.collection.get(
            where={"$and": [{"doc_id": doc_id}, {"ordinal": {"$in": [ordinal - 1, ordinal + 1]}}]},
            include=["documents", "metadatas"],
        )
        rows = sorted(
            zip(got["ids"], got["documents"], got["metadatas"], strict=True),
            key=lambda r: r[2]["ordinal"],
        )
        return [
            (i, d, dict(m))
            for i, d, m in rows
            if section_path is None or m.get("section_path") == section_path
        ]

    def doc_hashes(self) -> dict[str, tuple[str, str]]:
        """doc_id → (doc_hash, source) for every indexed document.

        A document whose chunks carry more than one version gets an empty hash, so the next
        ingest of its file rewrites it whole instead of calling it unchanged.
        """
        _, _, metas = self.all_chunks(include_documents=False)
        out: dict[str, tuple[str, str]] = {}
        for m in metas:
            doc_hash, source = str(m.get("doc_hash", "")), str(m.get("source", ""))
            seen = out.setdefault(m["doc_id"], (doc_hash, source))
            if seen[0] != doc_hash:
                out[m["doc_id"]] = ("", source)
        return out

    @property
    def bm25(self) -> BM25Index:
        """The BM25 side; in server mode it follows changes other processes make to Chroma."""
        if self._bm25 is None:
            with self._bm25_lock:
                if self._bm25 is None:
                    signature = self._signature() if self.remote else None
                    self._bm25 = self._load_or_rebuild_bm25()
                    self._synced, self._checked_at = signature, time.monotonic()
        else:
            self.follow_writers()
        return self._bm25

    def follow_writers(self) -> None:
        """Catch up with what other processes wrote (at most every ``chroma_check_seconds``).

        Server mode: BM25 follows the collection's version stamp. Embedded mode: when the
        index's generation (``rag.store.locking``) changed, Chroma is reopened (its vector index
        lives in this process's memory and does not see another process's writes) and BM25
        reloaded, so a CLI ingest into the index the app serves is seen by the next search.
        """
        if (
            self._bm25 is None
            or time.monotonic() - self._checked_at < self.settings.chroma_check_seconds
        ):
            return
        if self.remote:
            self._follow_server()
            return
        with self._bm25_lock:
            generation = read_generation(self.dir)
            if (
                generation not in (self._generation, self.lock.last_written)
                and not self.lock.held_here()
            ):
                log.info("索引已被其他进程更新（%s），重新打开", self.dir)
                self._generation = generation
                self._reopen_store()
                self._bm25 = self._load_or_rebuild_bm25()
            self._checked_at = time.monotonic()

    def _signature(self) -> tuple[int, str]:
        """(chunk count, version stamp writers put in the collection metadata): cheap to fetch."""
        try:
            meta = self.client.get_collection(name=self.settings.collection).metadata or {}
        except Exception as e:
            import httpx

            if isinstance(e, httpx.TransportError):
                raise unreachable(self.settings.chroma_url) from e
            raise
        return self.count(), str(meta.get(VERSION_KEY, ""))

    def _follow_server(self) -> None:
        with self._bm25_lock:
            if time.monotonic() - self._checked_at < self.settings.chroma_check_seconds:
                return
            signature = self._signature()
            if signature != self._synced:
                ids = self.collection.get(include=[])["ids"] if signature[0] else []
                if self._bm25 is None or stamp_of(ids) != self._bm25.stamp:
                    log.info("Chroma collection changed on the server; rebuilding the BM25 index")
                    self.rebuild_bm25()
                self._synced = signature
            self._checked_at = time.monotonic()

    def _mark_changed(self) -> None:
        """Server mode: tell other processes (via the collection metadata) that chunks changed."""
        if not self.remote:
            return
        meta = self.client.get_collection(name=self.settings.collection).metadata or {}
        meta = {
            k: v for k, v in meta.items() if not k.startswith("hnsw:")
        }  # immutable, refused by modify
        meta[VERSION_KEY] = uuid.uuid4().hex[:16]
        self.collection.modify(metadata=meta)
        with self._bm25_lock:
            self._synced, self._checked_at = (
                (self.count(), str(meta[VERSION_KEY])),
                time.monotonic(),
            )

    def _load_or_rebuild_bm25(self) -> BM25Index:
        folder = self.dir / "bm25"
        ids = self.collection.get(include=[])["ids"] if self.count() else []
        if folder.exists():
            try:
                index = BM25Index.load(folder)
                if index.stamp == stamp_of(ids):
                    return index
                log.info("BM25 index is stale (Chroma changed); rebuilding")
            except IndexCorruptError as e:
                log.warning("%s — rebuilding it from Chroma", e)
        return self.rebuild_bm25()

    def rebuild_bm25(self) -> BM25Index:
        ids, docs, metas = self.all_chunks()
        texts = [
            embedding_text(d, str(m.get("title", "")), str(m.get("section_path", "")))
            for d, m in zip(docs, metas, strict=True)
        ]
        index = BM25Index.build(ids, texts, metas)
        with self.lock.try_hold() as free:
            if free:  # a reader saves only when no writer is at work
                index.save(self.dir / "bm25")
        self._bm25 = index
        return index

    def _remove_leftovers(self) -> None:
        """Folders a BM25 swap (``BM25Index.save``) leaves when its process dies half-way."""
        for name in ("bm25.old", "bm25.tmp"):
            leftover = self.dir / name
            if leftover.exists():
                log.warning("删除上次中断留下的 %s", leftover)
                shutil.rmtree(leftover, ignore_errors=True)

    # ---------------------------------------------------------------- writing

    def ingest(
        self,
        paths: Sequence[Path],
        prune: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
        page_progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        """Index every supported file under ``paths`` under the writer lock; see the module docstring.

        ``progress(n, total, path)`` is called per file, ``page_progress(path, page, pages)``
        per page that is OCR'd (or read from the OCR cache).
        """
        with self.writing():
            return self._ingest(paths, prune, progress, page_progress)

    def _ingest(
        self,
        paths: Sequence[Path],
        prune: bool,
        progress: Callable[[int, int, str], None] | None,
        page_progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        from langchain_core.indexing import index as lc_index

        t0 = time.perf_counter()
        report = IngestReport()
        existing = self.doc_hashes()
        listing = list_files([Path(p) for p in paths])
        files = listing.files
        report.failed.extend(listing.unreadable)
        report.files.extend(
            FileReport(path, "failed", reason=reason) for path, reason in listing.unreadable
        )
        catalogs: dict[Path, dict] = {}
        seen_docs: set[str] = set()
        failed_sources: set[str] = set()
        max_bytes = int(self.settings.max_file_mb * 1e6)
        ocr = OcrSettings(
            self.settings.ocr_cache_dir, self.settings.ocr_min_confidence, page_progress
        )
        for n, (path, explicit) in enumerate(files, start=1):
            if progress:
                progress(n, len(files), str(path))
            if path.suffix.lower() not in SUPPORTED and not explicit:
                report.problems.append((str(path), f"不支持的文件类型“{path.suffix}”，已跳过"))
                report.files.append(FileReport(str(path), "skipped", reason=report.problems[-1][1]))
                continue
            cat_dir = path.parent
            if cat_dir not in catalogs:
                catalogs[cat_dir] = load_catalog(cat_dir / CATALOG_NAME)
            try:
                docs, problems = read_documents(path, catalogs[cat_dir], max_bytes, ocr)
            except PolicyQAError as e:
                report.failed.append((str(path), str(e)))
                failed_sources.add(str(path))
                report.files.append(FileReport(str(path), "failed", reason=str(e)))
                continue
            except Exception as e:  # a loader bug must not stop the batch
                log.exception("unexpected failure reading %s", path)
                report.failed.append((str(path), f"读取失败：{type(e).__name__}: {e}"))
                failed_sources.add(str(path))
                report.files.append(FileReport(str(path), "failed", reason=report.failed[-1][1]))
                continue
            report.problems.extend((str(path), p) for p in problems)
            marks = (
                len(report.added),
                len(report.updated),
                len(report.unchanged),
                len(report.failed),
                report.chunks_written,
            )
            for doc in docs:
                if doc.doc_id in seen_docs:
                    report.failed.append((str(path), f"文档编号重复：{doc.doc_id}"))
                    continue
                seen_docs.add(doc.doc_id)
                self._index_document(doc, existing, report, lc_index)
            report.files.append(_file_report(str(path), report, marks, problems))
        if prune:
            self._prune(
                paths,
                seen_docs,
                failed_sources | {p for p, _ in listing.unreadable},
                existing,
                report,
            )
        if report.added or report.updated or report.removed:
            self.rebuild_bm25()
            self._mark_changed()
        elif self._bm25_missing():
            self.rebuild_bm25()
        report.seconds = time.perf_counter() - t0
        return report

    def _bm25_missing(self) -> bool:
        return not (self.dir / "bm25").exists()

    def _index_document(
        self, doc: Document, existing: dict, report: IngestReport, lc_index: Any
    ) -> None:
        doc_hash = hashlib.sha256(
            f"{doc.content_hash}/{self.chunker_signature}".encode()
        ).hexdigest()[:16]
        before = existing.get(doc.doc_id)
        if before and before[0] == doc_hash:
            report.unchanged.append(doc.doc_id)
            return
        chunks = chunk_document(doc, self.settings.chunk_size, self.settings.min_section_chars)
        lc_docs = [
            LCDocument(page_content=c.text, metadata=chunk_metadata(c, doc_hash)) for c in chunks
        ]
        # the document's chunks before this write: only those may be dropped as foreign after it
        # (another process writing another version right now must not lose its chunks)
        before_ids = self._chunk_ids_of(doc.doc_id) if before else set()
        try:
            result = lc_index(
                lc_docs,
                self.records,
                self.store,
                cleanup="incremental",
                source_id_key="doc_id",
                batch_size=max(len(lc_docs), 1),
                key_encoder="sha256",
            )
        except ChromaUnavailableError:
            raise  # not this document's fault: stop the batch
        except Exception as e:
            log.exception("indexing %s failed", doc.doc_id)
            report.failed.append(
                (doc.doc_id, f"写入索引失败（原有内容保持不变）：{type(e).__name__}: {e}")
            )
            return
        report.chunks_written += result["num_added"] + result["num_updated"]
        report.chunks_deleted += result["num_deleted"] + self._drop_foreign_chunks(
            doc.doc_id, before_ids
        )
        (report.updated if before else report.added).append(doc.doc_id)

    def _chunk_ids_of(self, doc_id: str) -> set[str]:
        return set(self.collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def _drop_foreign_chunks(self, doc_id: str, before_ids: set[str]) -> int:
        """Delete chunks of ``doc_id`` that were there before this write and are not part of it.

        The record manager is per index dir; in server mode another process may have written
        an earlier version of the document, whose chunks the incremental cleanup cannot see.
        Chunks that appeared during this write belong to a process writing another version at
        the same moment: they stay (``check`` reports the document as mixed, and the next
        ingest of its file rewrites it), where deleting them could leave the document empty.
        """
        if not before_ids:
            return 0
        current = set(self.records.list_keys(group_ids=[doc_id]))
        stale = sorted(
            i for i in self._chunk_ids_of(doc_id) if i not in current and i in before_ids
        )
        if stale:
            self.collection.delete(ids=stale)
        return len(stale)

    def delete_documents(self, doc_ids: Sequence[str]) -> int:
        """Remove documents (all their chunks) from Chroma and the record manager; BM25 follows."""
        deleted = 0
        with self.writing():
            for doc_id in doc_ids:
                keys = self.records.list_keys(group_ids=[doc_id])
                got = self.collection.get(where={"doc_id": doc_id}, include=[])
                stale = sorted(set(keys) | set(got["ids"]))
                if stale:
                    self.collection.delete(ids=stale)
                    self.records.delete_keys(keys)
                    deleted += len(stale)
            if deleted:
                self.rebuild_bm25()
                self._mark_changed()
        return deleted

    def _prune(
        self,
        paths: Sequence[Path],
        seen: set[str],
        unchecked: set[str],
        existing: dict,
        report: IngestReport,
    ) -> None:
        """Remove documents under ``paths`` whose files are gone.

        Never a document whose file (or a folder above it) is in ``unchecked`` (could not be
        read or listed), nor one whose file cannot be confirmed missing (``confirmed_gone``):
        a file whose existence cannot be checked stays, and is a failure in the report.
        """
        roots = [Path(p).resolve() for p in paths]
        blind = [Path(p).resolve() for p in unchecked]
        gone = []
        for doc_id, (_, source) in existing.items():
            if doc_id in seen or not source:
                continue
            src = Path(source).resolve()
            if not any(src == r or r in src.parents for r in roots):
                continue
            if any(src == b or b in src.parents for b in blind):
                continue
            state = file_state(source)
            if state != "unknown":  # gone, or read and no longer holding this document
                gone.append(doc_id)
            elif all(str(source) != p for p, _ in report.failed):
                report.failed.append((source, "无法确认文件是否还在（没有读取权限），其文档未删除"))
        report.chunks_deleted += self.delete_documents(gone)
        report.removed.extend(gone)

    # ---------------------------------------------------------------- consistency check (policyqa check)
    # New methods only (added for `policyqa check [--repair]` and crash recovery).

    def record_groups(self) -> dict[str, str | None]:
        """Every record-manager key of this collection → its group (the doc id)."""
        from langchain_classic.indexes._sql_record_manager import UpsertionRecord

        with self.records._make_session() as session:
            rows: list[Any] = (
                session.query(UpsertionRecord.key, UpsertionRecord.group_id)
                .filter(UpsertionRecord.namespace == self.records.namespace)
                .all()
            )
        return {str(k): g for k, g in rows}

    def check(self) -> CheckReport:
        """Compare Chroma, the record manager, the BM25 stamp and the manifest; change nothing.

        In server mode the record manager is per process (other writers' chunks have no key
        here), so Chroma ids and record keys are not compared there.
        """
        report = CheckReport()
        ids, _, metas = self.all_chunks(include_documents=False)
        report.chunks = len(ids)
        keys = self.record_groups()
        report.record_keys = len(keys)
        remote = self.remote
        id_set = set(ids)
        by_doc: dict[str, list[tuple[str, dict]]] = {}
        for i, m in zip(ids, metas, strict=True):
            by_doc.setdefault(str(m.get("doc_id", "")), []).append((i, m))
        report.documents = len([d for d in by_doc if d])
        bad_docs: dict[str, str] = {}
        for doc_id, rows in list(by_doc.items()):
            if not doc_id:
                for i, _ in rows:
                    report.add("orphan_vector", i, "向量没有所属文档（缺少 doc_id）")
                continue
            by_doc[doc_id] = _check_doc(report, doc_id, rows, keys, remote, bad_docs)
        _check_missing(report, keys, id_set, remote, by_doc, bad_docs)
        # a doc whose only problem is orphan vectors of its own, and which is otherwise whole,
        # gets its record keys back; any other problem: the doc is deleted for the next ingest
        report.rekey = {
            i: d
            for d, why in bad_docs.items()
            if why == "orphan"
            for i, _ in by_doc[d]
            if i not in keys
        }
        report.delete_docs = sorted(d for d, why in bad_docs.items() if why != "orphan")
        report.orphan_ids.extend(i for i, _ in by_doc.get("", []))
        self._check_bm25(report, ids)
        self._check_manifest(report)
        return report

    def _check_bm25(self, report: CheckReport, ids: Sequence[str]) -> None:
        """BM25 versus Chroma: the keyword index exists, loads, and covers exactly ``ids``."""
        folder = self.dir / "bm25"
        if not folder.exists():
            if ids:
                report.add("bm25", "bm25", "关键词索引不存在")
            report.rebuild_bm25 = True
        else:
            try:
                bm = BM25Index.load(folder)
                if bm.stamp != stamp_of(ids):
                    report.add(
                        "bm25",
                        "bm25",
                        f"关键词索引与 Chroma 不一致（{len(bm)} 对 {len(ids)} 个分块）",
                    )
                    report.rebuild_bm25 = True
            except IndexCorruptError as e:
                report.add("bm25", "bm25", str(e))
                report.rebuild_bm25 = True

    def _check_manifest(self, report: CheckReport) -> None:
        """The manifest versus the settings and the collection's own embedder stamp."""
        try:
            data = self._read_manifest() or {}
        except IndexCorruptError as e:
            data = {}
            report.add("manifest", "manifest.json", str(e))
        coll = self.collection.metadata or {}
        want = {
            "embedder": self.settings.embedder,
            "embedder_name": self.embedder_name,
            "dim": self.dim,
            "collection": self.settings.collection,
            "format_version": FORMAT_VERSION,
        }
        for key, value in want.items():
            if data.get(key) != value:
                report.add(
                    "manifest", "manifest.json", f"清单字段 {key}={data.get(key)!r}，应为 {value!r}"
                )
                report.rewrite_manifest = True
        if coll.get("policyqa_embedder") not in (None, self.embedder_name):
            report.add(
                "manifest",
                "collection",
                f"集合的嵌入模型为“{coll.get('policyqa_embedder')}”，"
                f"与当前“{self.embedder_name}”不符（无法自动修复，请重新导入到新目录）",
            )

    def repair(self, report: CheckReport | None = None) -> CheckReport:
        """Fix what ``check`` found, then check again and return the new report.

        Duplicated, half-written or key-less documents are deleted whole (chunks and
        records) so the next ingest rebuilds them; whole documents that only lost their
        record keys get them back; keys without vectors are dropped; BM25 is rebuilt and
        the manifest rewritten.
        """
        with self.writing():
            return self._repair(report or self.check())

    def _repair(self, report: CheckReport) -> CheckReport:
        if report.rekey:
            pairs = sorted(report.rekey.items())
            self.records.update([i for i, _ in pairs], group_ids=[d for _, d in pairs])
        if report.stale_keys:
            self.records.delete_keys(report.stale_keys)
        if report.orphan_ids:
            self.collection.delete(ids=report.orphan_ids)
        for doc_id in report.delete_docs:
            keys = self.records.list_keys(group_ids=[doc_id])
            got = self.collection.get(where={"doc_id": doc_id}, include=[])
            if got["ids"]:
                self.collection.delete(ids=got["ids"])
            if keys:
                self.records.delete_keys(keys)
        if report.rewrite_manifest or any(
            f.kind == "manifest" and f.subject == "manifest.json" for f in report.findings
        ):
            if self.manifest_path.exists():
                try:
                    self._read_manifest()
                except IndexCorruptError:
                    self.manifest_path.replace(self.manifest_path.with_suffix(".json.corrupt"))
            self._write_manifest()
        self.rebuild_bm25()
        if (report.orphan_ids or report.delete_docs) and hasattr(self, "_mark_changed"):
            self._mark_changed()  # server mode: other processes rebuild their BM25
        after = self.check()
        after.repaired = [f"删除文档（请重新导入）：{d}" for d in report.delete_docs]
        return after

    @property
    def ingest_marker(self) -> Path:
        """The unfinished-write flag (``rag.store.locking``): present while a write runs or after one died."""
        return self.lock.unfinished_flag

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index's writer lock (``rag.store.locking``) for a write; re-entrant.

        Taking it when the previous write did not finish (its process died) checks and repairs
        the index first, so the write starts from a consistent state. A second process gets
        ``IndexBusyError`` ("另一个导入正在进行（pid …）") after ``write_wait_seconds``.
        """
        with self.lock.hold(self.settings.write_wait_seconds) as unfinished:
            outermost = self.lock.depth == 1
            if (
                outermost
                and not self.remote
                and read_generation(self.dir) not in (self._generation, self.lock.last_written)
            ):
                with self._bm25_lock:  # another process wrote since: write through a fresh client
                    self._reopen_store()
                    self._bm25 = None
            if unfinished and self.remote:
                # another host may be writing to the shared server right now: do not delete anything
                log.warning(
                    "上次导入未正常结束（%s）；服务器模式下不自动修复，请在没有其他导入时运行 policyqa check --repair",
                    self.ingest_marker,
                )
            elif unfinished:
                log.warning("上次导入未正常结束（%s），先检查并修复索引", self.ingest_marker)
                first = self.check()
                if not first.ok:
                    self.repair(first)
            if outermost:
                self._remove_leftovers()
            yield
        if not self.lock.held_here():
            self._generation = read_generation(self.dir)


@dataclass
class Finding:
    kind: str  # orphan_vector / duplicate_chunk / mixed_versions / incomplete_doc / missing_vector / bm25 / manifest
    subject: str
    detail: str


@dataclass
class CheckReport:
    """What ``PolicyIndex.check`` found, and what ``repair`` would do about it."""

    findings: list[Finding] = field(default_factory=list)
    chunks: int = 0
    documents: int = 0
    record_keys: int = 0
    delete_docs: list[str] = field(default_factory=list)
    rekey: dict[str, str] = field(default_factory=dict)  # chroma id → doc id
    stale_keys: list[str] = field(default_factory=list)
    orphan_ids: list[str] = field(default_factory=list)
    rebuild_bm25: bool = False
    rewrite_manifest: bool = False
    repaired: list[str] = field(default_factory=list)

    def add(self, kind: str, subject: str, detail: str) -> None:
        self.findings.append(Finding(kind, subject, detail))

    @property
    def ok(self) -> bool:
        return not self.findings


def _check_doc(
    report: CheckReport,
    doc_id: str,
    rows: list[tuple[str, dict]],
    keys: dict[str, str | None],
    remote: bool,
    bad_docs: dict[str, str],
) -> list[tuple[str, dict]]:
    """Check one document's chunks (Chroma id, metadata): duplicate copies, vectors without
    or with another document's record, mixed versions, gaps in the ordinals. Findings go to
    ``report``, why the document is bad to ``bad_docs``; returns its rows without the
    leftover copies (which go to ``report.orphan_ids``)."""
    extra = _check_duplicates(report, doc_id, rows, keys, bad_docs)
    report.orphan_ids.extend(sorted(extra))
    rows = [(i, m) for i, m in rows if i not in extra]
    for i, _ in rows:
        if (
            remote
        ):  # each process has its own record manager: other writers' chunks have no key here
            continue
        if i not in keys:
            report.add("orphan_vector", doc_id, f"向量 {i} 没有对应的记录（record manager）")
            bad_docs.setdefault(doc_id, "orphan")
        elif keys[i] != doc_id:
            report.add("orphan_vector", doc_id, f"向量 {i} 的记录属于另一文档“{keys[i]}”")
            bad_docs[doc_id] = "group"
    hashes = {str(m.get("doc_hash", "")) for _, m in rows}
    if len(hashes) > 1:
        report.add(
            "mixed_versions",
            doc_id,
            f"同一文档混有 {len(hashes)} 个版本的分块（导入中断？）",
        )
        bad_docs[doc_id] = "mixed"
    ordinals = sorted({int(m.get("ordinal", -1)) for _, m in rows})
    if ordinals != list(range(len(ordinals))):
        report.add("incomplete_doc", doc_id, "文档分块不完整（序号不连续）")
        bad_docs[doc_id] = "incomplete"
    return rows


def _check_duplicates(
    report: CheckReport,
    doc_id: str,
    rows: list[tuple[str, dict]],
    keys: dict[str, str | None],
    bad_docs: dict[str, str],
) -> set[str]:
    """Report chunks of ``doc_id`` stored more than once; returns the leftover copies to delete.

    Copies a, b of one chunk, only a with a record of this document → {"b"}; when none or
    several copies have a record, the document is marked bad ("duplicate") and nothing returned.
    """
    copies: dict[str, list[str]] = {}
    for i, m in rows:
        copies.setdefault(str(m.get("chunk_id", "")), []).append(i)
    extra: set[str] = set()
    for cid, group in copies.items():
        if len(group) < 2:
            continue
        keyed = [i for i in group if keys.get(i) == doc_id]
        report.add(
            "duplicate_chunk",
            doc_id,
            f"分块 {cid} 重复 {len(group)} 次（{', '.join(group)}）",
        )
        if len(keyed) == 1:  # the copies without a record are leftovers: delete them
            extra.update(i for i in group if i not in keyed)
        else:
            bad_docs[doc_id] = "duplicate"
    return extra


def _check_missing(
    report: CheckReport,
    keys: dict[str, str | None],
    id_set: set[str],
    remote: bool,
    by_doc: dict[str, list[tuple[str, dict]]],
    bad_docs: dict[str, str],
) -> None:
    """Report record keys without a vector in Chroma, per document; they become
    ``report.stale_keys`` and a document that still has chunks is marked bad ("missing")."""
    missing: dict[str, list[str]] = {}
    for k, g in keys.items():
        if k not in id_set and not remote:
            missing.setdefault(g or "", []).append(k)
    for g, ks in missing.items():
        report.add("missing_vector", g or "?", f"{len(ks)} 条记录在 Chroma 中没有向量")
        if g in by_doc:
            bad_docs[g] = "missing"
    report.stale_keys = [k for g, ks in missing.items() for k in ks]
