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
    "id": ("id", "doc_id"),
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

_RECORD_FIELDS = {
    "title": ("项目名称", "名称", "项目", "title", "name"),
    "region": ("地区", "所在地", "区域", "县区", "县（市、区）", "region"),
    "industry": ("产业", "行业", "产业类别", "industry"),
    "amount": ("投资额（亿元）", "投资额(亿元)", "总投资（亿元）", "投资额", "总投资", "amount"),
    "stage": ("阶段", "进度", "状态", "stage"),
    "date": ("时间", "日期", "签约时间", "date"),
    "units": ("相关单位", "责任单位", "单位", "units"),
    "source_doc": ("来源文件", "来源", "source"),
    "quote": ("原文", "quote"),
}


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes, max_bytes: int) -> list[list[str]]:
    _check_zip(data, max_bytes, "XLSX")
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:
        raise LoadError("XLSX 文件已损坏，无法解析") from e
    ws = wb.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


def _map_header(header: list[str]) -> dict[str, int]:
    norm = [re.sub(r"\s+", "", h) for h in header]
    found: dict[str, int] = {}
    for name, aliases in _RECORD_FIELDS.items():
        for alias in aliases:
            if alias in norm:
                found[name] = norm.index(alias)
                break
    return found


def load_table(source: str, rows: list[list[str]]) -> LoadResult:
    """Project records: one record per row, Chinese headers mapped to fields.

    The row is rendered as a readable sentence for embedding and keyword search; the
    fields stay as structured metadata.
    """
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise LoadError("表格为空")
    header = [str(c).strip() for c in rows[0]]
    cols = _map_header(header)
    if "title" not in cols:
        raise LoadError(f"表格缺少必需的列“项目名称”（现有列：{'、'.join(h for h in header if h)}）")
    docs: list[SourceDocument] = []
    problems: list[str] = []
    for no, row in enumerate(rows[1:], start=2):
        cell = {name: (str(row[i]).strip() if i < len(row) else "") for name, i in cols.items()}
        if not cell["title"]:
            problems.append(f"第{no}行缺少项目名称，已跳过")
            continue
        extra: dict[str, str | float | int] = {}
        amount_text = cell.get("amount", "")
        if amount_text:
            try:
                extra["amount"] = float(amount_text.replace(",", "").replace("亿元", "").replace("亿", ""))
            except ValueError:
                problems.append(f"第{no}行投资额“{amount_text}”不是数字，已按空值导入")
        for name in ("industry", "stage", "units", "source_doc"):
            if cell.get(name):
                extra[name] = cell[name]
        parts = [f"项目名称：{cell['title']}"]
        labels = {"region": "地区", "industry": "产业", "stage": "阶段", "date": "时间", "units": "相关单位"}
        parts += [f"{label}：{cell[n]}" for n, label in labels.items() if cell.get(n)]
        if "amount" in extra:
            parts.append(f"投资额：{extra['amount']:g}亿元")
        body = "；".join(parts) + "。"
        if cell.get("quote"):
            body += f"\n原文：{cell['quote']}"
        hints = {"title": cell["title"], "kind": "project_record", "region": cell.get("region", ""),
                 "date": cell.get("date", "")}
        docs.append(
            SourceDocument(
                source=source,
                key=f"row{no}",
                lines=tuple(_lines(body)),
                hints={k: v for k, v in hints.items() if v},
                extra=extra,
                needs_cleaning=False,
            )
        )
    if not docs:
        raise LoadError("表格中没有可用的记录：" + "；".join(problems[:3]))
    return LoadResult(docs, problems)
