"""The runs a hybrid search fuses, beyond dense and body BM25, and the fusion itself.

- **fields**: body BM25 plus ``field_weight`` × the BM25 of the chunk's front-matter fields
  (title, issuer, 文号, region, section path; ``rag.store.bm25.field_text``). A question
  naming the issuer or a words of a title ranks that document's chunks up.
- **named place / issuer**: the same score, only over the chunks whose region, issuer or
  title holds a place or issuer the question names ("济南市对总部企业落户有什么奖励" →
  济南's chunks). It is one more run in the fusion, a soft preference: it can lift a
  document, never remove one, and when no chunk matches it is simply empty.
- **named year**: the same score again, only over the chunks of documents dated in a year
  the question names, or whose title holds it ("2019年政府工作报告…" → the documents of
  2019). A year is a field of a document as a place is: the run prefers, never filters.
  When the question ties a year to a document word ("2009年报告讲2008年…", "1995年的通知")
  only that year counts; the others are years the text talks about.
- **named genre**: the same score over the chunks of documents of the genre the question
  gives the document it asks about ("那篇文章说…" → articles and news, "郑州那份文件…" →
  notices; ``named_kinds``). Staff name a document by its kind
  far more often than by its title; the run lifts that kind, never removes another, and
  is left out when every row is of that kind (it would only repeat the fields run).
- **sentences**: the best e5 cosine between the query and the evidence units (sentences,
  ``rag.answering.units``) of each of the first fused candidates; a sentence hit votes for
  its chunk. Only vectors already computed at ingest are used (``rag.store.units``), so a
  query never waits for the embedder and the cost is a few candidates' rows whatever the
  index size.

A run is a list of (chunk id, score), best first. ``fuse`` combines runs by weighted
reciprocal rank (``rrf``) or by a score-normalised sum (``combsum``: each run min–max
scaled to [0, 1], then weighted). Everything here is a pure function of its inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from rag.lexicon.places import find_places

Run = list[tuple[str, float]]  # (chunk id, score), best first

FUSIONS = ("rrf", "combsum")
_SUFFIX = re.compile(r"(?:省|市|县|区|自治区|地区)$")
# a year as written in a question: 2019年, 二〇一九年, 二O一九年 (digit by digit)
_CN_YEAR_DIGIT = dict(zip("零〇○OoＯ一二三四五六七八九", "000000123456789", strict=True))
_YEAR = re.compile(
    r"(?<![0-9０-９])((?:19|20)[0-9]{2})年|([一二][零〇○OoＯ一二三四五六七八九]{3})年"
)
# what makes a named year the year of the document asked about, right after "年"
_DOC_AFTER_YEAR = re.compile(
    r"(?:度|的)?(?:那份|这份|那篇|这篇|那个|这个|那次|这次|份|版)?[^，。？！、,?!\s]{0,8}?"
    r"(?:报告|通知|意见|办法|方案|规划|计划|决定|规定|文件|公报|纲要|细则|政策|条例|材料|文章|讲话)"
)
# A year named by its occasion, on the national calendar: a session of the National People's
# Congress (十一届人大一次会议 → 2008; term N ≥ 5 opens in 1978 + 5(N − 5), one session a
# year) and the first or last year of a five-year plan (十四五开局 → 2021; plan N ≥ 3 starts in
# 1966 + 5(N − 3)). These are calendar facts, the same in any corpus that cites them.
_NPC_FIRST_YEAR = {1: 1954, 2: 1959, 3: 1964, 4: 1975}
_CN_SMALL = "(?:十[一二三四五六七八九]?|[一二三四五六七八九])"
_NPC_SESSION = re.compile(
    rf"第?({_CN_SMALL})届(?:全国)?(?:人大|人民代表大会)(?:常委会)?第?([一二三四五六七])次(?:全体)?(?:会议)?"
)
_PLAN_YEAR = re.compile(
    rf"(?<![一二三四五六七八九十])(十五|{_CN_SMALL})五(?:计划|规划)?(?:的)?"
    r"(?:(开局|起步|开篇|第一年|头一年)|(收官|最后一年|完成之年|结束))"
)
# A genre word naming the document asked about, and the kinds (``ingest.records.KINDS``) it
# means. 材料, 文件 and 通知 name a document only with a determiner or a verb of saying
# ("许昌材料说", "那份文件里"): "需要提交哪些材料", "申报材料里…", "等电话通知" name none.
# A report asked about is named by its year, which the year run already reads; a kind run
# over reports only repeated the fields run (and cost the report questions .02 MRR on dev).
_THAT = r"(?:[这那该][份篇个]?|[份篇])"
_SAYS = r"(?=[里中]?[说提讲称要指])"
_GENRES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        re.compile(rf"文章|评论|署名|经验材料|{_THAT}材料|(?<![新原])材料{_SAYS}"),
        ("experience_article", "news"),
    ),
    (re.compile(r"报道|新闻|记者"), ("news",)),
    (re.compile(rf"{_THAT}(?:文件|通知)|(?:文件|通知){_SAYS}|红头|发文"), ("policy_notice",)),
)
# An anniversary ("改革开放40周年那年", "新中国成立七十周年") and a Party congress ("十八大召开那
# 年"; "十八大之后的第一份报告" is the next year's): the congress meets every five years since
# the twelfth (1982), and the anniversaries count from 1978, 1949 and 1921.
_CN_NUMBER = r"[\d一二三四五六七八九十百]+"
_ANNIVERSARY = re.compile(
    rf"(改革开放|新中国成立|中华人民共和国成立|共和国成立|建国|建党|中国共产党成立)({_CN_NUMBER})周年"
)
_ANNIVERSARY_BASE = {"改革开放": 1978, "建党": 1921, "中国共产党成立": 1921}
_CONGRESS = re.compile(
    r"(?:党的)?(十[二三四五六七八九]|二十[一二三]?)大(?:召开)?"
    r"((?:之|以)?后的?第一(?:份|个|年|次)|的?(?:次年|第二年))?"
)
_ORG_END = ("政府", "办公厅", "办公室", "委员会", "局", "厅", "委", "办")


def rrf(
    runs: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = 60
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = Σ w_i / (k + rank_i(d)), ranks from 1.

    [["a", "b"], ["b", "c"]] → [("b", 1/62 + 1/61), ("a", 1/61), ("c", 1/62)]
    """
    weights = weights or [1.0] * len(runs)
    scores: dict[str, float] = {}
    for run, w in zip(runs, weights, strict=True):
        for rank, doc in enumerate(run, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def combsum(runs: Sequence[Run], weights: Sequence[float] | None = None) -> Run:
    """Score-normalised CombSUM: each run min–max scaled to [0, 1], then a weighted sum.

    [[("a", 3.0), ("b", 1.0)], [("b", 0.9), ("c", 0.5)]] → [("a", 1.0), ("b", 1.0), ("c", 0.0)]
    (a one-item run scales to 1; equal scores in id order)
    """
    weights = weights or [1.0] * len(runs)
    scores: dict[str, float] = {}
    for run, w in zip(runs, weights, strict=True):
        if not run:
            continue
        values = [s for _, s in run]
        lo, span = min(values), max(values) - min(values)
        for doc, s in run:
            scores[doc] = scores.get(doc, 0.0) + w * ((s - lo) / span if span else 1.0)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse(runs: Sequence[Run], weights: Sequence[float], method: str = "rrf", k: int = 60) -> Run:
    """``rrf`` (ranks, constant ``k``) or ``combsum`` (scores) over runs of (id, score)."""
    if method == "combsum":
        return combsum(runs, weights)
    return rrf([[doc for doc, _ in run] for run in runs], weights, k)


def named_places(query: str) -> list[str]:
    """Places a question names, each also without its 省/市/县/区 ("济南市" → also "济南").

    "济南市对总部企业落户有什么奖励" → ["济南市", "济南"]; "招商六组的牵头领导是谁" → []
    """
    out: list[str] = []
    for place in find_places(query):
        core = _SUFFIX.sub("", place)
        out += [p for p in (place, core) if len(p) >= 2 and p not in out]
    return out


def named_kinds(query: str) -> list[str]:
    """The document kinds a question's genre words point at, in ``KINDS`` spelling.

    "那篇评论开头怎么评价眼下拉投资的状况" → ["experience_article", "news"];
    "郑州那份文件里，把拉投资比作什么" → ["policy_notice"]; "新材料产业有哪些项目" → []
    """
    out: list[str] = []
    for pattern, kinds in _GENRES:
        if pattern.search(query):
            out += [k for k in kinds if k not in out]
    return out


def named_years(query: str) -> list[int]:
    """Years a question names (1900–2099, in digits or Chinese), those tied to a document
    word only when there are such ("2009年报告讲2008年粮食产量" → [2009]).

    "2019年政府工作报告提出的增长目标" → [2019]; "二〇二〇年以来出台了哪些政策" → [2020];
    "1979和1980两年赤字多少" → [] (no 年 right after a year); by its occasion:
    "十一届人大一次会议上的报告" → [2008], "十四五开局那年的报告" → [2021]
    """
    years = _years(query)
    tied = [y for y, end in years if _DOC_AFTER_YEAR.match(_half(query), end)]
    return list(dict.fromkeys(tied or [y for y, _ in years]))


def document_years(query: str) -> list[int]:
    """Only the years a question gives to the document it asks about ("2012年的报告讲上一年…"
    → [2012]; "十四五开局那年的报告" → [2021]; "焦作2016年签约了多少个项目" → [];
    "2020年以来出台了哪些政策" → [], a span of years)."""
    q = _half(query)
    return list(
        dict.fromkeys(
            y
            for y, end in _years(query)
            if _DOC_AFTER_YEAR.match(q, end) and not _SINCE.match(q, end)
        )
    )


_SINCE = re.compile(r"(?:以来|以后|之后|至今|起|开始|前后|之前|以前)")


def _half(query: str) -> str:
    return query.translate(str.maketrans("０１２３４５６７８９", "0123456789"))


def _years(query: str) -> list[tuple[int, int]]:
    """(year, end offset) of every year the question names, in order of position."""
    query = _half(query)
    found: list[tuple[int, int, int]] = []  # (position, year, end)
    for m in _YEAR.finditer(query):
        if m.group(1):
            year = int(m.group(1))
        else:
            year = int("".join(_CN_YEAR_DIGIT[c] for c in m.group(2)))
        found.append((m.start(), year, m.end()))
    for m in _NPC_SESSION.finditer(query):
        term, session = _cn_number(m.group(1)), _cn_number(m.group(2))
        first = _NPC_FIRST_YEAR.get(term, 1978 + 5 * (term - 5))
        found.append((m.start(), first + session - 1, m.end()))
    for m in _PLAN_YEAR.finditer(query):
        plan = 10 if m.group(1) == "十" else _cn_number(m.group(1))
        start = {1: 1953, 2: 1958}.get(plan, 1966 + 5 * (plan - 3))
        found.append((m.start(), start if m.group(2) else start + 4, m.end()))
    for m in _ANNIVERSARY.finditer(query):
        n = _cn_number(m.group(2))
        if n:
            found.append((m.start(), _ANNIVERSARY_BASE.get(m.group(1), 1949) + n, m.end()))
    for m in _CONGRESS.finditer(query):
        congress = _cn_number(m.group(1))
        year = 1982 + 5 * (congress - 12) + (1 if m.group(2) else 0)
        found.append((m.start(), year, m.end()))
    return [(y, end) for _, y, end in sorted(found) if 1900 <= y <= 2099]


def _cn_number(s: str) -> int:
    """A whole number below 1000 in digits or Chinese numerals: "40", "四十", "一百" → 100."""
    if s.isdigit():
        return int(s)
    total, digits = 0, "一二三四五六七八九"
    for unit, size in (("百", 100), ("十", 10)):
        if unit in s:
            head, _, s = s.partition(unit)
            total += (digits.index(head) + 1 if head else 1) * size
    return total + (digits.index(s) + 1 if s and s in digits else 0)


def named_issuers(query: str, issuers: Sequence[str]) -> list[str]:
    """Organs the question names that issue indexed documents (at least three characters).

    ("市商务局印发的通知有哪些", ["焦作市商务局", "焦作市人民政府"]) → ["市商务局"]
    """
    known = [i for i in issuers if i]
    found: set[str] = set()
    for end in range(3, len(query) + 1):
        if not query[:end].endswith(_ORG_END):
            continue
        for start in range(max(0, end - 12), end - 2):
            name = query[start:end]
            if any(name in i for i in known):
                found.add(name)
                break  # the longest one ending here
    return sorted(n for n in found if not any(n != m and n in m for m in found))


def sentence_run(
    query_vector: np.ndarray,
    candidates: Sequence[tuple[str, list[str]]],
    vectors: Callable[[list[str]], tuple[np.ndarray, np.ndarray]],
) -> Run:
    """Candidates ranked by their best unit: max cosine of the query with any unit vector.

    ``candidates`` are (chunk id, its unit texts); ``vectors(texts)`` returns (found mask,
    unit-norm rows of the found texts). A chunk none of whose units has a vector is left out.
    """
    texts = [t for _, units in candidates for t in units]
    if not texts:
        return []
    found, rows = vectors(texts)
    cosines = np.full(len(texts), -np.inf, dtype=np.float32)
    if len(rows):
        cosines[found] = rows.astype(np.float32) @ query_vector.astype(np.float32)
    best: dict[str, float] = {}
    start = 0
    for cid, units in candidates:
        part = cosines[start : start + len(units)]
        start += len(units)
        if len(part) and np.isfinite(part.max()):
            best[cid] = round(float(part.max()), 6)
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


def evidence_of(name: str, run: Run) -> Mapping[str, dict[str, float | int]]:
    """Per chunk, its rank and score in a run: {"c1": {"<name>_rank": 1, "<name>_score": 2.5}}."""
    return {
        cid: {f"{name}_rank": rank, f"{name}_score": round(score, 6)}
        for rank, (cid, score) in enumerate(run, start=1)
    }
