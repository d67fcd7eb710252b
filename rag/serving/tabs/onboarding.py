"""The 新人入门 tab: the responsibility map (who does what, by when), the glossary, document
overviews, and example questions that open in the 问答 tab with a cited answer.

``OnboardingActions`` holds the handlers, each one call of ``PolicyQA``; ``build_onboarding``
lays the tab out, wires them and returns what the page does on load.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from rag.errors import PolicyQAError
from rag.onboarding.export import COLUMNS as MAP_COLUMNS
from rag.onboarding.export import table_rows, write_xlsx
from rag.service import PolicyQA
from rag.serving.render import GLOSSARY_COLUMNS, esc, render_overview
from rag.serving.tabs.qa import QATab


class OnboardingActions:
    """The tab's event handlers over one service."""

    def __init__(self, svc: PolicyQA) -> None:
        self.svc = svc

    def run_map(
        self, region: str, actor: str, role: str, deadline: bool
    ) -> tuple[pd.DataFrame, str, str | None]:
        try:
            rows = self.svc.responsibilities(
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

    def role_choices(self) -> Any:
        try:
            roles = sorted({r.role for r in self.svc.onboarding().responsibilities})
        except PolicyQAError:
            roles = []
        return gr.Dropdown(choices=["", *roles], value="")

    def run_glossary(self, term: str) -> tuple[pd.DataFrame, str]:
        try:
            entries = self.svc.glossary(term or "")
            groups = self.svc.synonym_groups(term or "")
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

    def overview_choices(self) -> Any:
        docs = [d for d in self.svc.library_documents() if d.get("kind") != "project_record"]
        return gr.Dropdown(
            choices=[(f"{d['title']}（{d['doc_id']}）", d["doc_id"]) for d in docs],
            value=docs[0]["doc_id"] if docs else None,
        )

    def show_overview(self, doc_id: str | None) -> str:
        if not doc_id:
            return "<p>请选择文档。</p>"
        try:
            ov = self.svc.document_outline(doc_id).to_dict()
        except PolicyQAError as e:
            return f"<p>⚠️ {esc(e)}</p>"
        return render_overview(ov, self.svc.stored_texts([i["chunk_id"] for i in ov["outline"]]))

    def example_samples(self) -> Any:
        try:
            questions = self.svc.onboarding_examples(limit=16)
        except PolicyQAError:
            questions = []
        return gr.Dataset(samples=[[q] for q in questions])

    def pick_example(self, sample: Any) -> tuple[str, Any]:
        text = sample[0] if isinstance(sample, list | tuple) else str(sample or "")
        return text, gr.Tabs(selected="ask")


def _responsibility_panel() -> tuple[Any, ...]:
    """The 职责清单 accordion: filters, button, summary, table and XLSX export."""
    with gr.Accordion("职责清单", open=True):
        with gr.Row():
            ob_region = gr.Textbox(
                label="地区（包含）", placeholder="如：焦作", elem_id="ob-region"
            )
            ob_actor = gr.Textbox(label="责任主体", placeholder="如：市商务局", elem_id="ob-actor")
            ob_role = gr.Dropdown(
                choices=[""],
                value="",
                label="角色",
                elem_id="ob-role",
                allow_custom_value=True,
            )
            ob_deadline = gr.Checkbox(label="只看有时限/频次的", value=False, elem_id="ob-deadline")
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
    return ob_region, ob_actor, ob_role, ob_deadline, ob_btn, ob_summary, ob_table, ob_xlsx


def _glossary_panel() -> tuple[Any, ...]:
    """The 术语表 accordion: a term box, its button, the entries and the synonym groups."""
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
    return ob_term, ob_term_btn, ob_glossary, ob_synonyms


def build_onboarding(svc: PolicyQA, qa: QATab, tabs: gr.Tabs) -> Callable[[gr.Blocks], None]:
    """The 新人入门 tab's components and events (call inside its ``gr.Tab``); an example
    question goes to ``qa`` in ``tabs``. Returns what registers its page-load events."""
    actions = OnboardingActions(svc)
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
    ob_region, ob_actor, ob_role, ob_deadline, ob_btn, ob_summary, ob_table, ob_xlsx = (
        _responsibility_panel()
    )
    ob_term, ob_term_btn, ob_glossary, ob_synonyms = _glossary_panel()
    with gr.Accordion("文件概览", open=True):
        ob_doc = gr.Dropdown(
            choices=[], label="选择文件", elem_id="ob-doc", allow_custom_value=True
        )
        ob_outline = gr.HTML(elem_id="ob-outline")
    map_inputs = [ob_region, ob_actor, ob_role, ob_deadline]
    ob_btn.click(
        actions.run_map,
        map_inputs,
        [ob_table, ob_summary, ob_xlsx],
        api_name="responsibilities",
    )
    ob_actor.submit(
        actions.run_map, map_inputs, [ob_table, ob_summary, ob_xlsx], api_visibility="private"
    )
    ob_term_btn.click(
        actions.run_glossary, ob_term, [ob_glossary, ob_synonyms], api_name="glossary"
    )
    ob_term.submit(
        actions.run_glossary, ob_term, [ob_glossary, ob_synonyms], api_visibility="private"
    )
    ob_doc.change(actions.show_overview, ob_doc, ob_outline, api_visibility="private")
    ob_examples.click(
        actions.pick_example, ob_examples, [qa.question, tabs], api_visibility="private"
    ).then(qa.chat, qa.chat_inputs, [qa.question, qa.chatbot, qa.turns], api_visibility="private")

    def on_load(demo: gr.Blocks) -> None:
        demo.load(actions.example_samples, None, ob_examples, api_visibility="private")
        demo.load(actions.role_choices, None, ob_role, api_visibility="private")
        demo.load(actions.overview_choices, None, ob_doc, api_visibility="private")
        demo.load(
            actions.run_map, map_inputs, [ob_table, ob_summary, ob_xlsx], api_visibility="private"
        )
        demo.load(
            actions.run_glossary, ob_term, [ob_glossary, ob_synonyms], api_visibility="private"
        )

    return on_load
