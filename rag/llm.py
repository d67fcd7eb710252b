"""Answers from an OpenAI-compatible LLM (vLLM, Ollama, DeepSeek, Qwen…), held to their sources.

The model sees the retrieved chunks as numbered sources and must cite every sentence with
[n]. Its reply is then checked like any other answer: each marker becomes a citation of
hit n whose quote is the sentence of that chunk that best supports the reply's sentence,
``rag.answer.verify`` drops what cannot be checked, and every number the reply states
that the cited chunks do not contain is flagged for the user.

    answerer = LLMAnswerer(settings)             # settings.llm_enabled
    answer = answerer.answer("招商六组由谁牵头？", hits, on_token=print)

Endpoint failures raise ``LLMError``; the service falls back to the extractive answerer
and shows ``fallback_note(err)``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from json import JSONDecodeError

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from rag.answer import MARKER, citation_for, markers, sentences, verify
from rag.errors import LLMError
from rag.records import Answer, Citation, Hit
from rag.settings import Settings

log = logging.getLogger(__name__)

MAX_QUOTE_CHARS = 200  # a quote spanning several sentences of a chunk stays this short

_REFUSAL = re.compile(
    r"未找到|没有找到|找不到|没有相关|无相关|未涉及|没有涉及|未提及|没有提及|无法回答|不能回答"
)
_NUM = r"\d+(?:\.\d+)?"
_UNIT = (
    r"个百分点|%|‰|"
    r"(?:万亿|亿|万|千|百)?(?:美元|元|平方公里|平方米|公顷|亩|千瓦时|千瓦|兆瓦|吨|公里|米|"
    r"个|家|项|条|款|名|人|户|次|倍|天|日|小时|年|月|周|岁|台|套|辆|件|所|座)|万亿|亿|万"
)
_NUMBER = re.compile(
    rf"(?<![\d.])(?:\d{{4}}年(?:\d{{1,2}}月(?:\d{{1,2}}日)?)?|\d{{1,2}}月\d{{1,2}}日"
    rf"|{_NUM}/{_NUM}|{_NUM}(?:{_UNIT}))"
)


def _prompt(name: str) -> str:
    return resources.files("rag").joinpath("data", name).read_text(encoding="utf-8").strip()


def make_chat(settings: Settings) -> ChatOpenAI:
    """A streaming ``ChatOpenAI`` for the configured endpoint; no retries, so fall-back is fast."""
    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=SecretStr(settings.llm_api_key or "EMPTY"),
        timeout=settings.llm_timeout,
        max_retries=0,
        streaming=True,
        temperature=settings.llm_temperature,
        max_completion_tokens=settings.llm_max_tokens,  # sent as max_completion_tokens
    )


def fallback_note(err: LLMError) -> str:
    """The note shown above an extractive answer given because the LLM failed.

    fallback_note(LLMError("大模型服务超时（30 秒）")) → "大模型服务暂不可用（大模型服务超时（30 秒）），以下为原文摘录式回答。"
    """
    return f"大模型服务暂不可用（{err}），以下为原文摘录式回答。"


def format_sources(hits: Sequence[Hit]) -> str:
    """The numbered sources of the user message.

    "[1]《焦作市招商引资工作方案》（焦政办〔2020〕9号） 四、组织机构\\n招商六组：…"
    """
    blocks = []
    for n, hit in enumerate(hits, start=1):
        head = f"[{n}]《{hit.title}》" + (f"（{hit.doc_number}）" if hit.doc_number else "")
        if hit.section_path:
            head += f" {hit.section_path}"
        blocks.append(f"{head}\n{hit.text.strip()}")
    return "\n\n".join(blocks)


def number_expressions(text: str) -> list[str]:
    """Amounts, percentages, fractions, dates and counts written with digits, in order.

    number_expressions("2020年3月起投资5.66万亿元，占4%，即1/4，共17个[1]") →
    ["2020年3月", "5.66万亿元", "4%", "1/4", "17个"]
    """
    found = _NUMBER.findall(MARKER.sub("", _normal(text)))
    return list(dict.fromkeys(found))


def _normal(text: str) -> str:
    """Full-width digits and signs to ASCII, whitespace removed: "３０ 亿元" → "30亿元"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _contains_number(text: str, number: str) -> bool:
    """``number`` in ``text`` as a whole number: "3亿元" is not in "13亿元"."""
    return re.search(rf"(?<![\d.]){re.escape(number)}", text) is not None


def _claims(text: str) -> list[str]:
    """The reply's sentences, with markers written after the full stop moved back to theirs.

    _claims("甲。[1]乙[2]。") → ["甲。[1]", "乙[2]。"]
    """
    out: list[str] = []
    for s in sentences(text):
        lead = re.match(r"(?:\[\d{1,2}\])+", s)
        if lead and out:
            out[-1] += lead.group(0)
            s = s[lead.end() :]
        if s:
            out.append(s)
    return out


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\W_]+", "", MARKER.sub("", text))
    return {t[i : i + 2] for i in range(len(t) - 1)}


def best_quote(claims: Sequence[str], chunk_text: str) -> str:
    """The verbatim words of ``chunk_text`` that best support the reply sentences ``claims``.

    For each claim, the chunk sentence sharing the most character bigrams with it; when the
    claims lean on several sentences, the span covering them (if short), else the best one.
    best_quote(["牵头单位是市工业和信息化局[1]。"], "招商六组：牵头市领导：孙起鹏；牵头单位：市工业和信息化局。")
    → "牵头单位：市工业和信息化局。"
    """
    spans: list[tuple[int, int, int]] = []  # (start, end, overlap) of each chunk sentence
    pos = 0
    for s in sentences(chunk_text):
        start = chunk_text.index(s, pos)
        pos = start + len(s)
        spans.append((start, pos, 0))
    if not spans:
        return ""
    chosen: list[tuple[int, int, int]] = []
    for claim in claims:
        grams = _bigrams(claim)
        scored = [(a, b, len(grams & _bigrams(chunk_text[a:b]))) for a, b, _ in spans]
        chosen.append(max(scored, key=lambda span: span[2]))  # ties: the earlier sentence
    start, end = min(a for a, _, _ in chosen), max(b for _, b, _ in chosen)
    if end - start > MAX_QUOTE_CHARS:
        start, end, _ = max(chosen, key=lambda span: span[2])
    return chunk_text[start:end]


def _error(err: Exception, settings: Settings) -> LLMError:
    """A Chinese, user-facing ``LLMError`` for any failure of the endpoint."""
    if isinstance(err, openai.APITimeoutError):
        return LLMError(f"大模型服务超时（{settings.llm_timeout:g} 秒）")
    if isinstance(err, openai.APIStatusError):
        return LLMError(f"大模型服务调用失败：HTTP {err.status_code}")
    if isinstance(err, openai.APIConnectionError):
        return LLMError(f"大模型服务调用失败：无法连接 {settings.llm_base_url}")
    if isinstance(err, JSONDecodeError):
        return LLMError("大模型服务调用失败：返回内容无法解析")
    return LLMError(f"大模型服务调用失败：{type(err).__name__}: {str(err)[:200]}")


class LLMAnswerer:
    """Cited answers and follow-up rewrites from the configured chat model."""

    def __init__(self, settings: Settings, chat: BaseChatModel | None = None) -> None:
        self.settings = settings
        self.chat = chat if chat is not None else make_chat(settings)
        self.system_prompt = _prompt("system_prompt_zh.txt")
        self.rewrite_prompt = _prompt("rewrite_prompt_zh.txt")

    def _deltas(self, messages: list[BaseMessage]) -> Iterator[str]:
        """The text deltas of the streamed reply; any endpoint failure becomes ``LLMError``."""
        try:
            for chunk in self.chat.stream(messages):
                if chunk.text:
                    yield chunk.text
        except Exception as err:  # the endpoint's failures are many (HTTP, socket, bad JSON)
            log.warning("LLM call failed: %r", err)
            raise _error(err, self.settings) from err

    def answer(
        self, question: str, hits: Sequence[Hit], on_token: Callable[[str], None] | None = None
    ) -> Answer:
        """Stream a reply to ``question`` from ``hits`` (numbered [1]…) and check it.

        ``on_token`` receives each text delta as it arrives (for a live UI); the returned
        ``Answer`` has mode "llm", verified citations and any flagged numbers.
        """
        messages: list[BaseMessage] = [
            SystemMessage(self.system_prompt),
            HumanMessage(f"资料：\n{format_sources(hits)}\n\n问题：{question}"),
        ]
        parts: list[str] = []
        for delta in self._deltas(messages):
            parts.append(delta)
            if on_token is not None:
                on_token(delta)
        text = "".join(parts).strip()

        answer = verify(
            Answer(
                question=question,
                rewritten_question=question,
                answered=True,
                text=text,
                citations=self._citations(text, hits),
                mode="llm",
            ),
            {h.chunk_id: h.text for h in hits},
        )
        answered = bool(answer.citations) or not _REFUSAL.search(answer.text)
        notes = list(answer.notes)
        if answered and not answer.citations:
            notes.append("该回答未标注出处，无法在原文中核实，请谨慎参考。")
        cited = _normal(
            "".join(h.text for h in hits if h.chunk_id in {c.chunk_id for c in answer.citations})
        )
        flagged = [x for x in number_expressions(answer.text) if not _contains_number(cited, x)]
        if flagged:
            notes.append("以下数字未在引用原文中找到，请核对：" + "、".join(flagged))
        return replace(answer, answered=answered, notes=notes, flagged_numbers=flagged)

    @staticmethod
    def _citations(text: str, hits: Sequence[Hit]) -> list[Citation]:
        """Citation n for each marker [n] in 1…len(hits), quoting what supports its sentences."""
        claims: dict[int, list[str]] = {}
        for sentence in _claims(text):
            for n in markers(sentence):
                if 1 <= n <= len(hits):
                    claims.setdefault(n, []).append(sentence)
        return [
            citation_for(n, hits[n - 1], best_quote(c, hits[n - 1].text)) for n, c in claims.items()
        ]

    def rewrite(self, question: str, history: Sequence[str]) -> str:
        """A standalone question from a follow-up and the earlier user turns (oldest first).

        rewrite("那招商七组呢？", ["焦作招商六组的牵头领导是谁？"]) → "焦作招商七组的牵头领导是谁？"
        """
        turns = "\n".join(f"用户：{t.strip()}" for t in history if t.strip())
        messages: list[BaseMessage] = [
            SystemMessage(self.rewrite_prompt),
            HumanMessage(f"此前的对话：\n{turns}\n\n追问：{question.strip()}"),
        ]
        reply = "".join(self._deltas(messages))
        lines = [line.strip().strip("“”\"'「」") for line in reply.splitlines()]
        rewritten = next((line for line in lines if line), "")
        rewritten = re.sub(r"^(?:改写后的问题|问题)[:：]\s*", "", rewritten)
        if not rewritten:
            raise LLMError("大模型服务调用失败：改写结果为空")
        return rewritten
