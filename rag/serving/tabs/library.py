"""The 文档库 tab: read documents; upload, delete and re-index (admins only, checked here).

``LibraryActions`` holds the handlers, each one call of ``PolicyQA``; ``build_library`` lays
the tab out and wires them, and returns what the page does on load (rights, the document list).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ingest.loaders import SUPPORTED
from rag import library
from rag.errors import PolicyQAError
from rag.service import PolicyQA
from rag.serving.auth import Access
from rag.serving.render import (
    DOC_COLUMNS,
    UPLOAD_COLUMNS,
    documents_frame,
    esc,
    render_document,
    request_user,
    upload_frame,
    uploaded_file,
)


class LibraryActions:
    """The tab's event handlers over one service and the admin list."""

    def __init__(self, svc: PolicyQA, access: Access) -> None:
        self.svc = svc
        self.access = access

    def doc_choices(self) -> list[tuple[str, str]]:
        return [
            (f"{d.get('title') or d['doc_id']}（{d['doc_id']}）", d["doc_id"])
            for d in self.svc.library_documents()
        ]

    def refresh_library(self) -> tuple[pd.DataFrame, Any]:
        try:
            docs = self.svc.library_documents()
        except PolicyQAError as e:
            gr.Warning(str(e))
            return documents_frame([]), gr.update(choices=[])
        return documents_frame(docs), gr.update(choices=self.doc_choices())

    def read_document(self, doc_id: str | None) -> str:
        if not doc_id:
            return "<p class='pq-meta'>请先在上方选择一个文档。</p>"
        try:
            meta, sections = self.svc.document_sections(doc_id)
        except PolicyQAError as e:
            return f"<p>⚠️ {esc(e)}</p>"
        return render_document(meta, sections)

    def refused(self, request: gr.Request) -> str | None:
        if self.access.is_admin(request_user(request)):
            return None
        return "⚠️ 当前用户没有管理权限：上传、删除和重新索引仅限管理员（POLICYQA_ADMINS）。"

    def upload(
        self,
        files: list[str] | None,
        replace: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[pd.DataFrame, str, pd.DataFrame, Any, None]:
        table, choices = self.refresh_library()
        denied = self.refused(request)  # before any file is looked at
        if denied:
            return upload_frame([]), denied, table, choices, None
        if not files:
            return upload_frame([]), "请先选择要上传的文件。", table, choices, None

        def page_progress(path: str, page: int, pages: int) -> None:
            progress(
                (page - 1) / max(pages, 1),
                desc=f"OCR 文字识别：{Path(path).name} 第{page}/{pages}页",
            )

        try:
            paths = [uploaded_file(f) for f in files]
            results = self.svc.add_uploads(
                [(p.name, p) for p in paths], replace=bool(replace), page_progress=page_progress
            )
        except PolicyQAError as e:
            return upload_frame([]), f"⚠️ {e}", table, choices, None
        counts = {s: sum(r.status == s for r in results) for s in library.STATUS_ZH}
        summary = "，".join(f"{library.STATUS_ZH[s]} {n} 个" for s, n in counts.items() if n)
        table, choices = self.refresh_library()
        return upload_frame(results), f"导入完成：{summary}。", table, choices, None

    def delete(
        self, doc_id: str | None, confirmed: bool, request: gr.Request
    ) -> tuple[str, pd.DataFrame, Any, str, bool]:
        denied = self.refused(request)
        table, choices = self.refresh_library()
        if denied:
            return denied, table, choices, gr.skip(), confirmed
        if not doc_id:
            return "请先选择要删除的文档。", table, choices, gr.skip(), confirmed
        if not confirmed:
            return "请先勾选“确认删除”。", table, choices, gr.skip(), confirmed
        try:
            n = self.svc.delete_document(doc_id)
        except PolicyQAError as e:
            return f"⚠️ {e}", table, choices, gr.skip(), False
        table, choices = self.refresh_library()
        return (
            f"已删除文档 {doc_id}（{n} 个分块）。",
            table,
            gr.update(choices=self.doc_choices(), value=None),
            "",
            False,
        )

    def reindex(self, request: gr.Request) -> tuple[str, pd.DataFrame, Any]:
        denied = self.refused(request)
        if denied:
            table, choices = self.refresh_library()
            return denied, table, choices
        try:
            r = self.svc.reindex()
        except PolicyQAError as e:
            table, choices = self.refresh_library()
            return f"⚠️ {e}", table, choices
        lines = [
            f"重新索引完成（{r.seconds:.1f} 秒）：新增 {len(r.added)}，更新 {len(r.updated)}，"
            f"未变化 {len(r.unchanged)}，移除 {len(r.removed)}，失败 {len(r.failed)}。"
        ]
        lines += [f"- 失败：{Path(p).name}：{reason}" for p, reason in r.failed]
        table, choices = self.refresh_library()
        return "\n".join(lines), table, choices

    def permissions(self, request: gr.Request) -> tuple[Any, ...]:
        user = request_user(request)
        admin = self.access.is_admin(user)
        who = (
            f"当前用户：{user}（{'管理员' if admin else '只读'}）"
            if self.access.enabled
            else "未启用登录：所有人均可管理文档库。"
        )
        note = who if admin else who + " 上传、删除和重新索引仅限管理员。"
        return (*(gr.update(interactive=admin) for _ in range(6)), note)

    def whoami(self, request: gr.Request) -> str:
        return str(self.permissions(request)[-1])


@dataclass(frozen=True)
class AdminPanel:
    """The 管理 accordion's components: upload, delete and re-index, and their messages."""

    admin_note: Any
    files: Any
    replace_box: Any
    upload_btn: Any
    upload_status: Any
    upload_table: Any
    confirm: Any
    delete_btn: Any
    reindex_btn: Any
    admin_status: Any


def _admin_panel() -> AdminPanel:
    """The 管理（仅限管理员） accordion; ``permissions`` enables its inputs for admins only."""
    with gr.Accordion("管理（仅限管理员）", open=True):
        admin_note = gr.Markdown(elem_id="admin-note")
        files = gr.File(
            label="上传文件（txt md pdf docx html jsonl csv xlsx，可多选）",
            file_count="multiple",
            file_types=list(SUPPORTED),
            type="filepath",
            elem_id="upload-files",
        )
        replace_box = gr.Checkbox(
            label="替换同名的已上传文件（旧版本另存）",
            value=False,
            elem_id="upload-replace",
        )
        upload_btn = gr.Button("上传并导入", variant="primary", elem_id="upload-button")
        upload_status = gr.Markdown()
        upload_table = gr.Dataframe(headers=UPLOAD_COLUMNS, interactive=False, wrap=True)
        with gr.Row():
            confirm = gr.Checkbox(label="确认删除所选文档", value=False)
            delete_btn = gr.Button("删除所选文档", variant="stop")
            reindex_btn = gr.Button("重新索引（语料目录与上传目录）")
        admin_status = gr.Markdown(elem_id="admin-status")
    return AdminPanel(
        admin_note,
        files,
        replace_box,
        upload_btn,
        upload_status,
        upload_table,
        confirm,
        delete_btn,
        reindex_btn,
        admin_status,
    )


def build_library(svc: PolicyQA, access: Access, who: gr.Markdown) -> Callable[[gr.Blocks], None]:
    """The 文档库 tab's components and events (call inside its ``gr.Tab``); returns what
    registers its page-load events, which ``create_app`` runs after every tab is built."""
    actions = LibraryActions(svc, access)
    with gr.Row():
        refresh_btn = gr.Button("刷新列表", scale=0)
    docs_table = gr.Dataframe(
        headers=DOC_COLUMNS,
        interactive=False,
        wrap=True,
        elem_id="documents",
        max_height=360,
    )
    with gr.Row():
        doc_pick = gr.Dropdown(
            choices=[],
            label="选择文档",
            scale=4,
            elem_id="doc-pick",
            allow_custom_value=True,
        )  # choices change with the library
        read_btn = gr.Button("阅读全文", scale=1)
    doc_view = gr.HTML(elem_id="doc-view")
    admin = _admin_panel()
    refresh_btn.click(
        actions.refresh_library, None, [docs_table, doc_pick], api_visibility="private"
    )
    read_btn.click(actions.read_document, doc_pick, doc_view, api_visibility="private")
    doc_pick.change(actions.read_document, doc_pick, doc_view, api_visibility="private")
    # admin actions stay callable by API clients (undocumented) so the server-side check is testable
    admin.upload_btn.click(
        actions.upload,
        [admin.files, admin.replace_box],
        [admin.upload_table, admin.upload_status, docs_table, doc_pick, admin.files],
        api_name="upload",
        api_visibility="undocumented",
    )
    admin.delete_btn.click(
        actions.delete,
        [doc_pick, admin.confirm],
        [admin.admin_status, docs_table, doc_pick, doc_view, admin.confirm],
        api_name="delete_document",
        api_visibility="undocumented",
    )
    admin.reindex_btn.click(
        actions.reindex,
        None,
        [admin.admin_status, docs_table, doc_pick],
        api_name="reindex",
        api_visibility="undocumented",
    )

    def on_load(demo: gr.Blocks) -> None:
        demo.load(
            actions.permissions,
            None,
            [
                admin.files,
                admin.replace_box,
                admin.upload_btn,
                admin.confirm,
                admin.delete_btn,
                admin.reindex_btn,
                admin.admin_note,
            ],
            api_visibility="private",
        )
        demo.load(actions.whoami, None, who, api_visibility="private")
        demo.load(actions.refresh_library, None, [docs_table, doc_pick], api_visibility="private")

    return on_load
