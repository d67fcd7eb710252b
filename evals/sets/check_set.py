#!/usr/bin/env python3
"""Checker for evals/sets/policy_qa.jsonl (standard library only).

Usage:  python3 evals/sets/check_set.py [path/to/set.jsonl] [--dump DOC_ID]

For every question it checks that each answer string occurs verbatim in the
normalised text of the gold document:
  * all whitespace removed (str.split() semantics: spaces, tabs, newlines,
    full-width space ...);
  * file 003 is split into its three documents at the anchor lines
    "河北省将落地转化" (start of #2) and "瞄准新兴产业 汝州致力创造招商奇迹"
    (start of #3, as in catalog.csv starts_at);
  * in part #3, lines printed twice ("在当下招商引资过程中在当下招商引资过程中，，还还")
    are de-doubled: a line is doubled when it tokenises into runs of
    non-punctuation text each of the form XX and punctuation characters each
    doubled ("，，" -> "，", "““五改五改””" -> "“五改”").
It also reports duplicate ids, malformed records, type counts and per-document
counts, and checks them against the rules of the brief.  Exit code 1 on any
error.
"""

import collections
import csv
import json
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))  # /work/main
CORPUS = os.path.join(ROOT, "corpus")
GWR = os.environ.get("GWR_PATH", "/work/shared/corpus/extra/government_work_reports.jsonl")
GWR_PREFIX = "government_work_reports#"
SET_PATH = os.path.join(HERE, "policy_qa.jsonl")

ANCHOR_2 = "河北省将落地转化"
ANCHOR_3 = "瞄准新兴产业汝州致力创造招商奇迹"  # compared whitespace-free

TYPES = [
    "responsibility",
    "mechanism",
    "case",
    "list",
    "paraphrase",
    "followup",
    "unanswerable",
    "report_year",
]
TARGETS = {
    "responsibility": 30,
    "mechanism": 25,
    "case": 25,
    "list": 15,
    "paraphrase": 25,
    "followup": 15,
    "unanswerable": 20,
    "report_year": 20,
}
MIN_TOTAL = 170
MIN_PER_SEED_DOC = 8
MIN_ANS_LEN, MAX_ANS_LEN = 2, 20


def strip_ws(s):
    return "".join(s.split())


def is_punct(ch):
    return unicodedata.category(ch).startswith("P")


def tokenize(line):
    """Split into maximal runs of punctuation / non-punctuation characters."""
    runs = []
    for ch in line:
        p = is_punct(ch)
        if runs and runs[-1][0] == p:
            runs[-1][1].append(ch)
        else:
            runs.append((p, [ch]))
    return [(p, "".join(cs)) for p, cs in runs]


def dedouble_line(line):
    """Return the de-doubled line, or None if the line is not doubled."""
    if not line:
        return None
    out = []
    for p, run in tokenize(line):
        if len(run) % 2:
            return None
        if p:
            pairs = [run[i : i + 2] for i in range(0, len(run), 2)]
            if any(a[0] != a[1] for a in pairs):
                return None
            out.append("".join(a[0] for a in pairs))
        else:
            h = len(run) // 2
            if run[:h] != run[h:]:
                return None
            out.append(run[:h])
    return "".join(out)


def split_003(raw):
    lines = raw.splitlines()
    i2 = next(i for i, ln in enumerate(lines) if strip_ws(ln) == ANCHOR_2)
    i3 = next(i for i, ln in enumerate(lines) if strip_ws(ln) == ANCHOR_3)
    p1, p2, p3 = lines[:i2], lines[i2:i3], lines[i3:]
    p3_clean = []
    n_doubled = 0
    for ln in p3:
        s = strip_ws(ln)
        d = dedouble_line(s)
        if d is not None:
            n_doubled += 1
            p3_clean.append(d)
        else:
            p3_clean.append(s)
    return (
        "".join(strip_ws(ln) for ln in p1),
        "".join(strip_ws(ln) for ln in p2),
        "".join(p3_clean),
        n_doubled,
    )


def load_docs():
    docs = {}
    with open(os.path.join(CORPUS, "catalog.csv"), encoding="utf-8") as f:
        catalog = list(csv.DictReader(f))
    for row in catalog:
        fn = row["file"]
        with open(os.path.join(CORPUS, fn), encoding="utf-8") as f:
            raw = f.read()
        if row["doc_id"].startswith("003_"):
            p1, p2, p3, _ = split_003(raw)
            base = row["doc_id"].split("#")[0]
            docs[base + "#1"], docs[base + "#2"], docs[base + "#3"] = p1, p2, p3
        else:
            docs[row["doc_id"]] = strip_ws(raw)
    seed_ids = [r["doc_id"] for r in catalog]
    with open(GWR, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            docs[GWR_PREFIX + d["title"]] = strip_ws(d.get("content") or "")
    return docs, seed_ids


def read_records(path, errors):
    """(line number, object) for every non-blank line; bad JSON lines go to ``errors``."""
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append("line %d: bad JSON: %s" % (n, e))
    return recs


def check_duplicates(recs, errors, warnings):
    ids = collections.Counter(r.get("id") for _, r in recs)
    for i, c in ids.items():
        if c > 1:
            errors.append("duplicate id %r (%d times)" % (i, c))
    questions = collections.Counter(r.get("question") for _, r in recs)
    for q, c in questions.items():
        if c > 1:
            warnings.append("duplicate question text %r (%d times)" % (q, c))


def check_fields(rid, r, errors, warnings):
    """The record's fields and type rules; False when its answers cannot be checked further."""
    for k in ("id", "question", "answers", "source", "type"):
        if k not in r:
            errors.append(f"{rid}: missing field {k!r}")
    t = r.get("type")
    if t not in TYPES:
        errors.append(f"{rid}: unknown type {t!r}")
    src, answers = r.get("source"), r.get("answers", [])
    if not isinstance(answers, list):
        errors.append(f"{rid}: answers is not a list")
        return False
    if t == "unanswerable":
        if answers or src is not None:
            errors.append(f"{rid}: unanswerable must have answers [] and source null")
        return False
    if not answers:
        errors.append(f"{rid}: answerable question without answers")
    if t == "followup":
        h = r.get("history")
        if not isinstance(h, list) or not h or not all(isinstance(x, str) and x for x in h):
            errors.append(f"{rid}: followup needs a non-empty history list")
    elif "history" in r:
        warnings.append(f"{rid}: history on non-followup question")
    if t == "report_year" and not (isinstance(src, str) and src.startswith(GWR_PREFIX)):
        errors.append(f"{rid}: report_year source must be a government work report")
    return True


def check_answer(rid, a, src, docs, seed_ids, errors, warnings):
    """One gold string: a whitespace-free string of the allowed length found in its source;
    True when found."""
    if not isinstance(a, str):
        errors.append(f"{rid}: non-string answer {a!r}")
        return False
    if a != strip_ws(a):
        errors.append(f"{rid}: answer {a!r} contains whitespace")
    if not (MIN_ANS_LEN <= len(a) <= MAX_ANS_LEN):
        errors.append(
            "%s: answer %r has length %d (want %d-%d)" % (rid, a, len(a), MIN_ANS_LEN, MAX_ANS_LEN)
        )
    found = a in docs[src]
    if not found:
        errors.append(f"{rid}: answer {a!r} NOT FOUND in {src}")
    # '.', '%', '/' inside numbers ("592.6亿元", "1/4", "10%") are
    # expected; any other punctuation is width/normalisation-sensitive
    bad = [
        ch
        for i, ch in enumerate(a)
        if is_punct(ch)
        and not (
            ch in ".%/"
            and ((i > 0 and a[i - 1].isdigit()) or (i + 1 < len(a) and a[i + 1].isdigit()))
        )
    ]
    if bad:
        warnings.append("{}: answer {!r} contains punctuation {}".format(rid, a, "".join(bad)))
    # specificity: how many other seed docs also contain the string
    others = [d for d in seed_ids if d != src and a in docs[d]]
    if others:
        warnings.append("{}: answer {!r} also occurs in {}".format(rid, a, ", ".join(others)))
    return found


def print_counts(total, n_answers, n_found, type_counts, doc_counts, seed_ids):
    print("questions: %d   answers: %d   found: %d" % (total, n_answers, n_found))
    print("\ntype counts (target):")
    for t in TYPES:
        print("  %-15s %4d  (%d)" % (t, type_counts.get(t, 0), TARGETS[t]))
    print("\nper-document counts:")
    for d in seed_ids:
        print("  %-45s %4d" % (d, doc_counts.get(d, 0)))
    gwr = {d: c for d, c in doc_counts.items() if d.startswith(GWR_PREFIX)}
    print("  %-45s %4d  (%d reports)" % ("government_work_reports#*", sum(gwr.values()), len(gwr)))
    for d in sorted(gwr):
        print("      %-41s %4d" % (d[len(GWR_PREFIX) :], gwr[d]))
    print("  %-45s %4d" % ("(unanswerable, source null)", doc_counts.get("(none)", 0)))


def check_counts(total, type_counts, doc_counts, seed_ids, errors):
    if total < MIN_TOTAL:
        errors.append("only %d questions (< %d)" % (total, MIN_TOTAL))
    for d in seed_ids:
        if doc_counts.get(d, 0) < MIN_PER_SEED_DOC:
            errors.append(
                "document %s has only %d questions (< %d)"
                % (d, doc_counts.get(d, 0), MIN_PER_SEED_DOC)
            )
    for t, want in TARGETS.items():
        got = type_counts.get(t, 0)
        if got < want * 0.8:
            errors.append("type %s: %d questions, far below target %d" % (t, got, want))


def finish(errors, warnings):
    if warnings:
        print("\nwarnings (%d):" % len(warnings))
        for w in warnings:
            print("  " + w)
    if errors:
        print("\nERRORS (%d):" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: every answer found, no duplicate ids, counts meet the rules.")
    return 0


def main(argv):
    path = SET_PATH
    dump = None
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--dump":
            dump = args.pop(0)
        else:
            path = a
    docs, seed_ids = load_docs()
    if dump:
        print(docs[dump])
        return 0

    errors, warnings = [], []
    recs = read_records(path, errors)
    check_duplicates(recs, errors, warnings)
    type_counts = collections.Counter()
    doc_counts = collections.Counter()
    n_answers = n_found = 0
    for n, r in recs:
        rid = r.get("id", "line%d" % n)
        type_counts[r.get("type")] += 1
        if not check_fields(rid, r, errors, warnings):
            if r.get("type") == "unanswerable" and isinstance(r.get("answers", []), list):
                doc_counts["(none)"] += 1
            continue
        src, answers = r.get("source"), r.get("answers", [])
        if src not in docs:
            errors.append(f"{rid}: unknown source {src!r}")
            continue
        doc_counts[src] += 1
        if len(set(answers)) != len(answers):
            errors.append(f"{rid}: repeated answer strings")
        for a in answers:
            n_answers += 1
            n_found += check_answer(rid, a, src, docs, seed_ids, errors, warnings)
    print_counts(len(recs), n_answers, n_found, type_counts, doc_counts, seed_ids)
    check_counts(len(recs), type_counts, doc_counts, seed_ids, errors)
    return finish(errors, warnings)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
