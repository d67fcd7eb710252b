"""The LLM answerer against a real OpenAI-protocol server (tests/fake_openai.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from rag.errors import LLMError
from rag.llm import LLMAnswerer, best_quote, fallback_note, number_expressions
from rag.records import Hit
from rag.settings import Settings
from tests.fake_openai import FakeOpenAI

GROUP_SIX = (
    "招商六组：牵头市领导：孙起鹏；牵头单位：市工业和信息化局。"
    "负责新材料、装备制造、汽车及零部件等领域招商，重点对接长三角、珠三角地区龙头企业。"
)
REWARD = (
    "（三）加大奖励力度。对新引进的总投资30亿元以上的先进制造业项目，按照项目实际投资额的4%给予奖励，"
    "单个项目奖励最高不超过1000万元。奖励资金由市、县两级财政按1:1比例分担。"
)
HITS = [
    Hit(
        rank=1,
        score=0.82,
        chunk_id="jz-2020-9#12",
        doc_id="jz-2020-9",
        title="焦作市招商引资工作方案",
        doc_number="焦政办〔2020〕9号",
        kind="通知",
        region="焦作市",
        date="2020-03-05",
        section_path="四、组织机构 > （二）专业招商组",
        page=3,
        text=GROUP_SIX,
        source="corpus/焦政办2020-9.pdf",
    ),
    Hit(
        rank=2,
        score=0.61,
        chunk_id="jz-2021-15#4",
        doc_id="jz-2021-15",
        title="焦作市支持制造业高质量发展若干措施",
        doc_number="焦政〔2021〕15号",
        kind="措施",
        region="焦作市",
        date="2021-06-18",
        section_path="二、支持政策",
        page=2,
        text=REWARD,
        source="corpus/焦政2021-15.docx",
    ),
]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_settings(server: FakeOpenAI) -> Settings:
    return Settings(llm_base_url=server.base_url, llm_model="qwen2.5-7b-instruct", llm_timeout=1.0)


def test_streamed_reply_is_cited_with_verbatim_quotes(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    reply = "招商六组由孙起鹏牵头[1]。牵头单位是市工业和信息化局[1]。"
    server.reply(reply, chunks=5)
    tokens: list[str] = []
    answer = LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS, on_token=tokens.append)

    assert len(tokens) > 1 and "".join(tokens) == reply
    assert answer.mode == "llm" and answer.answered
    assert answer.text == reply
    assert [(c.n, c.chunk_id, c.doc_number) for c in answer.citations] == [
        (1, "jz-2020-9#12", "焦政办〔2020〕9号")
    ]
    quote = answer.citations[0].quote
    assert quote in GROUP_SIX and "孙起鹏" in quote and "市工业和信息化局" in quote
    assert answer.flagged_numbers == [] and answer.notes == []


def test_request_carries_system_prompt_and_numbered_sources(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.reply("招商六组由孙起鹏牵头[1]。")
    LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS)

    request = server.requests[-1]
    assert request["model"] == "qwen2.5-7b-instruct" and request["stream"] is True
    assert request["temperature"] == 0.1 and request["max_completion_tokens"] == 800
    system, user = request["messages"]
    assert system["role"] == "system" and "现有资料中未找到相关规定" in system["content"]
    assert user["role"] == "user"
    assert (
        "[1]《焦作市招商引资工作方案》（焦政办〔2020〕9号） 四、组织机构 > （二）专业招商组\n"
        + GROUP_SIX
        in user["content"]
    )
    assert "[2]《焦作市支持制造业高质量发展若干措施》（焦政〔2021〕15号）" in user["content"]
    assert user["content"].endswith("问题：招商六组由谁牵头？")


def test_markers_are_renumbered_and_invalid_ones_dropped(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.reply(
        "总投资30亿元以上的先进制造业项目按实际投资额的4%奖励[2][9]。招商六组由孙起鹏牵头。[1]"
    )
    answer = LLMAnswerer(llm_settings).answer("制造业项目有什么奖励？", HITS)

    assert (
        answer.text
        == "总投资30亿元以上的先进制造业项目按实际投资额的4%奖励[1]。招商六组由孙起鹏牵头。[2]"
    )
    assert [c.chunk_id for c in answer.citations] == ["jz-2021-15#4", "jz-2020-9#12"]
    assert (
        answer.citations[0].quote
        == "对新引进的总投资30亿元以上的先进制造业项目，按照项目实际投资额的4%给予奖励，单个项目奖励最高不超过1000万元。"
    )
    assert "孙起鹏" in answer.citations[1].quote
    assert all(c.quote in h.text for c, h in zip(answer.citations, reversed(HITS), strict=True))
    assert answer.flagged_numbers == []


def test_numbers_not_in_the_cited_sources_are_flagged(
    server: FakeOpenAI, llm_settings: Settings
) -> None:
    server.reply(
        "招商六组重点引进投资50亿元以上的装备制造项目[1]。单个项目奖励最高不超过1000万元[2]。"
    )
    answer = LLMAnswerer(llm_settings).answer("招商六组引进什么项目？", HITS)

    assert answer.flagged_numbers == ["50亿元"]
    assert "以下数字未在引用原文中找到，请核对：50亿元" in answer.notes


def test_number_expressions() -> None:
    assert number_expressions("2020年3月起投资5.66万亿元，占4%，即1/4，共17个[1]。第3点") == [
        "2020年3月",
        "5.66万亿元",
        "4%",
        "1/4",
        "17个",
    ]
    assert number_expressions("１. 奖励 ３０ 亿元") == ["30亿元"]


def test_best_quote_spans_adjacent_supporting_sentences() -> None:
    claims = ["招商六组由孙起鹏牵头[1]。", "牵头单位是市工业和信息化局[1]。"]
    assert (
        best_quote(claims, GROUP_SIX)
        == "招商六组：牵头市领导：孙起鹏；牵头单位：市工业和信息化局。"
    )
    assert (
        best_quote(["奖励资金由市县财政分担[2]。"], REWARD)
        == "奖励资金由市、县两级财政按1:1比例分担。"
    )


def test_refusal_is_not_answered(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.reply("现有资料中未找到相关规定。")
    answer = LLMAnswerer(llm_settings).answer("招商七组由谁牵头？", HITS)

    assert answer.answered is False and answer.citations == [] and answer.mode == "llm"


def test_uncited_reply_gets_a_warning_note(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.reply("招商六组由孙起鹏牵头。")
    answer = LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS)

    assert answer.answered and answer.citations == []
    assert answer.notes == ["该回答未标注出处，无法在原文中核实，请谨慎参考。"]


def test_http_500_raises_llm_error(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.fail(500)
    with pytest.raises(LLMError, match="大模型服务调用失败：HTTP 500"):
        LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS)
    assert len(server.requests) == 1  # no retries


def test_timeout_raises_llm_error_quickly(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.stall(10)
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"大模型服务超时（1 秒）"):
        LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS)
    assert time.monotonic() - start < 4


def test_malformed_stream_raises_llm_error(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.malformed()
    with pytest.raises(LLMError, match="大模型服务调用失败：返回内容无法解析"):
        LLMAnswerer(llm_settings).answer("招商六组由谁牵头？", HITS)


def test_connection_refused_raises_llm_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m", llm_timeout=1.0)
    with pytest.raises(LLMError, match="无法连接") as err:
        LLMAnswerer(settings).answer("招商六组由谁牵头？", HITS)
    assert fallback_note(err.value) == f"大模型服务暂不可用（{err.value}），以下为原文摘录式回答。"


@pytest.mark.parametrize("streaming", [True, False])
def test_rewrite_sends_history_and_returns_the_question(
    server: FakeOpenAI, llm_settings: Settings, streaming: bool
) -> None:
    server.reply("焦作招商七组的牵头领导是谁？\n", chunks=3)
    chat = ChatOpenAI(
        base_url=server.base_url,
        model="qwen2.5-7b-instruct",
        api_key=SecretStr("EMPTY"),
        streaming=streaming,
        max_retries=0,
    )
    rewritten = LLMAnswerer(llm_settings, chat=chat).rewrite(
        "那招商七组呢？", ["焦作招商六组的牵头领导是谁？"]
    )

    assert rewritten == "焦作招商七组的牵头领导是谁？"
    request = server.requests[-1]
    assert request.get("stream", False) is streaming
    system, user = request["messages"]
    assert "只输出改写后的一个问题" in system["content"]
    assert (
        "用户：焦作招商六组的牵头领导是谁？" in user["content"]
        and "追问：那招商七组呢？" in user["content"]
    )


def test_rewrite_error_raises_llm_error(server: FakeOpenAI, llm_settings: Settings) -> None:
    server.fail(503)
    with pytest.raises(LLMError, match="HTTP 503"):
        LLMAnswerer(llm_settings).rewrite("那招商七组呢？", ["焦作招商六组的牵头领导是谁？"])


def test_llm_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "MODEL", "API_KEY"):
        monkeypatch.delenv(f"POLICYQA_LLM_{name}", raising=False)
    assert Settings().llm_enabled is False

    monkeypatch.setenv("POLICYQA_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("POLICYQA_LLM_MODEL", "Qwen2.5-7B-Instruct")
    monkeypatch.setenv("POLICYQA_LLM_API_KEY", "sk-local-secret")
    settings = Settings()
    assert settings.llm_enabled and settings.llm_api_key == "sk-local-secret"
    assert "sk-local-secret" not in repr(settings)


# ---------------------------------------------------------------- PolicyQA.ask through the LLM


def _service(corpus_qa, server: FakeOpenAI, timeout: float = 5.0):
    from rag.service import PolicyQA

    settings = corpus_qa.settings.model_copy(
        update={"llm_base_url": server.base_url, "llm_model": "fake-qwen", "llm_timeout": timeout}
    )
    return PolicyQA(settings, corpus_qa._embeddings)


def test_ask_streams_the_llm_answer_with_verified_citations(corpus_qa, server: FakeOpenAI) -> None:
    server.reply(
        "招商六组的牵头领导是孙起鹏[1]，牵头单位是市工业和信息化局[1]。另见[9]。", chunks=4
    )
    tokens: list[str] = []
    answer = _service(corpus_qa, server).ask("招商六组的牵头领导是谁？", on_token=tokens.append)
    assert answer.mode == "llm" and answer.answered
    assert len(tokens) > 1 and "孙起鹏" in "".join(tokens)
    assert "[9]" not in answer.text and "[1]" in answer.text
    stored = corpus_qa.stored_texts([c.chunk_id for c in answer.citations])
    assert answer.citations and all(c.quote in stored[c.chunk_id] for c in answer.citations)
    assert any(c.doc_number == "焦政办〔2020〕9号" for c in answer.citations)


@pytest.mark.parametrize("failure", ["http500", "timeout"])
def test_ask_falls_back_to_extractive_with_a_note(
    corpus_qa, server: FakeOpenAI, failure: str
) -> None:
    if failure == "http500":
        server.fail(500)
    else:
        server.stall(5)
    started = time.monotonic()
    answer = _service(corpus_qa, server, timeout=1.0).ask("招商六组的牵头领导是谁？")
    assert time.monotonic() - started < 20
    assert answer.mode == "extractive" and answer.answered and "孙起鹏" in answer.text
    assert any("大模型" in note for note in answer.notes), answer.notes


def test_ask_does_not_call_the_llm_for_an_uncovered_question(corpus_qa, server: FakeOpenAI) -> None:
    server.reply("洛阳市成立了8个招商小组[1]。")
    answer = _service(corpus_qa, server).ask("洛阳市成立了几个招商小组，分别由谁牵头？")
    assert not answer.answered and answer.mode == "refusal"
    assert server.requests == []
