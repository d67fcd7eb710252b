"""Retrievers as LangChain ``BaseRetriever``s: dense (Chroma), BM25, and their fusion.

Each returns LangChain ``Document``s whose metadata carries the chunk's fields plus the
evidence an evaluator needs: ``dense_rank``, ``dense_score``, ``bm25_rank``,
``bm25_score``, ``score`` (the fused score for hybrid). Filters are applied inside each
retriever, never by post-filtering a top-k: a row selection over the BM25 side's metadata
columns restricts BM25 scoring and tells the dense side which ids to search among.
Retrievers rank chunk ids first and fetch texts only for what they return.

The hybrid retriever fuses more runs than those two (``rag.retrieval.runs``): front-matter
fields, the documents of a place or issuer the question names, and the sentences of the
first candidates. Fusion (``rrf``, ``combsum``) is a pure function from runs to a run. Near-duplicate
chunks (the same paragraph in two notices, a reprinted article) are collapsed into the
best-ranked one, which lists the others under ``duplicates``. An optional cross-encoder
(sentence-transformers ``CrossEncoder``, a local model path in ``POLICYQA_RERANKER``)
reorders the fused candidates and adds ``rerank_score``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from chromadb.errors import ChromaError
from langchain_core.callbacks import CallbackManagerForRetrieverRun, Callbacks
from langchain_core.documents import BaseDocumentCompressor
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ingest.metadata import date_as_int
from rag.answering.units import embedding_text, passage_units
from rag.errors import QueryError
from rag.retrieval.runs import (
    Run,
    evidence_of,
    fuse,
    named_issuers,
    named_kinds,
    named_places,
    named_years,
    sentence_run,
)
from rag.retrieval.runs import rrf as rrf  # re-exported: the fusion tests import it here
from rag.store.bm25 import MetaColumns, top_rows
from rag.store.index import PolicyIndex

RRF_K = 60
_SPARE = 5  # extra candidates fetched so that collapsing duplicates still leaves k
# Rows a filter excludes (ledger rows for policy questions) are dropped after the dense query
# when there are at most this many: it fetches that many extra candidates instead of filtering.
_POST_EXCLUDE_MAX = 50
_OVERSAMPLE_MAX = 4000  # candidates fetched at most before searching inside the selection (ids=)


_DATE_BOUND = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def normalise_date(text: str) -> str:
    """A date bound as YYYY[-MM[-DD]] with two-digit parts; ``QueryError`` for an impossible one.

    "2020-3" → "2020-03"; "2020-3-6" → "2020-03-06"; "" → ""; "2020-13" and "2020-02-30" → QueryError
    """
    text = text.strip()
    if not text:
        return ""
    m = _DATE_BOUND.fullmatch(text)
    if not m:
        raise QueryError(f"日期格式不正确：{text}（应为 YYYY、YYYY-MM 或 YYYY-MM-DD）")
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        datetime.date(year, month, day)
    except ValueError:
        raise QueryError(f"日期不存在：{text}（月份应为 1–12，日期应在该月的天数以内）") from None
    return (
        f"{year:04d}"
        + (f"-{month:02d}" if m.group(2) else "")
        + (f"-{day:02d}" if m.group(3) else "")
    )


@dataclass(frozen=True)
class Filters:
    """Metadata filters; text fields match as substrings ("焦作" matches "河南省焦作市")."""

    kind: tuple[str, ...] = ()
    region: str = ""
    issuer: str = ""
    doc_number: str = ""
    date_from: str = ""
    date_to: str = ""
    doc_ids: tuple[str, ...] = field(default=())
    exclude_kinds: tuple[
        str, ...
    ] = ()  # set by the service, not by users: ledger rows for policy questions

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Filters:
        if not data:
            return cls()
        unknown = set(data) - {
            "kind",
            "region",
            "issuer",
            "doc_number",
            "date_from",
            "date_to",
            "doc_ids",
        }
        if unknown:
            raise QueryError(f"未知的筛选条件：{'、'.join(sorted(unknown))}")
        kind = data.get("kind") or ()
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        return cls(
            kind=kinds,
            region=str(data.get("region") or ""),
            issuer=str(data.get("issuer") or ""),
            doc_number=str(data.get("doc_number") or ""),
            date_from=normalise_date(str(data.get("date_from") or "")),
            date_to=normalise_date(str(data.get("date_to") or "")),
            doc_ids=tuple(data.get("doc_ids") or ()),
        )

    def is_empty(self) -> bool:
        return not any(
            (
                self.kind,
                self.region,
                self.issuer,
                self.doc_number,
                self.date_from,
                self.date_to,
                self.doc_ids,
                self.exclude_kinds,
            )
        )

    def _date_bounds(self) -> tuple[int, int]:
        lo = date_as_int(self.date_from) if self.date_from else 0
        hi = date_as_int(self.date_to) if self.date_to else 0
        if hi and hi % 10000 == 0:  # "2020" → end of 2020
            hi += 1231
        elif hi and hi % 100 == 0:  # "2020-03" → end of March
            hi += 31
        return lo, hi

    def matches(self, meta: Mapping[str, Any]) -> bool:
        if self.kind and meta.get("kind") not in self.kind:
            return False
        if self.exclude_kinds and meta.get("kind") in self.exclude_kinds:
            return False
        for name in ("region", "issuer", "doc_number"):
            want = getattr(self, name)
            if want and want not in str(meta.get(name, "")):
                return False
        if self.doc_ids and meta.get("doc_id") not in self.doc_ids:
            return False
        lo, hi = self._date_bounds()
        d = int(meta.get("date_int") or 0)
        if lo and d < lo:
            return False
        return not (hi and (not d or d > hi))

    def mask(self, columns: MetaColumns) -> np.ndarray:
        """The rows ``matches`` would keep, as a boolean array over ``columns``."""
        keep = np.ones(columns.size, dtype=bool)
        if self.kind:
            keep &= columns.where("kind", lambda v: v in self.kind)
        if self.exclude_kinds:
            keep &= ~columns.where("kind", lambda v: v in self.exclude_kinds)
        for name in ("region", "issuer", "doc_number"):
            want: str = getattr(self, name)
            if want:
                keep &= columns.where(name, lambda v, w=want: w in v)  # type: ignore[misc]
        if self.doc_ids:
            keep &= columns.where("doc_id", lambda v: v in self.doc_ids)
        lo, hi = self._date_bounds()
        if lo:
            keep &= columns.date_int >= lo
        if hi:
            keep &= (columns.date_int > 0) & (columns.date_int <= hi)
        return keep

    def chroma_where(self, columns: MetaColumns) -> dict | None:
        """A Chroma ``where``; substring fields become ``$in`` over the values present."""
        clauses: list[dict] = []
        if self.kind:
            clauses.append({"kind": {"$in": list(self.kind)}})
        if self.exclude_kinds:
            clauses.append({"kind": {"$nin": list(self.exclude_kinds)}})
        for name in ("region", "issuer", "doc_number"):
            want = getattr(self, name)
            if want:
                values = sorted(v for v in columns.values[name] if want in v)
                clauses.append({name: {"$in": values or ["\u0000none"]}})
        if self.doc_ids:
            clauses.append({"doc_id": {"$in": list(self.doc_ids)}})
        lo, hi = self._date_bounds()
        if lo:
            clauses.append({"date_int": {"$gte": lo}})
        if hi:
            clauses.append({"date_int": {"$lte": hi}})
            clauses.append({"date_int": {"$gt": 0}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _shingles(text: str, n: int = 3) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + n] for i in range(max(len(t) - n + 1, 1))}


def collapse_near_duplicates(
    docs: Sequence[LCDocument], threshold: float = 0.85, limit: int | None = None
) -> list[LCDocument]:
    """Keep the first of each group of chunks whose character-trigram Jaccard ≥ ``threshold``.

    The kept chunk's metadata ``duplicates`` lists the chunk ids folded into it. With
    ``limit`` it stops once that many are kept (later ones are not compared at all).
    """
    kept: list[tuple[LCDocument, set[str]]] = []
    for doc in docs:
        grams = _shingles(doc.page_content)
        for other, other_grams in kept:
            small, large = sorted((len(grams), len(other_grams)))
            if small < threshold * large:  # Jaccard ≤ |small| / |large|: cannot reach the threshold
                continue
            inter = len(grams & other_grams)
            if inter and inter / len(grams | other_grams) >= threshold:
                other.metadata.setdefault("duplicates", []).append(doc.id)
                break
        else:
            kept.append((doc, grams))
            if limit is not None and len(kept) >= limit:
                break
    return [d for d, _ in kept]


def _to_doc(chunk_key: str, text: str, meta: Mapping[str, Any], **scores: Any) -> LCDocument:
    md = dict(meta)
    md.update(scores)
    return LCDocument(id=chunk_key, page_content=text, metadata=md)


Ranked = list[tuple[str, dict[str, Any]]]  # (chunk id, its ranks and scores), best first


def _documents(
    index: PolicyIndex, ranked: Ranked, fetched: Mapping[str, tuple[str, dict]] | None = None
) -> list[LCDocument]:
    """LangChain documents for ranked chunk ids: texts and metadata from Chroma in one call.

    Retrievers rank on ids alone and fetch bodies only for what they return; at 100k chunks
    fetching the bodies of every candidate costs more than the search. ``fetched`` holds
    chunks already read (id → (text, metadata)).
    """
    if not ranked:
        return []
    fetched = fetched or {}
    missing = [cid for cid, _ in ranked if cid not in fetched]
    found = dict(fetched)
    if missing:
        found |= {cid: (text, meta) for cid, text, meta in index.chunks(missing)}
    return [_to_doc(cid, *found[cid], **scores) for cid, scores in ranked if cid in found]


class DenseRetriever(BaseRetriever):
    """Nearest chunks by embedding (cosine) in Chroma."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    index: PolicyIndex
    k: int = 5
    filters: Filters = Filters()

    def ranked(self, query: str, n: int) -> Ranked:
        """The ``n`` nearest chunk ids with ``dense_rank`` and ``dense_score``.

        Filters become the BM25 side's row mask (its in-memory copy of every chunk's
        metadata), then the cheapest exact way to search inside it; at 100k chunks a
        Chroma ``where`` costs 30–300 ms where these cost 2–60 ms:

        - the mask keeps most rows: fetch more candidates and drop the masked-out ones,
          widening up to ``_OVERSAMPLE_MAX`` candidates before searching inside the
          selection;
        - otherwise: search only among the selected ids (``ids=``).
        """
        bm25 = self.index.bm25
        # the BM25 side lists the same chunks as Chroma (rebuilt on every change) and its
        # length is free, where Chroma's count() costs ~8 ms at 100k chunks
        total = len(bm25) or self.index.count()
        if total == 0:
            return []
        vector = self.index.embed_query(query)
        if self.filters.is_empty():
            return self._query(vector, n, total)
        if not len(bm25):  # not built yet: let Chroma filter
            return self._query(vector, n, total, where=self.filters.chroma_where(bm25.columns))
        chosen = _selection(bm25, self.filters)
        selected = len(chosen)
        if selected == 0:
            return []
        if selected == total:
            return self._query(vector, n, total)
        if total - selected <= _POST_EXCLUDE_MAX or selected >= total / 2:
            excluded = total - selected
            fetch = (
                n + excluded
                if excluded <= _POST_EXCLUDE_MAX
                else 2 * n * total // selected + _POST_EXCLUDE_MAX
            )
            while True:  # the masked-out rows may crowd the nearest ones: widen a few times
                fetch = min(fetch, total)
                out = self._query(vector, fetch, total, keep=chosen.mask)
                if len(out) >= min(n, selected) or fetch == total:
                    return out[:n]
                if fetch >= _OVERSAMPLE_MAX:
                    break
                fetch *= 4
        return self._query(vector, n, total, ids=chosen.ids)

    def _query(
        self,
        vector: list[float],
        n: int,
        total: int,
        keep: np.ndarray | None = None,
        ids: list[str] | None = None,
        where: dict | None = None,
    ) -> Ranked:
        """One Chroma query: the ``n`` nearest among ``ids`` (all if None), rows outside ``keep`` dropped."""
        bm25 = self.index.bm25
        n_results = min(n, len(ids) if ids is not None else total)
        try:
            got = self.index.nearest(vector, n_results, ids=ids, where=where)
        except ChromaError:
            if ids is None:
                raise
            # an id the BM25 side still lists is gone from Chroma (a concurrent delete): filter in Chroma
            got = self.index.nearest(
                vector, n_results, where=self.filters.chroma_where(bm25.columns)
            )
        out: Ranked = []
        for cid, dist in got:
            if keep is not None:
                row = bm25.row_of.get(cid)
                if row is None or not keep[row]:
                    continue
            score = round(1 - float(dist), 6)
            out.append((cid, {"dense_rank": len(out) + 1, "dense_score": score, "score": score}))
        return out[:n]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        docs = _documents(self.index, self.ranked(query, self.k + _SPARE))
        return collapse_near_duplicates(docs, limit=self.k)


class Selection:
    """The rows a filter keeps over one BM25 index version: a boolean mask, row numbers, ids."""

    def __init__(self, bm25: Any, filters: Filters) -> None:
        self._bm25 = bm25
        self.mask: np.ndarray = filters.mask(bm25.columns)
        self.rows: np.ndarray = np.flatnonzero(self.mask)

    def __len__(self) -> int:
        return len(self.rows)

    @cached_property
    def ids(self) -> list[str]:
        return [self._bm25.ids[row] for row in self.rows]


def _selection(bm25: Any, filters: Filters) -> Selection:
    """The rows ``filters`` keeps, cached on the BM25 index (so it goes with its version):
    the same filters (the service's implied ones above all) repeat on every query."""
    cache = bm25.selections
    if filters not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[filters] = Selection(bm25, filters)
    return cache[filters]


class BM25Retriever(BaseRetriever):
    """Keyword (BM25) retrieval over jieba words and character bigrams.

    The query is expanded first (``rag.retrieval.query``): number forms (1/4 ↔ 四分之一) and the
    synonym list (一把手 ↔ 主要负责同志), so staff wording meets document wording.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    index: PolicyIndex
    k: int = 5
    filters: Filters = Filters()
    expand: bool = True

    def ranked(self, query: str, n: int) -> Ranked:
        """The ``n`` best BM25 chunk ids with ``bm25_rank`` and ``bm25_score`` (score > 0 only)."""
        bm25 = self.index.bm25
        if not len(bm25):
            return []
        rows = None
        if not self.filters.is_empty():
            rows = _selection(bm25, self.filters).rows
            if not len(rows):
                return []
        from rag.retrieval.query import expand_for_bm25, load_synonyms

        expanded = (
            expand_for_bm25(query, load_synonyms(self.index.settings.synonyms_file))
            if self.expand
            else query
        )
        return [
            (
                bm25.ids[row],
                {"bm25_rank": rank, "bm25_score": round(score, 6), "score": round(score, 6)},
            )
            for rank, (row, score) in enumerate(bm25.search(expanded, n, rows), start=1)
        ]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        docs = _documents(self.index, self.ranked(query, self.k + _SPARE))
        return collapse_near_duplicates(docs, limit=self.k)


class HybridRetriever(BaseRetriever):
    """Dense, BM25, fields, named-place and sentence runs fused (``rag.retrieval.runs``).

    A run weighted 0 is not computed; with the fields, place and sentence weights at 0 this
    is the plain dense + BM25 fusion.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    index: PolicyIndex
    k: int = 5
    filters: Filters = Filters()
    candidates: int = 30
    dense_weight: float = 1.0
    bm25_weight: float = 3.0
    rrf_k: int = 5
    fields_weight: float = 0.0
    place_weight: float = 0.0
    year_weight: float = 0.0
    kind_weight: float = 0.0
    sentence_weight: float = 0.0
    field_boost: float = 0.5
    sentence_candidates: int = 10
    fusion: str = "rrf"

    def first_runs(self, query: str) -> dict[str, Run]:
        """The runs over the whole index: dense, bm25, fields, place, year and kind (empty
        when weighted 0)."""
        # one after the other: the embedder already uses every core (OpenMP), and a BM25
        # thread next to it made the tail slower, not faster, on 2 cores
        lexical = _lexical_runs(
            self.index,
            self.filters,
            query,
            self.candidates,
            self.field_boost
            if self.fields_weight or self.place_weight or self.year_weight or self.kind_weight
            else 0.0,
        )
        dense = DenseRetriever(index=self.index, filters=self.filters).ranked(
            query, self.candidates
        )
        return {
            "dense": [(cid, ev["dense_score"]) for cid, ev in dense],
            "bm25": lexical["bm25"],
            "fields": lexical["fields"] if self.fields_weight else [],
            "place": lexical["place"] if self.place_weight else [],
            "year": lexical["year"] if self.year_weight else [],
            "kind": lexical["kind"] if self.kind_weight else [],
        }

    @property
    def weights(self) -> dict[str, float]:
        return {
            "dense": self.dense_weight,
            "bm25": self.bm25_weight,
            "fields": self.fields_weight,
            "place": self.place_weight,
            "year": self.year_weight,
            "kind": self.kind_weight,
            "sentence": self.sentence_weight,
        }

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        runs = self.first_runs(query)
        names = list(runs)
        fused = fuse(
            [runs[n] for n in names], [self.weights[n] for n in names], self.fusion, self.rrf_k
        )
        fetched: dict[str, tuple[str, dict]] = {}
        if self.sentence_weight and self.sentence_candidates and fused:
            top = [cid for cid, _ in fused[: self.sentence_candidates]]
            fetched = {cid: (text, meta) for cid, text, meta in self.index.chunks(top)}
            runs["sentence"] = sentence_run(
                _unit_vector(self.index.embed_query(query)),
                [(cid, unit_texts(*fetched[cid])) for cid in top if cid in fetched],
                self.index.units.lookup,
            )
            names.append("sentence")
            fused = fuse(
                [runs[n] for n in names], [self.weights[n] for n in names], self.fusion, self.rrf_k
            )
        evidence: dict[str, dict[str, Any]] = {}
        for name in ("dense", "bm25", *(n for n in names if n not in ("dense", "bm25"))):
            for cid, ev in evidence_of(name, runs[name]).items():
                evidence.setdefault(cid, {}).update(ev)
        top_k = [
            (cid, evidence[cid] | {"score": round(score, 6)})
            for cid, score in fused[: self.k + _SPARE]
        ]
        return collapse_near_duplicates(_documents(self.index, top_k, fetched), limit=self.k)


def _unit_vector(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def unit_texts(text: str, meta: Mapping[str, Any]) -> list[str]:
    """What was embedded for each evidence unit of a chunk (the keys of its unit vectors)."""
    units = passage_units(text, str(meta.get("section_path", "")), str(meta.get("title", "")))
    return [embedding_text(u) for u in units]


def _lexical_runs(
    index: PolicyIndex, filters: Filters, query: str, n: int, field_boost: float
) -> dict[str, Run]:
    """The BM25 runs of one expanded query: body ("bm25"), body + ``field_boost`` × fields
    ("fields"), and the latter over the chunks of the places and issuers the query names
    ("place"), over those of documents of a year it names ("year") and over those of the
    kind of document it names ("kind"). Without ``field_boost`` only "bm25" is computed."""
    empty: dict[str, Run] = {"bm25": [], "fields": [], "place": [], "year": [], "kind": []}
    bm25 = index.bm25
    chosen = _selection(bm25, filters) if len(bm25) and not filters.is_empty() else None
    rows = chosen.rows if chosen is not None else None
    if not len(bm25) or (rows is not None and not len(rows)):
        return empty
    from rag.retrieval.query import expand_for_bm25, load_synonyms

    text = expand_for_bm25(query, load_synonyms(index.settings.synonyms_file))
    body = bm25.scores(text)

    def run(scores: np.ndarray, among: np.ndarray | None) -> Run:
        return [(bm25.ids[row], score) for row, score in top_rows(scores, n, among)]

    out = empty | {"bm25": run(body, rows)}
    if field_boost:
        both = body + field_boost * bm25.field_scores(text)

        def rows_of(mask: np.ndarray) -> np.ndarray:  # within the filters' selection
            return np.flatnonzero(mask & chosen.mask if chosen is not None else mask)

        named = rows_of(named_mask(bm25.columns, query))
        dated = rows_of(year_mask(bm25.columns, query))
        kinds = rows_of(kind_mask(bm25.columns, query))
        everything = len(rows) if rows is not None else len(bm25)
        out |= {
            "fields": run(both, rows),
            "place": run(both, named) if len(named) else [],
            "year": run(both, dated) if len(dated) else [],
            "kind": run(both, kinds) if 0 < len(kinds) < everything else [],
        }
    return out


def year_mask(columns: MetaColumns, query: str) -> np.ndarray:
    """The rows of documents dated in a year the query names, or whose title holds it.

    "2019年政府工作报告提出的增长目标" → True at the rows dated 2019 or titled "…2019年…"
    """
    keep = np.zeros(columns.size, dtype=bool)
    years = named_years(query)
    if years:
        keep |= np.isin(columns.date_int // 10000, years)
        keep |= columns.where("title", lambda v: any(f"{y}年" in v for y in years))
    return keep


def kind_mask(columns: MetaColumns, query: str) -> np.ndarray:
    """The rows of documents of the kind the query's genre words name (``named_kinds``).

    "那篇评论开头怎么评价…" → True at the rows of experience articles and news
    """
    kinds = set(named_kinds(query))
    if not kinds:
        return np.zeros(columns.size, dtype=bool)
    return columns.where("kind", lambda v: v in kinds)


def named_mask(columns: MetaColumns, query: str) -> np.ndarray:
    """The rows whose region, issuer or title holds a place or issuer the query names.

    "济南市对总部企业落户有什么奖励" → True at the rows of documents with 济南 in those fields
    """
    names = named_places(query) + named_issuers(query, columns.values["issuer"])
    keep = np.zeros(columns.size, dtype=bool)
    if names:
        for field_name in ("region", "issuer", "title"):
            keep |= columns.where(field_name, lambda v: any(name in v for name in names))
    return keep


class CrossEncoderScorer:
    """A sentence-transformers ``CrossEncoder`` behind LangChain's ``BaseCrossEncoder`` interface.

    Loaded offline only: a local folder, or a model already in the Hugging Face cache.
    """

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        from rag.store.embeddings import load_offline

        self.model = load_offline(CrossEncoder, model, "重排序模型", "请填写本地模型目录路径。")
        self.name = model

    def score(self, text_pairs: list[tuple[str, str]]) -> list[float]:
        return [float(s) for s in self.model.predict(text_pairs, show_progress_bar=False)]


class RerankCompressor(BaseDocumentCompressor):
    """Reorder candidates by cross-encoder score, keeping ``top_n``; records ``rerank_score``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model: Any
    top_n: int = 5

    def compress_documents(
        self, documents: Sequence[LCDocument], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[LCDocument]:
        if not documents:
            return []
        scores = self.model.score([(query, d.page_content) for d in documents])
        ranked = sorted(zip(documents, scores, strict=True), key=lambda ds: -ds[1])[: self.top_n]
        for rank, (doc, score) in enumerate(ranked, start=1):
            doc.metadata.update(
                rerank_rank=rank, rerank_score=round(score, 6), score=round(score, 6)
            )
        return [d for d, _ in ranked]


_SCORERS: dict[str, CrossEncoderScorer] = {}


def load_reranker(model: str) -> CrossEncoderScorer:
    """One loaded cross-encoder per model path, shared by all retrievers of the process."""
    if model not in _SCORERS:
        _SCORERS[model] = CrossEncoderScorer(model)
    return _SCORERS[model]


def hybrid_settings(st: Any) -> dict[str, Any]:
    """The fusion settings of ``Settings`` as ``HybridRetriever`` fields."""
    names = ("rrf_k", "fusion", "field_boost", "sentence_candidates")
    weights = ("dense", "bm25", "fields", "place", "year", "kind", "sentence")
    return {n: getattr(st, n) for n in names} | {
        f"{w}_weight": getattr(st, f"{w}_weight") for w in weights
    }


RETRIEVERS = {"dense": DenseRetriever, "bm25": BM25Retriever, "hybrid": HybridRetriever}


def make_retriever(
    index: PolicyIndex,
    kind: str = "hybrid",
    k: int = 5,
    filters: Filters | None = None,
    reranker: str = "",
    rerank_candidates: int = 20,
) -> BaseRetriever:
    """The named retriever; with ``reranker`` set, wrapped in a cross-encoder rerank.

    Rerank is LangChain's ``ContextualCompressionRetriever`` over ``rerank_candidates``
    fused candidates.
    """
    if kind not in RETRIEVERS:
        raise QueryError(f"未知的检索方式“{kind}”：可选 bm25、dense、hybrid")
    st = index.settings
    fusion = hybrid_settings(st) if kind == "hybrid" else {}
    if not reranker:
        return RETRIEVERS[kind](index=index, k=k, filters=filters or Filters(), **fusion)  # type: ignore[call-arg]
    from langchain_classic.retrievers import ContextualCompressionRetriever

    base = RETRIEVERS[kind](
        index=index, k=max(k, rerank_candidates), filters=filters or Filters(), **fusion
    )  # type: ignore[call-arg]
    return ContextualCompressionRetriever(
        base_compressor=RerankCompressor(model=load_reranker(reranker), top_n=k),
        base_retriever=base,
    )
