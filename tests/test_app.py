"""The web app: built without launching, served for real, driven over HTTP with gradio_client;
`python app.py` started as staff start it; the rendering of answers and source cards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

import app as webapp
from app import create_app, create_server, highlight, render_answer, source_cards, ui_options
from rag.service import PolicyQA
from rag.settings import PROJECT_DIR, Settings
from rag.store.embeddings import E5Embeddings
from tests.servers import LiveServer, free_port

DOC_NUMBER = "焦政办〔2020〕9号"


def test_app_serves_and_finds_group_six(corpus_qa: PolicyQA):
    demo = create_app(corpus_qa.settings, service=corpus_qa)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **ui_options(corpus_qa.settings),
    )
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            page = resp.read().decode("utf-8")
        assert resp.status == 200 and "PolicyQA" in page
        assert "fonts.googleapis" not in page and "cdn.jsdelivr" not in page

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        table, note = client.predict(
            "招商六组的牵头领导是谁？", "", "", "", "", "hybrid", 3, api_name="/search"
        )
        assert table["headers"][:4] == ["排名", "标题", "文号", "章节"] and len(table["data"]) == 3
        first = dict(zip(table["headers"], table["data"][0], strict=True))
        assert "孙起鹏" in first["原文"] and first["文号"] == DOC_NUMBER and first["BM25 排名"] == 1
        assert "共 3 条结果" in note
        _, empty_note = client.predict("  ", "", "", "", "", "hybrid", 3, api_name="/search")
        assert "查询内容为空" in empty_note
        _, bad_date = client.predict("招商", "", "", "去年", "", "hybrid", 3, api_name="/search")
        assert "日期格式不正确" in bad_date

        _, chat = client.predict("招商六组的牵头领导是谁？", [], "", "", "", "", api_name="/chat")
        bubble = chat[-1]["content"][0]["text"]
        assert chat[-1]["role"] == "assistant" and "孙起鹏" in bubble
        assert "<details class='pq-card'" in bubble and DOC_NUMBER in bubble and "<mark>" in bubble
        # the session remembers the first question: the follow-up is rewritten and says so
        _, chat = client.predict("那招商七组呢？", chat, "", "", "", "", api_name="/chat")
        bubble = chat[-1]["content"][0]["text"]
        assert "理解为：招商七组的牵头领导是谁？" in bubble and "薛志杰" in bubble
        # an extractive answer is complete when computed: "正在检索资料…", then the whole answer
        # at once (no simulated typing), then the final bubble with its source cards
        job = client.submit("招商六组的牵头领导是谁？", [], "", "", "", "", api_name="/chat")
        job.result(timeout=120)
        shown = [out[1][-1]["content"][0]["text"] for out in job.outputs()]
        partial = [t for t in shown if t.endswith("▌")]
        assert shown[0] == "正在检索资料…" and "pq-card" in shown[-1]
        assert len(partial) == 1 and "孙起鹏" in partial[0] and "[1]" in partial[0], partial
        _, chat = client.predict(
            "深圳市对新引进企业的招商补贴标准是多少？", [], "", "", "", "", api_name="/chat"
        )
        bubble = chat[-1]["content"][0]["text"]
        assert "现有资料中未找到" in bubble and "最接近的资料" in bubble and "pq-card" not in bubble
    finally:
        demo.close()


def test_eval_tab_scores_retrievers_on_the_bundled_set(corpus_qa: PolicyQA):
    demo = create_app(corpus_qa.settings, service=corpus_qa)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        status, metrics, chart, missed = client.predict(
            "evals/sets/policy_qa.jsonl", None, ["bm25", "hybrid"], 12, api_name="/evaluate"
        )
        assert "12 题" in status
        rows = {r[0]: dict(zip(metrics["headers"], r, strict=True)) for r in metrics["data"]}
        assert set(rows) == {"bm25", "hybrid"} and all(0 <= rows[n]["Hit@5"] <= 1 for n in rows)
        assert rows["hybrid"]["Hit@10"] >= 0.5  # the first questions are about the seed notices
        assert chart["columns"] == ["k", "Hit@k", "检索方式"] and chart["mark"] == "line"
        assert sorted((row[2], row[0]) for row in chart["data"]) == [
            (n, k) for n in ("bm25", "hybrid") for k in (1, 3, 5, 10)
        ]
        assert missed["headers"][:4] == ["检索方式", "编号", "题型", "问题"]
        status, *_ = client.predict("evals/sets/policy_qa.jsonl", None, [], 5, api_name="/evaluate")
        assert "至少选择一种检索方式" in status
    finally:
        demo.close()


def test_eval_tab_reports_a_broken_uploaded_set(corpus_qa: PolicyQA, tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q"}\n', encoding="utf-8")
    demo = create_app(corpus_qa.settings, service=corpus_qa)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        status, *_ = client.predict(
            "evals/sets/policy_qa.jsonl", handle_file(str(bad)), ["bm25"], 0, api_name="/evaluate"
        )
        assert "评测集第 1 行缺少字段" in status
    finally:
        demo.close()


def test_admin_actions_in_the_ui_are_checked_on_the_server(tmp_path: Path, e5: E5Embeddings):
    settings = Settings(
        index_dir=tmp_path / "index", users="li:pw-li,boss:pw-boss", admins="boss", corpus_dirs=[]
    )
    notice = tmp_path / "关于成立光谷招商专班的通知.txt"
    notice.write_text(
        "关于成立光谷招商专班的通知\n一、专班组成\n光谷招商专班召集人：司马青云。\n",
        encoding="utf-8",
    )
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        reader = Client(url + "/", auth=("li", "pw-li"), verbose=False)
        table, status, *_ = reader.predict([handle_file(str(notice))], False, api_name="/upload")
        assert "没有管理权限" in status and table["data"] in ([], [[None] * 4], [["", "", "", ""]])
        admin = Client(url + "/", auth=("boss", "pw-boss"), verbose=False)
        table, status, *_ = admin.predict([handle_file(str(notice))], False, api_name="/upload")
        assert (
            table["data"][0][:3] == ["关于成立光谷招商专班的通知.txt", "新增", 1]
            and "新增 1 个" in status
        )
        doc_id = "关于成立光谷招商专班的通知"
        refused, *_ = reader.predict(doc_id, True, api_name="/delete_document")
        assert "没有管理权限" in refused
        refused, *_ = reader.predict(api_name="/reindex")
        assert "没有管理权限" in refused
        with httpx.Client(base_url=url, auth=("li", "pw-li"), timeout=60) as c:
            assert [d["doc_id"] for d in c.get("/api/documents").json()["documents"]] == [doc_id]
        unconfirmed, *_ = admin.predict(doc_id, False, api_name="/delete_document")
        assert "确认删除" in unconfirmed
        done, *_ = admin.predict(doc_id, True, api_name="/delete_document")
        assert done.startswith(f"已删除文档 {doc_id}")
        with httpx.Client(base_url=url, auth=("li", "pw-li"), timeout=60) as c:
            assert c.get("/api/documents").json()["documents"] == []


def test_python_app_py_serves_ui_and_api_on_the_configured_port(tmp_path: Path):
    port = free_port()
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(tmp_path / "index"), POLICYQA_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "app.py")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "app.py did not start within 120 s"
                time.sleep(0.5)
        assert health.json() | {"documents": 0, "chunks": 0} == health.json()
        assert health.json()["status"] == "ok"
        assert "PolicyQA" in httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_python_app_py_refuses_a_malformed_user_list(tmp_path: Path):
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(tmp_path / "index"), POLICYQA_USERS="zhang")
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "app.py"), "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "POLICYQA_USERS 格式不正确" in done.stderr


# ------------------------------------------------------------------ rendering


CITATION = {
    "n": 1,
    "chunk_id": "d::a-0",
    "doc_id": "d",
    "title": "关于<建立>机制的通知",
    "doc_number": DOC_NUMBER,
    "kind": "policy_notice",
    "date": "2020-03-06",
    "section_path": "一、成立小组 › （六）招商六组",
    "page": 3,
    "quote": "牵头领导：孙起鹏。",
    "source": "corpus/002.txt",
}


def test_highlight_marks_the_quote_and_escapes_the_rest():
    assert highlight("甲。乙<丙>。", "乙<丙>。") == "甲。<mark>乙&lt;丙&gt;。</mark>"
    assert highlight("第一行\n第二行", "不在其中") == "第一行<br>第二行"


def test_source_cards_are_collapsed_and_name_the_document():
    html = source_cards(
        [CITATION], {"d::a-0": "（六）招商六组。\n牵头领导：孙起鹏。\n牵头单位：市工业和信息化局。"}
    )
    assert html.count("<details") == 1 and "<details class='pq-card' data-n='1'>" in html  # closed
    assert (
        "《关于&lt;建立&gt;机制的通知》" in html
        and DOC_NUMBER in html
        and "第3页" in html
        and "2020-03-06" in html
    )
    assert "（六）招商六组" in html and "<mark>牵头领导：孙起鹏。</mark>" in html
    assert "\n\n" not in html  # one HTML block: Markdown must not split it


def test_render_answer_shows_rewrite_notes_and_refusals():
    answer = {
        "question": "那招商七组呢？",
        "rewritten_question": "招商七组的牵头领导是谁？",
        "answered": True,
        "answer": "牵头领导：孙起鹏。[1]",
        "mode": "extractive",
        "notes": ["大模型不可用，已改用原文摘录（超时）"],
        "citations": [CITATION],
        "closest": [],
    }
    html = render_answer(answer, {})
    assert "理解为：招商七组的牵头领导是谁？" in html and "<sup class='pq-ref'>[1]</sup>" in html
    assert "⚠️ 大模型不可用" in html and "pq-card" in html
    plain = render_answer(answer | {"rewritten_question": "那招商七组呢？"}, {})
    assert "理解为" not in plain
    refusal = render_answer(
        {
            "question": "深圳？",
            "rewritten_question": "深圳？",
            "answered": False,
            "mode": "refusal",
            "answer": "现有资料中未找到关于“深圳”的规定或记载。",
            "citations": [],
            "closest": [{"doc_id": "d", "title": "郑州意见", "doc_number": "郑政〔2018〕15号"}],
        },
        {},
    )
    assert (
        "未找到依据" in refusal
        and "《郑州意见》（郑政〔2018〕15号）" in refusal
        and "pq-card" not in refusal
    )
    flagged = render_answer(answer | {"flagged_numbers": ["30%"]}, {})
    assert "以下数字未在引用原文中找到，请核对：30%" in flagged


def test_filters_from_the_ui_fields():
    assert webapp.filters_from("", " ", "", "") == {}
    assert webapp.filters_from("news", "焦作", "2019", "2020-06") == {
        "kind": ["news"],
        "region": "焦作",
        "date_from": "2019",
        "date_to": "2020-06",
    }


@pytest.mark.parametrize("name", ["policy_qa.jsonl"])
def test_bundled_eval_sets_are_offered(name: str):
    assert f"evals/sets/{name}" in webapp.eval_sets()


def test_ledger_tab_filters_totals_and_exports(corpus_qa: PolicyQA):
    with LiveServer(create_server(corpus_qa.settings, corpus_qa)) as url:
        client = Client(url + "/", verbose=False)
        table, summary, csv_file, xlsx_file = client.predict(
            "山阳区", "", "", None, None, api_name="/projects"
        )
        names = {row[0] for row in table["data"]}
        assert names == {"金刚石散热基板项目", "硼中子俘获治疗项目", "中化集团风神轮胎电硫化机项目"}
        assert "共 3 个项目" in summary and "55.3 亿元" in summary
        assert Path(csv_file).read_text(encoding="utf-8-sig").count("\n") == 4  # header + 3 rows
        assert Path(xlsx_file).read_bytes()[:2] == b"PK"
        table, summary, *_ = client.predict("", "", "", 10, None, api_name="/projects")
        assert {row[0] for row in table["data"]} == {"金刚石散热基板项目", "硼中子俘获治疗项目"}
        _, bad, *_ = client.predict("", "", "", 20, 10, api_name="/projects")
        assert bad.startswith("⚠️") and "大于上限" in bad
