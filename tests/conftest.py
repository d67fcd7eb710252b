"""Shared fixtures: the real e5 embedder (loaded once), settings on tmp_path, the seed corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


class CountingEmbeddings(Embeddings):
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: E5Embeddings) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture(scope="session")
def e5() -> E5Embeddings:
    return E5Embeddings()


@pytest.fixture
def counting(e5: E5Embeddings) -> CountingEmbeddings:
    return CountingEmbeddings(e5)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def corpus_qa(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    """The seed corpus ingested once into a session index."""
    base = tmp_path_factory.mktemp("corpus_index")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    qa = PolicyQA(Settings(index_dir=base / "index"), embeddings=e5)
    report = qa.ingest([corpus])
    assert report.ok, report.failed
    return qa
