"""Answers a user can check: verify drops forged citations, follow-ups are rewritten, and
ask() over the seed corpus answers, lists, refuses, follows up and falls back, every quote
being a verbatim slice of the chunk it cites."""

from __future__ import annotations

import re

import pytest

from rag.answer import markers, sentences, verify
from rag.records import Answer, Citation
from rag.retrieval.rewrite import rewrite_followup
from rag.service import PolicyQA

JIAOZUO_NOTICE = "焦政办〔2020〕9号"
FIVE_ILLS = ("新官不理旧账", "招商不重安商", "寻租不讲服务", "竞争机制不强", "土地管理不严")


def cit(n: int, chunk_id: str, quote: str) -> Citation:
    return Citation(
        n=n,
        chunk_id=chunk_id,
        doc_id="d",
        title="焦作市招商引资工作方案",
        doc_number=JIAOZUO_NOTICE,
        kind="policy_notice",
        date="2020-03-06",
        section_path="一、成立7个招商小组",
        page=None,
        quote=quote,
        source="x.txt",
    )


def stored_text(qa: PolicyQA, chunk_id: str) -> str:
    got = qa.index.collection.get(where={"chunk_id": chunk_id}, include=["documents"])
    assert len(got["ids"]) == 1, chunk_id
    return got["documents"][0]


# ---------------------------------------------------------------- verify, sentences, markers


def test_verify_removes_forged_citations_and_renumbers():
    chunks = {
        "c1": "（六）招商六组。\n牵头领导：孙起鹏。\n牵头单位：市工业和信息化局。",
        "c2": "（七）招商七组。\n牵头领导：薛志杰。\n牵头单位：市科技局。",
    }
    answer = Answer(
        question="q",
        rewritten_question="q",
        answered=True,
        text="六组由孙起鹏牵头[1]，牵头单位是市财政局[2]，另有[3]。七组由薛志杰牵头[4]。",
        citations=[
            cit(1, "c1", "牵头领导：孙起鹏。"),
            cit(2, "c1", "牵头单位：市财政局。"),
            cit(4, "c2", "牵头领导：薛志杰。"),
        ],
    )
    out = verify(answer, chunks)
    assert out.text == "六组由孙起鹏牵头[1]，牵头单位是市财政局，另有。七组由薛志杰牵头[2]。"
    assert [c.n for c in out.citations] == [1, 2]
    assert [c.chunk_id for c in out.citations] == ["c1", "c2"]
    assert all(c.quote in chunks[c.chunk_id] for c in out.citations)
    assert markers(out.text) == [1, 2]
    assert answer.citations[2].n == 4  # the input is not changed


def test_verify_drops_quotes_of_the_wrong_chunk_and_repeated_markers():
    chunks = {"c1": "牵头领导：孙起鹏。", "c2": "牵头领导：薛志杰。"}
    answer = Answer(
        "q",
        "q",
        True,
        "甲[2][1][1]乙[2]。",
        [cit(1, "c1", "牵头领导：孙起鹏。"), cit(2, "c1", "牵头领导：薛志杰。")],
    )
    out = verify(answer, chunks)
    assert out.text == "甲[1]乙。"
    assert [(c.n, c.quote) for c in out.citations] == [(1, "牵头领导：孙起鹏。")]
    assert verify(Answer("q", "q", True, "甲[1]", [cit(1, "c9", "甲")]), chunks).citations == []


def test_sentences_keep_punctuation_and_closing_quotes():
    assert sentences("一是甲；二是乙。“丙。”丁") == ["一是甲；", "二是乙。", "“丙。”", "丁"]
    assert sentences("牵头领导：孙起鹏。\n牵头单位：市工业和信息化局。") == [
        "牵头领导：孙起鹏。",
        "牵头单位：市工业和信息化局。",
    ]
    assert sentences("  \n") == []


def test_markers_in_order_of_first_use():
    assert markers("甲[2]乙[1]丙[2]丁[10]") == [2, 1, 10]
    assert markers("没有引用") == []


# ---------------------------------------------------------------- follow-up rewrite


def test_rewrite_swaps_the_group():
    assert (
        rewrite_followup("那招商七组呢？", ["焦作招商六组的牵头领导是谁？"])
        == "焦作招商七组的牵头领导是谁？"
    )


def test_rewrite_swaps_the_ordinal():
    out = rewrite_followup("第四改呢？", ["招商引资“五改”的第一改是什么？"])
    assert out == "招商引资“五改”的第四改是什么？"


def test_rewrite_reads_a_pronoun_after_a_place_as_what_was_asked_about():
    out = rewrite_followup(
        "它主要起什么作用？", ["汝州今年上半年先出的那份管全年开放招商的意见叫什么？"]
    )
    assert out.startswith("汝州主要起什么作用？") and "开放招商的意见" in out


def test_rewrite_carries_the_subject_into_a_turn_that_names_none():
    out = rewrite_followup("挑出来以后省里怎么扶持？", ["河北挑京津转化项目时看重哪些条件？"])
    assert out.startswith("挑出来以后省里怎么扶持？") and "河北挑京津转化项目" in out
    # a turn with a subject of its own stands alone
    assert rewrite_followup(
        "郑州招商引资的考核由谁负责？", ["河北挑京津转化项目时看重哪些条件？"]
    ) == ("郑州招商引资的考核由谁负责？")


def test_rewrite_carries_the_subject_when_the_turn_names_no_place_or_points_back():
    # an industry of its own but no place: still the conversation's 河北
    out = rewrite_followup("跟医药沾边的是哪个？", ["河北的科技成果转化专项重点支持哪些领域？"])
    assert out.startswith("跟医药沾边的是哪个？") and "河北的科技成果转化专项" in out
    # "这个机制" points back at the mechanism of the previous turn
    out = rewrite_followup("建这个机制是为了什么？", ["焦作“7+X”那份通知是谁发的？"])
    assert out.startswith("建这个机制是为了什么？") and "焦作“7+X”" in out
    # a bare 哪 asks a question of its own about the previous topic, no phrase swapped in
    out = rewrite_followup("那重点都放在哪了？", ["“五改”那篇文章讲了哪五大弊病？"])
    assert out.startswith("重点都放在哪了？") and "“五改”那篇文章" in out
    # a quoted name is the conversation's subject as a place is
    out = rewrite_followup("服务要放在什么位置？", ["“五改”里第三改讲的是什么？"])
    assert out.startswith("服务要放在什么位置？") and "“五改”" in out
    # an ordinal counts the items of the conversation's subject; "最后一条" is an ordinal too
    out = rewrite_followup("第一条说的是啥？", ["“四个一”推进机制包括哪几条？"])
    assert out.startswith("第一条说的是啥？") and "“四个一”" in out
    assert (
        rewrite_followup("最后一项呢？", ["五大弊病的第一项是什么？"])
        == "五大弊病的最后一项是什么？"
    )
    # a group or a year starts a subject of its own
    assert rewrite_followup("招商七组的牵头领导是谁？", ["焦作招商六组管哪些产业？"]) == (
        "招商七组的牵头领导是谁？"
    )


def test_rewrite_chains_two_follow_ups():
    first = "郑州在环渤海地区重点招引哪些项目？"
    one = rewrite_followup("长三角呢？", [first])
    assert "郑州" in one and "长三角" in one and "环渤海" not in one and "重点招引哪些项目" in one
    two = rewrite_followup("珠三角呢？", [first, "长三角呢？"])
    assert "郑州" in two and "珠三角" in two and "长三角" not in two and "环渤海" not in two
    assert "重点招引哪些项目" in two


def test_rewrite_swaps_the_industry_of_a_ledger_question():
    assert (
        rewrite_followup("那新能源呢？", ["焦作有哪些生物医药项目？"]) == "焦作有哪些新能源项目？"
    )
    out = rewrite_followup("新材料产业的呢？", ["焦作投资超过10亿元的装备制造项目有哪些？"])
    assert out == "焦作投资超过10亿元的新材料产业项目有哪些？"


def test_rewrite_swaps_the_phrase_the_previous_question_asked_about():
    """An untyped phrase takes the place of what the previous question asked about, so the
    follow-up's own subject decides retrieval and the answer, not the old one."""
    out = rewrite_followup("物价涨幅呢？", ["2013年政府工作报告定的GDP增长目标是多少？"])
    assert out == "2013年政府工作报告定的物价涨幅是多少？"
    out = rewrite_followup("那管农业的呢？", ["焦作管文旅、电商这块招商的是哪个组？"])
    assert out == "焦作管农业的是哪个组？"
    # a time qualifies the old question; it does not replace what it asked about
    out = rewrite_followup("那去年呢？", ["2023年政府工作报告定的GDP增长目标是多少？"])
    assert "GDP增长目标" in out and "去年" in out


def test_standalone_question_is_unchanged():
    q = "郑州市对招商引资工作的考核包括哪些方面？"
    assert rewrite_followup(q, ["焦作招商六组的牵头领导是谁？"]) == q
    assert (
        rewrite_followup("招商引资的“五大弊病”有哪些？", ["那招商七组呢？"])
        == "招商引资的“五大弊病”有哪些？"
    )


def test_rewrite_resolves_a_pronoun():
    out = rewrite_followup("它主要负责哪些领域的招商？", ["焦作招商四组由谁牵头？"])
    assert out.startswith("焦作招商四组") and "负责哪些领域" in out and "它" not in out


# ---------------------------------------------------------------- ask() over the seed corpus

RESPONSIBILITY = "招商六组的牵头领导是谁？"
NUMBER = "焦作县（市）区主要负责同志全年外出招商要不少于多少时间？"
LIST = "招商引资的“五大弊病”有哪些？"
REFUSALS = (
    "洛阳市成立了几个招商小组，分别由谁牵头？",
    "深圳市对新引进企业的招商补贴标准是多少？",
    "深圳的招商补贴标准是多少？",
)
FOLLOW_UP = ("那招商七组呢？", ("焦作招商六组的牵头领导是谁？",))
BOTH_LINES = "焦作负责高新技术、特种设备、教育等领域招商的小组由谁牵头、哪个单位牵头？"
SECTIONS = "焦作“7+X”机制的保障机制包括哪几项？"
GROUPS = "焦作成立了几个招商小组，分别由谁牵头？"
ORDINAL = "招商引资“五改”的第四改是什么？"
ITEM = "前任谈的项目后任不管、前任许诺的政策后任不兑现，这种问题叫什么？"
NO_FIGURE = "汝州驻地招商分局在日本设立了几个办事处？"


@pytest.fixture(scope="module")
def answers(corpus_qa: PolicyQA) -> dict[str, Answer]:
    out = {
        q: corpus_qa.ask(q)
        for q in (
            RESPONSIBILITY,
            NUMBER,
            LIST,
            *REFUSALS,
            BOTH_LINES,
            SECTIONS,
            GROUPS,
            ORDINAL,
            ITEM,
            NO_FIGURE,
        )
    }
    out[FOLLOW_UP[0]] = corpus_qa.ask(FOLLOW_UP[0], history=list(FOLLOW_UP[1]))
    return out


def test_responsibility_answer(answers, corpus_qa: PolicyQA):
    a = answers[RESPONSIBILITY]
    assert a.answered and a.mode == "extractive" and "孙起鹏" in a.text
    cited = [c for c in a.citations if c.doc_number == JIAOZUO_NOTICE and "孙起鹏" in c.quote]
    assert cited, a.citations
    assert cited[0].quote in stored_text(corpus_qa, cited[0].chunk_id)
    assert "招商六组" in cited[0].section_path
    assert f"《{cited[0].title}》" in a.text and re.search(r"《[^》]+》", a.text)


def test_number_answer(answers):
    a = answers[NUMBER]
    assert a.answered and "1/4" in a.text
    assert any("1/4" in c.quote and c.doc_number == JIAOZUO_NOTICE for c in a.citations)


def test_list_answer_names_all_five(answers):
    a = answers[LIST]
    assert a.answered
    missing = [ill for ill in FIVE_ILLS if ill not in a.text]
    assert not missing, (missing, a.text)
    assert len(a.citations) >= 2
    assert all(any(ill in c.quote for c in a.citations) for ill in FIVE_ILLS)


@pytest.mark.parametrize("question", REFUSALS)
def test_uncovered_questions_are_refused(answers, question: str):
    a = answers[question]
    assert not a.answered and a.mode == "refusal", a.text
    assert a.text.startswith("现有资料中未找到")
    assert a.citations == [] and markers(a.text) == []
    assert a.closest and all(c["title"] and c["doc_id"] for c in a.closest)
    assert f"《{a.closest[0]['title']}》" in a.text


def test_who_and_which_unit_gets_both_label_lines(answers):
    a = answers[BOTH_LINES]
    assert a.answered and "薛志杰" in a.text and "市科技局" in a.text, a.text


def test_list_of_sections_names_each_section(answers):
    a = answers[SECTIONS]
    for name in ("高层调度机制", "联动协调机制", "信息联络机制", "经费保障机制", "督查激励机制"):
        assert name in a.text, (name, a.text)
    assert len({c.section_path for c in a.citations}) == 5


def test_count_and_each_leader(answers):
    a = answers[GROUPS]
    assert a.answered and "7个招商小组" in a.text
    for leader in ("李民生", "牛炎平", "武磊", "闫小杏", "王付举", "孙起鹏", "薛志杰"):
        assert leader in a.text, leader


def test_ordinal_item(answers):
    a = answers[ORDINAL]
    assert a.answered and "四要改“全民招商”为“专业招商”" in a.text, a.text


def test_item_head_names_the_problem(answers):
    a = answers[ITEM]
    assert a.answered and "新官不理旧账" in a.text, a.text


def test_question_for_a_figure_the_passage_lacks_is_answered_in_part(answers, corpus_qa: PolicyQA):
    """汝州's 驻地招商分局 are in the article, a count of offices in Japan is not: the answer says
    what the article does say, cited, and plainly that the count is not given."""
    a = answers[NO_FIGURE]
    assert not a.answered and a.mode == "partial", a.text
    assert a.text.endswith("但资料未写明具体数量。"), a.text
    assert a.citations and all(c.quote in stored_text(corpus_qa, c.chunk_id) for c in a.citations)
    assert any("汝州" in c.title for c in a.citations)


def test_follow_up_is_answered_about_group_seven(answers):
    a = answers[FOLLOW_UP[0]]
    assert a.question == "那招商七组呢？"
    assert "招商七组" in a.rewritten_question and "六组" not in a.rewritten_question
    assert a.answered and "薛志杰" in a.text and "孙起鹏" not in a.text
    assert any("薛志杰" in c.quote and "招商七组" in c.section_path for c in a.citations)


def test_every_citation_is_verbatim_and_markers_are_one_to_n(answers, corpus_qa: PolicyQA):
    checked = 0
    for q, a in answers.items():
        assert markers(a.text) == list(range(1, len(a.citations) + 1)), (q, a.text)
        assert [c.n for c in a.citations] == list(range(1, len(a.citations) + 1)), q
        for c in a.citations:
            assert c.quote and c.quote in stored_text(corpus_qa, c.chunk_id), (q, c.n, c.quote)
            checked += 1
    assert checked >= 8


def test_answer_to_dict(answers):
    d = answers[RESPONSIBILITY].to_dict()
    assert {"question", "rewritten_question", "answered", "answer", "citations"} <= set(d)
    assert d["question"] == RESPONSIBILITY and d["answered"] is True and "孙起鹏" in d["answer"]
    assert d["citations"]
    for c in d["citations"]:
        assert {
            "n",
            "chunk_id",
            "title",
            "doc_number",
            "section_path",
            "page",
            "quote",
            "source",
        } <= set(c)
    assert d["citations"][0]["n"] == 1 and d["citations"][0]["source"].endswith(".txt")
    refusal = answers[REFUSALS[0]].to_dict()
    assert refusal["answered"] is False and refusal["citations"] == []
    import json

    assert json.loads(json.dumps(d, ensure_ascii=False)) == d


def test_unreachable_llm_falls_back_to_the_extractive_answer(corpus_qa: PolicyQA, e5):
    settings = corpus_qa.settings.model_copy(
        update={"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "x", "llm_timeout": 2}
    )
    assert settings.llm_enabled
    qa = PolicyQA(settings, embeddings=e5)
    streamed: list[str] = []
    a = qa.ask(RESPONSIBILITY, on_token=streamed.append)
    assert a.answered and a.mode == "extractive" and "孙起鹏" in a.text
    assert any("大模型" in n for n in a.notes), a.notes
    assert a.citations and all(c.quote in stored_text(corpus_qa, c.chunk_id) for c in a.citations)
    assert "".join(streamed) == a.text
    # a follow-up still gets rewritten (by the rules) when the LLM is down
    b = qa.ask(FOLLOW_UP[0], history=list(FOLLOW_UP[1]))
    assert "招商七组" in b.rewritten_question and "薛志杰" in b.text
    assert any("大模型" in n for n in b.notes)
