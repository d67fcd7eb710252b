"""Whole enumerations and named mechanisms, on real sentences of corpus/: the enumeration the
best evidence is an item of comes back whole (across a chunk boundary), a quoted mechanism name
is answered with its own section, not the document's outline, and the sibling sections of a
named part are its items."""

from __future__ import annotations

from rag.answering import Library, answer_offline
from rag.answering.evidence import Scored, Term, numbered, question_terms
from rag.answering.lists import enclosing, enumeration, list_items, mechanism, section_items
from rag.answering.types import asks_procedure
from rag.answering.units import Unit
from rag.service import PolicyQA
from tests.test_answering import Passage

# 003_…#3: the 五大弊病 of the 五改 commentary, verbatim
ILLS_TITLE = "1.招商引资五大弊病"
ILLS = (
    "1.招商引资五大弊病\n当前各地招商引资的环境问题，存在“五大弊病”：\n"
    "一是新官不理旧账。即前任谈的项目，后任不愿跟踪；前任签的合同，后任不抓落实；前任承诺的政策，后任不愿兑现。\n"
    "二是招商不重安商。在“招”的方面下功夫较多，对招进来以后的服务则重视不够。\n"
    "三是寻租不讲服务。少数部门门难进、脸难看、事难办现象仍然存在，乱收费、乱摊派、乱罚款的行为仍然屡禁不止。\n"
    "四是竞争机制不强。一些地方不善于利用市场办法和竞争手段，导致好的资源被对方垄断，影响地方的发展。\n"
    "五是土地管理不严。有些地方招来的企业圈了地，长期不开发，导致一边是土地闲置、成片抛荒，一边是土地紧张、无地招商。"
)
# 003_…#3: the 五改 themselves, verbatim
REFORMS = (
    "2.招商引资要做好“五改”\n针对招商引资工作的现状和不足，改进招商引资要在“五改”上下功夫。这“五改”是："
    "一要改坐等上门为主动引资。要扩大招商引资规模，必须继续发扬主动、积极、进取的精神。\n"
    "二要改“你出资我获利”为“双方互利共赢”。只有互利共赢，才能吸引包括外资、社会资金在内的各类资金来投资。"
    "三要改“单纯管理”为“管理加服务”。要把搞好服务放在招商引资的重要位置，树立服务至上的理念，增强服务意识，"
    "提高服务水平。\n四要改“全民招商”为“专业招商”。提高招商引资的水平，必须培养一批专业型人才，开展专业招商，"
    "使招商引资工作走专业化、规范化的路子。\n五要改“兼收并蓄”为“择优引资”。要把宝贵的土地资源、项目指标提供给"
    "符合产业政策和环保政策，技术含量高、成长性强、经济效益好的企业和项目，坚决杜绝引进那些不符合产业政策，"
    "高能耗、高污染、效益差的项目。"
)
# 002_…: the 焦作 “7+X” notice, its title and part headings verbatim
NOTICE = "焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知"
X_PARTS = {
    "（一）各县（市）区": "（一）各县（市）区。各县（市）区及其产业集聚区、高新技术产业开发区、经济技术开发区、"
    "服务业“两区”作为招商引资的主战场、主阵地、主引擎，要切实强化责任意识，充分发挥主体作用，积极主动地开展"
    "多形式、高频度的招商活动。",
    "（二）市直有关单位": "（二）市直有关单位。市发展改革委、工业和信息化局、商务局、科技局等相关职能部门，"
    "要结合自身职能、资源优势积极开展自主招商活动和服务保障工作。",
    "（三）相关组织机构": "（三）相关组织机构。由市、县主管部门牵头发动组织，充分发挥各类投融资平台、各金融机构、"
    "各行业协会、各商会、各企业的招商引资功能，通过以企引企、以商招商等多种形式，形成引进一个、建好一个、"
    "带动一批的“乘法效应”。",
}
TOP = ["一、成立7个招商小组", "二、实施“X”主体联动招商", "三、健全保障机制"]
TOP_TEXT = [
    "一、成立7个招商小组\n由7位市政府副市长牵头负责，按照各自分管产业及领域成立7个招商小组。",
    X_PARTS["（一）各县（市）区"],
    "（一）高层调度机制。各招商小组牵头领导要亲力亲为，各相关单位要真抓实干，开展产业精准招商。",
]


def _at(hit_index: int, passage: Passage, sentence: str) -> Scored:
    return Scored(Unit(hit_index, passage.text.index(sentence), sentence, ""), 1.0, 1.0, 0.0, 1.0)


# ---------------------------------------------------------------- the enumeration around an item


def test_a_five_item_enumeration_comes_back_whole_from_its_third_item():
    """The best evidence is item three; the answer is the lead-in and all five items, items
    four and five read on from the next chunk of the section and cited to it."""
    cut = ILLS.index("四是")
    first = Passage(ILLS[:cut], ILLS_TITLE)
    second = Passage(ILLS[cut:], ILLS_TITLE, chunk_id="003#3::a-1", ordinal=1)
    hits = [first]
    best = _at(0, first, "三是寻租不讲服务。")
    terms = question_terms("寻租不讲服务怎么办？", lambda w: 2.0)
    got = enclosing(best, hits, terms, lambda h: second if h is first else None, 900)
    assert got[0].text == "当前各地招商引资的环境问题，存在“五大弊病”："  # the lead-in
    heads = [s.text[:2] for s in got[1:] if s.text[:2].endswith("是")]
    assert heads == ["一是", "二是", "三是", "四是", "五是"], [s.text for s in got]
    assert hits[1] is second and {s.hit_index for s in got if s.text.startswith("五是")} == {1}
    # whole items fit the budget: "圈了地" (item five's second sentence) is quoted too
    assert any("圈了地" in s.text for s in got)


def test_a_tight_budget_keeps_each_items_first_sentence_and_never_cuts_one():
    first = Passage(ILLS, ILLS_TITLE)
    best = _at(0, first, "三是寻租不讲服务。")
    got = enclosing(best, [first], question_terms("寻租怎么办？", lambda w: 2.0), None, 200)
    texts = [s.text for s in got]
    assert sum(map(len, texts)) <= 200 and all(t in ILLS for t in texts)
    assert "一是新官不理旧账。" in texts and "五是土地管理不严。" in texts
    # the best unit's own item is whole while it fits
    assert (
        "少数部门门难进、脸难看、事难办现象仍然存在，乱收费、乱摊派、乱罚款的行为仍然屡禁不止。"
        in texts
    )


# 000_…: the 焦作 article's part two, verbatim (items inline in one paragraph)
MODES = (
    "二、强化方式转变，拓展招商新空间。突破传统路径依赖，积极探索多元化、开放式招商新模式，促进招商有的放矢、灵活高效。"
    "一是精准化招商。建立项目线索筛选机制，围绕产业重点，瞄准目标企业和项目加大招引力度。今年以来，共收集全市招商"
    "项目线索892条，通过筛选报市政府确定重点项目31个，厦门海翼、奇瑞汽车、中科北龙、中科星桥等一批重点项目加快推进。"
    "二是平台化招商。创新推行“飞地招商”、“大员招商”、“政府+平台+企业”招商等模式，建立“产业主管部门+商务部门+"
    "要素保障部门+县（市、区）”联动协同产业招商机制，与上海产业合作促进中心签订委托招商服务协议，提升资源链接能力。"
    "三是“数字化”招商。顺应数字经济发展趋势，谋划搭建“焦作市智慧招商数字一体化平台”，运用大数据对目标企业进行"
    "多维度精准画像和投资意向分析，实现招商资源的智能匹配和定向推送，并推广“云招商”“云洽谈”模式，构建高效、"
    "便捷招商新渠道。"
)


def test_a_short_item_head_keeps_the_sentence_that_explains_it():
    """Too long to quote whole: each item's head "一是精准化招商。" with the sentence after it."""
    passage = Passage(
        MODES, "二、强化方式转变，拓展招商新空间", title="破局“内卷式”竞争", doc_id="000"
    )
    best = _at(0, passage, "三是“数字化”招商。")
    got = [s.text for s in enclosing(best, [passage], [], None, 330)]
    assert sum(map(len, got)) <= 330
    assert (
        got[0] == "突破传统路径依赖，积极探索多元化、开放式招商新模式，促进招商有的放矢、灵活高效。"
    )
    assert (
        "一是精准化招商。" in got
        and "建立项目线索筛选机制，围绕产业重点，瞄准目标企业和项目加大招引力度。" in got
    )
    assert "二是平台化招商。" in got and "三是“数字化”招商。" in got
    assert not any("厦门海翼" in t for t in got)  # an item's third sentence is left out


def test_a_sentence_outside_any_enumeration_is_left_alone():
    first = Passage(ILLS, ILLS_TITLE)
    lone = Passage("招商引资作为经济工作的生命线和第一抓手，正面临着前所未有的范式革命。")
    best = _at(0, lone, "招商引资作为经济工作的生命线和第一抓手，正面临着前所未有的范式革命。")
    assert enclosing(best, [lone], [], None, 900) == []
    assert list_items(first.text, first.section_path)  # while the list passage has items


def test_step_markers_make_items():
    text = "办理流程如下：第一步，提交申请材料。第二步，窗口受理审核。第三步，领取结果。"
    assert [t[:3] for _, t in list_items(text)] == ["第一步", "第二步", "第三步"]


def test_procedure_questions():
    assert asks_procedure("参保人员异地就医网上备案流程")
    assert asks_procedure("申请补贴应符合哪些条件？") and asks_procedure("这件事怎么办理？")
    assert not asks_procedure("招商六组的牵头领导是谁？")


def test_a_how_to_question_gets_the_whole_enumeration_not_one_item():
    """ "培养专业型人才该怎么做" finds its words in item four of the 五改; the reader gets the
    lead-in and all five (item four whole), each quoted verbatim."""
    passage = Passage(REFORMS, "2.招商引资要做好“五改”")
    draft = answer_offline("培养专业型人才该怎么做？", [passage], Library(idf=lambda w: 2.0))
    assert "这“五改”是：" in draft.text, draft.text
    for head in ("一要改", "二要改", "三要改", "四要改", "五要改"):
        assert head in draft.text, draft.text
    assert "必须培养一批专业型人才" in draft.text
    assert all(c.quote in REFORMS for c in draft.citations)


def test_a_quoted_item_name_keeps_the_answer_to_that_item():
    passage = Passage(REFORMS, "2.招商引资要做好“五改”")
    draft = answer_offline(
        "“管理加服务”这一改具体要怎么做？", [passage], Library(idf=lambda w: 2.0)
    )
    assert "三要改“单纯管理”为“管理加服务”" in draft.text and "一要改" not in draft.text, draft.text


# ---------------------------------------------------------------- named mechanisms


def _notice_library():
    """The notice's outline (first chunk of each top-level part) and the family of a part."""
    parts = [
        Passage(t, p, title=NOTICE, doc_id="002", chunk_id=f"002::{i}", ordinal=i)
        for i, (p, t) in enumerate(zip(TOP, TOP_TEXT, strict=True))
    ]
    children = [
        Passage(t, f"{TOP[1]} › {p}", title=NOTICE, doc_id="002", chunk_id=f"002::x{i}")
        for i, (p, t) in enumerate(X_PARTS.items())
    ]

    def family(hit):
        own = hit.section_path
        if own == TOP[1]:
            return children
        if own.startswith(TOP[1] + " › "):
            return children
        return []

    return parts, children, family


def test_a_quoted_mechanism_name_is_answered_with_its_own_section():
    """ "“X”主体联动招商" is the heading of part 二, not the title's “7+X”: its sub-sections."""
    parts, children, family = _notice_library()
    question = "“X”主体联动招商具体是怎么安排的？"
    hits = [children[0]]
    best = _at(0, children[0], X_PARTS["（一）各县（市）区"].split("。")[1] + "。")
    got = mechanism(
        question,
        hits,
        best,
        question_terms(question, lambda w: 2.0),
        lambda h: parts,
        family=family,
    )
    text = "".join(s.text for s in got)
    for head in ("（一）各县（市）区", "（二）市直有关单位", "（三）相关组织机构"):
        assert head in text, text
    assert "成立7个招商小组" not in text and "高层调度机制" not in text
    # the title's own name still gets the whole document's parts
    whole = mechanism(
        "“7+X”机制是怎么回事？",
        [children[0]],
        best,
        question_terms("“7+X”机制是怎么回事？", lambda w: 2.0),
        lambda h: parts,
        family=family,
    )
    assert len(whole) == 3 and "成立7个招商小组" in whole[0].text


def test_a_quoted_name_defined_in_a_sentence_is_not_answered_with_the_outline():
    """004_…: “四个一” is defined in one sentence of the 郑州 opinion, named in no heading and
    not in the title: the outline is no answer (the defining sentence is)."""
    title = "郑州市人民政府关于进一步加强招商引资工作的意见"
    heads = [
        "一、提高认识，把招商引资作为经济工作的重中之重",
        "二、项目带动，实现招商引资转型发展",
        "三、项目化推进，促进招商引资提质增效",
    ]
    parts = [
        Passage(
            f"{h}\n坚持项目化推进招商引资工作。", h, title=title, doc_id="004", chunk_id=f"004::{i}"
        )
        for i, h in enumerate(heads)
    ]
    sentence = (
        "实行一个重点项目、一个行动计划、一支工作团队、一套招商专案的“四个一”招商工作推进机制。"
    )
    hit = Passage(
        "二是统筹招商活动开展。" + sentence,
        "三、项目化推进，促进招商引资提质增效 › （一）突出项目统筹 › 二是统筹招商活动开展",
        title=title,
        doc_id="004",
        chunk_id="004::13",
    )
    question = "郑州的“四个一”招商工作推进机制是什么？"
    terms = question_terms(question, lambda w: 2.0)
    assert mechanism(question, [hit], _at(0, hit, sentence), terms, lambda h: parts) == []


def test_the_siblings_of_a_named_part_are_its_items():
    """ "除了各县（市）区，还包括哪两类主体": the parent heading "二、实施“X”主体联动招商" carries
    主体 and 联动, together as heavy as the rarest word 县（市）区 the question also names."""
    _, children, family = _notice_library()
    # the question's terms as the index of corpus/ weighs them (idf): 县（市）区 is the rarest
    terms = [
        Term("县（市）区", (), 5.23),
        Term("主体", (), 2.52),
        Term("联动", (), 2.39),
        Term("两类", (), 5.23),
        Term("主体联动", (), 1.2),
        Term("招商", (), 0.5),
    ]
    hits = [children[0]]
    best = _at(0, children[0], X_PARTS["（一）各县（市）区"].split("。")[1] + "。")
    got = section_items(hits, best, terms, family)
    text = "".join(s.text for s in got)
    assert "（二）市直有关单位" in text and "（三）相关组织机构" in text, text


def test_a_quoted_part_of_a_mechanism_is_answered_with_its_section(corpus_qa: PolicyQA):
    """The question names the title's “7+X” too: the part “X” heads is the answer, not the
    notice's three parts."""
    a = corpus_qa.ask("“7+X”机制中的“X”主体联动招商是怎么运作的？")
    assert a.answered, a.text
    for part in ("各县（市）区", "市直有关单位", "相关组织机构"):
        assert part in a.text, (part, a.text)
    assert "健全保障机制" not in a.text


def test_a_list_noun_that_names_nothing_in_particular_is_no_noun():
    from rag.answering.lists import list_noun

    assert list_noun("新材料产业链招引了哪些项目？") == "项目"
    assert list_noun("“五大弊病”有哪些？") == "五大弊病"
    assert list_noun("郑州要抓的重点产业都有哪些？") == "重点产业"
    assert list_noun("“五改”里头那些要被改掉的老做法都有哪些？") == ""


def test_a_list_written_as_one_sentence_of_semicolon_parts_is_quoted_whole():

    text = (
        "汛前准备包括：建立健全迎汛指挥组织机构；组建并培训迎汛抢险队伍；储备必要的迎汛抢险物资；"
        "制定、修订各项防洪预案；开展汛前检查和查险除险。\n汛期要加强值守。"
    )
    hit = Passage(text, "", title="应急局答复", doc_id="faq", chunk_id="faq::0")
    draft = answer_offline("汛前准备都包括哪些内容？", [hit], Library(idf=lambda w: 2.0))
    for part in ("建立健全迎汛指挥组织机构", "储备必要的迎汛抢险物资", "开展汛前检查和查险除险"):
        assert part in draft.text, draft.text
    assert "值守" not in draft.text


def test_items_numbered_after_a_bracketed_title_are_items():
    text = "【路遇消防车怎么办】1、后方有消防车发出警号，应尽快避让。2、避让后可以鸣喇叭提示前车。3、发现起火后应及时将车辆移开。"
    assert [t[:2] for _, t in list_items(text)] == ["1、", "2、", "3、"]


def test_a_how_question_reads_on_over_the_paragraphs_that_follow():
    from rag.answering import asks_how

    assert asks_how("普通人应该如何预防禽流感？") and asks_how("这个手续怎么办理？")
    assert not asks_how("招商六组的牵头领导是谁？")
    text = (
        "预防禽流感要注意饮食卫生，禽肉和蛋类要煮熟煮透。\n"
        "尽量避免接触活禽，不去活禽市场。\n"
        "出现发热、咳嗽等症状时应及时就医，并主动告知接触史。"
    )
    hit = Passage(text, "", title="卫生健康委答复", doc_id="faq", chunk_id="faq::0")
    draft = answer_offline("普通人应该如何预防禽流感？", [hit], Library(idf=lambda w: 2.0))
    assert "煮熟煮透" in draft.text and "活禽市场" in draft.text and "及时就医" in draft.text


def test_a_list_called_by_another_name_is_found_by_its_count():
    """The question says 毛病 where the lead-in says 弊病: the five items are still the answer,
    because the lead-in counts five as the question does; a count that differs is no match."""
    hit = Passage(ILLS, ILLS_TITLE)
    draft = answer_offline("招商环境那五个毛病都有哪些？", [hit], Library(idf=lambda w: 2.0))
    assert draft.verdict == "answer", draft.text
    for head in ("新官不理旧账", "招商不重安商", "寻租不讲服务", "竞争机制不强", "土地管理不严"):
        assert head in draft.text, (head, draft.text)
    terms = question_terms("招商环境那三个毛病都有哪些？", lambda w: 2.0)
    best = _at(0, hit, "一是新官不理旧账。")
    assert enumeration("招商环境那三个毛病都有哪些？", [hit], [best], terms, None) == []


def test_a_numbered_item_is_answered_with_that_item_even_in_a_follow_up():
    """ "排第二的一条" asks item 2 — not item 1, which the question it follows (carried in
    brackets by the rewriter) asked for."""
    hit = Passage(REFORMS, "2.招商引资要做好“五改”")
    draft = answer_offline(
        "排第二的一条讲的是啥？（改进招商的五处改进，第一条是啥）",
        [hit],
        Library(idf=lambda w: 2.0),
    )
    assert "二要改“你出资我获利”为“双方互利共赢”" in draft.text, draft.text
    assert "一要改坐等上门" not in draft.text and "三要改" not in draft.text
    assert numbered("第四改讲的是什么？") == 4 and numbered("排第二的那一条呢？") == 2
    assert numbered("一共有几条？（第一条是啥）") is None


def test_a_question_for_the_purpose_is_answered_with_the_statement_of_purpose():
    """ "当初为啥要搞" wants the notice's own "为进一步加强…" — the sentence other questions
    must not be answered with, as it summarises the whole notice."""
    part = Passage(
        "（五）督查激励机制。将“7+X”招商工作纳入市委、市政府中心工作督查事项，力促签约项目早落地。"
        "年底，市委、市政府将对完成情况好的单位和干部在评先表彰、选拔任用等方面予以鼓励激励。"
        "各招商小组要加强统筹协调，研究制定实施本组年度招商引资行动计划。",
        section_path="三、健全保障机制 › （五）督查激励机制",
        title=NOTICE,
        doc_id="002",
        chunk_id="002::a-1",
    )
    opening = Passage(
        "为进一步加强组织领导，深入开展精准招商，切实形成全员招商合力，经市政府研究同意，"
        "决定建立焦作市“7+X”招商引资工作机制。",
        title=NOTICE,
        doc_id="002",
        chunk_id="002::a-0",
        rank=2,
        dense_rank=2,
        bm25_rank=2,
    )
    library = Library(idf=lambda w: 2.0)
    draft = answer_offline("焦作“7+X”机制当初为啥要搞？", [part, opening], library)
    assert "深入开展精准招商" in draft.text, draft.text
    draft = answer_offline("焦作“7+X”机制年底怎么激励？", [part, opening], library)
    assert "为进一步加强组织领导" not in draft.text, draft.text


def test_an_asked_item_that_runs_into_the_next_chunk_is_read_on_there():
    """The chunker ended a chunk right after "四是实施闭环服务。": the item's sentences are in the
    next chunk of the section, up to the next item, and follow its head in the answer."""
    head = Passage(
        "三是优化资源配置。通过盘活存量资产，推动建立城区闲置厂房、楼宇、土地等资源信息库。四是实施闭环服务。",
        section_path="三、强化要素保障，构筑发展新优势",
        title="焦作市精准高效促进新形势下招商良性发展",
        doc_id="000",
        chunk_id="000::a-0",
        rank=2,
    )
    rest = Passage(
        "激发政府行为内生动力，实现项目从对接、洽谈、签约、落地、投产全周期闭环服务机制。"
        "五是强化队伍建设。成立各级招商引资服务中心。",
        section_path="三、强化要素保障，构筑发展新优势",
        title="焦作市精准高效促进新形势下招商良性发展",
        doc_id="000",
        chunk_id="000::a-1",
    )
    library = Library(idf=lambda w: 2.0, following=lambda h: rest if h is head else None)
    draft = answer_offline("焦作的闭环服务要经过哪几个环节？", [head], library)
    assert "四是实施闭环服务。" in draft.text, draft.text
    assert "从对接、洽谈、签约、落地、投产" in draft.text, draft.text
    assert draft.text.index("四是实施闭环服务") < draft.text.index("从对接")
    assert "五是强化队伍建设" not in draft.text


def test_the_lead_in_that_best_answers_opens_the_items_it_introduces():
    """ "新的招商打法想弄成什么样" is answered by the sentence before "一是…二是…三是…"; the items
    follow it instead of replacing it."""
    part = Passage(
        "突破传统路径依赖，积极探索多元化、开放式招商新模式，促进招商有的放矢、灵活高效。"
        "一是精准化招商。建立项目线索筛选机制。二是平台化招商。创新推行“飞地招商”等模式。"
        "三是“数字化”招商。谋划搭建智慧招商数字一体化平台。",
        section_path="二、强化方式转变，拓展招商新空间",
        title="焦作市精准高效促进新形势下招商良性发展",
        doc_id="000",
    )
    draft = answer_offline(
        "焦作要突破传统路径依赖，招商新模式是什么样的做法？", [part], Library(idf=lambda w: 2.0)
    )
    assert "多元化、开放式" in draft.text, draft.text
    assert "一是精准化招商" in draft.text, draft.text
    assert draft.text.index("多元化") < draft.text.index("一是精准化招商")
