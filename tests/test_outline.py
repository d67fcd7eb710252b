"""The outline parser and chunker on all five seed documents (with the catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunk import chunk_document
from ingest.documents import read_documents
from ingest.metadata import extract_doc_number, load_catalog, parse_date
from ingest.outline import heading_rank, heading_text

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def seed_docs():
    catalog = load_catalog(CORPUS / "catalog.csv")
    docs = {}
    for f in sorted(CORPUS.glob("*.txt")):
        for d in read_documents(f, catalog, 50_000_000)[0]:
            docs[d.doc_id] = d
    return docs


def paths(doc) -> set[str]:
    return {c.section_path for c in chunk_document(doc)}


def test_file_003_is_split_into_its_three_articles(seed_docs):
    titles = {k: d.meta.title for k, d in seed_docs.items() if k.startswith("003")}
    assert titles == {
        "003_a009df9952209ef4#1": "瞄准新兴产业 汝州致力创造招商奇迹",
        "003_a009df9952209ef4#2": "河北省将落地转化千项京津重大成果",
        "003_a009df9952209ef4#3": "招商引资要在“五改”上下功夫",
    }
    # headlines printed away from their article are not body text anywhere
    for d in seed_docs.values():
        if d.doc_id.startswith("003"):
            assert "瞄准新兴产业 汝州致力创造招商奇迹" not in d.text
    assert seed_docs["003_a009df9952209ef4#2"].text.startswith("近日，河北省科技厅发布消息")


def test_seed_002_sections(seed_docs):
    p = paths(seed_docs["002_b5bc0298a6f5538a"])
    for n in "一二三四五六七":
        assert f"一、成立7个招商小组 › （{n}）招商{n}组" in p
    assert "三、健全保障机制 › （三）信息联络机制" in p  # despite the stray "市。" glued before it
    assert "二、实施“X”主体联动招商 › （一）各县（市）区" in p


def test_seed_004_sections_three_levels(seed_docs):
    p = paths(seed_docs["004_13bb312893c2451b"])
    assert (
        "三、项目化推进，促进招商引资提质增效 › （二）狠抓项目推进 › 二是从过程上狠抓项目推进，重点是主要领导重视参与"
        in p
    )
    assert (
        "一、提高认识，把招商引资作为经济工作的重中之重 › （一）大力抢抓建设国家中心城市历史机遇"
        in p
    )


def test_seed_001_numbered_items_under_chinese_numerals(seed_docs):
    p = paths(seed_docs["001_455e2c328f5fbc5c"])
    assert "一、招商引资需要重塑思维重构体系重振能力 › 1.招商思维要“重塑”" in p
    assert "三、积极培育招商新支点 › 1.探索“基金招商”新模式" in p


def test_seed_000_sections(seed_docs):
    p = paths(seed_docs["000_9d2077c1412aaefe"])
    assert {
        "一、强化顶层设计，明确招引新方向",
        "二、强化方式转变，拓展招商新空间",
        "三、强化要素保障，构筑发展新优势",
    } <= p


def test_seed_003_subtitles_and_list_kept_together(seed_docs):
    assert "驻地招商 主攻十大重点领域" in paths(seed_docs["003_a009df9952209ef4#1"])
    chunks = chunk_document(seed_docs["003_a009df9952209ef4#3"])
    evils = [c for c in chunks if c.section_path == "1.招商引资五大弊病"]
    assert len(evils) == 1
    for item in ("新官不理旧账", "招商不重安商", "寻租不讲服务", "竞争机制不强", "土地管理不严"):
        assert item in evils[0].text


def test_no_chunk_has_doubled_punctuation_and_all_under_cap(seed_docs):
    for d in seed_docs.values():
        for c in chunk_document(d, chunk_size=600):
            assert len(c.text) <= 600
            for bad in ("，，", "。。", "、、", "““", "还还"):
                assert bad not in c.text, (c.chunk_id, bad)


def test_chunk_ids_are_stable_and_unique(seed_docs):
    d = seed_docs["002_b5bc0298a6f5538a"]
    a, b = chunk_document(d), chunk_document(d)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.chunk_id for c in a}) == len(a)
    assert all(c.chunk_id.startswith("002_b5bc0298a6f5538a::") for c in a)


def test_metadata_extracted_without_catalog():
    docs = {}
    for f in sorted(CORPUS.glob("*.txt")):
        for d in read_documents(f, {}, 50_000_000)[0]:
            docs[d.doc_id] = d
    m2 = docs["002_b5bc0298a6f5538a"].meta
    assert m2.doc_number == "焦政办〔2020〕9号"
    assert m2.title == "焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知"
    assert m2.issuer == "焦作市人民政府办公室" and m2.date == "2020-03-06" and m2.region == "焦作市"
    assert m2.kind == "policy_notice"
    m4 = docs["004_13bb312893c2451b"].meta
    assert (m4.doc_number, m4.title, m4.issuer, m4.date) == (
        "郑政〔2018〕15号",
        "郑州市人民政府关于进一步加强招商引资工作的意见",
        "郑州市人民政府",
        "2018-02-13",
    )
    m1 = docs["001_455e2c328f5fbc5c"].meta
    assert m1.date == "2023-04-15" and m1.title == "创新招商思维 创出引资新路"
    assert m1.region == "许昌市"


def test_doc_number_and_date_parsing():
    assert extract_doc_number("焦政办［2020］9号") == "焦政办〔2020〕9号"
    assert extract_doc_number("郑政〔2018〕15号") == "郑政〔2018〕15号"
    assert parse_date("2020年3月6日印发") == "2020-03-06"
    assert parse_date("二O二三年四月十五日") == "2023-04-15"
    assert parse_date("二〇二一年十二月三十一日") == "2021-12-31"


def test_heading_forms():
    assert heading_rank("第三章 总则") == 1.0
    assert heading_rank("第十二条 本办法自发布之日起施行。") == 3.0
    assert heading_rank("（1）项目审批") == 6.0
    assert heading_rank("## 招商政策") == 0.2
    assert heading_rank("2018年2月13日") is None
    assert heading_rank("1.5亿元的项目") is None
    assert (
        heading_text("（一）各县（市）区。各县（市）区及其产业集聚区作为主战场")
        == "（一）各县（市）区"
    )
