"""Retrieval and answer evaluation over a question set (``policyqa eval``).

Relevance is judged by document and answer string, never by chunk id, so a set survives
re-chunking: a retrieved chunk is *relevant* to a question when its ``doc_id`` is a gold
document (``source`` or one of ``sources``) and its text contains at least one gold
answer string. Strings are compared after ``normalize`` (no whitespace, full-width ASCII
made half-width), because PDF text is spaced oddly. A question with gold documents but no
answer strings (a BEIR set) is judged by document alone.

Relevance is known only for the chunks a retriever returned: nobody labelled the whole
index. nDCG's ideal ranking is therefore built from the relevant chunks *retrieved* (all
hits returned, depth max(k, 10)), so nDCG@10 measures how well a run orders what it found,
not how much it missed; Hit@k, Recall@k and coverage@k cover the missing part.

The ``doc_*`` metrics judge by document only: the first hit of each gold document is
relevant (later hits of the same document add nothing), and because the gold documents
are *all* the relevant documents, doc_nDCG's ideal holds min(#gold, k) of them.

The metric functions are pure and take a ranked list of booleans (``rels[i]`` is the
relevance of the hit at rank i + 1) or of strings; ``evaluate`` runs a search function
over a set; ``write_run`` writes run.trec, qrels.trec, misses.md and per_question.jsonl;
``result_row``/``result_from_row`` store a finished question for ``--resume``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rag.answer import MARKER
from rag.errors import PolicyQAError
from rag.records import Answer, Citation
from rag.retrieval.rewrite import rewrite_followup

DEPTH = 10  # MRR and nDCG are reported @10; at least this many hits are retrieved
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # ！…～ → !…~


class EvalSetError(PolicyQAError):
    """The question set is missing or malformed (the message names the line)."""


class ResumeError(PolicyQAError):
    """``--resume`` found results of another set or configuration in ``--out``."""


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
    split: str = ""  # "dev" or "test" (``evals/sets/split.py``); "" when the set has no split

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
        "split": data.get("split", "") in ("", "dev", "test"),
    }
    for name, ok in checks.items():
        if not ok:
            raise EvalSetError(f"评测集第 {line} 行字段“{name}”的值无效")
    gold = frozenset([*([data["source"]] if data["source"] else []), *data.get("sources", [])])
    if gold and not [a for a in data["answers"] if normalize(a)]:
        raise EvalSetError(f"评测集第 {line} 行有 source 但 answers 为空")
    return EvalItem(
        id=data["id"],
        question=data["question"],
        answers=tuple(data["answers"]),
        type=data["type"],
        gold_docs=gold,
        history=tuple(data.get("history", [])),
        split=data.get("split", ""),
    )


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
            raise EvalSetError(
                f"评测集第 {no} 行不是有效的 JSON（第 {e.colno} 列：{e.msg}）"
            ) from e
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
    """A hit is relevant when it is from a gold document and holds a gold answer string.

    Without answer strings (BEIR qrels) the document alone decides.
    """
    return doc_id in item.gold_docs and (not item.answers or contains_any(text, item.answers))


def doc_first_rels(doc_ids: Sequence[str], gold_docs: Iterable[str]) -> list[bool]:
    """Relevance by document only: True at the first hit of each gold document.

    doc_first_rels(["b", "a", "a", "c"], {"a", "c"}) → [False, True, False, True]
    """
    gold, seen = set(gold_docs), set()
    rels = []
    for d in doc_ids:
        rels.append(d in gold and d not in seen)
        seen.add(d)
    return rels


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


def ndcg_at(rels: Sequence[bool], k: int = DEPTH, n_relevant: int | None = None) -> float:
    """nDCG@k with binary gains; the ideal puts every *retrieved* relevant hit first.

    DCG = Σ rel_i / log2(i + 1) over ranks i ≤ k; ideal DCG is the same sum for
    min(R, k) relevant hits at ranks 1…, where R counts the relevant hits in all of
    ``rels`` (the whole retrieved list, which may be deeper than k), or is ``n_relevant``
    when every relevant item is known (gold documents). 0 when R = 0.

    ndcg_at([True, False, True]) → (1 + 1/log2(4)) / (1 + 1/log2(3)) ≈ 0.9197;
    ndcg_at([True], n_relevant=2) → 1 / (1 + 1/log2(3)) ≈ 0.6131
    """
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(rels[:k], start=1) if r)
    total = sum(rels) if n_relevant is None else n_relevant
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(total, k) + 1))
    return dcg / ideal if ideal else 0.0


def doc_recall_at(doc_ids: Sequence[str], gold_docs: Iterable[str], k: int) -> float:
    """Fraction of gold documents among the documents of the top ``k`` hits.

    Judged by document only (no answer string). doc_recall_at(["a", "b", "a"], {"b", "c"}, 2) → 0.5
    """
    gold = set(gold_docs)
    return len(gold & set(doc_ids[:k])) / len(gold) if gold else 0.0


def answer_recall_at(docs: Sequence[str], texts: Sequence[str], item: EvalItem, k: int) -> float:
    """Fraction of gold answer strings found in top-``k`` hits *from a gold document*.

    Like ``coverage_at`` but judged by document and answer string: for answers
    ["李民生", "武磊"] and top hits [("A", "李民生"), ("B", "武磊")] with gold {"A"} → 0.5.
    """
    return coverage_at(
        [t for d, t in zip(docs[:k], texts[:k], strict=True) if d in item.gold_docs],
        item.answers,
        k,
    )


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
    body = normalize(MARKER.sub("", answer.text))
    return answer.answered and bool(gold) and all(normalize(g) in body for g in gold)


def citation_validity(answers: Sequence[Answer], chunk_texts: Mapping[str, str]) -> float:
    """Fraction of all citations whose quote is a verbatim substring of the cited chunk.

    ``chunk_texts`` maps chunk id → stored text. 1.0 when there are no citations.
    """
    cites = [c for a in answers for c in a.citations]
    if not cites:
        return 1.0
    return sum(bool(c.quote) and c.quote in chunk_texts.get(c.chunk_id, "") for c in cites) / len(
        cites
    )


def citation_precision(
    pairs: Sequence[tuple[Answer, Sequence[str]]], chunk_texts: Mapping[str, str]
) -> float:
    """Fraction of citations (of answers to answerable questions) whose chunk holds a gold string.

    ``pairs`` are (answer, gold strings); 0.0 when there are no citations.
    """
    judged = [
        contains_any(chunk_texts.get(c.chunk_id, ""), gold)
        for a, gold in pairs
        if gold
        for c in a.citations
    ]
    return sum(judged) / len(judged) if judged else 0.0


def refusal_accuracy(answers: Sequence[Answer]) -> float:
    """Fraction of answers to *unanswerable* questions that refused (``answered`` False)."""
    return sum(not a.answered for a in answers) / len(answers) if answers else 0.0


def false_refusal_rate(answers: Sequence[Answer]) -> float:
    """Fraction of answers to *answerable* questions that refused."""
    return refusal_accuracy(answers)


def _mean(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def answer_metrics(
    items: Sequence[EvalItem], answers: Sequence[Answer], chunk_texts: Mapping[str, str]
) -> dict[str, Any]:
    """Accuracy, follow-up accuracy, citation validity/precision, refusals, with counts.

    A rate without questions to judge is None (n/a): ``accuracy`` needs answerable
    questions with answer strings, ``followup_accuracy`` those with a history,
    ``refusal_accuracy`` unanswerable ones. ``accuracy_per_type`` has the accuracy of each
    answerable question type.
    """
    ok = [(i, a) for i, a in zip(items, answers, strict=True) if i.answerable]
    no = [a for i, a in zip(items, answers, strict=True) if not i.answerable]
    graded = [(i, answer_correct(a, i.answers)) for i, a in ok if i.answers]
    per_type: dict[str, list[bool]] = {}
    for i, correct in graded:
        per_type.setdefault(i.type, []).append(correct)
    return {
        "accuracy_per_type": {t: sum(v) / len(v) for t, v in sorted(per_type.items())},
        "n_answerable": len(ok),
        "n_unanswerable": len(no),
        "n_followup": sum(bool(i.history) for i, _ in graded),
        "accuracy": _mean([c for _, c in graded]),
        "followup_accuracy": _mean([c for i, c in graded if i.history]),
        "citation_validity": citation_validity(answers, chunk_texts),
        "citation_precision": citation_precision([(a, i.answers) for i, a in ok], chunk_texts),
        "refusal_accuracy": refusal_accuracy(no) if no else None,
        "false_refusal_rate": false_refusal_rate([a for _, a in ok]) if ok else None,
    }


def answer_from_dict(d: Mapping[str, Any]) -> Answer:
    """The ``Answer`` back from its ``to_dict()`` (what answers.jsonl and the checkpoint hold)."""
    fields = {f.name for f in dataclasses.fields(Citation)}
    return Answer(
        d["question"],
        d["rewritten_question"],
        d["answered"],
        d["answer"],
        [Citation(**{k: v for k, v in c.items() if k in fields}) for c in d.get("citations", [])],
        d.get("mode", "extractive"),
        list(d.get("notes", [])),
        list(d.get("flagged_numbers", [])),
        list(d.get("closest", [])),
        float(d.get("strength", 0.0)),
    )


# ------------------------------------------------------------------------- one run


@dataclass
class QuestionResult:
    """One question run through one retriever."""

    item: EvalItem
    query: str
    hits: list[HitLike]
    latency_ms: float
    rels: list[bool] = field(init=False)
    doc_rels: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        self.rels = [is_relevant(self.item, h.doc_id, h.text) for h in self.hits]
        self.doc_rels = doc_first_rels([h.doc_id for h in self.hits], self.item.gold_docs)

    @property
    def first_rank(self) -> int | None:
        return first_relevant_rank(self.rels)


def evaluate(
    search: Callable[[str], Sequence[HitLike]],
    items: Iterable[EvalItem],
    on_done: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    """Run ``search`` (query → ranked hits) for every item, timing each call.

    ``on_done`` gets each result as soon as it exists (progress, checkpoint).
    """
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
            on_done(results[-1])
    return results


def metric_keys(ks: Sequence[int]) -> list[str]:
    """The keys of ``summarize``, in report order.

    By document and answer string: hit@k, mrr@10, ndcg@10, answer_recall@k, coverage@k
    (any document); by document only: doc_hit@k, doc_mrr@10, doc_ndcg@10, recall@k.
    """
    return [
        *(f"hit@{k}" for k in ks),
        "mrr@10",
        "ndcg@10",
        *(f"answer_recall@{k}" for k in ks),
        *(f"coverage@{k}" for k in ks),
        *(f"doc_hit@{k}" for k in ks),
        "doc_mrr@10",
        "doc_ndcg@10",
        *(f"recall@{k}" for k in ks),
    ]


def question_metrics(r: QuestionResult, ks: Sequence[int]) -> dict[str, float]:
    """The ``metric_keys`` of one answerable question; no answer strings → no answer_recall/coverage."""
    docs, texts = [h.doc_id for h in r.hits], [h.text for h in r.hits]
    by_answer = (
        (
            {f"answer_recall@{k}": answer_recall_at(docs, texts, r.item, k) for k in ks}
            | {f"coverage@{k}": coverage_at(texts, r.item.answers, k) for k in ks}
        )
        if r.item.answers
        else {}
    )
    return (
        {f"hit@{k}": hit_at(r.rels, k) for k in ks}
        | {"mrr@10": mrr_at(r.rels), "ndcg@10": ndcg_at(r.rels)}
        | by_answer
        | {f"doc_hit@{k}": hit_at(r.doc_rels, k) for k in ks}
        | {
            "doc_mrr@10": mrr_at(r.doc_rels),
            "doc_ndcg@10": ndcg_at(r.doc_rels, n_relevant=len(r.item.gold_docs)),
        }
        | {f"recall@{k}": doc_recall_at(docs, r.item.gold_docs, k) for k in ks}
    )


def summarize(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, float | None]:
    """``question_metrics`` averaged over the answerable questions, with their count ``n``.

    Each key is averaged over the questions it applies to; None when it applies to none
    (coverage of a set without answer strings). No answerable question: only ``n`` (0).
    """
    rows = [question_metrics(r, ks) for r in results if r.item.answerable]
    means: dict[str, float | None] = {"n": len(rows)}
    if not rows:
        return means
    for key in metric_keys(ks):
        values = [row[key] for row in rows if key in row]
        means[key] = sum(values) / len(values) if values else None
    return means


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
    return "".join(
        f"{r.item.id} Q0 {_docno(h.chunk_id)} {h.rank} {1 / h.rank:.6f} {run_name}\n"
        for r in results
        if r.item.answerable
        for h in r.hits
    )


def trec_qrels(results: Sequence[QuestionResult]) -> str:
    """``qid 0 docno rel`` for every retrieved chunk of an answerable question: 1 relevant, 0 not.

    The 0 lines keep questions with no relevant hit in the judgements, so ranx rescoring
    run.trec with these qrels averages over the same questions as metrics.json.
    """
    return "".join(
        f"{r.item.id} 0 {_docno(h.chunk_id)} {int(rel)}\n"
        for r in results
        if r.item.answerable
        for h, rel in zip(r.hits, r.rels, strict=True)
    )


def _excerpt(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"


def misses_markdown(results: Sequence[QuestionResult], run_name: str, level: int = 1) -> str:
    """Every answerable question whose first relevant hit is not at rank 1, with its top 3.

    ``level`` is the heading level of the title (2 inside report.md).
    """
    h1, h2 = "#" * level, "#" * (level + 1)
    lines = [f"{h1} Misses: {run_name}", ""]
    misses = [r for r in results if r.item.answerable and r.first_rank != 1]
    lines.append(
        f"{len(misses)} of {sum(r.item.answerable for r in results)} answerable questions "
        "have no relevant hit at rank 1."
    )
    for r in misses:
        where = (
            f"first relevant at rank {r.first_rank}"
            if r.first_rank
            else f"no relevant hit in top {len(r.hits)}"
        )
        lines += [
            "",
            f"{h2} {r.item.id} ({r.item.type}): {where}",
            "",
            f"- question: {r.item.question}",
        ]
        if r.query != r.item.question:
            lines.append(f"- rewritten query: {r.query}")
        lines.append(
            f"- gold: {', '.join(sorted(r.item.gold_docs))}; answers: {' / '.join(r.item.answers)}"
        )
        for h, rel in list(zip(r.hits, r.rels, strict=True))[:3]:
            mark = " ✓" if rel else ""
            lines.append(
                f"- {h.rank}.{mark} 《{h.title}》 `{h.doc_id}` dense={h.dense_rank} bm25={h.bm25_rank}: "
                f"{_excerpt(h.text)}"
            )
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
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in per_question_rows(results)),
        encoding="utf-8",
    )


# ------------------------------------------------------------------------- checkpoint (--resume)


@dataclass(frozen=True)
class StoredHit:
    """A hit as the checkpoint stores it: enough to judge and report it again."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None


def result_row(r: QuestionResult) -> dict[str, Any]:
    """One checkpoint line for a finished question (``result_from_row`` reads it back)."""
    hits = [{f.name: getattr(h, f.name) for f in dataclasses.fields(StoredHit)} for h in r.hits]
    return {"id": r.item.id, "query": r.query, "latency_ms": r.latency_ms, "hits": hits}


def result_from_row(row: Mapping[str, Any], item: EvalItem) -> QuestionResult:
    """The ``QuestionResult`` of a checkpoint line, judged again against ``item``."""
    hits: list[HitLike] = [StoredHit(**h) for h in row["hits"]]
    return QuestionResult(item, row["query"], hits, float(row["latency_ms"]))


def open_checkpoint(
    path: Path, key: Mapping[str, Any], resume: bool, commit: str | None = None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The rows already in ``path`` by question id when resuming (else {} and a fresh file), and notes.

    The first line is ``{"checkpoint": key, "git_commit": commit}``; resuming a file made
    with another key (set, retriever, index, settings) raises ``ResumeError`` naming what
    differs; another commit is only a note. Unreadable lines (a write cut short) are
    skipped: those questions run again.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if resume and path.exists() else []
    if not lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {"checkpoint": dict(key), "git_commit": commit}
        path.write_text(json.dumps(head, ensure_ascii=False) + "\n", encoding="utf-8")
        return {}, []
    try:
        head = json.loads(lines[0])
        old = head["checkpoint"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ResumeError(
            f"无法续跑：{path} 的第一行不是检查点信息；请换一个 --out，或去掉 --resume 重新开始"
        ) from e
    diff = [f"{k}: {old.get(k)} → {v}" for k, v in key.items() if old.get(k) != v]
    if diff:
        raise ResumeError(
            f"无法续跑：{path} 中的结果来自不同的评测集或配置（{'；'.join(diff)}）。"
            "请换一个 --out，或去掉 --resume 重新开始。"
        )
    notes = (
        [f"{path} 中已有的结果来自代码版本 {head.get('git_commit')}，现在是 {commit}"]
        if head.get("git_commit") != commit
        else []
    )
    rows: dict[str, dict[str, Any]] = {}
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            rows[row["id"]] = row
    return rows, notes


def append_row(path: Path, row: Mapping[str, Any]) -> None:
    """Append one finished question to a checkpoint, flushed at once (Ctrl-C keeps it)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def file_digest(path: Path) -> str:
    """sha256 of a set file, or of a BEIR folder's queries.jsonl and qrels/test.tsv (first 16 hex)."""
    files = [path / "queries.jsonl", path / "qrels" / "test.tsv"] if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def git_commit(cwd: Path) -> str | None:
    """HEAD's commit (with "-dirty" if the tree has changes), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")
