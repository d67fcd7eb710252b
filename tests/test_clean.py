"""Cleaning rules on before/after examples taken from the seed documents."""

from ingest.clean import (
    clean_to_paragraphs,
    dedouble_line,
    dedouble_lines,
    drop_licence_footer,
    is_page_number,
    normalize_text,
)
from ingest.records import Line


def paras(text: str) -> list[str]:
    return [p.text for p in clean_to_paragraphs([Line(t) for t in text.split("\n")])]


def test_dedouble_fake_bold_line_from_seed_003():
    doubled = "在当下招商引资过程中在当下招商引资过程中，，还还"
    assert dedouble_line(doubled) == "在当下招商引资过程中，还"
    assert dedouble_line("题题，，存在存在““五大弊病五大弊病””：：") == "题，存在“五大弊病”："


def test_dedouble_is_exact_inverse_on_constructed_text():
    original = [
        "一是新官不理旧账。即前任",
        "谈的项目，后任不愿跟踪；前任签",
        "发",
        "的合同，“后任”不抓落实。",
    ]

    def double(
        line: str,
    ) -> str:  # how fake-bold extraction prints text: runs twice, punctuation per char
        out, run = "", ""
        for ch in line:
            if ch in "，。；“”":
                out += run * 2 + ch * 2
                run = ""
            else:
                run += ch
        return out + run * 2

    doubled = [Line(double(t)) for t in original]
    assert [ln.text for ln in dedouble_lines(doubled)] == original


def test_dedouble_leaves_normal_reduplication_alone():
    for normal in [
        "谢谢",
        "常常",
        "人人",
        "谢谢大家的支持，人人有责，常常检查。",
        "天天向上天天向上"[:4],
    ]:
        assert [
            ln.text for ln in dedouble_lines([Line("正常的一行文字，没有重复。"), Line(normal)])
        ][1] == normal


def test_join_hard_wraps_and_page_breaks_without_space():
    # seed 000: every line of a narrow column is followed by a blank line, pages by three
    raw = (
        "近年来，面对招商引资领域日益凸显的同质竞争加剧、政\n\n"
        "策比拼恶性循环、资源效益边际递减等“内卷化”倾向，焦作市\n\n\n\n"
        "积极探索转型路径，坚决摒弃依靠税收、土地、资金“老三样”\n\n"
        "的传统招商模式，转向以机制创新、模式优化和环境提升为核\n\n"
        "心的精准招商新体系。\n\n"
        "一、强化顶层设计，明确招引新方向。突出目标导向和产\n\n"
        "业链思维。"
    )
    assert paras(raw) == [
        "近年来，面对招商引资领域日益凸显的同质竞争加剧、政策比拼恶性循环、资源效益边际递减等"
        "“内卷化”倾向，焦作市积极探索转型路径，坚决摒弃依靠税收、土地、资金“老三样”的传统招商模式，"
        "转向以机制创新、模式优化和环境提升为核心的精准招商新体系。",
        "一、强化顶层设计，明确招引新方向。突出目标导向和产业链思维。",
    ]


def test_join_word_split_by_page_break_in_paragraph_per_line_text():
    out = paras(
        "责任单位：市水利局、林业局、农机局、供销社、粮食和物\n\n资储备局、发展改革委。\n\n工作职责：结合分管单位职能。"
    )
    assert out == [
        "责任单位：市水利局、林业局、农机局、供销社、粮食和物资储备局、发展改革委。",
        "工作职责：结合分管单位职能。",
    ]


def test_real_paragraph_breaks_and_headings_kept():
    out = paras(
        "一、成立7个招商小组\n\n由7位市政府副市长牵头负责，按照各自分管产业及领域成立7个招商小组。\n\n（一）招商一组。"
    )
    assert out == [
        "一、成立7个招商小组",
        "由7位市政府副市长牵头负责，按照各自分管产业及领域成立7个招商小组。",
        "（一）招商一组。",
    ]


def test_normalize_width_and_spacing():
    assert (
        normalize_text("编者按：8 月 22 日，人民日报 13 版刊发了一篇关于招商引资的文章")
        == "编者按：8月22日，人民日报13版刊发了一篇关于招商引资的文章"
    )
    assert (
        normalize_text("招商引资作为地方发展的“先行军”,已经成为经济发展重要的衡量标准")
        == "招商引资作为地方发展的“先行军”，已经成为经济发展重要的衡量标准"
    )
    assert normalize_text("二Ｏ二三年四月十五日") == "二O二三年四月十五日"
    assert normalize_text("内 部 资 料") == "内部资料"
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text("TELSA-3000 磁疗设备") == "TELSA-3000磁疗设备"


def test_page_numbers():
    assert is_page_number("- 3 -") and is_page_number("第 3 页") and is_page_number("12")
    assert not is_page_number("2018年2月13日") and not is_page_number("1.招商引资")


def test_wikisource_licence_footer_is_cut():
    body = [Line(f"第{i}段正文内容。" * 20, None) for i in range(20)]
    footer = [
        Line(t, None)
        for t in ("", "本作品是中华人民共和国的", "法律", "、", "法规", "Public domain", "false")
    ]
    out = drop_licence_footer(body + footer)
    assert [ln.text for ln in out] == [ln.text for ln in body] + [""]
    early = [Line("本作品来自中华人民共和国全国人民代表大会的决议。", None)] + body
    assert drop_licence_footer(early) == early  # a quotation in the body stays
