"""Offline OCR of scanned pages and photos: text lines in reading order, with confidence.

``OcrEngine.page(image)`` runs RapidOCR (PP-OCRv4 detection + recognition, the ONNX models
shipped inside the ``rapidocr-onnxruntime`` wheel; nothing is downloaded) on one page image
and returns an ``OcrPage``: its lines in reading order and the page's mean recognition
confidence (weighted by characters). ``reading_order`` puts the recognised boxes of a
two-column page in column order; full-width lines (a title, a table spanning both columns)
separate the column bands. The page keeps its boxes, so a loader can find a table among them
by their coordinates (``ingest.loaders.placed_tables``). Results are cached per file hash and
page in a folder, so a re-ingest of the same scan never OCRs again.

It does not correct recognition errors or deskew photos.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import LoadError

log = logging.getLogger(__name__)

# part of the cache key; 2: boxes kept, 3: ENGINE_OPTIONS (a batch of one line reads a few characters differently)
OCR_VERSION = "rapidocr-onnxruntime-1.4.4/ppocrv4/3"
RENDER_DPI = 200
MAX_IMAGE_SIDE = 4000  # larger photos are scaled down before OCR (phone photos are 4000+ px)
# ONNX Runtime on one thread and text lines recognised one at a time: on this 2-core machine,
# shared with other jobs (load ≈ 7–10), that took OCR from ≈ 16 to ≈ 6 s per A4 page (evals/ocr_bench.py,
# README). Several threads spin on cores the other jobs hold; batches of six lines are padded to
# the longest line's width, so short lines (table cells, paragraph ends) cost as much as full ones.
ENGINE_OPTIONS = {"intra_op_num_threads": 1, "inter_op_num_threads": 1, "rec_batch_num": 1}


@dataclass(frozen=True)
class OcrBox:
    """One recognised text box: its text, confidence and bounding box (x0, y0, x1, y1) in pixels."""

    text: str
    confidence: float
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class OcrPage:
    """A page's recognised boxes, the width of the image they were found on, and its mean
    confidence (0–1; 0 when nothing was read)."""

    boxes: tuple[OcrBox, ...]
    width: float
    confidence: float

    @property
    def lines(self) -> tuple[str, ...]:
        """The page's text lines in reading order (``reading_order``)."""
        return tuple(reading_order(self.boxes, self.width))

    @property
    def chars(self) -> int:
        return sum(len(b.text.strip()) for b in self.boxes)


def line_groups(boxes: Sequence[OcrBox]) -> list[list[OcrBox]]:
    """Boxes on one text line (vertical overlap ≥ half the smaller height), left to right."""
    lines: list[list[OcrBox]] = []
    for b in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        if lines:
            last = lines[-1]
            top, bottom = min(x.y0 for x in last), max(x.y1 for x in last)
            overlap = min(bottom, b.y1) - max(top, b.y0)
            if overlap >= 0.5 * min(bottom - top, b.y1 - b.y0):
                last.append(b)
                continue
        lines.append([b])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _gutter(boxes: Sequence[OcrBox], width: float) -> float | None:
    """The x of a vertical gap between two text columns, or None for a one-column page.

    Only boxes narrower than 60% of the page vote; the gap must lie in the middle 40% of
    the text area and both sides must hold at least three boxes.
    """
    narrow = [b for b in boxes if b.x1 - b.x0 < 0.6 * width]
    if len(narrow) < 6:
        return None
    left_edge, right_edge = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    span = right_edge - left_edge
    lo, hi = left_edge + 0.3 * span, left_edge + 0.7 * span
    step = max(span / 200, 1.0)
    best: tuple[float, float] | None = None  # (gap width, centre)
    x = lo
    start: float | None = None
    while x <= hi:
        covered = any(b.x0 <= x <= b.x1 for b in narrow)
        if not covered and start is None:
            start = x
        if (covered or x + step > hi) and start is not None:
            gap = x - start
            if best is None or gap > best[0]:
                best = (gap, (start + x) / 2)
            start = None
        x += step
    if best is None or best[0] < 0.02 * span:
        return None
    centre = best[1]
    if sum(b.x1 <= centre for b in narrow) < 3 or sum(b.x0 >= centre for b in narrow) < 3:
        return None
    return centre


def reading_order(boxes: Sequence[OcrBox], width: float) -> list[str]:
    """Text lines of a page in reading order.

    One column: top to bottom, boxes of one line joined left to right. Two columns (a
    gutter found by ``_gutter``): the page is cut into bands at full-width lines; in each
    band the left column is read before the right one.
    [title across the page, L1, R1, L2, R2] → [title, L1, L2, R1, R2]
    """
    boxes = [b for b in boxes if b.text.strip()]
    if not boxes:
        return []
    gutter = _gutter(boxes, width)
    if gutter is None:
        return [_join(line) for line in line_groups(boxes)]
    out: list[str] = []
    band: list[OcrBox] = []

    def flush() -> None:
        left = [b for b in band if (b.x0 + b.x1) / 2 < gutter]
        right = [b for b in band if (b.x0 + b.x1) / 2 >= gutter]
        out.extend(_join(line) for line in line_groups(left))
        out.extend(_join(line) for line in line_groups(right))
        band.clear()

    for b in sorted(boxes, key=lambda b: b.y0):
        if b.x0 < gutter < b.x1:  # spans both columns
            flush()
            out.append(b.text.strip())
        else:
            band.append(b)
    flush()
    return out


def _join(line: Sequence[OcrBox]) -> str:
    """Boxes of one line; a wide horizontal gap (a table's columns, a signature block) stays a
    double space so the cleaning stage does not glue the parts together."""
    parts = [line[0].text.strip()]
    for prev, b in zip(line, line[1:], strict=False):
        height = max(b.y1 - b.y0, 1.0)
        parts.append(("  " if b.x0 - prev.x1 > 1.5 * height else "") + b.text.strip())
    return "".join(parts)


def page_confidence(boxes: Sequence[OcrBox]) -> float:
    """Mean recognition confidence weighted by characters: 0.0 when nothing was recognised."""
    chars = sum(len(b.text) for b in boxes)
    return sum(b.confidence * len(b.text) for b in boxes) / chars if chars else 0.0


class OcrEngine:
    """RapidOCR loaded once per process (≈ 0.5 s) and shared; calls are serialised."""

    _instance: Any = None
    _lock = threading.Lock()

    @classmethod
    def _engine(cls) -> Any:
        if cls._instance is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as e:  # pragma: no cover - a broken install
                raise LoadError(
                    "未安装 OCR 组件（rapidocr-onnxruntime），无法识别扫描件；请运行 make setup"
                ) from e
            cls._instance = RapidOCR(**ENGINE_OPTIONS)
        return cls._instance

    def page(self, image: Any) -> OcrPage:
        """OCR one page image (a PIL image) into lines in reading order."""
        import numpy as np

        image = image.convert("RGB")
        scale = max(image.size) / MAX_IMAGE_SIDE
        if scale > 1:
            image = image.resize((round(image.width / scale), round(image.height / scale)))
        with self._lock:
            result, _ = self._engine()(np.asarray(image))
        boxes = [
            OcrBox(
                str(text),
                float(score),
                float(min(p[0] for p in quad)),
                float(min(p[1] for p in quad)),
                float(max(p[0] for p in quad)),
                float(max(p[1] for p in quad)),
            )
            for quad, text, score in (result or [])
        ]
        return OcrPage(tuple(boxes), float(image.width), round(page_confidence(boxes), 4))


@dataclass(frozen=True)
class OcrSettings:
    """How loaders OCR: where results are cached, the confidence below which a page is not
    indexed, and who hears about each page (``on_page(source, page, pages)``)."""

    cache_dir: Path | None = None
    min_confidence: float = 0.8
    on_page: Callable[[str, int, int], None] | None = None


class OcrCache:
    """OCR results on disk, one JSON file per (file hash, page): ``<dir>/<sha256>-p<N>.json``."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @staticmethod
    def key(data: bytes) -> str:
        return hashlib.sha256(OCR_VERSION.encode() + b"\0" + data).hexdigest()

    def _path(self, key: str, page: int) -> Path | None:
        return self.folder / f"{key}-p{page}.json" if self.folder else None

    def get(self, key: str, page: int) -> OcrPage | None:
        path = self._path(key, page)
        if path is None or not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            boxes = tuple(
                OcrBox(str(t), float(c), float(x0), float(y0), float(x1), float(y1))
                for t, c, x0, y0, x1, y1 in raw["boxes"]
            )
            return OcrPage(boxes, float(raw["width"]), float(raw["confidence"]))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("OCR cache entry %s unreadable; OCR again", path)
            return None

    def put(self, key: str, page: int, result: OcrPage) -> None:
        path = self._path(key, page)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        boxes = [[b.text, b.confidence, b.x0, b.y0, b.x1, b.y1] for b in result.boxes]
        tmp.write_text(
            json.dumps(
                {"boxes": boxes, "width": result.width, "confidence": result.confidence},
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        tmp.replace(path)


def ocr_pages(
    source: str,
    data: bytes,
    pages: Sequence[int],
    render: Callable[[int], Any],
    total: int,
    settings: OcrSettings,
) -> dict[int, OcrPage]:
    """OCR the given pages of one file (``render(page)`` gives its image), cached by file hash."""
    cache = OcrCache(settings.cache_dir)
    key = cache.key(data)
    engine = OcrEngine()
    out: dict[int, OcrPage] = {}
    for page in pages:
        if settings.on_page:
            settings.on_page(source, page, total)
        hit = cache.get(key, page)
        if hit is None:
            hit = engine.page(render(page))
            cache.put(key, page, hit)
        out[page] = hit
    return out
