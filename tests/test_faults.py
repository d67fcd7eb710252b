"""Faults: an ingest killed with SIGKILL half-way, damaged BM25 files and a damaged manifest,
and `policyqa check [--repair]` finding and fixing what a crash leaves behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.errors import IndexCorruptError
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.index import PolicyIndex
from tests.conftest import CORPUS, ROOT

BIN = Path(sys.executable).parent / "policyqa"
REPORTS = ROOT.parent / "shared" / "corpus" / "extra" / "government_work_reports.jsonl"
NOTICE = "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n（六）招商六组。\n\n牵头领导：孙起鹏。\n\n牵头单位：市工业和信息化局。"
OPINION = "郑州市人民政府文件\n\n郑政〔2018〕15号\n\n一、提高认识\n\n（一）国内外500强企业投资5亿元以上项目及时上报市商务局。"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=900)


def chroma_rows(index_dir: Path) -> int:
    """Vectors Chroma has written so far, read from its SQLite file without opening a client."""
    db = index_dir / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return int(con.execute("select count(*) from embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


def small_index(tmp_path: Path, e5) -> tuple[Settings, PolicyQA]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (docs / "opinion.txt").write_text(OPINION, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    qa = PolicyQA(settings, embeddings=e5)
    assert qa.ingest([docs]).ok
    return settings, qa


@pytest.mark.slow
def test_ingest_killed_midway_ends_consistent_after_the_next_ingest(tmp_path: Path):
    if not REPORTS.exists():
        pytest.skip(f"{REPORTS} not available")
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    lines = [ln for ln in REPORTS.read_text(encoding="utf-8").splitlines() if ln.strip()][:5]
    (docs / "zz_reports.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(index_dir))

    proc = subprocess.Popen(
        [str(BIN), "ingest", str(docs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while chroma_rows(index_dir) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "ingest finished before it could be killed; give it more to do"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (index_dir / "ingest.running").exists()  # the marker says the run died

    again = run(["ingest", str(docs)], env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not (index_dir / "ingest.running").exists()
    check = run(["check"], env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "consistent" in check.stdout

    qa = PolicyQA(Settings(index_dir=index_dir))
    ids, _, metas = qa.index.all_chunks(include_documents=False)
    chunk_ids = [m["chunk_id"] for m in metas]
    assert len(chunk_ids) == len(set(chunk_ids))  # no duplicates
    assert set(qa.index.record_groups()) == set(ids)  # no orphans either way
    assert sorted(qa.index.bm25.ids) == sorted(ids)
    assert len({m["doc_id"] for m in metas}) == 35 + 5  # the seed corpus and the 5 reports
    hit = qa.search("招商六组的牵头领导是谁", k=3)[0]
    assert "孙起鹏" in hit.text
    assert qa.search("政府工作报告 国内生产总值", k=3, retriever="bm25")


def test_check_finds_and_repair_fixes_what_a_crash_leaves(tmp_path: Path, e5):
    settings, qa = small_index(tmp_path, e5)
    index = qa.index
    assert index.check().ok
    ids, docs, metas = index.all_chunks()
    notice = [
        (i, d, m) for i, d, m in zip(ids, docs, metas, strict=True) if m["doc_id"] == "notice"
    ]
    i0, d0, m0 = notice[0]
    vec = index.collection.get(ids=[i0], include=["embeddings"])["embeddings"]
    index.collection.add(
        ids=["leftover"], documents=[d0], metadatas=[m0], embeddings=vec
    )  # duplicate chunk
    opinion = [i for i, m in zip(ids, metas, strict=True) if m["doc_id"] == "opinion"]
    index.records.delete_keys(opinion[:1])  # orphan vector (written, record not)
    index.records.update(["ghost"], group_ids=["gone"])  # record without a vector

    report = index.check()
    kinds = {f.kind for f in report.findings}
    assert {"duplicate_chunk", "orphan_vector", "missing_vector", "bm25"} <= kinds and not report.ok

    env = dict(os.environ, POLICYQA_INDEX_DIR=str(settings.index_dir))
    found = run(["check"], env)
    assert (
        found.returncode == 1 and "duplicate_chunk" in found.stdout and "--repair" in found.stdout
    )
    fixed = run(["check", "--repair"], env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "consistent" in fixed.stdout

    reopened = PolicyQA(settings, embeddings=e5)
    after = reopened.index.check()
    assert after.ok and after.chunks == len(ids)  # the leftover went, nothing else did
    assert set(reopened.index.record_groups()) == set(ids)
    assert "孙起鹏" in reopened.search("孙起鹏", k=1, retriever="bm25")[0].text


def test_check_deletes_a_half_written_document_so_ingest_rebuilds_it(tmp_path: Path, e5):
    settings, qa = small_index(tmp_path, e5)
    index = qa.index
    ids, _, metas = index.all_chunks(include_documents=False)
    mine = [i for i, m in zip(ids, metas, strict=True) if m["doc_id"] == "notice"]
    index.collection.update(ids=mine[:1], metadatas=[{"doc_hash": "older"}])  # two versions mixed
    report = index.check()
    assert "mixed_versions" in {f.kind for f in report.findings} and report.delete_docs == [
        "notice"
    ]
    assert index.repair(report).ok
    assert "notice" not in {m["doc_id"] for m in index.all_chunks(include_documents=False)[2]}
    again = qa.ingest([tmp_path / "docs"])
    assert again.added == ["notice"] and index.check().ok


def test_crash_marker_makes_the_next_ingest_repair_first(tmp_path: Path, e5):
    settings, qa = small_index(tmp_path, e5)
    index = qa.index
    ids, docs, metas = index.all_chunks()
    index.collection.add(
        ids=["leftover"],
        documents=[docs[0]],
        metadatas=[metas[0]],
        embeddings=index.collection.get(ids=[ids[0]], include=["embeddings"])["embeddings"],
    )
    index.ingest_marker.write_text("999999999\n", encoding="utf-8")  # a dead ingest
    report = qa.ingest([tmp_path / "docs"])
    assert report.ok and not index.ingest_marker.exists()
    assert index.check().ok and index.count() == len(ids)


@pytest.mark.parametrize(
    "damage", ["garble_json", "truncate_json", "empty_model", "delete_model", "wrong_stamp"]
)
def test_damaged_bm25_is_detected_and_rebuilt_on_open(tmp_path: Path, e5, damage: str, caplog):
    settings, _ = small_index(tmp_path, e5)
    folder = settings.index_dir / "bm25"
    chunks = folder / "chunks.json"
    if damage == "garble_json":
        chunks.write_bytes(b"\xff\xfe garbage")
    elif damage == "truncate_json":
        chunks.write_bytes(chunks.read_bytes()[:40])
    elif damage == "empty_model":
        for f in (folder / "model").iterdir():
            f.write_bytes(b"")
    elif damage == "delete_model":
        shutil.rmtree(folder / "model")
    else:
        data = json.loads(chunks.read_text(encoding="utf-8"))
        data["ids"] = data["ids"][:1]
        chunks.write_text(json.dumps(data), encoding="utf-8")
    index = PolicyIndex(settings, e5)
    assert not index.check().ok  # `policyqa check` sees it
    with caplog.at_level("INFO"):
        hits = PolicyQA(settings, embeddings=e5).search("孙起鹏", k=1, retriever="bm25")
    assert hits and "孙起鹏" in hits[0].text
    assert "关键词索引" in caplog.text or "stale" in caplog.text
    assert PolicyIndex(settings, e5).check().ok  # rebuilt on disk too


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b"\x00\x01\x02", b"[1, 2]", b'{"format_version": 1}']
)
def test_damaged_manifest_is_a_clear_chinese_error(tmp_path: Path, e5, content: bytes):
    settings, _ = small_index(tmp_path, e5)
    manifest = settings.index_dir / "manifest.json"
    manifest.write_bytes(content)
    with pytest.raises(IndexCorruptError, match="索引清单文件损坏.*manifest.json.*policyqa ingest"):
        PolicyQA(settings, embeddings=e5).search("孙起鹏")
    manifest.unlink()  # what the message tells the user to do
    qa = PolicyQA(settings, embeddings=e5)
    assert "孙起鹏" in qa.search("孙起鹏", k=1)[0].text
    assert (
        qa.index.check().ok
        and json.loads(manifest.read_text(encoding="utf-8"))["embedder"] == "e5-small"
    )


@pytest.mark.slow
def test_cli_reports_a_damaged_manifest_on_stderr(tmp_path: Path, e5):
    settings, _ = small_index(tmp_path, e5)
    (settings.index_dir / "manifest.json").write_text("{oops", encoding="utf-8")
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(settings.index_dir))
    for args in (["search", "孙起鹏"], ["check"]):
        done = run(args, env)
        assert done.returncode == 2 and "索引清单文件损坏" in done.stderr, args
