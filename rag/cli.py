"""The ``policyqa`` command line: ingest, search, stats, serve.

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


def _service() -> Any:
    from rag.service import PolicyQA

    return PolicyQA(Settings())


def _fail(e: PolicyQAError) -> None:
    err.print(f"[red]错误：[/red]{e}")
    raise typer.Exit(2)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to index")],
    prune: Annotated[bool, typer.Option("--prune", help="remove indexed documents whose files are gone")] = False,
) -> None:
    """Index files (txt, md, pdf, docx, html, jsonl, csv, xlsx); unchanged ones are skipped."""
    from tqdm import tqdm

    try:
        svc = _service()
        bar = tqdm(total=0, unit="file", file=sys.stderr, disable=None)

        def progress(n: int, total: int, path: str) -> None:
            bar.total = total
            bar.set_postfix_str(Path(path).name[-30:])
            bar.update(1)

        report = svc.ingest(paths, prune=prune, progress=progress)
        bar.close()
    except PolicyQAError as e:
        _fail(e)
        return
    table = Table(title="导入结果 ingest summary")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("documents / reasons")
    for name, items in (("added 新增", report.added), ("updated 更新", report.updated),
                        ("unchanged 未变", report.unchanged), ("removed 删除", report.removed)):
        table.add_row(name, str(len(items)), ", ".join(items[:5]) + (" …" if len(items) > 5 else ""))
    table.add_row("failed 失败", str(len(report.failed)), "\n".join(f"{p}: {r}" for p, r in report.failed))
    out.print(table)
    for path, problem in report.problems:
        out.print(f"[yellow]注意[/yellow] {path}: {problem}")
    out.print(
        f"chunks written {report.chunks_written}, deleted {report.chunks_deleted}; "
        f"{report.seconds:.1f} s"
    )
    if report.failed:
        raise typer.Exit(1)


def _hit_json(hit: Any) -> dict[str, Any]:
    d = hit.to_dict()
    keys = ("rank", "score", "chunk_id", "doc_id", "title", "doc_number", "kind", "region", "date",
            "section_path", "page", "text", "source", "dense_rank", "bm25_rank", "dense_score", "bm25_score",
            "rerank_score", "duplicates")
    return {k: list(d[k]) if k == "duplicates" else d[k] for k in keys}


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="the question")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="number of results")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="policy_notice / experience_article / news / project_record / report")] = None,
    region: Annotated[str, typer.Option("--region", help="region contains, e.g. 焦作")] = "",
    issuer: Annotated[str, typer.Option("--issuer", help="issuer contains")] = "",
    doc_number: Annotated[str, typer.Option("--doc-number", help="文号 contains")] = "",
    date_from: Annotated[str, typer.Option("--from", help="date from (YYYY[-MM[-DD]])")] = "",
    date_to: Annotated[str, typer.Option("--to", help="date to (YYYY[-MM[-DD]])")] = "",
    retriever: Annotated[str, typer.Option("--retriever", help="hybrid / dense / bm25")] = "hybrid",
    batch: Annotated[Path | None, typer.Option("--batch", help='JSONL of {"id", "question"} lines')] = None,
    context: Annotated[bool, typer.Option("--context", help="add the neighbouring chunks of the same section")] = False,
) -> None:
    """Ranked passages for a question (or for each line of --batch)."""
    filters = {"kind": kind or [], "region": region, "issuer": issuer, "doc_number": doc_number,
               "date_from": date_from, "date_to": date_to}
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
        results = [_hit_json(h) | ({"context_before": neighbours[h.chunk_id][0], "context_after": neighbours[h.chunk_id][1]}
                                   if context else {}) for h in hits]
        print(json.dumps({"query": query, "results": results}, ensure_ascii=False, indent=2))
        return
    if not hits:
        out.print("没有找到相关内容。")
    for h in hits:
        where = " › ".join(x for x in (h.section_path,) if x) or "正文"
        page = f" 第{h.page}页" if h.page else ""
        out.print(f"[bold]{h.rank}. {h.title}[/bold] {h.doc_number} [dim]{where}{page} score={h.score:.4f}[/dim]")
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
            print(json.dumps({"id": None, "line": no, "error": "不是有效的 JSON 对象或缺少 question 字段"},
                             ensure_ascii=False))
            continue
        history = item.get("history") or []
        try:
            query, _ = svc.rewrite(question, history)
            hits = svc.search(query, k=k, filters=filters, retriever=retriever)
            print(json.dumps({"id": qid, "query": question, "rewritten_question": query,
                              "results": [_hit_json(h) for h in hits]}, ensure_ascii=False))
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
    history: Annotated[list[str] | None, typer.Option("--history", help="an earlier question (repeat, oldest first)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="policy_notice / experience_article / news / project_record / report")] = None,
    region: Annotated[str, typer.Option("--region", help="region contains, e.g. 焦作")] = "",
    date_from: Annotated[str, typer.Option("--from", help="date from (YYYY[-MM[-DD]])")] = "",
    date_to: Annotated[str, typer.Option("--to", help="date to (YYYY[-MM[-DD]])")] = "",
    batch: Annotated[Path | None, typer.Option("--batch", help='JSONL of {"id", "question", "history"?} lines')] = None,
) -> None:
    """A cited answer from the documents (or a plain refusal when they do not cover it)."""
    filters = {"kind": kind or [], "region": region, "date_from": date_from, "date_to": date_to}
    try:
        svc = _service()
        if batch is not None:
            for no, item in _read_jsonl(batch):
                if item is None:
                    print(json.dumps({"id": None, "line": no, "error": "不是有效的 JSON 对象或缺少 question 字段"},
                                     ensure_ascii=False))
                    continue
                qid = item.get("id", str(no))
                try:
                    answer = svc.ask(item["question"], history=item.get("history") or [], filters=filters)
                    print(json.dumps({"id": qid} | answer.to_dict(), ensure_ascii=False))
                except PolicyQAError as e:
                    print(json.dumps({"id": qid, "question": item["question"], "error": str(e)}, ensure_ascii=False))
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


def _eval_args(retriever: list[str] | None, ks: str) -> tuple[list[str], list[int]]:
    names = list(dict.fromkeys(r.strip() for arg in retriever or ["hybrid"] for r in arg.split(",") if r.strip()))
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


@app.command("eval")
def eval_(
    set_path: Annotated[Path, typer.Argument(help="question set, JSONL (see evals/README.md)")],
    retriever: Annotated[list[str] | None, typer.Option("--retriever", help="bm25 / dense / hybrid; repeat or comma list")] = None,
    ks: Annotated[str, typer.Option("-k", "--k", help="cut-offs for Hit/Recall/coverage, comma list")] = "1,3,5,10",
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder; default evals/results/<time>-<retriever>")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="only the first N questions")] = None,
    answers: Annotated[bool, typer.Option("--answers", help="also answer every question (ask) and score the answers")] = False,
) -> None:
    """Score retrievers (and optionally answers) on a question set; write metrics and TREC files."""
    from datetime import datetime

    from tqdm import tqdm

    from rag import evaluation as ev
    from rag.settings import PROJECT_DIR

    names, cuts = _eval_args(retriever, ks)
    depth = max(*cuts, ev.DEPTH)
    started = datetime.now()
    out_dir = out_dir or Path("evals/results") / f"{started:%Y%m%d-%H%M%S}-{'-'.join(names)}"
    try:
        items = ev.load_set(set_path)[:limit]
        svc = _service()
        out_dir.mkdir(parents=True, exist_ok=True)
        bar = tqdm(total=len(items) * (len(names) + answers), unit="q", file=sys.stderr, disable=None)
        blocks: dict[str, Any] = {}
        for name in names:
            bar.set_description(name)
            svc.search(items[0].query, k=depth, retriever=name)  # warm-up: model and index load untimed

            def search(query: str, name: str = name) -> list[Any]:
                return svc.search(query, k=depth, retriever=name)

            results = ev.evaluate(search, items, on_done=lambda: bar.update(1))
            ev.write_run(out_dir / name, name, results)
            blocks[name] = ev.report(results, cuts)
        answer_block = _eval_answers(svc, items, out_dir, bar) if answers else None
        bar.close()
        config = {
            "set": str(set_path), "n_questions": len(items), "limit": limit, "k": cuts, "depth": depth,
            "retrievers": names, "embedder": svc.index.embedder_name, "index_dir": str(svc.index.dir),
            "chunks": svc.index.count(), "git_commit": ev.git_commit(PROJECT_DIR),
            "timestamp": started.isoformat(timespec="seconds"),
        }
    except PolicyQAError as e:
        _fail(e)
        return
    metrics = {"config": config, "retrievers": blocks} | ({"answers": answer_block} if answer_block else {})
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _print_eval(blocks, cuts, answer_block)
    out.print(f"结果已写入 {out_dir}")


def _eval_answers(svc: Any, items: list[Any], out_dir: Path, bar: Any) -> dict[str, Any]:
    """Ask every question; write answers.jsonl and return the answer metrics with latency."""
    import time

    from rag import evaluation as ev

    bar.set_description("answers")
    got, ms = [], []
    for item in items:
        start = time.perf_counter()
        got.append(svc.ask(item.question, history=list(item.history)))
        ms.append((time.perf_counter() - start) * 1000)
        bar.update(1)
    ids, bodies, metas = svc.index.all_chunks()
    chunk_texts = {m.get("chunk_id", i): b for i, b, m in zip(ids, bodies, metas, strict=True)}
    (out_dir / "answers.jsonl").write_text("".join(
        json.dumps({"id": i.id, "type": i.type, "answerable": i.answerable,
                    "correct": ev.answer_correct(a, i.answers)} | a.to_dict(), ensure_ascii=False) + "\n"
        for i, a in zip(items, got, strict=True)), encoding="utf-8")
    return ev.answer_metrics(items, got, chunk_texts) | {
        "latency_ms": {"p50": round(ev.percentile(ms, 50), 2), "p95": round(ev.percentile(ms, 95), 2)}}


_LABELS = {"mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


def _metrics_table(title: str, first: str, rows: dict[str, dict[str, float]], cols: list[str],
                   latency: dict[str, dict[str, float]] | None = None) -> Table:
    table = Table(title=title, box=None, pad_edge=False)
    table.add_column(first, no_wrap=True)
    for c in ("n", *cols, *(["p50 ms"] if latency else [])):
        label = _LABELS.get(c) or c.replace("hit@", "Hit@").replace("coverage@", "Cov@")
        table.add_column(label, justify="right", no_wrap=True)
    for name, m in rows.items():
        lat = [f"{latency[name]['p50']:.0f}"] if latency else []
        table.add_row(name, str(int(m["n"])), *(f"{m.get(c, 0.0):.3f}" for c in cols), *lat)
    return table


def _print_eval(blocks: dict[str, Any], cuts: list[int], answer_block: dict[str, Any] | None) -> None:
    cols = [*(f"hit@{k}" for k in cuts), "mrr@10", "ndcg@10", f"coverage@{5 if 5 in cuts else cuts[-1]}"]
    out.print(_metrics_table("检索评测 retrieval", "retriever", {n: b["overall"] for n, b in blocks.items()}, cols,
                             {n: b["latency_ms"] for n, b in blocks.items()}))
    first = next(iter(blocks))
    out.print(_metrics_table(f"按题型 per type ({first})", "type", blocks[first]["per_type"], cols))
    out.print(f"无答案问题 {blocks[first]['n_unanswerable']} 个，不计入检索指标。")
    if answer_block:
        table = Table(title="回答评测 answers", box=None, pad_edge=False)
        table.add_column("metric", no_wrap=True)
        table.add_column("value", justify="right")
        for key in ("accuracy", "citation_validity", "citation_precision", "refusal_accuracy", "false_refusal_rate"):
            table.add_row(key, f"{answer_block[key]:.3f}")
        for kind, value in answer_block.get("accuracy_per_type", {}).items():
            table.add_row(f"  accuracy · {kind}", f"{value:.3f}")
        out.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default POLICYQA_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default POLICYQA_PORT or 7860")] = None,
) -> None:
    """Serve the web app (same as python app.py)."""
    import app as webapp

    webapp.launch(Settings(), host=host, port=port)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
