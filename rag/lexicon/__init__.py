"""The shared vocabulary: place names, industries (word lists as package data in ``data/``).

Follow-up rewriting, the answering pipeline's place checks and the project ledger all read
the same lists from here, so a name added once is known everywhere. This package holds words
and the small functions that find them in text; it knows nothing of the index or of answers.
"""

from __future__ import annotations

from importlib import resources


def word_list(name: str) -> list[str]:
    """The words of ``data/<name>.txt`` in file order (``#`` lines and blank lines skipped)."""
    text = resources.files(__package__).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return [w for w in (line.strip() for line in text.splitlines()) if w and not w.startswith("#")]
