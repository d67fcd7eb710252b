"""What an evaluator reads: report.md, two PNG charts, and ``compare`` of two result folders.

``write_report(out_dir, metrics, results, answer_rows)`` writes report.md (configuration,
tables overall and per type per retriever, answer metrics, wrong answers, misses) beside
hit_at_k.png and per_type.png. ``compare(dir_a, dir_b, metric, max_drop)`` reads two
``--out`` folders and says which metrics moved, which questions flipped and whether the
guarded metric dropped by more than ``max_drop`` (the CI guard of ``policyqa eval compare``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import PolicyQAError
from rag.evaluation.scoring import QuestionResult, misses_markdown

ANSWER_KEYS = (
    "accuracy",
    "followup_accuracy",
    "citation_validity",
    "citation_precision",
    "refusal_accuracy",
    "false_refusal_rate",
)
LOWER_IS_BETTER = frozenset({"false_refusal_rate"})
_CJK_FONT_FILES = re.compile(
    r"(?i)(cjk|wqy|wenquan|simhei|simsun|msyh|yahei|droidsansfallback|sourcehan|notosanssc)"
)


class CompareError(PolicyQAError):
    """A result folder or the chosen metric is missing."""


def label(key: str) -> str:
    """A column label: label("doc_ndcg@10") → "DocnDCG@10", label("answer_recall@5") → "AnsRecall@5"."""
    doc = key.startswith("doc_")
    base = key.removeprefix("doc_")
    for old, new in (
        ("hit@", "Hit@"),
        ("mrr@", "MRR@"),
        ("ndcg@", "nDCG@"),
        ("answer_recall@", "AnsRecall@"),
        ("recall@", "Recall@"),
        ("coverage@", "Cov@"),
    ):
        if base.startswith(old):
            base = new + base.removeprefix(old)
            break
    return ("Doc" if doc else "") + base


def fmt(value: Any) -> str:
    """A metric cell: 3 decimals, "n/a" for None."""
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cells(row: Sequence[Any]) -> str:
        return "| " + " | ".join(fmt(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"

    return [cells(head), "| " + " | ".join("---" for _ in head) + " |", *map(cells, rows)]


# ------------------------------------------------------------------------- charts


@functools.cache
def chinese_font() -> str | None:
    """The family of an installed CJK font (registered with matplotlib), or None.

    matplotlib's font cache may predate the fonts, so the files are looked up directly.
    """
    from matplotlib import font_manager

    def regular_sans_first(path: str) -> tuple[bool, bool, str]:
        name = Path(path).name.lower()
        return "bold" in name, "serif" in name, name

    for path in sorted(font_manager.findSystemFonts(), key=regular_sans_first):
        if _CJK_FONT_FILES.search(Path(path).name):
            try:
                font_manager.fontManager.addfont(path)
                return str(font_manager.FontProperties(fname=path).get_name())
            except (OSError, RuntimeError, ValueError):
                continue
    return None


def _style() -> Any:
    """A matplotlib rc context with the CJK font first, when there is one."""
    from matplotlib import rc_context

    font = chinese_font()
    return rc_context({"font.sans-serif": [font, "DejaVu Sans"]} if font else None)


def _figure(width: float) -> Any:
    """A figure drawn by the Agg backend (no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def chart_labels(names: Sequence[str]) -> dict[str, str]:
    """Labels for chart ticks: the names themselves, or T1, T2… for non-ASCII names when no
    CJK font is installed (no tofu boxes); report.md prints that key."""
    if chinese_font() or all(n.isascii() for n in names):
        return {n: n for n in names}
    return {n: n if n.isascii() else f"T{i}" for i, n in enumerate(names, start=1)}


def hit_at_k_chart(blocks: Mapping[str, Any], ks: Sequence[int], path: Path) -> None:
    """Hit@k against k, one line per retriever (by document and answer string)."""
    with _style():
        fig = _figure(6.4)
        ax = fig.add_subplot()
        for name, block in blocks.items():
            ys = [block["overall"].get(f"hit@{k}") or 0.0 for k in ks]
            ax.plot(list(ks), ys, marker="o", label=name)
        ax.set(
            xlabel="k", ylabel="Hit@k", title="Hit@k by retriever", xticks=list(ks), ylim=(0, 1.02)
        )
        ax.grid(alpha=0.3)
        fig.legend(loc="outside right upper")
        fig.savefig(path, format="png")


def per_type_chart(blocks: Mapping[str, Any], path: Path) -> dict[str, str]:
    """Grouped bars of MRR@10 per question type, one bar per retriever; returns the tick labels."""
    types = sorted({t for b in blocks.values() for t in b["per_type"]})
    labels = chart_labels(types)
    width = 0.8 / max(len(blocks), 1)
    with _style():
        fig = _figure(max(6.4, 1.1 * len(types) + 2))
        ax = fig.add_subplot()
        for n, (name, block) in enumerate(blocks.items()):
            ys = [block["per_type"].get(t, {}).get("mrr@10") or 0.0 for t in types]
            ax.bar(
                [i + (n - (len(blocks) - 1) / 2) * width for i in range(len(types))],
                ys,
                width,
                label=name,
            )
        ax.set_xticks(range(len(types)), [labels[t] for t in types], rotation=30, ha="right")
        ax.set(ylabel="MRR@10", title="MRR@10 per question type", ylim=(0, 1.05))
        ax.grid(axis="y", alpha=0.3)
        fig.legend(loc="outside right upper")
        fig.savefig(path, format="png")
    return labels


# ------------------------------------------------------------------------- report.md


def _config_rows(config: Mapping[str, Any], blocks: Mapping[str, Any]) -> list[list[Any]]:
    first: Mapping[str, Any] = next(iter(blocks.values()), {})
    rows = [
        ["set", f"{config.get('set')} ({config.get('format', 'jsonl')})"],
        [
            "questions",
            f"{config.get('n_questions')} ({first.get('n_answerable', '?')} answerable, "
            f"{first.get('n_unanswerable', '?')} unanswerable)",
        ],
        ["retrievers", ", ".join(config.get("retrievers", []))],
        ["k / depth", f"{', '.join(map(str, config.get('k', [])))} / {config.get('depth')}"],
        [
            "index",
            f"{config.get('index_dir')} ({config.get('chunks')} chunks, embedder {config.get('embedder')})",
        ],
        ["settings", ", ".join(f"{k}={v}" for k, v in config.get("settings", {}).items())],
        ["git commit", config.get("git_commit") or "n/a"],
        ["time", config.get("timestamp")],
    ]
    return rows


def report_markdown(
    metrics: Mapping[str, Any],
    results: Mapping[str, Sequence[QuestionResult]],
    answer_rows: Sequence[Mapping[str, Any]] | None = None,
    type_labels: Mapping[str, str] | None = None,
) -> str:
    """report.md: config, retrieval tables (overall, by document only, per type), answers, misses."""
    config, blocks = metrics["config"], metrics["retrievers"]
    ks = config["k"]
    mid = 5 if 5 in ks else ks[-1]
    lines = [
        "# PolicyQA evaluation report",
        "",
        "## Configuration",
        "",
        *_table(["", ""], _config_rows(config, blocks)),
        "",
    ]
    lines += _retrieval_section(blocks, ks, mid)
    lines += _document_section(blocks, ks)
    lines += _per_type_section(blocks, ks, mid, type_labels)
    if answers := metrics.get("answers"):
        lines += _answers_section(answers, answer_rows or [])
    lines += _misses_section(results)
    return "\n".join(lines).rstrip() + "\n"


def _retrieval_section(
    blocks: Mapping[str, Mapping[str, Any]], ks: Sequence[int], mid: int
) -> list[str]:
    """The main table: by document and answer string, with latency, then the Hit@k chart."""
    main = [
        *(f"hit@{k}" for k in ks),
        "mrr@10",
        "ndcg@10",
        f"answer_recall@{mid}",
        f"coverage@{mid}",
    ]
    return [
        "## Retrieval: by document and answer string",
        "",
        "A hit is relevant when it comes from a gold document and contains a gold answer string "
        "(sets without answer strings, e.g. BEIR: by document). Averages over answerable questions; "
        "latency is per search.",
        "",
        *_table(
            ["retriever", "n", *map(label, main), "p50 ms", "p95 ms"],
            [
                [
                    n,
                    b["overall"]["n"],
                    *(b["overall"].get(c) for c in main),
                    f"{b['latency_ms']['p50']:.1f}",
                    f"{b['latency_ms']['p95']:.1f}",
                ]
                for n, b in blocks.items()
            ],
        ),
        "",
        "![Hit@k by retriever](hit_at_k.png)",
        "",
    ]


def _document_section(blocks: Mapping[str, Mapping[str, Any]], ks: Sequence[int]) -> list[str]:
    """The by-document-only table: doc Hit@k, MRR, nDCG and Recall@k per retriever."""
    docs = [
        *(f"doc_hit@{k}" for k in ks),
        "doc_mrr@10",
        "doc_ndcg@10",
        *(f"recall@{k}" for k in ks),
    ]
    return [
        "## Retrieval: by document only",
        "",
        "The first hit of each gold document is relevant, whatever its text; Recall@k is the share "
        "of gold documents among the top k hits' documents.",
        "",
        *_table(
            ["retriever", *map(label, docs)],
            [[n, *(b["overall"].get(c) for c in docs)] for n, b in blocks.items()],
        ),
        "",
    ]


def _per_type_section(
    blocks: Mapping[str, Mapping[str, Any]],
    ks: Sequence[int],
    mid: int,
    type_labels: Mapping[str, str] | None,
) -> list[str]:
    """The per-question-type table and chart, with the chart's short labels when they differ."""
    per = [f"hit@{ks[0]}", f"hit@{mid}", "mrr@10", "ndcg@10", f"doc_hit@{ks[0]}", f"coverage@{mid}"]
    lines = [
        "## Per question type",
        "",
        *_table(
            ["type", "retriever", "n", *map(label, per)],
            [
                [t, n, m["n"], *(m.get(c) for c in per)]
                for t in sorted({t for b in blocks.values() for t in b["per_type"]})
                for n, b in blocks.items()
                if (m := b["per_type"].get(t))
            ],
        ),
        "",
        "![MRR@10 per question type](per_type.png)",
        "",
    ]
    if type_labels and any(k != v for k, v in type_labels.items()):
        lines += [
            "Chart labels: " + ", ".join(f"{v} = {k}" for k, v in type_labels.items() if k != v),
            "",
        ]
    return lines


def _misses_section(results: Mapping[str, Sequence[QuestionResult]]) -> list[str]:
    """The misses: per retriever, answerable questions without a relevant hit at rank 1."""
    lines = [
        "## Misses",
        "",
        "Answerable questions without a relevant hit at rank 1, with the top 3 "
        "hits retrieved instead (✓ = relevant).",
        "",
    ]
    for name, res in results.items():
        lines.append(misses_markdown(res, name, level=3))
    return lines


def _answers_section(answers: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    lat = answers.get("latency_ms", {})
    table = [[k, answers.get(k)] for k in ANSWER_KEYS]
    table += [[f"accuracy · {t}", v] for t, v in answers.get("accuracy_per_type", {}).items()]
    table += [["latency p50 / p95 ms (ask)", f"{lat.get('p50', 0):.0f} / {lat.get('p95', 0):.0f}"]]
    wrong = [r for r in rows if not answer_ok(r)]
    lines = [
        "## Answers",
        "",
        f"{answers['n_answerable']} answerable and {answers['n_unanswerable']} unanswerable questions "
        "answered with `PolicyQA.ask`.",
        "",
        *_table(["metric", "value"], table),
        "",
        f"### Wrong answers ({len(wrong)})",
        "",
    ]
    for r in wrong:
        what = (
            "refused"
            if not r.get("answered")
            else "answered an unanswerable question"
            if not r.get("answerable")
            else "answer lacks a gold string"
        )
        lines.append(
            f"- **{r['id']}** ({r.get('type')}), {what}: {r.get('question')} "
            f"— gold: {' / '.join(r.get('gold', [])) or '(none)'} — answer: {_short(r.get('answer', ''))}"
        )
    return [*lines, ""]


def _short(text: str, n: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= n else flat[:n] + "…"


def answer_ok(row: Mapping[str, Any]) -> bool:
    """An answers.jsonl row is right: correct when answerable, a refusal when not."""
    return bool(row.get("correct")) if row.get("answerable") else not row.get("answered")


def write_report(
    out_dir: Path,
    metrics: Mapping[str, Any],
    results: Mapping[str, Sequence[QuestionResult]],
    answer_rows: Sequence[Mapping[str, Any]] | None = None,
) -> list[Path]:
    """hit_at_k.png, per_type.png and report.md in ``out_dir``; returns their paths."""
    blocks = metrics["retrievers"]
    hit_at_k_chart(blocks, metrics["config"]["k"], out_dir / "hit_at_k.png")
    labels = per_type_chart(blocks, out_dir / "per_type.png")
    (out_dir / "report.md").write_text(
        report_markdown(metrics, results, answer_rows, labels), encoding="utf-8"
    )
    return [out_dir / "report.md", out_dir / "hit_at_k.png", out_dir / "per_type.png"]


# ------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    """Two result folders side by side.

    ``rows``: (scope, metric, a, b) with scope a retriever or "answers"; ``flips``: scope →
    (ids right in A and wrong in B, ids wrong in A and right in B), by Hit@1 or by answer;
    ``guard``: (scope, a, b, drop) of the guarded metric; ``failed`` when a drop > max_drop.
    """

    metric: str
    max_drop: float
    rows: list[tuple[str, str, float | None, float | None]] = field(default_factory=list)
    flips: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    guard: list[tuple[str, float, float, float]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(drop > self.max_drop + 1e-12 for *_, drop in self.guard)


def _load_metrics(folder: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((folder / "metrics.json").read_text(encoding="utf-8")))
    except FileNotFoundError as e:
        raise CompareError(
            f"{folder} 中没有 metrics.json：请给出 policyqa eval --out 的目录"
        ) from e
    except (OSError, json.JSONDecodeError) as e:
        raise CompareError(f"无法读取 {folder / 'metrics.json'}：{e}") from e


def _jsonl_rows(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    rows = (
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    return {r["id"]: r for r in rows}


def _flips(
    a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]], ok: Any
) -> tuple[list[str], list[str]]:
    both = [i for i in a if i in b]
    return (
        [i for i in both if ok(a[i]) and not ok(b[i])],
        [i for i in both if not ok(a[i]) and ok(b[i])],
    )


def compare(
    dir_a: Path,
    dir_b: Path,
    metric: str = "mrr@10",
    max_drop: float = 0.02,
    retriever: str | None = None,
) -> Comparison:
    """Metric deltas (B − A), flipped questions and the guard of ``metric`` for two ``--out`` folders.

    A retrieval metric (mrr@10, hit@1, doc_ndcg@10…) is guarded for every retriever in both
    folders (or only ``retriever``); an answer metric (accuracy…) on the answers. A drop is
    A − B, or B − A for false_refusal_rate; n/a values are not guarded.
    """
    ma, mb = _load_metrics(dir_a), _load_metrics(dir_b)
    common = [n for n in ma["retrievers"] if n in mb["retrievers"] and retriever in (None, n)]
    if not common:
        raise CompareError(
            f"两个目录没有共同的检索方式{f'“{retriever}”' if retriever else ''}："
            f"{', '.join(ma['retrievers'])} / {', '.join(mb['retrievers'])}"
        )
    res = Comparison(metric, max_drop)
    keys = [
        "hit@1",
        "hit@3",
        "hit@5",
        "hit@10",
        "mrr@10",
        "ndcg@10",
        "answer_recall@5",
        "coverage@5",
        "doc_hit@1",
        "doc_mrr@10",
        "doc_ndcg@10",
        "recall@5",
    ]
    scopes: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []
    for name in common:
        oa, ob = ma["retrievers"][name]["overall"], mb["retrievers"][name]["overall"]
        scopes.append((name, oa, ob))
        res.rows += [
            (name, k, oa.get(k), ob.get(k))
            for k in dict.fromkeys([*keys, metric])
            if k in oa and k in ob
        ]
        res.flips[name] = _flips(
            _jsonl_rows(dir_a / name / "per_question.jsonl"),
            _jsonl_rows(dir_b / name / "per_question.jsonl"),
            lambda r: r.get("answerable", True) and r.get("first_relevant_rank") == 1,
        )
    aa, ab = ma.get("answers"), mb.get("answers")
    if aa and ab:
        res.rows += [
            ("answers", k, aa.get(k), ab.get(k)) for k in ANSWER_KEYS if k in aa and k in ab
        ]
        res.flips["answers"] = _flips(
            _jsonl_rows(dir_a / "answers.jsonl"), _jsonl_rows(dir_b / "answers.jsonl"), answer_ok
        )
    if not all(metric in a and metric in b for _, a, b in scopes):
        if not (metric in ANSWER_KEYS and aa and ab):
            raise CompareError(
                f"指标“{metric}”不在两个目录的 metrics.json 中"
                "（例如 mrr@10、hit@1、ndcg@10、doc_mrr@10；有 --answers 时 accuracy 等）"
            )
        scopes = [("answers", aa, ab)]
    for scope, a, b in scopes:
        va, vb = a.get(metric), b.get(metric)
        if va is not None and vb is not None:
            res.guard.append((scope, va, vb, vb - va if metric in LOWER_IS_BETTER else va - vb))
    return res
