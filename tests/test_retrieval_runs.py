"""The hybrid search's extra runs on small real corpora (real e5, real Chroma, real BM25):
a place or issuer the question names lifts that document over another city's notice on the
same subject, a title match ranks a document, a sentence hit votes for its chunk, the soft
preference never empties the results; and the fusion functions on worked examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.metadata import extract_region
from rag.retrieval.retrieve import Filters, HybridRetriever, kind_mask, named_mask, year_mask
from rag.retrieval.runs import (
    combsum,
    fuse,
    named_issuers,
    named_kinds,
    named_places,
    named_years,
    rrf,
    sentence_run,
)
from rag.service import PolicyQA
from rag.settings import Settings
from rag.store.embeddings import E5Embeddings

# Two cities' notices on the same subject; the other city's body says more of the question's
# words, so without the place preference it would come first.
NOTICES = {
    "qingdao_hq.txt": (
        "青岛市人民政府办公厅\n关于支持总部企业发展的若干措施\n青政办发〔2021〕7号\n"
        "一、总部企业落户奖励。对新落户的总部企业，按其实缴注册资本给予落户奖励，"
        "总部企业落户奖励最高1000万元。总部企业落户后，给予办公用房奖励。\n"
        "二、总部企业人才奖励。对总部企业高级管理人员给予奖励。\n"
        "青岛市人民政府办公厅\n2021年3月1日\n"
    ),
    "jinan_hq.txt": (
        "济南市人民政府办公厅\n关于促进总部经济高质量发展的实施意见\n济政办发〔2021〕12号\n"
        "一、新引进的总部企业，给予一次性奖励最高2000万元。\n"
        "二、对企业购置自用办公用房的，按购房价款给予补助。\n"
        "济南市人民政府办公厅\n2021年5月6日\n"
    ),
    "harbor.txt": (
        "烟台市交通运输局\n关于港口集疏运体系建设的通知\n烟交发〔2022〕3号\n"
        "一、加快港口集疏运通道建设，推进铁路专用线进港。\n"
        "二、完善港区道路网络，提升货物周转效率。\n"
        "烟台市交通运输局\n2022年4月2日\n"
    ),
}


def _ingested(
    tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings, name: str, files: dict[str, str]
) -> PolicyQA:
    """A fresh index of ``files`` (name → text), written as a corpus folder and ingested."""
    base = tmp_path_factory.mktemp(name)
    corpus = base / "corpus"
    corpus.mkdir()
    for file, text in files.items():
        (corpus / file).write_text(text, encoding="utf-8")
    qa = PolicyQA(Settings(index_dir=base / "index"), embeddings=e5)
    assert qa.ingest([corpus]).ok
    return qa


@pytest.fixture(scope="module")
def notices_qa(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    return _ingested(tmp_path_factory, e5, "notices", NOTICES)


def _retriever(qa: PolicyQA, **weights: float) -> HybridRetriever:
    st = qa.settings
    base = {
        "dense_weight": st.dense_weight,
        "bm25_weight": st.bm25_weight,
        "fields_weight": st.fields_weight,
        "place_weight": st.place_weight,
        "year_weight": st.year_weight,
        "kind_weight": st.kind_weight,
        "sentence_weight": st.sentence_weight,
    }
    return HybridRetriever(
        index=qa.index, k=3, rrf_k=st.rrf_k, fusion=st.fusion, **(base | weights)
    )


def _docs(qa: PolicyQA, query: str, **weights: float) -> list[str]:
    return [d.metadata["doc_id"] for d in _retriever(qa, **weights).invoke(query)]


def test_a_named_place_lifts_its_document_over_another_citys_notice(notices_qa: PolicyQA):
    q = "济南市对总部企业落户有什么奖励"
    words = _docs(notices_qa, q, dense_weight=0, fields_weight=0, place_weight=0, sentence_weight=0)
    assert words[0] == "qingdao_hq"  # the other city's notice says more of the question's words
    assert _docs(notices_qa, q)[0] == "jinan_hq"
    hits = notices_qa.search(q, k=3)  # the facade, with the settings' defaults
    assert hits[0].doc_id == "jinan_hq" and hits[0].region == "济南市"


def test_a_named_issuer_lifts_its_documents(notices_qa: PolicyQA):
    q = "交通运输局对办公用房有什么奖励"  # no place named; the organ is
    assert named_issuers(q, notices_qa.index.bm25.columns.values["issuer"]) == ["交通运输局"]
    assert _docs(notices_qa, q, place_weight=0, fields_weight=0)[0] != "harbor"
    assert _docs(notices_qa, q, place_weight=3)[0] == "harbor"


def test_the_place_preference_never_empties_the_results(notices_qa: PolicyQA):
    # a place no document is about: the place run is empty and the other runs still answer
    q = "深圳市对总部企业落户有什么奖励"
    assert named_places(q) == ["深圳市", "深圳"]
    assert not named_mask(notices_qa.index.bm25.columns, q).any()
    docs = _docs(notices_qa, q, place_weight=100)
    assert len(docs) == 3 and "jinan_hq" in docs
    # a filter that leaves only another city's notice: still that notice, not nothing
    flt = Filters(doc_ids=("qingdao_hq",))
    got = HybridRetriever(index=notices_qa.index, k=2, filters=flt, place_weight=5).invoke(
        "济南市对总部企业落户有什么奖励"
    )
    assert got and {d.metadata["doc_id"] for d in got} == {"qingdao_hq"}


def test_a_title_match_ranks_a_document(notices_qa: PolicyQA):
    """ "总部经济" and "实施意见" are words of the Jinan notice's title only: the fields run, and
    the field index alone, put it first, though its body is about the same as Qingdao's."""
    bm25 = notices_qa.index.bm25

    def doc(cid: str) -> str:
        return bm25.metadatas[bm25.row_of[cid]]["doc_id"]

    fields = _retriever(notices_qa).first_runs("总部经济的实施意见")["fields"]
    assert fields and doc(fields[0][0]) == "jinan_hq"
    for query, want in (("总部经济的实施意见", "jinan_hq"), ("济政办发〔2021〕12号", "jinan_hq")):
        scores = bm25.field_scores(query)
        assert bm25.metadatas[int(np.argmax(scores))]["doc_id"] == want, query
    assert _docs(notices_qa, "总部经济的实施意见")[0] == "jinan_hq"


# The same body of notice in two years; the earlier one says more of the question's words, and
# neither title holds its year: only the date tells them apart.
YEARLY = {
    "jobs_2018.txt": (
        "某市人力资源和社会保障局\n关于做好就业工作的通知\n某人社发〔2018〕3号\n"
        "一、城镇新增就业目标。全年城镇新增就业目标为5万人，城镇新增就业目标分解到各县区。\n"
        "二、做好高校毕业生就业服务。\n"
        "某市人力资源和社会保障局\n2018年3月5日\n"
    ),
    "jobs_2019.txt": (
        "某市人力资源和社会保障局\n关于做好就业工作的通知\n某人社发〔2019〕4号\n"
        "一、全年城镇新增就业6万人以上。\n"
        "二、做好退役军人就业服务。\n"
        "某市人力资源和社会保障局\n2019年3月6日\n"
    ),
}


@pytest.fixture(scope="module")
def yearly_qa(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    return _ingested(tmp_path_factory, e5, "yearly", YEARLY)


def test_a_named_year_lifts_that_years_document(yearly_qa: PolicyQA):
    q = "2019年的通知定的城镇新增就业目标是多少？"
    assert named_years(q) == [2019]
    mask = year_mask(yearly_qa.index.bm25.columns, q)
    bm25 = yearly_qa.index.bm25
    assert {bm25.metadatas[r]["doc_id"] for r in np.flatnonzero(mask)} == {"jobs_2019"}
    assert _docs(yearly_qa, q, year_weight=0)[0] == "jobs_2018"  # more of the words
    docs = _retriever(yearly_qa).invoke(q)
    assert docs[0].metadata["doc_id"] == "jobs_2019" and docs[0].metadata["year_rank"] == 1
    assert yearly_qa.search(q, k=2)[0].doc_id == "jobs_2019"  # the settings' defaults
    # no year named, or a year no document has: the year run is empty, nothing is lost
    for other in ("城镇新增就业目标是多少？", "2030年的通知定的城镇新增就业目标是多少？"):
        assert not year_mask(bm25.columns, other).any()
        assert set(_docs(yearly_qa, other, year_weight=5)) == {"jobs_2018", "jobs_2019"}


def test_named_years_prefers_the_year_of_the_document_asked_about():
    assert named_years("2019年政府工作报告提出的增长目标") == [2019]
    assert named_years("2009年报告讲2008年粮食总产量多少斤？") == [2009]
    assert named_years("1960年的报告说，1959年粮食亩产达到多少") == [1960]
    assert named_years("二〇二〇年以来出台了哪些政策") == [2020]
    assert named_years("２０２１年全市招商引资到位资金多少") == [2021]
    assert named_years("2018年和2019年城镇新增就业各多少") == [2018, 2019]
    assert named_years("1979和1980两年赤字合计多少") == []  # no 年 right after the year
    assert named_years("投资2000亿元") == []
    assert named_years("开局那年的报告") == []


def test_a_year_named_by_its_occasion_on_the_national_calendar():
    # sessions of the National People's Congress: one a year, term N ≥ 5 opening in 1978 + 5(N − 5)
    assert named_years("十一届人大一次会议上的政府工作报告中赤字多少") == [2008]
    assert named_years("第十三届全国人民代表大会第二次会议") == [2019]
    assert named_years("五届人大二次会议那份报告说粮食总产量达到多少") == [1979]
    assert named_years("三届人大一次会议上的政府工作报告") == [1964]
    # the first or last year of a five-year plan; a plan's whole span names no single year
    assert named_years("十四五开局那年的报告安排专项债券多少") == [2021]
    assert named_years("十五计划开局那年的政府工作报告") == [2001]
    assert named_years("七五计划开局那年的报告说六五期间投资多少") == [1986]
    assert named_years("十三五收官之年") == [2020]
    assert named_years("十三五期间招商引资成效") == []
    # anniversaries count from 1978, 1949 and 1921; the Party congress meets every five years
    assert named_years("改革开放40周年那年的报告里赤字率定多少") == [2018]
    assert named_years("新中国成立七十周年那年的政府工作报告") == [2019]
    assert named_years("建党一百周年那年的报告") == [2021]
    assert named_years("十九大召开那年的报告") == [2017]
    assert named_years("十八大之后的第一份政府工作报告") == [2013]
    # the occasion names the document; a year later in the question is what it talks about
    assert named_years("七届人大一次会议上的政府工作报告提出到1992年产值要达到多少") == [1988]


def test_year_mask_reads_the_date_and_the_title():
    from rag.store.bm25 import MetaColumns

    columns = MetaColumns(
        [
            {"title": "2019年政府工作报告", "date_int": 0},
            {"title": "关于就业的通知", "date_int": 20190306},
            {"title": "关于就业的通知", "date_int": 20180305},
            {"title": "2018年工作总结", "date_int": 20190110},
        ]
    )
    assert year_mask(columns, "2019年报告的就业目标").tolist() == [True, True, False, True]
    assert year_mask(columns, "2018年报告的就业目标").tolist() == [False, False, True, True]
    assert not year_mask(columns, "就业目标").any()


def test_a_sentence_hit_votes_for_its_chunk(notices_qa: PolicyQA):
    """A question sharing no word with the passage: the unit vector of its sentence scores it."""
    retriever = _retriever(notices_qa, sentence_weight=1)
    q = "船运货物怎样更快地从码头运出去"
    docs = retriever.invoke(q)
    assert docs[0].metadata["doc_id"] == "harbor"
    assert docs[0].metadata["sentence_rank"] == 1
    # the unit table holds every sentence of the corpus, computed at ingest
    assert len(notices_qa.index.units) >= 8
    # without vectors for a chunk's units, the chunk gets no sentence vote at all
    empty = sentence_run(
        np.ones(3, dtype=np.float32) / np.sqrt(3),
        [("c1", ["未嵌入的句子"])],
        lambda texts: (np.zeros(len(texts), dtype=bool), np.zeros((0, 0))),
    )
    assert empty == []


def test_sentence_run_takes_each_chunks_best_unit():
    vectors = {"甲一": [1.0, 0.0], "甲二": [0.0, 1.0], "乙一": [0.6, 0.8]}

    def lookup(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        found = np.asarray([t in vectors for t in texts])
        return found, np.asarray([vectors[t] for t in texts if t in vectors])

    run = sentence_run(np.asarray([0.0, 1.0]), [("a", ["甲一", "甲二"]), ("b", ["乙一"])], lookup)
    assert run == [("a", 1.0), ("b", 0.8)]


def test_fusions_on_worked_examples():
    runs = [[("a", 3.0), ("b", 1.0)], [("b", 0.9), ("c", 0.5)]]
    assert combsum(runs) == [("a", 1.0), ("b", 1.0), ("c", 0.0)]
    assert combsum(runs, [1, 2]) == [("b", 2.0), ("a", 1.0), ("c", 0.0)]
    assert fuse(runs, [1, 1], "rrf", k=60) == rrf([["a", "b"], ["b", "c"]], k=60)
    assert fuse([[], []], [1, 1], "combsum") == []


def test_region_is_a_real_place_name():
    report_text = "坚持社会主义市场经济改革方向，建设全国统一大市场，整顿和规范市场秩序。" * 2
    assert extract_region("2019年政府工作报告", "", report_text) == ""
    assert extract_region("", "", "贫困县全部摘帽，贫困县退出机制。") == ""
    assert extract_region("", "湖北省人民政府", "") == "湖北省"
    assert extract_region("", "", "焦作市召开大会。焦作市招商引资成效显著。") == "焦作市"


def test_index_saved_before_fields_gets_them_on_load(notices_qa: PolicyQA, tmp_path: Path):
    from rag.store.bm25 import BM25Index

    bm25 = notices_qa.index.bm25
    bm25.save(tmp_path / "bm25")
    import shutil

    shutil.rmtree(tmp_path / "bm25" / "fields")
    loaded = BM25Index.load(tmp_path / "bm25")
    q = "济政办发〔2021〕12号"
    assert np.allclose(loaded.field_scores(q), bm25.field_scores(q))


def test_unit_table_grows_and_is_read_back(tmp_path: Path):
    from rag.store.units import UnitVectors

    table = UnitVectors(tmp_path / "unit_vectors")
    assert not table.lookup(["甲"])[0].any()
    assert table.add(["甲", "乙"], np.asarray([[3.0, 4.0], [1.0, 0.0]])) == 2
    assert table.add(["乙", "丙"], np.asarray([[0.0, 1.0], [0.0, 2.0]])) == 1  # 乙 kept as it was
    found, rows = UnitVectors(tmp_path / "unit_vectors").lookup(["丙", "丁", "甲", "乙"])
    assert found.tolist() == [True, False, True, True]
    assert np.allclose(rows, [[0, 1], [0.6, 0.8], [1, 0]], atol=1e-3)  # unit length, float16


# A notice and an experience article on the same subject; the notice says more of the
# question's words, so without the genre preference it comes first.
GENRES = {
    "park_notice.txt": (
        "某市人民政府办公室\n关于加快园区建设的通知\n某政办〔2021〕5号\n"
        "一、园区建设的关键是园区基础设施建设，园区建设要统筹推进。\n"
        "二、园区建设用地优先保障，园区建设资金按年度安排。\n"
        "某市人民政府办公室\n2021年3月1日\n"
    ),
    "park_article.txt": (
        "建好园区的几点体会\n"
        "一、选准主导产业。园区要围绕一两个主导产业招引上下游企业，形成集群。\n"
        "二、把服务做实。为入园企业提供全程代办，做到拿地即开工。\n"
    ),
}


@pytest.fixture(scope="module")
def genres_qa(tmp_path_factory: pytest.TempPathFactory, e5: E5Embeddings) -> PolicyQA:
    return _ingested(tmp_path_factory, e5, "genres", GENRES)


def test_a_named_genre_lifts_documents_of_that_kind(genres_qa: PolicyQA):
    kinds = {d["doc_id"]: d["kind"] for d in genres_qa.documents()}
    assert kinds == {"park_notice": "policy_notice", "park_article": "experience_article"}
    q = "那篇文章说园区建设的关键是什么？"
    assert named_kinds(q) == ["experience_article", "news"]
    assert _docs(genres_qa, q, kind_weight=0)[0] == "park_notice"  # more of the words
    assert _docs(genres_qa, q)[0] == "park_article"
    assert genres_qa.search(q, k=2)[0].doc_id == "park_article"  # the settings' defaults
    # "那份文件" names the notice; a question naming no genre keeps the plain order
    assert _docs(genres_qa, "那份文件说园区建设的关键是什么？")[0] == "park_notice"
    bm25 = genres_qa.index.bm25
    assert not kind_mask(bm25.columns, "园区建设的关键是什么？").any()


def test_genre_words_name_a_document_only_when_they_point_at_one():
    assert named_kinds("许昌材料说现在各地一窝蜂在搞什么？") == ["experience_article", "news"]
    assert named_kinds("郑州那份文件里，把拉投资比作什么？") == ["policy_notice"]
    assert named_kinds("河北那篇报道提到哪些园区？") == ["news"]
    assert named_kinds("记者采访的是哪位局长？") == ["news"]
    # application papers, a product, a phone call: no document named
    assert named_kinds("申请高新技术企业认定要提交什么材料？") == []
    assert named_kinds("申报材料里哪些是必备材料？") == []
    assert named_kinds("新材料产业引进了哪些项目？") == []
    assert named_kinds("是直接去取证书还是等电话通知？") == []
