"""The index with the real e5 embedder and a real embedded Chroma: incremental ingest,
prune, per-file failures that lose nothing, the manifest check, and search on the seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.errors import IndexMismatchError
from rag.service import PolicyQA
from rag.settings import Settings
from tests.conftest import CORPUS, CountingEmbeddings
from tests.files import POLICY_TEXT, make_pdf, make_scanned_pdf

NOTICE = "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n（六）招商六组。\n\n牵头领导：孙起鹏。\n\n牵头单位：市工业和信息化局。"
OPINION = "郑州市人民政府文件\n\n郑政〔2018〕15号\n\n一、提高认识\n\n（一）国内外500强企业投资5亿元以上项目及时上报市商务局。"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def chunk_ids(qa: PolicyQA) -> list[str]:
    return sorted(m["chunk_id"] for m in qa.index.all_chunks(include_documents=False)[2])


def test_incremental_reingest_edit_and_prune(
    tmp_path: Path, settings: Settings, counting: CountingEmbeddings
):
    docs = tmp_path / "docs"
    write(docs, "notice.txt", NOTICE)
    write(docs, "opinion.txt", OPINION)
    qa = PolicyQA(settings, embeddings=counting)
    first = qa.ingest([docs])
    assert sorted(first.added) == ["notice", "opinion"] and first.ok
    assert counting.embedded > 0
    ids_before = chunk_ids(qa)

    counting.embedded = 0
    second = PolicyQA(settings, embeddings=counting).ingest([docs])
    assert sorted(second.unchanged) == ["notice", "opinion"]
    assert counting.embedded == 0 and second.chunks_written == 0
    assert chunk_ids(qa) == ids_before

    write(docs, "opinion.txt", OPINION.replace("5亿元", "10亿元"))
    third = qa.ingest([docs])
    assert third.updated == ["opinion"] and third.unchanged == ["notice"]
    texts = qa.index.all_chunks()[1]
    assert any("10亿元" in t for t in texts) and not any("5亿元以上" in t for t in texts)
    assert len(chunk_ids(qa)) == len(ids_before)  # replaced whole, no leftovers

    (docs / "notice.txt").unlink()
    kept = qa.ingest([docs])  # without --prune nothing is removed
    assert kept.removed == [] and "notice" in {d["doc_id"] for d in qa.documents()}
    pruned = qa.ingest([docs], prune=True)
    assert pruned.removed == ["notice"]
    assert {d["doc_id"] for d in qa.documents()} == {"opinion"}
    assert all(h.doc_id == "opinion" for h in qa.search("孙起鹏", k=5))


def test_bad_files_are_reported_and_nothing_indexed_is_lost(tmp_path: Path, settings: Settings, e5):
    docs = tmp_path / "docs"
    write(docs, "notice.txt", NOTICE)
    qa = PolicyQA(settings, embeddings=e5)
    qa.ingest([docs])
    before = chunk_ids(qa)

    (docs / "empty.txt").write_bytes(b"")
    (docs / "garbage.txt").write_bytes(bytes(range(256)) * 50)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage" * 20)
    make_scanned_pdf(docs / "scan.pdf")
    (docs / "notes.xyz").write_text("?", encoding="utf-8")
    write(docs, "big.txt", "招商" * 2_000_000)
    make_pdf(docs / "good.pdf", [POLICY_TEXT])
    (docs / "notice.txt").write_bytes(b"")  # an indexed file that became empty must not be dropped
    settings.max_file_mb = 1.0
    report = PolicyQA(settings, embeddings=e5).ingest([docs, tmp_path / "missing.txt"], prune=True)
    reasons = dict(report.failed)
    assert set(reasons) == {
        str(docs / n)
        for n in ("empty.txt", "garbage.txt", "broken.pdf", "scan.pdf", "big.txt", "notice.txt")
    } | {str(tmp_path / "missing.txt")}
    assert "OCR" in reasons[str(docs / "scan.pdf")] and "文件过大" in reasons[str(docs / "big.txt")]
    assert any("不支持的文件类型" in p for _, p in report.problems)
    assert report.added == ["good"] and report.removed == []
    assert set(before) <= set(chunk_ids(qa))


def test_opening_with_another_embedder_is_a_clear_error(tmp_path: Path, settings: Settings, e5):
    docs = tmp_path / "docs"
    write(docs, "notice.txt", NOTICE)
    PolicyQA(settings, embeddings=e5).ingest([docs])
    other = settings.model_copy(update={"embedder": "st:/models/bge-small-zh"})
    with pytest.raises(IndexMismatchError, match="e5-small.*st:/models/bge-small-zh"):
        PolicyQA(other).index  # noqa: B018
    manifest = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert (
        manifest["embedder"] == "e5-small"
        and manifest["dim"] == 384
        and manifest["chunker_version"]
    )


def test_corrupt_bm25_is_rebuilt_from_chroma(tmp_path: Path, settings: Settings, e5):
    docs = tmp_path / "docs"
    write(docs, "notice.txt", NOTICE)
    PolicyQA(settings, embeddings=e5).ingest([docs])
    (settings.index_dir / "bm25" / "chunks.json").write_text("{oops", encoding="utf-8")
    hits = PolicyQA(settings, embeddings=e5).search("孙起鹏", retriever="bm25")
    assert hits and "孙起鹏" in hits[0].text


def test_seed_corpus_answers_who_leads_group_six(corpus_qa: PolicyQA):
    hit = corpus_qa.search("招商六组的牵头领导是谁", k=5)[0]
    assert hit.doc_number == "焦政办〔2020〕9号"
    assert "招商六组" in hit.section_path and "孙起鹏" in hit.text
    assert hit.dense_rank is not None and hit.bm25_rank is not None


def test_seed_corpus_chunks_are_clean(corpus_qa: PolicyQA):
    texts = corpus_qa.index.all_chunks()[1]
    assert texts and not any(bad in t for t in texts for bad in ("，，", "。。"))
    hits = corpus_qa.search("招商引资五大弊病", k=3)
    assert any("一是新官不理旧账。即前任谈的项目，后任不愿跟踪" in h.text for h in hits)


def test_filters_apply_in_both_retrievers(corpus_qa: PolicyQA):
    for retriever in ("dense", "bm25", "hybrid"):
        hits = corpus_qa.search(
            "招商引资工作机制", k=5, filters={"region": "郑州"}, retriever=retriever
        )
        assert hits and all("郑州" in h.region for h in hits), retriever
        hits = corpus_qa.search(
            "招商", k=3, filters={"kind": ["news"], "date_to": "2018"}, retriever=retriever
        )
        assert hits and all(h.kind == "news" for h in hits), retriever


def test_index_copy_reopens_without_reembedding(
    corpus_qa: PolicyQA, tmp_path: Path, counting: CountingEmbeddings
):
    copy = tmp_path / "copy"
    shutil.copytree(corpus_qa.settings.index_dir, copy)
    qa = PolicyQA(Settings(index_dir=copy), embeddings=counting)
    assert qa.ingest([CORPUS]).added == [] and counting.embedded == 0
