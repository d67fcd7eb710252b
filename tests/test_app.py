"""The minimal web app: built without launching, then served for real and searched over HTTP."""

from __future__ import annotations

import socket
import urllib.request

from app import create_app, render_hits
from rag.service import PolicyQA


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_serves_and_finds_group_six(corpus_qa: PolicyQA):
    demo = create_app(corpus_qa.settings, service=corpus_qa)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            page = resp.read().decode("utf-8")
        assert resp.status == 200 and "PolicyQA" in page
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        html = client.predict("招商六组的牵头领导是谁？", "", "", api_name="/do_search")
        assert "孙起鹏" in html and "焦政办〔2020〕9号" in html
        assert "查询内容为空" in client.predict("  ", "", "", api_name="/do_search")
    finally:
        demo.close()


def test_render_hits_without_results_says_so():
    assert "没有找到" in render_hits([])
