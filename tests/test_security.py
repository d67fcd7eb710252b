"""Security over real HTTP (uvicorn on loopback, the app as `python app.py` serves it): no
server file reaches a handler through the Gradio inputs, an upload never replaces another
document, no 500s or English messages for odd names and credentials, sign-in back-off."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import create_server
from rag.service import PolicyQA
from rag.settings import PROJECT_DIR, Settings
from rag.store.embeddings import E5Embeddings
from tests.servers import LiveServer

MARKER = "机密标记SECRET7731"
USERS = "li:pw-li,boss:pw-boss"
NOTICE = "002_b5bc0298a6f5538a"


def gradio_call(client: httpx.Client, api_name: str, data: list[Any]) -> dict[str, Any]:
    """Call a Gradio event the way the browser does (queue/join, then the SSE stream), with
    whatever ``data`` a hostile client sends; the final message ({"success", "output"})."""
    deps = client.get("/config").json()["dependencies"]
    fn_index = next(d["id"] for d in deps if d.get("api_name") == api_name)
    session = uuid.uuid4().hex[:10]
    joined = client.post(
        "/gradio_api/queue/join",
        json={
            "data": data,
            "fn_index": fn_index,
            "session_hash": session,
            "event_data": None,
            "trigger_id": None,
        },
    )
    assert joined.status_code == 200, joined.text
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no process_completed message")


@contextmanager
def signed_in(url: str, user: str | None) -> Iterator[httpx.Client]:
    """A browser-like client, signed in on Gradio's login page as ``user`` (None: open app)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        if user:
            assert (
                client.post("/login", data={"username": user, "password": f"pw-{user}"}).status_code
                == 200
            )
        yield client


def file_data(path: Path) -> dict[str, Any]:
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def copies_of_marker(folder: Path) -> list[Path]:
    return [f for f in folder.rglob("*") if f.is_file() and MARKER.encode() in f.read_bytes()]


@pytest.fixture
def secret_files(tmp_path: Path) -> tuple[Path, Path]:
    """Server files no client may read: a text file and an eval-set-shaped JSONL."""
    folder = tmp_path / "server-only"
    folder.mkdir()
    text = folder / "机密.txt"
    text.write_text(f"关于机密事项的通知\n一、内容\n{MARKER}：内部资料。\n", encoding="utf-8")
    jsonl = folder / "机密.jsonl"
    jsonl.write_text(
        json.dumps(
            {"id": "s1", "question": MARKER, "answers": ["x"], "source": "d", "type": "fact"},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return text, jsonl


@pytest.fixture
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gradio's upload folder for this test (GRADIO_TEMP_DIR), so copies can be looked for."""
    folder = tmp_path / "gradio-uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


@pytest.mark.parametrize("mode", ["open", "signed-in"])
def test_no_server_file_reaches_the_gradio_handlers(
    tmp_path: Path, e5: E5Embeddings, secret_files: tuple[Path, Path], upload_dir: Path, mode: str
):
    """Upload and eval-set inputs handed a server path: refused before any copy, for a reader
    and for an admin (open mode: everyone is admin); nothing is indexed or reported."""
    text, jsonl = secret_files
    users = USERS if mode == "signed-in" else ""
    settings = Settings(
        index_dir=tmp_path / "index", users=users, admins="boss" if users else "", corpus_dirs=[]
    )
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        for user in ["li", "boss"] if users else [None]:
            with signed_in(url, user) as client:
                for path in (text, jsonl, Path("/etc/passwd")):
                    msg = gradio_call(client, "upload", [[file_data(path)], False])
                    out = json.dumps(msg, ensure_ascii=False)
                    assert "新增" not in out and "已更新" not in out, out
                msg = gradio_call(client, "evaluate", [None, file_data(jsonl), ["bm25"], 0])
                out = json.dumps(msg, ensure_ascii=False)
                assert MARKER not in out and "1 题" not in out, out
                msg = gradio_call(client, "evaluate", ["../" * 8 + str(jsonl), None, ["bm25"], 0])
                assert "1 题" not in json.dumps(msg, ensure_ascii=False)
        assert copies_of_marker(upload_dir) == [], (
            "a server file was copied into Gradio's upload folder"
        )
        api = httpx.Client(base_url=url, timeout=120, auth=("boss", "pw-boss") if users else None)
        assert api.get("/api/documents").json()["documents"] == []
        hits = api.post("/api/search", json={"query": MARKER, "k": 5}).json()["results"]
        assert all(MARKER not in h["text"] for h in hits)
        # a real upload through Gradio's upload route still works for the admin
        with signed_in(url, "boss" if users else None) as client:
            good = tmp_path / "关于成立光谷招商专班的通知.txt"
            good.write_text(
                "关于成立光谷招商专班的通知\n一、专班组成\n光谷招商专班召集人：司马青云。\n",
                encoding="utf-8",
            )
            with good.open("rb") as fh:
                uploaded = client.post(
                    "/gradio_api/upload", files={"files": (good.name, fh)}
                ).json()
            msg = gradio_call(client, "upload", [[file_data(Path(uploaded[0]))], False])
            assert "新增" in json.dumps(msg, ensure_ascii=False)


@pytest.fixture
def corpus_server(tmp_path: Path, e5: E5Embeddings) -> Iterator[tuple[str, PolicyQA]]:
    from tests.conftest import CORPUS

    settings = Settings(index_dir=tmp_path / "index", corpus_dirs=[CORPUS])
    qa = PolicyQA(settings, embeddings=e5)
    assert qa.ingest([CORPUS]).ok
    with LiveServer(create_server(settings, qa)) as url:
        yield url, qa


def test_an_upload_never_takes_another_documents_id(corpus_server: tuple[str, PolicyQA]):
    url, qa = corpus_server
    fake = "关于建立招商工作机制的通知\n一、成立招商小组\n（六）招商六组。牵头领导：冒名顶替者。\n"
    with httpx.Client(base_url=url, timeout=120) as c:
        r = c.post("/api/documents", files=[("files", (f"{NOTICE}.txt", fake.encode()))]).json()[
            "results"
        ]
        assert (
            r[0]["status"] == "added"
            and r[0]["file"] == f"{NOTICE}_2.txt"
            and "已另存为" in r[0]["reason"]
        )
        # both are indexed under their own ids: the notice's own text is still found as itself
        hits = c.post("/api/search", json={"query": "招商六组的牵头领导是谁", "k": 5}).json()[
            "results"
        ]
        assert any(h["doc_id"] == NOTICE and "孙起鹏" in h["text"] for h in hits), hits
        assert all("冒名顶替者" not in h["text"] for h in hits if h["doc_id"] == NOTICE)
        assert any(h["doc_id"] != NOTICE and "冒名顶替者" in h["text"] for h in hits)
        assert any(
            d["doc_id"] == NOTICE and d["source"].endswith(".txt") and "uploads" not in d["source"]
            for d in c.get("/api/documents").json()["documents"]
        )
        # same stem, two types, and two names that both clean to upload.txt: four documents
        batch = [
            ("files", ("same.txt", "第一份文件：甲。".encode())),
            ("files", ("same.md", "第二份文件：乙。".encode())),
            ("files", (".txt", "第三份文件：丙。".encode())),
            ("files", ("....txt", "第四份文件：丁。".encode())),
        ]
        r = c.post("/api/documents", files=batch).json()["results"]
        assert [x["status"] for x in r] == ["added"] * 4, r
        assert [x["file"] for x in r] == ["same.txt", "same_2.md", "upload.txt", "upload_2.txt"]
        uploads = Path(qa.settings.index_dir) / "uploads"
        assert (uploads / "upload.txt").read_text(encoding="utf-8") == "第三份文件：丙。"
        # the same name again without replace: a new name; with replace: the old version is named
        again = c.post(
            "/api/documents", files=[("files", ("same.txt", "第一份文件（修订）：甲甲。".encode()))]
        ).json()
        assert (
            again["results"][0]["file"] == "same_3.txt" and "替换" in again["results"][0]["reason"]
        )
        replaced = c.post(
            "/api/documents",
            data={"replace": "true"},
            files=[("files", ("same.txt", "第一份文件（修订）：甲乙。".encode()))],
        ).json()["results"][0]
        assert replaced["status"] == "updated" and replaced["file"] == "same.txt"
        assert (
            replaced["replaced"].startswith("same.txt（旧版本")
            and "replaced/" in replaced["replaced"]
        )
        kept = (
            Path(qa.settings.index_dir)
            / "replaced"
            / replaced["replaced"].split("replaced/")[1].rstrip("）")
        )
        assert kept.read_text(encoding="utf-8") == "第一份文件：甲。"
        # replace never reaches a document that is not an upload
        r = c.post(
            "/api/documents",
            data={"replace": "true"},
            files=[("files", (f"{NOTICE}.txt", fake.encode()))],
        ).json()
        assert r["results"][0]["file"] == f"{NOTICE}_3.txt"
        hits = c.post("/api/search", json={"query": "招商六组的牵头领导是谁", "k": 5}).json()[
            "results"
        ]
        assert any(h["doc_id"] == NOTICE and "孙起鹏" in h["text"] for h in hits), hits


def test_odd_upload_names_and_credentials_give_chinese_answers_not_500(
    tmp_path: Path, e5: E5Embeddings
):
    settings = Settings(index_dir=tmp_path / "index", users=USERS, admins="boss", corpus_dirs=[])
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        with httpx.Client(base_url=url, timeout=120, auth=("boss", "pw-boss")) as c:
            long_name = "关" * 100 + ".txt"  # 300 bytes: over the 255-byte file-name limit
            r = c.post(
                "/api/documents",
                files=[
                    ("files", (long_name, "关于长文件名的通知\n正文：长名字。".encode())),
                    ("files", ("好文件.txt", "关于好文件的通知\n正文：好内容。".encode())),
                ],
            )
            assert r.status_code == 200, r.text
            results = r.json()["results"]
            assert [x["status"] for x in results] == ["added", "added"]
            assert len(results[0]["file"].encode()) <= 255
            docs = {d["doc_id"] for d in c.get("/api/documents").json()["documents"]}
            assert "好文件" in docs and len(docs) == 2
        for header in ("Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode()):
            r = httpx.get(url + "/api/documents", headers={"Authorization": header}, timeout=30)
            assert r.status_code == 401 and "登录信息格式不正确" in r.json()["detail"]
        chinese = base64.b64encode(
            "张三:pw".encode()
        ).decode()  # UTF-8 user names are read, not refused
        r = httpx.get(
            url + "/api/documents", headers={"Authorization": f"Basic {chinese}"}, timeout=30
        )
        assert r.status_code == 401 and "需要登录" in r.json()["detail"]


def test_policyqa_serve_refuses_a_malformed_user_list_without_a_traceback(tmp_path: Path):
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(tmp_path / "index"), POLICYQA_USERS="zhang")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "policyqa"), "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )
    assert done.returncode == 2 and "POLICYQA_USERS 格式不正确" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_wrong_passwords_back_off_per_user_and_per_address(
    tmp_path: Path, e5: E5Embeddings, caplog
):
    settings = Settings(
        index_dir=tmp_path / "index",
        users=USERS + ",wang:pw-wang",
        admins="boss",
        corpus_dirs=[],
        signin_free_failures=5,
        signin_backoff_seconds=2,
        signin_backoff_max_seconds=4,
    )
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        with httpx.Client(base_url=url, timeout=30) as c:
            codes = [c.get("/api/documents", auth=("li", "wrong")).status_code for _ in range(60)]
            assert codes[:5] == [401] * 5 and 429 in codes
            right = c.get("/api/documents", auth=("li", "pw-li"))
            assert right.status_code == 429 and "登录失败次数过多" in right.json()["detail"]
            # the address is locked out too: another user from it waits as well
            assert c.get("/api/documents", auth=("wang", "pw-wang")).status_code == 429
            codes = [
                c.post("/login", data={"username": "boss", "password": "wrong"}).status_code
                for _ in range(60)
            ]
            assert 429 in codes
            login = c.post("/login", data={"username": "boss", "password": "pw-boss"})
            assert login.status_code == 429 and "登录失败次数过多" in login.text
            time.sleep(4.5)  # the back-off is over: the right password works again
            assert c.get("/api/documents", auth=("li", "pw-li")).status_code == 200
            assert (
                c.post("/login", data={"username": "boss", "password": "pw-boss"}).status_code
                == 200
            )
    assert "sign-in failed" in caplog.text and "sign-in locked" in caplog.text
