"""OCR figures: ``make bench`` (or ``python evals/ocr_bench.py [--pages N] [--json PATH]``).

Real corpus text (the notices and articles in ``corpus/``) is set on A4 pages in Noto Serif
CJK at 12 pt and rendered at 200 dpi, as a scanner would deliver them ("clean"), and once
more with photocopy speckles and a slight blur ("noisy"). Each page goes through the same
OCR as ingest (``ingest.ocr.OcrEngine``, no cache), and the recognised text is compared with
the text that was printed:

- pages per second (the engine loaded once beforehand; rendering not counted);
- character accuracy = 1 − edit distance / printed characters, both sides NFKC-normalised
  with whitespace removed (so full-width/half-width forms of the same character agree);
- the mean recognition confidence the engine reported.

Figures go to the README, not to a timed test. ``--engine-options '{}'`` runs RapidOCR with its
own defaults instead of ``ingest.ocr.ENGINE_OPTIONS`` (threads, recognition batch), to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ingest.ocr  # noqa: E402
from ingest.ocr import OcrEngine  # noqa: E402
from tests.files import corpus_paragraphs, render_page, wrap  # noqa: E402

CORPUS = ROOT / "corpus"
LINES_PER_PAGE = 30


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: edit_distance("招商引资", "招商引姿") == 1."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def char_accuracy(printed: str, read: str) -> float:
    ref, hyp = _norm(printed), _norm(read)
    return 1 - edit_distance(ref, hyp) / max(len(ref), 1)


def pages_of_text(n: int) -> list[list[str]]:
    """``n`` pages of printed lines from the corpus files' paragraphs, in file order."""
    lines: list[str] = []
    for f in sorted(CORPUS.glob("0*.txt")):
        lines += wrap([p for p in corpus_paragraphs(f) if len(p) > 1])
    return [lines[i * LINES_PER_PAGE : (i + 1) * LINES_PER_PAGE] for i in range(n)]


def run(pages: int, noise: float) -> dict[str, float]:
    engine = OcrEngine()
    engine.page(render_page(["预热"]))  # model load, first-call allocations
    acc, conf, seconds, chars = [], [], 0.0, 0
    for lines in pages_of_text(pages):
        image = render_page(lines, noise=noise)
        t0 = time.perf_counter()
        result = engine.page(image)
        seconds += time.perf_counter() - t0
        acc.append(char_accuracy("".join(lines), "".join(result.lines)))
        conf.append(result.confidence)
        chars += len(_norm("".join(lines)))
    return {
        "pages": pages,
        "chars": chars,
        "seconds": round(seconds, 2),
        "pages_per_second": round(pages / seconds, 3),
        "char_accuracy": round(statistics.mean(acc), 4),
        "min_page_accuracy": round(min(acc), 4),
        "mean_confidence": round(statistics.mean(conf), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pages", type=int, default=4, help="pages per variant (30 lines of 38 characters each)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--engine-options",
        type=json.loads,
        default=None,
        help="RapidOCR options (JSON) instead of ingest.ocr.ENGINE_OPTIONS; '{}' = RapidOCR's defaults",
    )
    args = parser.parse_args()
    if args.engine_options is not None:
        ingest.ocr.ENGINE_OPTIONS = args.engine_options  # read when the engine is first loaded
    print(f"engine options: {ingest.ocr.ENGINE_OPTIONS}, load average {os.getloadavg()[0]:.1f}")
    figures: dict = {
        "engine_options": ingest.ocr.ENGINE_OPTIONS,
        "clean_12pt_200dpi": run(args.pages, 0.0),
        "noisy_12pt_200dpi": run(args.pages, 0.4),
    }
    for name, f in list(figures.items())[1:]:
        print(
            f"{name}: {f['pages']} pages, {f['chars']} characters — {f['pages_per_second']} pages/s "
            f"({f['seconds'] / f['pages']:.1f} s/page), character accuracy {f['char_accuracy']:.2%} "
            f"(worst page {f['min_page_accuracy']:.2%}), mean confidence {f['mean_confidence']:.3f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
