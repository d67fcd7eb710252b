"""The 项目台账 tab: the projects the documents mention, filtered, with CSV/XLSX export."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from rag.errors import PolicyQAError
from rag.service import PolicyQA
from rag.serving.render import PROJECT_COLUMNS, PROJECT_STAGES


class ProjectActions:
    """The tab's handler: one ``PolicyQA.query_projects``, as a table, a summary and exports."""

    def __init__(self, svc: PolicyQA) -> None:
        self.svc = svc

    def run_projects(
        self,
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
            got = self.svc.query_projects({k: v for k, v in filters.items() if v not in (None, "")})
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


def build_projects(svc: PolicyQA) -> None:
    """The 项目台账 tab's components and events (call inside its ``gr.Tab``)."""
    actions = ProjectActions(svc)
    gr.Markdown("资料中提到的招商项目：按地区、产业、阶段、投资额筛选，可导出。")
    with gr.Row():
        p_region = gr.Textbox(label="地区（包含）", placeholder="如：山阳区、汝州")
        p_industry = gr.Textbox(label="产业", placeholder="如：新材料")
        p_stage = gr.Dropdown(choices=["", *PROJECT_STAGES], value="", label="阶段（已达到）")
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
        actions.run_projects,
        [p_region, p_industry, p_stage, p_min, p_max],
        [p_table, p_summary, p_csv, p_xlsx],
        api_name="projects",
    )
