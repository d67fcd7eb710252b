"""Repair the damage PDF extraction does to Chinese official documents.

Stages, each a pure function over ``Line``s (text + page), applied by ``clean_lines``:

1. ``dedouble_line``: fake-bold text printed twice ("在当下在当下，，还还" → "在当下，还").
2. ``normalize_text``: full-width letters/digits to half-width, ASCII punctuation next to
   Chinese to full-width, stray spaces between Chinese characters and digits removed.
   Before it, ``split_front_matter`` puts the head and the closing block of a notice saved from
   a website as one long line (title, issuer, 文号, 主送机关 … 发文机关, 成文日期 separated by
   spaces) on lines of their own, as the printed 红头文件 has them.
3. ``drop_page_furniture``: page-number lines and running headers/footers of paged files.
4. ``join_lines``: hard wraps and page breaks inside sentences joined (no space inserted),
   real paragraph breaks kept.

It deliberately does not rewrite wording, fix OCR errors or guess at missing characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ingest.records import Line, Paragraph

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
# Punctuation that ends a sentence (a line ending in one may end a paragraph).
TERMINAL = "。！？；…!?;"
CLOSERS = "”’」』）)》】"
_PUNCT_CHARS = "，。、；：？！…—·“”‘’「」『』（）《》〈〉【】〔〕［］｛｝～・．,.;:?!\"'()[]{}<>-–/\\|~`@#%^&*_+=·"
_PUNCT_SET = frozenset(_PUNCT_CHARS)


# --------------------------------------------------------------------------- de-doubling


def _tokens(line: str) -> list[str]:
    """Split a line into runs of text and runs of punctuation/space."""
    out: list[str] = []
    buf = ""
    kind = None
    for ch in line:
        k = ch in _PUNCT_SET or ch.isspace()
        if kind is None or k == kind:
            buf += ch
        else:
            out.append(buf)
            buf = ch
        kind = k
    if buf:
        out.append(buf)
    return out


def _undouble_token(tok: str) -> str | None:
    """The single copy of a doubled token, or None if the token is not doubled.

    Text runs are doubled whole ("前任前任" → "前任"); punctuation runs char by char
    ("””，，" → "”，").
    """
    if tok.isspace():
        return tok
    n = len(tok)
    if n % 2:
        return None
    half = n // 2
    is_punct = all(c in _PUNCT_SET for c in tok)
    if not is_punct and tok[:half] == tok[half:]:
        return tok[:half]
    if is_punct and all(tok[i] == tok[i + 1] for i in range(0, n, 2)):
        return tok[::2]
    return None


def _doubled_share(line: str) -> tuple[float, str]:
    """Share of the line's visible characters in doubled tokens, and the de-doubled line."""
    toks = _tokens(line.strip())
    visible = sum(len(t) for t in toks if not t.isspace())
    if not visible:
        return 0.0, line
    good = 0
    out = []
    for t in toks:
        u = _undouble_token(t)
        if u is None:
            out.append(t)
        else:
            if not t.isspace():
                good += len(t)
            out.append(u)
    return good / visible, "".join(out)


def dedouble_line(line: str) -> str:
    """De-double one line if it is mostly doubled; otherwise return it unchanged.

    "在当下招商引资过程中在当下招商引资过程中，，还还" → "在当下招商引资过程中，还"
    "谢谢大家，人人有责" → unchanged
    """
    share, fixed = _doubled_share(line)
    if share >= 0.8 and len(line.strip()) >= 8:
        return fixed.strip()
    return line


def dedouble_lines(lines: Sequence[Line]) -> list[Line]:
    """De-double the doubled block(s) of a document.

    A line counts as doubled when ≥80% of its characters sit in doubled tokens. Long
    lines (≥8 characters) qualify alone; short ones ("发发", "夫夫。。") only next to a
    long doubled line, so "谢谢" or "人人" standing alone in normal text stay.
    """
    info = []
    for ln in lines:
        s = ln.text.strip()
        share, fixed = _doubled_share(s) if s else (0.0, s)
        doubled = share >= 0.8 and len(s) >= 2
        strong = doubled and len(s) >= 8
        info.append((doubled, strong, fixed.strip()))
    nonblank = [i for i, ln in enumerate(lines) if ln.text.strip()]
    out = list(lines)
    for pos, i in enumerate(nonblank):
        doubled, strong, fixed = info[i]
        if not doubled:
            continue
        if not strong:
            neighbours = [nonblank[p] for p in (pos - 1, pos + 1) if 0 <= p < len(nonblank)]
            if not any(info[j][1] for j in neighbours):
                continue
        out[i] = replace(lines[i], text=fixed)
    return out


# --------------------------------------------------------------------------- normalisation

_FW_ASCII: dict[str, str | int | None] = {
    chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)
}  # ０-９
_FW_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_FW_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_FW_ASCII.update({"\u3000": " ", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u200b": ""})
_FW_ASCII.update({"％": "%", "＋": "+", "／": "/", "．": "."})
_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_HALF_PUNCT_NEAR_CJK = re.compile(rf"(?<=[{CJK}”’）》])([,;:?!])|([,;:?!])(?=[{CJK}“‘（《])")
_PAREN_CJK = re.compile(rf"\(([{CJK}][^()]*)\)|\(([^()]*[{CJK}])\)")
_SPACE_CJK_DIGIT = re.compile(rf"(?<=[{CJK}])[ \t]+(?=[0-9])|(?<=[0-9%])[ \t]+(?=[{CJK}])")
_SPACE_CJK_CJK = re.compile(rf"(?<=[{CJK}])[ \t](?=[{CJK}])")
_SPACE_PUNCT = re.compile(r"[ \t]*([，。、；：？！“”‘’（）《》【】〔〕])[ \t]*")
_WHITESPACE = re.compile(r"\s+")
_LETTER_SPACED = re.compile(rf"^(?:[{CJK}] ){{2,}}[{CJK}]$")


def squash(text: str) -> str:
    """Every whitespace character removed, for comparing lines a PDF broke or spaced differently:
    "关于 印发\n通知" → "关于印发通知"."""
    return _WHITESPACE.sub("", text)


def normalize_text(line: str) -> str:
    """Width and spacing normalisation that does not change meaning.

    "8 月 22 日，人民日报 13 版" → "8月22日，人民日报13版"
    "“先行军”,已经成为" → "“先行军”，已经成为"; "二Ｏ二三年" → "二O二三年"
    "内 部 资 料" → "内部资料"
    """
    s = unicodedata.normalize("NFC", line).translate(str.maketrans(_FW_ASCII))
    s = s.replace("\t", " ").rstrip()
    s = _HALF_PUNCT_NEAR_CJK.sub(lambda m: _TO_FULL[m.group(1) or m.group(2)], s)
    s = _PAREN_CJK.sub(lambda m: f"（{m.group(1) or m.group(2)}）", s)
    s = _SPACE_CJK_DIGIT.sub("", s)
    s = _SPACE_PUNCT.sub(r"\1", s)
    stripped = s.strip()
    if _LETTER_SPACED.match(stripped):
        return stripped.replace(" ", "")
    # Single spaces between Chinese characters are PDF layout, not wording, in body
    # text; in short title-like lines they separate phrases and stay.
    if len(stripped) > 24:
        s = _SPACE_CJK_CJK.sub("", s)
    return re.sub(r"(?<=\S) {2,}(?=\S)", "  ", s).strip()


# --------------------------------------------------------------------------- front matter of one-line notices

_SENTENCE_PUNCT = re.compile(r"[，。；！？、]")
# 主送机关: "各区县人民政府，市政府各部门：" at the start of the body
ADDRESSEE = re.compile(
    r"^(各[^。；：:]{1,80}?|[^。；：:，]{2,30}(?:人民政府|政府|各部门|各单位|委员会)[^。；：:]{0,60}?)[：:]"
)
# a paragraph of a one-line text: a sentence end, spaces, then an outline marker
_ITEM_BREAK = re.compile(
    r"(?<=[。；！？])\s+(?=[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)]|第[一二三四五六七八九十百]+条)"
)


def _front_token(t: str) -> bool:
    """A piece of a notice's head or closing block: short, no sentence punctuation.

    "济政办发〔2021〕12号" → True; "为加快总部经济发展，" → False
    """
    return 2 <= len(t) <= 40 and not _SENTENCE_PUNCT.search(t)


def split_front_matter(lines: Sequence[Line]) -> list[Line]:
    """Head and closing block of a one-line notice on lines of their own.

    "关于X的若干措施 济南市人民政府办公厅 济政办发〔2021〕12号 各区县人民政府，市政府各部门：为……。 济南市人民政府办公厅 2021年5月20日"
    → "关于X的若干措施" / "济南市人民政府办公厅" / "济政办发〔2021〕12号" / "各区县人民政府，市政府各部门：" / "为……。" /
      "济南市人民政府办公厅" / "2021年5月20日"
    Only the first and the last line of a document, and only lines over 60 characters whose
    leading (or trailing) space-separated pieces are short and unpunctuated, are touched.
    """
    nonblank = [i for i, ln in enumerate(lines) if ln.text.strip()]
    if not nonblank:
        return list(lines)
    out = list(lines)
    first, last = nonblank[0], nonblank[-1]
    for i in sorted({first, last}, reverse=True):
        ln = out[i]
        if ln.table or len(ln.text.strip()) <= 60:
            continue
        tokens = ln.text.split()
        head: list[str] = []
        if i == first:
            while len(tokens) > 1 and _front_token(tokens[0]):
                head.append(tokens.pop(0))
        tail: list[str] = []
        if i == last:
            while len(tokens) > 1 and _front_token(tokens[-1]):
                tail.insert(0, tokens.pop())
        body = " ".join(tokens)
        if head:
            m = ADDRESSEE.match(body)
            if m and len(body) > m.end():
                head.append(m.group(0))
                body = body[m.end() :].lstrip()
        if head or tail:
            items = _ITEM_BREAK.split(body)
            out[i : i + 1] = [replace(ln, text=t) for t in (*head, *items, *tail) if t]
    return out


# --------------------------------------------------------------------------- page furniture

_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－\s]*\d{1,4}[-—–－\s]*|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|page\s*\d+)$",
    re.IGNORECASE,
)


def is_page_number(text: str) -> bool:
    """ "- 3 -", "第 3 页", "3/12" → True; "2018年" → False."""
    return bool(_PAGE_NUMBER.match(text.strip()))


def drop_page_furniture(lines: Sequence[Line]) -> list[Line]:
    """Drop page numbers, and running headers/footers that repeat on most pages.

    Only paged input (lines with page numbers) has running headers; a line counts as
    one when the same short text is the first or last line on ≥3 pages and ≥half of them.
    """
    pages = sorted({ln.page for ln in lines if ln.page is not None})
    edge_counts: Counter[str] = Counter()
    if len(pages) >= 3:
        by_page: dict[int, list[str]] = {}
        for ln in lines:
            if ln.page is not None and ln.text.strip():
                by_page.setdefault(ln.page, []).append(ln.text.strip())
        for texts in by_page.values():
            edges = {t for t in texts[:2] + texts[-2:] if len(t) <= 40 and not is_page_number(t)}
            edge_counts.update(edges)
    running = {t for t, c in edge_counts.items() if c >= 3 and c >= len(pages) / 2}
    return [
        ln
        for ln in lines
        if not (ln.text.strip() and (is_page_number(ln.text) or ln.text.strip() in running))
    ]


# --------------------------------------------------------------------------- line joining

OUTLINE_START = re.compile(
    r"^(?:#{1,6}\s|第[一二三四五六七八九十百零〇\d]+[章节条编部分]|[一二三四五六七八九十]+、|"
    r"[（(][一二三四五六七八九十]+[）)]|\d{1,2}[.、．](?!\d)|[（(]\d{1,2}[）)]|"
    r"[一二三四五六七八九十]是)"
)


def width(s: str) -> float:
    """Display width: Chinese and full-width characters count 1, ASCII 0.5."""
    return sum(0.5 if ord(c) < 0x2E80 else 1.0 for c in s)


def _is_heading(s: str) -> bool:
    return s.startswith("#") or (
        bool(OUTLINE_START.match(s)) and width(s) <= 40 and s[-1] not in "，、"
    )


def _wrap_width(texts: Iterable[str]) -> float:
    widths = sorted(width(t) for t in texts if width(t) >= 4)
    if len(widths) < 5:
        return 1e9
    return widths[int(len(widths) * 0.8)]


def _concat(a: str, b: str) -> str:
    if a and b and a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha():
        return f"{a} {b}"
    return a + b


_TITLE_END = re.compile(
    r"关于.{2,80}(?:通知|意见|决定|办法|规定|方案|通报|批复|报告|细则|纲要|规划|决议|公告|函|条例|措施)$"
)


def _ends_title(text: str) -> bool:
    """A notice's title ends here ("…关于…工作机制的通知"): the 主送机关 below it is a new paragraph."""
    flat = re.sub(r"\s+", "", text)
    return (
        len(flat) <= 100 and not re.search(r"[《，。；：]", flat) and bool(_TITLE_END.search(flat))
    )


def _is_addressee(text: str) -> bool:
    """The 主送机关 ends here ("各县（市）区人民政府，…各有关单位："): the body starts a new paragraph."""
    flat = re.sub(r"\s+", "", text)
    m = ADDRESSEE.match(flat)
    return m is not None and m.end() == len(flat) and len(flat) <= 120


def join_lines(lines: Sequence[Line]) -> list[Paragraph]:
    """Join hard-wrapped lines and page breaks into paragraphs.

    Two modes, chosen from the document's typical line width:
    - hard-wrapped (narrow columns, ≤50 wide): a line at ≥70% of the typical width runs on
      into the next non-empty line, blank lines between or not ("焦作市\\n\\n\\n积极探索"
      → "焦作市积极探索"), unless the next line starts an outline item;
    - paragraph-per-line: a line runs on only when it stops mid-sentence (no final
      punctuation) and the next line is not a heading or a bare title
      ("粮食和物\\n\\n资储备局" → "粮食和物资储备局").

    A table row (``Line.table``) is always a paragraph of its own.
    """
    items = [ln for ln in lines if ln.text.strip()]
    texts = [ln.text.strip() for ln in items]
    wrap = _wrap_width(t for ln, t in zip(items, texts, strict=True) if not ln.table)
    hard = wrap <= 50
    paras: list[Paragraph] = []
    cur = ""
    cur_page: int | None = None
    last_page: int | None = None
    prev = ""
    cur_table = ""
    for ln, text in zip(items, texts, strict=True):
        if cur:
            joined = False
            if cur_table or ln.table or _ends_title(cur) or _is_addressee(cur):
                pass
            elif not prev.startswith("#") and not OUTLINE_START.match(text):
                title_like = width(text) < 25 and not any(c in _PUNCT_SET for c in text)
                if hard:
                    joined = (
                        width(prev) >= 0.7 * wrap
                        and "  " not in prev
                        and not (prev[-1] in TERMINAL + CLOSERS and title_like)
                    )
                elif not _is_heading(prev):
                    joined = (
                        prev[-1] not in TERMINAL + CLOSERS + "：:"
                        and width(prev) >= 20
                        and "  " not in prev
                        and not title_like
                    )
            if joined:
                cur = _concat(cur, text)
                last_page = ln.page
                prev = text
                continue
            paras.append(Paragraph(cur, cur_page, last_page, cur_table))
        cur, cur_page, last_page, prev, cur_table = text, ln.page, ln.page, text, ln.table
    if cur:
        paras.append(Paragraph(cur, cur_page, last_page, cur_table))
    return paras


# --------------------------------------------------------------------------- all together

_STRAY_BEFORE_OUTLINE = re.compile(r"^([^\s，。]{1,2}。)(?=[（(][一二三四五六七八九十]+[）)])")


def split_stray_fragments(lines: Sequence[Line]) -> list[Line]:
    """A 1–2 character fragment glued before an outline marker goes on its own line.

    "市。（三）信息联络机制。" → "市。" / "（三）信息联络机制。" (the fragment is kept, not lost)
    """
    out: list[Line] = []
    for ln in lines:
        m = None if ln.table else _STRAY_BEFORE_OUTLINE.match(ln.text.strip())
        if m:
            out.append(Line(m.group(1), ln.page))
            out.append(Line(ln.text.strip()[m.end() :], ln.page))
        else:
            out.append(ln)
    return out


# Licence footers that web archives (Wikisource) append to the documents they host.
_FOOTER = re.compile(
    r"^(?:本作品(?:是中华人民共和国的|来自|在全世界都属于公有领域|在中华人民共和国以外)|Public domain$)"
)


def drop_licence_footer(lines: Sequence[Line]) -> list[Line]:
    """Cut the archive's licence notice at the end of a document, and everything after it.

    "…不懈奋斗！", "本作品是中华人民共和国的", "法律", …, "Public domain", "false" → "…不懈奋斗！"
    Only a notice with at most ~1,500 characters after it counts (the notice itself is a few
    hundred), so a policy text quoting such a sentence in its body keeps it.
    """
    remaining = sum(len(ln.text) for ln in lines)
    for i, ln in enumerate(lines):
        if remaining <= 1500 and _FOOTER.match(ln.text.strip()):
            return list(lines[:i])
        remaining -= len(ln.text)
    return list(lines)


def clean_lines(lines: Sequence[Line]) -> list[Line]:
    """Line-level repairs (everything but joining)."""
    fixed = dedouble_lines(lines)
    fixed = split_front_matter(fixed)
    fixed = [replace(ln, text=normalize_text(ln.text)) for ln in fixed]
    fixed = drop_licence_footer(fixed)
    fixed = drop_page_furniture(fixed)
    fixed = split_stray_fragments(fixed)
    return fixed


def clean_to_paragraphs(lines: Sequence[Line]) -> list[Paragraph]:
    return join_lines(clean_lines(lines))
