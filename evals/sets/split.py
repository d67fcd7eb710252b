#!/usr/bin/env python3
"""Deterministic dev/test split for PolicyQA evaluation sets (standard library only).

Rule (applied per record, from its "id" only):

    SEED  = "policyqa-2026"
    split = "test" if int(sha1((SEED + id).encode()).hexdigest(), 16) % 2 == 1 else "dev"

so a question keeps its split whatever file it sits in and whatever else is
added to the file.

Usage:
    python3 evals/sets/split.py FILE [FILE ...]           # print per-type dev/test counts
    python3 evals/sets/split.py --write FILE [FILE ...]   # also add/update "split" in place

With --write every record gets a "split" field (inserted right after "type",
or updated where it already exists); the file is rewritten as UTF-8 JSON lines
(ensure_ascii=False), other fields and their order untouched.
"""

import collections
import hashlib
import json
import sys

SEED = "policyqa-2026"


def split_of(rec_id):
    """Return "test" or "dev" for a record id, by the rule in the module docstring."""
    h = hashlib.sha1((SEED + rec_id).encode()).hexdigest()
    return "test" if int(h, 16) % 2 == 1 else "dev"


def with_split(rec):
    """Return a copy of rec with "split" set (placed after "type" when new)."""
    s = split_of(rec["id"])
    if "split" in rec:
        out = dict(rec)
        out["split"] = s
        return out
    out = {}
    for k, v in rec.items():
        out[k] = v
        if k == "type":
            out["split"] = s
    if "split" not in out:
        out["split"] = s
    return out


def load(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise SystemExit("%s line %d: bad JSON: %s" % (path, n, e)) from e
    return recs


def report(path, recs):
    counts = collections.defaultdict(collections.Counter)
    for r in recs:
        counts[r.get("type", "?")][split_of(r["id"])] += 1
    print("%s  (%d records)" % (path, len(recs)))
    print("  %-15s %5s %5s %5s" % ("type", "dev", "test", "all"))
    tot = collections.Counter()
    for t in sorted(counts):
        c = counts[t]
        tot.update(c)
        print("  %-15s %5d %5d %5d" % (t, c["dev"], c["test"], c["dev"] + c["test"]))
    print("  %-15s %5d %5d %5d" % ("TOTAL", tot["dev"], tot["test"], tot["dev"] + tot["test"]))


def main(argv):
    args = argv[1:]
    write = "--write" in args
    files = [a for a in args if a != "--write"]
    if not files:
        print(__doc__)
        return 2
    for path in files:
        recs = load(path)
        report(path, recs)
        if write:
            new = [with_split(r) for r in recs]
            with open(path, "w", encoding="utf-8") as f:
                for r in new:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            print("  wrote split field to %d records" % len(new))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
