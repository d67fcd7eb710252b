"""Which questions a change turns right or wrong, on both indexes, test counted but never shown.

    # per-question correctness of the code on PYTHONPATH, on .policyqa and .policyqa-eval
    .venv/bin/python evals/flips.py run /tmp/before.json
    git worktree add /tmp/wt-base <commit>   # the code before the change
    PYTHONPATH=/tmp/wt-base .venv/bin/python evals/flips.py run /tmp/before.json
    .venv/bin/python evals/flips.py run /tmp/after.json
    .venv/bin/python evals/flips.py compare /tmp/before.json /tmp/after.json

``run`` asks every question of ``evals/sets/staff_qa.jsonl``, ``policy_qa.jsonl`` and
``who_when_qa.jsonl`` (or the sets named with ``--set``) on both indexes and writes, per index
and question id, whether the answer was right (``rag.evaluation.scoring.answer_correct``; a
refusal for an unanswerable question), its split, type and whether it was a false refusal.
Questions whose gold documents an index lacks are left out, as in ``evals/answers.py``.

``compare`` prints, per index, set group and split, the answerable accuracy, the refusal
accuracy and the false-refusal rate before → after, and how many questions went up and down.
It names the dev questions that moved (``--show-dev``) but never a test question: looking at
test flips while tuning turns the test split into a second dev split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ("staff_qa.jsonl", "policy_qa.jsonl", "who_when_qa.jsonl")
INDEXES = (".policyqa", ".policyqa-eval")


def run(out: Path, sets: list[Path]) -> None:
    from rag.evaluation.scoring import answer_correct, load_set
    from rag.service import PolicyQA
    from rag.settings import Settings

    rows: dict[str, dict] = {}
    for index in INDEXES:
        os.environ["POLICYQA_INDEX_DIR"] = str(ROOT / index)
        qa = PolicyQA(Settings())
        indexed = {d["doc_id"] for d in qa.documents()}
        for path in sets:
            for item in load_set(path):
                if item.answerable and not item.gold_docs & indexed:
                    continue
                a = qa.ask(item.question, history=item.history)
                ok = answer_correct(a, item.answers) if item.answerable else not a.answered
                rows[f"{index}|{item.id}"] = {
                    "ok": bool(ok),
                    "split": item.split,
                    "type": item.type,
                    "answerable": item.answerable,
                    "false_refusal": bool(item.answerable and not a.answered),
                    "set": path.stem,
                }
    out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _rates(rows: list[dict]) -> tuple[float, float, float, int, int]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    acc = sum(r["ok"] for r in ans) / len(ans) if ans else 0.0
    ref = sum(r["ok"] for r in una) / len(una) if una else 0.0
    fr = sum(r["false_refusal"] for r in ans) / len(ans) if ans else 0.0
    return acc, ref, fr, len(ans), len(una)


def compare(before_path: Path, after_path: Path, show_dev: bool) -> None:
    before = json.loads(before_path.read_text(encoding="utf-8"))
    after = json.loads(after_path.read_text(encoding="utf-8"))
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for key, row in after.items():
        if key in before:
            groups[(key.split("|")[0], row["set"], row["split"])].append(key)
    for (index, name, split), keys in sorted(groups.items()):
        a = _rates([before[k] for k in keys])
        b = _rates([after[k] for k in keys])
        up = [k for k in keys if not before[k]["ok"] and after[k]["ok"]]
        down = [k for k in keys if before[k]["ok"] and not after[k]["ok"]]
        print(
            f"{index:15} {name:12} {split:5} n {b[3]}+{b[4]}  acc {a[0]:.3f}→{b[0]:.3f}  "
            f"refusal {a[1]:.3f}→{b[1]:.3f}  false refusals {a[2]:.3f}→{b[2]:.3f}  "
            f"+{len(up)} −{len(down)}"
        )
        if show_dev and split == "dev" and (up or down):
            print("    up:  ", " ".join(k.split("|")[1] for k in up))
            print("    down:", " ".join(k.split("|")[1] for k in down))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="per-question correctness on both indexes")
    r.add_argument("out", type=Path)
    r.add_argument("--set", action="append", type=Path, help="a set (default: the three sets)")
    c = sub.add_parser("compare", help="before → after, with counts of questions that moved")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--show-dev", action="store_true", help="name the dev questions that moved")
    args = p.parse_args(argv)
    if args.command == "run":
        run(args.out, args.set or [ROOT / "evals" / "sets" / s for s in SETS])
    else:
        compare(args.before, args.after, args.show_dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
