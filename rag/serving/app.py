"""PolicyQA web app: the Gradio UI staff use, with the REST API beside it on one server.

``create_app(settings)`` builds the Gradio Blocks without launching it (tests use it), one
``rag.serving.tabs`` builder per tab; ``create_server(settings)`` mounts it on the FastAPI app
of ``rag.serving.api`` (``/api/…``, ``/healthz``, ``/docs``); ``launch`` serves both with
uvicorn (``python app.py`` and ``policyqa serve`` call it).

Tabs: 问答 (chat with streamed, cited answers, source cards and 👍/👎 feedback), 新人入门
(responsibility map, glossary, document overviews, example questions into the chat), 检索测试
(ranked passages with each retriever's rank, for evaluators), 文档库 (read, upload, delete,
re-index: the last three for admins), 项目台账 and 评测 (retrieval metrics on an eval set).
Every operation is one call of ``PolicyQA`` or ``rag.library``; this package only renders and
turns ``PolicyQAError`` into a message on the page. Nothing is fetched from the network:
system fonts, no CDN, analytics off.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from rag.errors import SignInThrottled  # noqa: E402
from rag.service import PolicyQA  # noqa: E402
from rag.serving.auth import Access, SignInGuard  # noqa: E402
from rag.serving.feedback import feedback_store  # noqa: E402
from rag.serving.render import TITLE, open_index, ui_options  # noqa: E402
from rag.serving.tabs.evaluation import build_evaluation  # noqa: E402
from rag.serving.tabs.library import build_library  # noqa: E402
from rag.serving.tabs.onboarding import build_onboarding  # noqa: E402
from rag.serving.tabs.projects import build_projects  # noqa: E402
from rag.serving.tabs.qa import build_qa  # noqa: E402
from rag.serving.tabs.search import build_search  # noqa: E402
from rag.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)


def create_app(settings: Settings, service: PolicyQA | None = None) -> gr.Blocks:
    """The Gradio Blocks (not launched). Admin actions are checked here, on the server."""
    svc = service or PolicyQA(settings)
    access = Access.from_settings(settings)
    feedback = feedback_store(settings.index_dir)
    open_index(svc)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n问政策、查出处：每个回答都标明引用的文件、文号、章节和原文。")
        who = gr.Markdown(elem_id="who")
        with gr.Tabs() as tabs:
            with gr.Tab("问答", id="ask"):
                qa = build_qa(svc, feedback)
            with gr.Tab("新人入门", id="onboarding"):
                onboarding_load = build_onboarding(svc, qa, tabs)
            with gr.Tab("检索测试", id="search"):
                build_search(svc, settings.default_k)
            with gr.Tab("文档库", id="library"):
                library_load = build_library(svc, access, who)
            with gr.Tab("项目台账", id="projects"):
                build_projects(svc)
            with gr.Tab("评测", id="eval"):
                build_evaluation(svc)
        library_load(demo)
        onboarding_load(demo)
    return demo


def create_server(settings: Settings, service: PolicyQA | None = None) -> FastAPI:
    """One FastAPI app: the REST API (``/api``, ``/healthz``, ``/docs``) and the UI at ``/``."""
    from rag.serving.api import create_api

    svc = service or PolicyQA(settings)
    access = Access.from_settings(settings)
    guard = SignInGuard(access, settings)
    api = create_api(svc, access, guard)
    api.add_middleware(ClientAddress)
    demo = create_app(settings, svc)
    server = gr.mount_gradio_app(
        api,
        demo,
        path="/",
        auth=gradio_sign_in(guard) if access.enabled else None,
        auth_message=f"{TITLE}：请输入用户名和密码。",
        show_error=True,
        allowed_paths=[],
        blocked_paths=[str(Path(settings.index_dir).resolve())],
        **ui_options(settings),
    )
    # Gradio checks that a file handed to an input was uploaded only once the Blocks "has
    # launched"; mounted Blocks never launch, so without this any server path would be copied.
    demo.has_launched = True
    return server


_CLIENT_ADDRESS: contextvars.ContextVar[str] = contextvars.ContextVar(
    "policyqa_client_address", default=""
)


class ClientAddress:
    """ASGI middleware: the client's address for the sign-in guard of Gradio's login page
    (Gradio hands its auth function only a user name and a password)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client") if scope.get("type") in ("http", "websocket") else None
        token = _CLIENT_ADDRESS.set(client[0] if client else "")
        try:
            await self.app(scope, receive, send)
        finally:
            _CLIENT_ADDRESS.reset(token)


def gradio_sign_in(guard: SignInGuard) -> Callable[[str, str], bool]:
    """Gradio's auth function: the guard's check, a 429 with a Chinese message while locked out."""
    from fastapi import HTTPException

    def check(user: str, password: str) -> bool:
        try:
            return guard.check(user, password, _CLIENT_ADDRESS.get())
        except SignInThrottled as e:
            raise HTTPException(status_code=429, detail=str(e)) from e

    return check


def launch(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    server = create_server(settings)
    host, port = host or settings.host, port or settings.port
    log.info("PolicyQA: http://%s:%d/ (API docs: /docs)", host, port)
    uvicorn.run(server, host=host, port=port, log_level="info")
