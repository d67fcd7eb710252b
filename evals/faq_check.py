"""External check: real citizens' questions against their official answers, indexed as documents.

    .venv/bin/python evals/faq_check.py --build /tmp/faq     # sample every 7th FAQ, ingest its answers
    .venv/bin/python evals/faq_check.py /tmp/faq             # ask the questions, score the answers

``../shared/corpus/extra/beijing_gov_faq.jsonl`` (2,080 questions of 12 Beijing departments,
written by others, on other subjects than 招商) is never tuned on: it shows whether the answerer
generalises. Each answer becomes a document titled "<department>答复<id>" (the question is not
in it). Scores: share answered, share whose first citation is the gold answer, and the share
of the gold answer's character bigrams that the answer text covers (mean, and ≥ 0.8).
"""

import argparse
import json
import re
import time
from pathlib import Path

from rag.service import PolicyQA
from rag.settings import Settings

FAQ = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "corpus"
    / "extra"
    / "beijing_gov_faq.jsonl"
)
p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("folder", type=Path)
p.add_argument("--build", action="store_true")
args = p.parse_args()
if args.build:
    rows = [
        json.loads(line) for line in FAQ.read_text(encoding="utf-8").splitlines() if line.strip()
    ][::7]
    (args.folder / "corpus").mkdir(parents=True, exist_ok=True)
    (args.folder / "corpus" / "faq.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "_id": r["id"],
                    "title": f"{r['department']}答复{r['id']}",
                    "content": r["answer"],
                },
                ensure_ascii=False,
            )
            + "\n"
            for r in rows
        ),
        encoding="utf-8",
    )
    (args.folder / "sample.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    PolicyQA(Settings(index_dir=args.folder / "index")).ingest([args.folder / "corpus"])
    raise SystemExit(0)
sample = json.loads((args.folder / "sample.json").read_text(encoding="utf-8"))
qa = PolicyQA(Settings(index_dir=args.folder / "index"))
docs = {d["doc_id"]: d for d in qa.documents()}
byid = {d["doc_id"].split("#")[-1]: d["doc_id"] for d in docs.values()}


def bigrams(text: str) -> set[str]:
    text = re.sub(r"\s|\[\d+\]", "", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


n = answered = doc_ok = 0
recall: list[float] = []
t0 = time.time()
for r in sample:
    gold_doc = byid.get(r["id"])
    if gold_doc is None:
        continue
    n += 1
    a = qa.ask(r["question"])
    answered += a.answered
    doc_ok += bool(a.citations) and a.citations[0].doc_id == gold_doc
    gold = bigrams(r["answer"])
    got = bigrams(a.text) if a.answered or a.mode == "partial" else set()
    recall.append(len(gold & got) / max(len(gold), 1))
print(
    f"questions {n}: answered {answered / n:.3f}, first citation from the gold answer {doc_ok / n:.3f}, "
    f"gold-answer bigram recall {sum(recall) / n:.3f}, covered ≥ 0.8: {sum(x >= 0.8 for x in recall) / n:.3f} "
    f"({time.time() - t0:.0f} s)"
)
