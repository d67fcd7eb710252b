"""The 评测 tab: retrieval metrics (Hit@k, MRR, nDCG, Recall, coverage) of chosen retrievers on
an eval set of ``evals/sets`` or an uploaded one, with a Hit@k chart and the questions missed.

Scoring is ``rag.evaluation``'s; this module only picks the set and turns reports into tables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr
import pandas as pd

from rag.errors import PolicyQAError
from rag.service import PolicyQA
from rag.serving.render import EVAL_KS, RETRIEVER_CHOICES, eval_sets, uploaded_file
from rag.settings import PROJECT_DIR

METRIC_LABELS = {
    "mrr@10": "MRR@10",
    "ndcg@10": "nDCG@10",
    "recall@5": "Recall@5",
    "coverage@5": "Cov@5",
}
MISSED_COLUMNS = ["检索方式", "编号", "题型", "问题", "首个相关排名", "第1条结果", "标准文档"]


def score_set(
    svc: PolicyQA, items: Sequence[Any], retrievers: Sequence[str], progress: gr.Progress
) -> tuple[dict[str, Any], list[list[Any]]]:
    """Each retriever's report on ``items``, and the answerable questions it missed at rank 1."""
    from rag.evaluation import scoring as ev
    from rag.evaluation.runner import score_retriever

    depth = max(*EVAL_KS, ev.DEPTH)
    blocks: dict[str, Any] = {}
    misses: list[list[Any]] = []
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
    return blocks, misses


def eval_frames(
    blocks: Mapping[str, Any], misses: Sequence[Sequence[Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The metrics table (one row per retriever), the Hit@k curve and the missed questions."""
    cols = [*(f"hit@{k}" for k in EVAL_KS), "mrr@10", "ndcg@10", "recall@5", "coverage@5"]
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
            *(METRIC_LABELS.get(c, c.replace("hit@", "Hit@")) for c in cols),
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
    return metrics, chart, pd.DataFrame(misses, columns=MISSED_COLUMNS)


class EvalActions:
    """The tab's handler over one service."""

    def __init__(self, svc: PolicyQA) -> None:
        self.svc = svc

    def run_eval(
        self,
        set_name: str | None,
        uploaded: str | None,
        retrievers: list[str],
        limit: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
    ) -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        from rag.evaluation import scoring as ev

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
        try:
            items = ev.load_set(path)
            if limit and int(limit) > 0:
                items = items[: int(limit)]
            blocks, misses = score_set(self.svc, items, retrievers, progress)
        except PolicyQAError as e:
            return (f"⚠️ {e}", *empty)
        metrics, chart, missed = eval_frames(blocks, misses)
        first = next(iter(blocks.values()))
        health = self.svc.health()
        status = (
            f"评测集 {path.name}：{len(items)} 题，其中无答案题 {first['n_unanswerable']} 个不计入检索指标；"
            f"索引 {health['chunks']} 个分块，嵌入模型 {health['embedder']}。"
            f"下表“未命中第1名”的问题共 {len(misses)} 条。"
        )
        return status, metrics, chart, missed


def build_evaluation(svc: PolicyQA) -> None:
    """The 评测 tab's components and events (call inside its ``gr.Tab``)."""
    actions = EvalActions(svc)
    gr.Markdown(
        "在评测集上比较检索方式。评测集格式见 evals/README.md（每行一个 JSON："
        "id、question、answers、source、type）。"
    )
    with gr.Row():
        sets = eval_sets()
        e_set = gr.Dropdown(choices=sets, value=sets[0] if sets else None, label="评测集")
        e_file = gr.File(label="或上传评测集（.jsonl）", file_types=[".jsonl"], type="filepath")
    with gr.Row():
        e_retrievers = gr.CheckboxGroup(
            [(label, v) for label, v in RETRIEVER_CHOICES],
            value=["bm25", "dense", "hybrid"],
            label="检索方式",
        )
        e_limit = gr.Number(value=0, precision=0, minimum=0, label="只评测前 N 题（0 = 全部）")
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
        actions.run_eval,
        [e_set, e_file, e_retrievers, e_limit],
        [e_status, e_metrics, e_chart, e_missed],
        api_name="evaluate",
    )
