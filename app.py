"""PolicyQA web app: the Gradio UI staff use, with the REST API beside it on one server.

``create_app(settings)`` builds the Gradio Blocks without launching it (tests use it);
``create_server(settings)`` mounts it on the FastAPI app of ``rag.serving.api`` (``/api/…``,
``/healthz``, ``/docs``); ``python app.py [--host H] [--port P]`` serves both with uvicorn.

Tabs: 问答 (chat with streamed, cited answers, source cards and 👍/👎 feedback), 新人入门
(responsibility map, glossary, document overviews, example questions into the chat), 检索测试
(ranked passages with each retriever's rank, for evaluators), 文档库 (read, upload, delete,
re-index: the last three for admins) and 评测 (retrieval metrics on an eval set). Every
operation is one call of ``PolicyQA`` or ``rag.library``; this module only renders and
turns ``PolicyQAError`` into a message on the page. Nothing is fetched from the network:
system fonts, no CDN, analytics off.
"""

from __future__ import annotations

import argparse
import contextvars
import functools
import html
import logging
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from ingest.loaders import SUPPORTED  # noqa: E402
from rag import library  # noqa: E402
from rag.answer import MARKER  # noqa: E402
from rag.errors import LoadError, PolicyQAError, SignInThrottled  # noqa: E402
from rag.service import PolicyQA  # noqa: E402
from rag.serving.auth import Access, SignInGuard  # noqa: E402
from rag.serving.feedback import feedback_store  # noqa: E402
from rag.settings import PROJECT_DIR, Settings  # noqa: E402

log = logging.getLogger(__name__)

TITLE = "PolicyQA 招商政策问答助手"
KIND_LABELS = {
    "policy_notice": "政策文件",
    "experience_article": "经验文章",
    "news": "新闻报道",
    "project_record": "项目记录",
    "report": "工作报告",
}
KIND_CHOICES = [("全部", ""), *((label, kind) for kind, label in KIND_LABELS.items())]
RETRIEVER_CHOICES = [("混合（推荐）", "hybrid"), ("关键词 BM25", "bm25"), ("向量 dense", "dense")]
EXAMPLES = [
    "招商六组的牵头领导是谁？",
    "焦作“7+X”招商机制是什么？",
    "招商引资五大弊病有哪些？",
    "县区一把手一年至少要花多少时间出门招商？",
    "郑州对投资5亿元以上项目有什么要求？",
]
EVAL_SETS_DIR = PROJECT_DIR / "evals" / "sets"
EVAL_KS = (1, 3, 5, 10)
MODE_BADGES = {
    "extractive": "原文摘录",
    "llm": "大模型生成",
    "ledger": "项目台账",
    "refusal": "未找到依据",
    "map": "职责清单",
    "glossary": "术语表",
}
SEARCH_COLUMNS = ["排名", "标题", "文号", "章节", "BM25 排名", "向量排名", "融合得分", "原文"]
DOC_COLUMNS = ["文档编号", "标题", "类型", "发文机关", "文号", "日期", "地区", "分块数", "来源"]
UPLOAD_COLUMNS = ["文件", "结果", "文档数", "说明"]

# System fonts only: the default theme's web fonts are served locally by Gradio 6, but a
# CJK-first stack renders Chinese better and guarantees no font download.
THEME = gr.themes.Default(
    font=[
        "PingFang SC",
        "Microsoft YaHei",
        "Noto Sans CJK SC",
        "Source Han Sans SC",
        "WenQuanYi Micro Hei",
        "system-ui",
        "sans-serif",
    ],
    font_mono=["Noto Sans Mono CJK SC", "Consolas", "monospace"],
)
CSS = """
.pq-meta { color: var(--body-text-color-subdued); font-size: 0.9em; }
.pq-rewritten { color: var(--body-text-color-subdued); font-size: 0.9em; margin-bottom: 0.4em; }
.pq-badge { display: inline-block; font-size: 0.75em; padding: 0 0.5em; border-radius: 0.6em;
            background: var(--neutral-100); color: var(--neutral-700); margin-bottom: 0.3em; }
.pq-badge.refusal { background: #fff4e5; color: #8a4b00; }
.pq-notes { border-left: 3px solid #e6a23c; padding: 0.2em 0.6em; margin: 0.5em 0; font-size: 0.9em; }
.pq-sources { margin-top: 0.6em; }
.pq-sources-title { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.2em; }
details.pq-card { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.3em 0.6em;
                  margin: 0.3em 0; background: var(--background-fill-secondary); }
details.pq-card summary { cursor: pointer; }
details.pq-card .pq-passage { margin-top: 0.4em; line-height: 1.7; white-space: normal; }
details.pq-card mark { background: #fde68a; padding: 0 1px; }
.pq-ocr { color: #b45309; font-size: 0.85em; border: 1px solid #f59e0b; border-radius: 4px; padding: 0 4px; }
.pq-closest li { margin: 0.1em 0; }
.pq-doc h4 { margin: 1em 0 0.3em 0; }
.pq-doc p { line-height: 1.8; }
"""


def ui_options(settings: Settings) -> dict[str, Any]:
    """What ``launch()``/``mount_gradio_app`` need besides the Blocks: theme, css, limits."""
    return {
        "theme": THEME,
        "css": CSS,
        "footer_links": ["api", "settings"],
        "run_history": False,
        "max_file_size": int(settings.max_file_mb * 1e6),
    }


# ------------------------------------------------------------------ rendering (pure)


def esc(value: Any) -> str:
    return html.escape(str(value if value is not None else ""))


def highlight(passage: str, quote: str) -> str:
    """The passage as HTML with the quoted words in <mark>; line breaks kept.

    highlight("甲。乙<丙>。", "乙<丙>。") → "甲。<mark>乙&lt;丙&gt;。</mark>"
    """
    i = passage.find(quote) if quote else -1
    if i < 0:
        body = esc(passage)
    else:
        body = esc(passage[:i]) + "<mark>" + esc(quote) + "</mark>" + esc(passage[i + len(quote) :])
    return body.replace("\n", "<br>")


def citation_meta(c: Mapping[str, Any]) -> str:
    """ "焦政办〔2020〕9号 · 一、成立7个招商小组 › （六）招商六组 · 第2页 · 2020-03-16"."""
    parts = [
        c.get("doc_number") or "",
        c.get("section_path") or "正文",
        f"第{c['page']}页" if c.get("page") else "",
        c.get("date") or "",
    ]
    return " · ".join(str(p) for p in parts if p)


OCR_NOTE = "OCR识别，请核对原件"


def source_cards(
    citations: Sequence[Mapping[str, Any]],
    passages: Mapping[str, str],
    ocr: Mapping[str, float] | None = None,
) -> str:
    """One collapsed card per citation; opening it shows the passage with the quote marked.
    A passage read by OCR (``ocr``: chunk id → mean confidence) says so: "OCR识别，请核对原件".

    One line of HTML (no blank lines), so the chat's Markdown leaves it alone.
    """
    ocr = ocr or {}
    if not citations:
        return ""
    cards = []
    for c in citations:
        passage = passages.get(c["chunk_id"], "") or c.get("quote", "")
        source = Path(str(c.get("source") or "")).name
        cards.append(
            f"<details class='pq-card' data-n='{esc(c['n'])}'><summary><b>[{esc(c['n'])}] 《{esc(c['title'])}》</b>"
            f" <span class='pq-meta'>{esc(citation_meta(c))}</span>"
            + (
                f" <span class='pq-ocr' title='识别置信度 {ocr[c['chunk_id']]:.0%}'>{OCR_NOTE}</span>"
                if c["chunk_id"] in ocr
                else ""
            )
            + "</summary>"
            f"<div class='pq-passage'>{highlight(passage, c.get('quote', ''))}</div>"
            + (f"<div class='pq-meta'>文件：{esc(source)}</div>" if source else "")
            + "</details>"
        )
    return f"<div class='pq-sources'><div class='pq-sources-title'>出处（点击展开原文）</div>{''.join(cards)}</div>"


def answer_body(text: str) -> str:
    """Answer text for the chat: HTML-escaped, markers [n] as superscripts."""
    return MARKER.sub(r"<sup class='pq-ref'>[\1]</sup>", esc(text))


def render_answer(
    answer: Mapping[str, Any], passages: Mapping[str, str], ocr: Mapping[str, float] | None = None
) -> str:
    """The chat bubble of an ``Answer.to_dict()``: how the question was understood, the
    answer (or the refusal with the closest documents), notes, and the source cards."""
    blocks = []
    mode = str(answer.get("mode", ""))
    badge = MODE_BADGES.get(mode, mode)
    blocks.append(f"<span class='pq-badge {esc(mode)}'>{esc(badge)}</span>")
    question, rewritten = str(answer.get("question", "")), str(answer.get("rewritten_question", ""))
    if rewritten and rewritten != question:
        blocks.append(f"<div class='pq-rewritten'>理解为：{esc(rewritten)}</div>")
    blocks.append(answer_body(str(answer.get("answer", ""))))
    closest = answer.get("closest") or []
    if not answer.get("answered") and closest:
        items = "".join(
            f"<li>《{esc(c.get('title', ''))}》"
            + (f"（{esc(c['doc_number'])}）" if c.get("doc_number") else "")
            + "</li>"
            for c in closest
        )
        blocks.append(f"<div class='pq-closest'>可以先看看这些最接近的资料：<ul>{items}</ul></div>")
    notes = list(answer.get("notes") or [])
    if answer.get("flagged_numbers"):
        notes.append(
            "以下数字未在引用原文中找到，请核对：" + "、".join(map(str, answer["flagged_numbers"]))
        )
    if notes:
        blocks.append(
            "<div class='pq-notes'>" + "<br>".join(f"⚠️ {esc(n)}" for n in notes) + "</div>"
        )
    cards = source_cards(answer.get("citations") or [], passages, ocr)
    if cards:
        blocks.append(cards)
    return "\n\n".join(blocks)


def chunk_texts(svc: PolicyQA, chunk_ids: Sequence[str]) -> dict[str, str]:
    """Stored text of the given chunks (what citations quote)."""
    ids = list(dict.fromkeys(i for i in chunk_ids if i))
    if not ids:
        return {}
    return {i: body for i, body, _ in svc.chunks(ids)}


def chunk_ocr(svc: PolicyQA, chunk_ids: Sequence[str]) -> dict[str, float]:
    """The OCR'd chunks among the given ones, with their pages' mean recognition confidence."""
    ids = list(dict.fromkeys(i for i in chunk_ids if i))
    if not ids:
        return {}
    return {
        i: float(m.get("ocr_confidence") or 0)
        for i, _, m in svc.chunks(ids, texts=False)
        if m.get("ocr")
    }


def filters_from(kind: str, region: str, date_from: str, date_to: str) -> dict[str, Any]:
    """The UI's filter fields as a ``Filters`` mapping (empty fields left out)."""
    out: dict[str, Any] = {}
    if kind:
        out["kind"] = [kind]
    for name, value in (("region", region), ("date_from", date_from), ("date_to", date_to)):
        if value and value.strip():
            out[name] = value.strip()
    return out


def hits_frame(hits: Sequence[Any]) -> pd.DataFrame:
    """The 检索测试 table: rank, title, 文号, section, each retriever's rank, fused score, text."""
    rows = [
        [
            h.rank,
            h.title,
            h.doc_number or "—",
            h.section_path or "正文",
            h.bm25_rank if h.bm25_rank is not None else "—",
            h.dense_rank if h.dense_rank is not None else "—",
            f"{h.score:.4f}",
            h.text,
        ]
        for h in hits
    ]
    return pd.DataFrame(rows, columns=SEARCH_COLUMNS)


def documents_frame(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [
        [
            d["doc_id"],
            d.get("title", ""),
            KIND_LABELS.get(d.get("kind", ""), d.get("kind", "")),
            d.get("issuer", ""),
            d.get("doc_number", ""),
            d.get("date", ""),
            d.get("region", ""),
            f"{d['rows']}行（台账）" if d.get("rows") else d["chunks"],
            Path(str(d.get("source", ""))).name,
        ]
        for d in docs
    ]
    return pd.DataFrame(rows, columns=DOC_COLUMNS)


def render_document(meta: Mapping[str, Any], sections: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A document for reading: title, metadata line, then each section's text under its path."""
    line = " · ".join(
        str(x)
        for x in (
            meta.get("doc_number"),
            meta.get("issuer"),
            meta.get("date"),
            KIND_LABELS.get(str(meta.get("kind", "")), meta.get("kind")),
            meta.get("region"),
        )
        if x
    )
    parts = [
        f"<div class='pq-doc'><h3>《{esc(meta.get('title', ''))}》</h3><div class='pq-meta'>{esc(line)}</div>"
    ]
    for path, texts in sections:
        parts.append(f"<h4>{esc(path or '正文')}</h4>")
        parts.extend(f"<p>{esc(t).replace(chr(10), '<br>')}</p>" for t in texts)
    parts.append("</div>")
    return "".join(parts)


GLOSSARY_COLUMNS = ["术语", "方式", "释义/原文", "来源文件"]


def render_overview(ov: Mapping[str, Any], passages: Mapping[str, str]) -> str:
    """A document overview: metadata line, then each heading with its first sentence; every
    line opens (a collapsed card) on the passage it comes from, the sentence marked."""
    line = " · ".join(
        str(ov.get(k)) for k in ("kind", "issuer", "doc_number", "date", "region") if ov.get(k)
    )
    parts = [
        f"<div class='pq-overview'><h3>《{esc(ov.get('title', ''))}》</h3><div class='pq-meta'>{esc(line)}</div>"
    ]
    for item in ov.get("outline", []):
        indent = max(int(item["level"]) - 1, 0) * 1.2
        passage = passages.get(item["chunk_id"], "")
        parts.append(
            f"<details class='pq-card pq-outline' style='margin-left:{indent}em' data-chunk='{esc(item['chunk_id'])}'>"
            f"<summary><b>{esc(item['heading'])}</b> <span class='pq-meta'>{esc(item['first_sentence'])}</span></summary>"
            f"<div class='pq-passage'>{highlight(passage, item['first_sentence'])}</div>"
            f"<div class='pq-meta'>{esc(item['section_path'] or '正文')}</div></details>"
        )
    parts.append("</div>")
    return "".join(parts)


def upload_frame(results: Sequence[library.FileResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [[r.file, r.status_zh, r.documents, r.reason] for r in results], columns=UPLOAD_COLUMNS
    )


def uploaded_file(path: str | Path) -> Path:
    """A file a handler was handed, if it lies in Gradio's upload folder (an upload to this
    server); ``LoadError`` otherwise, so no server file outside it is ever read.

    Gradio's own check refuses such paths before a handler runs (``create_server`` turns it
    on for the mounted app); this one holds even when Gradio's does not.
    """
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    resolved = Path(path).resolve()
    if folder not in resolved.parents or not resolved.is_file():
        log.warning("refused a file that was not uploaded: %s", path)
        raise LoadError(f"文件“{Path(path).name}”不是通过本页面上传的，已拒绝。")
    return resolved


def eval_sets() -> list[str]:
    """The bundled eval sets, as paths relative to the project (evals/sets/*.jsonl)."""
    return [str(p.relative_to(PROJECT_DIR)) for p in sorted(EVAL_SETS_DIR.glob("*.jsonl"))]


# ------------------------------------------------------------------ the app


def open_index(svc: PolicyQA) -> None:
    """Open the index (and BM25) now, before requests arrive in parallel threads.

    ``PolicyQA.index`` is opened lazily without a lock; two first requests at once would
    each build a Chroma client on the same folder. A broken index is logged here and then
    reported on every request by the service itself.
    """
    try:
        svc.open()
    except PolicyQAError as e:
        log.error("索引无法打开：%s", e)


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


PROJECT_COLUMNS = [
    "项目名称",
    "地区",
    "产业",
    "投资额（亿元）",
    "阶段",
    "时间",
    "相关单位",
    "来源文件",
    "原文",
]
PROJECT_STAGES = ("洽谈", "签约", "落地", "开工", "在建", "投产")


def create_app(settings: Settings, service: PolicyQA | None = None) -> gr.Blocks:
    """The Gradio Blocks (not launched). Admin actions are checked here, on the server."""
    svc = service or PolicyQA(settings)
    access = Access.from_settings(settings)
    feedback = feedback_store(settings.index_dir)
    open_index(svc)

    # ---------------------------------------------------------------- 问答

    def chat(
        message: str,
        messages: list[dict],
        turns: list[dict],
        kind: str,
        region: str,
        date_from: str,
        date_to: str,
    ) -> Iterator[tuple[str, list[dict], list[dict]]]:
        """Ask and stream the answer into the chat; the final bubble carries the source cards."""
        message = (message or "").strip()
        if not message:
            yield "", messages, turns
            return
        messages = [
            *messages,
            {"role": "user", "content": message},
            {"role": "assistant", "content": "正在检索资料…"},
        ]
        yield "", messages, turns
        tokens: queue.Queue[str | None] = queue.Queue()
        outcome: dict[str, Any] = {}
        previous = [t["question"] for t in turns]

        def work() -> None:
            try:
                outcome["answer"] = svc.ask(
                    message,
                    history=previous,
                    filters=filters_from(kind, region, date_from, date_to),
                    on_token=tokens.put,
                )
            except PolicyQAError as e:
                outcome["error"] = str(e)
            except Exception as e:  # shown as a message, logged with its traceback
                log.exception("ask failed")
                outcome["error"] = f"内部错误（{type(e).__name__}），请联系管理员"
            finally:
                tokens.put(None)

        threading.Thread(target=work, daemon=True, name="policyqa-ask").start()
        # what has arrived is shown at once: an LLM's tokens as it streams them, an extractive
        # answer whole (it is complete when computed; no simulated typing)
        streamed = ""
        while True:
            token = tokens.get()
            if token is None:
                break
            streamed += token
            while not tokens.empty():  # tokens that queued up meanwhile go out in one update
                more = tokens.get()
                if more is None:
                    tokens.put(None)
                    break
                streamed += more
            messages[-1] = {"role": "assistant", "content": answer_body(streamed) + " ▌"}
            yield "", messages, turns
        if "error" in outcome:
            messages[-1] = {"role": "assistant", "content": f"⚠️ {esc(outcome['error'])}"}
            yield "", messages, turns
            return
        answer = outcome["answer"].to_dict()
        cited = [c["chunk_id"] for c in answer["citations"]]
        passages = chunk_texts(svc, cited)
        messages[-1] = {
            "role": "assistant",
            "content": render_answer(answer, passages, chunk_ocr(svc, cited)),
        }
        turns = [*turns, {"question": message, "answer": answer, "index": len(messages) - 1}]
        yield "", messages, turns

    def rate(turns: list[dict], comment: str, liked: bool, request: gr.Request) -> tuple[str, str]:
        if not turns:
            return "还没有可评价的回答。", comment
        try:
            feedback.add(turns[-1]["answer"], liked, comment, _user(request) or "")
        except PolicyQAError as e:
            return f"⚠️ {e}", comment
        return (
            "已记录：👍 有帮助。谢谢！" if liked else "已记录：👎 没帮助。谢谢，我们会改进。"
        ), ""

    def rate_up(turns: list[dict], comment: str, request: gr.Request) -> tuple[str, str]:
        return rate(turns, comment, True, request)

    def rate_down(turns: list[dict], comment: str, request: gr.Request) -> tuple[str, str]:
        return rate(turns, comment, False, request)

    def on_like(
        turns: list[dict], comment: str, data: gr.LikeData, request: gr.Request
    ) -> tuple[str, str]:
        turn = next((t for t in turns if t["index"] == data.index), None)
        if turn is None or not isinstance(data.liked, bool):
            return "", comment
        feedback.add(turn["answer"], data.liked, comment, _user(request) or "")
        return (
            "已记录：👍 有帮助。谢谢！" if data.liked else "已记录：👎 没帮助。谢谢，我们会改进。"
        ), ""

    # ---------------------------------------------------------------- 检索测试

    def run_search(
        query: str, kind: str, region: str, date_from: str, date_to: str, retriever: str, k: float
    ) -> tuple[pd.DataFrame, str]:
        try:
            hits = svc.search(
                query,
                k=int(k),
                filters=filters_from(kind, region, date_from, date_to),
                retriever=retriever,
            )
        except PolicyQAError as e:
            return hits_frame([]), f"⚠️ {e}"
        note = f"共 {len(hits)} 条结果（{dict((v, n) for n, v in RETRIEVER_CHOICES).get(retriever, retriever)}）。"
        if retriever == "bm25":
            note += "“融合得分”列为 BM25 得分。"
        elif retriever == "dense":
            note += "“融合得分”列为余弦相似度。"
        return hits_frame(hits), note if hits else "没有找到相关内容。"

    # ---------------------------------------------------------------- 文档库

    def doc_choices() -> list[tuple[str, str]]:
        return [
            (f"{d.get('title') or d['doc_id']}（{d['doc_id']}）", d["doc_id"])
            for d in svc.library_documents()
        ]

    def refresh_library() -> tuple[pd.DataFrame, Any]:
        try:
            docs = svc.library_documents()
        except PolicyQAError as e:
            gr.Warning(str(e))
            return documents_frame([]), gr.update(choices=[])
        return documents_frame(docs), gr.update(choices=doc_choices())

    def read_document(doc_id: str | None) -> str:
        if not doc_id:
            return "<p class='pq-meta'>请先在上方选择一个文档。</p>"
        try:
            meta, sections = svc.document_sections(doc_id)
        except PolicyQAError as e:
            return f"<p>⚠️ {esc(e)}</p>"
        return render_document(meta, sections)

    def refused(request: gr.Request) -> str | None:
        if access.is_admin(_user(request)):
            return None
        return "⚠️ 当前用户没有管理权限：上传、删除和重新索引仅限管理员（POLICYQA_ADMINS）。"

    def upload(
        files: list[str] | None,
        replace: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[pd.DataFrame, str, pd.DataFrame, Any, None]:
        table, choices = refresh_library()
        denied = refused(request)  # before any file is looked at
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
            results = svc.add_uploads(
                [(p.name, p) for p in paths], replace=bool(replace), page_progress=page_progress
            )
        except PolicyQAError as e:
            return upload_frame([]), f"⚠️ {e}", table, choices, None
        counts = {s: sum(r.status == s for r in results) for s in library.STATUS_ZH}
        summary = "，".join(f"{library.STATUS_ZH[s]} {n} 个" for s, n in counts.items() if n)
        table, choices = refresh_library()
        return upload_frame(results), f"导入完成：{summary}。", table, choices, None

    def delete(
        doc_id: str | None, confirmed: bool, request: gr.Request
    ) -> tuple[str, pd.DataFrame, Any, str, bool]:
        denied = refused(request)
        table, choices = refresh_library()
        if denied:
            return denied, table, choices, gr.skip(), confirmed
        if not doc_id:
            return "请先选择要删除的文档。", table, choices, gr.skip(), confirmed
        if not confirmed:
            return "请先勾选“确认删除”。", table, choices, gr.skip(), confirmed
        try:
            n = svc.delete_document(doc_id)
        except PolicyQAError as e:
            return f"⚠️ {e}", table, choices, gr.skip(), False
        table, choices = refresh_library()
        return (
            f"已删除文档 {doc_id}（{n} 个分块）。",
            table,
            gr.update(choices=doc_choices(), value=None),
            "",
            False,
        )

    def reindex(request: gr.Request) -> tuple[str, pd.DataFrame, Any]:
        denied = refused(request)
        if denied:
            table, choices = refresh_library()
            return denied, table, choices
        try:
            r = svc.reindex()
        except PolicyQAError as e:
            table, choices = refresh_library()
            return f"⚠️ {e}", table, choices
        lines = [
            f"重新索引完成（{r.seconds:.1f} 秒）：新增 {len(r.added)}，更新 {len(r.updated)}，"
            f"未变化 {len(r.unchanged)}，移除 {len(r.removed)}，失败 {len(r.failed)}。"
        ]
        lines += [f"- 失败：{Path(p).name}：{reason}" for p, reason in r.failed]
        table, choices = refresh_library()
        return "\n".join(lines), table, choices

    def permissions(request: gr.Request) -> tuple[Any, ...]:
        user = _user(request)
        admin = access.is_admin(user)
        who = (
            f"当前用户：{user}（{'管理员' if admin else '只读'}）"
            if access.enabled
            else "未启用登录：所有人均可管理文档库。"
        )
        note = who if admin else who + " 上传、删除和重新索引仅限管理员。"
        return (*(gr.update(interactive=admin) for _ in range(6)), note)

    def whoami(request: gr.Request) -> str:
        return str(permissions(request)[-1])

    # ---------------------------------------------------------------- 评测

    def run_eval(
        set_name: str | None,
        uploaded: str | None,
        retrievers: list[str],
        limit: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        from rag.evaluation import scoring as ev
        from rag.evaluation.runner import score_retriever

        empty = (pd.DataFrame(), pd.DataFrame(columns=["k", "Hit@k", "检索方式"]), pd.DataFrame())
        if set_name and set_name not in eval_sets():
            return (f"⚠️ 没有这个评测集：{set_name}", *empty)
        try:
            path = (
                uploaded_file(uploaded)
                if uploaded
                else (PROJECT_DIR / set_name if set_name else None)
            )
        except PolicyQAError as e:
            return (f"⚠️ {e}", *empty)
        if path is None:
            return ("请选择或上传一个评测集（JSONL）。", *empty)
        if not retrievers:
            return ("请至少选择一种检索方式。", *empty)
        depth = max(*EVAL_KS, ev.DEPTH)
        try:
            items = ev.load_set(path)
            if limit and int(limit) > 0:
                items = items[: int(limit)]
            blocks: dict[str, Any] = {}
            misses = []
            for name in retrievers:
                results = score_retriever(
                    svc, items, name, depth, wrap=functools.partial(progress.tqdm, desc=name)
                )
                blocks[name] = ev.report(results, EVAL_KS)
                misses += [
                    [
                        name,
                        r.item.id,
                        r.item.type,
                        r.item.question,
                        r.first_rank or "未命中",
                        r.hits[0].title if r.hits else "",
                        "、".join(sorted(r.item.gold_docs)),
                    ]
                    for r in results
                    if r.item.answerable and r.first_rank != 1
                ]
        except PolicyQAError as e:
            return (f"⚠️ {e}", *empty)
        cols = [*(f"hit@{k}" for k in EVAL_KS), "mrr@10", "ndcg@10", "recall@5", "coverage@5"]
        labels = {
            "mrr@10": "MRR@10",
            "ndcg@10": "nDCG@10",
            "recall@5": "Recall@5",
            "coverage@5": "Cov@5",
        }
        metrics = pd.DataFrame(
            [
                [
                    name,
                    b["overall"]["n"],
                    *(round(b["overall"].get(c, 0.0), 3) for c in cols),
                    b["latency_ms"]["p50"],
                ]
                for name, b in blocks.items()
            ],
            columns=[
                "检索方式",
                "题数",
                *(labels.get(c, c.replace("hit@", "Hit@")) for c in cols),
                "p50 毫秒",
            ],
        )
        chart = pd.DataFrame(
            [
                [k, b["overall"].get(f"hit@{k}", 0.0), name]
                for name, b in blocks.items()
                for k in EVAL_KS
            ],
            columns=["k", "Hit@k", "检索方式"],
        )
        missed = pd.DataFrame(
            misses,
            columns=["检索方式", "编号", "题型", "问题", "首个相关排名", "第1条结果", "标准文档"],
        )
        first = next(iter(blocks.values()))
        health = svc.health()
        status = (
            f"评测集 {path.name}：{len(items)} 题，其中无答案题 {first['n_unanswerable']} 个不计入检索指标；"
            f"索引 {health['chunks']} 个分块，嵌入模型 {health['embedder']}。"
            f"下表“未命中第1名”的问题共 {len(misses)} 条。"
        )
        return status, metrics, chart, missed

    # ---------------------------------------------------------------- 项目台账

    def run_projects(
        region: str,
        industry: str,
        stage: str,
        min_amount: float | None,
        max_amount: float | None,
    ) -> tuple[pd.DataFrame, str, str | None, str | None]:
        filters = {
            "region": region.strip(),
            "industry": industry.strip(),
            "stage": stage or "",
            "min_amount": min_amount if min_amount not in (None, 0) else None,
            "max_amount": max_amount if max_amount not in (None, 0) else None,
        }
        try:
            got = svc.query_projects({k: v for k, v in filters.items() if v not in (None, "")})
        except PolicyQAError as e:
            return pd.DataFrame(columns=PROJECT_COLUMNS), f"⚠️ {e}", None, None
        rows = [
            [
                p["name"],
                p["region"],
                p["industry"],
                p["amount_yi"],
                p["stage"],
                p["date"],
                p["units"],
                p["source_doc"],
                p["quote"],
            ]
            for p in got["projects"]
        ]
        table = pd.DataFrame(rows, columns=PROJECT_COLUMNS)
        total = got["total_amount_yi"]
        unknown = sum(1 for p in got["projects"] if p["amount_yi"] is None)
        summary = (
            f"共 {got['count']} 个项目（{got['conditions'] or '全部'}）；已知投资额合计 "
            f"{total:g} 亿元"
            if total is not None
            else f"共 {got['count']} 个项目（{got['conditions'] or '全部'}）"
        )
        if unknown:
            summary += f"，其中 {unknown} 个项目原文未写投资额"
        summary += "。每行“原文”是来源文件中的原句。"
        export = Path(
            tempfile.mkdtemp(prefix="policyqa-export-")
        )  # Gradio serves it; the index dir it may not
        csv_path, xlsx_path = export / "项目台账筛选结果.csv", export / "项目台账筛选结果.xlsx"
        table.to_csv(csv_path, index=False, encoding="utf-8-sig")
        table.to_excel(xlsx_path, index=False)
        return table, summary, str(csv_path), str(xlsx_path)

    # ---------------------------------------------------------------- 新人入门

    from rag.onboarding.export import COLUMNS as MAP_COLUMNS
    from rag.onboarding.export import table_rows, write_xlsx

    def run_map(
        region: str, actor: str, role: str, deadline: bool
    ) -> tuple[pd.DataFrame, str, str | None]:
        try:
            rows = svc.responsibilities(
                actor=actor or "", region=region or "", role=role or "", deadline=deadline
            )
        except PolicyQAError as e:
            return pd.DataFrame(columns=MAP_COLUMNS), f"⚠️ {e}", None
        export = Path(
            tempfile.mkdtemp(prefix="policyqa-export-")
        )  # Gradio serves it; the index dir it may not
        xlsx = write_xlsx(rows, export / "职责清单.xlsx")
        actors = len({r.actor_key for r in rows})
        summary = f"共 {len(rows)} 条职责，涉及 {actors} 个责任主体。每行“原文”是来源文件中的原句。"
        return pd.DataFrame(table_rows(rows), columns=MAP_COLUMNS), summary, str(xlsx)

    def role_choices() -> Any:
        try:
            roles = sorted({r.role for r in svc.onboarding().responsibilities})
        except PolicyQAError:
            roles = []
        return gr.Dropdown(choices=["", *roles], value="")

    def run_glossary(term: str) -> tuple[pd.DataFrame, str]:
        try:
            entries = svc.glossary(term or "")
            groups = svc.synonym_groups(term or "")
        except PolicyQAError as e:
            return pd.DataFrame(columns=GLOSSARY_COLUMNS), f"⚠️ {e}"
        table = pd.DataFrame(
            [[e.term, e.how, e.definition, e.passage.label()] for e in entries],
            columns=GLOSSARY_COLUMNS,
        )
        note = f"共 {len(entries)} 条术语。“使用”表示文件中用到但没有给出定义。"
        if groups:
            note += "\n\n同义词组（检索时互相替换，见 rag/data/synonyms.txt）：" + "；".join(
                " ".join(g) for g in groups
            )
        return table, note

    def overview_choices() -> Any:
        docs = [d for d in svc.library_documents() if d.get("kind") != "project_record"]
        return gr.Dropdown(
            choices=[(f"{d['title']}（{d['doc_id']}）", d["doc_id"]) for d in docs],
            value=docs[0]["doc_id"] if docs else None,
        )

    def show_overview(doc_id: str | None) -> str:
        if not doc_id:
            return "<p>请选择文档。</p>"
        try:
            ov = svc.document_outline(doc_id).to_dict()
        except PolicyQAError as e:
            return f"<p>⚠️ {esc(e)}</p>"
        return render_overview(ov, svc.stored_texts([i["chunk_id"] for i in ov["outline"]]))

    def example_samples() -> Any:
        try:
            questions = svc.onboarding_examples(limit=16)
        except PolicyQAError:
            questions = []
        return gr.Dataset(samples=[[q] for q in questions])

    def pick_example(sample: Any) -> tuple[str, Any]:
        text = sample[0] if isinstance(sample, list | tuple) else str(sample or "")
        return text, gr.Tabs(selected="ask")

    # ---------------------------------------------------------------- layout

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n问政策、查出处：每个回答都标明引用的文件、文号、章节和原文。")
        who = gr.Markdown(elem_id="who")
        with gr.Tabs() as tabs:
            with gr.Tab("问答", id="ask"):
                turns = gr.State([])
                chatbot = gr.Chatbot(
                    label="对话",
                    elem_id="chat",
                    height=560,
                    layout="bubble",
                    placeholder="在下方输入问题，例如：招商六组的牵头领导是谁？",
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="问题",
                        placeholder="输入问题后按回车或点“提问”",
                        scale=5,
                        elem_id="question",
                        max_lines=4,
                    )
                    ask_btn = gr.Button("提问", variant="primary", scale=1, elem_id="ask-button")
                    clear_btn = gr.Button("新对话", scale=1)
                with gr.Accordion("筛选条件（可选）", open=False):
                    with gr.Row():
                        kind = gr.Dropdown(choices=KIND_CHOICES, value="", label="文件类型")
                        region = gr.Textbox(label="地区（包含）", placeholder="如：焦作")
                        date_from = gr.Textbox(label="起始日期", placeholder="YYYY 或 YYYY-MM-DD")
                        date_to = gr.Textbox(label="截止日期", placeholder="YYYY 或 YYYY-MM-DD")
                gr.Examples(EXAMPLES, inputs=[question], label="新同事常问的问题（点击填入）")
                with gr.Row():
                    comment = gr.Textbox(
                        label="意见（可选）",
                        placeholder="哪里不对？缺了什么？",
                        scale=4,
                        elem_id="feedback-comment",
                    )
                    up_btn = gr.Button("👍 有帮助", scale=1, elem_id="thumbs-up")
                    down_btn = gr.Button("👎 没帮助", scale=1, elem_id="thumbs-down")
                feedback_status = gr.Markdown(elem_id="feedback-status")

                chat_inputs = [question, chatbot, turns, kind, region, date_from, date_to]
                ask_btn.click(chat, chat_inputs, [question, chatbot, turns], api_name="chat")
                question.submit(
                    chat, chat_inputs, [question, chatbot, turns], api_visibility="private"
                )
                clear_btn.click(
                    lambda: ([], [], ""),
                    None,
                    [chatbot, turns, feedback_status],
                    api_visibility="private",
                )
                up_btn.click(
                    rate_up, [turns, comment], [feedback_status, comment], api_visibility="private"
                )
                down_btn.click(
                    rate_down,
                    [turns, comment],
                    [feedback_status, comment],
                    api_visibility="private",
                )
                chatbot.like(
                    on_like, [turns, comment], [feedback_status, comment], api_visibility="private"
                )
                chatbot.clear(
                    lambda: ([], ""), None, [turns, feedback_status], api_visibility="private"
                )

            with gr.Tab("新人入门", id="onboarding"):
                gr.Markdown(
                    "给新同事：谁负责什么、什么时候报送（职责清单），文件里的术语是什么意思（术语表），"
                    "每份文件讲了什么（文件概览）。每一条都附原文和出处。"
                )
                gr.Markdown("**点一个问题，到“问答”里看带出处的回答：**")
                ob_examples = gr.Dataset(
                    components=[gr.Textbox(visible=False)],
                    samples=[],
                    label="示例问题",
                    elem_id="ob-examples",
                    samples_per_page=16,
                )
                with gr.Accordion("职责清单", open=True):
                    with gr.Row():
                        ob_region = gr.Textbox(
                            label="地区（包含）", placeholder="如：焦作", elem_id="ob-region"
                        )
                        ob_actor = gr.Textbox(
                            label="责任主体", placeholder="如：市商务局", elem_id="ob-actor"
                        )
                        ob_role = gr.Dropdown(
                            choices=[""],
                            value="",
                            label="角色",
                            elem_id="ob-role",
                            allow_custom_value=True,
                        )
                        ob_deadline = gr.Checkbox(
                            label="只看有时限/频次的", value=False, elem_id="ob-deadline"
                        )
                    ob_btn = gr.Button("筛选", variant="primary", elem_id="ob-filter")
                    ob_summary = gr.Markdown(elem_id="ob-summary")
                    ob_table = gr.Dataframe(
                        headers=MAP_COLUMNS,
                        interactive=False,
                        wrap=True,
                        elem_id="ob-map",
                        max_height=480,
                    )
                    ob_xlsx = gr.File(label="导出 XLSX", interactive=False, elem_id="ob-xlsx")
                with gr.Accordion("术语表", open=True):
                    with gr.Row():
                        ob_term = gr.Textbox(
                            label="查术语",
                            placeholder="如：7+X、以商招商",
                            scale=4,
                            elem_id="ob-term",
                        )
                        ob_term_btn = gr.Button("查询", scale=1, elem_id="ob-term-button")
                    ob_glossary = gr.Dataframe(
                        headers=GLOSSARY_COLUMNS,
                        interactive=False,
                        wrap=True,
                        elem_id="ob-glossary",
                        max_height=400,
                    )
                    ob_synonyms = gr.Markdown(elem_id="ob-synonyms")
                with gr.Accordion("文件概览", open=True):
                    ob_doc = gr.Dropdown(
                        choices=[], label="选择文件", elem_id="ob-doc", allow_custom_value=True
                    )
                    ob_outline = gr.HTML(elem_id="ob-outline")
                map_inputs = [ob_region, ob_actor, ob_role, ob_deadline]
                ob_btn.click(
                    run_map,
                    map_inputs,
                    [ob_table, ob_summary, ob_xlsx],
                    api_name="responsibilities",
                )
                ob_actor.submit(
                    run_map, map_inputs, [ob_table, ob_summary, ob_xlsx], api_visibility="private"
                )
                ob_term_btn.click(
                    run_glossary, ob_term, [ob_glossary, ob_synonyms], api_name="glossary"
                )
                ob_term.submit(
                    run_glossary, ob_term, [ob_glossary, ob_synonyms], api_visibility="private"
                )
                ob_doc.change(show_overview, ob_doc, ob_outline, api_visibility="private")
                ob_examples.click(
                    pick_example, ob_examples, [question, tabs], api_visibility="private"
                ).then(chat, chat_inputs, [question, chatbot, turns], api_visibility="private")

            with gr.Tab("检索测试", id="search"):
                gr.Markdown("给评测人员：查看每种检索方式找到的段落及其排名。")
                with gr.Row():
                    s_query = gr.Textbox(
                        label="查询",
                        placeholder="例如：招商六组的牵头领导是谁",
                        scale=4,
                        elem_id="search-query",
                    )
                    s_btn = gr.Button("检索", variant="primary", scale=1, elem_id="search-button")
                with gr.Row():
                    s_retriever = gr.Radio(RETRIEVER_CHOICES, value="hybrid", label="检索方式")
                    s_k = gr.Slider(1, 50, value=settings.default_k, step=1, label="返回条数 k")
                with gr.Row():
                    s_kind = gr.Dropdown(choices=KIND_CHOICES, value="", label="文件类型")
                    s_region = gr.Textbox(label="地区（包含）")
                    s_from = gr.Textbox(label="起始日期", placeholder="YYYY 或 YYYY-MM-DD")
                    s_to = gr.Textbox(label="截止日期", placeholder="YYYY 或 YYYY-MM-DD")
                s_note = gr.Markdown(elem_id="search-note")
                s_table = gr.Dataframe(
                    headers=SEARCH_COLUMNS,
                    label="检索结果",
                    interactive=False,
                    wrap=True,
                    elem_id="search-results",
                    column_widths=["5%", "15%", "10%", "15%", "7%", "7%", "8%", "33%"],
                )
                s_inputs = [s_query, s_kind, s_region, s_from, s_to, s_retriever, s_k]
                s_btn.click(run_search, s_inputs, [s_table, s_note], api_name="search")
                s_query.submit(run_search, s_inputs, [s_table, s_note], api_visibility="private")

            with gr.Tab("文档库", id="library"):
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
                    upload_table = gr.Dataframe(
                        headers=UPLOAD_COLUMNS, interactive=False, wrap=True
                    )
                    with gr.Row():
                        confirm = gr.Checkbox(label="确认删除所选文档", value=False)
                        delete_btn = gr.Button("删除所选文档", variant="stop")
                        reindex_btn = gr.Button("重新索引（语料目录与上传目录）")
                    admin_status = gr.Markdown(elem_id="admin-status")
                refresh_btn.click(
                    refresh_library, None, [docs_table, doc_pick], api_visibility="private"
                )
                read_btn.click(read_document, doc_pick, doc_view, api_visibility="private")
                doc_pick.change(read_document, doc_pick, doc_view, api_visibility="private")
                # admin actions stay callable by API clients (undocumented) so the server-side check is testable
                upload_btn.click(
                    upload,
                    [files, replace_box],
                    [upload_table, upload_status, docs_table, doc_pick, files],
                    api_name="upload",
                    api_visibility="undocumented",
                )
                delete_btn.click(
                    delete,
                    [doc_pick, confirm],
                    [admin_status, docs_table, doc_pick, doc_view, confirm],
                    api_name="delete_document",
                    api_visibility="undocumented",
                )
                reindex_btn.click(
                    reindex,
                    None,
                    [admin_status, docs_table, doc_pick],
                    api_name="reindex",
                    api_visibility="undocumented",
                )

            with gr.Tab("项目台账", id="projects"):
                gr.Markdown("资料中提到的招商项目：按地区、产业、阶段、投资额筛选，可导出。")
                with gr.Row():
                    p_region = gr.Textbox(label="地区（包含）", placeholder="如：山阳区、汝州")
                    p_industry = gr.Textbox(label="产业", placeholder="如：新材料")
                    p_stage = gr.Dropdown(
                        choices=["", *PROJECT_STAGES], value="", label="阶段（已达到）"
                    )
                    p_min = gr.Number(value=None, minimum=0, label="投资额下限（亿元）")
                    p_max = gr.Number(value=None, minimum=0, label="投资额上限（亿元）")
                p_btn = gr.Button("筛选", variant="primary", elem_id="projects-button")
                p_summary = gr.Markdown(elem_id="projects-summary")
                p_table = gr.Dataframe(
                    headers=PROJECT_COLUMNS,
                    interactive=False,
                    wrap=True,
                    elem_id="projects-table",
                    show_search="filter",
                )
                with gr.Row():
                    p_csv = gr.File(label="导出 CSV", interactive=False)
                    p_xlsx = gr.File(label="导出 XLSX", interactive=False)
                p_btn.click(
                    run_projects,
                    [p_region, p_industry, p_stage, p_min, p_max],
                    [p_table, p_summary, p_csv, p_xlsx],
                    api_name="projects",
                )

            with gr.Tab("评测", id="eval"):
                gr.Markdown(
                    "在评测集上比较检索方式。评测集格式见 evals/README.md（每行一个 JSON："
                    "id、question、answers、source、type）。"
                )
                with gr.Row():
                    sets = eval_sets()
                    e_set = gr.Dropdown(
                        choices=sets, value=sets[0] if sets else None, label="评测集"
                    )
                    e_file = gr.File(
                        label="或上传评测集（.jsonl）", file_types=[".jsonl"], type="filepath"
                    )
                with gr.Row():
                    e_retrievers = gr.CheckboxGroup(
                        [(label, v) for label, v in RETRIEVER_CHOICES],
                        value=["bm25", "dense", "hybrid"],
                        label="检索方式",
                    )
                    e_limit = gr.Number(
                        value=0, precision=0, minimum=0, label="只评测前 N 题（0 = 全部）"
                    )
                e_btn = gr.Button("运行评测", variant="primary", elem_id="eval-button")
                e_status = gr.Markdown(elem_id="eval-status")
                e_metrics = gr.Dataframe(
                    label="检索指标（仅有答案的问题）", interactive=False, elem_id="eval-metrics"
                )
                e_chart = gr.LinePlot(
                    x="k",
                    y="Hit@k",
                    color="检索方式",
                    title="Hit@k",
                    y_lim=[0, 1],
                    label="Hit@k 曲线",
                    elem_id="eval-chart",
                )
                e_missed = gr.Dataframe(
                    label="第1名未命中的问题", interactive=False, wrap=True, elem_id="eval-missed"
                )
                e_btn.click(
                    run_eval,
                    [e_set, e_file, e_retrievers, e_limit],
                    [e_status, e_metrics, e_chart, e_missed],
                    api_name="evaluate",
                )

        demo.load(
            permissions,
            None,
            [files, replace_box, upload_btn, confirm, delete_btn, reindex_btn, admin_note],
            api_visibility="private",
        )
        demo.load(whoami, None, who, api_visibility="private")
        demo.load(refresh_library, None, [docs_table, doc_pick], api_visibility="private")
        demo.load(example_samples, None, ob_examples, api_visibility="private")
        demo.load(role_choices, None, ob_role, api_visibility="private")
        demo.load(overview_choices, None, ob_doc, api_visibility="private")
        demo.load(run_map, map_inputs, [ob_table, ob_summary, ob_xlsx], api_visibility="private")
        demo.load(run_glossary, ob_term, [ob_glossary, ob_synonyms], api_visibility="private")
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


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description="PolicyQA web app and REST API")
    parser.add_argument("--host", default=None, help="default POLICYQA_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default POLICYQA_PORT or 7860")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        Access.from_settings(settings)
    except PolicyQAError as e:
        parser.exit(2, f"错误：{e}\n")
    launch(settings, args.host, args.port)


if __name__ == "__main__":
    main()
