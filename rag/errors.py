"""PolicyQA's exceptions.

Every error a user can meet carries a message a government staff member can act on,
in Chinese, because it reaches the UI, the CLI and the REST API as it is. Entry points
translate these into an exit code or an HTTP status; library code only raises them.
"""

from __future__ import annotations

from ingest.errors import LoadError, PolicyQAError

__all__ = [
    "ChromaUnavailableError",
    "ConfigError",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexMismatchError",
    "LLMError",
    "LoadError",
    "PolicyQAError",
    "QueryError",
    "SignInError",
    "SignInThrottled",
]


class IndexMismatchError(PolicyQAError):
    """The index on disk was built with another embedder or format than the one configured."""


class IndexCorruptError(PolicyQAError):
    """A file of the index (manifest, BM25) is unreadable."""


class ConfigError(PolicyQAError):
    """A setting is invalid (unknown embedder, bad URL...)."""


class QueryError(PolicyQAError):
    """A search request is invalid (empty query, bad filter...)."""


class LLMError(PolicyQAError):
    """The configured LLM endpoint failed or timed out; callers fall back to extractive."""


class ChromaUnavailableError(PolicyQAError):
    """The Chroma server (``POLICYQA_CHROMA_URL``) cannot be reached; retry once it is back."""


class IndexBusyError(PolicyQAError):
    """Another process is writing to the index (its pid is in the message); try again later."""


class SignInError(PolicyQAError):
    """Sign-in credentials that cannot be read (not valid HTTP Basic)."""


class SignInThrottled(PolicyQAError):
    """Too many wrong passwords for this user or from this address: wait and try again."""
