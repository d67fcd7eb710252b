"""The ``policyqa`` command line: ingest, search, ask, stats, eval, check, serve.

A thin shell over ``rag.service.PolicyQA``: it parses arguments, prints, and turns a
``PolicyQAError`` into a message on stderr and exit code 2 (1 = some files failed).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from rag.errors import PolicyQAError
from rag.settings import Settings

app = typer.Typer(
    help="PolicyQA 招商政策问答助手：导入政策文件、检索、统计。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


FILE_STATUS_ZH = {
    "added": "新增",
    "updated": "已更新",
    "unchanged": "未变化",
    "failed": "失败",
    "skipped": "跳过",
}


def _service() -> Any:
    from rag.service import PolicyQA

    return PolicyQA(Settings())


def _fail(e: PolicyQAError) -> None:
    err.print(f"[red]错误：[/red]{e}")
    raise typer.Exit(2)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to index")],
    prune: Annotated[
        bool, typer.Option("--prune", help="remove indexed documents whose files are gone")
    ] = False,
) -> None:
    """Index files (txt md pdf docx html jsonl csv xlsx ofd doc wps rtf odt png jpg tif; scans are OCR'd);
    unchanged ones are skipped."""
    from tqdm import tqdm

    try:
        svc = _service()
        bar = tqdm(total=0, unit="file", file=sys.stderr, disable=None)

        def progress(n: int, total: int, path: str) -> None:
            bar.total = total
            bar.set_postfix_str(Path(path).name[-30:])
            bar.update(1)

        def page_progress(path: str, page: int, pages: int) -> None:
            if bar.disable:  # not a terminal: one line per page (OCR takes seconds a page)
                err.print(f"OCR 文字识别：{Path(path).name} 第{page}/{pages}页", highlight=False)
            else:
                bar.set_postfix_str(f"{Path(path).name[-30:]} OCR 第{page}/{pages}页")

        report = svc.ingest(paths, prune=prune, progress=progress, page_progress=page_progress)
        bar.close()
    except PolicyQAError as e:
        _fail(e)
        return
    table = Table(title="导入结果 ingest summary")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("documents / reasons")
    for name, items in (
        ("added 新增", report.added),
        ("updated 更新", report.updated),
        ("unchanged 未变", report.unchanged),
        ("removed 删除", report.removed),
    ):
        table.add_row(
            name, str(len(items)), ", ".join(items[:5]) + (" …" if len(items) > 5 else "")
        )
    table.add_row(
        "failed 失败", str(len(report.failed)), "\n".join(f"{p}: {r}" for p, r in report.failed)
    )
    out.print(table)
    files = Table(title="每个文件 per file")
    for col in ("file 文件", "result 结果", "documents 文档", "reason 说明"):
        files.add_column(col)
    for f in report.files:
        files.add_row(f.path, FILE_STATUS_ZH.get(f.status, f.status), str(f.documents), f.reason)
    if report.files:
        out.print(files)
    for path, problem in report.problems:
        out.print(f"[yellow]注意[/yellow] {path}: {problem}")
    out.print(
        f"chunks written {report.chunks_written}, deleted {report.chunks_deleted}; "
        f"{report.seconds:.1f} s"
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="the question")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="number of results (1–100)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", help="policy_notice / experience_article / news / project_record / report"
        ),
    ] = None,
    region: Annotated[str, typer.Option("--region", help="region contains, e.g. 焦作")] = "",
    issuer: Annotated[str, typer.Option("--issuer", help="issuer contains")] = "",
    doc_number: Annotated[str, typer.Option("--doc-number", help="文号 contains")] = "",
    date_from: Annotated[str, typer.Option("--from", help="date from (YYYY[-MM[-DD]])")] = "",
    date_to: Annotated[str, typer.Option("--to", help="date to (YYYY[-MM[-DD]])")] = "",
    retriever: Annotated[str, typer.Option("--retriever", help="hybrid / dense / bm25")] = "hybrid",
    batch: Annotated[
        Path | None, typer.Option("--batch", help='JSONL of {"id", "question"} lines')
    ] = None,
    context: Annotated[
        bool, typer.Option("--context", help="add the neighbouring chunks of the same section")
    ] = False,
) -> None:
    """Ranked passages for a question (or for each line of --batch)."""
    filters = {
        "kind": kind or [],
        "region": region,
        "issuer": issuer,
        "doc_number": doc_number,
        "date_from": date_from,
        "date_to": date_to,
    }
    try:
        svc = _service()
        if batch is not None:
            _search_batch(svc, batch, k, filters, retriever)
            return
        if query is None:
            err.print("错误：请提供问题，或使用 --batch FILE")
            raise typer.Exit(2)
        hits = svc.search(query, k=k, filters=filters, retriever=retriever)
    except PolicyQAError as e:
        _fail(e)
        return
    neighbours = {h.chunk_id: svc.context(h) for h in hits} if context else {}
    if as_json:
        results = [
            h.to_json()
            | (
                {
                    "context_before": neighbours[h.chunk_id][0],
                    "context_after": neighbours[h.chunk_id][1],
                }
                if context
                else {}
            )
            for h in hits
        ]
        print(json.dumps({"query": query, "results": results}, ensure_ascii=False, indent=2))
        return
    if not hits:
        out.print("没有找到相关内容。")
    for h in hits:
        where = " › ".join(x for x in (h.section_path,) if x) or "正文"
        page = f" 第{h.page}页" if h.page else ""
        out.print(
            f"[bold]{h.rank}. {h.title}[/bold] {h.doc_number} [dim]{where}{page} score={h.score:.4f}[/dim]"
        )
        before, after = neighbours.get(h.chunk_id, ("", ""))
        if before:
            out.print(f"   [dim]（上文）{before[-100:]}[/dim]", highlight=False)
        out.print(f"   {h.text[:200]}")
        if after:
            out.print(f"   [dim]（下文）{after[:100]}[/dim]", highlight=False)


def _search_batch(svc: Any, batch: Path, k: int, filters: dict, retriever: str) -> None:
    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        err.print(f"错误：无法读取 {batch}：{e.strerror}")
        raise typer.Exit(2) from e
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            question = item["question"]
            qid = item.get("id", str(no))
        except (json.JSONDecodeError, KeyError, TypeError):
            print(
                json.dumps(
                    {"id": None, "line": no, "error": "不是有效的 JSON 对象或缺少 question 字段"},
                    ensure_ascii=False,
                )
            )
            continue
        history = item.get("history") or []
        try:
            query, _ = svc.rewrite(question, history)
            hits = svc.search(query, k=k, filters=filters, retriever=retriever)
            print(
                json.dumps(
                    {
                        "id": qid,
                        "query": question,
                        "rewritten_question": query,
                        "results": [h.to_json() for h in hits],
                    },
                    ensure_ascii=False,
                )
            )
        except PolicyQAError as e:
            print(json.dumps({"id": qid, "query": question, "error": str(e)}, ensure_ascii=False))


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any] | None]]:
    """(line number, object or None when the line is not a JSON object with a question)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        err.print(f"错误：无法读取 {path}：{getattr(e, 'strerror', None) or e}")
        raise typer.Exit(2) from e
    rows: list[tuple[int, dict[str, Any] | None]] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            item = None
        ok = isinstance(item, dict) and isinstance(item.get("question"), str)
        rows.append((no, item if ok else None))
    return rows


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="the question")] = None,
    history: Annotated[
        list[str] | None,
        typer.Option("--history", help="an earlier question (repeat, oldest first)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", help="policy_notice / experience_article / news / project_record / report"
        ),
    ] = None,
    region: Annotated[str, typer.Option("--region", help="region contains, e.g. 焦作")] = "",
    date_from: Annotated[str, typer.Option("--from", help="date from (YYYY[-MM[-DD]])")] = "",
    date_to: Annotated[str, typer.Option("--to", help="date to (YYYY[-MM[-DD]])")] = "",
    batch: Annotated[
        Path | None, typer.Option("--batch", help='JSONL of {"id", "question", "history"?} lines')
    ] = None,
) -> None:
    """A cited answer from the documents (or a plain refusal when they do not cover it)."""
    filters = {"kind": kind or [], "region": region, "date_from": date_from, "date_to": date_to}
    try:
        svc = _service()
        if batch is not None:
            for no, item in _read_jsonl(batch):
                if item is None:
                    print(
                        json.dumps(
                            {
                                "id": None,
                                "line": no,
                                "error": "不是有效的 JSON 对象或缺少 question 字段",
                            },
                            ensure_ascii=False,
                        )
                    )
                    continue
                qid = item.get("id", str(no))
                try:
                    answer = svc.ask(
                        item["question"], history=item.get("history") or [], filters=filters
                    )
                    print(json.dumps({"id": qid} | answer.to_dict(), ensure_ascii=False))
                except PolicyQAError as e:
                    print(
                        json.dumps(
                            {"id": qid, "question": item["question"], "error": str(e)},
                            ensure_ascii=False,
                        )
                    )
            return
        if question is None:
            err.print("错误：请提供问题，或使用 --batch FILE")
            raise typer.Exit(2)
        answer = svc.ask(question, history=history or [], filters=filters)
    except PolicyQAError as e:
        _fail(e)
        return
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    if answer.rewritten_question != answer.question:
        out.print(f"[dim]理解为：{answer.rewritten_question}[/dim]")
    out.print(answer.text, highlight=False)
    for note in answer.notes:
        out.print(f"[yellow]注意[/yellow] {note}")
    for c in answer.citations:
        page = f" 第{c.page}页" if c.page else ""
        out.print(f"[bold][{c.n}][/bold] {c.label()} {c.section_path}{page}", highlight=False)
        out.print(f"    “{c.quote}”", highlight=False)


@app.command()
def stats() -> None:
    """Documents, chunks, embedder and index size."""
    try:
        s = _service().stats()
    except PolicyQAError as e:
        _fail(e)
        return
    for key, value in s.items():
        if key == "index_bytes":
            value = f"{value / 1e6:.1f} MB"
        out.print(f"{key:12} {value}")


RETRIEVER_NAMES = ("bm25", "dense", "hybrid")


# settings that change what a search or an answer returns: part of the --resume key and of metrics.json
class _EvalGroup(TyperGroup):
    """``policyqa eval SET …`` means ``policyqa eval run SET …``; ``import`` and ``compare`` are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_EvalGroup,
    no_args_is_help=True,
    help="评测 evaluation: policyqa eval SET (= eval run SET), eval import SHEET, eval compare A B.",
)
app.add_typer(eval_app, name="eval")


def _eval_args(retriever: list[str] | None, ks: str) -> tuple[list[str], list[int]]:
    names = list(
        dict.fromkeys(
            r.strip() for arg in retriever or ["hybrid"] for r in arg.split(",") if r.strip()
        )
    )
    bad = [r for r in names if r not in RETRIEVER_NAMES]
    if bad or not names:
        err.print(f"错误：未知的检索方式“{', '.join(bad)}”：可选 bm25、dense、hybrid")
        raise typer.Exit(2)
    try:
        cuts = sorted({int(x) for x in ks.split(",") if x.strip()})
    except ValueError:
        cuts = []
    if not cuts or not all(1 <= k <= 100 for k in cuts):
        err.print(f"错误：-k 应为 1 到 100 之间的整数列表，例如 1,3,5,10（收到“{ks}”）")
        raise typer.Exit(2)
    return names, cuts


def _eval_items(svc: Any, loaded: Any) -> list[Any]:
    """The set's items with BEIR corpus-ids mapped to doc ids; warns about gold documents not indexed."""
    from rag.evaluation import formats as fmt

    resolver = fmt.DocResolver(svc.documents())
    items, warnings = (
        fmt.resolve_gold(loaded, resolver) if loaded.format == "beir" else (loaded.items, [])
    )
    missing = sorted({d for i in items for d in i.gold_docs} - resolver.ids)
    if missing and loaded.format == "jsonl":
        warnings.append(
            f"{len(missing)} 个标准文档不在索引中（相关问题将计为未命中）：{'、'.join(missing[:5])}"
            + (" …" if len(missing) > 5 else "")
        )
    for note in [*loaded.notes, *warnings]:
        err.print(f"[yellow]注意[/yellow] {note}", highlight=False)
    return list(items)


@eval_app.command("run")
def eval_run(
    set_path: Annotated[
        Path, typer.Argument(help="question set: JSONL file or BEIR folder (see evals/README.md)")
    ],
    retriever: Annotated[
        list[str] | None,
        typer.Option("--retriever", help="bm25 / dense / hybrid; repeat or comma list"),
    ] = None,
    ks: Annotated[
        str, typer.Option("-k", "--k", help="cut-offs for Hit/Recall/coverage, comma list")
    ] = "1,3,5,10",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="output folder; default evals/results/<time>-<retriever>"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="only the first N questions")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="only the questions of this split: dev or test")
    ] = None,
    answers: Annotated[
        bool,
        typer.Option("--answers", help="also answer every question (ask) and score the answers"),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="keep the questions already done in --out (same set and configuration)"
        ),
    ] = False,
) -> None:
    """Score retrievers (and answers) on a set; write metrics, TREC files, report.md and charts.

    Example: policyqa eval evals/sets/policy_qa.jsonl --retriever bm25,hybrid --out evals/results/x
    """
    from datetime import datetime

    names, cuts = _eval_args(retriever, ks)
    if resume and out_dir is None:
        err.print("错误：--resume 需要与上次相同的 --out 目录")
        raise typer.Exit(2)
    started = datetime.now()
    out_dir = out_dir or Path("evals/results") / f"{started:%Y%m%d-%H%M%S}-{'-'.join(names)}"
    try:
        run, loaded = _eval_open(set_path, names, cuts, out_dir, limit, split, answers, resume)
    except PolicyQAError as e:
        _fail(e)
        return
    skipped, bar = _eval_progress(run, resume)
    try:
        run.run(on_stage=bar.set_description, tick=lambda: bar.update(1))
        bar.close()
        about = {
            "set": str(set_path),
            "format": loaded.format,
            "n_questions": len(run.items),
            "limit": limit,
            "k": cuts,
        }
        metrics, _ = run.finish(
            cuts, about, {"timestamp": started.isoformat(timespec="seconds"), "resumed": skipped}
        )
    except KeyboardInterrupt:
        bar.close()
        _eval_interrupted(
            out_dir, _resume_command(set_path, names, cuts, answers, limit, out_dir, split)
        )
        raise typer.Exit(130) from None
    except PolicyQAError as e:
        bar.close()
        _fail(e)
        return
    _print_eval(metrics["retrievers"], cuts, metrics.get("answers"))
    out.print(f"结果已写入 {out_dir}（report.md、metrics.json、hit_at_k.png、per_type.png）")


def _eval_open(
    set_path: Path,
    names: list[str],
    cuts: list[int],
    out_dir: Path,
    limit: int | None,
    split: str | None,
    answers: bool,
    resume: bool,
) -> tuple[Any, Any]:
    """Load the set, keep the split's first ``limit`` questions and open (or resume) the run
    in ``out_dir``; prints the run's notes. Returns the run and the loaded set."""
    from rag.evaluation import formats as fmt
    from rag.evaluation import scoring as ev
    from rag.evaluation.runner import Run

    depth = max(*cuts, ev.DEPTH)
    loaded = fmt.load_any(set_path)
    svc = _service()
    items = _eval_items(svc, loaded)
    if split is not None:
        if split not in ("dev", "test"):
            raise ev.EvalSetError(f"--split 只能是 dev 或 test，而不是“{split}”")
        items = [i for i in items if i.split == split]
    run, notes = Run.open(
        svc, set_path, items[:limit], names, depth, out_dir, answers, resume, split
    )
    for note in notes:
        err.print(f"[yellow]注意[/yellow] {note}", highlight=False)
    return run, loaded


def _eval_progress(run: Any, resume: bool) -> tuple[dict[str, int], Any]:
    """The questions a resumed run skips per stage (said when resuming), and a progress bar
    on stderr over the questions left to do."""
    from tqdm import tqdm

    skipped: dict[str, int] = run.skipped()
    if resume and any(skipped.values()):
        out.print(
            "续跑 resume：跳过已完成的 " + "，".join(f"{n} {c} 题" for n, c in skipped.items())
        )
    bar = tqdm(
        total=len(run.items) * len(run.stages) - sum(skipped.values()),
        unit="q",
        file=sys.stderr,
        disable=None,
    )
    return skipped, bar


def _resume_command(
    set_path: Path,
    names: list[str],
    cuts: list[int],
    answers: bool,
    limit: int | None,
    out_dir: Path,
    split: str | None = None,
) -> list[str]:
    """The command line that resumes an interrupted run (with its split: another split is
    another question list).

    (sets/a.jsonl, ["bm25"], [1, 5], False, None, out/x, "dev") →
    ["policyqa", "eval", "sets/a.jsonl", "--retriever", "bm25", "-k", "1,5", "--split", "dev",
    "--out", "out/x", "--resume"]
    """
    return [
        "policyqa",
        "eval",
        str(set_path),
        "--retriever",
        ",".join(names),
        "-k",
        ",".join(map(str, cuts)),
        *(["--answers"] if answers else []),
        *(["--limit", str(limit)] if limit else []),
        *(["--split", split] if split else []),
        "--out",
        str(out_dir),
        "--resume",
    ]


def _eval_interrupted(out_dir: Path, command: list[str]) -> None:
    """Tell where the finished questions of an interrupted run are and how to resume it."""
    import shlex

    err.print(
        f"已中断 interrupted：已完成的题目保存在 {out_dir}（partial.jsonl）。继续 resume with:\n  "
        + shlex.join(command),
        highlight=False,
        soft_wrap=True,
    )


def _metrics_table(
    title: str,
    first: str,
    rows: dict[str, dict[str, Any]],
    cols: list[str],
    latency: dict[str, dict[str, float]] | None = None,
) -> Table:
    from rag.evaluation.report import fmt, label

    table = Table(title=title, box=None, pad_edge=False)
    table.add_column(first, no_wrap=True)
    for c in ("n", *cols, *(["p50 ms"] if latency else [])):
        table.add_column(label(c), justify="right", no_wrap=True)
    for name, m in rows.items():
        lat = [f"{latency[name]['p50']:.0f}"] if latency else []
        table.add_row(name, str(int(m["n"])), *(fmt(m.get(c)) for c in cols), *lat)
    return table


def _print_eval(
    blocks: dict[str, Any], cuts: list[int], answer_block: dict[str, Any] | None
) -> None:
    from rag.evaluation.report import ANSWER_KEYS, fmt

    mid = 5 if 5 in cuts else cuts[-1]
    cols = [*(f"hit@{k}" for k in cuts), "mrr@10", "ndcg@10", f"coverage@{mid}"]
    overall = {n: b["overall"] for n, b in blocks.items()}
    out.print(
        _metrics_table(
            "检索评测 retrieval (by document and answer string)",
            "retriever",
            overall,
            cols,
            {n: b["latency_ms"] for n, b in blocks.items()},
        )
    )
    doc_cols = [
        f"doc_hit@{cuts[0]}",
        f"doc_hit@{mid}",
        "doc_mrr@10",
        "doc_ndcg@10",
        f"recall@{mid}",
    ]
    out.print(_metrics_table("按文档 by document only", "retriever", overall, doc_cols))
    first = next(iter(blocks))
    out.print(_metrics_table(f"按题型 per type ({first})", "type", blocks[first]["per_type"], cols))
    out.print(f"无答案问题 {blocks[first]['n_unanswerable']} 个，不计入检索指标。")
    if answer_block:
        table = Table(title="回答评测 answers", box=None, pad_edge=False)
        table.add_column("metric", no_wrap=True)
        table.add_column("value", justify="right")
        for key in ANSWER_KEYS:
            table.add_row(key, fmt(answer_block.get(key)))
        for kind, value in answer_block.get("accuracy_per_type", {}).items():
            table.add_row(f"  accuracy · {kind}", fmt(value))
        lat = answer_block["latency_ms"]
        table.add_row("latency p50 / p95 ms", f"{lat['p50']:.0f} / {lat['p95']:.0f}")
        out.print(table)


@eval_app.command("import")
def eval_import(
    sheet: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX with the headers 问题, 答案, 来源文件 (类型, 历史, 编号 optional)"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="JSONL to write; default: the sheet's name with .jsonl"),
    ] = None,
) -> None:
    """Convert a staff spreadsheet into a JSONL set, resolving 来源文件 against the index.

    Example: policyqa eval import 评测题.xlsx -o evals/sets/staff.jsonl   (exit 1 when some rows had problems)
    """
    from rag.evaluation import formats as fmt

    try:
        resolver = fmt.DocResolver(_service().documents())
        lines, problems = fmt.import_sheet(sheet, resolver)
    except PolicyQAError as e:
        _fail(e)
        return
    if not resolver.docs:
        err.print("[yellow]注意[/yellow] 索引中没有文件，来源文件无法核对：请先 policyqa ingest")
    target = output or sheet.with_suffix(".jsonl")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    for p in problems:
        level = "[red]错误 error[/red]" if p.level == "error" else "[yellow]警告 warning[/yellow]"
        out.print(
            f"第 {p.row} 行 (row {p.row}) {level}：{p.message}", highlight=False, soft_wrap=True
        )
    errors = sum(p.level == "error" for p in problems)
    out.print(
        f"已导入 {len(lines)} 题 → {target}；{errors} 行未导入，{len(problems) - errors} 行有警告。",
        highlight=False,
        soft_wrap=True,
    )
    if problems:
        raise typer.Exit(1)


@eval_app.command("compare")
def eval_compare(
    dir_a: Annotated[Path, typer.Argument(help="baseline --out folder")],
    dir_b: Annotated[Path, typer.Argument(help="new --out folder")],
    metric: Annotated[
        str,
        typer.Option("--metric", help="guarded metric, e.g. mrr@10, hit@1, doc_ndcg@10, accuracy"),
    ] = "mrr@10",
    max_drop: Annotated[
        float, typer.Option("--max-drop", min=0, help="largest allowed drop (A − B)")
    ] = 0.02,
    retriever: Annotated[
        str | None, typer.Option("--retriever", help="compare only this retriever")
    ] = None,
) -> None:
    """Metric deltas (B − A) and flipped questions; exit 1 when --metric dropped by more than --max-drop.

    Example (a CI guard): policyqa eval compare evals/results/baseline evals/results/latest --metric mrr@10
    """
    from rag.evaluation.report import compare, fmt, label

    try:
        c = compare(dir_a, dir_b, metric, max_drop, retriever)
    except PolicyQAError as e:
        _fail(e)
        return
    table = Table(title=f"B − A  (A = {dir_a}, B = {dir_b})", box=None, pad_edge=False)
    for col, right in (("scope", False), ("metric", False), ("A", True), ("B", True), ("Δ", True)):
        table.add_column(col, justify="right" if right else "left", no_wrap=True)
    for scope, key, a, b in c.rows:
        delta = f"{b - a:+.3f}" if a is not None and b is not None else "n/a"
        name = label(key) if "@" in key else key
        table.add_row(
            scope, f"[bold]{name}[/bold]" if key == metric else name, fmt(a), fmt(b), delta
        )
    out.print(table)
    for scope, (lost, gained) in c.flips.items():
        what = "answer" if scope == "answers" else "Hit@1"
        out.print(
            f"{scope}: {what} right → wrong ({len(lost)}): {', '.join(lost) or '-'}",
            highlight=False,
        )
        out.print(
            f"{scope}: {what} wrong → right ({len(gained)}): {', '.join(gained) or '-'}",
            highlight=False,
        )
    for scope, a, b, drop in c.guard:
        verdict = "[red]FAIL[/red]" if drop > max_drop + 1e-12 else "[green]OK[/green]"
        out.print(
            f"{verdict} {scope} {metric}: {a:.3f} → {b:.3f}, drop {drop:+.3f} (max {max_drop})"
        )
    if c.failed:
        raise typer.Exit(1)


@app.command()
def projects(
    region: Annotated[
        str, typer.Option("--region", help="region contains, e.g. 山阳区 or 焦作")
    ] = "",
    industry: Annotated[
        str, typer.Option("--industry", help="industry or project name contains, e.g. 新材料")
    ] = "",
    min_amount: Annotated[
        float | None, typer.Option("--min-amount", help="investment at least (亿元)")
    ] = None,
    max_amount: Annotated[
        float | None, typer.Option("--max-amount", help="investment at most (亿元)")
    ] = None,
    stage: Annotated[
        str,
        typer.Option(
            "--stage", help="洽谈 / 签约 / 落地 / 开工 / 在建 / 投产 (签约 = reached 签约)"
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The project ledger (项目台账): indexed project records filtered by field."""
    filters = {
        "region": region,
        "industry": industry,
        "min_amount": min_amount,
        "max_amount": max_amount,
        "stage": stage,
    }
    try:
        result = _service().query_projects(filters)
    except PolicyQAError as e:
        _fail(e)
        return
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    table = Table(
        title=f"项目台账 project ledger（{result['conditions']}）：{result['count']} 个项目",
        box=None,
        pad_edge=False,
    )
    for col in ("项目名称", "地区", "产业", "投资额（亿元）", "阶段", "时间", "来源文件"):
        table.add_column(
            col, justify="right" if col.startswith("投资额") else "left", overflow="fold"
        )
    for r in result["projects"]:
        amount = f"{r['amount_yi']:g}" if r["amount_yi"] is not None else "—"
        table.add_row(
            r["name"], r["region"], r["industry"], amount, r["stage"], r["date"], r["source_doc"]
        )
    out.print(table)
    if result["total_amount_yi"] is not None:
        out.print(f"已载明投资额的项目合计 {result['total_amount_yi']:g} 亿元")


@app.command("map")
def responsibility_map(
    actor: Annotated[
        str,
        typer.Option(
            "--actor", help="an actor as the documents name it: 市商务局, 焦作市商务局, 商务局"
        ),
    ] = "",
    region: Annotated[str, typer.Option("--region", help="region contains, e.g. 焦作")] = "",
    role: Annotated[
        str, typer.Option("--role", help="role contains: 牵头单位, 责任单位, 牵头领导, 报送…")
    ] = "",
    deadline: Annotated[
        bool, typer.Option("--deadline", help="only duties with a deadline or frequency")
    ] = False,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="also write the rows to this .xlsx file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """新人入门: the responsibility map (who does what, by when), each row with its quote."""
    from rag.onboarding.export import write_xlsx

    try:
        rows = _service().responsibilities(actor=actor, region=region, role=role, deadline=deadline)
    except PolicyQAError as e:
        _fail(e)
        return
    if xlsx is not None:
        write_xlsx(rows, xlsx)
        err.print(f"已导出 {len(rows)} 行到 {xlsx}")
    if as_json:
        print(
            json.dumps(
                {"count": len(rows), "responsibilities": [r.to_dict() for r in rows]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=f"职责清单 responsibility map：{len(rows)} 行", box=None, pad_edge=False)
    for col in ("地区", "责任主体", "角色", "范围", "时限/频次", "原文", "文号"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r.region, r.actor, r.role, r.scope, r.deadline, r.passage.quote, r.passage.doc_number
        )
    out.print(table)


@app.command()
def glossary(
    term: Annotated[str, typer.Argument(help="a term or part of one, e.g. 7+X; empty = all")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """新人入门: terms the documents define or use as jargon, with the defining sentence."""
    try:
        svc = _service()
        entries = svc.glossary(term)
        groups = svc.synonym_groups(term) if term else []
    except PolicyQAError as e:
        _fail(e)
        return
    if as_json:
        print(
            json.dumps(
                {
                    "query": term,
                    "count": len(entries),
                    "entries": [e.to_dict() for e in entries],
                    "synonyms": [list(g) for g in groups],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=f"术语表 glossary：{len(entries)} 条", box=None, pad_edge=False)
    for col in ("术语", "方式", "释义/原文", "来源文件"):
        table.add_column(col, overflow="fold")
    for entry in entries:
        table.add_row(entry.term, entry.how, entry.definition, entry.passage.label())
    out.print(table)
    for g in groups:
        out.print("同义词组：" + " ".join(g), highlight=False)


@app.command()
def check(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="fix what is found (delete orphans/duplicates, rebuild BM25), then check again",
        ),
    ] = False,
) -> None:
    """Verify the index: Chroma vs record manager vs BM25 vs manifest (exit 1 if problems remain)."""
    try:
        index = _service().index
        report = index.check()
        _print_check(report, "索引检查 index check")
        if repair and not report.ok:
            report = index.repair(report)
            for line in report.repaired:
                out.print(f"[yellow]修复[/yellow] {line}", highlight=False)
            _print_check(report, "修复后复查 re-check after repair")
    except PolicyQAError as e:
        _fail(e)
        return
    if not report.ok:
        if not repair:
            out.print(
                "发现问题；运行 policyqa check --repair 修复。 Problems found; run `policyqa check --repair`."
            )
        raise typer.Exit(1)


def _print_check(report: Any, title: str) -> None:
    out.print(
        f"{title}: chunks {report.chunks}, documents {report.documents}, record keys {report.record_keys}"
    )
    if report.ok:
        out.print("[green]索引一致 consistent[/green]")
        return
    table = Table(title=f"{title}：{len(report.findings)} 个问题 problems")
    table.add_column("类型 kind")
    table.add_column("对象 subject", overflow="fold")
    table.add_column("说明 detail", overflow="fold")
    for f in report.findings[:200]:
        table.add_row(f.kind, f.subject, f.detail)
    out.print(table)
    if len(report.findings) > 200:
        out.print(f"… 另有 {len(report.findings) - 200} 个问题 more")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default POLICYQA_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default POLICYQA_PORT or 7860")] = None,
) -> None:
    """Serve the web app (same as python app.py)."""
    from rag.serving.app import launch
    from rag.serving.auth import Access

    try:
        settings = Settings()
        Access.from_settings(settings)  # a malformed POLICYQA_USERS is a message, not a traceback
    except PolicyQAError as e:
        _fail(e)
        return
    launch(settings, host=host, port=port)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
