"""Read files into ``SourceDocument``s: raw lines (with PDF page numbers) and format metadata.

One function per format, chosen by extension in ``load_file``. Every failure is a
``LoadError`` whose message says, in Chinese, what is wrong and what to do; a loader
never returns an empty document. Per-row problems of multi-record files (JSONL, CSV,
XLSX) are returned as ``problems`` while the good rows still load.

Loaders do not clean text (``ingest.clean`` does) and do not OCR scanned PDFs.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path

from ingest.records import Line, SourceDocument
from rag.errors import LoadError

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".jsonl", ".csv", ".xlsx")
MAX_UNZIPPED_RATIO = 100  # zip bombs named .docx/.xlsx


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    problems: list[str] = field(default_factory=list)


def load_file(path: Path, max_bytes: int) -> LoadResult:
    """Load one file; raise ``LoadError`` when nothing usable can be read from it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"不支持的文件类型“{suffix or '无扩展名'}”（支持：{'、'.join(SUPPORTED)}）")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise LoadError(f"无法读取文件：{e.strerror or e}") from e
    if size == 0:
        raise LoadError("文件为空（0 字节）")
    if size > max_bytes:
        raise LoadError(f"文件过大（{size / 1e6:.1f} MB），超过上限 {max_bytes / 1e6:.0f} MB")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(f"无法读取文件：{e.strerror or e}") from e
    source = str(path)
    if suffix in (".txt", ".md"):
        return LoadResult([_text_document(source, decode_text(data))])
    if suffix == ".pdf":
        return LoadResult([load_pdf(source, data)])
    if suffix == ".docx":
        return LoadResult([load_docx(source, data, max_bytes)])
    if suffix in (".html", ".htm"):
        return LoadResult([load_html(source, decode_text(data))])
    if suffix == ".jsonl":
        return load_jsonl(source, decode_text(data))
    if suffix == ".csv":
        return load_table(source, _csv_rows(decode_text(data)))
    return load_table(source, _xlsx_rows(data, max_bytes))


# --------------------------------------------------------------------------- text


def decode_text(data: bytes) -> str:
    """Bytes → str: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (covers GBK/GB2312).

    Binary data (NUL bytes, control characters) is refused rather than decoded to garbage.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return _checked(data[3:].decode("utf-8", errors="replace"))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _checked(data.decode("utf-16", errors="replace"))
    if b"\x00" in data[:4096]:
        # UTF-16 without BOM has a NUL in every other byte of ASCII text
        even, odd = data[0:4096:2].count(0), data[1:4096:2].count(0)
        if max(even, odd) > len(data[:4096]) / 4 and min(even, odd) < max(even, odd) / 10:
            return _checked(data.decode("utf-16-le" if odd > even else "utf-16-be", errors="replace"))
        raise LoadError("文件内容不是文本（含二进制数据），无法读取")
    for enc in ("utf-8", "gb18030"):
        try:
            return _checked(data.decode(enc))
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）")
    return _checked(str(best))


def _checked(text: str) -> str:
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    if text and bad / len(text) > 0.05:
        raise LoadError("文件内容不是可读文本（乱码或二进制数据），无法读取")
    if not text.strip():
        raise LoadError("文件没有文字内容")
    return text


def _lines(text: str, page: int | None = None) -> list[Line]:
    return [Line(t, page) for t in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _text_document(source: str, text: str, **hints: str) -> SourceDocument:
    return SourceDocument(source=source, lines=tuple(_lines(text)), hints={k: v for k, v in hints.items() if v})


# --------------------------------------------------------------------------- PDF


def load_pdf(source: str, data: bytes) -> SourceDocument:
    """Text per page via pypdf; page numbers stay on every line."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as e:  # pypdf raises several kinds here
                raise LoadError("PDF 已加密，无法读取；请提供未加密的文件") from e
            if not ok:
                raise LoadError("PDF 已加密，无法读取；请提供未加密的文件")
        lines: list[Line] = []
        for no, page in enumerate(reader.pages, start=1):
            lines.extend(_lines(page.extract_text() or "", no))
        info = reader.metadata
        title = str(info.title).strip() if info and info.title else ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise LoadError(f"PDF 文件已损坏，无法解析（{type(e).__name__}）") from e
    except Exception as e:  # a corrupt PDF can make pypdf fail in many ways
        raise LoadError(f"PDF 文件已损坏，无法解析（{type(e).__name__}）") from e
    if sum(len(ln.text.strip()) for ln in lines) < 10:
        raise LoadError("PDF 没有文字层（可能是扫描件），需要先进行 OCR 文字识别后再导入")
    return SourceDocument(source=source, lines=tuple(lines), hints={"title": title} if title else {})


# --------------------------------------------------------------------------- DOCX / XLSX zips


def _check_zip(data: bytes, max_bytes: int, what: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as e:
        raise LoadError(f"{what} 文件已损坏或不是 {what} 格式") from e
    if total > max(max_bytes, len(data) * MAX_UNZIPPED_RATIO):
        raise LoadError(f"{what} 解压后过大（{total / 1e6:.0f} MB），疑似压缩炸弹，已拒绝")


def load_docx(source: str, data: bytes, max_bytes: int) -> SourceDocument:
    _check_zip(data, max_bytes, "DOCX")
    import docx

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise LoadError("DOCX 文件已损坏，无法解析") from e
    lines: list[Line] = []
    for para in d.paragraphs:
        style = (para.style.name or "") if para.style is not None else ""
        text = para.text
        m = re.match(r"Heading (\d)", style)
        if m and text.strip() and not re.match(r"^[一二三四五六七八九十（(\d第]", text.strip()):
            text = "#" * int(m.group(1)) + " " + text
        lines.append(Line(text))
        lines.append(Line(""))
    for table in d.tables:
        for row in table.rows:
            lines.append(Line("｜".join(c.text.strip() for c in row.cells)))
    if not any(ln.text.strip() for ln in lines):
        raise LoadError("DOCX 文件没有文字内容")
    title = (d.core_properties.title or "").strip()
    return SourceDocument(source=source, lines=tuple(lines), hints={"title": title} if title else {})


# --------------------------------------------------------------------------- HTML


def load_html(source: str, text: str) -> SourceDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "iframe"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    body = soup.body or soup
    for h in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        h.insert(0, "#" * int(h.name[1]) + " ")
    for br in body.find_all("br"):
        br.replace_with("\n")
    for block in body.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
                                "article", "blockquote", "pre", "table"]):
        block.insert_before("\n")
        block.append("\n")
    blocks = body.get_text("")
    if not blocks.strip():
        raise LoadError("HTML 文件没有正文文字")
    return SourceDocument(source=source, lines=tuple(_lines(blocks)), hints={"title": title} if title else {})


# --------------------------------------------------------------------------- JSONL

_JSON_FIELDS = {
    "title": ("title", "标题", "name", "名称"),
    "content": ("content", "text", "body", "正文", "内容"),
    "date": ("date", "发布日期", "日期", "pub_date", "published"),
    "year": ("year", "年份"),
    "doc_number": ("doc_number", "文号"),
    "issuer": ("issuer", "发文机关", "发布机构", "source_org"),
    "region": ("region", "地区"),
    "kind": ("kind", "类型"),
    "id": ("id", "doc_id", "_id"),  # _id: a BEIR corpus.jsonl, so its qrels match the doc ids
    "url": ("url", "链接"),
}


def _field(obj: dict, name: str) -> str:
    for key in _JSON_FIELDS[name]:
        v = obj.get(key)
        if v not in (None, ""):
            return str(v).strip()
    return ""


def load_jsonl(source: str, text: str) -> LoadResult:
    """One document per line; title/content/date (or year) fields mapped."""
    docs: list[SourceDocument] = []
    problems: list[str] = []
    seen: set[str] = set()
    for no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            problems.append(f"第{no}行不是有效的 JSON，已跳过")
            continue
        if not isinstance(obj, dict):
            problems.append(f"第{no}行不是 JSON 对象，已跳过")
            continue
        content = _field(obj, "content")
        if not content:
            problems.append(f"第{no}行没有正文字段（content/text/正文），已跳过")
            continue
        title = _field(obj, "title")
        key = _field(obj, "id") or title or f"line{no}"
        key = re.sub(r"\s+", "", key)
        if key in seen:
            key = f"{key}-{no}"
        seen.add(key)
        date = _field(obj, "date") or _field(obj, "year")
        hints = {
            "title": title,
            "date": date,
            "doc_number": _field(obj, "doc_number"),
            "issuer": _field(obj, "issuer"),
            "region": _field(obj, "region"),
            "kind": _field(obj, "kind"),
        }
        extra: dict[str, str | float | int] = {"url": u} if (u := _field(obj, "url")) else {}
        docs.append(
            SourceDocument(
                source=source,
                key=key,
                lines=tuple(_lines(content)),
                hints={k: v for k, v in hints.items() if v},
                extra=extra,
            )
        )
    if not docs:
        raise LoadError("JSONL 文件中没有可用的记录：" + "；".join(problems[:3]))
    return LoadResult(docs, problems)


# --------------------------------------------------------------------------- CSV / XLSX records

# header aliases per field, compared after removing spaces and folding （） to ()
_RECORD_FIELDS = {
    "title": ("项目名称", "项目名", "项目", "名称", "title", "name", "project"),
    "region": ("地区", "所在地", "所在地区", "区域", "地点", "项目地点", "region"),
    "province": ("省", "省份", "province"),
    "city": ("市", "地市", "城市", "所在市", "city"),
    "county": ("县区", "区县", "县市区", "县(市、区)", "县(市)区", "县", "区", "county"),
    "industry": ("产业", "行业", "产业类别", "所属产业", "产业类型", "行业类别", "industry"),
    "stage": ("阶段", "进展", "进度", "状态", "项目阶段", "项目进展", "stage"),
    "date": ("时间", "日期", "年份", "签约时间", "date"),
    "units": ("相关单位", "企业", "企业名称", "投资方", "责任单位", "单位", "units"),
    "source_doc": ("来源文件", "来源", "出处", "source", "source_doc"),
    "quote": ("原文", "原文摘录", "quote"),
}
# 投资额（亿元）, 总投资(万元), 计划总投资, 投资金额, amount … ; the unit in the header scales the cells
_AMOUNT_HEADER = re.compile(r"(?:计划)?(?:总投资|投资)(?:额|金额|总额)?|金额|amount")
_HEADER_UNIT = re.compile(r"\((亿元|万元|亿|万)\)$")
_AMOUNT_CELL = re.compile(r"(\d+(?:\.\d+)?)\s*(亿元|万元|亿|万)?")
_REGION_PARTS = re.compile(
    r"(?P<province>.+?(?:省|自治区))?(?P<city>.+?(?:市|自治州|地区|盟|新区))?(?P<county>.+?(?:县|区|市|旗))?"
)


@dataclass(frozen=True)
class TableColumns:
    """Which column holds which record field; ``amount_per_yi`` is 1 for 亿元, 10000 for 万元."""

    fields: dict[str, int]
    amount: int | None = None
    amount_per_yi: int = 1


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes, max_bytes: int) -> list[list[str]]:
    """The first sheet's cells as text: the values Excel computed, a merged cell's value in
    every cell it covers (a project name merged over three rows names all three), and for a
    formula saved without its computed value (files written by scripts) the value of a plain
    arithmetic formula ("=1+2" → "3") or else the formula itself ("=SUM(D2:D4)"), which the
    ledger reports as not a number."""
    _check_zip(data, max_bytes, "XLSX")
    import openpyxl

    try:
        values = openpyxl.load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
        formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False).worksheets[0]
    except Exception as e:
        raise LoadError("XLSX 文件已损坏，无法解析") from e
    grid = [list(row) for row in values.iter_rows(values_only=True)]
    for r, row in enumerate(formulas.iter_rows(values_only=True)):
        for c, raw in enumerate(row):
            if r < len(grid) and c < len(grid[r]) and grid[r][c] is None and isinstance(raw, str) and raw.startswith("="):
                number = arithmetic(raw[1:])
                grid[r][c] = f"{number:g}" if number is not None else raw
    for merged in values.merged_cells.ranges:
        top = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = top
    return [[_cell(v) for v in row] for row in grid]


def arithmetic(expr: str) -> float | None:
    """The value of a formula made only of numbers, + - * / and brackets; None for anything else.

    arithmetic("1+2") → 3.0; arithmetic("(10+20)/2") → 15.0; arithmetic("SUM(D2:D4)") → None
    """
    import ast
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return float(ops[type(node.op)](value(node.left), value(node.right)))
        raise ValueError(expr)

    if len(expr) > 200:
        return None
    try:
        return value(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _cell(value: object) -> str:
    """An XLSX cell as text: dates without their midnight time, None as ""."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    return "" if value is None else str(value)


def _norm_header(h: str) -> str:
    return re.sub(r"\s+", "", h).replace("（", "(").replace("）", ")").lower()


def map_header(header: list[str]) -> TableColumns:
    """Column positions of the record fields (first matching column wins).

    ["项目名称", "市", "总投资（万元）"] → fields {"title": 0, "city": 1}, amount 2, amount_per_yi 10000
    """
    norm = [_norm_header(h) for h in header]
    found: dict[str, int] = {}
    for name, aliases in _RECORD_FIELDS.items():
        for alias in aliases:
            if alias in norm:
                found[name] = norm.index(alias)
                break
    for i, h in enumerate(norm):
        unit = _HEADER_UNIT.search(h)
        if _AMOUNT_HEADER.fullmatch(h[: unit.start()] if unit else h):
            return TableColumns(found, i, 10000 if unit and unit.group(1).startswith("万") else 1)
    return TableColumns(found)


def parse_amount(text: str, per_yi: int = 1) -> float | None:
    """An investment amount in 亿元, or None when the cell is not a number.

    "30" → 30.0; "5.3亿元" → 5.3; "5000万元" → 0.5; "1,200" with a 万元 header → 0.12; "约十亿" → None
    """
    m = _AMOUNT_CELL.fullmatch(text.replace(",", "").replace("，", "").strip())
    if not m:
        return None
    unit = m.group(2) or ""
    divisor = 10000 if unit.startswith("万") else 1 if unit else per_yi
    return float(Decimal(m.group(1)) / divisor)


def split_region(region: str) -> tuple[str, str, str]:
    """(province, city, county) of a place name; parts it does not show are empty.

    "焦作市山阳区" → ("", "焦作市", "山阳区"); "河北省雄安新区" → ("河北省", "雄安新区", ""); "焦作" → ("", "", "")
    """
    m = _REGION_PARTS.fullmatch(region)
    if not m:
        return "", "", ""
    return m.group("province") or "", m.group("city") or "", m.group("county") or ""


def render_record(f: dict[str, str], amount: float | None) -> str:
    """A ledger row as one readable sentence (for embedding and BM25), then its 原文 line.

    → "金刚石散热基板项目（河南省焦作市山阳区），属新材料产业，投资额30亿元，阶段：引进。\\n原文：指导山阳区…"
    """
    head = f["title"] + (f"（{f['region']}）" if f.get("region") else "")
    parts = [head]
    if industry := f.get("industry"):
        parts.append(f"属{industry}" + ("" if industry.endswith(("产业", "行业", "业")) else "产业"))
    if amount is not None:
        parts.append(f"投资额{amount:g}亿元")
    when = f.get("date", "")
    when = f"{when}年" if re.fullmatch(r"\d{4}", when) else when
    if f.get("stage"):
        parts.append(f"阶段：{f['stage']}" + (f"（{when}）" if when else ""))
    elif when:
        parts.append(f"时间：{when}")
    if f.get("units"):
        parts.append(f"相关单位：{f['units']}")
    body = "，".join(parts) + "。"
    return body + (f"\n原文：{f['quote']}" if f.get("quote") else "")


def load_table(source: str, rows: list[list[str]]) -> LoadResult:
    """Project records (an investment project ledger): one record per row.

    Chinese headers are mapped to fields (see ``_RECORD_FIELDS``; a 项目名称-like column is
    required). Each row becomes a document whose text is ``render_record`` and whose
    ``extra`` carries the structured fields: project_name, region, province, city,
    county, industry, amount_yi (absent when unknown), stage, date, units, source_doc,
    quote, row. A row without a name is skipped and a non-numeric amount is imported as
    unknown; both are reported as problems ("第5行：投资额“约十亿”不是数字，已按空值导入").
    """
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise LoadError("表格为空")
    header = [str(c).strip() for c in rows[0]]
    cols = map_header(header)
    if "title" not in cols.fields:
        raise LoadError(
            f"表格缺少必需的列“项目名称”（现有列：{'、'.join(h for h in header if h) or '无'}）。"
            "项目台账的表头应包括 项目名称、地区（或 市、县区）、产业、投资额（亿元）、阶段 等列"
        )
    docs: list[SourceDocument] = []
    problems: list[str] = []
    for no, row in enumerate(rows[1:], start=2):
        f = {name: (str(row[i]).strip() if i < len(row) else "") for name, i in cols.fields.items()}
        if not f["title"]:
            problems.append(f"第{no}行：缺少项目名称，已跳过")
            continue
        amount_text = str(row[cols.amount]).strip() if cols.amount is not None and cols.amount < len(row) else ""
        amount = parse_amount(amount_text, cols.amount_per_yi) if amount_text else None
        if amount_text.startswith("="):
            problems.append(f"第{no}行：投资额是公式“{amount_text}”，文件中没有保存计算结果"
                            "（请用 Excel 打开并保存后重新导入），已按空值导入")
        elif amount_text and amount is None:
            problems.append(f"第{no}行：投资额“{amount_text}”不是数字，已按空值导入")
        province, city, county = (f.get("province", ""), f.get("city", ""), f.get("county", ""))
        if f.get("region") and not (province or city or county):
            province, city, county = split_region(f["region"])
        f["region"] = f.get("region") or province + city + county
        extra: dict[str, str | float | int] = {"project_name": f["title"], "row": no}
        extra |= {k: v for k, v in (("province", province), ("city", city), ("county", county)) if v}
        extra |= {k: f[k] for k in ("region", "industry", "stage", "date", "units", "source_doc", "quote") if f.get(k)}
        if amount is not None:
            extra["amount_yi"] = amount
        hints = {"title": f["title"], "kind": "project_record", "region": f["region"], "date": f.get("date", "")}
        docs.append(
            SourceDocument(
                source=source,
                key=f"row{no}",
                lines=tuple(_lines(render_record(f, amount))),
                hints={k: v for k, v in hints.items() if v},
                extra=extra,
                needs_cleaning=False,
            )
        )
    if not docs:
        raise LoadError("表格中没有可用的记录：" + "；".join(problems[:3]))
    return LoadResult(docs, problems)
