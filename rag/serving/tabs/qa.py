"""The 问答 tab: chat with streamed, cited answers, source cards and 👍/👎 feedback.

``ChatActions`` holds the handlers (each one call of ``PolicyQA.ask`` or the feedback store);
``build_qa`` lays the tab out and wires them. It does not render: ``rag.serving.render`` does.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.errors import PolicyQAError
from rag.service import PolicyQA
from rag.serving.feedback import FeedbackStore
from rag.serving.render import (
    EXAMPLES,
    KIND_CHOICES,
    answer_body,
    chunk_ocr,
    chunk_texts,
    esc,
    filters_from,
    render_answer,
    request_user,
)

log = logging.getLogger(__name__)


class ChatActions:
    """The tab's event handlers over one service and one feedback store."""

    def __init__(self, svc: PolicyQA, feedback: FeedbackStore) -> None:
        self.svc = svc
        self.feedback = feedback

    def chat(
        self,
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
                outcome["answer"] = self.svc.ask(
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
        passages = chunk_texts(self.svc, cited)
        messages[-1] = {
            "role": "assistant",
            "content": render_answer(answer, passages, chunk_ocr(self.svc, cited)),
        }
        turns = [*turns, {"question": message, "answer": answer, "index": len(messages) - 1}]
        yield "", messages, turns

    def rate(
        self, turns: list[dict], comment: str, liked: bool, request: gr.Request
    ) -> tuple[str, str]:
        if not turns:
            return "还没有可评价的回答。", comment
        try:
            self.feedback.add(turns[-1]["answer"], liked, comment, request_user(request) or "")
        except PolicyQAError as e:
            return f"⚠️ {e}", comment
        return (
            "已记录：👍 有帮助。谢谢！" if liked else "已记录：👎 没帮助。谢谢，我们会改进。"
        ), ""

    def rate_up(self, turns: list[dict], comment: str, request: gr.Request) -> tuple[str, str]:
        return self.rate(turns, comment, True, request)

    def rate_down(self, turns: list[dict], comment: str, request: gr.Request) -> tuple[str, str]:
        return self.rate(turns, comment, False, request)

    def on_like(
        self, turns: list[dict], comment: str, data: gr.LikeData, request: gr.Request
    ) -> tuple[str, str]:
        turn = next((t for t in turns if t["index"] == data.index), None)
        if turn is None or not isinstance(data.liked, bool):
            return "", comment
        self.feedback.add(turn["answer"], data.liked, comment, request_user(request) or "")
        return (
            "已记录：👍 有帮助。谢谢！" if data.liked else "已记录：👎 没帮助。谢谢，我们会改进。"
        ), ""


@dataclass(frozen=True)
class QATab:
    """What the 新人入门 tab wires to: the question box, the chat, its inputs and handler."""

    question: gr.Textbox
    chatbot: gr.Chatbot
    turns: gr.State
    chat_inputs: list[Any]
    chat: Callable[..., Iterator[tuple[str, list[dict], list[dict]]]]


def build_qa(svc: PolicyQA, feedback: FeedbackStore) -> QATab:
    """The 问答 tab's components and events (call inside its ``gr.Tab``)."""
    actions = ChatActions(svc, feedback)
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
    ask_btn.click(actions.chat, chat_inputs, [question, chatbot, turns], api_name="chat")
    question.submit(actions.chat, chat_inputs, [question, chatbot, turns], api_visibility="private")
    clear_btn.click(
        lambda: ([], [], ""),
        None,
        [chatbot, turns, feedback_status],
        api_visibility="private",
    )
    up_btn.click(
        actions.rate_up, [turns, comment], [feedback_status, comment], api_visibility="private"
    )
    down_btn.click(
        actions.rate_down,
        [turns, comment],
        [feedback_status, comment],
        api_visibility="private",
    )
    chatbot.like(
        actions.on_like, [turns, comment], [feedback_status, comment], api_visibility="private"
    )
    chatbot.clear(lambda: ([], ""), None, [turns, feedback_status], api_visibility="private")
    return QATab(question, chatbot, turns, chat_inputs, actions.chat)
