"""Retrieval and answer evaluation over a question set (``policyqa eval``).

Relevance is judged by document and answer string, never by chunk id, so a set survives
re-chunking: a retrieved chunk is *relevant* to a question when its ``doc_id`` is a gold
document (``source`` or one of ``sources``) and its text contains at least one gold
answer string. Strings are compared after ``normalize`` (no whitespace, full-width ASCII
made half-width), because PDF text is spaced oddly.

Relevance is known only for the chunks a retriever returned: nobody labelled the whole
index. nDCG's ideal ranking is therefore built from the relevant chunks *retrieved* (all
hits returned, depth max(k, 10)), so nDCG@10 measures how well a run orders what it found,
not how much it missed; Hit@k, Recall@k and coverage@k cover the missing part.

The metric functions are pure and take a ranked list of booleans (``rels[i]`` is the
relevance of the hit at rank i + 1) or of strings; ``evaluate`` runs a search function
over a set; ``write_outputs`` writes metrics.json, run.trec, qrels.trec, misses.md and
per_question.jsonl.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rag.answer import Answer
from rag.errors import PolicyQAError
from rag.rewrite import rewrite_followup

DEPTH = 10  # MRR and nDCG are reported @10; at least this many hits are retrieved
_MARKER = re.compile(r"\[\d{1,2}\]")
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # ！…～ → !…~


class EvalSetError(PolicyQAError):
    """The question set is missing or malformed (the message names the line)."""


class HitLike(Protocol):
    """What the evaluator reads from a ``rag.service.Hit``."""

    @property
    def rank(self) -> int: ...
    @property
    def chunk_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def dense_rank(self) -> int | None: ...
    @property
    def bm25_rank(self) -> int | None: ...


# ------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class EvalItem:
    """One line of the set: a question, its gold answer strings and gold document(s)."""

    id: str
    question: str
    answers: tuple[str, ...]
    type: str
    gold_docs: frozenset[str]  # empty = unanswerable
    history: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.gold_docs)

    @property
    def query(self) -> str:
        """The retrieval query: the follow-up rewritten with its history, else the question."""
        return rewrite_followup(self.question, self.history) if self.history else self.question


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def parse_item(data: Any, line: int) -> EvalItem:
    """An ``EvalItem`` from one decoded JSON line; ``EvalSetError`` names the line and field.

    parse_item({"id": "q1", "question": "…", "answers": ["李民生"], "source": "002_x",
    "type": "responsibility"}, 1).gold_docs → frozenset({"002_x"})
    """
    if not isinstance(data, dict):
        raise EvalSetError(f"评测集第 {line} 行不是 JSON 对象")
    for name in ("id", "question", "answers", "source", "type"):
        if name not in data:
            raise EvalSetError(f"评测集第 {line} 行缺少字段“{name}”")
    checks = {
        "id": isinstance(data["id"], str) and bool(data["id"].strip()),
        "question": isinstance(data["question"], str) and bool(data["question"].strip()),
        "answers": _str_list(data["answers"]),
        "source": data["source"] is None or isinstance(data["source"], str),
        "type": isinstance(data["type"], str),
        "sources": _str_list(data.get("sources", [])),
        "history": _str_list(data.get("history", [])),
    }
    for name, ok in checks.items():
        if not ok:
            raise EvalSetError(f"评测集第 {line} 行字段“{name}”的值无效")
    gold = frozenset([*([data["source"]] if data["source"] else []), *data.get("sources", [])])
    if gold and not [a for a in data["answers"] if normalize(a)]:
        raise EvalSetError(f"评测集第 {line} 行有 source 但 answers 为空")
    return EvalItem(id=data["id"], question=data["question"], answers=tuple(data["answers"]),
                    type=data["type"], gold_docs=gold, history=tuple(data.get("history", [])))


def load_set(path: Path) -> list[EvalItem]:
    """Every question of a JSONL set (blank lines skipped); ids must be unique."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise EvalSetError(f"评测集文件不存在：{path}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f"无法读取评测集 {path}：{e}") from e
    items: list[EvalItem] = []
    seen: set[str] = set()
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalSetError(f"评测集第 {no} 行不是有效的 JSON（第 {e.colno} 列：{e.msg}）") from e
        item = parse_item(data, no)
        if item.id in seen:
            raise EvalSetError(f"评测集第 {no} 行的 id“{item.id}”重复")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalSetError(f"评测集 {path} 中没有问题")
    return items


# ------------------------------------------------------------------------- relevance


def normalize(text: str) -> str:
    """Text for answer matching: all whitespace removed, full-width ASCII made half-width.

    normalize("市 发展\\n改革委（ＡＢ１２）") → "市发展改革委(AB12)"
    """
    return "".join(text.translate(_FULL_WIDTH).split())


def contains_any(text: str, answers: Iterable[str]) -> bool:
    """Whether ``text`` contains one of ``answers`` (normalised on both sides).

    contains_any("牵头领导：李 民生", ["李民生", "武磊"]) → True
    """
    body = normalize(text)
    return any(a and a in body for a in map(normalize, answers))


def is_relevant(item: EvalItem, doc_id: str, text: str) -> bool:
    """A hit is relevant when it is from a gold document and holds a gold answer string."""
    return doc_id in item.gold_docs and contains_any(text, item.answers)


# ------------------------------------------------------------------------- retrieval metrics


def first_relevant_rank(rels: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant hit, or None.

    first_relevant_rank([False, True, True]) → 2
    """
    return next((i for i, r in enumerate(rels, start=1) if r), None)


def hit_at(rels: Sequence[bool], k: int) -> float:
    """Hit@k: 1.0 if any of the top ``k`` hits is relevant.

    hit_at([False, True], 1) → 0.0;  hit_at([False, True], 3) → 1.0
    """
    return 1.0 if any(rels[:k]) else 0.0


def mrr_at(rels: Sequence[bool], k: int = DEPTH) -> float:
    """Reciprocal rank of the first relevant hit within the top ``k``, else 0.

    mrr_at([False, True, True]) → 0.5
    """
    rank = first_relevant_rank(rels[:k])
    return 1.0 / rank if rank else 0.0


def ndcg_at(rels: Sequence[bool], k: int = DEPTH) -> float:
    """nDCG@k with binary gains; the ideal puts every *retrieved* relevant hit first.

    DCG = Σ rel_i / log2(i + 1) over ranks i ≤ k; ideal DCG is the same sum for
    min(R, k) relevant hits at ranks 1…, where R counts the relevant hits in all of
    ``rels`` (the whole retrieved list, which may be deeper than k). 0 when R = 0.

    ndcg_at([True, False, True]) → (1 + 1/log2(4)) / (1 + 1/log2(3)) ≈ 0.9197
    """
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(rels[:k], start=1) if r)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(sum(rels), k) + 1))
    return dcg / ideal if ideal else 0.0


def doc_recall_at(doc_ids: Sequence[str], gold_docs: Iterable[str], k: int) -> float:
    """Fraction of gold documents among the documents of the top ``k`` hits.

    Judged by document only (no answer string). doc_recall_at(["a", "b", "a"], {"b", "c"}, 2) → 0.5
    """
    gold = set(gold_docs)
    return len(gold & set(doc_ids[:k])) / len(gold) if gold else 0.0


def coverage_at(texts: Sequence[str], answers: Sequence[str], k: int) -> float:
    """Fraction of gold answer strings found in the text of the top ``k`` hits, any document.

    The top-k texts are concatenated with a separator, so a string must lie inside one
    hit. coverage_at(["李民生 牵头", "市商务局"], ["李民生", "市商务局", "武磊"], 1) → 1/3
    """
    gold = [a for a in map(normalize, answers) if a]
    if not gold:
        return 0.0
    joined = "\x00".join(normalize(t) for t in texts[:k])
    return sum(a in joined for a in gold) / len(gold)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), linear between closest ranks; 0 for no values.

    percentile([10, 20, 30, 40], 50) → 25.0
    """
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# ------------------------------------------------------------------------- answer metrics


def answer_correct(answer: Answer, gold: Sequence[str]) -> bool:
    """Answered, and every gold string is in the answer text (markers [n] removed).

    An answer "牵头领导为李民生[1]" is correct for ["李民生"], not for ["李民生", "武磊"].
    """
    body = normalize(_MARKER.sub("", answer.text))
    return answer.answered and bool(gold) and all(normalize(g) in body for g in gold)


def citation_validity(answers: Sequence[Answer], chunk_texts: Mapping[str, str]) -> float:
    """Fraction of all citations whose quote is a verbatim substring of the cited chunk.

    ``chunk_texts`` maps chunk id → stored text. 1.0 when there are no citations.
    """
    cites = [c for a in answers for c in a.citations]
    if not cites:
        return 1.0
    return sum(bool(c.quote) and c.quote in chunk_texts.get(c.chunk_id, "") for c in cites) / len(cites)


def citation_precision(pairs: Sequence[tuple[Answer, Sequence[str]]], chunk_texts: Mapping[str, str]) -> float:
    """Fraction of citations (of answers to answerable questions) whose chunk holds a gold string.

    ``pairs`` are (answer, gold strings); 0.0 when there are no citations.
    """
    judged = [contains_any(chunk_texts.get(c.chunk_id, ""), gold) for a, gold in pairs if gold
              for c in a.citations]
    return sum(judged) / len(judged) if judged else 0.0


def refusal_accuracy(answers: Sequence[Answer]) -> float:
    """Fraction of answers to *unanswerable* questions that refused (``answered`` False)."""
    return sum(not a.answered for a in answers) / len(answers) if answers else 0.0


def false_refusal_rate(answers: Sequence[Answer]) -> float:
    """Fraction of answers to *answerable* questions that refused."""
    return refusal_accuracy(answers)


def answer_metrics(items: Sequence[EvalItem], answers: Sequence[Answer],
                   chunk_texts: Mapping[str, str]) -> dict[str, Any]:
    """Accuracy, citation validity/precision, refusal accuracy and false refusals, with counts.

    ``accuracy_per_type`` has the accuracy of each answerable question type, so follow-ups
    can be compared with standalone questions.
    """
    ok = [(i, a) for i, a in zip(items, answers, strict=True) if i.answerable]
    no = [a for i, a in zip(items, answers, strict=True) if not i.answerable]
    per_type: dict[str, list[bool]] = {}
    for i, a in ok:
        per_type.setdefault(i.type, []).append(answer_correct(a, i.answers))
    return {
        "accuracy_per_type": {t: sum(v) / len(v) for t, v in sorted(per_type.items())},
        "n_answerable": len(ok),
        "n_unanswerable": len(no),
        "accuracy": sum(answer_correct(a, i.answers) for i, a in ok) / len(ok) if ok else 0.0,
        "citation_validity": citation_validity(answers, chunk_texts),
        "citation_precision": citation_precision([(a, i.answers) for i, a in ok], chunk_texts),
        "refusal_accuracy": refusal_accuracy(no),
        "false_refusal_rate": false_refusal_rate([a for _, a in ok]),
    }


# ------------------------------------------------------------------------- one run


@dataclass
class QuestionResult:
    """One question run through one retriever."""

    item: EvalItem
    query: str
    hits: list[HitLike]
    latency_ms: float
    rels: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        self.rels = [is_relevant(self.item, h.doc_id, h.text) for h in self.hits]

    @property
    def first_rank(self) -> int | None:
        return first_relevant_rank(self.rels)


def evaluate(search: Callable[[str], Sequence[HitLike]], items: Iterable[EvalItem],
             on_done: Callable[[], None] | None = None) -> list[QuestionResult]:
    """Run ``search`` (query → ranked hits) for every item, timing each call."""
    results = []
    for item in items:
        query = item.query
        start = time.perf_counter()
        try:
            hits = list(search(query))
        except PolicyQAError as e:
            raise PolicyQAError(f"问题 {item.id}：{e}") from e
        ms = (time.perf_counter() - start) * 1000
        results.append(QuestionResult(item, query, hits, ms))
        if on_done:
            on_done()
    return results


def question_metrics(r: QuestionResult, ks: Sequence[int]) -> dict[str, float]:
    """Hit@k, MRR@10, nDCG@10, Recall@k and coverage@k of one answered question."""
    docs, texts = [h.doc_id for h in r.hits], [h.text for h in r.hits]
    return (
        {f"hit@{k}": hit_at(r.rels, k) for k in ks}
        | {"mrr@10": mrr_at(r.rels), "ndcg@10": ndcg_at(r.rels)}
        | {f"recall@{k}": doc_recall_at(docs, r.item.gold_docs, k) for k in ks}
        | {f"coverage@{k}": coverage_at(texts, r.item.answers, k) for k in ks}
    )


def summarize(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, float]:
    """``question_metrics`` averaged over the answerable questions, with their count ``n``."""
    rows = [question_metrics(r, ks) for r in results if r.item.answerable]
    means = {key: sum(row[key] for row in rows) / len(rows) for key in (rows[0] if rows else {})}
    return {"n": len(rows)} | means


def report(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, Any]:
    """One retriever's block of metrics.json: overall, per type, counts, latency."""
    types = sorted({r.item.type for r in results if r.item.answerable})
    ms = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "n_answerable": sum(r.item.answerable for r in results),
        "n_unanswerable": sum(not r.item.answerable for r in results),
        "overall": summarize(results, ks),
        "per_type": {t: summarize([r for r in results if r.item.type == t], ks) for t in types},
        "latency_ms": {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)},
    }


# ------------------------------------------------------------------------- output files


def _docno(chunk_id: str) -> str:
    return re.sub(r"\s", "_", chunk_id)


def trec_run(results: Sequence[QuestionResult], run_name: str) -> str:
    """``qid Q0 docno rank score run`` lines, answerable questions only.

    The score column is 1/rank: trec_eval and ranx re-sort by score, and ties among the
    retriever's own (fused) scores would otherwise be broken by docno. The retriever's
    scores are kept in per_question.jsonl.
    """
    return "".join(f"{r.item.id} Q0 {_docno(h.chunk_id)} {h.rank} {1 / h.rank:.6f} {run_name}\n"
                   for r in results if r.item.answerable for h in r.hits)


def trec_qrels(results: Sequence[QuestionResult]) -> str:
    """``qid 0 docno rel`` for every retrieved chunk of an answerable question: 1 relevant, 0 not.

    The 0 lines keep questions with no relevant hit in the judgements, so ranx rescoring
    run.trec with these qrels averages over the same questions as metrics.json.
    """
    return "".join(f"{r.item.id} 0 {_docno(h.chunk_id)} {int(rel)}\n"
                   for r in results if r.item.answerable for h, rel in zip(r.hits, r.rels, strict=True))


def _excerpt(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"


def misses_markdown(results: Sequence[QuestionResult], run_name: str) -> str:
    """Every answerable question whose first relevant hit is not at rank 1, with its top 3."""
    lines = [f"# Misses: {run_name}", ""]
    misses = [r for r in results if r.item.answerable and r.first_rank != 1]
    lines.append(f"{len(misses)} of {sum(r.item.answerable for r in results)} answerable questions "
                 "have no relevant hit at rank 1.")
    for r in misses:
        where = f"first relevant at rank {r.first_rank}" if r.first_rank else f"no relevant hit in top {len(r.hits)}"
        lines += ["", f"## {r.item.id} ({r.item.type}): {where}", "", f"- question: {r.item.question}"]
        if r.query != r.item.question:
            lines.append(f"- rewritten query: {r.query}")
        lines.append(f"- gold: {', '.join(sorted(r.item.gold_docs))}; answers: {' / '.join(r.item.answers)}")
        for h, rel in list(zip(r.hits, r.rels, strict=True))[:3]:
            mark = " ✓" if rel else ""
            lines.append(f"- {h.rank}.{mark} 《{h.title}》 `{h.doc_id}` dense={h.dense_rank} bm25={h.bm25_rank}: "
                         f"{_excerpt(h.text)}")
    return "\n".join(lines) + "\n"


def per_question_rows(results: Sequence[QuestionResult]) -> list[dict[str, Any]]:
    """One JSON-able row per question: ids, query, first relevant rank, hits, latency."""
    return [
        {
            "id": r.item.id,
            "type": r.item.type,
            "question": r.item.question,
            "query": r.query,
            "answerable": r.item.answerable,
            "first_relevant_rank": r.first_rank,
            "hits": [h.chunk_id for h in r.hits],
            "docs": [h.doc_id for h in r.hits],
            "scores": [h.score for h in r.hits],
            "relevant_ranks": [h.rank for h, rel in zip(r.hits, r.rels, strict=True) if rel],
            "latency_ms": round(r.latency_ms, 2),
        }
        for r in results
    ]


def write_run(out_dir: Path, run_name: str, results: Sequence[QuestionResult]) -> None:
    """run.trec, qrels.trec, misses.md and per_question.jsonl in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "run.trec").write_text(trec_run(results, run_name), encoding="utf-8")
    (out_dir / "qrels.trec").write_text(trec_qrels(results), encoding="utf-8")
    (out_dir / "misses.md").write_text(misses_markdown(results, run_name), encoding="utf-8")
    (out_dir / "per_question.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in per_question_rows(results)), encoding="utf-8")


def git_commit(cwd: Path) -> str | None:
    """HEAD's commit (with "-dirty" if the tree has changes), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")
