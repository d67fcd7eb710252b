"""Many staff at once: 50 concurrent /api/ask requests, and questions answered during an ingest.

Runs over its own copy of the seed corpus (the ingest test adds documents), through a real
server on loopback. The p95 is printed for the record; the assertions are about what users
notice: every request answered, none failed, answers still right while an ingest runs.
"""

from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from app import create_server
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.conftest import CORPUS
from tests.servers import LiveServer

QUESTIONS = [
    "招商六组的牵头领导是谁？",
    "招商引资的“五大弊病”有哪些？",
    "焦作县（市）区主要负责同志全年外出招商要不少于多少时间？",
    "洛阳市成立了几个招商小组？",
    "汝州驻地招商主攻哪十大重点领域？",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    base = tmp_path_factory.mktemp("concurrency")
    shutil.copytree(CORPUS, base / "corpus")
    qa = PolicyQA(Settings(index_dir=base / "index"), embeddings=e5)
    assert qa.ingest([base / "corpus"]).ok
    return qa


def _ask(url: str, question: str) -> tuple[int, float, dict]:
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as client:
        got = client.post("/api/ask", json={"question": question})
    return got.status_code, (time.perf_counter() - started) * 1000, got.json()


def test_fifty_concurrent_asks_are_all_answered(service: PolicyQA):
    with LiveServer(create_server(service.settings, service)) as url:
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda i: _ask(url, QUESTIONS[i % len(QUESTIONS)]), range(50)))
    assert [status for status, _, _ in results] == [200] * 50
    six = [
        body for (_, _, body), i in zip(results, range(50), strict=True) if i % len(QUESTIONS) == 0
    ]
    assert all("孙起鹏" in body["answer"] for body in six)
    assert all(
        not body["answered"]
        for (_, _, body), i in zip(results, range(50), strict=True)
        if i % len(QUESTIONS) == 3
    )  # 洛阳 is not in the corpus: refused every time
    ms = sorted(ms for _, ms, _ in results)
    print(
        f"\n50 concurrent /api/ask: p50 {statistics.median(ms):.0f} ms, p95 {ms[int(0.95 * len(ms)) - 1]:.0f} ms"
    )


def test_questions_are_answered_while_an_ingest_runs(service: PolicyQA, tmp_path: Path):
    reports = (
        Path(__file__).resolve().parents[2] / "shared/corpus/extra/government_work_reports.jsonl"
    )
    lines = [ln for ln in reports.read_text(encoding="utf-8").splitlines() if ln.strip()][:3]
    extra = tmp_path / "reports.jsonl"
    extra.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = threading.Event()
    outcome: dict[str, object] = {}

    def ingest() -> None:
        try:
            outcome["report"] = service.ingest([extra])
        except Exception as e:  # reported below; the test must not hang
            outcome["error"] = e
        finally:
            done.set()

    with LiveServer(create_server(service.settings, service)) as url:
        worker = threading.Thread(target=ingest)
        worker.start()
        during = 0  # answers that came back while the ingest was still running
        while not done.is_set():
            status, _, body = _ask(url, QUESTIONS[0])
            assert status == 200, json.dumps(body, ensure_ascii=False)
            assert "孙起鹏" in body["answer"]
            during += 0 if done.is_set() else 1
        worker.join(timeout=600)
    assert "error" not in outcome, outcome
    assert len(outcome["report"].added) == 3  # type: ignore[attr-defined]
    assert during >= 1
    titles = {d["title"] for d in service.documents()}
    assert any("政府工作报告" in t for t in titles)
