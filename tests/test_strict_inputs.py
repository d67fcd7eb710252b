"""Strict filters and limits (dates parsed as meant or refused: 400 over HTTP, exit 2 on the
CLI), and the small data-safety items: formula amounts and merged cells in ledger sheets,
a BM25 swap's leftover folder, no stray DEBUG line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import create_server
from ingest.documents import read_documents
from rag.errors import QueryError
from rag.service import PolicyQA
from rag.settings import Settings
from tests.servers import LiveServer

BIN = Path(sys.executable).parent / "policyqa"
NOTICE = "002_b5bc0298a6f5538a"  # 焦政办〔2020〕9号, dated 2020-03-06


@pytest.fixture(scope="module")
def api(corpus_qa: PolicyQA) -> Iterator[httpx.Client]:
    with (
        LiveServer(create_server(corpus_qa.settings, corpus_qa)) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        yield c


def _doc_ids(client: httpx.Client, date_from: str) -> set[str]:
    r = client.post(
        "/api/search",
        json={"query": "招商六组的牵头领导是谁", "k": 10, "filters": {"date_from": date_from}},
    )
    assert r.status_code == 200, r.text
    return {h["doc_id"] for h in r.json()["results"]}


def test_a_one_digit_month_means_that_month(api: httpx.Client):
    assert NOTICE in _doc_ids(api, "2020-03")
    assert _doc_ids(api, "2020-3") == _doc_ids(api, "2020-03")
    assert _doc_ids(api, "2020-3-6") == _doc_ids(api, "2020-03-06")


@pytest.mark.parametrize("bad", ["2020-13-45", "2020-13", "2020-02-30", "2019-00"])
def test_impossible_dates_are_400_with_a_chinese_reason(api: httpx.Client, bad: str):
    r = api.post("/api/search", json={"query": "招商", "filters": {"date_to": bad}})
    assert r.status_code == 400 and "日期不存在" in r.json()["detail"]
    r = api.post(
        "/api/ask", json={"question": "招商六组的牵头领导是谁？", "filters": {"date_from": bad}}
    )
    assert r.status_code == 400


def test_normalise_date_worked_examples():
    from rag.retrieval.retrieve import normalise_date

    assert normalise_date("2020-3") == "2020-03" and normalise_date("2020-3-6") == "2020-03-06"
    assert normalise_date(" 2019 ") == "2019" and normalise_date("") == ""
    with pytest.raises(QueryError):
        normalise_date("2020-13")


@pytest.mark.parametrize(
    "args", [["--from", "2020-13"], ["--to", "2020-02-30"], ["-k", "0"], ["-k", "101"]]
)
def test_cli_refuses_impossible_dates_and_k_with_exit_2(tmp_path: Path, args: list[str]):
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run(
        [str(BIN), "search", "招商", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stdout + done.stderr


def _ledger(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目名称", "地区", "投资额（亿元）", "阶段"])
    ws.append(["金刚石散热基板项目", "焦作市山阳区", "=10+20", "签约"])
    ws.append([None, "焦作市解放区", "=SUM(C2:C2)", "开工"])  # the name is merged over rows 2–3
    ws.append(["硼中子俘获治疗项目", "焦作市山阳区", 20, "签约"])
    ws.merge_cells("A2:A3")
    wb.save(str(path))
    return path


def test_ledger_formulas_and_merged_cells(tmp_path: Path):
    docs, problems = read_documents(_ledger(tmp_path / "台账.xlsx"), {}, 10**8)
    rows = {d.doc_id: d.extra for d in docs}
    assert rows["台账#row2"]["amount_yi"] == 30.0  # "=10+20" saved without a computed value
    assert (
        rows["台账#row3"]["project_name"] == "金刚石散热基板项目"
    )  # merged cell: the later row keeps the name
    assert "amount_yi" not in rows["台账#row3"]
    assert any("第3行" in p and "公式" in p and "=SUM(C2:C2)" in p for p in problems), problems
    assert rows["台账#row4"]["amount_yi"] == 20.0


def test_a_bm25_swap_leftover_is_removed_by_the_next_write(tmp_path: Path, e5):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("关于某事的通知\n一、内容\n正文：某事。", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    assert PolicyQA(settings, embeddings=e5).ingest([docs]).ok
    for name in ("bm25.old", "bm25.tmp"):  # what a process killed inside BM25Index.save leaves
        (settings.index_dir / name).mkdir()
        (settings.index_dir / name / "chunks.json").write_text("{}", encoding="utf-8")
    report = PolicyQA(settings, embeddings=e5).ingest([docs])
    assert report.unchanged == ["a"]
    assert (
        not (settings.index_dir / "bm25.old").exists()
        and not (settings.index_dir / "bm25.tmp").exists()
    )


def test_cli_ingest_prints_no_debug_lines(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("关于某事的通知\n一、内容\n正文：某事。", encoding="utf-8")
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run(
        [str(BIN), "ingest", str(docs)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "DEBUG" not in done.stderr, done.stderr
