"""The policyqa command as a user runs it (a real subprocess, real model, real Chroma)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS

BIN = Path(sys.executable).parent / "policyqa"


def run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=600, **kw
    )


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("cli")
    shutil.copytree(CORPUS, base / "corpus")
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(base / "index"), POLICYQA_TEST_BASE=str(base))
    done = run(["ingest", str(base / "corpus")], env)
    assert done.returncode == 0, done.stderr
    return env


@pytest.mark.parametrize("sub", ["ingest", "search", "ask", "eval", "stats", "check", "serve"])
def test_every_subcommand_has_help(sub: str):
    done = run([sub, "--help"], dict(os.environ))
    assert done.returncode == 0 and "Usage" in done.stdout


def test_ingest_summary_and_second_run_embeds_nothing(cli_env: dict[str, str]):
    done = run(["ingest", str(Path(cli_env["POLICYQA_TEST_BASE"]) / "corpus")], cli_env)
    assert done.returncode == 0
    assert (
        "unchanged 未变 │    35" in done.stdout and "chunks written 0" in done.stdout
    )  # 7 documents + 28 ledger rows


def test_search_json_done_when(cli_env: dict[str, str]):
    done = run(["search", "招商六组的牵头领导是谁", "--json"], cli_env)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)["results"][0]
    assert first["doc_number"] == "焦政办〔2020〕9号"
    assert "招商六组" in first["section_path"] and "孙起鹏" in first["text"]
    assert set(first) >= {
        "rank",
        "score",
        "chunk_id",
        "doc_id",
        "title",
        "doc_number",
        "kind",
        "region",
        "date",
        "section_path",
        "page",
        "text",
        "source",
    }


def test_search_batch(cli_env: dict[str, str], tmp_path: Path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "招商六组的牵头领导是谁"}\nnot json\n'
        '{"id": "b", "question": "那招商七组呢？", "history": ["招商六组的牵头领导是谁"]}\n',
        encoding="utf-8",
    )
    done = run(["search", "--batch", str(batch), "--json", "-k", "2"], cli_env)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", None, "b"]
    assert "孙起鹏" in rows[0]["results"][0]["text"] and "error" in rows[1]
    assert len(rows[2]["results"]) == 2


def test_stats_and_errors(cli_env: dict[str, str]):
    done = run(["stats"], cli_env)
    assert "documents    35" in done.stdout and "e5-small" in done.stdout
    empty = run(["search", "   "], cli_env)
    assert empty.returncode == 2 and "查询内容为空" in empty.stderr
    bad = run(["search", "招商", "--from", "去年"], cli_env)
    assert bad.returncode == 2 and "日期格式不正确" in bad.stderr


def test_failed_file_sets_exit_code(cli_env: dict[str, str], tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    done = run(["ingest", str(tmp_path / "empty.txt")], cli_env)
    assert done.returncode == 1 and "文件为空" in done.stdout
    assert "documents    35" in run(["stats"], cli_env).stdout


def test_ask_json_cites_the_notice(cli_env: dict[str, str]):
    done = run(["ask", "招商六组的牵头领导是谁？", "--json"], cli_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["answered"] and "孙起鹏" in out["answer"]
    assert set(out) >= {"question", "rewritten_question", "answered", "answer", "citations"}
    cite = out["citations"][0]
    assert set(cite) >= {
        "n",
        "chunk_id",
        "title",
        "doc_number",
        "section_path",
        "page",
        "quote",
        "source",
    }
    assert any(
        c["doc_number"] == "焦政办〔2020〕9号" and "孙起鹏" in c["quote"] for c in out["citations"]
    )


def test_ask_follow_up_shows_the_rewrite(cli_env: dict[str, str]):
    done = run(["ask", "那招商七组呢？", "--history", "焦作招商六组的牵头领导是谁？"], cli_env)
    assert done.returncode == 0, done.stderr
    assert "理解为：焦作招商七组的牵头领导是谁？" in done.stdout and "薛志杰" in done.stdout


def test_ask_batch_answers_each_line_with_its_id(cli_env: dict[str, str], tmp_path: Path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "招商六组的牵头领导是谁？"}\n'
        "not json\n"
        '{"id": "b", "question": "那招商七组呢？", "history": ["招商六组的牵头领导是谁？"]}\n'
        '{"id": "c", "question": "洛阳市成立了几个招商小组？"}\n',
        encoding="utf-8",
    )
    done = run(["ask", "--batch", str(batch), "--json"], cli_env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, "b", "c"]
    assert rows[1]["line"] == 2 and "error" in rows[1]
    assert "孙起鹏" in rows[0]["answer"] and "薛志杰" in rows[2]["answer"]
    assert rows[3]["answered"] is False and rows[3]["answer"].startswith("现有资料中未找到")


def test_search_context_gives_the_neighbouring_chunks(cli_env: dict[str, str]):
    done = run(
        ["search", "瑞庆年产30万台第五代混合动力发动机项目", "-k", "3", "--context", "--json"],
        cli_env,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert all(
        {"context_before", "context_after", "duplicates", "rerank_score", "sentence_rank"} <= set(r)
        for r in results
    )
    assert any(r["context_before"] or r["context_after"] for r in results)
