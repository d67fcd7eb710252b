"""Query-latency benchmark: ``make bench`` (or ``python evals/bench.py``).

Runs every question of the eval set through each retriever over the index in
``POLICYQA_INDEX_DIR`` (``make bench`` uses the full eval index: corpus/ plus the 72
government work reports) and prints p50/p95 per retriever, next to plain Chroma dense
search (query embedding + ``collection.query``) measured in the same run, and the
extractive ``ask``. Timings include query embedding. Figures go to the README, not to a
timed test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rag.service import PolicyQA
from rag.settings import Settings

SET = Path(__file__).resolve().parent / "sets" / "policy_qa.jsonl"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: percentile([1, 2, 3, 4], 50) == 2."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def timed(fn: Callable[[str], object], questions: list[str], repeat: int) -> list[float]:
    fn(questions[0])  # warm-up: model load, BM25 load, Chroma caches
    out = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    svc = PolicyQA(Settings())
    questions = [json.loads(line)["question"] for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    index = svc.index

    def plain_dense(q: str) -> object:
        vec = index.embeddings.embed_query(q)
        return index.collection.query(query_embeddings=[vec], n_results=args.k, include=["documents", "metadatas"])

    runs: dict[str, list[float]] = {"chroma dense (plain)": timed(plain_dense, questions, args.repeat)}
    for name in ("dense", "bm25", "hybrid"):
        runs[name] = timed(lambda q, n=name: svc.search(q, k=args.k, retriever=n), questions, args.repeat)
    runs["ask (extractive)"] = timed(lambda q: svc.ask(q), questions, args.repeat)

    print(f"index: {index.count()} chunks, {len(svc.documents())} documents, embedder {index.embedder_name}; "
          f"{len(questions)} questions × {args.repeat}, k={args.k}")
    print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    figures = {}
    for name, ms in runs.items():
        figures[name] = {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "mean": statistics.fmean(ms)}
        f = figures[name]
        print(f"{name:24}{f['p50']:9.1f}{f['p95']:9.1f}{f['mean']:9.1f}")
    ratio = figures["hybrid"]["p95"] / figures["chroma dense (plain)"]["p95"]
    print(f"hybrid / plain dense p95 ratio: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures | {"hybrid_over_dense_p95": ratio}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
