"""Answer quality by split, on whatever index ``POLICYQA_INDEX_DIR`` names.

    SETS="evals/sets/staff_qa.jsonl evals/sets/policy_qa.jsonl"
    POLICYQA_INDEX_DIR=.policyqa .venv/bin/python evals/answers.py $SETS --split dev
    POLICYQA_INDEX_DIR=.policyqa-eval .venv/bin/python evals/answers.py $SETS --split test

(``evals/sets/pending_*.jsonl`` is a batch kept blind for the next round's first contact:
not part of the runs until then.)

For each set it asks every question of the split (``PolicyQA.ask`` with the question's
history) and prints the answer metrics of ``rag.evaluation.scoring.answer_metrics`` — accuracy
(overall and per type), refusal accuracy, false refusals, citation validity — and the ask
latency. Questions whose gold documents are not indexed (report questions on the index of
``corpus/`` alone) are left out and counted, so the same sets run on both indexes.

``--misses`` prints every wrong answer; use it on ``dev`` only: looking at ``test`` misses
while tuning turns the test split into a second dev split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rag.evaluation.scoring import answer_correct, answer_metrics, load_set, percentile
from rag.service import PolicyQA
from rag.settings import Settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+", type=Path)
    p.add_argument("--split", default="all", choices=["dev", "test", "all"])
    p.add_argument("--misses", action="store_true", help="print the wrong answers (dev only)")
    p.add_argument("--json", type=Path, help="write the metrics here")
    args = p.parse_args(argv)
    if args.misses and args.split != "dev":
        p.error("--misses is for the dev split only")
    qa = PolicyQA(Settings())
    indexed = {d["doc_id"] for d in qa.documents()}
    items, skipped = [], 0
    for path in args.sets:
        for item in load_set(path):
            if args.split != "all" and item.split != args.split:
                continue
            if item.answerable and not item.gold_docs & indexed:
                skipped += 1
                continue
            items.append(item)
    qa.ask("预热", ())  # model and index loaded before timing
    answers, times = [], []
    for item in items:
        t = time.perf_counter()
        answers.append(qa.ask(item.question, history=item.history))
        times.append((time.perf_counter() - t) * 1000)
    cites = [c.chunk_id for a in answers for c in a.citations]
    metrics = answer_metrics(items, answers, qa.stored_texts(cites))
    metrics |= {
        "split": args.split,
        "n_skipped_not_indexed": skipped,
        "ask_ms_p50": percentile(times, 50),
        "ask_ms_p95": percentile(times, 95),
        "documents": len(indexed),
    }
    for key, value in metrics.items():
        if isinstance(value, float):
            value = round(value, 3)
        elif isinstance(value, dict):
            value = {k: round(v, 3) for k, v in value.items()}
        print(f"{key:24} {value}")
    if args.misses:
        for item, a in zip(items, answers, strict=True):
            ok = answer_correct(a, item.answers) if item.answerable else not a.answered
            if not ok:
                print(f"\n✗ {item.id} [{item.type}] {item.question}  history={list(item.history)}")
                print(
                    f"  gold: {list(item.answers) or 'REFUSE'}  ({a.mode}, strength {a.strength:.3f})"
                )
                print(f"  → {a.text[:300]}")
    if args.json:
        args.json.write_text(json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
