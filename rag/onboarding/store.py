"""The extracted 新人入门 data kept next to the index, in step with it.

``<index dir>/onboarding.json`` holds, per document id, the ``doc_hash`` its records were
extracted from and the records (responsibilities, glossary entries). ``OnboardingStore.sync``
compares that with the documents the index holds now (doc id → doc hash, read from the BM25
side's metadata, in memory): a new or changed document is extracted from its chunks, a
document that is gone (deleted, pruned) loses its rows, and the file is rewritten atomically
(temp file + ``os.replace``). So whoever changed the index — an ingest, a delete in the app,
another process — the next read sees the map of the documents that are there. Ledger rows
(``project_record``) are not read.

It holds no lock across processes: two writers of the file write the same content for the
same index, and the last one wins.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.onboarding import glossary, responsibilities
from rag.onboarding.records import (
    GlossaryEntry,
    Responsibility,
    glossary_from_dict,
    responsibility_from_dict,
)

log = logging.getLogger(__name__)

FILE_NAME = "onboarding.json"
EXTRACTOR_VERSION = 1  # bump when the extraction rules change: every document is read again
SKIPPED_KINDS = ("project_record",)

Chunks = list[tuple[str, dict]]


@dataclass(frozen=True)
class OnboardingMap:
    """The responsibility map and the glossary of every indexed document."""

    responsibilities: tuple[Responsibility, ...] = ()
    glossary: tuple[GlossaryEntry, ...] = ()
    extracted: tuple[str, ...] = field(default_factory=tuple)  # doc ids read in the last sync
    seconds: float = 0.0  # time the last sync spent extracting


def extract_document(chunks: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The stored form of one document's records."""
    return {
        "responsibilities": [asdict(r) for r in responsibilities.extract(chunks)],
        "glossary": [asdict(g) for g in glossary.extract(chunks)],
    }


class OnboardingStore:
    """``onboarding.json`` of one index dir, and the map built from it (cached per index state)."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._state: tuple[tuple[str, str], ...] | None = None
        self._map = OnboardingMap()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:  # damaged: rebuilt from the index
            log.warning("%s unreadable (%s); extracting again", self.path, e)
            return {}
        if data.get("version") != EXTRACTOR_VERSION:
            return {}
        return dict(data.get("documents") or {})

    def _write(self, documents: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".onboarding-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(
                    {"version": EXTRACTOR_VERSION, "documents": documents}, f, ensure_ascii=False
                )
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def sync(
        self, documents: Mapping[str, tuple[str, str]], chunks_of: Callable[[str], Chunks]
    ) -> OnboardingMap:
        """The map of ``documents`` (doc id → (doc hash, kind)); documents not extracted yet, or
        changed since, are read through ``chunks_of(doc_id)``; gone ones are dropped."""
        state = tuple(sorted((d, h) for d, (h, _) in documents.items()))
        with self._lock:
            if state == self._state:
                return self._map
            stored = self._read()
            wanted = {d: h for d, (h, kind) in documents.items() if kind not in SKIPPED_KINDS}
            t0 = time.perf_counter()
            fresh: list[str] = []
            kept: dict[str, Any] = {}
            for doc_id, doc_hash in sorted(wanted.items()):
                entry = stored.get(doc_id)
                if entry is None or entry.get("doc_hash") != doc_hash:
                    entry = {"doc_hash": doc_hash, **extract_document(chunks_of(doc_id))}
                    fresh.append(doc_id)
                kept[doc_id] = entry
            seconds = time.perf_counter() - t0
            if fresh or set(kept) != set(stored):
                self._write(kept)
                log.info(
                    "新人入门：extracted %d documents in %.2f s, %d kept",
                    len(fresh),
                    seconds,
                    len(kept),
                )
            self._map = OnboardingMap(
                responsibilities=tuple(
                    responsibility_from_dict(r)
                    for e in kept.values()
                    for r in e["responsibilities"]
                ),
                glossary=tuple(glossary_from_dict(g) for e in kept.values() for g in e["glossary"]),
                extracted=tuple(fresh),
                seconds=seconds,
            )
            self._state = state
            return self._map
