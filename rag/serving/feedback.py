"""Staff feedback on answers (👍/👎 with an optional comment), kept in SQLite.

One row per rating: the question, how it was understood, the answer text, its citations
as JSON, the rating, the comment, who gave it (when signed in) and when. The file lives in
the index directory (``feedback.sqlite``) so it travels with the index it judges. This
module only stores and lists; reading the ratings back into evals is left to people.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import QueryError

MAX_COMMENT_CHARS = 2000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    rewritten_question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    answered INTEGER NOT NULL DEFAULT 1,
    mode TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]'
)
"""


class FeedbackStore:
    """Ratings in ``path`` (created on first use); a new connection per call, so any thread may use it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(_SCHEMA)
        return conn

    def add(self, answer: Mapping[str, Any], liked: bool, comment: str = "", user: str = "") -> int:
        """Store a rating of ``answer`` (an ``Answer.to_dict()``); returns the row id."""
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            raise QueryError(f"意见过长（{len(comment)} 字），请控制在 {MAX_COMMENT_CHARS} 字以内")
        if not str(answer.get("question") or "").strip():
            raise QueryError("没有可评价的回答")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            user or "",
            1 if liked else -1,
            comment,
            str(answer.get("question", "")),
            str(answer.get("rewritten_question", "")),
            str(answer.get("answer", "")),
            1 if answer.get("answered", True) else 0,
            str(answer.get("mode", "")),
            json.dumps(list(answer.get("citations") or []), ensure_ascii=False),
        )
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (created, user, rating, comment, question, rewritten_question, answer,"
                " answered, mode, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            rowid = int(cur.lastrowid or 0)
        conn.close()
        return rowid

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest ratings, newest first, citations decoded."""
        if not self.path.exists():
            return []
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                "SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            conn.close()
        return [dict(r) | {"citations": json.loads(r["citations"])} for r in rows]


def feedback_store(index_dir: Path) -> FeedbackStore:
    """The store beside an index: ``<index_dir>/feedback.sqlite``."""
    return FeedbackStore(Path(index_dir) / "feedback.sqlite")
