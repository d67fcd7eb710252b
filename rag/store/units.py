"""The evidence units' vectors as one table next to the index, for the sentence run.

The embedding cache keeps one file per vector (JSON text): reading the ~100 units of ten
candidate chunks from it costs 50–100 ms. This table keeps the same vectors as one float16
matrix (``vectors.npy``, memory-mapped) and their keys (``keys.json``, a hash of each unit's
embedded text), so a search reads only the rows of its candidates. It is written after
ingest (``PolicyQA.warm_unit_vectors``) and only ever grows: a key is the text's hash, so a
row of a deleted chunk is harmless and a changed text gets a row of its own. A unit without
a row is simply not scored; nothing here calls the embedder.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def unit_key(text: str) -> str:
    """The table key of a unit's embedded text: the first 16 hex digits of its SHA-1."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class _Keys:
    """Row numbers by key, as sorted 64-bit integers (8 bytes a unit, not a dict's ~100)."""

    def __init__(self, keys: Sequence[str]) -> None:
        values = np.asarray([int(k, 16) for k in keys], dtype=np.uint64)
        self.order = np.argsort(values, kind="stable")
        self.sorted = values[self.order]

    def __len__(self) -> int:
        return len(self.sorted)

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        """The row of each key, -1 where it is not in the table."""
        if not len(self.sorted):
            return np.full(len(keys), -1, dtype=np.int64)
        wanted = np.asarray([int(k, 16) for k in keys], dtype=np.uint64)
        at = np.minimum(np.searchsorted(self.sorted, wanted), len(self.sorted) - 1)
        return np.where(self.sorted[at] == wanted, self.order[at], -1).astype(np.int64)


class UnitVectors:
    """Unit-norm vectors by text, read from ``folder`` (reloaded when another process rewrote it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._rows = _Keys([])
        self._matrix: np.ndarray = np.zeros((0, 0), dtype=np.float16)

    def __len__(self) -> int:
        self._follow()
        return len(self._rows)

    def exists(self) -> bool:
        return (self.folder / "keys.json").exists()

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(found mask over ``texts``, the found texts' vectors as float32 rows, in order)."""
        self._follow()
        rows = self._rows.rows([unit_key(t) for t in texts])
        found = rows >= 0
        picked = rows[found]
        if not len(picked):
            return found, np.zeros((0, 0), dtype=np.float32)
        return found, np.asarray(self._matrix[picked], dtype=np.float32)

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Add the rows of texts not in the table yet (vectors scaled to length 1); the count added."""
        with self._lock:
            self._follow()
            keys = [unit_key(t) for t in texts]
            known = self._rows.rows(keys) >= 0
            new = {k: i for i, k in enumerate(keys) if not known[i]}
            if not new:
                return 0
            fresh = np.asarray(vectors, dtype=np.float32)[list(new.values())]
            fresh /= np.maximum(np.linalg.norm(fresh, axis=1, keepdims=True), 1e-12)
            n = len(self._rows)
            old = np.asarray(self._matrix[:n]) if n else np.zeros((0, fresh.shape[1]))
            self._write([*self._stored_keys(), *new], np.vstack([old, fresh]).astype(np.float16))
            self._stamp = None
            self._follow()
            return len(new)

    def _stored_keys(self) -> list[str]:
        """The keys of the rows as loaded (the file may hold more: a writer's rows not yet mapped)."""
        if not self.exists():
            return []
        keys: list[str] = json.loads((self.folder / "keys.json").read_text(encoding="utf-8"))
        return keys[: len(self._rows)]

    def _write(self, keys: list[str], matrix: np.ndarray) -> None:
        """Both files replaced atomically (matrix first: keys never name a row that is missing)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"vectors.{os.getpid()}.tmp.npy"
        np.save(tmp, matrix)
        os.replace(tmp, self.folder / "vectors.npy")
        tmp_keys = self.folder / f"keys.{os.getpid()}.tmp"
        tmp_keys.write_text(json.dumps(keys), encoding="utf-8")
        os.replace(tmp_keys, self.folder / "keys.json")

    def _follow(self) -> None:
        """(Re)load the table when its files changed since the last look."""
        path = self.folder / "keys.json"
        try:
            st = path.stat()
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        keys = json.loads(path.read_text(encoding="utf-8"))
        matrix = np.load(self.folder / "vectors.npy", mmap_mode="r")
        self._rows = _Keys(keys[: len(matrix)])
        self._matrix, self._stamp = matrix, stamp
