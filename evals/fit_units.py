"""Fit the unit model (``rag/data/unit_model.json``): which sentence of the passages answers.

    .venv/bin/python evals/fit_units.py --index .policyqa --index .policyqa-eval \\
        evals/sets/policy_qa.jsonl evals/sets/staff_qa.jsonl [--write]

For every answerable dev question the answerer's first steps run as ``PolicyQA.ask`` runs
them (rewrite, search, the place-consistent passages, their units, meaning and words), and
each unit's ``UNIT_FEATURES`` are collected; a unit is a positive when it holds a gold string.
A linear model is fitted *listwise*: the softmax over one question's units should put its mass
on the positives (loss −log Σ_positives p, L2 on the weights). Rows of both indexes are pooled,
so the weights are the same for a small index and a large one.

It prints how often the best unit holds a gold string — in-sample, and by 5-fold
cross-validation over questions (both indexes' copies of a question in the same fold) — for
the fitted model and for the model now in ``rag/data``. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

from rag.answering import about, candidates, meaning_of
from rag.answering.evidence import (
    UNIT_FEATURES,
    UNIT_MODEL_FILE,
    UnitModel,
    question_terms,
    unit_features,
)
from rag.answering.types import answer_type
from rag.evaluation.scoring import load_set, normalize
from rag.service import PolicyQA
from rag.settings import Settings

Group = tuple[str, np.ndarray, np.ndarray]  # (question id, features, positive mask)


def collect(index_dir: Path, sets: list[Path], split: str = "dev") -> list[Group]:
    """One group per answerable question of ``split`` whose passages hold a gold string."""
    qa = PolicyQA(Settings(index_dir=index_dir))
    library = qa.library()
    indexed = {d["doc_id"] for d in qa.documents()}
    groups: list[Group] = []
    for path in sets:
        for item in load_set(path):
            if item.split != split or not item.answerable or not item.gold_docs & indexed:
                continue
            question, _ = qa.rewrite(item.question, item.history)
            hits = qa.search(question, k=qa.settings.answer_passages)
            hits, units = candidates(question, hits, library)
            if not units:
                continue
            gold = [normalize(g) for g in item.answers]
            positive = np.array([any(g in normalize(u.text) for g in gold) for u in units])
            if not positive.any():
                continue  # retrieval missed it: no unit to learn from
            content = about(question)  # as answer_offline: without the document's name
            terms = question_terms(content, library.idf, library.synonyms)
            x = unit_features(
                question,
                units,
                hits,
                terms,
                meaning_of(content, units, library),
                answer_type(question),
            )
            groups.append((item.id, x, positive))
    return groups


def loss_and_grad(w: np.ndarray, groups: list[Group], l2: float) -> tuple[float, np.ndarray]:
    loss, grad = 0.5 * l2 * float(w @ w), l2 * w
    for _, x, pos in groups:
        z = x @ w
        p = np.exp(z - z.max())
        p /= p.sum()
        mass = float(p[pos].sum())
        loss -= np.log(max(mass, 1e-12))
        q = np.where(pos, p / max(mass, 1e-12), 0.0)  # the positives' share of the mass
        grad += x.T @ (p - q)
    return loss / len(groups), grad / len(groups)


def fit(groups: list[Group], l2: float) -> np.ndarray:
    """The weights minimising the mean listwise loss plus ``l2``/2·|w|² (L-BFGS)."""
    from scipy.optimize import minimize

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = loss_and_grad(w, groups, 0.0)
        return loss + 0.5 * l2 * float(w @ w), grad + l2 * w

    return minimize(objective, np.zeros(len(UNIT_FEATURES)), jac=True, method="L-BFGS-B").x


def top1(w: np.ndarray, groups: list[Group]) -> float:
    return sum(bool(pos[int(np.argmax(x @ w))]) for _, x, pos in groups) / max(len(groups), 1)


def cross_validated(groups: list[Group], l2: float, folds: int = 5) -> float:
    ids = sorted({qid for qid, _, _ in groups})
    fold = {qid: i % folds for i, qid in enumerate(ids)}
    right = 0
    for f in range(folds):
        w = fit([g for g in groups if fold[g[0]] != f], l2)
        held = [g for g in groups if fold[g[0]] == f]
        right += round(top1(w, held) * len(held))
    return right / max(len(groups), 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sets", nargs="+", type=Path)
    p.add_argument("--index", action="append", type=Path, required=True)
    p.add_argument(
        "--l2",
        type=float,
        default=0.003,
        help="L2 penalty on the mean loss (chosen by CV log-loss)",
    )
    p.add_argument("--write", action="store_true", help="write rag/data/unit_model.json")
    p.add_argument(
        "--cache", type=Path, help="keep the collected features here (npz) and reuse them"
    )
    args = p.parse_args(argv)
    if args.cache and args.cache.exists():
        data = np.load(args.cache, allow_pickle=True)
        groups = [(str(q), x, pos) for q, x, pos in data["groups"]]
    else:
        groups = [g for d in args.index for g in collect(d, args.sets)]
        if args.cache:
            np.savez(args.cache, groups=np.array(groups, dtype=object))
    w = fit(groups, args.l2)
    print(
        f"{len(groups)} dev groups; weights:",
        {n: round(float(v), 3) for n, v in zip(UNIT_FEATURES, w, strict=True)},
    )
    print(
        f"best unit holds a gold string: fitted {top1(w, groups):.3f} in-sample, "
        f"{cross_validated(groups, args.l2):.3f} by 5-fold CV"
    )
    if UNIT_MODEL_FILE.exists():
        try:
            print(
                f"  model now in rag/data: {top1(np.asarray(UnitModel.load().weights), groups):.3f}"
            )
        except ValueError as e:
            print(f"  model now in rag/data: {e}")
    if args.write:
        out = {
            "features": list(UNIT_FEATURES),
            "weights": [round(float(v), 4) for v in w],
            "fitted": f"{date.today()} on the dev split of {', '.join(p.name for p in args.sets)} "
            f"over {len(args.index)} index(es), {len(groups)} questions, l2 {args.l2} (evals/fit_units.py)",
        }
        UNIT_MODEL_FILE.write_text(
            json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print("wrote", UNIT_MODEL_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
