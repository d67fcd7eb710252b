"""Benchmarks: ``make bench`` (or ``python evals/bench.py [--ingest N] [--scale N]``).

Query latency: every question of the eval set through each retriever over the index in
``POLICYQA_INDEX_DIR`` (``make bench`` uses the full eval index: corpus/ plus the 72
government work reports), p50/p95 per retriever next to plain Chroma dense search (query
embedding + ``collection.query``) measured in the same run, and the extractive ``ask``.
Timings include query embedding.

``--ingest N``: ingest the first N government work reports into a fresh index (no
embedding cache) and, in the same run, embed the very same chunk texts with the bare
model: documents/s, chunks/s and the pipeline's overhead over the embedder; then an
unchanged re-ingest.

``--scale N``: an N-chunk synthetic index built from the real one (texts repeated with a
marker, vectors jittered and re-normalised: no embedding needed), and the same query
latencies over it (``--synthetic-dir`` keeps it for the next run).

Query latency, cold start and peak RSS are measured in a fresh process per index
(``--probe DIR``), which opens the index as the app does and does nothing else: those
are the serving process's figures, not the figures of the process that built the index.
Figures go to the README, not to a timed test.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the heavy imports: cold start counts them

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from rag.service import PolicyQA  # noqa: E402
from rag.settings import Settings  # noqa: E402

SET = Path(__file__).resolve().parent / "sets" / "policy_qa.jsonl"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: percentile([1, 2, 3, 4], 50) == 2."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def timed(fn: Callable[[str], object], questions: list[str], repeat: int) -> list[float]:
    fn(questions[0])  # warm-up: model load, BM25 load, Chroma caches
    out = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def rss_mb() -> float:
    """Peak resident memory of this process so far (MB): VmHWM, which (unlike ru_maxrss)
    starts afresh at exec and so does not count the parent the process was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def query_bench(
    svc: PolicyQA, questions: list[str], k: int, repeat: int, label: str
) -> dict[str, dict[str, float]]:
    """p50/p95/mean per retriever, next to plain Chroma dense search, in this process."""
    index = svc.index

    def plain_dense(q: str) -> object:
        vec = index.embeddings.embed_query(q)
        return index.nearest(vec, k, texts=True)

    runs: dict[str, list[float]] = {"chroma dense (plain)": timed(plain_dense, questions, repeat)}
    for name in ("dense", "bm25", "hybrid"):
        # each retriever embeds its own queries: the index remembers the last few hundred
        # query vectors, which would hand hybrid the vectors dense computed
        index._embed_query.cache_clear()  # type: ignore[attr-defined]
        runs[name] = timed(lambda q, n=name: svc.search(q, k=k, retriever=n), questions, repeat)
    index._embed_query.cache_clear()  # type: ignore[attr-defined]
    runs["ask (extractive)"] = timed(lambda q: svc.ask(q), questions, repeat)
    print(
        f"\n[{label}] {index.count()} chunks, embedder {index.embedder_name}; "
        f"{len(questions)} questions × {repeat}, k={k}"
    )
    print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    figures = {}
    for name, ms in runs.items():
        figures[name] = {
            "p50": percentile(ms, 50),
            "p95": percentile(ms, 95),
            "mean": statistics.fmean(ms),
        }
        f = figures[name]
        print(f"{name:24}{f['p50']:9.1f}{f['p95']:9.1f}{f['mean']:9.1f}")
    ratio = figures["hybrid"]["p95"] / figures["chroma dense (plain)"]["p95"]
    print(f"hybrid / plain dense p95 ratio: {ratio:.2f}")
    return figures | {"hybrid_over_dense_p95": {"ratio": ratio}}


def probe(folder: Path, questions: list[str], k: int, repeat: int, label: str) -> dict[str, object]:
    """Serving-process figures: cold start to the first answer, latencies, peak RSS.

    Runs in this (fresh) process: imports, model, index and BM25 load all count.
    """
    svc = PolicyQA(Settings(index_dir=folder))
    svc.ask(questions[0])
    cold = time.perf_counter() - STARTED
    opened_mb = rss_mb()
    figures: dict[str, object] = dict(query_bench(svc, questions, k, repeat, label))
    figures |= {
        "cold_start_first_answer_s": cold,
        "rss_after_first_answer_mb": opened_mb,
        "peak_rss_mb": rss_mb(),
    }
    print(
        f"cold start to first answer {cold:.1f} s; RSS after the first answer {opened_mb:.0f} MB, "
        f"peak RSS of the serving process {rss_mb():.0f} MB"
    )
    return figures


def in_fresh_process(folder: Path, args: argparse.Namespace, *flags: str) -> dict[str, object]:
    """Run this script with ``flags`` in a new process on the index in ``folder``; its JSON figures."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                sys.executable,
                __file__,
                *flags,
                "--set",
                str(args.set),
                "-k",
                str(args.k),
                "--json",
                out.name,
            ],
            check=True,
            env=os.environ | {"POLICYQA_INDEX_DIR": str(folder)},
        )
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def ingest_bench(n_docs: int, reports: Path) -> dict[str, float]:
    """Fresh ingest of N reports vs the bare embedder on the same texts, then a re-ingest."""
    import tempfile

    from ingest.records import embedding_text
    from rag.store.embeddings import load_embedder

    lines = [ln for ln in reports.read_text(encoding="utf-8").splitlines() if ln.strip()][:n_docs]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "reports.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = Settings(index_dir=Path(tmp) / "index")
        model = load_embedder(settings.embedder, settings.embed_batch_size)
        svc = PolicyQA(settings, model)
        t0 = time.perf_counter()
        report = svc.ingest([src])
        ingest_s = time.perf_counter() - t0
        ids, bodies, metas = svc.index.all_chunks()
        texts = [
            embedding_text(b, str(m.get("title", "")), str(m.get("section_path", "")))
            for b, m in zip(bodies, metas, strict=True)
        ]
        t0 = time.perf_counter()
        model.embed_documents(texts)
        raw_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = svc.ingest([src])
        reingest_s = time.perf_counter() - t0
    chunks = len(ids)
    out = {
        "documents": len(report.added),
        "chunks": chunks,
        "ingest_s": ingest_s,
        "raw_embed_s": raw_s,
        "docs_per_s": len(report.added) / ingest_s,
        "chunks_per_s": chunks / ingest_s,
        "raw_chunks_per_s": chunks / raw_s,
        "overhead": ingest_s / raw_s - 1,
        "reingest_s": reingest_s,
        "reingest_unchanged": len(again.unchanged),
    }
    print(
        f"\n[ingest] {out['documents']} reports, {chunks} chunks: {ingest_s:.1f} s "
        f"({out['docs_per_s']:.2f} docs/s, {out['chunks_per_s']:.1f} chunks/s); bare embedder on the same "
        f"texts {raw_s:.1f} s ({out['raw_chunks_per_s']:.1f} chunks/s); pipeline overhead "
        f"{out['overhead']:+.1%}; unchanged re-ingest {reingest_s:.2f} s"
    )
    return out


def synthetic_index(svc: PolicyQA, n: int, folder: Path) -> PolicyQA:
    """An n-chunk index from the real one: texts repeated with a copy marker, vectors jittered.

    An index already in ``folder`` with n chunks is reused.
    """
    import numpy as np

    if folder.exists():
        settings = svc.settings.model_copy(update={"index_dir": folder})
        old = PolicyQA(settings, svc.index.embeddings.underlying_embeddings)  # type: ignore[attr-defined]
        if old.index.count() == n:
            return old
        import shutil

        shutil.rmtree(folder)

    base_ids, docs, metas, vectors = svc.index.export_vectors()
    vecs = np.asarray(vectors)
    settings = svc.settings.model_copy(update={"index_dir": folder})
    syn = PolicyQA(settings, svc.index.embeddings.underlying_embeddings)  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    batch = 4000
    for start in range(0, n, batch):
        rows = range(start, min(start + batch, n))
        idx = [i % len(base_ids) for i in rows]
        jitter = vecs[idx] + rng.normal(0, 0.02, (len(idx), vecs.shape[1]))
        jitter /= np.linalg.norm(jitter, axis=1, keepdims=True)
        syn.index.add_vectors(
            ids=[f"syn{i}" for i in rows],
            embeddings=jitter.tolist(),
            bodies=[
                docs[j] if i < len(base_ids) else f"{docs[j]}（副本{i // len(base_ids)}）"
                for i, j in zip(rows, idx, strict=True)
            ],
            metadatas=[
                dict(
                    metas[j],
                    doc_id=f"{metas[j]['doc_id']}~{i // len(base_ids)}",
                    chunk_id=f"{metas[j]['chunk_id']}~{i // len(base_ids)}",
                )
                for i, j in zip(rows, idx, strict=True)
            ],
        )
    syn.index.rebuild_bm25()
    # the sentence run's table: the copies' units are the originals' texts, but for the last
    # one of each copy, which holds the copy marker and so has no vector (it is not scored)
    if (svc.index.dir / "unit_vectors").exists():
        import shutil

        shutil.copytree(svc.index.dir / "unit_vectors", folder / "unit_vectors")
    return syn


def _parser() -> argparse.ArgumentParser:
    """The command line: the question set, repeats, k, JSON output, the ingest and scale
    benchmarks, and the hidden options of the child processes (--probe, --build-synthetic)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--ingest",
        type=int,
        default=0,
        metavar="N",
        help="ingest benchmark on N government reports",
    )
    parser.add_argument(
        "--reports",
        type=Path,
        default=Path(__file__).resolve().parents[2]
        / "shared/corpus/extra/government_work_reports.jsonl",
    )
    parser.add_argument(
        "--scale", type=int, default=0, metavar="N", help="also query an N-chunk synthetic index"
    )
    parser.add_argument(
        "--synthetic-dir", type=Path, help="where to keep the synthetic index (default: a temp dir)"
    )
    parser.add_argument(
        "--probe", type=Path, metavar="DIR", help=argparse.SUPPRESS
    )  # internal: one serving process
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--build-synthetic", type=Path, metavar="DIR", help=argparse.SUPPRESS
    )  # internal
    return parser


def _build_synthetic(args: argparse.Namespace) -> dict[str, object]:
    """Child process of --scale: build the synthetic index in ``args.build_synthetic``;
    its size, build time and peak RSS."""
    t0 = time.perf_counter()
    syn = synthetic_index(PolicyQA(Settings()), args.scale, args.build_synthetic)
    figures: dict[str, object] = {
        "chunks": syn.index.count(),
        "build_s": time.perf_counter() - t0,
        "peak_rss_mb": rss_mb(),
    }
    print(
        f"\nsynthetic index of {figures['chunks']} chunks ready in {figures['build_s']:.0f} s "
        f"(peak RSS of the building process {figures['peak_rss_mb']:.0f} MB)"
    )
    return figures


def _bench_in_fresh_processes(args: argparse.Namespace) -> dict[str, object]:
    """The benchmark proper: query the real index in a fresh process, then the optional
    ingest benchmark and the synthetic index (built and queried in two more processes)."""
    settings = Settings()
    figures: dict[str, object] = {
        "full": in_fresh_process(
            settings.index_dir,
            args,
            "--probe",
            str(settings.index_dir),
            "--repeat",
            str(args.repeat),
            "--label",
            "full corpus",
        )
    }
    if args.ingest:
        figures["ingest"] = ingest_bench(args.ingest, args.reports)
    if args.scale:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = args.synthetic_dir or Path(tmp) / "synthetic"
            # built and queried in separate processes: the builder holds every vector
            figures["scale_build"] = in_fresh_process(
                settings.index_dir,
                args,
                "--build-synthetic",
                str(folder),
                "--scale",
                str(args.scale),
            )
            figures["scale"] = in_fresh_process(
                folder,
                args,
                "--probe",
                str(folder),
                "--repeat",
                "1",
                "--label",
                f"synthetic {args.scale}",
            )
    return figures


def main() -> None:
    args = _parser().parse_args()
    questions = [
        json.loads(line)["question"]
        for line in args.set.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]

    if args.probe:
        figures: dict[str, object] = probe(args.probe, questions, args.k, args.repeat, args.label)
    elif args.build_synthetic:
        figures = _build_synthetic(args)
    else:
        figures = _bench_in_fresh_processes(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
