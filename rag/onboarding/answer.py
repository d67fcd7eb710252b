"""Aggregation answers from the responsibility map and the glossary, every item cited.

``answer(question, omap)`` recognises five question shapes and answers them only when the
map holds rows for what is asked; otherwise it returns None and ``PolicyQA.ask`` goes on to
the documents as before:

- an actor's duties: "焦作市商务局在这个机制里要负责哪些事？", "市商务局的职责有哪些？";
- who does a task: "谁负责编制产业链招商图谱？", "信息报送由哪个单位负责？";
- a group's units: "招商四组有哪些责任单位？", "招商二组的牵头单位是哪些？";
- duties with deadlines: "哪些事有报送时限？", "哪些工作有时间要求？";
- a term: "什么是以商招商？", "“五改”是什么意思？" (only a term the glossary holds; a term
  used but never defined is answered as such, with the sentences that use it).

Quotes are the records' own (label lines, table rows, sentences), so ``rag.answer.verify``
finds each in its chunk. Nothing here ranks passages or reads the index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.onboarding.glossary import find, looks_like_jargon
from rag.onboarding.records import GlossaryEntry, Passage, Responsibility
from rag.onboarding.responsibilities import actor_core
from rag.onboarding.store import OnboardingMap
from rag.records import Answer, Citation

_END = r"[？?。！!\s]*$"
ACTOR_DUTIES = re.compile(
    r"^(?P<actor>[^，,？?]{2,30}?)(?:在(?P<ctx>[^，,？?]{1,30}?)(?:里|中|内|当中))?(?:都|主要|具体|一共|分别)?"
    r"(?:要|需要|应当|应)?(?:负责|承担|担任|干|做|管)(?:了)?(?:哪些|什么|啥|哪几项)(?:事|事情|工作|职责|任务|角色|事项)?"
    + _END
    + r"|^(?P<actor2>[^，,？?]{2,30}?)的(?:职责|分工|任务|角色)(?:有哪些|是什么|都有哪些|有什么)"
    + _END
)
WHO_DOES = re.compile(
    r"^(?:请问)?(?:谁|哪个单位|哪个部门|哪些单位|哪些部门)(?:来)?(?:负责|牵头|承担)(?P<task>[^？?]{2,60}?)(?:[，,].*)?"
    + _END
    + r"|^(?P<task2>[^，,？?]{2,60}?)(?:由谁|是谁|由哪个单位|由哪个部门|由哪些单位|哪个单位|哪个部门)(?:来)?(?:负责|牵头|承担)"
    + r"(?:[，,].*)?"
    + _END
)
GROUP_UNITS = re.compile(
    r"^(?P<scope>[^，,？?]{2,30}?)(?:有|包括)(?:哪些|哪几个|什么)(?P<role>[\u4e00-\u9fff]{0,4}(?:单位|领导|部门))"
    + _END
    + r"|^(?P<scope2>[^，,？?]{2,30}?)的(?P<role2>[\u4e00-\u9fff]{0,4}(?:单位|领导|部门))(?:有哪些|是哪些|都有哪些|包括哪些|都有谁|有哪几个)"
    + _END
)
DEADLINES = re.compile(
    r"(?:哪些|什么)(?:事|事情|工作|任务|事项|职责)?(?:有|要|需要)?(?:在)?(?P<what>报送|上报|汇报|完成)?(?:时限|期限|时间要求|截止时间|时间节点)"
    + _END
)
TERM = re.compile(
    r"^(?:请问)?(?:什么是|什么叫|何为|何谓)(?:所谓的?)?(?P<t>[^，,？?]{2,20}?)"
    + _END
    + r"|^(?:所谓的?)?(?P<t2>[^，,？?]{2,20}?)(?:是什么意思|是什么|指什么|是指什么|什么意思|的含义是什么|的意思是什么|怎么理解)"
    + _END
)
_REPORTING = ("报送", "接收报送", "汇报", "听取汇报")


def answer(
    question: str, omap: OnboardingMap, uses: Callable[[str], list[GlossaryEntry]] | None = None
) -> Answer | None:
    """A cited answer from the map for an aggregation question, or None (not that shape, or
    no row matches: the documents' answerer takes over). ``uses(term)`` finds a jargon term
    the glossary lacks in the documents' text ("顶格招商" used once, never quoted)."""
    q = question.strip()
    for shape in (_actor_duties, _group_units, _who_does, _deadlines):
        got = shape(q, omap)
        if got is not None:
            return got
    return _term(q, omap, uses)


# ---------------------------------------------------------------- helpers


class _Cites:
    """Citations numbered in order of first use; one number per (chunk, quote)."""

    def __init__(self) -> None:
        self.items: list[Citation] = []
        self._n: dict[tuple[str, str], int] = {}

    def mark(self, p: Passage) -> str:
        key = (p.chunk_id, p.quote)
        if key not in self._n:
            self._n[key] = len(self.items) + 1
            self.items.append(p.citation(self._n[key]))
        return f"[{self._n[key]}]"


def _regions(question: str, records: Sequence[Responsibility]) -> list[str]:
    """Regions of the map the question names ("焦作…" → ["焦作市"])."""
    out = []
    for region in sorted({r.region for r in records if r.region}):
        short = region[:-1] if len(region) > 2 and region[-1] in "市省州县区" else region
        if short and short in question:
            out.append(region)
    return out


def _strip_region(text: str, regions: Sequence[str]) -> str:
    for region in regions:
        short = region[:-1] if len(region) > 2 else region
        for prefix in (region, short):
            if text.startswith(prefix):
                return text[len(prefix) :]
    return text


def _by_document(rows: Sequence[Responsibility]) -> list[list[Responsibility]]:
    groups: dict[str, list[Responsibility]] = {}
    for r in rows:
        groups.setdefault(r.passage.doc_id, []).append(r)
    return list(groups.values())


def _lead(n: int, p: Passage) -> str:
    return ("根据" if n == 0 else "另据") + p.label() + "，"


def _short(text: str, limit: int = 48) -> str:
    text = text.strip("，。；： ")
    return text if len(text) <= limit else text[:limit] + "…"


def _answer(question: str, text: str, cites: _Cites, mode: str) -> Answer:
    return Answer(question, question, True, text, list(cites.items), mode, strength=1.0)


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\u4e00-\u9fff\dA-Za-z]", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


# ---------------------------------------------------------------- shapes


def _actor_duties(q: str, omap: OnboardingMap) -> Answer | None:
    """ "市商务局负责哪些事？" → its roles, by document, each cited."""
    m = ACTOR_DUTIES.match(q)
    if not m:
        return None
    records = omap.responsibilities
    named = (m.group("actor") or m.group("actor2") or "").strip('“”"')
    regions = _regions(named, records)
    core = actor_core(_strip_region(named, regions))
    rows = [
        r
        for r in records
        if r.actor_key.split("|", 1)[1] == core and (not regions or r.region in regions)
    ]
    ctx = m.group("ctx") or ""
    if ctx:
        in_ctx = [
            r
            for r in rows
            if any(
                t in r.passage.title
                for t in re.findall(r"“([^”]+)”|([A-Za-z\d+]+)", ctx)
                for t in t
                if t
            )
        ]
        rows = in_ctx or rows
    if not rows:
        return None
    cites = _Cites()
    blocks = []
    for n, doc_rows in enumerate(_by_document(rows)):
        actor = doc_rows[0].actor
        lines = []
        by_role: dict[str, list[Responsibility]] = {}
        for r in doc_rows:
            by_role.setdefault(r.role, []).append(r)
        for role, rs in by_role.items():
            if all(r.scope and r.duty != r.scope and _is_group_label(r) for r in rs):
                items = "、".join(f"{r.scope}{cites.mark(r.passage)}" for r in rs)
                lines.append(f"- {role}：{items}")
            else:
                for r in rs:
                    when = f"（{r.deadline}）" if r.deadline else ""
                    where = f"{r.scope}：" if r.scope else ""
                    lines.append(f"- {role}{when}：{where}{_short(r.duty)}{cites.mark(r.passage)}")
        blocks.append(
            f"{_lead(n, doc_rows[0].passage)}{actor}承担以下{len(doc_rows)}项职责：\n"
            + "\n".join(lines)
        )
    return _answer(q, "\n\n".join(blocks), cites, "map")


def _is_group_label(r: Responsibility) -> bool:
    """A record from a label line whose quote is the label itself ("责任单位：市…")."""
    return r.passage.quote.startswith(r.role + "：")


def _group_units(q: str, omap: OnboardingMap) -> Answer | None:
    """ "招商四组有哪些责任单位？" → the units of that role in that scope, cited to the label line."""
    m = GROUP_UNITS.match(q)
    if not m:
        return None
    records = omap.responsibilities
    scope = (m.group("scope") or m.group("scope2") or "").strip("“”")
    role = m.group("role") or m.group("role2") or ""
    regions = _regions(scope, records)
    scope = _strip_region(scope, regions)
    rows = [
        r
        for r in records
        if r.scope
        and (r.scope == scope or scope.endswith(r.scope) or r.scope.endswith(scope))
        and (not regions or r.region in regions)
    ]
    if role not in ("单位", "部门", "领导"):
        rows = [r for r in rows if r.role == role or r.role.endswith(role)]
    else:
        rows = [r for r in rows if r.role.endswith(role)]
    if not rows:
        return None
    cites = _Cites()
    blocks = []
    for n, doc_rows in enumerate(_by_document(rows)):
        by_role: dict[str, list[Responsibility]] = {}
        for r in doc_rows:
            by_role.setdefault(r.role, []).append(r)
        parts = []
        for rl, rs in by_role.items():
            names = "、".join(dict.fromkeys(r.actor for r in rs))
            marks = "".join(dict.fromkeys(cites.mark(r.passage) for r in rs))
            parts.append(f"{rl}：{names}{marks}")
        blocks.append(
            f"{_lead(n, doc_rows[0].passage)}{doc_rows[0].scope}的" + "；".join(parts) + "。"
        )
    return _answer(q, "\n\n".join(blocks), cites, "map")


def _who_does(q: str, omap: OnboardingMap) -> Answer | None:
    """ "谁负责编制产业链招商图谱？" → the rows whose duty or scope holds the task, cited."""
    m = WHO_DOES.match(q)
    if not m:
        return None
    task = (m.group("task") or m.group("task2") or "").strip("“”，, ")
    records = omap.responsibilities
    regions = _regions(task, records)
    task = _strip_region(task, regions)
    want = _bigrams(task)
    if len(want) < 2:
        return None
    scored = []
    for r in records:
        if regions and r.region not in regions:
            continue
        have = _bigrams(r.duty + r.scope)
        cover = len(want & have) / len(want)
        if cover >= 0.7:
            scored.append((cover, r))
    if not scored:
        return None
    best = max(c for c, _ in scored)
    rows = [r for c, r in scored if c >= best - 0.05]
    order = {
        "牵头领导": 0,
        "牵头单位": 1,
        "牵头": 1,
        "主办": 1,
        "负责": 2,
        "责任单位": 3,
        "配合单位": 4,
        "配合": 4,
    }
    rows.sort(key=lambda r: order.get(r.role, 5))
    cites = _Cites()
    blocks = []
    for n, doc_rows in enumerate(_by_document(rows)):
        by_scope: dict[str, list[Responsibility]] = {}
        for r in doc_rows:  # a label row by its group or task, a sentence by what it says
            by_scope.setdefault((r.scope if _is_group_label(r) else r.duty) or r.scope, []).append(
                r
            )
        parts = []
        for scope, rs in by_scope.items():
            roles: dict[str, list[Responsibility]] = {}
            for r in rs:
                roles.setdefault(r.role, []).append(r)
            said = "；".join(
                f"{rl}：{'、'.join(dict.fromkeys(r.actor for r in xs))}"
                f"{''.join(dict.fromkeys(cites.mark(r.passage) for r in xs))}"
                for rl, xs in roles.items()
            )
            deadline = next((r.deadline for r in rs if r.deadline), "")
            parts.append(
                f"“{_short(scope, 40)}”——{said}" + (f"；时限：{deadline}" if deadline else "")
            )
        blocks.append(
            _lead(n, doc_rows[0].passage) + "负责的单位：\n" + "\n".join(f"- {p}" for p in parts)
        )
    return _answer(q, "\n\n".join(blocks), cites, "map")


def _deadlines(q: str, omap: OnboardingMap) -> Answer | None:
    """ "哪些事有报送时限？" → every duty with a deadline or frequency (reporting ones when asked)."""
    m = DEADLINES.search(q)
    if not m:
        return None
    records = omap.responsibilities
    regions = _regions(q, records)
    rows = [r for r in records if r.deadline and (not regions or r.region in regions)]
    if m.group("what") in ("报送", "上报", "汇报"):
        rows = [
            r for r in rows if r.role in _REPORTING or re.search(r"报送|上报|汇报|报告", r.duty)
        ]
    if not rows:
        return None
    cites = _Cites()
    blocks = []
    for n, doc_rows in enumerate(_by_document(rows)):
        lines: dict[str, list[Responsibility]] = {}
        for r in doc_rows:  # one line per quote: who does what by when
            lines.setdefault(r.passage.quote, []).append(r)
        out = []
        for rs in lines.values():
            r = rs[0]
            who = "；".join(
                f"{rl}：{'、'.join(dict.fromkeys(x.actor for x in rs if x.role == rl))}"
                for rl in dict.fromkeys(x.role for x in rs)
            )
            out.append(f"- {r.deadline}（{r.scope}）：{who}{cites.mark(r.passage)}")
        blocks.append(_lead(n, doc_rows[0].passage) + "有时限或频次要求的事项：\n" + "\n".join(out))
    return _answer(q, "\n\n".join(blocks), cites, "map")


def _term(
    q: str, omap: OnboardingMap, uses: Callable[[str], list[GlossaryEntry]] | None
) -> Answer | None:
    """ "什么是以商招商？" → the glossary entry: its definition, or the sentences that use it."""
    m = TERM.match(q)
    if not m:
        return None
    term = (m.group("t") or m.group("t2") or "").strip("“”\"' ")
    entries = [e for e in find(omap.glossary, term) if e.term == term]
    if not entries and uses is not None and looks_like_jargon(term):
        entries = uses(term)
    if not entries:
        return None
    cites = _Cites()
    defined = [e for e in entries if e.defined]
    if defined:
        blocks = []
        for n, e in enumerate(defined[:3]):
            body = _definition_text(e, cites)
            blocks.append(f"{_lead(n, e.passage)}{body}")
        return _answer(q, "\n\n".join(blocks), cites, "glossary")
    used = "".join(
        f"\n- {e.passage.label()}：{e.passage.quote}{cites.mark(e.passage)}" for e in entries[:3]
    )
    return _answer(
        q, f"资料中使用了“{term}”一词，但没有给出定义。用到它的原文：{used}", cites, "glossary"
    )


def _definition_text(e: GlossaryEntry, cites: _Cites) -> str:
    names = re.split(r"[+＋]", e.term)
    if e.how == "组成" and len(e.parts) == len(names) > 1:  # one heading per part
        pieces = []
        for part, p in zip(names, e.parts, strict=True):
            heading = p.section_path.split(" › ")[0]
            pieces.append(f"“{part}”——{heading}：{p.quote}{cites.mark(p)}")
        return (
            f"{e.passage.quote}{cites.mark(e.passage)}“{e.term}”由{len(pieces)}部分组成：\n"
            + "\n".join(f"- {x}" for x in pieces)
        )
    extra = "".join(f"{p.quote}{cites.mark(p)}" for p in e.parts if p.quote != e.passage.quote)
    return f"“{e.term}”：{e.passage.quote}{cites.mark(e.passage)}{extra}"


def example_questions(omap: OnboardingMap, limit: int = 12) -> list[str]:
    """Questions a newcomer can click, built from the map so that each has an answer: one per
    group (its responsible units), the actors with most duties, the deadlines, defined terms.

    a map with 招商二组's 牵头单位 市商务局 → ["招商二组有哪些责任单位？", "市商务局负责哪些事？", …]
    """
    rows = omap.responsibilities
    groups = list(
        dict.fromkeys(
            r.scope for r in rows if r.role == "责任单位" and r.scope and _is_group_label(r)
        )
    )
    counts: dict[str, int] = {}
    for r in rows:
        if r.actor_kind == "unit":
            counts[r.actor] = counts.get(r.actor, 0) + 1
    actors = [a for a, n in sorted(counts.items(), key=lambda x: -x[1]) if n > 1][:3]
    out = [f"{a}负责哪些事？" for a in actors]
    out += [f"{g}有哪些责任单位？" for g in groups]
    if any(r.deadline and (r.role in _REPORTING) for r in rows):
        out.append("哪些事有报送时限？")
    terms = [e.term for e in omap.glossary if e.defined]
    out += [f"什么是{t}？" for t in dict.fromkeys(terms)][:3]
    return [q for q in out if answer(q, omap) is not None][:limit]
