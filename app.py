"""PolicyQA web app (Gradio): ask a question, get ranked, checkable passages.

``create_app(settings)`` builds the Blocks app without launching it (tests use it);
``python app.py [--host H] [--port P]`` serves it. This is the minimal app of the
foundation: search with sources. Chat answers, the document library and the eval
dashboard come with their own issues.
"""

from __future__ import annotations

import argparse
import html
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.errors import PolicyQAError  # noqa: E402
from rag.retrieve import Filters  # noqa: E402
from rag.service import Hit, PolicyQA  # noqa: E402
from rag.settings import Settings  # noqa: E402

KIND_CHOICES = [("全部", ""), ("政策文件", "policy_notice"), ("经验文章", "experience_article"),
                ("新闻报道", "news"), ("项目记录", "project_record"), ("工作报告", "report")]
EXAMPLES = ["招商六组的牵头领导是谁？", "焦作“7+X”招商机制是什么？", "招商引资五大弊病有哪些？",
            "郑州对投资5亿元以上项目有什么要求？"]


def render_hits(hits: list[Hit]) -> str:
    if not hits:
        return "现有资料中没有找到相关内容。"
    parts = []
    for h in hits:
        meta = " · ".join(x for x in (h.doc_number, h.section_path or "正文", f"第{h.page}页" if h.page else "",
                                      h.date) if x)
        parts.append(
            f"<div class='hit'><b>{h.rank}. 《{html.escape(h.title)}》</b><br>"
            f"<small>{html.escape(meta)}</small>"
            f"<blockquote>{html.escape(h.text)}</blockquote></div>"
        )
    return "\n".join(parts)


def create_app(settings: Settings, service: PolicyQA | None = None) -> gr.Blocks:
    svc = service or PolicyQA(settings)

    def do_search(query: str, kind: str, region: str) -> str:
        try:
            hits = svc.search(query, k=settings.default_k, filters=Filters(kind=(kind,) if kind else (), region=region.strip()))
        except PolicyQAError as e:
            return f"⚠️ {html.escape(str(e))}"
        return render_hits(hits)

    with gr.Blocks(title="PolicyQA 招商政策问答助手") as demo:
        gr.Markdown("# PolicyQA 招商政策问答助手\n输入问题，查看原文出处（文件标题、文号、章节、页码）。")
        with gr.Row():
            query = gr.Textbox(label="问题", placeholder="例如：招商六组的牵头领导是谁？", scale=4)
            button = gr.Button("检索", variant="primary", scale=1)
        with gr.Row():
            kind = gr.Dropdown(choices=KIND_CHOICES, value="", label="文件类型")
            region = gr.Textbox(label="地区（包含）", placeholder="如：焦作")
        gr.Examples(EXAMPLES, inputs=[query])
        results = gr.HTML(elem_id="results")
        button.click(do_search, [query, kind, region], results)
        query.submit(do_search, [query, kind, region], results)
    return demo


def launch(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    demo = create_app(settings)
    demo.queue().launch(server_name=host or settings.host, server_port=port or settings.port,
                        show_error=True, share=False)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description="PolicyQA web app")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    launch(Settings(), args.host, args.port)


if __name__ == "__main__":
    main()
