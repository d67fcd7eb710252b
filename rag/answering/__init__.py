"""The offline answerer: a pipeline of pure functions over the retrieved passages.

    units (``units``) → evidence by meaning and words (``evidence``) → what is asked
    (``types``) → whole lists and mechanisms (``lists``) or a plain answer (``select``)
    → text with citations (``compose``) → verdict: answer, answer in part, or refuse
    (``refusal``)

No model writes anything: every sentence of an answer is a verbatim quote of a passage,
cited. ``answer_offline`` is the one entry point; ``rag.service.PolicyQA.ask`` calls it
with a ``Library`` of what it may consult beyond the hits (idf, synonyms, the unit and
query vectors, the neighbouring chunks and the document outline).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.answering import lists, select
from rag.answering.compose import LIST_BUDGET, compose, reading_order
from rag.answering.evidence import (
    PURPOSE,
    Scored,
    Term,
    asks_purpose,
    hard_entities,
    numbered,
    question_terms,
    score_units,
)
from rag.answering.issued import (
    addressee_lines,
    asks_issue_date,
    asks_issuer,
    asks_recipients,
    date_lines,
    names_issuer,
)
from rag.answering.refusal import (
    FEATURES,
    RefusalModel,
    action_absent,
    agent_beside,
    default_model,
    kind_consistent,
    missing_names,
    name_consistent,
    place_consistent,
    unstated,
    word_share,
    year_consistent,
)
from rag.answering.types import (
    AnswerType,
    answer_type,
    asked_types,
    asks_how,
    asks_procedure,
    holds,
    holds_near,
    own_question,
    unlisted,
)
from rag.answering.units import (
    LABEL,
    RECIPIENTS,
    Unit,
    embedding_text,
    is_addressee_line,
    passage_units,
)
from rag.records import Citation
from rag.retrieval.query import Synonyms

PASSAGES = 5  # passages whose units are scored
CONTINUED = 3  # of these, the first ones whose section goes on in the next chunk are read on


@dataclass(frozen=True)
class Library:
    """What the answerer may consult beyond the hits; every callable may be left out."""

    idf: Callable[[str], float]
    synonyms: Synonyms | None = None
    unit_vectors: Callable[[list[str]], np.ndarray] | None = (
        None  # texts → unit-norm passage vectors
    )
    query_vector: Callable[[str], np.ndarray] | None = None  # question → unit-norm query vector
    following: Callable[[Any], Any] | None = None  # hit → next chunk of its section, or None
    family: Callable[[Any], list] | None = None  # hit → first chunks of its sibling sections
    outline: Callable[[Any], list] | None = (
        None  # hit → first chunks of the parts of what defines it
    )
    document: Callable[[Any], list] | None = None  # hit → every chunk of its document, in order


@dataclass(frozen=True)
class Draft:
    """The answerer's result before it becomes an ``Answer``."""

    verdict: str  # "answer" | "partial" | "refuse"
    text: str
    citations: list[Citation]
    kind: str  # the answer type asked
    missing: list[str] = field(default_factory=list)  # names or the figure the documents lack
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 0.0  # the refusal model's P(answerable)


def candidates(question: str, hits: Sequence, library: Library) -> tuple[list, list[Unit]]:
    """The passages an answer may quote and their units, in order.

    The first ``PASSAGES`` hits that agree with the places, years, quoted names and the kind
    of document the question names (``refusal.*_consistent``), then the next
    chunk of the same section of the first ``CONTINUED`` of them (a section the chunker cut in
    two goes on there: "…对重要线索紧盯不放、重点项目每周跟踪" may open the chunk after the one
    retrieval found). A continuation takes its passage's retrieval rank (``Hit.rank``) and is
    appended after the hits, so hit indexes of the retrieved passages do not move.
    """
    hits = list(hits)
    keep = kind_consistent(
        question,
        hits,
        year_consistent(
            question,
            hits,
            name_consistent(question, hits, place_consistent(question, hits[:PASSAGES])),
        ),
    )
    if library.following is not None:
        seen = {h.chunk_id for h in hits}
        for i in sorted(keep)[:CONTINUED]:
            nxt = library.following(hits[i])
            if nxt is not None and nxt.chunk_id not in seen:
                seen.add(nxt.chunk_id)
                keep.add(len(hits))
                hits.append(
                    replace(
                        nxt,
                        rank=hits[i].rank,
                        dense_rank=hits[i].dense_rank,
                        bm25_rank=hits[i].bm25_rank,
                        dense_score=hits[i].dense_score,
                    )
                )
    # a notice's addressees answer who received it, and nothing else
    addressed = bool(RECIPIENTS.search(question))
    units = [
        u
        for i, h in enumerate(hits)
        if i in keep
        for u in passage_units(h.text, h.section_path, h.title, i)
        if addressed or not is_addressee_line(u.text)
    ]
    return hits, units


def meaning_of(question: str, units: Sequence[Unit], library: Library) -> np.ndarray | None:
    """The cosine of the question's query vector with each unit's passage vector (None without vectors)."""
    if library.unit_vectors is None or library.query_vector is None or not units:
        return None
    return library.unit_vectors([embedding_text(u) for u in units]) @ library.query_vector(question)


def _choose(
    question: str,
    kind: AnswerType,
    hits: list,
    units: list[Unit],
    scored: list[Scored],
    terms: list,
    library: Library,
    max_chars: int,
) -> tuple[list[Scored], bool]:
    """The quotes of the answer, and whether they are one whole enumeration (which may take the
    list budget, ``LIST_BUDGET`` × ``max_chars``, in as few runs as its items make)."""
    best = scored[0]
    if asks_purpose(question):
        # "当初为啥要搞？": the document's own statement of purpose ("为进一步加强…，决定…")
        best = next(
            (
                s
                for s in scored
                if PURPOSE.search(s.text)
                and hits[s.hit_index].doc_id == hits[best.hit_index].doc_id
            ),
            best,
        )
    if kind.name == "mechanism":
        named = lists.named_section(hits[:PASSAGES], units, terms, max_chars)
        if named:
            return named, False
    # "几个招商小组，分别由谁牵头" asks for a count and a list: the list is built, the count checked
    listing = kind.name == "list" or any(t.name == "list" for t in asked_types(question))
    if listing and lists.STRUCTURE_QUESTION.search(question) and library.outline is not None:
        parts = lists.mechanism(
            question, hits, best, terms, library.outline, require_title=False, family=library.family
        )
        if parts:
            return parts, False
    n = numbered(question)
    if n and not listing and kind.name != "mechanism":
        # "第二条讲的是啥": the numbered item of the enumeration the question is about
        chosen = lists.numbered_item(hits, scored, terms, n)
        if chosen:
            return chosen, False
    if listing or kind.name == "mechanism":
        chosen = lists.enumeration(question, hits, scored, terms, library.following)
        if (
            not chosen
            and library.family is not None
            and (kind.name == "mechanism" or lists.ENUMERATION_QUESTION.search(question))
        ):
            chosen = lists.section_items(hits, best, terms, library.family)
        if not chosen and kind.name == "mechanism" and library.outline is not None:
            chosen = lists.mechanism(
                question, hits, best, terms, library.outline, family=library.family
            )
        if not chosen and listing and library.outline is not None:
            chosen = lists.heading_items(question, hits, best, terms, library.outline)
        if chosen:
            return chosen, False
    # the best evidence is one item of an enumeration: a list, a mechanism or a procedure is
    # the whole enumeration (a typed fact — a person, a sum, a date — stays one statement)
    # (a list question whose best sentence lists the things itself is answered by it)
    if (
        kind.name == "mechanism"
        or (kind.name == "list" and not lists.inline_list(best.text))
        or (kind.name == "fact" and asks_procedure(question))
    ):
        noun = lists.list_noun(question) if kind.name == "list" else ""
        enumerated = lists.enclosing(
            best,
            hits,
            terms,
            library.following,
            LIST_BUDGET * max_chars,
            noun[-2:],
            lists.quoted_names(question),
        )
        if enumerated:
            return enumerated, True
    if listing or asks_how(question):
        run = lists.semicolon_run(best, units, hits)  # "甲；乙；丙。": one list in one sentence
        if run:
            return run, True
    lead = hits[best.hit_index]
    long = False  # a how-question's answer reads on: the list budget
    chosen = select.complements(best, scored, terms, max_chars, f"{lead.title} {lead.section_path}")
    chosen += select.context_lines(question, best, lead, units, terms, chosen)
    if listing:
        chosen += lists.noun_sentences(question, best, lead, units, chosen)
    chosen += select.runners_up(best, scored, chosen, max_chars, hits)
    if kind.name in ("mechanism", "fact", "yesno"):
        chosen += select.paragraph_after(best, lead, units, chosen, max_chars)
    if kind.name in ("mechanism", "fact") and asks_how(question):
        # "如何预防…", "怎么申请…": the way is told over the paragraphs that follow
        rest = select.passage_rest(best, units, chosen, LIST_BUDGET * max_chars)
        if rest:
            chosen += rest
            long = True
    chosen += select.figure_unit(question, kind, best, scored, chosen, hits)
    for ask in asks(question):
        chosen += select.ask_unit(
            ask,
            answer_type(ask),
            question_terms(ask, library.idf, library.synonyms),
            best,
            scored,
            chosen,
            hits,
        )
    chosen += select.finish_cut_sentence(best, hits, library.following)
    return chosen, long


# how a question names the document it asks about ("许昌材料说", "按文章的说法", "郑州那份文件
# 里"): words that pick the document, which retrieval reads, and that no sentence of it says
_DOCUMENT_REFERENCE = re.compile(
    r"(?:按|据|照|根据)?(?:这|那|该)?[份篇]?(?:文章|评论|经验材料|(?<![新原])材料(?!产业|领域|行业)|文件|通知|报道|稿子)"
    r"(?:里|中|上|开头|结尾)?(?:的说法|说|讲|提到|提出|指出|认为|写|称)?(?:的|了)?[，,]?"
)


def about(question: str) -> str:
    """The question without the words that name the document it asks about.

    about("文章说想把引资盘子做大，得有股什么样的劲？") → "想把引资盘子做大，得有股什么样的劲？"
    about("郑州那份文件里，把拉投资比作经济发展的什么？") → "郑州把拉投资比作经济发展的什么？"
    about("新材料产业引进了哪些项目？") → unchanged
    """
    out = _DOCUMENT_REFERENCE.sub("", question)
    return out if len(re.sub(r"\W", "", out)) >= 4 else question


def asks(question: str) -> list[str]:
    """The asks of a question of several, each ending in its own question mark (else []).

    asks("2021年报告拟安排专项债券多少？赤字率多少？") → ["2021年报告拟安排专项债券多少", "赤字率多少"]
    asks("对过紧日子有什么要求，一般性支出压多少？") → ["对过紧日子有什么要求", "一般性支出压多少"]
    """
    own = own_question(question)
    parts = [p.strip() for p in re.split(r"[？?]", own) if p.strip()]
    if len(parts) == 1:
        # "…有什么硬要求，中央部门一般性支出压多少": two asks in one sentence
        clauses = [c.strip() for c in re.split(r"[，,；;]", parts[0]) if c.strip()]
        if len(clauses) >= 2 and all(_ASKING.search(c) for c in clauses[-2:]):
            parts = [
                "，".join(clauses[:-1]),
                clauses[-1],
            ]
    return parts if len(parts) >= 2 else []


_ASKING = re.compile(r"多少|几[个项家条次年月天]|什么|哪|谁|是否|怎么|如何|多久|多长|多大|多高")


# a measure the question asks in ("多少亿元") is no anchor: every amount stands next to it
_MEASURE = re.compile(r"[万亿千百]*(?:美?元|块钱)|[万亿]|百分点|个百分点")


_BODY_NAME = re.compile(
    r"[\u4e00-\u9fff]{2,12}?(?:(?<![布格大全开结当])局(?![面势])|厅|委员会|管委会|公司|集团|协会|商会|银行)"
)


def figure_found(
    question: str, kind: AnswerType, chosen: Sequence[Scored], terms: Sequence[Term], hits: Sequence
) -> bool:
    """Whether the quotes hold the asked figure next to what the question is about (True for
    types without a figure): next to one of the three rarest question words they contain."""
    if not kind.checkable:
        return True
    text = "".join(c.text for c in chosen)
    # the most specific words first: long phrases ("技术转移") and rare words ("盘毂")
    found = [
        t
        for t in terms
        if len(t.surface) >= 2 and t.surface in text and not _MEASURE.fullmatch(t.surface)
    ]
    # a question word found only inside another body's name ("城乡" in "市住房和城乡建设局") is
    # no mention of what the question is about; the body's own name is ("汝州市商务局" for 商务局)
    bodies = [m.group(0) for m in _BODY_NAME.finditer(text)]

    def inside(word: str) -> int:
        return sum(b.count(word) for b in bodies if not b.endswith(word))

    present = sorted(
        (t for t in found if text.count(t.surface) > inside(t.surface)),
        key=lambda t: -t.weight * len(t.surface),
    )
    if found and not present:
        return False
    anchors: list[str] = []
    for t in present:  # three distinct words: not 国内生产总值, 生产总值, 国内生产
        if not any(t.surface in a or a in t.surface for a in anchors):
            anchors.append(t.surface)
        if len(anchors) == 3:
            break
    if not anchors:
        return any(holds(kind.name, c.text, question) for c in chosen)
    runs = _runs(chosen, hits)
    if kind.name == "place":
        # a place is named once, then referred back to ("抚顺市…。他们…制订了…措施"): the run
        # that holds the question's words names it
        return any(holds(kind.name, r, question) for r in runs if any(a in r for a in anchors))
    return any(holds_near(kind.name, r, a, question) for r in runs for a in anchors if a in r)


def _record(text: str) -> bool:
    """Whether every line of ``text`` is a labelled field ("牵头领导：…", "工作职责：…")."""
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) >= 2 and all(LABEL.match(line.strip()) for line in lines)


def _runs(chosen: Sequence[Scored], hits: Sequence) -> list[str]:
    """The chosen quotes joined with those on the same line of the same passage (the fields of
    one table row, "牵头单位：…；…；完成时限：…", are one statement), and with the neighbouring
    lines of one record ("牵头领导：闫小杏。" … "工作职责：…重点负责城市基础设施…": the group's
    leader is the leader of what its duties name)."""
    out: list[tuple[int, int, int]] = []  # (hit, start, end)
    for c in sorted(chosen, key=lambda c: (c.hit_index, c.start)):
        text = hits[c.hit_index].text
        if (
            out
            and out[-1][0] == c.hit_index
            and (
                "\n" not in text[out[-1][2] : c.start]
                or _record(text[out[-1][1] : c.start + len(c.text)])
            )
        ):
            out[-1] = (c.hit_index, out[-1][1], max(out[-1][2], c.start + len(c.text)))
        else:
            out.append((c.hit_index, c.start, c.start + len(c.text)))
    return [hits[h].text[a:b] for h, a, b in out]


def _year_of(hit: Any) -> str:
    """The year a passage's document was issued, from its date ("2023-03-05", "2018") or title."""
    m = re.match(r"((?:19|20)\d{2})", str(getattr(hit, "date", "") or "")) or re.match(
        r"((?:19|20)\d{2})年", str(getattr(hit, "title", "") or "")
    )
    return m.group(1) if m else ""


def _lead_document(hits: Sequence, lead: int) -> str:
    """Everything the passages of the lead passage's document say, with its title and date."""
    doc = hits[lead].doc_id
    return " ".join(
        f"{h.title} {h.date} {h.section_path} {h.text}" for h in hits if h.doc_id == doc
    )


def features_of(
    question: str,
    kind: AnswerType,
    hits: Sequence,
    scored: Sequence[Scored],
    chosen: Sequence[Scored],
    terms: Sequence,
    lead: int,
) -> dict[str, float]:
    """The refusal model's inputs (``refusal.FEATURES``), each the same on any index."""
    quotes = " ".join(f"{hits[c.hit_index].section_path} {c.text}" for c in chosen)
    head = hits[lead]
    dense = [h.dense_score for h in hits[:PASSAGES] if h.dense_score is not None]
    figure = figure_found(question, kind, chosen, terms, hits)
    return {
        "meaning_unit": max((s.meaning for s in scored), default=0.0),
        "meaning_passage": max(dense, default=0.0),
        "words_quote": word_share(terms, f"{head.title} {quotes}"),
        "words_passage": word_share(terms, f"{head.title} {head.section_path} {head.text}"),
        "figure": 1.0 if figure else 0.0,  # not a model input: decides an answer in part
    }


def document_lines(
    question: str,
    kind: AnswerType,
    hits: list,
    scored: Sequence[Scored],
    terms: Sequence[Term],
    library: Library,
    max_chars: int,
) -> Draft | None:
    """ "那份通知是哪天印发的？", "…是哪个机关印发的？", "…还抄给了哪些单位？": the dated closing
    (or opening) lines, or the addressee and distribution lines, of the best evidence's
    document, quoted and cited (``rag.answering.issued``); None for other questions, for a
    document without such lines, or when the question names what the document is not about
    (then the question is answered as any other).
    """
    recipients = asks_recipients(question)
    if (
        not (recipients or asks_issue_date(question) or asks_issuer(question))
        or library.document is None
    ):
        return None
    lead = scored[0].hit_index
    if missing_names(question, hits, lead):
        return None
    chunks = library.document(hits[lead])
    texts = [c.text for c in chunks]
    lines = addressee_lines(texts) if recipients else date_lines(texts, question)
    if not lines or (not recipients and asks_issuer(question) and not names_issuer(lines)):
        return None
    hits = list(hits)
    at: dict[int, int] = {}
    chosen: list[Scored] = []
    for i, off, line in lines:
        if i not in at:
            at[i] = len(hits)
            # a closing or header line belongs to no section
            hits.append(replace(chunks[i], rank=len(hits) + 1, section_path=""))
        chosen.append(Scored(Unit(at[i], off, line, ""), 0.0, 0.0, 0.0, 0.0))
    text, citations = compose(chosen, hits, max_chars)
    feats = features_of(question, kind, hits, scored, chosen, terms, at[lines[0][0]])
    return Draft("answer", text, citations, "unit" if recipients else "date", [], feats, 1.0)


def _whole_passage(
    kind: AnswerType, chosen: list[Scored], units: Sequence[Unit], max_chars: int
) -> list[Scored]:
    """The quotes to show: a passage short enough to read whole (a reply, a record, one
    clause of a notice) is shown whole when the answer quotes part of it and asks neither a
    typed figure nor a list — cutting a 150-character reply after its second sentence loses
    its conditions.
    What is decided (the verdict, the features) reads the chosen quotes only.
    """
    # a list or a mechanism is its items, each cited, and nothing past them
    if kind.checkable or kind.name in ("list", "mechanism") or not chosen:
        return chosen
    hit = chosen[0].hit_index
    own = [u for u in units if u.hit_index == hit]
    if not own or sum(len(u.text) for u in own) > max_chars:
        return chosen
    have = {(c.hit_index, c.start) for c in chosen}
    return list(chosen) + [
        Scored(u, 0.0, 0.0, 0.0, 0.0) for u in own if (u.hit_index, u.start) not in have
    ]


def answer_offline(
    question: str,
    hits: Sequence,
    library: Library,
    max_chars: int = 300,
    model: RefusalModel | None = None,
) -> Draft:
    """Answer ``question`` from ``hits`` (best first): quotes, citations and a verdict.

    answer_offline("招商六组的牵头领导是谁？", hits, library).text
    → "根据《…》（焦政办〔2020〕9号），（六）招商六组：牵头领导：孙起鹏。[1]"
    """
    kind = answer_type(question)
    hits = list(hits)
    if not hits:
        return Draft("refuse", "", [], kind.name)
    hits, units = candidates(question, hits, library)
    content = about(question)
    terms = question_terms(content, library.idf, library.synonyms)
    meaning = meaning_of(content, units, library)
    scored = score_units(question, units, hits, terms, meaning, kind)
    if not scored:
        return Draft("refuse", "", [], kind.name, missing_names(question, hits, 0))
    read = document_lines(question, kind, hits, scored, terms, library, max_chars)
    if read is not None:
        return read
    chosen, whole = _choose(question, kind, hits, units, scored, terms, library, max_chars)
    text, citations = compose(
        _whole_passage(kind, chosen, units, max_chars), hits, max_chars, whole
    )
    lead = (
        min(chosen, key=lambda c: reading_order(c, hits)).hit_index
        if chosen
        else scored[0].hit_index
    )
    feats = features_of(question, kind, hits, scored, chosen, terms, lead)
    parts = [(a, answer_type(a)) for a in asks(question)]
    if any(k.checkable for _, k in parts):
        # "…走访了多少家企业？签约了多少个项目？": each ask's figure next to its own words
        feats["figure"] = float(
            all(
                figure_found(a, k, chosen, question_terms(a, library.idf, library.synonyms), hits)
                for a, k in parts
                if k.checkable
            )
        )
    missing = missing_names(question, hits, lead)
    if missing:
        return Draft("refuse", text, citations, kind.name, missing, feats, 0.0)
    model = model or default_model()
    p = model.probability(feats)
    if p < model.threshold or not citations:
        return Draft("refuse", text, citations, kind.name, [], feats, p)
    unsaid = unstated(
        question,
        _lead_document(hits, lead),
        " ".join(c.text for c in chosen),
        kind.checkable,
        _year_of(hits[lead]),
    )
    if unsaid:
        return Draft(
            "partial", text, citations, kind.name, [f"{q}的情况" for q in unsaid], feats, p
        )
    if kind.checkable and feats["figure"] == 0.0:
        return Draft("partial", text, citations, kind.name, [f"具体{kind.label}"], feats, p)
    said = " ".join(c.text for c in chosen)
    if (
        kind.name in ("unit", "person")
        and action_absent(question, said, library.synonyms)
        and not agent_beside(kind.name, said, [t.surface for t in terms], question)
    ):
        return Draft("partial", text, citations, kind.name, [f"具体{kind.label}"], feats, p)
    if kind.name == "list" and unlisted(question, [c.text for c in chosen]):
        return Draft("partial", text, citations, kind.name, ["逐项的具体内容"], feats, p)
    return Draft("answer", text, citations, kind.name, [], feats, p)


__all__ = [
    "FEATURES",
    "Draft",
    "Library",
    "answer_offline",
    "asks_how",
    "features_of",
    "hard_entities",
]
