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
            "section_path", "page", "text", "source", "dense_rank", "bm25_rank", "dense_score", "bm25_score")
    return {k: d[k] for k in keys}


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
    if as_json:
        print(json.dumps({"query": query, "results": [_hit_json(h) for h in hits]}, ensure_ascii=False, indent=2))
        return
    if not hits:
        out.print("没有找到相关内容。")
    for h in hits:
        where = " › ".join(x for x in (h.section_path,) if x) or "正文"
        page = f" 第{h.page}页" if h.page else ""
        out.print(f"[bold]{h.rank}. {h.title}[/bold] {h.doc_number} [dim]{where}{page} score={h.score:.4f}[/dim]")
        out.print(f"   {h.text[:200]}")


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
        query = " ".join([*history[-1:], question]) if history else question
        try:
            hits = svc.search(query, k=k, filters=filters, retriever=retriever)
            print(json.dumps({"id": qid, "query": question, "results": [_hit_json(h) for h in hits]},
                             ensure_ascii=False))
        except PolicyQAError as e:
            print(json.dumps({"id": qid, "query": question, "error": str(e)}, ensure_ascii=False))


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
