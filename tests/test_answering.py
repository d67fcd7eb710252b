"""The offline answerer stage by stage, on real sentences of corpus/: units, answer types,
evidence by meaning, whole lists across a chunk boundary, answers in part, name rules, and a
verdict that does not move when other documents are indexed."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.answering import Library, about, answer_offline
from rag.answering.evidence import question_terms
from rag.answering.lists import enumeration, list_items
from rag.answering.refusal import (
    FEATURES,
    action_absent,
    agent_beside,
    asked_action,
    default_model,
    kind_consistent,
    missing_names,
    name_consistent,
    quoted_absent,
    unstated,
)
from rag.answering.types import answer_type, holds, holds_near, names_agency, unlisted
from rag.answering.units import embedding_text, is_addressee_line, is_fragment, passage_units
from rag.service import PolicyQA
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT.parent / "shared" / "corpus" / "extra" / "government_work_reports.jsonl"

# 000_…: the 焦作 article, verbatim
PANGU = (
    "市委市政府主要负责同志高度重视招商引资工作，以上率下，亲自带队赴京津冀、长三角等重点区域开展招商考察12次，"
    "洽谈项目37个，推动盘毂动力轴向磁通先进电驱系统智能制造基地、远大科技超高风电装备制造等重点项目签约落地，"
    "推动各县（市、区）党政一把手外出126次，签约项目107个、签约总金额592.6亿元。"
)
# 003_…#3: the 五改 commentary, verbatim
ILLS = (
    "1.招商引资五大弊病\n一是新官不理旧账。即前任谈的项目，后任不愿跟踪；\n二是招商不重安商。"
    "在“招”的方面下功夫较多，对招进来以后的服务则重视不够。\n三是寻租不讲服务。\n四是竞争机制不强。\n"
    "五是土地管理不严。有些地方招来的企业圈了地，长期不开发。"
)


@dataclass(frozen=True)
class Passage:
    """The fields of ``rag.service.Hit`` the answerer reads."""

    text: str
    section_path: str = ""
    title: str = "招商引资要在“五改”上下功夫"
    doc_id: str = "003#3"
    chunk_id: str = "003#3::a-0"
    region: str = ""
    doc_number: str = ""
    kind: str = "news"
    date: str = ""
    page: int | None = None
    source: str = "003.txt"
    ordinal: int | None = 0
    dense_rank: int | None = 1
    bm25_rank: int | None = 1
    dense_score: float | None = 0.9
    rank: int = 1


# ---------------------------------------------------------------- units


def test_units_are_verbatim_slices_without_signatures_or_heading_lines():
    text = "（六）招商六组。\n牵头领导：孙起鹏。\n牵头单位：市工业和信息化局。\n焦作市人民政府办公室\n2020年3月6日"
    units = passage_units(text, "一、成立7个招商小组 › （六）招商六组。")
    assert [u.text for u in units] == ["牵头领导：孙起鹏。", "牵头单位：市工业和信息化局。"]
    assert all(text[u.start : u.end] == u.text for u in units)
    assert embedding_text(units[0]) == "（六）招商六组 牵头领导：孙起鹏。"
    assert is_fragment("焦作市人民政府办公室") and not is_fragment("牵头领导：孙起鹏。")


def test_a_long_sentence_becomes_clause_windows_that_still_slice_the_text():
    long = PANGU[:-1] + "，" + PANGU  # 315 characters without a full stop inside
    units = passage_units(long)
    assert len(units) >= 3 and all(len(u.text) <= 120 for u in units)
    assert all(long[u.start : u.end] == u.text for u in units)
    assert "".join(u.text for u in units) == long


# ---------------------------------------------------------------- answer types


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("县里一把手一年得花多长时间出去跑项目？", "duration"),
        ("各招商组多久报一次工作情况？", "frequency"),
        ("雄安国家技术转移中心是哪一年获批的？", "year"),
        ("每个月几号前要报送？", "date"),
        ("汝州出台的“双创”扶持政策有多少条？", "count"),
        ("盘毂动力那个项目总投资是多少？", "amount"),
        ("焦作招商四组由哪位市领导牵头负责？", "person"),
        ("焦作全市招商工作是哪个部门牵头总抓？", "unit"),
        ("瑞庆那个项目落在焦作哪个县区？", "place"),
        ("招商引资的“五大弊病”有哪些？", "list"),
        ("焦作的督查激励机制是怎么运作的？", "mechanism"),
        ("报给哪里？（焦作各招商组每个月几号前要报工作情况）", "unit"),
        ("各组定的年度行动计划要报哪里审批？", "unit"),
        ("那套招商专案由谁来审定？", "unit"),
        ("市里几个月一次听各组汇报进展？", "frequency"),
        ("每组一年的签约任务是多少个亿？", "amount"),
        ("请机构代为招商，一年要付多少服务费？", "amount"),
        ("那个发动机项目是谁家的？", "fact"),  # a company, not a person
        ("2021年政府工作报告拟安排地方政府专项债券多少？", "amount"),
        ("赤字率多少？", "share"),
        ("2024年实际使用外资的年度目标是多少？", "quantity"),
        ("外出招商时间达不到1/4，会受到什么处罚？", "penalty"),
        ("郑州想借货运航线在天上搭一条怎样的带子？", "fact"),  # what kind of, not how
        ("外资企业遇到问题可以打哪个投诉热线反映？", "contact"),
        ("这份清单在哪个网站上能查到？", "contact"),
        ("那支工作团队由谁当团长？", "person"),
    ],
)
def test_answer_types(question: str, kind: str):
    got = answer_type(question).name
    assert got == kind or (kind == "fact" and got != "date"), (question, got)


def test_a_figure_counts_only_next_to_what_the_question_is_about():
    assert holds("amount", PANGU)  # the sentence has an amount …
    assert not holds_near("amount", PANGU, "盘毂")  # … but not next to 盘毂动力
    assert holds_near("count", PANGU, "洽谈", "洽谈了多少个项目？")
    assert holds("duration", "仅用时150天") and not holds("duration", "2017年11月")
    assert holds("person", "牵头领导：孙起鹏。") and not holds(
        "person", "各县（市）区主要负责同志全年外出"
    )
    assert unlisted("“五单”具体是哪五张清单？", ["严格执行“五单一网”制度，稳步推进政务服务。"])
    assert not unlisted(
        "郑州有哪四大优势？", ["突出郑州的区位优势、交通优势、市场优势、资源优势，"]
    )


# ---------------------------------------------------------------- evidence: the unit model


def test_the_unit_model_ranks_the_sentence_that_holds_the_asked_figure_first():
    """Of the 焦作 article's sentence and a statement of purpose that shares as many words,
    the one with a count next to 外出 wins, and scores are relative to the best (1.0)."""
    from rag.answering.evidence import UNIT_FEATURES, default_unit_model, score_units

    assert len(default_unit_model().weights) == len(UNIT_FEATURES)
    question = "县区党政一把手外出招商了多少次？"
    purpose = Passage(
        "为进一步推动县区党政一把手外出招商，现将有关做法刊发。", title="焦作经验", doc_id="000"
    )
    fact = Passage(PANGU, title="焦作经验", doc_id="000", chunk_id="000::b-0")
    hits = [purpose, fact]
    units = [
        u for i, h in enumerate(hits) for u in passage_units(h.text, h.section_path, h.title, i)
    ]
    scored = score_units(
        question, units, hits, question_terms(question, lambda w: 2.0), None, answer_type(question)
    )
    assert "外出126次" in scored[0].text
    assert scored[0].score == 1.0 and all(0 < s.score < 1.0 for s in scored[1:])


def test_a_section_cut_in_two_is_read_on_into_its_next_chunk():
    """The answer may sit in the chunk after the one retrieval found (same section): it is
    quoted and cited to that chunk, which takes its passage's rank."""
    from rag.answering import candidates

    cut = ILLS.index("四是")
    first = Passage(ILLS[:cut], "1.招商引资五大弊病")
    second = Passage(ILLS[cut:], "1.招商引资五大弊病", chunk_id="003#3::a-1", ordinal=1)
    library = Library(idf=lambda w: 2.0, following=lambda h: second if h is first else None)
    hits, units = candidates("五是什么问题？", [first], library)
    assert [h.chunk_id for h in hits] == [first.chunk_id, second.chunk_id]
    assert any(u.hit_index == 1 and u.text.startswith("五是土地管理不严") for u in units)
    draft = answer_offline("土地管理不严表现在哪里？", [first], library)
    assert "圈了地" in draft.text and any(c.chunk_id == second.chunk_id for c in draft.citations), (
        draft.text
    )


# ---------------------------------------------------------------- lists


def test_a_five_item_list_continues_into_the_next_chunk():
    cut = ILLS.index("四是")
    first = Passage(ILLS[:cut], "1.招商引资五大弊病")
    second = Passage(ILLS[cut:], "1.招商引资五大弊病", chunk_id="003#3::a-1", ordinal=1)
    assert len(list_items(first.text, first.section_path)) == 3
    hits = [first]
    question = "招商引资的五大弊病有哪些？"
    terms = question_terms(question, lambda w: 2.0)
    units = passage_units(first.text, first.section_path, first.title)
    from rag.answering.evidence import Scored

    scored = [Scored(u, 1.0, 1.0, 0.0, 1.0) for u in units]
    items = enumeration(question, hits, scored, terms, lambda h: second if h is first else None)
    assert [i.text[:2] for i in items] == ["一是", "二是", "三是", "四是", "五是"]
    assert items[3].hit_index == 1 and hits[1] is second  # cited to the chunk that holds it


def test_a_list_inside_one_item_is_answered_from_that_item():
    """ "要素保障建立了哪几张清单" is about item two of the enumeration, not a call for its heads."""
    text = (
        "三、优化营商服务。\n一是简化审批流程。推行一窗受理、并联审批。\n二是强化要素保障。建立用地、用能、"
        "用工三张清单，实行专班对接。\n三是完善考核激励。将招商成效纳入年度考核。"
    )
    passage = Passage(
        text, "三、优化营商服务", title="某市招商工作要点", doc_id="x", chunk_id="x::a-0"
    )
    question = "要素保障方面建立了哪几张清单？"
    terms = question_terms(question, lambda w: 2.0)
    units = passage_units(passage.text, passage.section_path, passage.title)
    from rag.answering.evidence import Scored

    scored = [Scored(u, 1.0, 1.0, 0.0, 1.0) for u in units]
    items = enumeration(question, [passage], scored, terms, None)
    assert [i.text for i in items] == [
        "二是强化要素保障。",
        "建立用地、用能、用工三张清单，实行专班对接。",
    ]
    other = "优化营商服务要做哪几条？"
    whole = enumeration(other, [passage], scored, question_terms(other, lambda w: 2.0), None)
    assert [i.text[:2] for i in whole] == ["一是", "二是", "三是"]


# 003_…#3 (汝州), verbatim
TERMINALS = (
    "在智能终端产业方面，随着一期11栋标准化厂房的建设推进，深入上海、深圳等地积极进行对接洽谈，"
    "尤其是2017年11月，针对智能终端产业招商，在深圳召开专题招商引资推介会，会上签约意向合作项目17个。"
)


def test_figures_of_other_measures_and_dates_of_the_year_are_told_apart():
    # 万/亿 without 元 count money only when no other measure follows
    assert not holds("amount", "有效利用土地1910亩、厂房38万平方。")
    assert holds("amount", "签约总金额592.6亿元。") and holds("amount", "总投资12亿，")
    # the counted noun ends where the verb begins ("多少个部门去落实" counts 部门, under any name)
    assert holds("count", "分解至32个相关职能单位", "目标分给了多少个部门去落实？")
    assert not holds("count", "分解至32个项目", "目标分给了多少个部门去落实？")
    # what is counted is the noun run after the measure word ("几家企业表态…" counts 企业);
    # a verb right after it ("几个作为主攻对象") names nothing to count
    assert holds("count", "已与10家汽车装备加工企业达成了入驻意向", "有几家企业表态要进驻了？")
    assert holds("count", "确定重点项目31个", "最后挑出几个作为主攻对象？")
    assert not holds("count", "设立3个联络处", "设了几个办事处？")
    # "到2020年" is a target: it does not say when something was approved, only what year a
    # plan looks to ("预计哪一年建成" is asked of such a target)
    target = "到2020年，雄安新区、河北·京南国家科技成果转移转化示范区打造成为战略高地。"
    assert not holds("year", target, "示范区是哪一年批下来的？")
    assert holds("year", target, "示范区预计哪一年建成？")
    assert holds("year", "2017年，先后在浙江绍兴、广东汕头召开两次推介会", "推介会是哪一年的事？")
    # a fraction is a share ("占全年多少" ← "不少于1/4时间"); a date written with slashes is not
    assert holds("share", "全年外出实质招商要不少于1/4时间")
    assert not holds("share", "于2020/3/12印发")
    # "年初" answers "什么时候"
    assert holds("date", "各县（市、区）、开发区年初要对招商引资工作进行专题研究")


def test_a_year_or_a_phase_the_evidence_does_not_state():
    """The quote holds "一期", the question asks for "二期"; the year asked is nowhere."""
    assert unstated("智能终端产业园二期一共多少栋厂房？", TERMINALS, TERMINALS) == ["二期"]
    assert unstated("智能终端产业园一期有多少栋厂房？", TERMINALS, TERMINALS) == []
    assert unstated("2015年汝州签约了多少智能终端项目？", TERMINALS, TERMINALS) == ["2015年"]
    assert unstated("2017年汝州签约了多少智能终端项目？", TERMINALS, TERMINALS) == []
    # written in Chinese numerals, a year is still stated; a year's report is retrieval's business
    assert unstated("二〇一七年签约了多少项目？", "二〇一七年，签约项目17个。", "") == []
    assert unstated("2019年政府工作报告的增长目标是多少？", "增长6%—6.5%", "") == []


def test_a_quoted_name_must_be_in_the_passages_and_picks_their_documents():
    assert quoted_absent("汝州“万人进万企”招商活动是怎么搞的？", TERMINALS) == ["“万人进万企”"]
    assert quoted_absent("汝州“双创”扶持政策有多少条？", TERMINALS) == []  # a short form
    named = Passage(ILLS, doc_id="a", chunk_id="a-0", title="招商引资要在“五改”上下功夫")
    other = Passage(
        TERMINALS, doc_id="b", chunk_id="b-0", title="瞄准新兴产业 汝州致力创造招商奇迹"
    )
    question = "讲“五改”的那篇文章说了哪些弊病？"
    assert name_consistent(question, [other, named], {0, 1}) == {1}
    # no passage holds the name: all are kept (and ``missing_names`` decides)
    assert name_consistent("“十改”说了什么？", [other, named], {0, 1}) == {0, 1}


def test_a_figure_of_no_stated_measure_needs_a_number_next_to_its_subject():
    """ "…的年度目标是多少": a sentence on the subject without a number does not answer it, and
    "两个市场" in running text is no figure."""
    assert not holds("quantity", "增强国内国际两个市场两种资源联动效应，巩固外贸外资基本盘。")
    assert holds_near("quantity", "城镇新增就业1100万人以上，", "就业")


def test_figures_of_older_reports_count_in_full_width_and_in_words():
    """Reports of the 1980s–90s write "９．７％", "６２１亿元", "百分之八十五以上", "六百九十四个"."""
    assert holds("share", "比上年增长９．７％。")
    assert holds("amount", "仅中央财政当年就增加支出６２１亿元。")
    assert holds("quantity", "农业主要作业机械化水平达到百分之八十五以上")
    assert holds("quantity", "由六百九十四个限额以上的建设单位组成的工业建设")
    assert holds("date", "第二步，在本世纪内，全面实现农业、工业、国防和科学技术的现代化")
    # "以上这几项…多花了多少" refers to what was said; it counts nothing
    assert answer_type("报告讲上一年提高工资这几项，中央财政当年多花了多少？").name != "count"


def test_the_asks_of_a_turn_are_told_apart():
    from rag.answering import asks

    assert asks("拟安排地方政府专项债券多少？赤字率多少？") == [
        "拟安排地方政府专项债券多少",
        "赤字率多少",
    ]
    assert asks("对过紧日子有什么硬要求，中央部门一般性支出压多少？") == [
        "对过紧日子有什么硬要求",
        "中央部门一般性支出压多少",
    ]
    assert asks("焦作在要素保障上，具体做了哪几件事？") == []  # one ask, with a lead-in
    assert asks("招商六组的牵头领导是谁？") == []
    assert asks("那两场推介会一共请来多少客人，合同金额多大？") == [
        "那两场推介会一共请来多少客人",
        "合同金额多大",
    ]


def test_the_figure_check_anchors_on_distinct_words():
    """ "国内生产总值增长多少": 国内生产总值, 生产总值 and 国内生产 are one word thrice; 增长, next to
    the figure two clauses on, must be an anchor too."""
    from rag.answering import figure_found
    from rag.answering.evidence import Scored
    from rag.answering.units import Unit

    quote = "国内生产总值达到43800亿元，按可比价格计算，比上年增长百分之十一点八。"
    chosen = [Scored(Unit(0, 0, quote, ""), 0.5, 0.5, 0.5, 1.0)]
    question = "1995年报告回顾1994年国内生产总值增长多少？"
    terms = question_terms(question, lambda w: 1.0)
    assert figure_found(question, answer_type(question), chosen, terms, [Passage(quote)])


def test_a_place_named_once_and_referred_back_to_answers_where():
    from rag.answering import figure_found
    from rag.answering.evidence import Scored
    from rag.answering.units import Unit

    text = (
        "然而抚顺市财政经济部门的同志不这样看问题。"
        "他们千方百计发动群众挖掘潜力，制订了减产不减收的三十条措施，取得了成效。"
    )
    chosen = [Scored(Unit(0, 0, text, ""), 0.5, 0.5, 0.5, 1.0)]
    question = "1981年报告表扬了哪个城市制订减产不减收措施？"
    terms = question_terms(question, lambda w: 1.0)
    assert answer_type(question).name == "place"
    assert figure_found(question, answer_type(question), chosen, terms, [Passage(text)])


def test_the_measure_a_question_asks_in_is_no_anchor():
    """ "安排了多少万亿元": 亿元 stands next to every amount, so an amount of something else
    (减税) does not answer for the asked 赤字."""
    from rag.answering import figure_found
    from rag.answering.evidence import Scored
    from rag.answering.units import Unit

    quote = "赤字率拟按3%安排。五年累计减税5.4万亿元、降费2.8万亿元。"
    passage = Passage(quote, doc_id="r")
    chosen = [Scored(Unit(0, 0, quote, ""), 0.5, 0.5, 0.5, 1.0)]
    question = "财政赤字规模安排了多少万亿元？"
    terms = question_terms(question, lambda w: 1.0)
    assert "万亿元" in [t.surface for t in terms]
    assert not figure_found(question, answer_type(question), chosen, terms, [passage])


def test_a_place_a_document_speaks_of_is_not_taken_for_its_owner():
    """ "张家口是怎么做的？（这份材料提到…）" asks what the 许昌 material says of 张家口; "张家口对…的
    标准是多少" would ask for 张家口's own policy."""
    material = Passage(
        "此外，张家口围绕全市产业发展战略和科技创新需求，探索实施科技招商顾问机制。",
        title="创新招商思维 创出引资新路",
        region="许昌市",
        doc_id="x",
    )
    asked = "张家口是怎么做的？（这份材料提到城市出台了科技招商专项实施方案）"
    assert missing_names(asked, [material], 0) == []
    assert missing_names("张家口对科技招商顾问的补贴标准是多少？", [material], 0) == ["张家口"]


def test_a_province_is_named_by_the_regional_bloc_it_belongs_to():
    """ "往广东那边" is answered by what 郑州's notice (a document of 河南) says of 珠三角 — not
    refused for want of the word 广东; a province of no bloc the passage names still is."""
    from rag.lexicon.places import blocs_of, named_in

    delta = Passage(
        "在珠三角地区要重点利用南部沿海地区产业转移机会，突出电子信息、生物医药类项目。",
        title="郑州市人民政府关于进一步加强招商引资工作的意见",
        region="河南省郑州市",
    )
    library = Library(idf=lambda w: 2.0)
    draft = answer_offline("郑州往广东那边去拉项目，主要盯哪几类？", [delta], library)
    assert draft.verdict != "refuse" and "电子信息" in draft.text, (draft.missing, draft.text)
    draft = answer_offline("郑州往四川那边去拉项目，主要盯哪几类？", [delta], library)
    assert draft.verdict == "refuse" and draft.missing == ["四川"]
    assert "珠三角" in blocs_of("广东省") and blocs_of("焦作") == ["中原城市群"]
    assert named_in("深圳市", "在珠三角地区") and not named_in("成都", "在珠三角地区")


def test_a_question_word_before_a_programme_word_names_no_programme():
    """ "安排了多少专项债": 多少 is no programme's name, so nothing is missing."""
    report = Passage(
        "今年拟安排地方政府专项债券2.15万亿元。", title="2019年国务院政府工作报告", doc_id="r"
    )
    assert missing_names("2019年那份政府工作报告给地方安排了多少专项债？", [report], 0) == []
    plan = Passage("第一个五年计划的基本任务", title="1955年国务院政府工作报告", doc_id="p")
    assert missing_names("1955年报告讲一五计划的基本任务是什么？", [plan], 0) == []


def test_a_question_on_the_documents_parts_is_told_from_one_on_aspects_of_its_content():
    from rag.answering.lists import STRUCTURE_QUESTION

    assert STRUCTURE_QUESTION.search("焦作这篇文章从哪几个方面总结自己的做法？")
    assert STRUCTURE_QUESTION.search("这篇材料分哪几个部分？")
    # the aspects of a skill the material names, not the material's own parts
    assert not STRUCTURE_QUESTION.search("许昌材料说招商一线队伍要增强哪几方面本事？")


def test_the_year_a_question_gives_its_document_picks_the_passages_quoted():
    """ "2012年的报告讲上一年粮食…" is answered from the 2012 report, not from the 1959 one that
    retrieval also brought up; a year of the facts asked about ("2016年签约了多少") picks nothing,
    nor does a span of years ("2020年以来")."""
    from rag.answering.refusal import year_consistent
    from rag.retrieval.runs import document_years

    old = Passage(
        "一九五九年粮食增加的绝对数将达到三千亿斤。", title="1959年政府工作报告", date="1959"
    )
    new = Passage("粮食产量达到11424亿斤，连续八年增产。", title="2012年政府工作报告", date="2012")
    assert year_consistent("2012年的报告讲上一年粮食收了多少斤？", [old, new], {0, 1}) == {1}
    assert year_consistent("1970年的报告讲粮食收了多少斤？", [old, new], {0, 1}) == {0, 1}
    assert document_years("焦作2016年招商引资签约了多少个项目？") == []
    assert document_years("二〇二〇年以来出台了哪些政策？") == []
    assert document_years("十四五开局那年的报告安排地方政府专项债券多少？") == [2021]


def test_a_list_the_question_counts_itself_needs_its_items():
    quote = "预计到2020年，河北将打造5个战略高地、建设20个示范园区、做强100个转化机构。"
    assert unlisted("那20个示范园区具体都是哪些？", [quote])
    assert not unlisted("那3个目标具体都是哪些？", [quote])


# ---------------------------------------------------------------- the pipeline on the seed corpus


def test_runners_up_join_an_unsure_best_unit_until_the_quotes_are_likely_to_hold_the_answer():
    from rag.answering.evidence import Scored
    from rag.answering.select import runners_up
    from rag.answering.units import Unit

    units = passage_units(ILLS, "1.招商引资五大弊病")
    hits = [Passage(ILLS)]

    def scored(*rel: float) -> list[Scored]:
        return [Scored(u, 0.0, 0.0, 0.0, r) for u, r in zip(units, rel, strict=False)]

    # a best unit of probability .95 (19 of 20 parts) stands alone
    sure = scored(1.0, 0.03, 0.02)
    assert runners_up(sure[0], sure, [sure[0]], 300, hits) == []
    # one of .45 is joined by the next two (.9 of the mass), not by the fourth
    unsure = scored(1.0, 0.6, 0.4, 0.2, 0.02)
    joined = runners_up(unsure[0], unsure, [unsure[0]], 300, hits)
    assert [j.text for j in joined] == [units[1].text, units[2].text]
    # what counts is the best unit's probability (.69 here), not how close the next one comes
    spread = scored(1.0, 0.25, 0.2)
    assert len(runners_up(spread[0], spread, [spread[0]], 300, hits)) == 2
    # another document's near-equal sentence is a second answer, not context
    other = [Passage(ILLS), Passage(ILLS, doc_id="other", chunk_id="other::0")]
    split = [unsure[0], Scored(Unit(1, units[1].start, units[1].text, ""), 0, 0, 0, 0.9)]
    assert runners_up(split[0], split, [split[0]], 300, other) == []


def test_a_quantity_asked_in_a_measure_needs_a_figure_in_that_measure():
    assert holds("quantity", "规划面积1.2万亩", "科技园规划占地多少亩？")
    assert not holds("quantity", "打造5个战略高地、建设20个示范园区", "科技园规划占地多少亩？")
    assert holds("quantity", "打造5个战略高地", "目标是多少？")  # no measure asked: any figure


def test_a_report_speaks_of_the_years_it_reviews_without_naming_them():
    from rag.answering.refusal import implied_years, unstated

    review = "一、过去一年和五年工作回顾：全年国内生产总值增长3%，城镇新增就业1206万人。"
    assert implied_years("2023", review) == {"2023", "2022"}
    assert implied_years("2023", "过去五年，我们…") == {
        "2023",
        "2022",
        "2021",
        "2020",
        "2019",
        "2018",
    }
    assert implied_years("2023", "今年发展主要预期目标") == {"2023"}
    assert (
        unstated("2023年的报告回顾2022年，城镇新增就业多少？", review, review, True, "2023") == []
    )
    # a year before the review is still not stated
    assert unstated("2023年的报告里2015年新增就业多少？", review, review, True, "2023") == [
        "2015年"
    ]


def test_a_contact_is_a_telephone_a_website_or_an_address():
    assert holds("contact", "可登录中国政府网（www.gov.cn）查询", "在哪个网站能查到？")
    assert holds("contact", "咨询电话：0371-67188888", "电话是多少？")
    assert holds("contact", "拨打12345市民服务热线", "打哪个热线？")
    assert holds("contact", "地址：郑州市金水路16号", "办公地址在哪里？")
    assert not holds("contact", "全面实施全国统一的市场准入负面清单制度。", "在哪个网站能查到？")
    assert not holds("contact", "大力发展“互联网+”，推进政务服务网建设。", "打哪个热线？")


def test_people_counted_are_counted_in_people():
    assert holds("count", "组建5人工作专班", "专班配几个人？")
    assert not holds("count", "实行一个重点项目、一支工作团队", "工作团队一般配几个人？")


def test_the_dating_lines_of_a_notice_and_of_a_bulletin():
    from rag.answering.issued import asks_issue_date, asks_issuer, date_lines

    assert asks_issue_date("焦作“7+X”那份通知是哪天印发的？")
    assert asks_issue_date("许昌这份参阅材料是哪天出的？")
    assert asks_issue_date("这个文件的发文日期是哪天？")
    assert not asks_issue_date("瑞庆那个项目是哪天开工的？")
    assert not asks_issue_date("各组每个月几号前要报送情况？")
    assert asks_issuer("郑州这份意见最后是由哪个机关印发的？")
    assert not asks_issuer("河北“52111”工程路线图是哪个部门提出的？")
    # 004's closing: a signature date, who printed it and when; "印发" picks the printing line
    closing = (
        "……着力营造保障有力的招商后续服务。\n2018年2月13日\n主办：市商务局\n"
        "抄送：市委各部门，郑州警备区。\n郑州市人民政府办公厅\n2018年2月13日印发"
    )
    body = "郑州市人民政府文件\n郑政〔2018〕15号\n……"
    assert [s for _, _, s in date_lines([body, closing], "哪天印发的")] == [
        "郑州市人民政府办公厅",
        "2018年2月13日印发",
    ]
    assert [s for _, _, s in date_lines([body, closing], "什么时候发布的")] == ["2018年2月13日"]
    for i, off, line in date_lines([body, closing], "哪天印发的"):
        assert [body, closing][i][off : off + len(line)] == line
    # 001's header: issuer and date on one line of the opening
    header = "内部资料\n领导参阅\n第7期\n许昌市科技创新公共服务中心  二O二三年四月十五日\n创新招商思维 创出引资新路\n编者按：…"
    assert [s for _, _, s in date_lines([header, "正文。"], "哪天出的")] == [
        "许昌市科技创新公共服务中心  二O二三年四月十五日"
    ]
    assert date_lines(["正文，没有落款。"], "哪天印发的") == []


def test_which_group_is_answered_with_its_leader_and_unit(corpus_qa: PolicyQA):
    a = corpus_qa.ask("焦作管农业的是哪个组？")
    assert a.answered and "招商三组" in a.text and "牵头领导" in a.text, a.text


def test_the_date_a_notice_was_issued_is_quoted_from_its_closing(corpus_qa: PolicyQA):
    a = corpus_qa.ask("焦作“7+X”那份通知是哪天印发的？")
    assert a.answered and "2020年3月6日" in a.text and "焦作市人民政府办公室" in a.text, a.text
    assert all(c.quote in corpus_qa.stored_texts([c.chunk_id])[c.chunk_id] for c in a.citations)
    who = corpus_qa.ask("郑州这份加强招商的意见最后是由哪个机关印发的？")
    assert who.answered and "郑州市人民政府办公厅" in who.text, who.text


def test_a_paraphrase_with_no_shared_content_word_is_answered(corpus_qa: PolicyQA):
    """ "招来的企业没人管" shares no word with "对招进来以后的服务则重视不够": the e5 query→passage
    vectors find it."""
    question = "当地怎么防止招来的企业没人管？"
    a = corpus_qa.ask(question)
    assert a.answered and "对招进来以后的服务则重视不够" in a.text, a.text
    quote = next(c.quote for c in a.citations if "重视不够" in c.quote)
    # the sentence that answers (the passage is short enough to be shown whole around it)
    said = next(x for x in re.split(r"(?<=。)", quote) if "重视不够" in x)
    terms = question_terms(question, corpus_qa.index.bm25.idf)
    assert not [t.surface for t in terms if t.found_in(said)]


def test_an_invented_programme_is_refused_by_name(corpus_qa: PolicyQA):
    a = corpus_qa.ask("蓝鲸计划的牵头单位是哪个？")
    assert not a.answered and a.mode == "refusal" and "蓝鲸计划" in a.text, a.text
    hits = corpus_qa.search("洛阳市成立了几个招商小组？", k=5)
    assert "洛阳市" in missing_names("洛阳市成立了几个招商小组？", hits, 0)


def test_an_amount_the_passage_lacks_is_answered_in_part(corpus_qa: PolicyQA):
    a = corpus_qa.ask("盘毂动力那个电驱系统智能制造基地总投资是多少？")
    assert not a.answered and a.mode == "partial", a.text
    assert "盘毂动力" in a.text and a.text.endswith("但资料未写明具体金额。")
    assert a.citations and all(
        c.quote in corpus_qa.stored_texts([c.chunk_id])[c.chunk_id] for c in a.citations
    )


def test_each_ask_of_a_question_of_two_gets_its_figure(corpus_qa: PolicyQA):
    """Two asks, two sentences of the 汝州 article: the enterprises visited (one sentence) and the
    机绣 projects signed (another); both figures are quoted and the answer is whole."""
    a = corpus_qa.ask("汝州2017年驻地招商分局走访了多少家企业？全年签约了多少个机绣项目？")
    assert a.answered and a.mode == "extractive", a.text
    assert "300余家" in a.text and "签约机绣项目45个" in a.text, a.text


def test_a_penalty_the_notice_does_not_set_is_answered_in_part(corpus_qa: PolicyQA):
    """The notice requires a quarter of the year out; it sets no penalty for less: what it says,
    and plainly what it does not."""
    a = corpus_qa.ask("焦作县区主要负责同志外出招商时间要是达不到1/4，会受到什么处罚？")
    assert not a.answered and a.mode == "partial", a.text
    assert "1/4" in a.text and a.text.endswith("但资料未写明具体处罚规定。"), a.text
    assert holds("penalty", "未在补缴期完成补缴的，将处100元罚款")


def test_a_who_question_whose_action_no_quote_names_is_answered_in_part(corpus_qa: PolicyQA):
    """The 焦作 article says the city is building a digital investment platform and nothing of
    who runs it: the answer quotes what it says and that the unit is not written."""
    assert asked_action("郑州的重大项目管理系统由哪个部门负责开发维护？") == [
        "负责",
        "开发",
        "维护",
    ]
    assert asked_action("那套招商专案由谁来审定？") == ["审定"]
    assert asked_action("招商六组的牵头领导是谁？") == []
    assert asked_action("郑州的靶向项目库由谁来编制？") == ["编制"]  # not "来编制"
    quote = "将重大招商引资项目进展情况纳入重大项目管理系统，进行动态跟踪"
    assert action_absent("这个管理系统由哪个部门负责升级？", quote)
    assert not action_absent("项目进展由哪个部门负责动态跟踪？", quote)
    # a quote stating a duty answers a who-question however it words the action
    assert not action_absent("焦作城建这块的招商由哪个局挑头？", "牵头单位：市住房和城乡建设局。")
    # a bare "负责" is answered by any statement of a duty, and by nothing else
    service = "实行“一站式”全程代理式服务、“保姆”式服务"
    assert asked_action("“一站式”服务由哪个部门具体负责？") == ["负责"]
    assert action_absent("“一站式”服务由哪个部门具体负责？", service)
    assert not action_absent("招商六组由哪个部门具体负责？", "牵头单位：市工业和信息化局。")
    # …a duty of what the question is about: the leaders' duty to head project teams does
    # not say who builds the system; a record's label line ("主办：") always does
    duties = (
        "将重大招商引资项目进展情况纳入重大项目管理系统，进行动态跟踪。各级各部门“一把手”"
        "要牵头担任重大招商项目组长。各部门要按各自职责对重大投资项目实行全程跟踪。"
    )
    assert action_absent("郑州的重大项目管理系统由哪个部门负责开发维护？", duties)
    assert not action_absent("招商项目组由哪个部门负责牵头？", "一把手要牵头担任重大招商项目组长。")
    assert not action_absent("这份意见是哪个部门主办的？", "主办：市商务局督办：市政府办公厅六处")
    a = corpus_qa.ask("焦作的智慧招商数字一体化平台由哪个单位负责运营？")
    assert not a.answered and a.mode == "partial", a.text
    assert "智慧招商数字一体化平台" in a.text and a.text.endswith("但资料未写明具体单位。"), a.text
    # the agent beside the question's own words answers it, however the action is worded
    said = "近日，河北省科技厅发布消息，围绕“京津研发、河北转化”，河北提出“52111”工程路线图"
    assert agent_beside("unit", said, ["河北", "消息", "部门"])
    assert not agent_beside("unit", service, ["一站式", "服务", "部门"])  # 实行 is no agency
    c = corpus_qa.ask("河北要把京津上千项成果落到本省的那个消息，是哪个部门对外放出来的？")
    assert c.answered and "河北省科技厅" in c.text, c.text
    # the same kind of question whose action the notice does name is answered
    b = corpus_qa.ask("焦作招商六组的牵头单位是哪个？")
    assert b.answered and "市工业和信息化局" in b.text, b.text


def test_a_bare_who_is_answered_by_an_agency_too():
    """ "是谁负责" names no post: a unit answers it. "组长是谁" wants a person."""
    said = "市领导牵头协调，专班持续跟进，由市商务局统筹调度"
    assert holds("person", said, "重点项目的全程服务是谁出面协调？")
    assert not holds("person", said, "专班的组长是谁？")
    assert names_agency("近日，河北省科技厅发布消息")
    assert not names_agency("实行“一站式”全程代理式服务、“保姆”式服务")
    assert names_agency("各县（市、区）、开发区要结合产业发展动态")
    assert not names_agency("丽水经济技术开发区的“基金+飞地”招商模式", local=False)


def test_any_measure_answers_a_count_asked_with_ge():
    assert holds("count", "以“一个集群、一只基金”的方式", "每个产业集群配几个基金？")
    assert not holds("count", "以“一个集群、一只基金”的方式", "每个集群配几家银行？")


def test_the_agent_of_a_long_sentence_is_its_subject(corpus_qa: PolicyQA):
    """Local governments answer for work, and they open the sentence that says what they do."""
    said = (
        "各县（市、区）、开发区要结合产业发展动态，加强对国内外500强企业战略规划等信息的研判，"
        "在认真分析的基础上，编制出全市靶向项目库，进行动态跟踪管理。"
    )
    assert holds_near("unit", said, "靶向项目库", "郑州的靶向项目库由谁来编？")
    assert not holds_near("amount", said, "靶向项目库")
    a = corpus_qa.ask("郑州的靶向项目库由谁来编？")
    assert a.answered and "开发区" in a.text, a.text


def test_a_short_passage_is_shown_whole(corpus_qa: PolicyQA):
    """A group's record is read whole: asked what the group does, the answer also shows who
    leads it and with which units — one citation, the record's verbatim text."""
    a = corpus_qa.ask("招商四组主要负责哪块工作？")
    assert a.answered, a.text
    for field in ("牵头领导：闫小杏", "牵头单位：市住房和城乡建设局", "城市基础设施"):
        assert field in a.text, a.text
    assert len(a.citations) == 1 and len(a.citations[0].quote) <= 300
    # a typed figure stays the statement that holds it
    b = corpus_qa.ask("招商四组的牵头领导是谁？")
    assert "闫小杏" in b.text and "责任单位" not in b.text, b.text


def test_who_a_document_went_to_is_read_off_its_addressee_and_distribution_lines(
    corpus_qa: PolicyQA,
):
    """The distribution line closes the document, in a chunk no search for the question
    brings: it is read off the document itself, like the issue date."""
    from rag.answering.issued import addressee_lines, asks_recipients

    assert asks_recipients("郑州这份文件还抄给了哪些政法机关？")
    assert asks_recipients("焦作那篇材料是发给哪些单位的？")
    assert not asks_recipients("汝州今年下发了哪些文件？")  # what was sent, not to whom
    closing = (
        "着力营造保障有力的招商后续服务。\n2018年2月13日\n主办：市商务局\n"
        "抄送：市委各部门，郑州警备区。\n市人大常委会办公厅，市政协办公厅，市法院，市检察院。\n"
        "郑州市人民政府办公厅\n2018年2月13日印发"
    )
    assert [line for _, _, line in addressee_lines([closing])] == [
        "抄送：市委各部门，郑州警备区。",
        "市人大常委会办公厅，市政协办公厅，市法院，市检察院。",
    ]
    a = corpus_qa.ask("焦作那篇材料是发给哪些单位的？")
    assert a.answered and "厅机关各处室" in a.text and "航空港区商务主管部门" in a.text, a.text
    assert all(c.quote in corpus_qa.stored_texts([c.chunk_id])[c.chunk_id] for c in a.citations)


def test_a_place_question_wants_a_place_of_the_level_it_asks():
    asked = "汝州驻地招商分局在上海的办公点设在哪个区？"
    assert not holds("place", "各招商分局分别在上海、浙江、福建、广东等30余地市开展招商", asked)
    assert holds("place", "项目落户在焦作市山阳区", "焦作那个项目落在哪个区？")
    assert holds("place", "分别在上海、浙江、福建开展招商", "驻地招商分局设在哪些地方？")


def test_a_year_the_documents_do_not_cover_is_answered_in_part(corpus_qa: PolicyQA):
    a = corpus_qa.ask("焦作2016年招商引资签约了多少个项目？")
    assert not a.answered and a.mode == "partial", a.text
    assert a.text.endswith("但资料未写明2016年的情况。") and a.citations


def test_a_quoted_name_no_document_holds_is_refused(corpus_qa: PolicyQA):
    a = corpus_qa.ask("许昌的“招商直通车”是怎么运作的？")
    assert not a.answered and a.mode == "refusal" and "“招商直通车”" in a.text, a.text


def test_a_mechanism_is_answered_with_its_parts(corpus_qa: PolicyQA):
    a = corpus_qa.ask("焦作的“7+X”机制是怎么回事？")
    assert a.answered
    for part in ("成立7个招商小组", "实施“X”主体联动招商", "健全保障机制"):
        assert part in a.text, (part, a.text)
    assert len(a.citations) == 3


def test_answer_to_dict_carries_the_refusal_features(corpus_qa: PolicyQA):
    d = corpus_qa.ask("招商六组的牵头领导是谁？").to_dict()
    assert set(FEATURES) <= set(d["evidence"]) and 0 < d["strength"] <= 1
    assert default_model().probability(d["evidence"]) == pytest.approx(d["strength"], abs=1e-3)


def test_without_vectors_the_answerer_still_answers_from_words(corpus_qa: PolicyQA):
    hits = corpus_qa.search("招商六组的牵头领导是谁？", k=5)
    draft = answer_offline("招商六组的牵头领导是谁？", hits, Library(idf=corpus_qa.index.bm25.idf))
    assert "孙起鹏" in draft.text and draft.citations


# ---------------------------------------------------------------- the same verdict on two indexes

VERDICT_QUESTIONS = (
    "招商六组的牵头领导是谁？",
    "县区一把手一年至少要花多少时间出门招商？",
    "当地怎么防止招来的企业没人管？",
    "焦作的督查激励机制是怎么运作的？",
    "深圳市对新引进企业的招商补贴标准是多少？",
    "蓝鲸计划的牵头单位是哪个？",
    "焦作招商八组的牵头领导是谁？",
    "盘毂动力那个电驱系统智能制造基地总投资是多少？",
)


@pytest.mark.skipif(not REPORTS.exists(), reason="shared/ corpus not present")
def test_the_same_question_gets_the_same_verdict_with_other_documents_indexed(
    corpus_qa: PolicyQA, tmp_path: Path, e5
):
    """corpus/ alone, then corpus/ plus a government work report: the idf of every word moves,
    the verdicts (answer, answer in part, refuse) do not."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    with REPORTS.open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(2)]
    assert json.loads(lines[0])["title"].endswith("政府工作报告")
    (corpus / "reports.jsonl").write_text("".join(lines), encoding="utf-8")
    bigger = PolicyQA(Settings(index_dir=tmp_path / "index"), embeddings=e5)
    assert bigger.ingest([corpus]).ok
    assert len(bigger.documents()) > len(corpus_qa.documents())
    assert bigger.index.bm25.idf("招商") != corpus_qa.index.bm25.idf("招商")
    for q in VERDICT_QUESTIONS:
        a, b = corpus_qa.ask(q), bigger.ask(q)
        assert (a.answered, a.mode) == (b.answered, b.mode), (q, a.mode, b.mode, a.text, b.text)


def test_the_words_naming_the_document_are_not_looked_for_in_its_sentences():
    """ "文章说…", "那份文件里…" pick the document (retrieval reads them); no sentence of it says
    "文章", so the evidence is scored on the rest."""
    assert (
        about("文章说想把引资盘子做大，得有股什么样的劲？")
        == "想把引资盘子做大，得有股什么样的劲？"
    )
    assert (
        about("郑州那份文件里，把拉投资比作经济发展的什么？") == "郑州把拉投资比作经济发展的什么？"
    )
    assert about("新材料产业引进了哪些项目？") == "新材料产业引进了哪些项目？"
    assert about("文章说了什么？") == "文章说了什么？"  # nothing left to score on


def test_a_question_naming_the_kind_of_document_is_answered_from_that_kind():
    """ "那篇评论说…" is not answered from a government work report when an article is among
    the passages; with none of that kind every passage stays."""
    from types import SimpleNamespace

    hits = [SimpleNamespace(kind=k) for k in ("report", "experience_article", "report", "news")]
    q = "那篇评论说企业进门以后的服务各地做得怎么样？"
    assert kind_consistent(q, hits, {0, 1, 2, 3}) == {1, 3}
    assert kind_consistent(q, hits, {0, 2}) == {0, 2}
    assert kind_consistent("企业进门以后的服务做得怎么样？", hits, {0, 1, 2, 3}) == {0, 1, 2, 3}


def test_a_notices_addressees_answer_only_who_received_it(corpus_qa: PolicyQA):
    """The salutation "各县（市）区人民政府，…各有关单位：" is who the notice went to: it is
    quoted for that question and for no other."""
    line = "各县（市）区人民政府，市城乡一体化示范区管委会，市人民政府各部门，各有关单位："
    assert is_addressee_line(line) and is_addressee_line("抄送：市委各部门，郑州警备区。")
    assert not is_addressee_line("市对外开放领导小组办公室、市商务局要发挥牵头抓总作用。")
    a = corpus_qa.ask("焦作“7+X”那份通知下发给了哪些单位？")
    assert a.answered and any("各有关单位" in c.quote for c in a.citations), a.text
    b = corpus_qa.ask("焦作城乡一体化示范区的招商工作怎么开展？")
    assert not any(is_addressee_line(c.quote) for c in b.citations), b.text


def test_a_document_that_names_a_place_by_its_bloc_gives_way_to_that_places_own():
    """ "河北重点支持哪些领域" keeps 河北's own report and leaves out 焦作's article, which names
    河北 only by its bloc ("赴京津冀…招商"); a question naming both places keeps both."""
    from rag.answering.refusal import place_consistent

    hebei = Passage(
        "在新一代信息技术、集成电路、医药健康、新材料、人工智能、现代农业等领域，选择一批转化项目，给予集中支持。",
        title="河北省将落地转化千项京津重大成果",
        region="河北省",
        doc_id="003#2",
    )
    jiaozuo = Passage(
        "市委市政府主要负责同志亲自带队赴京津冀、长三角等重点区域开展招商考察12次。",
        title="破局“内卷式”竞争 开辟“体系化”路径——焦作市精准高效促进新形势下招商良性发展",
        region="河南省焦作市",
        doc_id="000",
    )
    assert place_consistent("河北重点支持哪些领域？", [hebei, jiaozuo]) == {0}
    assert place_consistent("河北重点支持哪些领域？", [jiaozuo]) == {0}  # nothing of 河北's own
    assert place_consistent("焦作去河北招商考察了几次？", [hebei, jiaozuo]) == {0, 1}


def test_the_leader_of_a_groups_record_answers_for_the_duties_the_record_names():
    """ "城市基础设施方面的招商那组是谁负责" names the group by its duties; "牵头领导：闫小杏。" is
    a field of the same record, so the person is there — no "但资料未写明具体人员". A question word
    found only inside another body's name ("城乡" in 市住房和城乡建设局) is no mention of what the
    question asks about: who heads the 城乡一体化示范区管委会 is not said."""
    record = Passage(
        "（四）招商四组。\n牵头领导：闫小杏。\n牵头单位：市住房和城乡建设局。\n"
        "责任单位：市交通运输局、公路局、园林局及市直相关单位，各县（市）区。\n"
        "工作职责：结合分管单位职能，重点负责城市基础设施等分管领域的招商引资工作。",
        section_path="一、成立7个招商小组 › （四）招商四组。",
        title="焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知",
        doc_id="002",
    )
    library = Library(idf=lambda w: 2.0)
    draft = answer_offline("焦作城市基础设施方面的招商那组是谁负责？", [record], library)
    assert draft.verdict == "answer", (draft.verdict, draft.missing, draft.text)
    assert "闫小杏" in draft.text
    draft = answer_offline("焦作城乡一体化示范区管委会现在谁当主任？", [record], library)
    assert draft.verdict != "answer", draft.text
