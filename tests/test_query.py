"""Query normalisation, number forms and synonym expansion for BM25 (rag.retrieval.query)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.retrieval.query import (
    DEFAULT_SYNONYMS_FILE,
    Synonyms,
    expand_for_bm25,
    expand_query,
    load_synonyms,
    normalize_query,
    number_variants,
)
from rag.settings import Settings
from rag.store.bm25 import BM25Index

# --------------------------------------------------------------------------- normalisation


def test_normalize_query_width_space_and_case() -> None:
    assert normalize_query("  焦作　ＡＢＣ  招商政策(２０２０年) ") == "焦作 abc 招商政策（2020年）"
    assert normalize_query("不少于 1/4 时间") == "不少于1/4时间"
    assert normalize_query("二Ｏ二三年\n四月") == "二o二三年 四月"


def test_normalize_query_keeps_chinese_punctuation() -> None:
    q = "县（市、区）一把手“外出”招商，要多少时间？"
    assert normalize_query(q) == q


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("四分之一", "1/4"),
        ("五亿元", "5亿元"),
        ("百分之二十", "20%"),
        ("十五个", "15个"),
        ("两年", "2年"),
        ("二〇二〇年", "2020年"),
        ("二○二○年", "2020年"),
        ("二O二O年", "2020年"),
        ("二o二o年", "2020年"),
    ],
)
def test_number_variants_both_directions(text: str, variant: str) -> None:
    assert number_variants(text) == [variant]
    back = "二〇二〇年" if variant == "2020年" else text
    assert number_variants(variant) == [back]


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("一百二十三个", "123个"),
        ("两千家", "2000家"),
        ("十天", "10天"),
        ("十二项", "12项"),
        ("二十人", "20人"),
        ("一千零五亩", "1005亩"),
        ("一万五千人", "15000人"),
        ("投资五千万元", "5000万元"),
        ("一亿两千万元", "1.2亿元"),
        ("三点五万亿元", "3.5万亿元"),
        ("三十余家", "30余家"),
        ("百分之二十五点五", "25.5%"),
        ("三分之二", "2/3"),
    ],
)
def test_chinese_numerals_to_arabic(text: str, variant: str) -> None:
    assert number_variants(text) == [variant]


def test_arabic_to_chinese() -> None:
    assert number_variants("1005亩") == ["一千零五亩"]
    assert number_variants("30亿元") == ["三十亿元"]
    assert number_variants("3月6日") == ["三月", "六日"]
    assert number_variants("3.5万亿元") == []  # decimals stay as written
    assert number_variants("592.6亿元") == []


@pytest.mark.parametrize(
    "text",
    (
        "一把手 一是 统一 一批 第一 第一批 招商一组 七组 一年 一个项目 "
        "十分重要 万一 千万 老三样 五大弊病 第7期 7+X 2020/3/6 百分之百"
    ).split(),
)
def test_no_false_numbers(text: str) -> None:
    assert number_variants(text) == []


def test_number_variants_skip_what_is_there() -> None:
    assert number_variants("五亿元（5亿元）") == []
    assert number_variants("不少于四分之一时间，投资五亿元") == ["1/4", "5亿元"]


# --------------------------------------------------------------------------- synonyms


def test_synonyms_file_parsing(tmp_path: Path) -> None:
    f = tmp_path / "syn.txt"
    f.write_text(
        "# 注释\n\n一把手 主要负责同志、党政正职  # 行尾注释\n县区、县（市、区） 县市区\n   \n",
        encoding="utf-8",
    )
    syn = load_synonyms(f)
    assert syn.groups == (
        ("一把手", "主要负责同志", "党政正职"),
        ("县区", "县（市、区）", "县市区"),
    )


def test_synonyms_cached_until_file_changes(tmp_path: Path) -> None:
    f = tmp_path / "syn.txt"
    f.write_text("签约 签订协议\n", encoding="utf-8")
    first = load_synonyms(f)
    assert load_synonyms(f) is first
    f.write_text("开工 动工\n", encoding="utf-8")
    os.utime(f, ns=(f.stat().st_mtime_ns + 10**9,) * 2)
    assert load_synonyms(f).groups == (("开工", "动工"),)


def test_expand_yibashou_with_packaged_file() -> None:
    added = load_synonyms().expand("县区一把手要外出招商吗")
    assert {"主要负责同志", "党政正职", "县（市、区）"} <= set(added)
    assert "一把手" not in added


def test_expand_longest_match_and_present_terms() -> None:
    syn = Synonyms([["一把手", "主要负责同志"], ["牵头", "负责"], ["外出", "出门"]])
    # "负责" inside "主要负责同志" is not a match of its own.
    assert syn.expand("主要负责同志外出") == ["一把手", "出门"]
    assert syn.expand("一把手和主要负责同志") == []
    assert syn.expand("谁负责") == ["牵头"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("一把手 主要负责同志\n".encode() + "招商 引资\n".encode("gbk"), "第 2 行不是 UTF-8"),
        ("一把手 主要负责同志\n\n落地\n".encode(), "第 3 行只有一个词"),
        ("县区 县（市、区\n".encode(), "第 1 行括号不配对"),
    ],
)
def test_bad_synonyms_file(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as err:
        load_synonyms(f)
    assert str(f) in str(err.value)


def test_missing_synonyms_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到同义词文件"):
        load_synonyms(tmp_path / "none.txt")


def test_packaged_synonyms_file_is_the_default_setting() -> None:
    syn = load_synonyms(DEFAULT_SYNONYMS_FILE)
    assert len(syn) >= 40
    assert Settings(_env_file=None).synonyms_file.resolve() == DEFAULT_SYNONYMS_FILE


# --------------------------------------------------------------------------- expansion + BM25

QUESTION = "县区一把手一年至少要花多少时间出门招商？"
TARGET = "各县（市、区）党政主要负责同志全年外出实质招商要不少于1/4时间。市委、市政府每双月听取一次汇报。"
CHUNKS = [
    "招商一组。牵头领导：李民生。牵头单位：市发展改革委。重点负责康养、能源、金融产业的招商引资工作。",
    TARGET,
    "县区一把手要高度重视招商工作，招商时间要服从项目需要，一年一度评选十大招商项目。",
    "市财政局要统筹安排开放招商工作经费，专项用于市级层面招商活动，厉行节约，简化形式。",
    "对招商引资重大产业项目引进情况进行量化考核，每年评选出十大重大招商引资项目。",
]


def test_expand_query_reports_added_terms() -> None:
    e = expand_query("一把手外出招商不少于四分之一时间")
    assert e.added[0] == "1/4"
    assert "主要负责同志" in e.added
    assert e.text == " ".join([e.normalized, *e.added])
    assert expand_for_bm25("  ") == ""


def test_expanded_query_finds_the_rule_first() -> None:
    index = BM25Index.build([f"c{i}" for i in range(len(CHUNKS))], CHUNKS, [{} for _ in CHUNKS])
    target = CHUNKS.index(TARGET)

    expanded = index.search(expand_for_bm25(QUESTION), k=5)
    assert expanded[0][0] == target
    assert expanded[0][1] > expanded[1][1]

    plain = index.search(normalize_query(QUESTION), k=5)
    # Without expansion the distractor that shares the staff's words wins.
    assert plain[0][0] != target
    assert [row for row, _ in plain].index(target) > 0
