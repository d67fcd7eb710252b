"""Writers as real processes: one writer at a time (the second is told who holds the index),
a write that died is repaired by the next writer whatever pid its flag names, a serving app
sees a CLI ingest into its index, and an unreadable folder is a failure that prune never
turns into deletions."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import create_server
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.servers import LiveServer

BIN = Path(sys.executable).parent / "policyqa"
NOTICE = "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n（六）招商六组。\n\n牵头领导：孙起鹏。\n\n牵头单位：市工业和信息化局。"
OPINION = "郑州市人民政府文件\n\n郑政〔2018〕15号\n\n一、提高认识\n\n（一）国内外500强企业投资5亿元以上项目及时上报市商务局。"
EXTRA = "关于设立青岚湖数字经济招商专班的通知\n\n一、专班组成\n\n青岚湖数字经济招商专班召集人：欧阳明远。"

# A writer that holds the index's lock, leaves an orphan vector as a half-done write would,
# says so, and waits to be killed. (Before the lock existed it could only leave its marker.)
HOLDER = """
import contextlib, os, time
from rag.service import PolicyQA
from rag.settings import Settings
qa = PolicyQA(Settings())
index = qa.index
with index.writing() if hasattr(index, "writing") else contextlib.nullcontext():
    if not hasattr(index, "writing"):  # the code before the lock: a marker with the pid was all
        index.ingest_marker.write_text(f"{os.getpid()}\\n", encoding="utf-8")
    ids, docs, metas = index.all_chunks()
    vec = index.collection.get(ids=[ids[0]], include=["embeddings"])["embeddings"]
    index.collection.add(ids=["half-written"], documents=[docs[0]], metadatas=[metas[0]], embeddings=vec)
    print("holding", flush=True)
    time.sleep(600)
"""


def env_for(index_dir: Path) -> dict[str, str]:
    return dict(os.environ, POLICYQA_INDEX_DIR=str(index_dir), POLICYQA_WRITE_WAIT_SECONDS="0")


def policyqa(
    args: list[str], env: dict[str, str], user: list[str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(user or []), str(BIN), *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (folder / "opinion.txt").write_text(OPINION, encoding="utf-8")
    return folder


def test_a_second_writer_is_refused_and_a_killed_writer_is_repaired_next(
    tmp_path: Path, docs: Path, e5: E5Embeddings
):
    env = env_for(tmp_path / "index")
    assert policyqa(["ingest", str(docs)], env).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        second = policyqa(["ingest", str(docs)], env)
        assert second.returncode == 2 and f"另一个导入正在进行（pid {holder.pid}" in second.stderr
        assert policyqa(["check", "--repair"], env).returncode == 2  # a repair is a write too
        settings = Settings(index_dir=tmp_path / "index", write_wait_seconds=0, corpus_dirs=[])
        with (
            LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url,
            httpx.Client(base_url=url, timeout=120) as c,
        ):  # the app's writes wait their turn too
            r = c.post("/api/documents", files=[("files", ("extra.txt", EXTRA.encode()))])
            assert (
                r.status_code == 409
                and f"另一个导入正在进行（pid {holder.pid}" in r.json()["detail"]
            )
            assert c.post("/api/reindex").status_code == 409
            assert c.delete("/api/documents/notice").status_code == 409
            assert (
                "孙起鹏" in c.post("/api/search", json={"query": "招商六组牵头领导"}).text
            )  # readers go on
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert policyqa(["check"], env).returncode == 1  # the half-done write is there
    third = policyqa(["ingest", str(docs)], env)
    assert third.returncode == 0, third.stderr
    assert policyqa(["check"], env).returncode == 0, (
        "the next writer repairs what the killed one left"
    )


def test_a_flag_naming_a_live_unrelated_pid_is_still_repaired(
    tmp_path: Path, docs: Path, e5: E5Embeddings
):
    env = env_for(tmp_path / "index")
    assert policyqa(["ingest", str(docs)], env).returncode == 0
    index = PolicyQA(Settings(index_dir=tmp_path / "index"), embeddings=e5).index
    ids, texts, metas = index.all_chunks()
    vec = index.collection.get(ids=[ids[0]], include=["embeddings"])["embeddings"]
    index.collection.add(
        ids=["half-written"], documents=[texts[0]], metadatas=[metas[0]], embeddings=vec
    )
    index.ingest_marker.write_text(f"{os.getppid()}\n", encoding="utf-8")  # alive, and not a writer
    assert policyqa(["check"], env).returncode == 1
    assert policyqa(["ingest", str(docs)], env).returncode == 0
    assert policyqa(["check"], env).returncode == 0


def test_the_app_sees_a_cli_ingest_into_the_index_it_serves(
    tmp_path: Path, docs: Path, e5: E5Embeddings
):
    env = env_for(tmp_path / "index")
    assert policyqa(["ingest", str(docs)], env).returncode == 0
    settings = Settings(index_dir=tmp_path / "index", chroma_check_seconds=0, corpus_dirs=[])
    with (
        LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        query = {"query": "青岚湖数字经济招商专班召集人", "k": 3}
        assert "欧阳明远" not in c.post("/api/search", json=query).text
        (docs / "extra.txt").write_text(EXTRA, encoding="utf-8")
        (docs / "opinion.txt").unlink()
        assert policyqa(["ingest", str(docs), "--prune"], env).returncode == 0
        for retriever in ("dense", "bm25"):
            hits = c.post("/api/search", json=query | {"retriever": retriever}).json()["results"]
            assert "欧阳明远" in hits[0]["text"], retriever
        dense = c.post(
            "/api/search",
            json={"query": "500强企业投资5亿元以上项目", "k": 5, "retriever": "dense"},
        )
        assert all("郑政" not in h["doc_number"] for h in dense.json()["results"]), (
            "a removed document is still found"
        )
        assert {d["doc_id"] for d in c.get("/api/documents").json()["documents"]} == {
            "notice",
            "extra",
        }


def _setpriv() -> list[str]:
    """Run a command as the unprivileged user nobody (tests run as root, who reads everything)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the CLI as an unprivileged user")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the user nobody may use (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="policyqa-nobody-"))
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_unreadable_folder_fails_and_prune_keeps_its_documents(shared_dir: Path):
    """The folder is made unreadable with chmod 000 and the CLI runs as nobody (setpriv), so
    the real listing meets a real PermissionError (os.access semantics: root would bypass it)."""
    as_nobody = _setpriv()
    docs = shared_dir / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "b").mkdir()
    (docs / "a" / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (docs / "b" / "opinion.txt").write_text(OPINION, encoding="utf-8")
    for path in (shared_dir, docs, docs / "a", docs / "b"):
        os.chmod(path, 0o777)
    env = dict(env_for(shared_dir / "index"), HOME=str(shared_dir))
    first = policyqa(["ingest", str(docs)], env, as_nobody)
    assert first.returncode == 0, first.stderr + first.stdout
    os.chmod(docs / "b", 0o000)
    try:
        pruned = policyqa(["ingest", str(docs), "--prune"], env, as_nobody)
        assert pruned.returncode == 1, pruned.stdout
        assert "无法读取文件夹" in pruned.stdout and "没有读取权限" in pruned.stdout
    finally:
        os.chmod(docs / "b", 0o777)
    stats = policyqa(["search", "500强企业投资5亿元以上项目", "--json", "-k", "3"], env, as_nobody)
    assert "郑政〔2018〕15号" in stats.stdout, (
        "prune deleted a document whose folder it could not read"
    )
    # once the folder is readable again and the file really gone, prune removes it
    (docs / "b" / "opinion.txt").unlink()
    again = policyqa(["ingest", str(docs), "--prune"], env, as_nobody)
    assert again.returncode == 0 and "opinion" in again.stdout


def test_the_app_reindex_keeps_documents_of_an_unreadable_corpus_folder(
    tmp_path: Path, e5: E5Embeddings, monkeypatch: pytest.MonkeyPatch
):
    """The app's re-index over real HTTP; the folder's listing raises PermissionError as it does
    for a user without the right (simulated: the tests run as root), through os.walk itself."""

    corpus = tmp_path / "corpus"
    (corpus / "b").mkdir(parents=True)
    (corpus / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (corpus / "b" / "opinion.txt").write_text(OPINION, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", corpus_dirs=[corpus])
    qa = PolicyQA(settings, embeddings=e5)
    assert qa.reindex().ok
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == corpus / "b":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    with (
        LiveServer(create_server(settings, qa)) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        body = c.post("/api/reindex").json()
        assert body["removed"] == [] and any(
            "无法读取文件夹" in f["reason"] for f in body["failed"]
        )
        assert {d["doc_id"] for d in c.get("/api/documents").json()["documents"]} == {
            "notice",
            "opinion",
        }
