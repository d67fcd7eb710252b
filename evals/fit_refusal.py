"""Fit the refusal model (``rag/data/refusal_model.json``) on the dev split of both indexes.

    .venv/bin/python evals/fit_refusal.py --index .policyqa --index .policyqa-eval \\
        evals/sets/policy_qa.jsonl evals/sets/staff_qa.jsonl [--write]

For every dev question the pipeline runs as ``PolicyQA.ask`` does (rewrite, search,
``answer_offline``) on each index, and its ``refusal.FEATURES`` are collected with the label
"answerable" (the set has a gold document). Questions a name rule already refuses are left
out. A logistic regression (L2, Newton steps, weights kept non-negative) is fitted on the rows of all
indexes together, on standardised features, and the threshold is the highest that keeps the dev rows' false
refusals within ``--max-false`` (3%): a wrong refusal of a colleague's real question costs
more than an extra answer, which the name rules and answer types already guard. It prints the fit, per-index dev refusal/false-refusal rates, and how
often one question gets the same verdict on every index. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

from rag.answering import answer_offline
from rag.answering.refusal import FEATURES, RefusalModel
from rag.evaluation.scoring import load_set
from rag.service import PolicyQA
from rag.settings import Settings


def collect(
    index_dir: Path, sets: list[Path]
) -> list[tuple[str, dict[str, float], bool, bool, bool]]:
    """(question id, features, answerable, refused by a name rule, answered in part) per dev question."""
    qa = PolicyQA(Settings(index_dir=index_dir))
    indexed = {d["doc_id"] for d in qa.documents()}
    rows = []
    for path in sets:
        for item in load_set(path):
            if item.split != "dev" or (item.answerable and not item.gold_docs & indexed):
                continue
            rewritten, _ = qa.rewrite(item.question, item.history)
            hits = qa.search(rewritten, k=qa.settings.answer_passages)
            # a model that answers everything: the features and the name rules are what we want
            draft = answer_offline(
                rewritten,
                hits,
                qa.library(),
                qa.settings.answer_max_chars,
                RefusalModel((0.0,) * len(FEATURES), 10.0, 0.5),
            )
            rule = (draft.verdict == "refuse" and bool(draft.missing)) or not draft.features
            rows.append(
                (item.id, draft.features, item.answerable, rule, draft.verdict == "partial")
            )
    return rows


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method with an L2 penalty (not on the bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.eye(xb.shape[1]) * l2
    reg[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + reg @ w
        hess = xb.T @ (xb * (p * (1 - p))[:, None]) + reg
        w -= np.linalg.solve(hess, grad)
    return w[:-1], float(w[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+", type=Path)
    p.add_argument("--index", action="append", type=Path, required=True)
    p.add_argument("--l2", type=float, default=1.0)
    p.add_argument(
        "--max-false", type=float, default=0.03, help="false refusals allowed on dev rows"
    )
    p.add_argument("--write", action="store_true", help="write rag/data/refusal_model.json")
    args = p.parse_args(argv)
    per_index = {str(d): collect(d, args.sets) for d in args.index}
    rows = [r for rs in per_index.values() for r in rs if not r[3] and not r[4]]
    x = np.array([[f[n] for n in FEATURES] for _, f, _, _, _ in rows])
    y = np.array([float(a) for _, _, a, _, _ in rows])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    # every feature means "more like an answerable question" when it grows: a negative weight
    # is an artefact of two correlated features (the quote's words are the passage's too), so a
    # feature whose weight comes out negative is left out and the rest refitted
    active = np.ones(len(FEATURES), dtype=bool)
    while True:
        wa, bz = fit(((x - mean) / std)[:, active], y, args.l2)
        wz = np.zeros(len(FEATURES))
        wz[active] = wa
        if (wz >= 0).all():
            break
        active[int(np.argmin(wz))] = False
    w, b = wz / std, bz - float((wz * mean / std).sum())  # weights on the raw features
    prob = 1 / (1 + np.exp(-(x @ w + b)))
    # the highest threshold that keeps false refusals of the dev rows within --max-false
    threshold = 0.05
    for t in np.arange(0.05, 0.96, 0.01):
        if float(((prob < t) & (y == 1)).sum() / max((y == 1).sum(), 1)) <= args.max_false:
            threshold = float(t)
    model = RefusalModel(tuple(float(v) for v in w), b, round(threshold, 2))
    print(
        "weights:",
        {n: round(float(v), 3) for n, v in zip(FEATURES, w, strict=True)},
        "bias",
        round(b, 3),
        "threshold",
        model.threshold,
        f"(rows {len(rows)}, answerable {int(y.sum())})",
    )
    verdicts: dict[str, list[bool]] = {}
    for name, rs in per_index.items():
        answered = {
            qid: not rule and not part and model.probability(f) >= model.threshold
            for qid, f, _, rule, part in rs
        }
        for qid, v in answered.items():
            verdicts.setdefault(qid, []).append(v)
        yes = [answered[qid] for qid, _, a, _, _ in rs if a]
        no = [answered[qid] for qid, _, a, _, _ in rs if not a]
        print(
            f"{name}: dev refusal of unanswerable {1 - sum(no) / max(len(no), 1):.3f} ({len(no)}), "
            f"false refusals {1 - sum(yes) / max(len(yes), 1):.3f} ({len(yes)}); "
            f"by name rules {sum(r[3] for r in rs)}, in part {sum(r[4] for r in rs)}"
        )
    both = [v for v in verdicts.values() if len(v) == len(per_index)]
    if len(per_index) > 1:
        print(
            f"same verdict on every index: {sum(len(set(v)) == 1 for v in both) / max(len(both), 1):.3f} "
            f"of {len(both)} questions"
        )
    if args.write:
        out = {
            "features": list(FEATURES),
            "weights": [round(v, 4) for v in w],
            "bias": round(b, 4),
            "threshold": model.threshold,
            "fitted": f"{date.today()} on the dev split of {', '.join(p.name for p in args.sets)} "
            f"over {len(per_index)} index(es), {len(rows)} rows (evals/fit_refusal.py)",
        }
        path = Path(__file__).resolve().parent.parent / "rag" / "data" / "refusal_model.json"
        path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
