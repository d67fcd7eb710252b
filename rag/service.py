"""The facade every entry point uses: ``PolicyQA(settings)`` with search, ask, ingest, documents,
chunk texts, ledger queries, the 新人入门 map and the library's admin operations.

The CLI, the Gradio app, the REST API and the eval runner all call these methods and
translate ``PolicyQAError`` into their own kind of message at their edge. It is the only
door to the store: nothing above it touches the index (``rag.store``) directly.
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag import library as doc_library
from rag.answer import verify
from rag.answering import Draft, Library, answer_offline
from rag.answering.compose import partial, refusal_text
from rag.answering.evidence import QUESTION_NOISE
from rag.answering.refusal import YEAR_REPORT, RefusalModel, default_model
from rag.answering.units import embedding_text, passage_units
from rag.errors import LLMError, PolicyQAError, QueryError
from rag.ledger.projects import Ledger, ProjectQuery, is_project_question, total_amount
from rag.llm import LLMAnswerer, fallback_note
from rag.onboarding.records import GlossaryEntry, Overview, Responsibility
from rag.onboarding.store import OnboardingMap, OnboardingStore
from rag.records import Answer, Hit
from rag.retrieval.retrieve import Filters, make_retriever
from rag.retrieval.rewrite import rewrite_followup
from rag.settings import Settings
from rag.store.index import IngestReport, PolicyIndex

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to length 1."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm == 0, 1, norm)


def clean_query(query: str) -> str:
    """Strip control characters and surrounding space; refuse empty or huge queries."""
    if not isinstance(query, str):
        raise QueryError("查询必须是文本")
    q = "".join(c for c in query if unicodedata.category(c)[0] != "C" or c in "\t\n").strip()
    if not q:
        raise QueryError("查询内容为空，请输入问题")
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"查询过长（{len(q)} 字），请控制在 {MAX_QUERY_CHARS} 字以内")
    return q


def _topic(question: str) -> str:
    """The question without its question words: "深圳的招商补贴标准是多少？" → "“深圳的招商补贴标准”"."""
    t = question.rstrip("？?。！! ")
    for w in sorted(
        QUESTION_NOISE | {"是谁", "是多少", "有哪些", "是什么", "多少", "几个", "吗", "呢"},
        key=len,
        reverse=True,
    ):
        if t.endswith(w):
            t = t[: -len(w)]
    t = t.rstrip("的是为有")
    return f"“{t}”" if t else "该问题"


class PolicyQA:
    """One index, opened lazily, and the operations on it."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self._index: PolicyIndex | None = None
        self._open_lock = threading.Lock()
        # views of the BM25 side's metadata, each rebuilt when the index stamp moves
        self._docs: dict[str, tuple[str, str]] = {}
        self._docs_stamp: str | None = None
        self._ledger = False
        self._ledger_stamp: str | None = None
        self._titles_cache: dict[str, str] = {}
        self._titles_stamp: str | None = None

    @property
    def index(self) -> PolicyIndex:
        """The index, opened once even when several requests ask for it at the same moment."""
        if self._index is None:
            with self._open_lock:
                if self._index is None:
                    self._index = PolicyIndex(self.settings, self._embeddings)
        return self._index

    def open(self) -> None:
        """Open the index and load (or rebuild) its BM25 side now rather than on the first request."""
        self.index.bm25  # noqa: B018

    def ingest(
        self,
        paths: Sequence[Path],
        prune: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
        page_progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders; then compute the evidence vectors of what was written."""
        report = self.index.ingest(
            paths, prune=prune, progress=progress, page_progress=page_progress
        )
        written = [*report.added, *report.updated]
        if self.settings.unit_vectors_at_ingest and not self.index.units.exists():
            written = sorted(self.index.doc_hashes())  # an index built before the table: all of it
        if written and self.settings.unit_vectors_at_ingest:
            self.warm_unit_vectors(written)
        if written or report.removed:
            self.onboarding()  # the 新人入门 map of what was written, extracted now
        return report

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
        retriever: str = "hybrid",
    ) -> list[Hit]:
        query = clean_query(query)
        k = self.settings.default_k if k is None else k
        if not 1 <= k <= 100:
            raise QueryError("k 必须在 1 到 100 之间")
        flt = filters if isinstance(filters, Filters) else Filters.from_mapping(filters)
        self.index.follow_writers()  # another process may have written to the index
        if flt.is_empty():
            flt = self.implied_filters(query)
        docs = make_retriever(
            self.index, retriever, k, flt, self.settings.reranker, self.settings.rerank_candidates
        ).invoke(query)
        return [self._hit(rank, d.page_content, d.metadata) for rank, d in enumerate(docs, start=1)]

    @staticmethod
    def _hit(rank: int, text: str, m: Mapping[str, Any]) -> Hit:
        return Hit(
            rank=rank,
            score=float(m.get("score", 0.0)),
            chunk_id=str(m.get("chunk_id", "")),
            doc_id=str(m.get("doc_id", "")),
            title=str(m.get("title", "")),
            doc_number=str(m.get("doc_number", "")),
            kind=str(m.get("kind", "")),
            region=str(m.get("region", "")),
            date=str(m.get("date", "")),
            section_path=str(m.get("section_path", "")),
            page=int(m["page"]) if m.get("page") is not None else None,
            text=text,
            source=str(m.get("source", "")),
            dense_rank=m.get("dense_rank"),
            bm25_rank=m.get("bm25_rank"),
            fields_rank=m.get("fields_rank"),
            place_rank=m.get("place_rank"),
            year_rank=m.get("year_rank"),
            sentence_rank=m.get("sentence_rank"),
            dense_score=m.get("dense_score"),
            bm25_score=m.get("bm25_score"),
            rerank_score=m.get("rerank_score"),
            ordinal=int(m["ordinal"]) if m.get("ordinal") is not None else None,
            duplicates=tuple(m.get("duplicates") or ()),
        )

    def rewrite(self, question: str, history: Sequence[str] = ()) -> tuple[str, list[str]]:
        """A standalone question for retrieval, and notes (e.g. an LLM fallback)."""
        turns = [clean_query(t) for t in history if t and t.strip()]
        if not turns:
            return question, []
        if self.settings.llm_enabled:
            try:
                return LLMAnswerer(self.settings).rewrite(question, turns), []
            except LLMError as e:
                return rewrite_followup(question, turns), [f"问题改写未使用大模型（{e}）"]
        return rewrite_followup(question, turns), []

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        filters: Filters | Mapping[str, Any] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer from the documents, cited; refuse when they do not cover the question.

        With an LLM configured it writes the answer (streamed through ``on_token``); any
        failure falls back to the extractive answer with a note. Refusal is decided before
        any LLM is asked, on the same evidence for both.
        """
        question = clean_query(question)
        rewritten, notes = self.rewrite(question, history)
        flt = filters if isinstance(filters, Filters) else Filters.from_mapping(filters)
        if flt.is_empty() and is_project_question(rewritten):
            ledger = Ledger.from_index(self.index)
            answer = ledger.answer(rewritten) if ledger.records else None
            if answer is not None and answer.answered:  # no matching row: the documents may say
                answer = replace(answer, question=question, notes=notes + answer.notes)
                if on_token:
                    on_token(answer.text)
                return answer
        if (
            flt.is_empty()
        ):  # "X负责哪些事", "谁负责Y", "什么是Z": from the 新人入门 map when it has rows
            mapped = self._onboarding_answer(rewritten)
            if mapped is not None:
                mapped = replace(mapped, question=question, notes=notes + mapped.notes)
                if on_token:
                    on_token(mapped.text)
                return mapped
        hits = self.search(rewritten, k=self.settings.answer_passages, filters=flt)
        draft = answer_offline(
            rewritten, hits, self.library(), self.settings.answer_max_chars, self.refusal_model
        )
        if draft.verdict == "refuse":
            return self._refuse(question, rewritten, hits, draft, notes)
        if draft.verdict == "partial":
            text = partial(draft.text, "、".join(draft.missing))
            answer = Answer(
                question,
                rewritten,
                False,
                text,
                draft.citations,
                "partial",
                notes,
                strength=draft.probability,
                evidence=draft.features,
            )
            answer = verify(answer, self.stored_texts([c.chunk_id for c in answer.citations]))
            if on_token:
                on_token(answer.text)
            return answer
        extractive = Answer(
            question,
            rewritten,
            True,
            draft.text,
            draft.citations,
            "extractive",
            notes,
            strength=draft.probability,
            evidence=draft.features,
        )
        if self.settings.llm_enabled:
            try:
                llm = LLMAnswerer(self.settings).answer(rewritten, hits, on_token=on_token)
                llm = replace(
                    llm, question=question, rewritten_question=rewritten, notes=notes + llm.notes
                )
                return verify(llm, self.stored_texts([c.chunk_id for c in llm.citations]))
            except LLMError as e:
                extractive = replace(extractive, notes=[*extractive.notes, fallback_note(e)])
        answer = verify(extractive, self.stored_texts([c.chunk_id for c in extractive.citations]))
        if on_token:
            on_token(answer.text)
        return answer

    # ---------------------------------------------------------------- 新人入门 (rag.onboarding)

    @functools.cached_property
    def _onboarding_store(self) -> OnboardingStore:
        return OnboardingStore(self.settings.index_dir)

    def onboarding(self) -> OnboardingMap:
        """The responsibility map and glossary of the indexed documents, in step with the index:
        documents written since the last look are extracted, deleted ones dropped."""
        bm25 = self.index.bm25
        if self._docs_stamp != bm25.stamp:
            docs: dict[str, tuple[str, str]] = {}
            for m in bm25.metadatas:
                docs.setdefault(
                    str(m["doc_id"]), (str(m.get("doc_hash", "")), str(m.get("kind", "")))
                )
            self._docs, self._docs_stamp = docs, bm25.stamp
        return self._onboarding_store.sync(self._docs, self.index.document_chunks)

    def responsibilities(
        self,
        actor: str = "",
        region: str = "",
        role: str = "",
        deadline: bool = False,
        doc_id: str = "",
    ) -> list[Responsibility]:
        """Rows of the map; ``actor`` as a user names it (焦作市商务局 = 市商务局 = 商务局 in 焦作),
        ``region`` and ``role`` as substrings, ``deadline`` only rows with a time limit or frequency."""
        from rag.onboarding.responsibilities import actor_core

        for name, value in (
            ("actor", actor),
            ("region", region),
            ("role", role),
            ("doc_id", doc_id),
        ):
            if not isinstance(value, str) or len(value) > 100:
                raise QueryError(f"筛选条件“{name}”无效：应为不超过 100 字的文本")
        records = self.onboarding().responsibilities
        named = actor.strip()
        for city in sorted({r.region for r in records if r.region}, key=len, reverse=True):
            short = city[:-1] if len(city) > 2 and city[-1] in "市州" else city
            if (
                named.startswith((city, short)) and not region.strip()
            ):  # "焦作市商务局": 焦作's bureau
                region, named = city, named[len(city) if named.startswith(city) else len(short) :]
                break
        core = actor_core(named) if named else ""
        rows = []
        for r in records:
            if core and r.actor_key.split("|", 1)[1] != core and core not in r.actor:
                continue
            if (
                region.strip()
                and region.strip()[:2] not in r.region
                and region.strip() not in r.passage.region
            ):
                continue
            if role.strip() and role.strip() not in r.role:
                continue
            if (deadline and not r.deadline) or (doc_id and r.passage.doc_id != doc_id):
                continue
            rows.append(r)
        return rows

    def glossary(self, query: str = "") -> list[GlossaryEntry]:
        """Glossary entries whose term holds ``query`` (all for ""), defined terms first."""
        from rag.onboarding.glossary import find

        if not isinstance(query, str) or len(query) > 100:
            raise QueryError("术语查询无效：应为不超过 100 字的文本")
        return find(self.onboarding().glossary, query)

    def synonym_groups(self, term: str) -> list[tuple[str, ...]]:
        """The groups of ``rag/data/synonyms.txt`` sharing a word with ``term`` (shown beside it)."""
        from rag.retrieval.query import load_synonyms

        t = term.strip().strip("“”")
        if not t:
            return []
        return [
            g
            for g in load_synonyms(self.settings.synonyms_file).groups
            if any(w == t or (len(w) >= 2 and w in t) or (len(t) >= 2 and t in w) for w in g)
        ]

    def document_outline(self, doc_id: str) -> Overview:
        """A document's overview: kind, issuer, 文号, date and its headings with the first
        sentence under each (top-level parts as ``outline`` gives them). Unknown id: QueryError."""
        from rag.onboarding.overview import overview

        chunks = self.index.document_chunks(doc_id) if isinstance(doc_id, str) and doc_id else []
        if not chunks:
            raise QueryError(f"找不到文档“{doc_id}”")
        by_id = {str(m.get("chunk_id", "")): (body, m) for body, m in chunks}
        parts = [
            by_id[h.chunk_id]
            for h in self.outline(self._hit(0, chunks[0][0], chunks[0][1]))
            if h.chunk_id in by_id
        ]
        return overview(chunks[0][1], parts, chunks)

    def onboarding_examples(self, limit: int = 12) -> list[str]:
        """Example questions the map answers (one per group, busiest actors, deadlines, terms)."""
        from rag.onboarding.answer import example_questions

        return example_questions(self.onboarding(), limit)

    def _onboarding_answer(self, question: str) -> Answer | None:
        """An aggregation answer from the map (verified against the stored chunks), or None."""
        from rag.onboarding.answer import answer as map_answer

        try:
            got = map_answer(question, self.onboarding(), uses=self._term_uses)
        except PolicyQAError:
            raise
        except Exception:  # a bug in the map must not cost the user the documents' answer
            log.exception("新人入门 answer failed for %r", question)
            return None
        if got is None:
            return None
        got = verify(got, self.stored_texts([c.chunk_id for c in got.citations]))
        return got if got.citations else None

    def _term_uses(self, term: str) -> list[GlossaryEntry]:
        """The first sentence of each document (among the keyword hits) that uses ``term`` verbatim."""
        from rag.onboarding.glossary import usage

        out: list[GlossaryEntry] = []
        for h in self.search(term, k=10, retriever="bm25"):
            if term in h.text and all(e.passage.doc_id != h.doc_id for e in out):
                entry = usage(
                    term,
                    [
                        (
                            h.text,
                            {
                                "chunk_id": h.chunk_id,
                                "doc_id": h.doc_id,
                                "title": h.title,
                                "doc_number": h.doc_number,
                                "kind": h.kind,
                                "date": h.date,
                                "region": h.region,
                                "section_path": h.section_path,
                                "page": h.page,
                                "source": h.source,
                            },
                        )
                    ],
                )
                if entry is not None:
                    out.append(entry)
        return out[:3]

    @functools.cached_property
    def refusal_model(self) -> RefusalModel:
        path = self.settings.refusal_model
        return RefusalModel.load(path) if path else default_model()

    def library(self) -> Library:
        """What the offline answerer may consult: idf, synonyms, vectors, neighbouring chunks."""
        from rag.retrieval.query import load_synonyms

        return Library(
            idf=self.index.bm25.idf,
            synonyms=load_synonyms(self.settings.synonyms_file),
            unit_vectors=self.unit_vectors,
            query_vector=lambda q: _unit(np.asarray(self.index.embed_query(q), dtype=np.float32)),
            following=self.next_chunk,
            family=self.section_family,
            outline=self.outline,
            document=self.document_hits,
        )

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """Unit-norm passage vectors of evidence units, from the embedding cache (computed at
        ingest; a unit not cached yet — an index built before — is embedded now and cached)."""
        if not texts:
            return np.zeros((0, self.index.dim), dtype=np.float32)
        return _unit(np.asarray(self.index.embeddings.embed_documents(texts), dtype=np.float32))

    def warm_unit_vectors(self, doc_ids: Sequence[str]) -> int:
        """Compute (into the embedding cache) the vectors of every evidence unit of these
        documents, so that answering never waits for the embedder. Returns the unit count."""
        texts: list[str] = []
        for doc_id in doc_ids:
            for body, meta in self.index.document_chunks(doc_id):
                units = passage_units(
                    body, str(meta.get("section_path", "")), str(meta.get("title", ""))
                )
                texts += [embedding_text(u) for u in units]
        texts = list(dict.fromkeys(texts))
        batch = max(self.settings.embed_batch_size, 1) * 4
        for i in range(0, len(texts), batch):
            part = texts[i : i + batch]
            vectors = np.asarray(self.index.embeddings.embed_documents(part), dtype=np.float32)
            self.index.units.add(part, vectors)  # the sentence run's table (rag.store.units)
        return len(texts)

    def _refuse(
        self, question: str, rewritten: str, hits: Sequence[Hit], draft: Draft, notes: list[str]
    ) -> Answer:
        topic = "、".join(draft.missing) if draft.missing else _topic(rewritten)
        closest: list[dict[str, str]] = []
        for h in hits:
            if all(c["doc_id"] != h.doc_id for c in closest):
                closest.append({"doc_id": h.doc_id, "title": h.title, "doc_number": h.doc_number})
        return Answer(
            question,
            rewritten,
            False,
            refusal_text(topic, closest),
            [],
            "refusal",
            notes,
            closest=closest[:3],
            strength=draft.probability,
            evidence=draft.features,
        )

    def stored_texts(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """chunk id → the text Chroma holds for it: what every quote is verified against."""
        ids = sorted(set(chunk_ids))
        if not ids:
            return {}
        return {
            str(m["chunk_id"]): body
            for _, body, m in self.index.chunks(where={"chunk_id": {"$in": ids}})
        }

    def chunks(self, chunk_ids: Sequence[str], texts: bool = True) -> list[tuple[str, str, dict]]:
        """The indexed chunks among ``chunk_ids`` as (id, body, metadata); ``texts=False`` skips bodies."""
        return self.index.chunks(ids=chunk_ids, texts=texts) if chunk_ids else []

    def next_chunk(self, hit: Hit) -> Hit | None:
        """The chunk after ``hit`` in the same section, or None."""
        if hit.ordinal is None:
            return None
        rows = self.index.neighbours(hit.doc_id, hit.ordinal, hit.section_path)
        after = [(d, m) for _, d, m in rows if m["ordinal"] == hit.ordinal + 1]
        return self._hit(0, after[0][0], after[0][1]) if after else None

    def section_family(self, hit: Hit) -> list[Hit]:
        """The chunks of the sections under ``hit``'s parent heading, or under ``hit`` itself
        when it is a heading with subsections, in document order (first chunk of each section)."""
        rows = self.index.document_chunks(hit.doc_id)
        own = hit.section_path
        parts = own.split(" › ")
        children = (
            [r for r in rows if str(r[1].get("section_path", "")).startswith(own + " › ")]
            if own
            else []
        )
        if not children and len(parts) > 1:
            parent = " › ".join(parts[:-1])
            children = [
                r
                for r in rows
                if str(r[1].get("section_path", "")).startswith(parent + " › ")
                and str(r[1]["section_path"]).count(" › ") == own.count(" › ")
            ]
        return self._first_of_each(children)

    def outline(self, hit: Hit) -> list[Hit]:
        """The top-level parts of ``hit``'s document, in order: the first chunk of each, its
        section path cut to the part's own heading ("二、实施“X”主体联动招商")."""
        parts: dict[str, Hit] = {}
        for text, meta in self.index.document_chunks(hit.doc_id):
            top = str(meta.get("section_path", "")).split(" › ")[0]
            if top and top not in parts:
                parts[top] = replace(self._hit(0, text, meta), section_path=top)
        return list(parts.values())

    def document_hits(self, hit: Hit) -> list[Hit]:
        """Every chunk of ``hit``'s document, in reading order."""
        return [self._hit(0, text, meta) for text, meta in self.index.document_chunks(hit.doc_id)]

    def _first_of_each(self, rows: Sequence[tuple[str, dict]]) -> list[Hit]:
        first: dict[str, tuple[str, dict]] = {}
        for text, meta in rows:
            first.setdefault(str(meta["section_path"]), (text, meta))
        return [self._hit(0, text, meta) for text, meta in first.values()]

    def context(self, hit: Hit, same_section: bool = True) -> tuple[str, str]:
        """The text of the chunks just before and after ``hit`` (same section by default)."""
        if hit.ordinal is None:
            return "", ""
        rows = self.index.neighbours(
            hit.doc_id, hit.ordinal, hit.section_path if same_section else None
        )
        before = next((d for _, d, m in rows if m["ordinal"] == hit.ordinal - 1), "")
        after = next((d for _, d, m in rows if m["ordinal"] == hit.ordinal + 1), "")
        return before, after

    def implied_filters(self, query: str) -> Filters:
        """Filters the question itself states: "2025年政府工作报告…" → that year's report.

        Only when such a document is indexed; otherwise no year filter (and ``ask`` refuses,
        because the year is missing from every passage). Project-ledger rows are searched
        only for ledger questions.
        """
        # ledger rows quote their source documents verbatim; a policy question is answered
        # from the documents themselves, a ledger question ("山阳区引进了哪些项目") from the rows
        excluded = (
            () if is_project_question(query) or not self._has_ledger() else ("project_record",)
        )
        years = YEAR_REPORT.findall(query)
        ids: tuple[str, ...] = ()
        if years:
            titles = self._titles()
            ids = tuple(
                d
                for d, t in titles.items()
                if "政府工作报告" in t and any(t.startswith(f"{y}年") for y in years)
            )
        return Filters(doc_ids=ids, exclude_kinds=excluded)

    # ---------------------------------------------------------------- 项目台账 (rag.ledger.projects)

    def query_projects(self, filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ledger rows meeting ``filters`` (``ProjectQuery.from_mapping`` keys), JSON-ready.

        query_projects({"region": "山阳区", "min_amount": 10}) →
        {"conditions": "地区：山阳区；投资额：不少于10亿元", "count": 2, "total_amount_yi": 50.0,
         "projects": [{"name": "金刚石散热基板项目", "amount_yi": 30.0, …}, …]}
        Raises ``QueryError`` (a ``PolicyQAError``) for a bad filter.
        """
        query = ProjectQuery.from_mapping(filters)
        found = Ledger.from_index(self.index).filter(query)
        return {
            "conditions": query.describe(),
            "count": len(found),
            "total_amount_yi": total_amount(found),
            "projects": [r.to_dict() for r in found],
        }

    def _has_ledger(self) -> bool:
        """Whether any project-ledger row is indexed (no filter is needed otherwise)."""
        bm25 = self.index.bm25
        if self._ledger_stamp != bm25.stamp:
            self._ledger = any(m.get("kind") == "project_record" for m in bm25.metadatas)
            self._ledger_stamp = bm25.stamp
        return self._ledger

    def _titles(self) -> dict[str, str]:
        """doc_id → title, from the BM25 side's metadata (in memory), cached per index stamp."""
        bm25 = self.index.bm25
        if self._titles_stamp != bm25.stamp:
            self._titles_cache = {m["doc_id"]: str(m.get("title", "")) for m in bm25.metadatas}
            self._titles_stamp = bm25.stamp
        return self._titles_cache

    def documents(self) -> list[dict[str, Any]]:
        """One row per indexed document with its metadata and chunk count."""
        _, _, metas = self.index.all_chunks(include_documents=False)
        docs: dict[str, dict[str, Any]] = {}
        for m in metas:
            row = docs.setdefault(
                m["doc_id"],
                {
                    k: m.get(k, "")
                    for k in (
                        "doc_id",
                        "title",
                        "kind",
                        "issuer",
                        "doc_number",
                        "date",
                        "region",
                        "source",
                    )
                }
                | {"chunks": 0},
            )
            row["chunks"] += 1
        return sorted(docs.values(), key=lambda r: r["doc_id"])

    # ---------------------------------------------------------------- 文档库 admin (rag.library)

    def library_documents(self) -> list[dict[str, Any]]:
        """The document library's list: ``documents()`` with a project-ledger sheet as one entry."""
        return doc_library.documents(self.documents())

    def document_sections(self, doc_id: str) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
        """A document's metadata and its text as (section path, [chunk texts]) in reading order."""
        return doc_library.document_sections(self.index, doc_id)

    def add_uploads(
        self,
        files: Sequence[tuple[str, bytes | Path]],
        replace: bool = False,
        page_progress: Callable[[str, int, int], None] | None = None,
    ) -> list[doc_library.FileResult]:
        """Save and ingest uploaded (name, content) files, one result per file (``rag.library``)."""
        return doc_library.add_uploads(
            self.index, self.settings, self.ingest, files, replace, page_progress
        )

    def delete_document(self, doc_id: str) -> int:
        """Remove a document (and its uploaded file); the number of chunks deleted."""
        return doc_library.delete_document(self.index, self.settings, doc_id)

    def reindex(self) -> IngestReport:
        """Re-read the corpus and uploads folders; gone files' documents removed, BM25 rebuilt."""
        return doc_library.reindex(self.index, self.settings, self.ingest)

    def health(self) -> dict[str, Any]:
        """Whether Chroma answers and the BM25 side is loaded, with counts; cheap enough for
        a load balancer's probe every few seconds (no metadata read from Chroma)."""
        idx = self.index
        chunks = idx.count()
        bm25 = idx.bm25
        return {
            "documents": len(bm25.columns.values["doc_id"]),
            "chunks": chunks,
            "embedder": idx.embedder_name,
            "dim": idx.dim,
            "chroma": self.settings.chroma_url or "embedded",
        }

    def stats(self) -> dict[str, Any]:
        idx = self.index
        size = sum(f.stat().st_size for f in Path(idx.dir).rglob("*") if f.is_file())
        return self.health() | {"index_dir": str(idx.dir), "index_bytes": size}
