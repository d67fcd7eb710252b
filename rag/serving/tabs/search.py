"""The 检索测试 tab: ranked passages with each retriever's rank, for evaluators."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from rag.errors import PolicyQAError
from rag.service import PolicyQA
from rag.serving.render import (
    KIND_CHOICES,
    RETRIEVER_CHOICES,
    SEARCH_COLUMNS,
    filters_from,
    hits_frame,
)


class SearchActions:
    """The tab's handler: one ``PolicyQA.search``, as a table and a note."""

    def __init__(self, svc: PolicyQA) -> None:
        self.svc = svc

    def run_search(
        self,
        query: str,
        kind: str,
        region: str,
        date_from: str,
        date_to: str,
        retriever: str,
        k: float,
    ) -> tuple[pd.DataFrame, str]:
        try:
            hits = self.svc.search(
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


def build_search(svc: PolicyQA, default_k: int) -> None:
    """The 检索测试 tab's components and events (call inside its ``gr.Tab``)."""
    actions = SearchActions(svc)
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
        s_k = gr.Slider(1, 50, value=default_k, step=1, label="返回条数 k")
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
    s_btn.click(actions.run_search, s_inputs, [s_table, s_note], api_name="search")
    s_query.submit(actions.run_search, s_inputs, [s_table, s_note], api_visibility="private")
