"""One writer at a time per index directory, a flag for unfinished writes, and a generation
stamp that tells readers another process changed the index.

``IndexLock(index_dir)`` is held by every write (CLI ingest, ``check --repair``, the app's
upload, delete and re-index). Inside one process writers queue on a thread lock; across
processes the OS lock on ``<index_dir>/write.lock`` (``filelock``: released by the kernel
when the holder dies, so a killed writer never blocks the next one) is tried for at most
``timeout`` seconds, after which the second writer gets ``IndexBusyError`` naming the pid
that holds it ("另一个导入正在进行（pid 4242）…").

The lock says nothing about whether the last write finished: that is the separate flag
``<index_dir>/ingest.running``, written when a write starts and removed when it ends
cleanly. Whoever takes the lock and finds the flag knows the previous write died (nobody
else can be writing) and repairs first. ``<index_dir>/generation`` gets a new value after
every write, so a serving process notices a CLI ingest into the index it serves.

This module does not decide what a repair is (``rag.store.index`` does) and holds no state
about documents.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import IndexBusyError

log = logging.getLogger(__name__)

LOCK_NAME = "write.lock"
OWNER_NAME = "writer.pid"
UNFINISHED_NAME = "ingest.running"
GENERATION_NAME = "generation"

_LOCKS: dict[Path, IndexLock] = {}
_REGISTRY_LOCK = threading.Lock()


def index_lock(folder: Path) -> IndexLock:
    """The one ``IndexLock`` of an index directory in this process (every index object shares it)."""
    key = Path(folder).resolve()
    with _REGISTRY_LOCK:
        if key not in _LOCKS:
            _LOCKS[key] = IndexLock(key)
        return _LOCKS[key]


def read_generation(folder: Path) -> str:
    """The index's write generation ("" before the first write)."""
    try:
        return (folder / GENERATION_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def busy_message(owner: str) -> str:
    """The message a second writer gets: "另一个导入正在进行（pid 4242，开始于 10:32:05），请等它结束后再试。"."""
    pid, _, started = owner.partition(" ")
    when = f"，开始于 {started}" if started else ""
    return f"另一个导入正在进行（pid {pid or '未知'}{when}），请等它结束后再试。"


class IndexLock:
    """The writer lock of one index directory (see the module docstring); get it with ``index_lock``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self._threads = threading.RLock()
        self._file = FileLock(self.folder / LOCK_NAME, thread_local=False)
        self._depth = 0
        self.last_written = ""  # the generation this process's last write set

    @property
    def unfinished_flag(self) -> Path:
        return self.folder / UNFINISHED_NAME

    def owner(self) -> str:
        try:
            return (self.folder / OWNER_NAME).read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    @contextmanager
    def hold(self, timeout: float = 0.0) -> Iterator[bool]:
        """Hold the lock; yields True in the outermost hold when the previous write did not finish.

        Threads of this process wait for each other; another process holding the lock is
        waited for at most ``timeout`` seconds, then ``IndexBusyError``. Re-entrant in the
        thread that holds it. On a clean exit of the outermost hold the unfinished flag is
        removed; on an exception it stays (the next writer checks the index first). The
        generation is bumped either way.
        """
        self._threads.acquire()
        try:
            if self._depth:
                self._depth += 1
                try:
                    yield False
                finally:
                    self._depth -= 1
                return
            try:
                self._file.acquire(timeout=timeout)
            except Timeout:
                raise IndexBusyError(busy_message(self.owner())) from None
            try:
                self._depth = 1
                unfinished = self.unfinished_flag.exists()
                started = time.strftime("%H:%M:%S")
                (self.folder / OWNER_NAME).write_text(
                    f"{os.getpid()} {started}\n", encoding="utf-8"
                )
                self.unfinished_flag.write_text(f"{os.getpid()} {started}\n", encoding="utf-8")
                yield unfinished
                self.unfinished_flag.unlink(missing_ok=True)
            finally:
                self.last_written = (
                    self.bump_generation()
                )  # before the depth drops: readers see it as ours
                self._depth = 0
                (self.folder / OWNER_NAME).unlink(missing_ok=True)
                self._file.release()
        finally:
            self._threads.release()

    @contextmanager
    def try_hold(self) -> Iterator[bool]:
        """Hold the lock if nobody writes right now (yields False, without waiting, otherwise).

        For a reader's housekeeping, such as saving a rebuilt BM25 index: the unfinished flag
        and the generation are left alone.
        """
        if self._depth:
            yield self._threads._is_owned()  # type: ignore[attr-defined]
            return
        if not self._threads.acquire(blocking=False):
            yield False
            return
        try:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                yield False
                return
            try:
                self._depth = 1
                yield True
            finally:
                self._depth = 0
                self._file.release()
        finally:
            self._threads.release()

    def bump_generation(self) -> str:
        value = uuid.uuid4().hex[:16]
        tmp = self.folder / f".{GENERATION_NAME}.{os.getpid()}.tmp"
        tmp.write_text(value + "\n", encoding="utf-8")
        tmp.replace(self.folder / GENERATION_NAME)
        return value

    @property
    def depth(self) -> int:
        """How deeply the holding thread has entered ``hold`` (0 when free)."""
        return self._depth

    def held_here(self) -> bool:
        """Whether this process holds the lock right now (in any thread)."""
        return self._depth > 0
