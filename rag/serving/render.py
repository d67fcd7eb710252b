"""What every tab of the web app shares: labels, columns, theme and CSS, and pure rendering.

Rendering turns records (answers, hits, documents, overviews) into HTML, Markdown or data
frames; nothing here calls the service except ``chunk_texts``/``chunk_ocr``/``open_index``,
which read stored passages. Event handlers and layout live in ``rag.serving.tabs``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from rag import library
from rag.answer import MARKER
from rag.errors import LoadError, PolicyQAError
from rag.service import PolicyQA
from rag.settings import PROJECT_DIR, Settings

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
CSS = resources.files("rag").joinpath("data/app.css").read_text(encoding="utf-8")


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


def request_user(request: gr.Request | None) -> str | None:
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
