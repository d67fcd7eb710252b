"""The REST API served for real (uvicorn on loopback, Gradio mounted beside it) and called over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import create_server
from rag.service import PolicyQA
from rag.serving.api import describe_errors
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings
from tests.servers import LiveServer

NOTICE = "002_b5bc0298a6f5538a"
DOC_NUMBER = "焦政办〔2020〕9号"
UPLOAD_TEXT = (
    "关于设立青岚湖数字经济招商专班的通知\n"
    "一、专班组成\n"
    "青岚湖数字经济招商专班由市商务局牵头，专班召集人：欧阳明远。\n"
    "二、工作要求\n"
    "专班每月第一个周五召开例会，研究重点项目推进情况。\n"
)


@pytest.fixture(scope="module")
def url(corpus_qa: PolicyQA) -> Iterator[str]:
    with LiveServer(create_server(corpus_qa.settings, corpus_qa)) as base:
        yield base


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60) as c:
        yield c


def test_healthz_reports_the_index(client: httpx.Client, corpus_qa: PolicyQA):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["index_loaded"] is True
    assert body["documents"] == len(corpus_qa.documents()) >= 7
    assert (
        body["chunks"] == corpus_qa.index.count() > body["documents"]
        and body["embedder"] == "e5-small"
    )
    assert body["auth"] is False


def test_healthz_does_not_read_every_chunk(
    client: httpx.Client, corpus_qa: PolicyQA, monkeypatch: pytest.MonkeyPatch
):
    """Probes come every few seconds: at 100k chunks reading all metadata would cost seconds each."""
    expected = client.get("/healthz").json()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("/healthz read every chunk")

    monkeypatch.setattr(corpus_qa.index, "all_chunks", refuse)
    monkeypatch.setattr(corpus_qa.index.collection, "get", refuse)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == expected


def test_documents_list_metadata_and_chunk_counts(client: httpx.Client):
    docs = {d["doc_id"]: d for d in client.get("/api/documents").json()["documents"]}
    assert docs[NOTICE]["doc_number"] == DOC_NUMBER and docs[NOTICE]["chunks"] > 5
    assert docs[NOTICE]["kind"] == "policy_notice"
    one = client.get(f"/api/documents/{NOTICE}").json()
    assert one["doc_number"] == DOC_NUMBER
    paths = [s["section_path"] for s in one["sections"]]
    assert any("招商六组" in p for p in paths)
    assert paths.index(next(p for p in paths if "招商六组" in p)) < paths.index(
        next(p for p in paths if "招商七组" in p)
    )
    assert client.get("/api/documents/no-such-doc").status_code == 404


def test_search_ranks_group_six_first_and_applies_filters(client: httpx.Client):
    r = client.post("/api/search", json={"query": "招商六组的牵头领导是谁", "k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 3 and [h["rank"] for h in results] == [1, 2, 3]
    assert "孙起鹏" in results[0]["text"] and results[0]["doc_number"] == DOC_NUMBER
    assert results[0]["bm25_rank"] is not None and results[0]["score"] > 0
    # every run of the fusion shows where it put the hit (the group's own section: first in each)
    assert [results[0][f"{run}_rank"] for run in ("fields", "sentence")] == [1, 1]
    r = client.post(
        "/api/search",
        json={
            "query": "招商引资工作机制",
            "k": 5,
            "retriever": "bm25",
            "filters": {"region": "郑州"},
        },
    )
    assert r.status_code == 200 and r.json()["results"]
    assert all("郑州" in h["region"] for h in r.json()["results"])


def test_ask_answers_with_a_citation_of_the_notice(client: httpx.Client):
    r = client.post("/api/ask", json={"question": "招商六组的牵头领导是谁？"})
    assert r.status_code == 200
    answer = r.json()
    assert answer["answered"] is True and "孙起鹏" in answer["answer"] and "[1]" in answer["answer"]
    assert any(
        c["doc_number"] == DOC_NUMBER and "孙起鹏" in c["quote"] for c in answer["citations"]
    )


def test_ask_follow_up_is_rewritten_and_refusal_names_closest(client: httpx.Client):
    answer = client.post(
        "/api/ask", json={"question": "那招商七组呢？", "history": ["招商六组的牵头领导是谁？"]}
    ).json()
    assert (
        answer["rewritten_question"] == "招商七组的牵头领导是谁？" and "薛志杰" in answer["answer"]
    )
    refusal = client.post(
        "/api/ask", json={"question": "深圳市对新引进企业的招商补贴标准是多少？"}
    ).json()
    assert refusal["answered"] is False and refusal["citations"] == [] and refusal["closest"]
    assert refusal["answer"].startswith("现有资料中未找到")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"question": "招商', "不是有效的 JSON"),
        ("[1, 2]", "应为 JSON 对象"),
        ("{}", "question：缺少该字段"),
        ('{"question": 42}', "question：应为文本"),
        ('{"question": "招商六组", "history": "不是列表"}', "history：应为列表"),
        ('{"question": "招商六组", "filters": {"colour": "red"}}', "filters.colour：不认识的字段"),
        (
            '{"question": "招商六组", "filters": {"date_from": "去年"}}',
            "filters.date_from：格式不正确",
        ),
        ('{"question": "' + "长" * 2001 + '"}', "question：过长"),
    ],
)
def test_malformed_ask_bodies_are_422_with_a_message(client: httpx.Client, body: str, needle: str):
    r = client.post("/api/ask", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("请求格式不正确") and needle in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"query": "招商", "k": 0}, "k：数值过小"),
        ({"query": "招商", "k": 101}, "k：数值过大"),
        ({"query": "招商", "retriever": "google"}, "retriever：取值无效"),
        ({"k": 3}, "query：缺少该字段"),
    ],
)
def test_malformed_search_bodies_are_422(client: httpx.Client, body: dict, needle: str):
    r = client.post("/api/search", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"]


def test_service_errors_are_400_in_chinese(client: httpx.Client):
    r = client.post("/api/ask", json={"question": "   \n "})
    assert r.status_code == 400 and r.json() == {"detail": "查询内容为空，请输入问题"}
    r = client.post("/api/search", json={"query": "招商", "filters": {"date_from": "2020-13-45"}})
    assert r.status_code in (200, 400)  # a date the pattern accepts never becomes a 500


def test_projects_filters_the_ledger(client: httpx.Client):
    got = client.post("/api/projects", json={"region": "山阳区"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["count"] == 3 and body["total_amount_yi"] == 55.3
    assert {p["name"] for p in body["projects"]} == {
        "金刚石散热基板项目",
        "硼中子俘获治疗项目",
        "中化集团风神轮胎电硫化机项目",
    }
    assert all(p["quote"] and p["source_doc"] for p in body["projects"])
    big = client.post("/api/projects", json={"min_amount": 10}).json()
    assert {p["name"] for p in big["projects"]} == {"金刚石散热基板项目", "硼中子俘获治疗项目"}
    assert client.post("/api/projects", json={"min_amount": "很多"}).status_code == 422
    assert client.post("/api/projects", json={"colour": "red"}).status_code == 422
    bad = client.post("/api/projects", json={"min_amount": 20, "max_amount": 10})
    assert bad.status_code == 400 and "大于上限" in bad.json()["detail"]


def test_docs_are_served_without_a_cdn_and_the_ui_beside_them(client: httpx.Client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static-offline-docs/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/healthz",
        "/api/documents",
        "/api/search",
        "/api/ask",
        "/api/documents/{doc_id}",
    } <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and "PolicyQA" in page.text


def test_describe_errors_names_fields_in_chinese():
    text, errors = describe_errors(
        [{"loc": ("body", "question"), "type": "missing", "msg": "Field required"}]
    )
    assert text == "请求格式不正确：question：缺少该字段" and errors[0]["loc"] == [
        "body",
        "question",
    ]


# ---------------------------------------------------------------- sign-in and admin actions


@pytest.fixture(scope="module")
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings
) -> Iterator[tuple[str, Path]]:
    """A server with sign-in on, over a fresh (empty) index: zhang is a user, admin an admin."""
    base = tmp_path_factory.mktemp("auth_api")
    settings = Settings(
        index_dir=base / "index",
        users="zhang:pw-zhang,admin:pw:admin",
        admins="admin",
        corpus_dirs=[],
    )
    with LiveServer(create_server(settings, PolicyQA(settings, embeddings=e5))) as url:
        yield url, base


USER = ("zhang", "pw-zhang")
ADMIN = ("admin", "pw:admin")


def test_sign_in_is_required_for_the_api_but_not_for_healthz(auth_server: tuple[str, Path]):
    url, _ = auth_server
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.get("/api/documents")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert "需要登录" in r.json()["detail"]
        assert c.get("/api/documents", auth=("zhang", "wrong")).status_code == 401
        assert c.get("/api/documents", auth=("nobody", "pw-zhang")).status_code == 401
        assert c.post("/api/ask", json={"question": "招商六组"}).status_code == 401
        assert c.get("/api/documents", auth=USER).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/healthz").json()["auth"] is True
        # the UI needs its own sign-in: Gradio's config is refused until /login
        assert c.get("/config").status_code == 401
        assert (
            c.post("/login", data={"username": "zhang", "password": "pw-zhang"}).status_code == 200
        )
        assert c.get("/config").status_code == 200


def test_only_admins_upload_and_delete_and_names_are_sanitised(auth_server: tuple[str, Path]):
    url, base = auth_server
    files = [("files", ("../../outside/青岚湖 专班.txt", UPLOAD_TEXT.encode(), "text/plain"))]
    with httpx.Client(base_url=url, timeout=120) as c:
        refused = c.post("/api/documents", files=files, auth=USER)
        assert refused.status_code == 403 and "管理权限" in refused.json()["detail"]
        assert c.get("/api/documents", auth=USER).json()["documents"] == []

        r = c.post(
            "/api/documents",
            auth=ADMIN,
            files=[*files, ("files", ("setup.exe", b"MZ\x00\x00", "application/octet-stream"))],
        )
        assert r.status_code == 200, r.text
        added, bad = r.json()["results"]
        assert (
            added["file"] == "青岚湖_专班.txt"
            and added["status"] == "added"
            and added["status_zh"] == "新增"
        )
        assert bad["status"] == "failed" and "不支持的文件类型" in bad["reason"]
        uploads = base / "index" / "uploads"
        assert sorted(p.name for p in uploads.iterdir()) == ["青岚湖_专班.txt"]
        assert not (base / "outside").exists() and not (base / "index" / "outside").exists()

        docs = c.get("/api/documents", auth=USER).json()["documents"]
        assert [d["doc_id"] for d in docs] == ["青岚湖_专班"] and docs[0]["chunks"] >= 1
        answer = c.post(
            "/api/ask", json={"question": "青岚湖数字经济招商专班的召集人是谁？"}, auth=USER
        ).json()
        assert "欧阳明远" in answer["answer"]

        again = c.post("/api/documents", auth=ADMIN, files=files).json()["results"][0]
        assert again["status"] == "unchanged" and again["status_zh"] == "未变化"

        assert c.delete("/api/documents/青岚湖_专班", auth=USER).status_code == 403
        assert c.delete("/api/documents/no-such-doc", auth=ADMIN).status_code == 404
        gone = c.delete("/api/documents/青岚湖_专班", auth=ADMIN)
        assert gone.status_code == 200 and gone.json()["chunks_deleted"] >= 1
        assert c.get("/api/documents", auth=USER).json()["documents"] == []
        assert not (uploads / "青岚湖_专班.txt").exists()
        hits = c.post(
            "/api/search", json={"query": "欧阳明远", "retriever": "bm25"}, auth=USER
        ).json()["results"]
        assert hits == []


def test_feedback_is_stored_with_the_answer(auth_server: tuple[str, Path]):
    url, base = auth_server
    from rag.serving.feedback import feedback_store

    answer = {
        "question": "招商六组的牵头领导是谁？",
        "rewritten_question": "招商六组的牵头领导是谁？",
        "answered": True,
        "answer": "孙起鹏[1]",
        "mode": "extractive",
        "citations": [{"n": 1, "doc_number": DOC_NUMBER}],
    }
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post(
            "/api/feedback",
            json={"answer": answer, "liked": False, "comment": "缺牵头单位"},
            auth=USER,
        )
        assert r.status_code == 200
        assert (
            c.post(
                "/api/feedback", json={"answer": answer, "liked": "maybe"}, auth=USER
            ).status_code
            == 422
        )
    row = feedback_store(base / "index").recent(1)[0]
    assert row["id"] == r.json()["id"] and row["rating"] == -1 and row["comment"] == "缺牵头单位"
    assert row["user"] == "zhang" and row["citations"][0]["doc_number"] == DOC_NUMBER
