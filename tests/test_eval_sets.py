"""The bundled question sets stay valid: every gold string is in its document (the set
checkers pass), and every question's dev/test split is the fixed hash rule, so no question
can drift from test into dev."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "evals" / "sets"
REPORTS = ROOT.parent / "shared" / "corpus" / "extra" / "government_work_reports.jsonl"
sys.path.insert(0, str(SETS))

from split import split_of  # noqa: E402


@pytest.mark.parametrize("name", ["policy_qa.jsonl", "staff_qa.jsonl", "reports_qa.jsonl"])
def test_every_question_has_the_split_of_the_fixed_rule(name: str):
    rows = [
        json.loads(line)
        for line in (SETS / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert rows and all(r["split"] == split_of(r["id"]) for r in rows)
    assert {r["split"] for r in rows} == {"dev", "test"}


@pytest.mark.skipif(not REPORTS.exists(), reason="shared/ corpus not present")
@pytest.mark.parametrize(
    ("checker", "set_name"),
    [
        ("check_set.py", "policy_qa.jsonl"),
        ("check_staff_set.py", "staff_qa.jsonl"),
        ("check_reports_set.py", "reports_qa.jsonl"),
    ],
)
def test_the_set_checkers_pass(checker: str, set_name: str):
    done = subprocess.run(
        [sys.executable, str(SETS / checker), str(SETS / set_name)],
        capture_output=True,
        text=True,
        env=dict(os.environ, GWR_PATH=str(REPORTS)),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
