"""Document metadata: what extraction finds, and the catalog that overrides it.

Extraction works on cleaned paragraphs and finds the title, the document number (文号),
the issuer (发文机关), the date and the region, and guesses the kind. The catalog
(``catalog.csv`` next to the files) gives curated values per file, and can split one file
into several documents (a newspaper page holding several articles) at anchor lines.

It does not look anything up outside the document.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.clean import ADDRESSEE, squash
from ingest.records import KINDS, DocMeta, Paragraph

log = logging.getLogger(__name__)

_DOC_NUMBER = re.compile(
    r"([\u4e00-\u9fff]{1,12})\s*[〔\[［【(（]\s*((?:19|20)\d{2})\s*[〕\]］】)）]\s*(\d{1,4})\s*号"
)


# Words that end whatever stands before a 机关代字 when the two are run together
# ("…的若干措施济政办发〔2021〕12号", "…人民政府办公厅济政办发…"): the code starts after the last one.
_BEFORE_CODE = re.compile(
    r".*(?:的|关于|通知|意见|决定|办法|规定|方案|措施|细则|通报|批复|报告|人民政府|政府|办公厅|办公室|委员会|文件|印发)"
)


def extract_doc_number(text: str) -> str:
    """The first 文号 in the text, brackets normalised to 〔〕; a 机关代字 run together with the
    title or issuer before it is cut free.

    "焦政办［2020］9号" → "焦政办〔2020〕9号"; "郑政〔2018〕15号" → "郑政〔2018〕15号";
    "关于支持总部经济发展的若干措施济政办发〔2021〕12号" → "济政办发〔2021〕12号"
    """
    m = _DOC_NUMBER.search(text)
    if not m:
        return ""
    code = m.group(1)
    cut = _BEFORE_CODE.match(code)
    if cut and cut.end() < len(code):
        code = code[cut.end() :]
    return f"{code}〔{m.group(2)}〕{m.group(3)}号"


_CN_DIGIT = {
    "〇": 0,
    "○": 0,
    "O": 0,
    "o": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _cn_small_number(s: str) -> int | None:
    """ "十五" → 15, "二十一" → 21, "三" → 3, "12" → 12."""
    if s.isdigit():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGIT.get(tens, 0) if tens else 1
        o = _CN_DIGIT.get(ones, 0) if ones else 0
        return t * 10 + o
    if len(s) == 1 and s in _CN_DIGIT:
        return _CN_DIGIT[s]
    return None


_DATE_ARABIC = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_CN = re.compile(
    r"([〇○O零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日"
)


def parse_date(text: str) -> str:
    """The first full date in the text as ISO ``YYYY-MM-DD``, or "".

    "2020年3月6日印发" → "2020-03-06"; "二O二三年四月十五日" → "2023-04-15"
    """
    found = find_dates(text)
    return found[0] if found else ""


def find_dates(text: str) -> list[str]:
    hits: list[tuple[int, str]] = []
    for m in _DATE_ARABIC.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            hits.append((m.start(), f"{y:04d}-{mo:02d}-{d:02d}"))
    for m in _DATE_CN.finditer(text):
        y = int("".join(str(_CN_DIGIT[c]) for c in m.group(1)))
        cmo, cd = _cn_small_number(m.group(2)), _cn_small_number(m.group(3))
        if cmo and cd and 1 <= cmo <= 12 and 1 <= cd <= 31:
            hits.append((m.start(), f"{y:04d}-{cmo:02d}-{cd:02d}"))
    return [d for _, d in sorted(hits)]


def date_as_int(date: str) -> int:
    """ "2020-03-06" → 20200306, "2018" → 20180000, "" → 0 (for range filters)."""
    digits = re.sub(r"\D", "", date)[:8]
    return int(digits.ljust(8, "0")) if digits else 0


_DOC_TYPES = "通知|意见|决定|办法|规定|方案|通报|批复|报告|细则|纲要|规划|决议|公告|函|条例|措施"
_TITLE_RE = re.compile(rf"关于.{{2,80}}(?:{_DOC_TYPES})$")
_ORG_END = re.compile(r"(?:人民政府|办公室|办公厅|委员会|政府|局|厅|部|委|中心|管委会)$")
_SENTENCE = re.compile(r"[，。；：:]")
# titles that authoring tools write into a file's properties, not the document's title
_JUNK_TITLE = re.compile(
    r"^(?:\(anonymous\)|untitled.*|无标题.*|word document|microsoft word.*|文档\d*|document\d*|新建.*文档.*|"
    r".*\.(?:docx?|wps|pdf|ofd|rtf|odt|txt))$",
    re.IGNORECASE,
)
_SKIP_TITLE = re.compile(r"^(?:编者按|内部资料|领导参阅|决策参阅|第\d+期|（总第|各.*[：:]$)")


def extract_title(paras: Sequence[Paragraph]) -> str:
    """Title of an official document or article from its first paragraphs; a 红头文件 title
    printed over two or three lines is joined, and the issuer line above a "关于…" title is
    part of it.

    ["郑州市人民政府", "关于进一步加强招商引资工作的意见"] → "郑州市人民政府关于进一步加强招商引资工作的意见"
    ["关于建立焦作市“7+X”", "招商引资工作机制的通知"] → "关于建立焦作市“7+X”招商引资工作机制的通知"
    """
    head = [p.text.lstrip("#").strip() for p in paras[:15]]
    for i in range(len(head)):
        for span in (1, 2, 3):
            parts = [squash(x) for x in head[i : i + span]]
            flat = "".join(parts)
            if len(parts) < span or (
                span > 1
                and (
                    any(
                        len(x) > 40
                        or _SENTENCE.search(x)
                        or extract_doc_number(x)
                        or x.endswith("文件")
                        for x in parts
                    )
                    or not (
                        parts[0].startswith("关于")
                        or (_ORG_END.search(parts[0]) and parts[1].startswith("关于"))
                    )
                )
            ):
                break
            if _TITLE_RE.search(flat) and len(flat) <= 100:
                if flat.startswith("关于") and i > 0 and _ORG_END.search(squash(head[i - 1])):
                    return squash(head[i - 1]) + flat
                return flat
    for t in head[:8]:
        if 4 <= len(t) <= 50 and t[-1] not in "。，；：:" and not _SKIP_TITLE.search(t):
            if extract_doc_number(t) or parse_date(t) or t.endswith("文件"):
                continue
            return t
    return ""


def extract_issuer(paras: Sequence[Paragraph], title: str) -> str:
    """发文机关: the red-header line "XX文件", an organ's name standing just above the 文号 or
    the title, the signature before the date, or the title.

    ["济南市人民政府办公厅", "济政办发〔2021〕12号", …] → "济南市人民政府办公厅"
    """
    for p in paras[:6]:
        t = squash(p.text.lstrip("#"))
        if t.endswith("文件") and 4 <= len(t) <= 30:
            return t[: -len("文件")]
    head = [squash(p.text.lstrip("#")) for p in paras[:8]]
    for i, t in enumerate(head[:-1]):
        nxt = head[i + 1]
        if (
            4 <= len(t) <= 30
            and _ORG_END.search(t)
            and not t.startswith("关于")
            and (extract_doc_number(nxt) or _TITLE_RE.search(nxt) or nxt == squash(title))
        ):
            return t
    for i in range(len(paras) - 1, max(len(paras) - 8, 0), -1):
        t = squash(paras[i].text)
        if parse_date(t) and i > 0:
            prev = squash(paras[i - 1].text)
            if _ORG_END.search(prev) and len(prev) <= 30:
                return prev
    if "关于" in title:
        org = title.split("关于", 1)[0]
        if _ORG_END.search(org):
            return org
    return ""


def extract_date(paras: Sequence[Paragraph]) -> str:
    """印发 date, else the last date standing alone near the end, else a date in the header."""
    for p in reversed(paras):
        if "印发" in p.text and (d := parse_date(p.text)):
            return d
    for p in reversed(paras[-8:]):
        t = squash(p.text)
        if len(t) <= 20 and (d := parse_date(t)):
            return d
    for p in paras[:8]:
        if len(p.text) <= 60 and (d := parse_date(p.text)):
            return d
    return ""


_PLACE_END = ("省", "自治区", "市", "县")
_NOT_PLACE_START = tuple("各本我全该每市县省区城")


def place_words(text: str) -> list[str]:
    """Place names in ``text``: whole segmenter words, tagged as nouns, of 2–4 characters
    before 省/自治区/市/县, those characters nouns too. A suffix inside a longer word is not a
    place, nor is an adjective before it.

    "河南省焦作市人民政府" → ["河南省", "焦作市"]; "建立社会主义市场经济体制" → [];
    "湖北省人民政府" → ["湖北省"]; "一千一百零四个县" → []; "多快好省地建设" → [];
    "贫困县摘帽" → []
    """
    import rjieba

    out = []
    for word, tag in rjieba.tag(text):
        if not tag.startswith("n"):
            continue
        # an organ's name may be one word ("湖北省人民政府"): its place is a leading part
        for part in [word, *(w for w in rjieba.cut_for_search(word) if word.startswith(w))]:
            end = next((e for e in _PLACE_END if part.endswith(e)), "")
            name = part[: len(part) - len(end)]
            if (
                end
                and 2 <= len(name) <= 4
                and not part.startswith(_NOT_PLACE_START)
                and all(t.startswith("n") for _, t in rjieba.tag(name))  # not 贫困县, 产粮大县
            ):
                out.append(part)
                break
    return out


def extract_region(title: str, issuer: str, text: str, header: str = "") -> str:
    """The place a document is about: from the issuer, title or header lines, else the
    city named at least twice in the first 3000 characters, the most named first.

    ("", "焦作市人民政府办公室", …) → "焦作市"
    """
    for s in (issuer, title, header):
        if found := place_words(s):
            return found[0]
    counts = Counter(place_words(text[:3000]))
    if counts:
        place, n = counts.most_common(1)[0]
        if n >= 2:
            return place
    return ""


def guess_kind(title: str, doc_number: str, text: str) -> str:
    if "政府工作报告" in title:
        return "report"
    if doc_number or re.search(rf"(?:{_DOC_TYPES})$", title):
        return "policy_notice"
    if re.search(r"记者|据了解|近日|日电|报讯", text[:600]):
        return "news"
    return "experience_article"


def extract_meta(paras: Sequence[Paragraph], hints: dict[str, str] | None = None) -> DocMeta:
    """Metadata found in the text; loader hints (JSONL fields, DOCX properties) win."""
    hints = {
        k: v
        for k, v in (hints or {}).items()
        if not (k == "title" and _JUNK_TITLE.match(v.strip()))
    }
    text = "\n".join(p.text for p in paras)
    title = hints.get("title") or extract_title(paras)
    doc_number = hints.get("doc_number") or extract_doc_number(
        "\n".join(p.text for p in paras[:12])
    )
    issuer = hints.get("issuer") or extract_issuer(paras, title)
    date = hints.get("date") or extract_date(paras)
    header = "\n".join(p.text for p in paras[:8] if len(p.text) <= 60)
    region = hints.get("region") or extract_region(title, issuer, text, header)
    kind = hints.get("kind") or guess_kind(title, doc_number, text)
    return DocMeta(
        title=title, kind=kind, issuer=issuer, doc_number=doc_number, date=date, region=region
    )


_SIGNER = re.compile(r"^签发人[：:]\s*(\S.{0,20})$")


def extract_front_matter(paras: Sequence[Paragraph]) -> dict[str, str]:
    """签发人 and 主送机关 of a 红头文件 from its head, when the layout shows them.

    ["…", "签发人：王某某", "关于…的请示", "市人民政府：", …] → {"signer": "王某某", "addressee": "市人民政府"}
    """
    out: dict[str, str] = {}
    for p in paras[:10]:
        t = p.text.strip()
        if not out.get("signer") and (m := _SIGNER.match(t)):
            out["signer"] = m.group(1).strip()
        elif (
            not out.get("addressee")
            and len(t) <= 120
            and (m := ADDRESSEE.match(squash(t)))
            and (m.end() == len(squash(t)))
        ):
            out["addressee"] = m.group(1)
    return out


# --------------------------------------------------------------------------- catalog

CATALOG_NAME = "catalog.csv"
CATALOG_FIELDS = ("title", "kind", "issuer", "doc_number", "date", "region")


@dataclass(frozen=True)
class CatalogEntry:
    file: str
    starts_at: str
    doc_id: str
    meta: DocMeta


def load_catalog(path: Path) -> dict[str, list[CatalogEntry]]:
    """catalog.csv → entries per file name, in file order. A missing file is an empty catalog."""
    if not path.is_file():
        return {}
    out: dict[str, list[CatalogEntry]] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not row.get("file"):
                continue
            kind = row.get("kind", "")
            if kind and kind not in KINDS:
                log.warning("catalog %s: unknown kind %r for %s", path, kind, row["file"])
            meta = DocMeta(**{f: row.get(f, "") for f in CATALOG_FIELDS})
            out.setdefault(row["file"], []).append(
                CatalogEntry(row["file"], row.get("starts_at", ""), row.get("doc_id", ""), meta)
            )
    return out


def apply_catalog(found: DocMeta, curated: DocMeta) -> DocMeta:
    """Curated (non-empty) catalog values override what extraction found."""
    return replace(found, **{f: v for f in CATALOG_FIELDS if (v := getattr(curated, f))})
