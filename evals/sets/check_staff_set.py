#!/usr/bin/env python3
"""Checker for evals/sets/staff_qa.jsonl (standard library only).

Usage:  python3 evals/sets/check_staff_set.py [path/to/staff_qa.jsonl] [-v]

Re-uses the document loading / normalisation of check_set.py (whitespace
removal, the split of file 003 into #1/#2/#3, de-doubling of part #3, the
government work reports) and checks:

  * every line is valid JSON with id, question, answers, source, type;
    ids unique; split (if present) is "dev" or "test" and agrees with split.py;
  * answerable records: 1-3 answers, each 2-20 characters, no whitespace,
    occurring verbatim in the gold document or in one of "sources";
    source null  <=>  answers empty  <=>  type "unanswerable";
  * followups (and unanswerables that follow a conversation) carry a 1-2 question "history";
    report_year golds are reports;
  * type counts reach the staff-set minimums, list+mechanism >= 35,
    total >= 220, and every seed document is the gold of >= 10 questions;
  * no question is near-identical to a policy_qa.jsonl question
    (character-bigram Jaccard >= 0.6 is an error; >= 0.45 is listed as info);
    near-identical questions inside the staff set itself are warnings.

Information only: for each paraphrase question the share of its content
characters (question minus punctuation and question/function words) that
also occur in the answer's sentence(s) in the gold document; lower is
better, the target is a median <= 0.35.

Exit code 1 on any error.
"""

import collections
import json
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_set as cs  # noqa: E402  (load_docs, strip_ws, is_punct, GWR_PREFIX)
import split as split_mod  # noqa: E402

STAFF_PATH = os.path.join(HERE, "staff_qa.jsonl")
POLICY_PATH = os.path.join(HERE, "policy_qa.jsonl")

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
MIN_COUNTS = {
    "paraphrase": 65,
    "unanswerable": 45,
    "list": 20,
    "mechanism": 15,
    "followup": 22,
    "responsibility": 20,
    "case": 20,
    "report_year": 20,
}
MIN_LIST_PLUS_MECH = 35
MIN_TOTAL = 220
MIN_PER_SEED_DOC = 10
MIN_ANS_LEN, MAX_ANS_LEN = 2, 20
MAX_ANSWERS = 3
JACCARD_ERROR = 0.6
JACCARD_INFO = 0.45
JACCARD_SELF_WARN = 0.7
PARAPHRASE_TARGET_MEDIAN = 0.35

# question / function words removed before measuring lexical overlap
STOP_WORDS = [
    "什么",
    "哪些",
    "哪个",
    "哪位",
    "哪几",
    "哪里",
    "哪儿",
    "多少",
    "怎么",
    "怎样",
    "如何",
    "是不是",
    "有没有",
    "能不能",
    "为什么",
    "为啥",
    "干什么",
    "具体",
    "分别",
    "一下",
    "一共",
    "原文",
    "文章",
    "材料",
    "这份",
    "那份",
    "那个",
    "这个",
    "这种",
    "那种",
    "里面",
    "说的",
    "说要",
    "叫啥",
    "是啥",
]
STOP_CHARS = set("的了是吗呢啊吧呀么哪谁几个这那里在和与及对把被要为有都也还又就会能得地着过")


def bigrams(s):
    s = "".join(ch for ch in cs.strip_ws(s) if not cs.is_punct(ch))
    return {s[i : i + 2] for i in range(len(s) - 1)}


def jaccard(a, b):
    A, B = bigrams(a), bigrams(b)
    if not A or not B:
        return 0.0
    return len(A & B) / len(A | B)


def content_chars(q):
    s = "".join(ch for ch in cs.strip_ws(q) if not cs.is_punct(ch))
    for w in STOP_WORDS:
        s = s.replace(w, "")
    return [ch for ch in s if ch not in STOP_CHARS and not ch.isdigit()]


SENT_END = re.compile(r"[。！？；]")


def sentence_of(text, ans):
    """The sentence(s) of text containing the first occurrence of ans."""
    i = text.find(ans)
    if i < 0:
        return ""
    j = i + len(ans)
    starts = [m.end() for m in SENT_END.finditer(text, 0, i)]
    s = starts[-1] if starts else 0
    m = SENT_END.search(text, j)
    e = m.end() if m else len(text)
    return text[s:e]


def overlap_share(q, sentences):
    cc = content_chars(q)
    if not cc:
        return 0.0
    pool = set("".join(sentences))
    return sum(1 for ch in cc if ch in pool) / len(cc)


def load_jsonl(path, errors):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append("line %d: bad JSON: %s" % (n, e))
                continue
            if not isinstance(r, dict):
                errors.append("line %d: not a JSON object" % n)
                continue
            recs.append((n, r))
    return recs


class Tally:
    """What the record checks count, for the report and the minimums."""

    def __init__(self):
        self.missing_split = []
        self.type_counts = collections.Counter()
        self.doc_counts = collections.Counter()
        self.split_counts = collections.defaultdict(collections.Counter)
        self.para_scores = []
        self.n_answers = self.n_found = 0


def check_split(rid, r, t, tally, errors):
    sp = r.get("split")
    if sp is not None:
        if sp not in ("dev", "test"):
            errors.append(f"{rid}: bad split {sp!r}")
        elif isinstance(rid, str) and sp != split_mod.split_of(rid):
            errors.append(f"{rid}: split {sp!r} disagrees with split.py")
    else:
        tally.missing_split.append(rid)
    if isinstance(rid, str):
        tally.split_counts[t][split_mod.split_of(rid)] += 1


def check_answers(rid, answers, golds, docs, tally, errors, warnings):
    """Each gold string: whitespace-free, of the allowed length, found in one of ``golds``;
    the sentences that hold the found ones."""
    sentences = []
    for a in answers:
        tally.n_answers += 1
        if not isinstance(a, str):
            errors.append(f"{rid}: non-string answer {a!r}")
            continue
        if a != cs.strip_ws(a):
            errors.append(f"{rid}: answer {a!r} contains whitespace")
        if not (MIN_ANS_LEN <= len(a) <= MAX_ANS_LEN):
            errors.append(
                "%s: answer %r has length %d (want %d-%d)"
                % (rid, a, len(a), MIN_ANS_LEN, MAX_ANS_LEN)
            )
        where = [d for d in golds if a in docs[d]]
        if where:
            tally.n_found += 1
            sentences.append(sentence_of(docs[where[0]], a))
        else:
            errors.append(f"{rid}: answer {a!r} NOT FOUND in {', '.join(golds)}")
        bad = [
            ch
            for i, ch in enumerate(a)
            if cs.is_punct(ch)
            and not (
                ch in ".%/"
                and ((i > 0 and a[i - 1].isdigit()) or (i + 1 < len(a) and a[i + 1].isdigit()))
            )
        ]
        if bad:
            warnings.append("{}: answer {!r} contains punctuation {}".format(rid, a, "".join(bad)))
    return sentences


def check_record(n, r, docs, tally, errors, warnings):
    rid = r.get("id", "line%d" % n)
    for k in ("id", "question", "answers", "source", "type"):
        if k not in r:
            errors.append(f"{rid}: missing field {k!r}")
    q = r.get("question")
    if not isinstance(q, str) or not q.strip():
        errors.append(f"{rid}: empty question")
        q = ""
    t = r.get("type")
    tally.type_counts[t] += 1
    if t not in TYPES:
        errors.append(f"{rid}: unknown type {t!r}")
    check_split(rid, r, t, tally, errors)

    src, answers = r.get("source"), r.get("answers", [])
    if not isinstance(answers, list):
        errors.append(f"{rid}: answers is not a list")
        return
    extra = r.get("sources", [])
    if not isinstance(extra, list):
        errors.append(f"{rid}: sources is not a list")
        extra = []

    # an unanswerable question may follow a conversation too ("这“两区”具体是哪两个区？")
    if t == "followup" or (t == "unanswerable" and "history" in r):
        h = r.get("history")
        if (
            not isinstance(h, list)
            or not h
            or len(h) > 2
            or not all(isinstance(x, str) and x.strip() for x in h)
        ):
            errors.append(f"{rid}: {t} needs a history of 1-2 questions")
    elif "history" in r:
        warnings.append(f"{rid}: history on non-followup question")

    if (src is None) != (not answers):
        errors.append(f"{rid}: source must be null iff answers are empty")
    if t == "unanswerable":
        if answers or src is not None:
            errors.append(f"{rid}: unanswerable must have answers [] and source null")
        tally.doc_counts["(none)"] += 1
        return
    if not answers:
        errors.append(f"{rid}: answerable type {t!r} without answers")
        return
    if len(answers) > MAX_ANSWERS:
        errors.append(f"{rid}: {len(answers)} answers (max {MAX_ANSWERS})")
    if t == "report_year" and not (isinstance(src, str) and src.startswith(cs.GWR_PREFIX)):
        errors.append(f"{rid}: report_year source must be a government work report")
    if t == "report_year" and not re.search(r"(19|20)\d\d年", q):
        errors.append(f"{rid}: report_year question must name the year")
    golds = [src] + [d for d in extra if d != src]
    bad_src = [d for d in golds if d not in docs]
    if bad_src:
        errors.append(f"{rid}: unknown source(s) {bad_src!r}")
        return
    tally.doc_counts[src] += 1
    if len(set(answers)) != len(answers):
        errors.append(f"{rid}: repeated answer strings")
    sentences = check_answers(rid, answers, golds, docs, tally, errors, warnings)
    if t == "paraphrase" and sentences:
        tally.para_scores.append((overlap_share(q, sentences), rid, q))


def check_similarity(recs, policy, errors, warnings, infos):
    """Near-duplicates against the tuned-on set, and inside this set; the max Jaccard per question."""
    max_sims = []
    for _, r in recs:
        q = r.get("question") or ""
        best, best_q = 0.0, None
        for p in policy:
            j = jaccard(q, p.get("question", ""))
            if j > best:
                best, best_q = j, p
        max_sims.append(best)
        if best >= JACCARD_ERROR:
            errors.append(
                "%s: question %r near-identical to policy_qa %s %r (Jaccard %.2f)"
                % (r.get("id"), q, best_q.get("id"), best_q.get("question"), best)
            )
        elif best >= JACCARD_INFO:
            infos.append(
                "%s: %r ~ policy_qa %s %r (Jaccard %.2f)"
                % (r.get("id"), q, best_q.get("id"), best_q.get("question"), best)
            )
    qs = [(r.get("id"), r.get("question") or "") for _, r in recs]
    for i in range(len(qs)):
        for k in range(i + 1, len(qs)):
            j = jaccard(qs[i][1], qs[k][1])
            if j >= JACCARD_SELF_WARN:
                warnings.append(
                    "%s and %s near-identical (Jaccard %.2f): %r / %r"
                    % (qs[i][0], qs[k][0], j, qs[i][1], qs[k][1])
                )
    return max_sims


def print_counts(path, total, tally, seed_ids):
    print("file: %s" % path)
    print(
        "questions: %d   answers: %d   found verbatim: %d" % (total, tally.n_answers, tally.n_found)
    )
    print("\ntype counts (minimum)      dev  test")
    for t in TYPES:
        c = tally.split_counts.get(t, collections.Counter())
        print(
            "  %-15s %4d  (%3d)   %4d %4d"
            % (t, tally.type_counts.get(t, 0), MIN_COUNTS[t], c["dev"], c["test"])
        )
    lm = tally.type_counts.get("list", 0) + tally.type_counts.get("mechanism", 0)
    print("  %-15s %4d  (%3d)" % ("list+mechanism", lm, MIN_LIST_PLUS_MECH))
    alls = collections.Counter()
    for c in tally.split_counts.values():
        alls.update(c)
    print("  %-15s %4d  (%3d)   %4d %4d" % ("TOTAL", total, MIN_TOTAL, alls["dev"], alls["test"]))
    print("\nper-document counts (gold source):")
    for d in seed_ids:
        print("  %-45s %4d" % (d, tally.doc_counts.get(d, 0)))
    gwr = {d: c for d, c in tally.doc_counts.items() if d and d.startswith(cs.GWR_PREFIX)}
    print("  %-45s %4d  (%d reports)" % ("government_work_reports#*", sum(gwr.values()), len(gwr)))
    print("  %-45s %4d" % ("(unanswerable, source null)", tally.doc_counts.get("(none)", 0)))


def print_similarity(max_sims, infos, para_scores, verbose):
    print("\nsimilarity to policy_qa.jsonl (max char-bigram Jaccard per question):")
    if max_sims:
        print(
            "  max %.2f   median %.2f   >= %.2f: %d   (error at >= %.2f)"
            % (
                max(max_sims),
                statistics.median(max_sims),
                JACCARD_INFO,
                sum(1 for s in max_sims if s >= JACCARD_INFO),
                JACCARD_ERROR,
            )
        )
    for i in infos:
        print("  info: " + i)

    if para_scores:
        vals = [s for s, _, _ in para_scores]
        med = statistics.median(vals)
        print(
            "\nparaphrase lexical overlap (share of question content chars found in the answer sentence):"
        )
        print(
            "  n=%d  median %.2f  mean %.2f  max %.2f  <=0.35: %d   (target median <= %.2f: %s)"
            % (
                len(vals),
                med,
                statistics.mean(vals),
                max(vals),
                sum(1 for v in vals if v <= 0.35),
                PARAPHRASE_TARGET_MEDIAN,
                "met" if med <= PARAPHRASE_TARGET_MEDIAN else "NOT met",
            )
        )
        shown = (
            sorted(para_scores, reverse=True) if verbose else sorted(para_scores, reverse=True)[:10]
        )
        print("  %s:" % ("all, highest first" if verbose else "10 highest"))
        for s, rid, q in shown:
            print("    %.2f  %s  %s" % (s, rid, q))


def check_minimums(total, tally, seed_ids, errors):
    if total < MIN_TOTAL:
        errors.append("only %d questions (< %d)" % (total, MIN_TOTAL))
    for t, want in MIN_COUNTS.items():
        if tally.type_counts.get(t, 0) < want:
            errors.append("type %s: %d questions (< %d)" % (t, tally.type_counts.get(t, 0), want))
    lm = tally.type_counts.get("list", 0) + tally.type_counts.get("mechanism", 0)
    if lm < MIN_LIST_PLUS_MECH:
        errors.append("list+mechanism: %d (< %d)" % (lm, MIN_LIST_PLUS_MECH))
    for d in seed_ids:
        if tally.doc_counts.get(d, 0) < MIN_PER_SEED_DOC:
            errors.append(
                "document %s is the gold of only %d questions (< %d)"
                % (d, tally.doc_counts.get(d, 0), MIN_PER_SEED_DOC)
            )


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("-")]
    verbose = "-v" in argv[1:]
    path = args[0] if args else STAFF_PATH
    docs, seed_ids = cs.load_docs()
    errors, warnings, infos = [], [], []

    recs = load_jsonl(path, errors)
    policy = [r for _, r in load_jsonl(POLICY_PATH, [])]

    ids = collections.Counter(r.get("id") for _, r in recs)
    for i, c in ids.items():
        if c > 1:
            errors.append("duplicate id %r (%d times)" % (i, c))

    tally = Tally()
    for n, r in recs:
        check_record(n, r, docs, tally, errors, warnings)
    if tally.missing_split:
        warnings.append(
            "%d records have no split field (run split.py --write), e.g. %s"
            % (len(tally.missing_split), ", ".join(tally.missing_split[:3]))
        )
    max_sims = check_similarity(recs, policy, errors, warnings, infos)

    total = len(recs)
    print_counts(path, total, tally, seed_ids)
    print_similarity(max_sims, infos, tally.para_scores, verbose)
    check_minimums(total, tally, seed_ids, errors)

    if warnings:
        print("\nwarnings (%d):" % len(warnings))
        for w in warnings:
            print("  " + w)
    if errors:
        print("\nERRORS (%d):" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: all checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
