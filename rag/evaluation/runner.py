"""One evaluation runner, shared by ``policyqa eval`` and the app's 评测 tab.

A run scores each retriever on a question set (one untimed warm-up search first, so loading
the model and the index is not counted) and, with ``answers``, asks every question. Each
finished question is appended to its stage's checkpoint, so an interrupted run resumes where
it stopped. ``finish`` writes the TREC run files, ``answers.jsonl``, ``metrics.json`` and
``report.md``. Parsing options, printing tables and drawing progress bars are the entry
points' business; they hear about progress through callbacks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import PolicyQAError
from rag.evaluation import report as eval_report
from rag.evaluation import scoring as ev
from rag.service import PolicyQA
from rag.settings import PROJECT_DIR

# the settings a run's results depend on: recorded in metrics.json and in the checkpoint key
RUN_SETTINGS = (
    "embedder",
    "rrf_k",
    "bm25_weight",
    "dense_weight",
    "fusion",
    "fields_weight",
    "place_weight",
    "year_weight",
    "kind_weight",
    "sentence_weight",
    "field_boost",
    "sentence_candidates",
    "reranker",
    "rerank_candidates",
    "synonyms_file",
    "answer_max_chars",
    "answer_passages",
    "refusal_model",
    "llm_model",
)


def score_retriever(
    qa: PolicyQA,
    items: Sequence[ev.EvalItem],
    name: str,
    depth: int,
    on_done: Callable[[ev.QuestionResult], None] | None = None,
    wrap: Callable[[Sequence[ev.EvalItem]], Iterable[ev.EvalItem]] | None = None,
) -> list[ev.QuestionResult]:
    """Every item searched with retriever ``name`` to ``depth`` hits, timed, after a warm-up.

    ``wrap`` may wrap the items for a progress display (``tqdm``); ``on_done`` hears of each result.
    """
    if not items:
        return []
    qa.search(items[0].query, k=depth, retriever=name)  # warm-up: model and index load untimed

    def search(query: str) -> list[Any]:
        return qa.search(query, k=depth, retriever=name)

    return ev.evaluate(search, wrap(items) if wrap else items, on_done=on_done)


def ask_items(
    qa: PolicyQA, items: Iterable[ev.EvalItem], on_done: Callable[[dict[str, Any]], None]
) -> None:
    """Ask every item (with its history), handing ``on_done`` the timed answer row of each."""
    for item in items:
        start = time.perf_counter()
        try:
            answer = qa.ask(item.question, history=list(item.history))
        except PolicyQAError as e:
            raise PolicyQAError(f"问题 {item.id}：{e}") from e
        on_done(
            {
                "id": item.id,
                "latency_ms": (time.perf_counter() - start) * 1000,
                "answer": answer.to_dict(),
            }
        )


@dataclass
class Stage:
    """One retriever (or "answers") of a run, with its checkpoint file and the rows already done."""

    name: str
    path: Path
    done: dict[str, dict[str, Any]]


@dataclass
class Run:
    """A run being made: what it scores, where it writes, and the key its checkpoints must match."""

    qa: PolicyQA
    items: list[ev.EvalItem]
    names: list[str]
    depth: int
    out_dir: Path
    key: dict[str, Any]
    commit: str | None
    stages: list[Stage]

    @classmethod
    def open(
        cls,
        qa: PolicyQA,
        set_path: Path,
        items: Sequence[ev.EvalItem],
        names: Sequence[str],
        depth: int,
        out_dir: Path,
        answers: bool,
        resume: bool,
        split: str | None,
    ) -> tuple[Run, list[str]]:
        """The run and the notes of opening its checkpoints (``resume`` keeps rows of the same key)."""
        settings = {
            k: str(v) if isinstance(v, Path) else v
            for k in RUN_SETTINGS
            if (v := getattr(qa.settings, k, None)) is not None
        }
        health = qa.health()
        key = {
            "set": str(set_path.resolve()),
            "set_digest": ev.file_digest(set_path),
            "depth": depth,
            "index_dir": str(Path(qa.settings.index_dir).resolve()),
            "chunks": health["chunks"],
            "settings": settings,
            "split": split or "all",
        }
        commit = ev.git_commit(PROJECT_DIR)
        planned = [
            (name, out_dir / name / "partial.jsonl", key | {"retriever": name}) for name in names
        ]
        if answers:
            planned.append(
                ("answers", out_dir / "answers.partial.jsonl", key | {"stage": "answers"})
            )
        stages, notes = [], []
        for name, path, stage_key in planned:
            done, stage_notes = ev.open_checkpoint(path, stage_key, resume, commit)
            stages.append(Stage(name, path, done))
            notes += stage_notes
        return cls(qa, list(items), list(names), depth, out_dir, key, commit, stages), notes

    def skipped(self) -> dict[str, int]:
        """Per stage, the questions its checkpoint already holds."""
        return {s.name: sum(i.id in s.done for i in self.items) for s in self.stages}

    def run(
        self,
        on_stage: Callable[[str], None] = lambda name: None,
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        """Every stage's questions not done yet, each appended to the checkpoint as it finishes."""
        for stage in self.stages:
            on_stage(stage.name)
            todo = [i for i in self.items if i.id not in stage.done]

            def keep(row: dict[str, Any], stage: Stage = stage) -> None:
                stage.done[row["id"]] = row
                ev.append_row(stage.path, row)
                tick()

            if todo and stage.name == "answers":
                ask_items(self.qa, todo, keep)
            elif todo:
                score_retriever(
                    self.qa, todo, stage.name, self.depth, on_done=lambda r: keep(ev.result_row(r))
                )

    def finish(
        self,
        cuts: Sequence[int],
        about: dict[str, Any],
        when: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write the run files, ``metrics.json`` and ``report.md``; the metrics and the results.

        ``about`` (the set, its format, limit, k) opens the recorded config, ``when`` (time
        stamp, resumed counts) closes it.
        """
        done = {s.name: s.done for s in self.stages}
        results = {
            name: [ev.result_from_row(done[name][i.id], i) for i in self.items]
            for name in self.names
        }
        blocks = {}
        for name, res in results.items():
            ev.write_run(self.out_dir / name, name, res)
            blocks[name] = ev.report(res, cuts)
        answer_block, answer_rows = (
            self._answers(done["answers"]) if "answers" in done else (None, None)
        )
        config = (
            about
            | {
                "depth": self.depth,
                "retrievers": self.names,
                "embedder": self.qa.health()["embedder"],
                "index_dir": str(Path(self.qa.settings.index_dir)),
                "chunks": self.key["chunks"],
                "git_commit": self.commit,
                "settings": self.key["settings"],
            }
            | when
        )
        metrics = {"config": config, "retrievers": blocks} | (
            {"answers": answer_block} if answer_block else {}
        )
        text = json.dumps(metrics, ensure_ascii=False, indent=2) + "\n"
        (self.out_dir / "metrics.json").write_text(text, encoding="utf-8")
        eval_report.write_report(self.out_dir, metrics, results, answer_rows)
        return metrics, results

    def _answers(self, done: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """answers.jsonl from the checkpoint rows; the answer metrics with ask latency, and the rows."""
        got = [ev.answer_from_dict(done[i.id]["answer"]) for i in self.items]
        ms = [float(done[i.id]["latency_ms"]) for i in self.items]
        chunk_texts = self.qa.stored_texts([c.chunk_id for a in got for c in a.citations])
        rows = [
            {
                "id": i.id,
                "type": i.type,
                "answerable": i.answerable,
                "correct": ev.answer_correct(a, i.answers),
                "gold": list(i.answers),
                "latency_ms": round(t, 2),
            }
            | a.to_dict()
            for i, a, t in zip(self.items, got, ms, strict=True)
        ]
        (self.out_dir / "answers.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        latency = {"p50": round(ev.percentile(ms, 50), 2), "p95": round(ev.percentile(ms, 95), 2)}
        return ev.answer_metrics(self.items, got, chunk_texts) | {"latency_ms": latency}, rows
