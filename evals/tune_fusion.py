"""Choose the hybrid fusion across corpora: ``python evals/tune_fusion.py`` (dev split only).

For every (index, set) pair given with ``--pair INDEX_DIR:SET.jsonl``, every answerable
question of the split is searched once: the first runs (dense, BM25, fields, named place;
``HybridRetriever.first_runs``, with the service's implied filters) and the best-sentence
score of every candidate they bring. Each fusion setting of the grid then re-fuses those
runs in memory (RRF with its constant k, or score-normalised CombSUM; a weight per run; the
named-year and named-kind runs at the fixed ``--year-weight`` and ``--kind-weight``, default
2 each, as the settings have them) and
is scored by MRR@10 and Hit@5 per pair, relevance judged as ``policyqa eval`` judges it
(gold document and a gold answer string). Near-duplicate collapsing is left out here.

The choice is by **minimax regret**: for each pair the regret of a setting is the best MRR@10
any setting reaches on that pair minus its own; the setting whose worst regret is smallest
wins (ties: the higher mean). A setting fitted to one corpus loses on the other; this prefers
the one that does least harm on the corpus it suits worst. It prints the grid's best
settings, then a sensitivity table per pair around the choice.

    python evals/tune_fusion.py --pair .policyqa:evals/sets/policy_qa.jsonl \\
        --pair .policyqa-eval:evals/sets/reports_qa.jsonl --split dev
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

from rag.evaluation.scoring import is_relevant, load_set
from rag.retrieval.retrieve import HybridRetriever, _unit_vector, unit_texts
from rag.retrieval.runs import Run, fuse, sentence_run
from rag.service import PolicyQA
from rag.settings import Settings

FIRST = ("dense", "bm25", "fields", "place")
DEPTH = 10


@dataclass(frozen=True)
class Question:
    """One question's runs, its candidates' best-sentence scores and its relevant chunks."""

    runs: dict[str, Run]
    sentences: dict[str, float]
    relevant: frozenset[str]


@dataclass(frozen=True)
class Setting:
    method: str  # "rrf" or "combsum"
    k: int  # RRF constant (unused by combsum)
    weights: tuple[float, float, float, float, float]  # dense, bm25, fields, place, sentence

    def label(self) -> str:
        w = ":".join(f"{x:g}" for x in self.weights)
        return f"{self.method}{'' if self.method == 'combsum' else f' k={self.k}'} w={w}"


def collect(qa: PolicyQA, set_path: Path, split: str, field_boost: float) -> list[Question]:
    """Search every answerable question of the split once and keep what re-fusing needs."""
    out = []
    for item in load_set(set_path):
        if not item.answerable or (split and item.split != split):
            continue
        query = item.query
        retriever = HybridRetriever(
            index=qa.index,
            filters=qa.implied_filters(query),
            fields_weight=1.0,
            place_weight=1.0,
            year_weight=1.0,
            kind_weight=1.0,
            field_boost=field_boost,
        )
        runs = retriever.first_runs(query)
        pool = list(dict.fromkeys(cid for run in runs.values() for cid, _ in run))
        chunks = qa.index.chunks(pool) if pool else []
        relevant = frozenset(
            cid for cid, text, meta in chunks if is_relevant(item, str(meta["doc_id"]), text)
        )
        sentences = sentence_run(
            _unit_vector(qa.index.embed_query(query)),
            [(cid, unit_texts(text, meta)) for cid, text, meta in chunks],
            qa.index.units.lookup,
        )
        out.append(Question(runs, dict(sentences), relevant))
    return out


def ranking(
    q: Question, s: Setting, sentence_candidates: int, fixed: tuple[float, float] = (0.0, 0.0)
) -> list[str]:
    """The top ``DEPTH`` chunk ids under setting ``s`` (as ``HybridRetriever`` ranks them),
    the named-year and named-kind runs fused at the ``fixed`` weights (not part of the grid)."""
    runs = [*(q.runs[n] for n in FIRST), q.runs.get("year", []), q.runs.get("kind", [])]
    first = (*s.weights[:4], *fixed)
    fused = fuse(runs, first, s.method, s.k)
    if s.weights[4] and sentence_candidates:
        top = [cid for cid, _ in fused[:sentence_candidates]]
        sent = sorted(
            ((c, q.sentences[c]) for c in top if c in q.sentences), key=lambda kv: (-kv[1], kv[0])
        )
        fused = fuse([*runs, sent], (*first, s.weights[4]), s.method, s.k)
    return [cid for cid, _ in fused[:DEPTH]]


def score(
    questions: list[Question],
    s: Setting,
    sentence_candidates: int,
    fixed: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, float]:
    """(MRR@10, Hit@5) of setting ``s`` over the questions."""
    rr, hit5 = [], []
    for q in questions:
        ranked = ranking(q, s, sentence_candidates, fixed)
        first = next((i for i, cid in enumerate(ranked, 1) if cid in q.relevant), None)
        rr.append(1 / first if first else 0.0)
        hit5.append(1.0 if first and first <= 5 else 0.0)
    return statistics.fmean(rr), statistics.fmean(hit5)


def grid() -> list[Setting]:
    """RRF at several k and CombSUM, over weights of each run (dense fixed at 1)."""
    weights = [
        (1.0, b, f, p, s)
        for b, f, p, s in itertools.product((1.0, 2.0, 3.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0))
    ]
    rrf = [Setting("rrf", k, w) for k in (1, 2, 5, 10, 30, 60) for w in weights]
    return rrf + [Setting("combsum", 0, w) for w in weights]


def choose(table: dict[Setting, list[tuple[float, float]]]) -> tuple[Setting, dict[Setting, float]]:
    """The setting of least worst regret in MRR@10 (ties: higher mean MRR), and every regret."""
    n = len(next(iter(table.values())))
    best = [max(v[i][0] for v in table.values()) for i in range(n)]
    regret = {s: max(best[i] - v[i][0] for i in range(n)) for s, v in table.items()}
    chosen = min(
        table, key=lambda s: (round(regret[s], 4), -statistics.fmean(m for m, _ in table[s]))
    )
    return chosen, regret


def neighbours(chosen: Setting, baseline: Setting) -> list[tuple[str, Setting]]:
    """Settings one step from the choice: other k, one run off, CombSUM; and the old default."""
    w = chosen.weights
    out = [("chosen", chosen), ("old default", baseline)]
    out += [(f"k={k}", Setting("rrf", k, w)) for k in (1, 2, 5, 10, 60) if k != chosen.k]
    for i, name in enumerate(("dense", "bm25", "fields", "place", "sentence")):
        if w[i]:
            off = tuple(0.0 if j == i else x for j, x in enumerate(w))
            out.append((f"no {name}", Setting(chosen.method, chosen.k, off)))  # type: ignore[arg-type]
    out.append(("combsum", Setting("combsum", 0, w)))
    return out


def _print_table(pairs: list[str], rows: list[tuple[str, Setting]], table: dict) -> None:
    print("| setting | " + " | ".join(pairs) + " |")
    print("| --- |" + " --- |" * len(pairs))
    for name, s in rows:
        cells = " | ".join(f"{m:.3f} / {h:.3f}" for m, h in table[s])
        print(f"| {name}: {s.label()} | {cells} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", action="append", required=True, help="INDEX_DIR:SET.jsonl")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--field-boost", type=float, default=0.5)
    ap.add_argument("--sentence-candidates", type=int, default=10)
    ap.add_argument(
        "--year-weight", type=float, default=2.0, help="named-year run, fixed (0 = off)"
    )
    ap.add_argument(
        "--kind-weight", type=float, default=2.0, help="named-kind run, fixed (0 = off)"
    )
    args = ap.parse_args()
    data, names = [], []
    for pair in args.pair:
        index_dir, set_path = pair.split(":", 1)
        qa = PolicyQA(Settings(index_dir=Path(index_dir)))
        data.append(collect(qa, Path(set_path), args.split, args.field_boost))
        names.append(f"{Path(index_dir).name} × {Path(set_path).stem} ({len(data[-1])})")
    fixed = (args.year_weight, args.kind_weight)
    settings = grid()
    baseline = Setting("rrf", 5, (1.0, 3.0, 0.0, 0.0, 0.0))
    table = {
        s: [score(q, s, args.sentence_candidates, fixed) for q in data]
        for s in [*settings, baseline]
    }
    chosen, regret = choose(table)
    print(f"split {args.split}; MRR@10 / Hit@5 per pair; chosen by minimax regret in MRR@10\n")
    print("Best settings (least worst regret first):\n")
    top = sorted(
        table, key=lambda s: (round(regret[s], 4), -statistics.fmean(m for m, _ in table[s]))
    )
    _print_table(names, [(f"regret {regret[s]:.3f}", s) for s in top[:8]], table)
    print("\nEach pair's own best:\n")
    own = [max(table, key=lambda s, i=i: table[s][i][0]) for i in range(len(names))]
    _print_table(
        names, [(f"best on {names[i].split(' (')[0]}", s) for i, s in enumerate(own)], table
    )
    print("\nSensitivity around the choice:\n")
    around = neighbours(chosen, baseline)
    for _, s in around:
        if s not in table:
            table[s] = [score(q, s, args.sentence_candidates, fixed) for q in data]
    _print_table(names, around, table)


if __name__ == "__main__":
    main()
