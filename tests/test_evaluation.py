"""rag.evaluation: metrics by hand, against ranx, answer metrics, and ``policyqa eval``."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import cli
from rag import evaluation as ev
from rag.answer import Answer, Citation
from rag.service import PolicyQA


@dataclass(frozen=True)
class FakeHit:
    rank: int
    chunk_id: str
    doc_id: str
    text: str
    title: str = "标题"
    score: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None


def item(qid: str, answers: list[str], source: str | None = "A", type_: str = "t") -> ev.EvalItem:
    return ev.parse_item({"id": qid, "question": "问题？", "answers": answers, "source": source, "type": type_}, 1)


def result(it: ev.EvalItem, hits: list[tuple[str, str]]) -> ev.QuestionResult:
    """A result from (doc_id, text) pairs in rank order."""
    fake = [FakeHit(rank, f"{it.id}-c{rank}", doc, text) for rank, (doc, text) in enumerate(hits, start=1)]
    return ev.QuestionResult(it, it.question, list(fake), latency_ms=1.0)


# --------------------------------------------------------------------- hand-computed


def test_metrics_by_hand():
    results = [
        # relevant at rank 1 only (rank 2 is the answer in the wrong document, rank 3 the
        # right document without the answer): Hit@1 1, MRR 1, nDCG 1/1 = 1, coverage@1 1
        result(item("q1", ["李民生"]), [("A", "牵头领导：李 民生"), ("B", "李民生"), ("A", "无关")]),
        # relevant at ranks 2 and 3: Hit@1 0, Hit@3 1, MRR 1/2,
        # nDCG (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3)); coverage@1 1/2 (only 市商务局, in B)
        result(item("q2", ["市商务局", "武磊"]), [("B", "市商务局牵头"), ("A", "武 磊"), ("A", "市商务局")]),
        # relevant at ranks 1 and 3, 2 retrieved: nDCG (1 + 1/log2(4)) / (1 + 1/log2(3));
        # the full-width "５" matches "5"; coverage@1 1
        result(item("q3", ["５亿元"]), [("A", "投资5 亿元以上"), ("B", "别的"), ("A", "5亿元")]),
        # unanswerable: left out of every retrieval metric
        result(item("q4", [], source=None), [("A", "李民生")]),
    ]
    assert [r.rels for r in results[:3]] == [[True, False, False], [False, True, True], [True, False, True]]
    m = ev.summarize(results, [1, 3])
    ndcg2 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg3 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["n"] == 3
    assert m["hit@1"] == pytest.approx(2 / 3)
    assert m["hit@3"] == pytest.approx(1.0)
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["ndcg@10"] == pytest.approx((1 + ndcg2 + ndcg3) / 3)
    assert m["coverage@1"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["coverage@3"] == pytest.approx(1.0)
    # q1 and q3 have A at rank 1; q2 first meets A at rank 2
    assert m["recall@1"] == pytest.approx(2 / 3) and m["recall@3"] == pytest.approx(1.0)
    rep = ev.report(results, [1, 3])
    assert (rep["n"], rep["n_answerable"], rep["n_unanswerable"]) == (4, 3, 1)


def test_small_functions():
    assert ev.normalize("市 发展\n改革委（ＡＢ１２）\u3000") == "市发展改革委(AB12)"
    assert ev.contains_any("牵头领导：李 民生", ["武磊", "李民生"])
    assert not ev.contains_any("李民生", ["", " "])
    assert ev.ndcg_at([False] * 10 + [True]) == 0.0  # relevant only below the cut-off
    assert ev.ndcg_at([]) == 0.0 and ev.mrr_at([]) == 0.0 and ev.hit_at([], 5) == 0.0
    assert ev.doc_recall_at(["a", "b", "a"], {"b", "c"}, 2) == 0.5
    assert ev.coverage_at(["李民生牵头", "市商务局"], ["李民生", "市商务局", "武磊"], 1) == pytest.approx(1 / 3)
    assert ev.coverage_at(["李民", "生"], ["李民生"], 2) == 0.0  # not glued across hits
    assert ev.percentile([10, 20, 30, 40], 50) == 25.0 and ev.percentile([7], 95) == 7
    multi = ev.parse_item({"id": "x", "question": "q", "answers": ["a"], "source": "A", "sources": ["B"],
                           "type": "t", "history": ["h"]}, 1)
    assert multi.gold_docs == {"A", "B"} and multi.history == ("h",)


def test_followup_query_is_rewritten():
    it = ev.parse_item({"id": "x", "question": "那招商七组呢？", "answers": ["薛志杰"], "source": "A",
                        "type": "followup", "history": ["焦作招商六组的牵头领导是谁？"]}, 1)
    assert it.query == "焦作招商七组的牵头领导是谁？"


def test_trec_files():
    res = [result(item("q1", ["李民生"]), [("B", "x"), ("A", "李民生")]), result(item("q9", [], None), [("A", "y")])]
    assert ev.trec_run(res, "bm25").splitlines() == ["q1 Q0 q1-c1 1 1.000000 bm25", "q1 Q0 q1-c2 2 0.500000 bm25"]
    assert ev.trec_qrels(res).splitlines() == ["q1 0 q1-c1 0", "q1 0 q1-c2 1"]


# --------------------------------------------------------------------- against ranx


def test_metrics_equal_ranx(tmp_path: Path):
    ranx = pytest.importorskip("ranx")
    rng = random.Random(7)
    results = []
    for q in range(30):
        hits = [(rng.choice("AB"), rng.choice(["李民生", "无关"])) for _ in range(15)]
        results.append(result(item(f"q{q}", ["李民生"]), hits))
    # no relevant hit at all; relevant hits only below rank 10 (they still count in the ideal)
    results.append(result(item("none", ["李民生"]), [("B", "李民生")] * 15))
    results.append(result(item("deep", ["李民生"]), [("B", "无关")] * 12 + [("A", "李民生")] * 3))
    ev.write_run(tmp_path, "random", results)
    qrels = ranx.Qrels.from_file(str(tmp_path / "qrels.trec"), kind="trec")
    run = ranx.Run.from_file(str(tmp_path / "run.trec"), kind="trec")
    ks = [1, 3, 5, 10]
    theirs = ranx.evaluate(qrels, run, [*(f"hit_rate@{k}" for k in ks), "mrr@10", "ndcg@10"])
    ours = ev.summarize(results, ks)
    for k in ks:
        assert ours[f"hit@{k}"] == pytest.approx(theirs[f"hit_rate@{k}"], abs=1e-6)
    assert ours["mrr@10"] == pytest.approx(theirs["mrr@10"], abs=1e-6)
    assert ours["ndcg@10"] == pytest.approx(theirs["ndcg@10"], abs=1e-6)


# --------------------------------------------------------------------- answers


def cite(n: int, chunk_id: str, quote: str) -> Citation:
    return Citation(n=n, chunk_id=chunk_id, doc_id="A", title="t", doc_number="", kind="", date="",
                    section_path="", page=None, quote=quote, source="")


def test_answer_metrics():
    chunks = {"c1": "招商一组牵头领导：李民生，牵头单位：市发展改革委。", "c2": "招商二组牵头单位：市商务局。"}
    good = Answer("q", "q", True, "牵头领导为李 民生[1]，牵头单位为市发展改革委[2]。",
                  [cite(1, "c1", "牵头领导：李民生"), cite(2, "c2", "牵头单位：市发展改革委")])
    partial = Answer("q", "q", True, "牵头单位为市商务局[1]。", [cite(1, "c2", "牵头单位：市商务局")])
    refused = Answer("q", "q", False, "现有资料中未找到……", [], "refusal")
    assert ev.answer_correct(good, ["李民生", "市发展改革委"])
    assert not ev.answer_correct(partial, ["李民生", "市商务局"])
    assert not ev.answer_correct(refused, [])
    # 3 citations, the second quote is not in c2: validity 2/3
    assert ev.citation_validity([good, partial, refused], chunks) == pytest.approx(2 / 3)
    # for gold ["李民生"]: c1 holds it, c2 does not, c2 does not → 1/3
    assert ev.citation_precision([(good, ["李民生"]), (partial, ["李民生"])], chunks) == pytest.approx(1 / 3)
    assert ev.refusal_accuracy([refused, partial]) == 0.5
    assert ev.false_refusal_rate([good, partial, refused]) == pytest.approx(1 / 3)
    items = [item("a", ["李民生"]), item("b", ["李民生", "市商务局"]), item("c", [], None)]
    m = ev.answer_metrics(items, [good, partial, refused], chunks)
    assert m["accuracy"] == 0.5 and m["refusal_accuracy"] == 1.0 and m["false_refusal_rate"] == 0.0
    assert (m["n_answerable"], m["n_unanswerable"]) == (2, 1)


# --------------------------------------------------------------------- the set file and the CLI

runner = CliRunner()


@pytest.mark.parametrize(("lines", "message"), [
    (['{"id": "a", "question": "q", "answers": ["x"], "source": "A", "type": "t"}', '{"id": "b", "question": '],
     "第 2 行不是有效的 JSON"),
    (['{"id": "a", "question": "q", "source": "A", "type": "t"}'], "第 1 行缺少字段“answers”"),
    (['', '{"id": "a", "question": "q", "answers": "x", "source": "A", "type": "t"}'], "第 2 行字段“answers”"),
])
def test_malformed_set_exits_2(tmp_path: Path, lines: list[str], message: str):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = runner.invoke(cli.app, ["eval", str(bad), "--out", str(tmp_path / "out")])
    assert done.exit_code == 2 and message in done.output
    missing = runner.invoke(cli.app, ["eval", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "评测集文件不存在" in missing.output


TINY_SET = [
    {"id": "easy", "question": "焦作市“7+X”招商机制中，招商一组的牵头领导是谁？", "answers": ["李民生"],
     "source": "002_b5bc0298a6f5538a", "type": "responsibility"},
    {"id": "zz", "question": "郑州市《关于进一步加强招商引资工作的意见》的督办单位是哪个？",
     "answers": ["市政府办公厅六处"], "source": "004_13bb312893c2451b", "type": "responsibility"},
    {"id": "fu", "question": "那招商七组呢？", "answers": ["薛志杰"], "source": "002_b5bc0298a6f5538a",
     "type": "followup", "history": ["焦作招商六组的牵头领导是谁？"]},
    {"id": "no", "question": "深圳市对新引进企业的招商补贴标准是多少？", "answers": [], "source": None,
     "type": "unanswerable"},
]


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in TINY_SET), encoding="utf-8")
    return path


def test_cli_eval(corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "--retriever", "bm25", "--retriever", "hybrid",
                                   "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "hybrid" in done.output and "responsibility" in done.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["retrievers"]) == {"bm25", "hybrid"}
    assert metrics["config"]["k"] == [1, 3, 5, 10] and metrics["config"]["embedder"]
    for name, block in metrics["retrievers"].items():
        assert (block["n"], block["n_answerable"], block["n_unanswerable"]) == (4, 3, 1)
        assert all(0 <= v <= 1 for k, v in block["overall"].items() if k != "n")
        assert block["overall"]["hit@1"] <= block["overall"]["hit@5"] <= block["overall"]["hit@10"]
        assert block["latency_ms"]["p50"] > 0 and block["latency_ms"]["p95"] >= block["latency_ms"]["p50"]
        for f in ("run.trec", "qrels.trec", "misses.md", "per_question.jsonl"):
            assert (out / name / f).stat().st_size > 0
        rows = {r["id"]: r for r in map(json.loads, (out / name / "per_question.jsonl").read_text().splitlines())}
        assert rows["easy"]["first_relevant_rank"] <= 5
        assert rows["fu"]["query"] == "焦作招商七组的牵头领导是谁？"
        run = (out / name / "run.trec").read_text(encoding="utf-8").splitlines()
        assert len(run) == 3 * 10 and all(len(line.split()) == 6 for line in run)
        assert {line.split()[0] for line in run} == {"easy", "zz", "fu"}


def test_cli_eval_answers(corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "--retriever", "bm25,dense", "-k", "1,5",
                                   "--limit", "2", "--answers", "--out", str(out)])
    assert done.exit_code == 0, done.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["retrievers"]) == {"bm25", "dense"} and metrics["config"]["n_questions"] == 2
    assert metrics["answers"]["n_answerable"] == 2 and metrics["answers"]["citation_validity"] == 1.0
    assert len((out / "answers.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_cli_eval_bad_options(tiny_set: Path):
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "--retriever", "bm25,splade"])
    assert done.exit_code == 2 and "splade" in done.output
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "-k", "0,5"])
    assert done.exit_code == 2 and "-k" in done.output
