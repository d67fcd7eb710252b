"""rag.evaluation.scoring: metrics by hand, against ranx, answer metrics, and ``policyqa eval``."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import cli
from rag.evaluation import scoring as ev
from rag.records import Answer, Citation
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
    return ev.parse_item(
        {"id": qid, "question": "问题？", "answers": answers, "source": source, "type": type_}, 1
    )


def result(it: ev.EvalItem, hits: list[tuple[str, str]]) -> ev.QuestionResult:
    """A result from (doc_id, text) pairs in rank order."""
    fake = [
        FakeHit(rank, f"{it.id}-c{rank}", doc, text)
        for rank, (doc, text) in enumerate(hits, start=1)
    ]
    return ev.QuestionResult(it, it.question, list(fake), latency_ms=1.0)


# --------------------------------------------------------------------- hand-computed


def test_metrics_by_hand():
    results = [
        # relevant at rank 1 only (rank 2 is the answer in the wrong document, rank 3 the
        # right document without the answer): Hit@1 1, MRR 1, nDCG 1/1 = 1, coverage@1 1
        result(
            item("q1", ["李民生"]), [("A", "牵头领导：李 民生"), ("B", "李民生"), ("A", "无关")]
        ),
        # relevant at ranks 2 and 3: Hit@1 0, Hit@3 1, MRR 1/2,
        # nDCG (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3)); coverage@1 1/2 (only 市商务局, in B)
        result(
            item("q2", ["市商务局", "武磊"]),
            [("B", "市商务局牵头"), ("A", "武 磊"), ("A", "市商务局")],
        ),
        # relevant at ranks 1 and 3, 2 retrieved: nDCG (1 + 1/log2(4)) / (1 + 1/log2(3));
        # the full-width "５" matches "5"; coverage@1 1
        result(item("q3", ["５亿元"]), [("A", "投资5 亿元以上"), ("B", "别的"), ("A", "5亿元")]),
        # unanswerable: left out of every retrieval metric
        result(item("q4", [], source=None), [("A", "李民生")]),
    ]
    assert [r.rels for r in results[:3]] == [
        [True, False, False],
        [False, True, True],
        [True, False, True],
    ]
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
    assert ev.coverage_at(
        ["李民生牵头", "市商务局"], ["李民生", "市商务局", "武磊"], 1
    ) == pytest.approx(1 / 3)
    assert ev.coverage_at(["李民", "生"], ["李民生"], 2) == 0.0  # not glued across hits
    assert ev.percentile([10, 20, 30, 40], 50) == 25.0 and ev.percentile([7], 95) == 7
    multi = ev.parse_item(
        {
            "id": "x",
            "question": "q",
            "answers": ["a"],
            "source": "A",
            "sources": ["B"],
            "type": "t",
            "history": ["h"],
        },
        1,
    )
    assert multi.gold_docs == {"A", "B"} and multi.history == ("h",)


def test_followup_query_is_rewritten():
    it = ev.parse_item(
        {
            "id": "x",
            "question": "那招商七组呢？",
            "answers": ["薛志杰"],
            "source": "A",
            "type": "followup",
            "history": ["焦作招商六组的牵头领导是谁？"],
        },
        1,
    )
    assert it.query == "焦作招商七组的牵头领导是谁？"


def test_trec_files():
    res = [
        result(item("q1", ["李民生"]), [("B", "x"), ("A", "李民生")]),
        result(item("q9", [], None), [("A", "y")]),
    ]
    assert ev.trec_run(res, "bm25").splitlines() == [
        "q1 Q0 q1-c1 1 1.000000 bm25",
        "q1 Q0 q1-c2 2 0.500000 bm25",
    ]
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
    return Citation(
        n=n,
        chunk_id=chunk_id,
        doc_id="A",
        title="t",
        doc_number="",
        kind="",
        date="",
        section_path="",
        page=None,
        quote=quote,
        source="",
    )


def test_answer_metrics():
    chunks = {
        "c1": "招商一组牵头领导：李民生，牵头单位：市发展改革委。",
        "c2": "招商二组牵头单位：市商务局。",
    }
    good = Answer(
        "q",
        "q",
        True,
        "牵头领导为李 民生[1]，牵头单位为市发展改革委[2]。",
        [cite(1, "c1", "牵头领导：李民生"), cite(2, "c2", "牵头单位：市发展改革委")],
    )
    partial = Answer(
        "q", "q", True, "牵头单位为市商务局[1]。", [cite(1, "c2", "牵头单位：市商务局")]
    )
    refused = Answer("q", "q", False, "现有资料中未找到……", [], "refusal")
    assert ev.answer_correct(good, ["李民生", "市发展改革委"])
    assert not ev.answer_correct(partial, ["李民生", "市商务局"])
    assert not ev.answer_correct(refused, [])
    # 3 citations, the second quote is not in c2: validity 2/3
    assert ev.citation_validity([good, partial, refused], chunks) == pytest.approx(2 / 3)
    # for gold ["李民生"]: c1 holds it, c2 does not, c2 does not → 1/3
    assert ev.citation_precision(
        [(good, ["李民生"]), (partial, ["李民生"])], chunks
    ) == pytest.approx(1 / 3)
    assert ev.refusal_accuracy([refused, partial]) == 0.5
    assert ev.false_refusal_rate([good, partial, refused]) == pytest.approx(1 / 3)
    items = [item("a", ["李民生"]), item("b", ["李民生", "市商务局"]), item("c", [], None)]
    m = ev.answer_metrics(items, [good, partial, refused], chunks)
    assert m["accuracy"] == 0.5 and m["refusal_accuracy"] == 1.0 and m["false_refusal_rate"] == 0.0
    assert (m["n_answerable"], m["n_unanswerable"]) == (2, 1)


# --------------------------------------------------------------------- the set file and the CLI

runner = CliRunner()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [
                '{"id": "a", "question": "q", "answers": ["x"], "source": "A", "type": "t"}',
                '{"id": "b", "question": ',
            ],
            "第 2 行不是有效的 JSON",
        ),
        (['{"id": "a", "question": "q", "source": "A", "type": "t"}'], "第 1 行缺少字段“answers”"),
        (
            ["", '{"id": "a", "question": "q", "answers": "x", "source": "A", "type": "t"}'],
            "第 2 行字段“answers”",
        ),
    ],
)
def test_malformed_set_exits_2(tmp_path: Path, lines: list[str], message: str):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = runner.invoke(cli.app, ["eval", str(bad), "--out", str(tmp_path / "out")])
    assert done.exit_code == 2 and message in done.output
    missing = runner.invoke(cli.app, ["eval", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "评测集文件不存在" in missing.output


TINY_SET = [
    {
        "id": "easy",
        "question": "焦作市“7+X”招商机制中，招商一组的牵头领导是谁？",
        "answers": ["李民生"],
        "source": "002_b5bc0298a6f5538a",
        "type": "responsibility",
    },
    {
        "id": "zz",
        "question": "郑州市《关于进一步加强招商引资工作的意见》的督办单位是哪个？",
        "answers": ["市政府办公厅六处"],
        "source": "004_13bb312893c2451b",
        "type": "responsibility",
    },
    {
        "id": "fu",
        "question": "那招商七组呢？",
        "answers": ["薛志杰"],
        "source": "002_b5bc0298a6f5538a",
        "type": "followup",
        "history": ["焦作招商六组的牵头领导是谁？"],
    },
    {
        "id": "no",
        "question": "深圳市对新引进企业的招商补贴标准是多少？",
        "answers": [],
        "source": None,
        "type": "unanswerable",
    },
]


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in TINY_SET), encoding="utf-8"
    )
    return path


def test_cli_eval(
    corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    done = runner.invoke(
        cli.app,
        ["eval", str(tiny_set), "--retriever", "bm25", "--retriever", "hybrid", "--out", str(out)],
    )
    assert done.exit_code == 0, done.output
    assert "hybrid" in done.output and "responsibility" in done.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["retrievers"]) == {"bm25", "hybrid"}
    assert metrics["config"]["k"] == [1, 3, 5, 10] and metrics["config"]["embedder"]
    for name, block in metrics["retrievers"].items():
        assert (block["n"], block["n_answerable"], block["n_unanswerable"]) == (4, 3, 1)
        assert all(0 <= v <= 1 for k, v in block["overall"].items() if k != "n")
        assert block["overall"]["hit@1"] <= block["overall"]["hit@5"] <= block["overall"]["hit@10"]
        assert (
            block["latency_ms"]["p50"] > 0
            and block["latency_ms"]["p95"] >= block["latency_ms"]["p50"]
        )
        for f in ("run.trec", "qrels.trec", "misses.md", "per_question.jsonl"):
            assert (out / name / f).stat().st_size > 0
        rows = {
            r["id"]: r
            for r in map(json.loads, (out / name / "per_question.jsonl").read_text().splitlines())
        }
        assert rows["easy"]["first_relevant_rank"] <= 5
        assert rows["fu"]["query"] == "焦作招商七组的牵头领导是谁？"
        run = (out / name / "run.trec").read_text(encoding="utf-8").splitlines()
        assert len(run) == 3 * 10 and all(len(line.split()) == 6 for line in run)
        assert {line.split()[0] for line in run} == {"easy", "zz", "fu"}


def test_cli_eval_answers(
    corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    done = runner.invoke(
        cli.app,
        [
            "eval",
            str(tiny_set),
            "--retriever",
            "bm25,dense",
            "-k",
            "1,5",
            "--limit",
            "2",
            "--answers",
            "--out",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["retrievers"]) == {"bm25", "dense"} and metrics["config"]["n_questions"] == 2
    assert (
        metrics["answers"]["n_answerable"] == 2 and metrics["answers"]["citation_validity"] == 1.0
    )
    assert len((out / "answers.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_cli_eval_bad_options(tiny_set: Path):
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "--retriever", "bm25,splade"])
    assert done.exit_code == 2 and "splade" in done.output
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "-k", "0,5"])
    assert done.exit_code == 2 and "-k" in done.output


# --------------------------------------------------------------------- by document, by answer string


def test_doc_level_and_answer_recall_by_hand():
    assert ev.doc_first_rels(["B", "A", "A", "C"], {"A", "C"}) == [False, True, False, True]
    assert ev.ndcg_at([True], n_relevant=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    two_gold = ev.parse_item(
        {
            "id": "m",
            "question": "q",
            "answers": ["李民生", "武磊"],
            "source": "A",
            "sources": ["C"],
            "type": "t",
        },
        1,
    )
    # A holds 李民生 at rank 2, B (not gold) holds 武磊, A again at rank 3; C never retrieved
    r = result(two_gold, [("B", "武磊"), ("A", "李民生"), ("A", "武 磊")])
    m = ev.question_metrics(r, [1, 3])
    assert (m["hit@1"], m["mrr@10"]) == (0.0, 0.5)
    assert m["answer_recall@1"] == 0.0 and m["answer_recall@3"] == 1.0  # both strings, from A only
    assert m["coverage@1"] == 0.5  # 武磊 in B counts for coverage, not for answer recall
    # by document: the first A (rank 2) counts once; ideal = 2 gold documents
    assert (m["doc_hit@1"], m["doc_hit@3"], m["doc_mrr@10"]) == (0.0, 1.0, 0.5)
    assert m["doc_ndcg@10"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert m["recall@3"] == 0.5


def test_doc_only_questions_have_no_answer_metrics():
    beir = ev.EvalItem("b1", "问题", (), "beir", frozenset({"A"}))
    r = result(beir, [("B", "x"), ("A", "无关文字"), ("A", "y")])
    assert r.rels == [False, True, True] and r.doc_rels == [False, True, False]
    m = ev.summarize([r], [1, 5])
    assert m["hit@5"] == 1.0 and m["mrr@10"] == 0.5 and m["doc_mrr@10"] == 0.5
    assert m["coverage@5"] is None and m["answer_recall@5"] is None


def test_followup_accuracy_and_not_applicable():
    fu = ev.parse_item(
        {
            "id": "f",
            "question": "那七组呢？",
            "answers": ["薛志杰"],
            "source": "A",
            "type": "followup",
            "history": ["六组的牵头领导是谁？"],
        },
        1,
    )
    right = Answer("q", "q", True, "牵头领导为薛志杰[1]。", [cite(1, "c1", "薛志杰")])
    m = ev.answer_metrics([item("a", ["李民生"]), fu], [right, right], {"c1": "牵头领导：薛志杰"})
    assert m["accuracy"] == 0.5 and m["followup_accuracy"] == 1.0 and m["n_followup"] == 1
    assert m["refusal_accuracy"] is None  # no unanswerable question: n/a, not 0
    back = ev.answer_from_dict(right.to_dict())
    assert back.citations == right.citations and back.text == right.text


# --------------------------------------------------------------------- BEIR


def write_beir(
    folder: Path,
    queries: list[dict],
    qrels: list[tuple[str, str, int]],
    corpus: list[dict] | None = None,
):
    (folder / "qrels").mkdir(parents=True)
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{c}\t{s}\n" for q, c, s in qrels),
        encoding="utf-8",
    )
    if corpus is not None:
        (folder / "corpus.jsonl").write_text(
            "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in corpus), encoding="utf-8"
        )
    return folder


def test_beir_folder_parsing(tmp_path: Path):
    from rag.evaluation import formats as fmt

    folder = write_beir(
        tmp_path / "beir",
        [
            {
                "_id": "1",
                "text": "招商一组的牵头领导是谁？",
                "metadata": {"type": "responsibility"},
            },
            {"_id": "2", "text": "深圳的补贴标准？"},
            {"_id": "3", "text": "没有标注的查询"},
        ],
        [("1", "jz", 2), ("1", "other", 0), ("2", "x", 0)],
        [{"_id": "jz", "title": "焦作通知", "text": "…"}],
    )
    loaded = fmt.load_any(folder)
    assert loaded.format == "beir" and [i.id for i in loaded.items] == ["1", "2"]
    first, second = loaded.items
    assert first.gold_docs == {"jz"} and first.answers == () and first.type == "responsibility"
    assert not second.answerable and second.type == "beir"  # only score-0 judgements
    assert loaded.titles == {"jz": "焦作通知"} and "1 个查询" in loaded.notes[0]
    docs = [{"doc_id": "corpus#jz2", "title": "焦作通知", "source": "x/corpus.jsonl"}]
    items, warnings = fmt.resolve_gold(loaded, fmt.DocResolver(docs))
    assert items[0].gold_docs == {"corpus#jz2"} and not warnings  # by title from corpus.jsonl
    with pytest.raises(ev.EvalSetError, match="qrels/test.tsv"):
        (folder / "qrels" / "test.tsv").unlink()
        fmt.load_any(folder)


def test_cli_eval_beir(corpus_qa: PolicyQA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    folder = write_beir(
        tmp_path / "beir",
        [
            {"_id": "q1", "text": "焦作市招商一组的牵头领导是谁？"},
            {"_id": "q2", "text": "郑州市加强招商引资工作的督办单位是哪个？"},
            {"_id": "q3", "text": "不在索引里的文件"},
        ],
        [("q1", "c-jz", 1), ("q2", "004_13bb312893c2451b", 1), ("q3", "missing-doc", 1)],
        [
            {
                "_id": "c-jz",
                "title": "焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知",
                "text": "…",
            }
        ],
    )
    out = tmp_path / "out"
    done = runner.invoke(cli.app, ["eval", str(folder), "--retriever", "bm25", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "missing-doc" in done.output  # the unresolved corpus-id is reported
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    overall = metrics["retrievers"]["bm25"]["overall"]
    assert metrics["config"]["format"] == "beir" and overall["n"] == 3
    assert overall["coverage@5"] is None and overall["answer_recall@5"] is None
    assert overall["hit@10"] == pytest.approx(
        2 / 3
    )  # q1 (mapped by title) and q2 found, q3 cannot be
    rows = {
        r["id"]: r
        for r in map(json.loads, (out / "bm25" / "per_question.jsonl").read_text().splitlines())
    }
    assert (
        "002_b5bc0298a6f5538a" in rows["q1"]["docs"][:3]
        and rows["q3"]["first_relevant_rank"] is None
    )
    assert "n/a" in (out / "report.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------- staff sheets

SHEET = [
    ["问题", "答案（多个用；分隔）", "来源文件", "类型", "历史"],
    [
        "招商一组的牵头领导是谁？",
        "李民生",
        "焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知",
        "",
        "",
    ],
    ["", "武磊", "002_b5bc0298a6f5538a", "responsibility", ""],  # bad: no question
    [
        "那招商三组呢？",
        "武磊；市农业农村局",
        "002_b5bc0298a6f5538a.txt",
        "",
        "招商二组的牵头领导是谁？",
    ],
    ["督办单位是哪个？", "市政府办公厅六处", "郑政〔2018〕15号", "responsibility", ""],
    ["深圳的招商补贴标准是多少？", "", "", "", ""],
    ["汝州的新兴产业是什么？", "新兴产业", "不存在的文件", "", ""],  # warning: not in the index
]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_cli_eval_import(
    corpus_qa: PolicyQA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    sheet = tmp_path / f"staff.{suffix}"
    if suffix == "csv":
        import csv

        with sheet.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(SHEET)
    else:
        from openpyxl import Workbook

        book = Workbook()
        for row in SHEET:
            book.active.append(row)
        book.save(sheet)
    target = tmp_path / "staff.jsonl"
    done = runner.invoke(cli.app, ["eval", "import", str(sheet), "-o", str(target)])
    assert done.exit_code == 1, done.output  # some rows had problems
    assert "缺少问题" in done.output and "不存在的文件" in done.output
    assert "已导入 5 题" in done.output and "1 行未导入，1 行有警告" in done.output
    items = {i.id: i for i in ev.load_set(target)}
    assert set(items) == {"row2", "row4", "row5", "row6", "row7"}
    assert items["row2"].gold_docs == {"002_b5bc0298a6f5538a"}  # a title resolved to the doc id
    assert items["row4"].answers == ("武磊", "市农业农村局") and items["row4"].history == (
        "招商二组的牵头领导是谁？",
    )
    assert items["row4"].type == "followup" and items["row4"].gold_docs == {"002_b5bc0298a6f5538a"}
    assert items["row5"].gold_docs == {"004_13bb312893c2451b"}  # by 文号
    assert not items["row6"].answerable and items["row6"].type == "unanswerable"
    assert items["row7"].gold_docs == {"不存在的文件"}  # kept as written, counted as a miss


def test_import_missing_header(tmp_path: Path):
    from rag.evaluation import formats as fmt

    sheet = tmp_path / "bad.csv"
    sheet.write_text("问题,答复\n问?,x\n", encoding="utf-8")
    with pytest.raises(ev.EvalSetError, match="答案"):
        fmt.import_sheet(sheet, fmt.DocResolver([]))


# --------------------------------------------------------------------- reports, resume, compare


def test_cli_eval_report_files(
    corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    done = runner.invoke(
        cli.app, ["eval", "run", str(tiny_set), "--retriever", "bm25,dense", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    for f in (
        "metrics.json",
        "report.md",
        "hit_at_k.png",
        "per_type.png",
        "bm25/run.trec",
        "bm25/qrels.trec",
        "bm25/misses.md",
        "dense/per_question.jsonl",
    ):
        assert (out / f).stat().st_size > 0, f
    for png in ("hit_at_k.png", "per_type.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    report = (out / "report.md").read_text(encoding="utf-8")
    for part in (
        "## Configuration",
        "by document and answer string",
        "by document only",
        "DocMRR@10",
        "## Per question type",
        "| followup | dense |",
        "## Misses",
        "![Hit@k by retriever](hit_at_k.png)",
    ):
        assert part in report, part
    overall = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["retrievers"]["bm25"][
        "overall"
    ]
    assert overall["doc_hit@10"] >= overall["hit@10"] and 0 <= overall["answer_recall@5"] <= 1


def test_cli_eval_resume(
    corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    out = tmp_path / "out"
    partial = out / "bm25" / "partial.jsonl"
    base = ["eval", str(tiny_set), "--retriever", "bm25", "--out", str(out)]
    assert runner.invoke(cli.app, [*base, "--limit", "2"]).exit_code == 0
    assert (
        len(partial.read_text(encoding="utf-8").splitlines()) == 1 + 2
    )  # checkpoint line + 2 questions
    calls = []
    monkeypatch.setattr(
        corpus_qa, "search", lambda *a, _s=corpus_qa.search, **kw: calls.append(a) or _s(*a, **kw)
    )
    done = runner.invoke(cli.app, [*base, "--resume"])
    assert done.exit_code == 0, done.output
    assert (
        "跳过已完成的 bm25 2 题" in done.output and len(calls) == 1 + 2
    )  # warm-up + the 2 remaining
    assert [
        json.loads(line).get("id") for line in partial.read_text(encoding="utf-8").splitlines()[1:]
    ] == ["easy", "zz", "fu", "no"]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["retrievers"]["bm25"]["n"] == 4 and metrics["config"]["resumed"] == {"bm25": 2}
    # another set in the same --out: refused, named
    tiny_set.write_text(
        tiny_set.read_text(encoding="utf-8").replace("李民生", "李 民生"), encoding="utf-8"
    )
    done = runner.invoke(cli.app, [*base, "--resume"])
    assert done.exit_code == 2 and "无法续跑" in done.output and "set_digest" in done.output


def test_cli_eval_ctrl_c_leaves_a_resumable_state(
    corpus_qa: PolicyQA, tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    calls = []

    def search(*a, _s=corpus_qa.search, **kw):
        calls.append(a)
        if len(calls) == 3:  # warm-up, first question, then Ctrl-C
            raise KeyboardInterrupt
        return _s(*a, **kw)

    monkeypatch.setattr(corpus_qa, "search", search)
    out = tmp_path / "out"
    done = runner.invoke(cli.app, ["eval", str(tiny_set), "--retriever", "bm25", "--out", str(out)])
    assert done.exit_code == 130 and "--resume" in done.output and str(out) in done.output
    assert len((out / "bm25" / "partial.jsonl").read_text(encoding="utf-8").splitlines()) == 1 + 1


def test_the_resume_command_keeps_the_split():
    """Resuming a ``--split dev`` run without its split would score another question list."""
    line = cli._resume_command(Path("a.jsonl"), ["bm25"], [1, 5], False, None, Path("o"), "dev")
    assert line[line.index("--split") + 1] == "dev" and line[-1] == "--resume"
    assert "--split" not in cli._resume_command(
        Path("a.jsonl"), ["bm25"], [1], False, None, Path("o")
    )


def write_results(
    folder: Path, mrr: float, hits_at_1: dict[str, bool], correct: dict[str, bool]
) -> Path:
    """A hand-made --out folder: metrics.json, bm25/per_question.jsonl, answers.jsonl."""
    (folder / "bm25").mkdir(parents=True)
    metrics = {
        "config": {"k": [1]},
        "retrievers": {"bm25": {"overall": {"n": 3, "hit@1": mrr, "mrr@10": mrr}}},
        "answers": {"n_answerable": 2, "n_unanswerable": 0, "accuracy": sum(correct.values()) / 2},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (folder / "bm25" / "per_question.jsonl").write_text(
        "".join(
            json.dumps({"id": q, "answerable": True, "first_relevant_rank": 1 if ok else 3}) + "\n"
            for q, ok in hits_at_1.items()
        ),
        encoding="utf-8",
    )
    (folder / "answers.jsonl").write_text(
        "".join(
            json.dumps({"id": q, "answerable": True, "answered": True, "correct": ok}) + "\n"
            for q, ok in correct.items()
        ),
        encoding="utf-8",
    )
    return folder


def test_cli_eval_compare(tmp_path: Path):
    a = write_results(
        tmp_path / "a", 0.80, {"q1": True, "q2": True, "q3": False}, {"q1": True, "q2": True}
    )
    b = write_results(
        tmp_path / "b", 0.75, {"q1": True, "q2": False, "q3": True}, {"q1": True, "q2": False}
    )
    dropped = runner.invoke(cli.app, ["eval", "compare", str(a), str(b), "--max-drop", "0.02"])
    assert dropped.exit_code == 1, dropped.output
    assert "FAIL" in dropped.output and "-0.050" in dropped.output
    assert (
        "Hit@1 right → wrong (1): q2" in dropped.output
        and "Hit@1 wrong → right (1): q3" in dropped.output
    )
    assert "answer right → wrong (1): q2" in dropped.output
    assert (
        runner.invoke(cli.app, ["eval", "compare", str(a), str(b), "--max-drop", "0.1"]).exit_code
        == 0
    )
    assert (
        runner.invoke(cli.app, ["eval", "compare", str(b), str(a)]).exit_code == 0
    )  # a rise is fine
    on_answers = runner.invoke(cli.app, ["eval", "compare", str(a), str(b), "--metric", "accuracy"])
    assert on_answers.exit_code == 1 and "answers accuracy: 1.000 → 0.500" in on_answers.output
    unknown = runner.invoke(cli.app, ["eval", "compare", str(a), str(b), "--metric", "bleu"])
    assert unknown.exit_code == 2 and "bleu" in unknown.output
    missing = runner.invoke(cli.app, ["eval", "compare", str(a), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "metrics.json" in missing.output


def test_cli_eval_split_scores_only_that_split(
    corpus_qa: PolicyQA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(cli, "_service", lambda: corpus_qa)
    path = tmp_path / "split.jsonl"
    rows = [dict(q, split="test" if q["id"] in ("zz", "no") else "dev") for q in TINY_SET]
    path.write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in rows), encoding="utf-8"
    )
    out = tmp_path / "out"
    done = runner.invoke(
        cli.app, ["eval", str(path), "--retriever", "bm25", "--split", "dev", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["config"]["n_questions"] == 2
    ids = {
        json.loads(line)["id"]
        for line in (out / "bm25" / "per_question.jsonl").read_text().splitlines()
    }
    assert ids == {"easy", "fu"}
    bad = runner.invoke(
        cli.app, ["eval", str(path), "--split", "train", "--out", str(tmp_path / "o2")]
    )
    assert bad.exit_code == 2 and "dev 或 test" in bad.output
