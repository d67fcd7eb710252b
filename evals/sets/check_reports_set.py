#!/usr/bin/env python3
"""Checker for evals/sets/reports_qa.jsonl (standard library only).

Usage:  python3 evals/sets/check_reports_set.py [path/to/set.jsonl]

The set asks about the State Council government work reports
(GWR_PATH, default /work/shared/corpus/extra/government_work_reports.jsonl).
For every question it checks that

  * the record has id, question, answers, source, type and split;
  * source is "government_work_reports#<exact title>" of a report in the file;
  * each answer (1-3 per question, 2-20 characters, no whitespace) occurs
    verbatim in that report's content with all whitespace removed;
  * split is "dev" or "test".

and over the whole set: unique ids, at least MIN_TOTAL questions, the minimum
per type, at most MAX_PER_REPORT questions per report, at least MIN_REPORTS
distinct reports, and both splits present.  Answers that also occur in many
other reports are listed as warnings.  Exit code 1 on any error.
"""

import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GWR = os.environ.get("GWR_PATH", "/work/shared/corpus/extra/government_work_reports.jsonl")
GWR_PREFIX = "government_work_reports#"
SET_PATH = os.path.join(HERE, "reports_qa.jsonl")

MINIMUMS = {"report_year": 60, "mechanism": 25, "list": 20, "paraphrase": 40, "case": 15}
MIN_TOTAL = 175
MIN_REPORTS = 50
MAX_PER_REPORT = 6
MIN_ANSWERS, MAX_ANSWERS = 1, 3
MIN_ANS_LEN, MAX_ANS_LEN = 2, 20
SPLITS = ("dev", "test")
# an answer found in this many other reports is flagged as unspecific (warning)
MANY_OTHER_REPORTS = 10


def strip_ws(s):
    return "".join(s.split())


def load_reports(path):
    reports = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                reports[GWR_PREFIX + d["title"]] = strip_ws(d.get("content") or "")
    return reports


def read_records(path, errors):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: bad JSON: {e}")
    return recs


def check_record(rid, r, reports, errors, warnings):
    """Fields, source and answers of one record; the source when it is known, else None."""
    for k in ("id", "question", "answers", "source", "type", "split"):
        if k not in r:
            errors.append(f"{rid}: missing field {k!r}")
    if r.get("type") not in MINIMUMS:
        errors.append("{}: unknown type {!r}".format(rid, r.get("type")))
    if r.get("split") not in SPLITS:
        errors.append("{}: split {!r} is not dev or test".format(rid, r.get("split")))
    if not isinstance(r.get("question"), str) or not r.get("question", "").strip():
        errors.append(f"{rid}: empty question")
    src, answers = r.get("source"), r.get("answers")
    if src not in reports:
        errors.append(f"{rid}: unknown source {src!r}")
        return None
    if not isinstance(answers, list) or not (MIN_ANSWERS <= len(answers) <= MAX_ANSWERS):
        errors.append(f"{rid}: want {MIN_ANSWERS}-{MAX_ANSWERS} answers, got {answers!r}")
        return src
    if len(set(answers)) != len(answers):
        errors.append(f"{rid}: repeated answer strings")
    for a in answers:
        if not isinstance(a, str):
            errors.append(f"{rid}: non-string answer {a!r}")
            continue
        if a != strip_ws(a):
            errors.append(f"{rid}: answer {a!r} contains whitespace")
        if not (MIN_ANS_LEN <= len(a) <= MAX_ANS_LEN):
            errors.append(f"{rid}: answer {a!r} has length {len(a)}")
        if a not in reports[src]:
            errors.append(f"{rid}: answer {a!r} NOT FOUND in {src}")
        others = sum(1 for t, c in reports.items() if t != src and a in c)
        if others >= MANY_OTHER_REPORTS:
            warnings.append(f"{rid}: answer {a!r} also occurs in {others} other reports")
    return src


def check_counts(recs, type_counts, report_counts, split_counts, errors):
    if len(recs) < MIN_TOTAL:
        errors.append(f"only {len(recs)} questions (< {MIN_TOTAL})")
    for t, want in MINIMUMS.items():
        if type_counts.get(t, 0) < want:
            errors.append(f"type {t}: {type_counts.get(t, 0)} questions (< {want})")
    for src, c in report_counts.items():
        if c > MAX_PER_REPORT:
            errors.append(f"{src}: {c} questions (> {MAX_PER_REPORT})")
    if len(report_counts) < MIN_REPORTS:
        errors.append(f"only {len(report_counts)} distinct reports (< {MIN_REPORTS})")
    for s in SPLITS:
        if not split_counts.get(s):
            errors.append(f"no questions in split {s}")


def main(argv):
    path = argv[1] if len(argv) > 1 else SET_PATH
    reports = load_reports(GWR)
    errors, warnings = [], []
    recs = read_records(path, errors)
    ids = collections.Counter(r.get("id") for _, r in recs)
    errors += [f"duplicate id {i!r} ({c} times)" for i, c in ids.items() if c > 1]
    type_counts, report_counts = collections.Counter(), collections.Counter()
    split_counts, by_type_split = collections.Counter(), collections.Counter()
    for n, r in recs:
        src = check_record(r.get("id", f"line{n}"), r, reports, errors, warnings)
        type_counts[r.get("type")] += 1
        split_counts[r.get("split")] += 1
        by_type_split[(r.get("type"), r.get("split"))] += 1
        if src is not None:
            report_counts[src] += 1
    check_counts(recs, type_counts, report_counts, split_counts, errors)

    print(f"questions: {len(recs)}   reports: {len(report_counts)}")
    print(f"{'type':<12} {'dev':>5} {'test':>5} {'all':>5}  (min)")
    for t, want in MINIMUMS.items():
        print(
            f"{t:<12} {by_type_split[(t, 'dev')]:5d} {by_type_split[(t, 'test')]:5d}"
            f" {type_counts[t]:5d}  ({want})"
        )
    print(f"{'TOTAL':<12} {split_counts['dev']:5d} {split_counts['test']:5d} {len(recs):5d}")
    for w in warnings:
        print("warning: " + w)
    if errors:
        print(f"\nERRORS ({len(errors)}):")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: every answer found, ids unique, counts meet the rules.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
