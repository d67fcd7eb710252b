"""The errors of reading files, at the bottom of the layers so that ``ingest`` needs nothing of ``rag``.

``PolicyQAError`` is the base of every PolicyQA error (``rag.errors`` holds the others and
re-exports these two): ``str(err)`` is the user-facing (Chinese) message.
"""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class: ``str(err)`` is the user-facing (Chinese) message."""


class LoadError(PolicyQAError):
    """A file could not be read into a document (corrupt, empty, unsupported, too big...)."""
