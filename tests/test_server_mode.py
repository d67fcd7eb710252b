"""Chroma server mode against a real ``chroma run`` subprocess: ingest and answer through it,
a second process (another index dir) shares the chunks and follows changes, a server
restart is survived, and a server that is down is a clear 503, recovered without restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.errors import ChromaUnavailableError
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.conftest import CORPUS
from tests.servers import LiveServer, free_port

CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "招商六组的牵头领导是谁？"
NOTICE = "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n（六）招商六组。\n\n牵头领导：孙起鹏。\n\n牵头单位：市工业和信息化局。"
EXTRA = (
    "测试市人民政府文件\n\n测政〔2024〕1号\n\n一、总则\n\n鲲鹏翱翔示范园区对入驻企业给予租金减免。"
)

pytestmark = pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI is not installed")


class ChromaServer:
    """``chroma run`` on a fixed path and port, stoppable and restartable."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(CHROMA),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chroma run exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"chroma run did not answer its heartbeat: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    base = tmp_path_factory.mktemp("chroma_server")
    server = ChromaServer(base / "data", base / "chroma.log")
    server.start()
    yield server
    server.stop()


def settings(tmp: Path, url: str, collection: str) -> Settings:
    return Settings(index_dir=tmp, chroma_url=url, collection=collection, chroma_check_seconds=0)


def chunk_ids(qa: PolicyQA) -> list[str]:
    return sorted(qa.index.all_chunks(include_documents=False)[0])


def test_two_processes_share_one_server_through_a_restart(
    tmp_path: Path, chroma: ChromaServer, e5: E5Embeddings
):
    from app import create_server

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    qa = PolicyQA(settings(tmp_path / "a", chroma.url, "shared"), embeddings=e5)
    report = qa.ingest([corpus])
    assert report.ok and report.added, report.failed
    answer = qa.ask(QUESTION)
    assert answer.answered and "孙起鹏" in answer.text
    assert qa.stats()["chroma"] == chroma.url
    assert not (tmp_path / "a" / "chroma").exists()  # nothing embedded on disk

    other = PolicyQA(settings(tmp_path / "b", chroma.url, "shared"), embeddings=e5)
    assert chunk_ids(other) == chunk_ids(qa)
    assert "孙起鹏" in other.ask(QUESTION).text
    for flt in (
        {"region": "许昌"},
        {"kind": ["policy_notice", "news"]},
    ):  # filtered dense search over HTTP
        hits = other.search(QUESTION, filters=flt, retriever="dense")
        assert hits and hits == qa.search(QUESTION, filters=flt, retriever="dense"), flt
    assert all(
        "许昌" in h.region
        for h in other.search(QUESTION, filters={"region": "许昌"}, retriever="dense")
    )
    again = other.ingest(
        [corpus]
    )  # its own (empty) record manager: the doc hashes in Chroma decide
    assert sorted(again.unchanged) == sorted(report.added) and again.chunks_written == 0
    assert chunk_ids(other) == chunk_ids(qa)

    chroma.stop()
    chroma.start()
    assert "孙起鹏" in qa.ask(QUESTION).text

    with (
        LiveServer(create_server(qa.settings, qa)) as url,
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        assert client.get("/healthz").json()["status"] == "ok"
        chroma.stop()
        try:
            health = client.get("/healthz")
            assert health.status_code == 503
            assert (
                health.json()["status"] == "error" and "无法连接 Chroma" in health.json()["detail"]
            )
            r = client.post("/api/ask", json={"question": QUESTION})
            assert r.status_code == 503 and "无法连接 Chroma" in r.json()["detail"], r.text
            r = client.post("/api/search", json={"query": QUESTION})
            assert r.status_code == 503 and "无法连接 Chroma" in r.json()["detail"], r.text
            with pytest.raises(ChromaUnavailableError):
                other.search(QUESTION)
        finally:
            chroma.start()
        assert client.get("/healthz").status_code == 200
        r = client.post("/api/ask", json={"question": QUESTION})
        assert r.status_code == 200 and "孙起鹏" in r.json()["answer"]


def test_opening_with_the_server_down_fails_clearly_then_recovers(
    tmp_path: Path, chroma: ChromaServer, e5: E5Embeddings
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text(NOTICE, encoding="utf-8")
    qa = PolicyQA(settings(tmp_path / "a", chroma.url, "reopen"), embeddings=e5)
    chroma.stop()
    try:
        with pytest.raises(ChromaUnavailableError, match="无法连接 Chroma"):
            qa.ingest([docs])
    finally:
        chroma.start()
    assert qa.ingest([docs]).added == ["notice"]
    assert "孙起鹏" in qa.ask(QUESTION).text


def test_bm25_follows_changes_made_by_another_process(
    tmp_path: Path, chroma: ChromaServer, e5: E5Embeddings
):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for folder in (mine, theirs):
        folder.mkdir()
        (folder / "notice.txt").write_text(NOTICE, encoding="utf-8")
    reader = PolicyQA(settings(tmp_path / "a", chroma.url, "follow"), embeddings=e5)
    assert reader.ingest([mine]).added == ["notice"]
    before = chunk_ids(reader)
    assert not reader.search("鲲鹏翱翔示范园区", retriever="bm25")

    writer = PolicyQA(settings(tmp_path / "b", chroma.url, "follow"), embeddings=e5)
    (theirs / "extra.txt").write_text(EXTRA, encoding="utf-8")
    report = writer.ingest([theirs])
    assert report.added == ["extra"] and report.unchanged == ["notice"]
    hits = reader.search("鲲鹏翱翔示范园区", retriever="bm25")  # the reader's BM25 was rebuilt
    assert hits and hits[0].doc_id == "extra"

    # the writer replaces a document the reader wrote: its record manager never saw the old
    # chunks, yet none are left behind
    (theirs / "notice.txt").write_text(NOTICE.replace("孙起鹏", "李四海"), encoding="utf-8")
    changed = writer.ingest([theirs])
    assert changed.updated == ["notice"] and changed.ok
    notice = [
        t for t, m in zip(*reader.index.all_chunks()[1:], strict=True) if m["doc_id"] == "notice"
    ]
    assert notice and not any("孙起鹏" in t for t in notice) and any("李四海" in t for t in notice)
    assert len([i for i in chunk_ids(reader) if i not in before]) >= 1
    assert "李四海" in reader.ask(QUESTION).text


def test_two_processes_writing_two_versions_at_once_lose_neither(
    tmp_path: Path, chroma: ChromaServer, e5: E5Embeddings, monkeypatch: pytest.MonkeyPatch
):
    """Two admins upload different versions of one document through two app processes at the
    same moment: both writes land before either cleans up. Neither may delete the other's
    chunks (the document would vanish); `check` reports the document, and the next
    ingest of either file leaves exactly that version."""
    import threading

    from rag.store.index import PolicyIndex

    folders = [tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"]
    for folder, leader in zip(folders, ("孙起鹏", "李四海", "王五岳"), strict=True):
        folder.mkdir()
        (folder / "notice.txt").write_text(NOTICE.replace("孙起鹏", leader), encoding="utf-8")
    qa = [
        PolicyQA(settings(tmp_path / name, chroma.url, "race"), embeddings=e5)
        for name in ("a", "b")
    ]
    assert qa[0].ingest([folders[0]]).added == ["notice"]

    # each writer looks at the document's chunks twice: before writing and before cleaning up;
    # barriers around each look make both look, then both write, then both look and clean up
    in_step = threading.Barrier(2, timeout=120)
    look = PolicyIndex._chunk_ids_of

    def look_in_step(self: PolicyIndex, doc_id: str) -> set[str]:
        in_step.wait()
        ids = look(self, doc_id)
        in_step.wait()
        return ids

    monkeypatch.setattr(PolicyIndex, "_chunk_ids_of", look_in_step)
    reports: list = [None, None]

    def ingest(i: int) -> None:
        reports[i] = qa[i].ingest([folders[i + 1]])

    threads = [threading.Thread(target=ingest, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    monkeypatch.undo()
    assert all(r is not None and r.ok and r.updated == ["notice"] for r in reports), reports

    texts = [
        t for t, m in zip(*qa[0].index.all_chunks()[1:], strict=True) if m["doc_id"] == "notice"
    ]
    assert any("李四海" in t for t in texts) and any(
        "王五岳" in t for t in texts
    )  # neither version lost
    assert not any("孙起鹏" in t for t in texts)  # the old version is gone
    findings = qa[0].index.check().findings  # two versions of the same sections: reported
    assert any(
        f.kind in ("duplicate_chunk", "mixed_versions") and f.subject == "notice" for f in findings
    )

    again = qa[0].ingest([folders[2]])  # the file says 王五岳: rewritten, not "unchanged"
    assert again.updated == ["notice"] and again.ok
    texts = [
        t for t, m in zip(*qa[0].index.all_chunks()[1:], strict=True) if m["doc_id"] == "notice"
    ]
    assert texts and all("李四海" not in t for t in texts) and any("王五岳" in t for t in texts)
    assert qa[0].index.check().ok
