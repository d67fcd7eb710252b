"""Read files into ``SourceDocument``s: raw lines (with PDF page numbers) and format metadata.

One function per format, chosen by extension in ``load_file``. Every failure is a
``LoadError`` whose message says, in Chinese, what is wrong and what to do; a loader
never returns an empty document. Per-row problems of multi-record files (JSONL, CSV,
XLSX) are returned as ``problems`` while the good rows still load.

Scanned PDF pages (no text layer) and images are OCR'd (``ingest.ocr``; a page whose mean
confidence is below ``OcrSettings.min_confidence`` is reported and left out). OFD
(GB/T 33190) is read from its package XML. Legacy Word/WPS, RTF and ODT go through
LibreOffice (headless) into DOCX, or antiword/catdoc for plain text when LibreOffice is not
installed; a password-protected one is refused before conversion. Tables (DOCX, PDF,
XLSX/CSV without a 项目名称 column, and task tables found by their header among the positioned
text of OFD pages and OCR'd scans, ``placed_tables``) become one line per row that keeps its
column names ("牵头单位：市商务局；完成时限：2020年6月底前"), marked with the row's place
(``Line.table``). Every visible sheet of an XLSX is read.

Loaders do not clean text (``ingest.clean`` does).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingest.errors import LoadError
from ingest.ocr import (
    RENDER_DPI,
    OcrBox,
    OcrPage,
    OcrSettings,
    line_groups,
    ocr_pages,
    reading_order,
)
from ingest.records import SECTION_SEP, Line, SourceDocument

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
LEGACY_WORD = (".doc", ".wps", ".rtf", ".odt")
SUPPORTED = (
    ".txt",
    ".md",
    ".pdf",
    ".docx",
    ".html",
    ".htm",
    ".jsonl",
    ".csv",
    ".xlsx",
    ".ofd",
    *LEGACY_WORD,
    *IMAGE_SUFFIXES,
)
MAX_UNZIPPED_RATIO = 100  # zip bombs named .docx/.xlsx/.ofd
MIN_PAGE_TEXT = 10  # a PDF page with fewer visible characters in its text layer is OCR'd
CONVERT_TIMEOUT = 180  # seconds for one LibreOffice conversion


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    problems: list[str] = field(default_factory=list)


def load_file(path: Path, max_bytes: int, ocr: OcrSettings | None = None) -> LoadResult:
    """Load one file; raise ``LoadError`` when nothing usable can be read from it."""
    ocr = ocr or OcrSettings()
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
        return load_pdf(source, data, ocr)
    if suffix in IMAGE_SUFFIXES:
        return load_image(source, data, ocr)
    if suffix == ".ofd":
        return load_ofd(source, data, max_bytes, ocr)
    if suffix in LEGACY_WORD:
        return LoadResult([load_legacy_word(source, data, suffix, max_bytes)])
    if suffix == ".docx":
        return LoadResult([load_docx(source, data, max_bytes)])
    if suffix in (".html", ".htm"):
        return LoadResult([load_html(source, decode_text(data))])
    if suffix == ".jsonl":
        return load_jsonl(source, decode_text(data))
    if suffix == ".csv":
        return load_table(source, _csv_rows(decode_text(data)))
    return load_workbook(source, _xlsx_sheets(data, max_bytes))


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
            return _checked(
                data.decode("utf-16-le" if odd > even else "utf-16-be", errors="replace")
            )
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
    return SourceDocument(
        source=source, lines=tuple(_lines(text)), hints={k: v for k, v in hints.items() if v}
    )


# --------------------------------------------------------------------------- PDF


def load_pdf(source: str, data: bytes, ocr: OcrSettings | None = None) -> LoadResult:
    """Text per page via pypdf, page numbers on every line; pages without a text layer are
    rendered (pypdfium2, 200 dpi) and OCR'd; ruled tables become one line per row (pdfplumber)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    ocr = ocr or OcrSettings()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as e:  # pypdf raises several kinds here
                raise LoadError("PDF 已加密，无法读取；请提供未加密的文件") from e
            if not ok:
                raise LoadError("PDF 已加密，无法读取；请提供未加密的文件")
        texts = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.title).strip() if info and info.title else ""
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise LoadError(f"PDF 文件已损坏，无法解析（{type(e).__name__}）") from e
    except Exception as e:  # a corrupt PDF can make pypdf fail in many ways
        raise LoadError(f"PDF 文件已损坏，无法解析（{type(e).__name__}）") from e
    scanned = [
        no for no, t in enumerate(texts, start=1) if len(re.sub(r"\s", "", t)) < MIN_PAGE_TEXT
    ]
    tables = _pdf_tables(data, [no for no in range(1, len(texts) + 1) if no not in scanned])
    pages: dict[int, list[Line]] = {}
    for no, text in enumerate(texts, start=1):
        if no in tables:
            outside, rows = tables[no]
            pages[no] = _lines(outside, no) + rows
        elif no not in scanned:
            pages[no] = _lines(text, no)
    problems: list[str] = []
    confidence: dict[int, float] = {}
    if scanned:
        pdf = _open_pdfium(data)
        try:
            results = ocr_pages(source, data, scanned, lambda no: _render(pdf, no), len(texts), ocr)
        finally:
            pdf.close()
        carry: TableCarry | None = None
        for no, result in results.items():  # page order; a table may run on from the page before
            kept, carry = _ocr_page_lines(
                result, no, ocr.min_confidence, problems, carry if no - 1 in confidence else None
            )
            if kept:
                pages[no] = kept
                confidence[no] = result.confidence
    lines = [ln for no in sorted(pages) for ln in pages[no]]
    if sum(len(ln.text.strip()) for ln in lines) < MIN_PAGE_TEXT:
        if problems:
            raise LoadError("扫描件 OCR 识别结果不可信，未导入：" + "；".join(problems[:3]))
        raise LoadError("PDF 没有文字层，OCR 文字识别也未识别出文字（空白页或图片）")
    doc = SourceDocument(
        source=source,
        lines=tuple(lines),
        hints={"title": title} if title else {},
        ocr_pages=confidence,
    )
    return LoadResult([doc], problems)


def _open_pdfium(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise LoadError(f"PDF 页面无法渲染，不能进行 OCR 文字识别（{e}）") from e


def _render(pdf: Any, page: int) -> Any:
    return pdf[page - 1].render(scale=RENDER_DPI / 72).to_pil()


def _ocr_page_lines(
    result: OcrPage,
    page: int,
    min_confidence: float,
    problems: list[str],
    carry: TableCarry | None = None,
) -> tuple[list[Line], TableCarry | None]:
    """An OCR'd page's lines, or none (and a problem) when it holds no text or is not trustworthy;
    and a task table left open at its foot (``placed_lines``; ``carry``: one from the page before)."""
    if not result.chars:
        problems.append(f"第{page}页未识别出文字（空白页或图片），已跳过")
        return [], None
    if result.confidence < min_confidence:
        problems.append(
            f"第{page}页 OCR 识别置信度过低（{result.confidence:.0%}，低于 {min_confidence:.0%}），该页未导入；"
            "请提供更清晰的扫描件或原件"
        )
        return [], None
    return placed_lines(
        result.boxes,
        page,
        lambda boxes: [Line(t, page) for t in reading_order(boxes, result.width)],
        carry,
    )


def _pdf_tables(data: bytes, pages: Sequence[int]) -> dict[int, tuple[str, list[Line]]]:
    """Pages with ruled tables: (the page's text outside its tables, one line per table row).

    A table continued on the next page without a header row keeps the previous header.
    """
    import pdfplumber

    out: dict[int, tuple[str, list[Line]]] = {}
    if not pages:
        return out
    previous: list[str] | None = None
    n_tables = 0
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for no in pages:
                page = pdf.pages[no - 1]
                if not (page.rects or page.lines):
                    continue
                found = [t for t in page.find_tables() if len(t.rows) >= 2]
                if not found:
                    continue
                boxes = [t.bbox for t in found]

                def outside(obj: dict, boxes: list = boxes) -> bool:
                    if "x0" not in obj or "top" not in obj:
                        return True
                    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
                    return not any(
                        x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes
                    )

                text = page.filter(outside).extract_text() or ""
                rows: list[Line] = []
                for t in found:
                    above = (
                        page.crop((0, 0, page.width, max(t.bbox[1], 1)))
                        .filter(outside)
                        .extract_text()
                        or ""
                    )
                    n_tables += 1
                    caption = table_caption(above.splitlines()) or f"表格{n_tables}"
                    table_rows, previous = table_lines(t.extract(), caption, no, previous)
                    rows.extend(table_rows)
                out[no] = (text, rows)
    except Exception as e:  # tables are a bonus: the page text from pypdf stays
        log.warning("table extraction failed for a PDF (%s); text only", e)
        return {}
    return out


# --------------------------------------------------------------------------- images (OCR)


def load_image(source: str, data: bytes, ocr: OcrSettings | None = None) -> LoadResult:
    """A photo or scan (PNG, JPEG, TIFF) OCR'd as one page (each frame of a multi-page TIFF a page)."""
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    ocr = ocr or OcrSettings()
    try:
        img = Image.open(io.BytesIO(data))
        frames = [ImageOps.exif_transpose(f.copy()) for f in ImageSequence.Iterator(img)]
    except Image.DecompressionBombError as e:
        raise LoadError("图片尺寸过大（像素数超过上限），疑似异常文件，已拒绝") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise LoadError("图片无法读取：文件已损坏或不是 PNG/JPEG/TIFF 图片") from e
    problems: list[str] = []
    results = ocr_pages(
        source, data, range(1, len(frames) + 1), lambda no: frames[no - 1], len(frames), ocr
    )
    lines: list[Line] = []
    confidence: dict[int, float] = {}
    carry: TableCarry | None = None
    for no, result in results.items():
        kept, carry = _ocr_page_lines(
            result, no, ocr.min_confidence, problems, carry if no - 1 in confidence else None
        )
        if kept:
            lines.extend(kept)
            confidence[no] = result.confidence
    if not lines:
        if any("置信度" in p for p in problems):
            raise LoadError(
                "图片 OCR 识别置信度过低，未导入（文字模糊、倾斜或光线不足）；请提供更清晰的照片或扫描件"
            )
        raise LoadError("图片中未识别出文字")
    return LoadResult(
        [SourceDocument(source=source, lines=tuple(lines), ocr_pages=confidence)],
        [p for p in problems if len(frames) > 1],
    )


# --------------------------------------------------------------------------- OFD (GB/T 33190)

_OFD_NS = "{http://www.ofdspec.org/2016}"


def _xml(zf: zipfile.ZipFile, name: str) -> Any:
    from xml.etree import ElementTree as ET

    try:
        return ET.fromstring(zf.read(name.lstrip("/")))
    except KeyError as e:
        raise LoadError(f"OFD 文件不完整：缺少 {name}") from e
    except ET.ParseError as e:
        raise LoadError(f"OFD 文件已损坏：{name} 不是有效的 XML") from e


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el: Any, name: str) -> Any:
    return next((c for c in el.iter() if _local(c.tag) == name), None)


def _resolve(base: str, loc: str) -> str:
    """An OFD BaseLoc: absolute from the package root ("/Doc_0/…") or relative to ``base``'s folder."""
    loc = loc.strip()
    if loc.startswith("/"):
        return loc.lstrip("/")
    folder = base.rsplit("/", 1)[0] + "/" if "/" in base else ""
    parts: list[str] = []
    for part in (folder + loc).split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


def _ofd_text_items(page: Any) -> list[tuple[float, float, float, str]]:
    """(y, x, font size, text) of every TextCode on a page (Boundary origin + TextCode X/Y, mm)."""
    items = []
    for obj in page.iter():
        if _local(obj.tag) != "TextObject":
            continue
        try:
            bx, by, *_ = (float(v) for v in (obj.get("Boundary") or "0 0 0 0").split())
            size = float(obj.get("Size") or 3.5)
        except ValueError:
            continue
        for code in obj:
            if _local(code.tag) != "TextCode" or not (code.text or "").strip():
                continue
            try:
                x, y = float(code.get("X") or 0), float(code.get("Y") or 0)
            except ValueError:
                x = y = 0.0
            items.append((by + y, bx + x, size, code.text))
    return items


def _ofd_box(item: tuple[float, float, float, str]) -> OcrBox:
    """A TextCode (baseline y, x, font size, text) as a box for ``placed_lines``: CJK glyphs one em
    wide, ASCII (the digits of a date) half an em."""
    y, x, size, text = item
    ems = sum(0.5 if ch.isascii() else 1.0 for ch in text)
    return OcrBox(text, 1.0, x, y - size, x + ems * size, y)


def _ofd_item(box: OcrBox) -> tuple[float, float, float, str]:
    return box.y1, box.x0, box.y1 - box.y0, box.text


def _ofd_text_lines(page: int) -> Callable[[list[OcrBox]], list[Line]]:
    return lambda boxes: _ofd_lines([_ofd_item(b) for b in boxes], page)


def _ofd_lines(items: list[tuple[float, float, float, str]], page: int) -> list[Line]:
    """Text items grouped into lines by baseline (within half a font size), read left to right;
    a gap wider than two characters (table cells, a signature block) stays as two spaces."""
    out: list[Line] = []
    row: list[tuple[float, float, float, str]] = []

    def flush() -> None:
        if not row:
            return
        row.sort(key=lambda it: it[1])
        text = row[0][3]
        end = row[0][1] + len(row[0][3]) * row[0][2]
        for _, x, size, t in row[1:]:
            text += ("  " if x - end > 2 * size else "") + t
            end = x + len(t) * size
        out.append(Line(text, page))
        row.clear()

    for it in sorted(items):
        if row and abs(it[0] - row[0][0]) > row[0][2] / 2:
            flush()
        row.append(it)
    flush()
    return out


def load_ofd(
    source: str, data: bytes, max_bytes: int, ocr: OcrSettings | None = None
) -> LoadResult:
    """An OFD package: the text of each page (its template's too) in reading order, page
    numbers, and DocInfo's Title and CustomData (文号 / 发文机关) as metadata hints.

    Pages without text but with an image (a scanned OFD) are OCR'd.
    """
    _check_zip(data, max_bytes, "OFD")
    ocr = ocr or OcrSettings()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        if any(n.lower().endswith("encrypt.xml") or "encryptions" in n.lower() for n in names):
            raise LoadError("OFD 文件已加密，无法读取；请提供未加密的文件")
        body, doc_path = _ofd_doc_root(zf)
        document = _xml(zf, doc_path)
        hints = _ofd_hints(body)
        templates = {
            t.get("ID"): _resolve(doc_path, t.get("BaseLoc") or "")
            for t in document.iter()
            if _local(t.tag) == "TemplatePage"
        }
        media = _ofd_media(zf, doc_path, document)
        page_locs = _ofd_page_locs(doc_path, document)
        lines, scanned = _ofd_text_pages(zf, page_locs, templates, media)
        problems: list[str] = []
        confidence: dict[int, float] = {}
        if scanned:
            _ofd_ocr_pages(
                zf, source, data, scanned, len(page_locs), ocr, lines, problems, confidence
            )
    if not any(ln.text.strip() for ln in lines):
        raise LoadError(
            "OFD 文件没有文字内容" + ("：" + "；".join(problems[:3]) if problems else "")
        )
    return LoadResult(
        [SourceDocument(source=source, lines=tuple(lines), hints=hints, ocr_pages=confidence)],
        problems,
    )


def _ofd_doc_root(zf: zipfile.ZipFile) -> tuple[Any, str]:
    """OFD.xml's DocBody element and the path of its document's Document.xml."""
    root = _xml(zf, "OFD.xml")
    body = _find(root, "DocBody")
    doc_root = _find(body, "DocRoot") if body is not None else None
    if doc_root is None or not (doc_root.text or "").strip():
        raise LoadError("OFD 文件已损坏：OFD.xml 中没有 DocRoot")
    return body, _resolve("", doc_root.text)


def _ofd_hints(body: Any) -> dict[str, str]:
    """Metadata hints from DocInfo: Title, and CustomData named 文号 / 发文机关 (or English names).

    <DocInfo><Title>关于…的通知</Title><CustomDatas><CustomData Name="文号">国发〔2024〕1号
    </CustomData></CustomDatas></DocInfo> → {"title": "关于…的通知", "doc_number": "国发〔2024〕1号"}
    """
    hints: dict[str, str] = {}
    info = _find(body, "DocInfo")
    if info is not None:
        title = _find(info, "Title")
        if title is not None and (title.text or "").strip():
            hints["title"] = title.text.strip()
        for custom in info.iter():
            name = (custom.get("Name") or "").strip() if _local(custom.tag) == "CustomData" else ""
            value = (custom.text or "").strip()
            if name in ("文号", "发文字号", "DocNumber", "docNumber", "doc_number") and value:
                hints["doc_number"] = value
            elif name in ("发文机关", "发文单位", "Issuer", "issuer") and value:
                hints["issuer"] = value
    return hints


def _ofd_page_locs(doc_path: str, document: Any) -> list[str]:
    """The package paths of the document's pages, in order; an OFD without pages is an error."""
    pages_el = _find(document, "Pages")
    page_locs = [
        _resolve(doc_path, p.get("BaseLoc") or "")
        for p in (pages_el if pages_el is not None else [])
        if _local(p.tag) == "Page"
    ]
    if not page_locs:
        raise LoadError("OFD 文件没有页面")
    return page_locs


def _ofd_text_pages(
    zf: zipfile.ZipFile, page_locs: list[str], templates: dict[Any, str], media: dict[str, str]
) -> tuple[list[Line], dict[int, str]]:
    """The lines of the pages with text (their templates' text too), and for each page without
    text but with an image, the package path of its first image (page number → path)."""
    lines: list[Line] = []
    scanned: dict[int, str] = {}
    carry: TableCarry | None = None  # a table running on from the text page before
    for no, loc in enumerate(page_locs, start=1):
        page = _xml(zf, loc)
        items = _ofd_text_items(page)
        for ref in page.iter():
            if _local(ref.tag) == "Template" and ref.get("TemplateID") in templates:
                items += _ofd_text_items(_xml(zf, templates[ref.get("TemplateID")]))
        if items:
            kept, carry = placed_lines(
                [_ofd_box(it) for it in items],
                no,
                _ofd_text_lines(no),
                carry if lines and lines[-1].page == no - 1 else None,
            )
            lines.extend(kept)
            continue
        carry = None
        images = [
            media[i.get("ResourceID")]
            for i in page.iter()
            if _local(i.tag) == "ImageObject" and i.get("ResourceID") in media
        ]
        if images:
            scanned[no] = images[0]
    return lines, scanned


def _ofd_ocr_pages(
    zf: zipfile.ZipFile,
    source: str,
    data: bytes,
    scanned: dict[int, str],
    n_pages: int,
    ocr: OcrSettings,
    lines: list[Line],
    problems: list[str],
    confidence: dict[int, float],
) -> None:
    """OCR the scanned pages' images and merge their lines into ``lines`` in page order;
    fills ``problems`` and ``confidence`` (page → OCR confidence) in place."""
    from PIL import Image

    def render(no: int) -> Any:
        try:
            return Image.open(io.BytesIO(zf.read(scanned[no])))
        except Exception as e:
            raise LoadError(f"OFD 第{no}页的图片无法读取") from e

    results = ocr_pages(source, data, sorted(scanned), render, n_pages, ocr)
    carry: TableCarry | None = None
    for no, result in results.items():
        kept, carry = _ocr_page_lines(
            result,
            no,
            ocr.min_confidence,
            problems,
            carry if no - 1 in confidence else None,
        )
        if kept:
            lines.extend(kept)
            confidence[no] = result.confidence
    lines.sort(key=lambda ln: ln.page or 0)  # stable: each page keeps its line order


def _ofd_media(zf: zipfile.ZipFile, doc_path: str, document: Any) -> dict[str, str]:
    """Image resource ID → file in the package, from the document's DocumentRes/PublicRes."""
    out: dict[str, str] = {}
    for res in document.iter():
        if _local(res.tag) not in ("DocumentRes", "PublicRes") or not (res.text or "").strip():
            continue
        res_path = _resolve(doc_path, res.text)
        if res_path not in zf.namelist():
            continue
        tree = _xml(zf, res_path)
        base = tree.get("BaseLoc") or ""
        for mm in tree.iter():
            if _local(mm.tag) == "MultiMedia":
                f = _find(mm, "MediaFile")
                if f is not None and f.text:
                    folder = _resolve(res_path, base + "/") if base else res_path.rsplit("/", 1)[0]
                    out[mm.get("ID") or ""] = _resolve(folder + "/x", f.text.strip())
    return out


# --------------------------------------------------------------------------- legacy Word / WPS / RTF / ODT

_SOFFICE_LOCK = threading.Lock()


def load_legacy_word(source: str, data: bytes, suffix: str, max_bytes: int) -> SourceDocument:
    """.doc/.wps/.rtf/.odt: LibreOffice (headless) converts to DOCX, read like any DOCX (tables
    included); without LibreOffice, antiword or catdoc give the text of .doc/.wps. A file
    saved with a password (``encrypted_office``) is refused before any converter runs."""
    if encrypted_office(data, suffix):
        raise LoadError(
            f"{suffix} 文件已加密（设置了打开密码），无法读取；请在 WPS/Word 中取消密码后另存，"
            "或提供未加密的文件"
        )
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        return load_docx(
            source, _soffice_to_docx(soffice, data, suffix), max(max_bytes, len(data) * 10)
        )
    plain = (
        [t for t in ("antiword", "catdoc") if shutil.which(t)] if suffix in (".doc", ".wps") else []
    )
    for tool in plain:
        args = [tool, "-w", "0"] if tool == "antiword" else [tool, "-w", "-d", "utf-8"]
        try:
            done = subprocess.run(
                [*args, "-"] if tool == "catdoc" else [*args, "/dev/stdin"],
                input=data,
                capture_output=True,
                timeout=CONVERT_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            continue
        text = done.stdout.decode("utf-8", errors="replace")
        if done.returncode == 0 and text.strip():
            return _text_document(source, _checked(text))
    if plain:
        raise LoadError(f"{suffix} 文件无法转换（文件已损坏、已加密或不是 Word/WPS 文档）")
    raise LoadError(
        f"缺少文档转换工具，无法读取 {suffix} 文件：请安装 LibreOffice（make converters，"
        "或 apt-get install libreoffice-writer-nogui）后重新导入，或另存为 DOCX/PDF 再上传"
    )


def _cfb_entries(data: bytes) -> dict[str, tuple[int, int]]:
    """The streams of an OLE2 compound file (a Word 97 .doc/.wps, an encrypted Office file):
    name → (offset of its first sector in ``data``, stream size). Only the first sector is
    located, and only for streams in regular sectors (a stream under 4096 bytes lives in the
    mini stream: offset -1). Empty when ``data`` is not a compound file."""
    import struct

    if not data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") or len(data) < 512:
        return {}
    size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    if size not in (512, 4096):
        return {}

    def sector(n: int) -> bytes:
        return data[(n + 1) * size : (n + 2) * size]

    cutoff = struct.unpack_from("<I", data, 0x38)[0]
    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < 0xFFFFFFFA]
    difat, seen = struct.unpack_from("<I", data, 0x44)[0], 0
    while difat < 0xFFFFFFFA and seen < 10_000:
        block = sector(difat)
        if len(block) < size:
            return {}
        *entries, difat = struct.unpack_from(f"<{size // 4}I", block)
        fat_sectors += [n for n in entries if n < 0xFFFFFFFA]
        seen += 1
    fat = b"".join(sector(n) for n in fat_sectors)
    out: dict[str, tuple[int, int]] = {}
    n, hops = struct.unpack_from("<I", data, 0x30)[0], 0
    while n < 0xFFFFFFFA and hops < 10_000 and (n + 2) * size <= len(data):
        block = sector(n)
        for i in range(0, size, 128):
            name_len, kind = struct.unpack_from("<HB", block, i + 64)
            if kind == 2 and 2 <= name_len <= 64:  # a stream
                name = block[i : i + name_len - 2].decode("utf-16-le", errors="replace")
                start, length = struct.unpack_from("<II", block, i + 116)
                out[name] = ((start + 1) * size if length >= cutoff else -1, length)
        if 4 * n + 4 > len(fat):
            break
        n, hops = struct.unpack_from("<I", fat, 4 * n)[0], hops + 1
    return out


def encrypted_office(data: bytes, suffix: str) -> bool:
    """Whether a legacy Word/WPS or ODT file (or an Office file saved with a password, which is
    an OLE2 file whatever its name) is encrypted: the Word 97 FIB's fEncrypted bit (0x0100 of
    the flags at byte 10 of the WordDocument stream), an ``EncryptedPackage`` stream, or an
    ODT manifest with ``encryption-data``.
    """
    streams = _cfb_entries(data)
    if "EncryptedPackage" in streams:
        return True
    word = streams.get("WordDocument")
    if word and word[0] >= 0 and word[0] + 12 <= len(data):
        return bool(int.from_bytes(data[word[0] + 10 : word[0] + 12], "little") & 0x0100)
    if suffix == ".odt" and data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return b"encryption-data" in zf.read("META-INF/manifest.xml")
        except (zipfile.BadZipFile, KeyError, OSError):
            return False
    return False


def _soffice_to_docx(soffice: str, data: bytes, suffix: str) -> bytes:
    """Convert with ``soffice --headless --convert-to docx`` in a private folder and profile."""
    with _SOFFICE_LOCK, tempfile.TemporaryDirectory(prefix="policyqa-convert-") as tmp:
        src = Path(tmp) / f"input{suffix}"
        src.write_bytes(data)
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation=file://{tmp}/profile",
            "--convert-to",
            "docx",
            "--outdir",
            tmp,
            str(src),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, timeout=CONVERT_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as e:
            raise LoadError(
                f"{suffix} 文件转换超时（{CONVERT_TIMEOUT} 秒），文件可能已损坏或已加密"
            ) from e
        out = Path(tmp) / "input.docx"
        if not out.is_file() or out.stat().st_size == 0:
            log.info(
                "soffice failed on %s: %s", suffix, done.stderr.decode(errors="replace")[-300:]
            )
            raise LoadError(f"{suffix} 文件无法转换（文件已损坏、已加密或不是 Word/WPS 文档）")
        return out.read_bytes()


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
    """Paragraphs and tables in body order; headings get markdown marks, tables one line per row."""
    _check_zip(data, max_bytes, "DOCX")
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise LoadError("DOCX 文件已损坏，无法解析") from e
    lines: list[Line] = []
    header: list[str] | None = None
    n_tables = 0
    for el in d.element.body.iterchildren():
        if el.tag == qn("w:p"):
            para = DocxParagraph(el, d)
            style = (para.style.name or "") if para.style is not None else ""
            text = para.text
            m = re.match(r"Heading (\d)", style)
            if m and text.strip() and not re.match(r"^[一二三四五六七八九十（(\d第]", text.strip()):
                text = "#" * int(m.group(1)) + " " + text
            lines.append(Line(text))
            lines.append(Line(""))
        elif el.tag == qn("w:tbl"):
            rows = _docx_table_rows(Table(el, d))
            n_tables += 1
            caption = table_caption([ln.text for ln in lines[-8:]]) or f"表格{n_tables}"
            table_rows, header = table_lines(rows, caption, None, header)
            lines.extend(table_rows)
    if not any(ln.text.strip() for ln in lines):
        raise LoadError("DOCX 文件没有文字内容")
    title = (d.core_properties.title or "").strip()
    return SourceDocument(
        source=source, lines=tuple(lines), hints={"title": title} if title else {}
    )


def _docx_table_rows(table: Any) -> list[list[str | None]]:
    """Cell texts per row; a cell merged across columns counts once, one merged down the rows
    (a 牵头单位 spanning several tasks) is repeated on each row."""
    out: list[list[str | None]] = []
    for row in table.rows:
        cells: list[str | None] = []
        seen: list[Any] = []
        for cell in row.cells:
            if seen and cell._tc is seen[-1]:
                continue
            seen.append(cell._tc)
            cells.append(cell.text)
        out.append(cells)
    return out


# --------------------------------------------------------------------------- tables (any format)

# header aliases of a task table (分工表), compared like the ledger's (``map_header``)
_TABLE_FIELDS = {
    "seq": ("序号", "编号", "序"),
    "task": (
        "任务",
        "重点任务",
        "主要任务",
        "工作任务",
        "任务内容",
        "工作内容",
        "工作事项",
        "事项",
        "具体任务",
        "工作措施",
        "主要内容",
        "内容",
        "政策措施",
        "措施",
    ),
    "lead": ("牵头单位", "牵头部门", "牵头领导", "责任领导", "主责单位", "主管部门"),
    "units": ("责任单位", "配合单位", "参与单位", "协办单位", "责任部门", "配合部门"),
    "deadline": ("完成时限", "完成时间", "时间节点", "时限", "时限要求", "进度安排", "完成期限"),
}
_CAPTION = re.compile(r"表(?:[（(][^）)]*[）)])?$")


def table_caption(before: Sequence[str]) -> str:
    """The caption of a table from the lines before it: the nearest short line ending in 表,
    with a 附件 line just above it joined on.

    ["附件", "重点任务分工表"] → "附件 重点任务分工表"; ["……的通知。"] → ""
    """
    texts = [re.sub(r"\s+", "", t.lstrip("#")) for t in before if t.strip()]
    for i in range(len(texts) - 1, max(len(texts) - 4, -1), -1):
        t = texts[i]
        if len(t) <= 40 and _CAPTION.search(t):
            if i > 0 and re.fullmatch(r"附件\d*[：:]?", texts[i - 1]):
                return f"{texts[i - 1].rstrip('：:')} {t}"
            return t
    return ""


def _cell_text(value: str | None) -> str:
    """A cell's text on one line: "市商务\n局" → "市商务局" (wraps inside a cell are layout)."""
    if value is None:
        return ""
    parts = [p.strip() for p in str(value).splitlines() if p.strip()]
    out = ""
    for p in parts:
        out = (
            f"{out} {p}"
            if out and out[-1].isascii() and p[0].isascii() and out[-1].isalnum()
            else out + p
        )
    return out


def _looks_like_header(cells: Sequence[str]) -> bool:
    """A header row: mapped task-table names (序号/任务/牵头单位…), or only short labels."""
    filled = [c for c in cells if c]
    if len(filled) < 2:
        return False
    if map_header(list(cells), _TABLE_FIELDS).fields:
        return True
    return all(
        len(c) <= 12 and not re.search(r"\d", c) and not re.search(r"[。；，]", c) for c in filled
    )


def render_row(header: Sequence[str], cells: Sequence[str]) -> str:
    """One table row as text that keeps its column names (empty cells left out).

    (["序号", "任务", "牵头单位"], ["1", "建立招商台账", "市商务局"]) → "序号：1；任务：建立招商台账；牵头单位：市商务局。"
    """
    parts = [f"{h}：{c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    return "；".join(parts) + "。" if parts else ""


def table_lines(
    rows: Sequence[Sequence[str | None]],
    caption: str,
    page: int | None,
    previous_header: list[str] | None = None,
    first_row_no: int = 1,
) -> tuple[list[Line], list[str] | None]:
    """A table's rows as lines "列名：值；…" marked with their place ("重点任务分工表 › 第3行").

    The first row is the header unless it looks like data and ``previous_header`` (the header
    of the table just before, continued across a page) has as many columns. Empty cells of a
    merged-down column (``None``) take the value above; a repeated header row is dropped. A
    table of one column or one row is layout, not data: its cells come back as plain lines.
    Rows are numbered from ``first_row_no`` (data rows; a spreadsheet passes its own row numbers).
    Returns the lines and the header used.
    """
    grid = [[_cell_text(c) if c is not None else None for c in row] for row in rows]
    grid = [r for r in grid if any(r)]
    width = max((len(r) for r in grid), default=0)
    if width < 2 or len(grid) < 2 and not previous_header:
        return [Line(c, page) for r in grid for c in r if c], previous_header
    first = [c or "" for c in grid[0]]
    if _looks_like_header(first) or not previous_header or len(previous_header) != len(first):
        header, body = first, grid[1:]
    else:
        header, body = previous_header, grid
    lines: list[Line] = []
    above: list[str] = [""] * width
    n = first_row_no - 1
    for row in body:
        cells = [(above[i] if c is None and i < len(above) else c or "") for i, c in enumerate(row)]
        above = cells + above[len(cells) :]
        if cells == header:
            continue
        text = render_row(header, cells)
        n += 1
        if text:
            lines.append(Line(text, page, f"{caption}{SECTION_SEP}第{n}行"))
    return lines, header


# ------------------------------------------------------------------ tables from positioned text (OFD, OCR)


@dataclass(frozen=True)
class PlacedTable:
    """A task table found among positioned text: its vertical extent on the page and its cell
    texts, header row first (cells wrapped over several lines joined with "\\n")."""

    top: float
    bottom: float
    rows: list[list[str]]
    header: tuple[OcrBox, ...] = ()  # the cells that gave the columns
    continued: bool = False  # the rest of a table from the previous page: rows without a header
    end: int = 0  # index of the first line after the table
    to_foot: bool = False  # the table runs to the page's foot


def _placed_cells(line: Sequence[OcrBox]) -> list[OcrBox]:
    """The boxes of one text line merged into cells: boxes less than 0.6 line heights apart are
    one cell (a run split by the writer or the detector), wider gaps separate cells."""
    cells: list[OcrBox] = []
    for b in sorted(line, key=lambda b: b.x0):
        if not b.text.strip():
            continue
        if cells and b.x0 - cells[-1].x1 < 0.6 * max(b.y1 - b.y0, 1.0):
            c = cells[-1]
            cells[-1] = OcrBox(
                c.text + b.text.strip(),
                min(c.confidence, b.confidence),
                c.x0,
                min(c.y0, b.y0),
                max(c.x1, b.x1),
                max(c.y1, b.y1),
            )
        else:
            cells.append(OcrBox(b.text.strip(), b.confidence, b.x0, b.y0, b.x1, b.y1))
    return cells


def _column_bounds(header: Sequence[OcrBox], lines: Sequence[Sequence[OcrBox]]) -> list[float]:
    """x of the border between neighbouring header columns: the middle of the widest stretch
    between the two header cells that no cell of the table's lines covers (a centred header
    over left-aligned cells still finds the ruling), or the middle between the headers."""
    covered = [(c.x0, c.x1) for line in lines for c in line]
    bounds = []
    for left, right in zip(header, header[1:], strict=False):
        lo, hi = left.x1, max(right.x0, left.x1)
        spans = sorted((max(a, lo), min(b, hi)) for a, b in covered if b > lo and a < hi)
        best, at = 0.0, (lo + hi) / 2
        x = lo
        for a, b in [*spans, (hi, hi)]:
            if a - x > best:
                best, at = a - x, (x + a) / 2
            x = max(x, b)
        bounds.append(at)
    return bounds


def placed_tables(
    lines: Sequence[Sequence[OcrBox]], carried: Sequence[OcrBox] = ()
) -> list[PlacedTable]:
    """Task tables (分工表) among the text lines of a page whose text has positions (an OFD
    page, an OCR'd scan), lines top to bottom, boxes left to right.

    A table starts at a line whose cells are a task table's header (two or more of
    序号/任务/牵头单位/责任单位/完成时限 and their aliases, mapped by ``map_header``); the header
    cells give the columns. Each later line's cells go to the column they overlap most; a line
    with text in the 序号 column (else the first column) starts a row, the others continue it
    (a cell wrapped over lines). The table ends at a gap of more than 2.5 line heights, at a
    line wider than the table, or at one cell spanning half the table (a paragraph).
    ``carried`` is the header of a table that ran to the foot of the previous page: when this
    page's first line is not a header but fits those columns, the page opens with the table's
    continuation (``PlacedTable.continued``, rows without a header).

    [序号 | 重点任务 | 牵头单位], [1 | 编制招商 | 市商务局], [   | 图谱     |         ]
    → rows [["序号", "重点任务", "牵头单位"], ["1", "编制招商\\n图谱", "市商务局"]]
    """
    grid = [_placed_cells(line) for line in lines]
    out: list[PlacedTable] = []
    if carried and grid and len(grid[0]) >= 2 and not _is_task_header(grid[0]):
        if (found := _placed_table(grid, 0, list(carried))) is not None:
            out.append(found)
    i = out[-1].end if out else 0
    while i < len(grid):
        if not _is_task_header(grid[i]) or (found := _placed_table(grid, i + 1, grid[i])) is None:
            i += 1
            continue
        out.append(found)
        i = found.end
    return out


def _is_task_header(cells: Sequence[OcrBox]) -> bool:
    return len(cells) >= 2 and len(map_header([c.text for c in cells], _TABLE_FIELDS).fields) >= 2


def _placed_table(grid: list[list[OcrBox]], start: int, header: list[OcrBox]) -> PlacedTable | None:
    """The table under ``header`` whose data lines begin at ``grid[start]`` (see ``placed_tables``);
    the header is the line before ``start`` unless it was carried from the previous page."""
    continued = start == 0 or grid[start - 1] is not header
    left, right = header[0].x0, header[-1].x1
    width = right - left
    height = statistics.median(c.y1 - c.y0 for c in header)
    end, bottom = start, None if continued else max(c.y1 for c in header)
    while end < len(grid):
        cells = grid[end]
        if (
            not cells
            or (bottom is not None and cells[0].y0 - bottom > 2.5 * height)
            or min(c.x0 for c in cells) < left - max(3 * height, 0.15 * width)
            or max(c.x1 for c in cells) > right + max(3 * height, 0.15 * width)
            or (len(cells) == 1 and cells[0].x1 - cells[0].x0 > 0.5 * width)
        ):
            break
        bottom = max(bottom or 0.0, max(c.y1 for c in cells))
        end += 1
    if end == start or bottom is None:
        return None
    bounds = [-float("inf"), *_column_bounds(header, [header, *grid[start:end]]), float("inf")]
    key = map_header([c.text for c in header], _TABLE_FIELDS).fields.get("seq", 0)
    rows: list[list[list[str]]] = []
    for cells in grid[start:end]:
        row: list[list[str]] = [[] for _ in header]
        for c in cells:
            overlap = [
                min(c.x1, hi) - max(c.x0, lo) for lo, hi in zip(bounds, bounds[1:], strict=False)
            ]
            row[overlap.index(max(overlap))].append(c.text)
        if row[key] or not rows:
            rows.append(row)
        else:
            for have, more in zip(rows[-1], row, strict=True):
                have.extend(more)
    if continued and not any(row[key] for row in rows):
        return None  # not a row of the carried table: text that happens to sit in its columns
    body = [["\n".join(parts) for parts in row] for row in rows]
    top = min(c.y0 for c in (grid[start] if continued else header))
    # at the foot: nothing below but a page number ("— 2 —")
    to_foot = all(len("".join(c.text for c in line)) <= 8 for line in grid[end:])
    return PlacedTable(
        top,
        bottom,
        body if continued else [[c.text for c in header], *body],
        tuple(header),
        continued,
        end,
        to_foot,
    )


@dataclass(frozen=True)
class TableCarry:
    """A task table that ran to the foot of a page: its header cells (the columns), its header
    texts, caption and the number of rows so far, for its continuation on the next page."""

    header: tuple[OcrBox, ...]
    caption: str
    rows: int


def placed_lines(
    boxes: Sequence[OcrBox],
    page: int | None,
    text_lines: Callable[[list[OcrBox]], list[Line]],
    carry: TableCarry | None = None,
) -> tuple[list[Line], TableCarry | None]:
    """A page of positioned text as lines: its task tables (``placed_tables``) one line per row
    through ``table_lines`` (captioned by the short line ending in 表 above, cited to the row),
    the text around them through ``text_lines`` (the format's own reading order). ``carry`` is
    a table left open at the foot of the previous page: a continuation keeps its caption, header
    and row numbers. Returns the lines and the table left open at the foot of this page, if any."""
    lines: list[Line] = []
    rest = list(boxes)
    out: TableCarry | None = None
    for n, table in enumerate(
        placed_tables(line_groups(boxes), carry.header if carry else ()), start=1
    ):
        lines += text_lines([b for b in rest if (b.y0 + b.y1) / 2 < table.top])
        if table.continued and carry:
            caption, first, header = carry.caption, carry.rows + 1, [b.text for b in carry.header]
        else:
            caption, first, header = (
                table_caption([ln.text for ln in lines[-8:]]) or f"表格{n}",
                1,
                None,
            )
        rows = table_lines(table.rows, caption, page, header, first_row_no=first)[0]
        lines += rows
        rest = [b for b in rest if (b.y0 + b.y1) / 2 > table.bottom]
        out = TableCarry(table.header, caption, first - 1 + len(rows)) if table.to_foot else None
    return lines + text_lines(rest), out


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
    for block in body.find_all(
        [
            "p",
            "div",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "section",
            "article",
            "blockquote",
            "pre",
            "table",
        ]
    ):
        block.insert_before("\n")
        block.append("\n")
    blocks = body.get_text("")
    if not blocks.strip():
        raise LoadError("HTML 文件没有正文文字")
    return SourceDocument(
        source=source, lines=tuple(_lines(blocks)), hints={"title": title} if title else {}
    )


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


def _xlsx_sheets(data: bytes, max_bytes: int) -> list[tuple[str, list[list[str]]]]:
    """Every visible worksheet of a workbook, in tab order: its name and its cells as text
    (``_sheet_rows``). Hidden sheets (lookup lists behind drop-downs) are not read."""
    _check_zip(data, max_bytes, "XLSX")
    import openpyxl

    try:
        values = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    except Exception as e:
        raise LoadError("XLSX 文件已损坏，无法解析") from e
    sheets = [
        (v.title, _sheet_rows(v, f))
        for v, f in zip(values.worksheets, formulas.worksheets, strict=True)
        if v.sheet_state == "visible"
    ]
    if not sheets:
        raise LoadError("XLSX 文件没有可见的工作表")
    return sheets


def _sheet_rows(values: Any, formulas: Any) -> list[list[str]]:
    """A sheet's cells as text: the values Excel computed, a merged cell's value in
    every cell it covers (a project name merged over three rows names all three), and for a
    formula saved without its computed value (files written by scripts) the value of a plain
    arithmetic formula ("=1+2" → "3") or else the formula itself ("=SUM(D2:D4)"), which the
    ledger reports as not a number."""
    grid = [list(row) for row in values.iter_rows(values_only=True)]
    for r, row in enumerate(formulas.iter_rows(values_only=True)):
        for c, raw in enumerate(row):
            if (
                r < len(grid)
                and c < len(grid[r])
                and grid[r][c] is None
                and isinstance(raw, str)
                and raw.startswith("=")
            ):
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

    ops = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
    }

    def value(node: ast.AST) -> float:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
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


def map_header(header: list[str], fields: dict[str, tuple[str, ...]] | None = None) -> TableColumns:
    """Column positions of the record fields (first matching column wins); ``fields`` are the
    aliases per field: a project ledger's (default) or a task table's (``_TABLE_FIELDS``).

    ["项目名称", "市", "总投资（万元）"] → fields {"title": 0, "city": 1}, amount 2, amount_per_yi 10000
    """
    norm = [_norm_header(h) for h in header]
    found: dict[str, int] = {}
    for name, aliases in (fields or _RECORD_FIELDS).items():
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
        parts.append(
            f"属{industry}" + ("" if industry.endswith(("产业", "行业", "业")) else "产业")
        )
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


def load_workbook(source: str, sheets: list[tuple[str, list[list[str]]]]) -> LoadResult:
    """Every sheet of a workbook through ``load_table``: a ledger sheet gives one document per
    row, a task-table sheet one document; an empty sheet is passed over. With more than one
    sheet, the sheet's name is in each document (``sheet`` in a ledger row's extra, the title
    and row places of a task table) and in its problems, the documents of the second and later
    sheets are keyed by it ("任务表#第二批#row3"), and a sheet that is neither is reported while
    the others load.

    [("台账", ledger rows), ("说明", notes)] → the ledger's rows, problem "工作表“说明”：表格缺少…，未导入"
    """
    if len(sheets) == 1:
        return load_table(source, sheets[0][1])
    docs: list[SourceDocument] = []
    skipped: list[str] = []
    problems: list[str] = []
    for n, (name, rows) in enumerate(sheets):
        if not any(str(c).strip() for r in rows for c in r):
            continue
        prefix = re.sub(r"[#\s]+", "_", name) + "#" if n else ""
        try:
            result = load_table(source, rows, sheet=name, key_prefix=prefix)
        except LoadError as e:
            skipped.append(f"工作表“{name}”：{e}，未导入")
            continue
        docs += result.documents
        problems += [f"工作表“{name}”{p}" for p in result.problems]
    if not docs:
        raise LoadError("；".join(skipped) if skipped else "表格为空（所有工作表都没有内容）")
    return LoadResult(docs, skipped + problems)


def load_table(
    source: str, rows: list[list[str]], sheet: str = "", key_prefix: str = ""
) -> LoadResult:
    """Project records (an investment project ledger): one record per row.

    Chinese headers are mapped to fields (see ``_RECORD_FIELDS``; a 项目名称-like column is
    required). Each row becomes a document whose text is ``render_record`` and whose
    ``extra`` carries the structured fields: project_name, region, province, city,
    county, industry, amount_yi (absent when unknown), stage, date, units, source_doc,
    quote, row (and sheet, given for a workbook of several). Keys are ``key_prefix`` + "row<N>".
    A row without a name is skipped and a non-numeric amount is imported as
    unknown; both are reported as problems ("第5行：投资额“约十亿”不是数字，已按空值导入").
    """
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise LoadError("表格为空")
    header = [str(c).strip() for c in rows[0]]
    cols = map_header(header)
    if "title" not in cols.fields and (
        task := _task_table(source, rows, sheet, key_prefix.rstrip("#"))
    ):
        return task
    if "title" not in cols.fields:
        raise LoadError(
            f"表格缺少必需的列“项目名称”（现有列：{'、'.join(h for h in header if h) or '无'}）。"
            "项目台账的表头应包括 项目名称、地区（或 市、县区）、产业、投资额（亿元）、阶段 等列"
        )
    docs: list[SourceDocument] = []
    problems: list[str] = []
    for no, row in enumerate(rows[1:], start=2):
        doc = _project_record(source, row, no, cols, sheet, key_prefix, problems)
        if doc is not None:
            docs.append(doc)
    if not docs:
        raise LoadError("表格中没有可用的记录：" + "；".join(problems[:3]))
    return LoadResult(docs, problems)


def _project_record(
    source: str,
    row: list[str],
    no: int,
    cols: TableColumns,
    sheet: str,
    key_prefix: str,
    problems: list[str],
) -> SourceDocument | None:
    """Sheet row ``no`` of a project ledger as a document, or None for a row without a name;
    what is wrong with the row is appended to ``problems``."""
    f = {name: (str(row[i]).strip() if i < len(row) else "") for name, i in cols.fields.items()}
    if not f["title"]:
        problems.append(f"第{no}行：缺少项目名称，已跳过")
        return None
    amount, problem = _row_amount(row, cols, no)
    if problem:
        problems.append(problem)
    province, city, county = (f.get("province", ""), f.get("city", ""), f.get("county", ""))
    if f.get("region") and not (province or city or county):
        province, city, county = split_region(f["region"])
    f["region"] = f.get("region") or province + city + county
    hints = {
        "title": f["title"],
        "kind": "project_record",
        "region": f["region"],
        "date": f.get("date", ""),
    }
    return SourceDocument(
        source=source,
        key=f"{key_prefix}row{no}",
        lines=tuple(_lines(render_record(f, amount))),
        hints={k: v for k, v in hints.items() if v},
        extra=_record_extra(f, no, sheet, (province, city, county), amount),
        needs_cleaning=False,
    )


def _row_amount(row: list[str], cols: TableColumns, no: int) -> tuple[float | None, str | None]:
    """The row's investment amount in 亿元 (None when unknown) and the problem to report, if any.

    Row 5 with amount "约十亿" → (None, "第5行：投资额“约十亿”不是数字，已按空值导入").
    """
    amount_text = (
        str(row[cols.amount]).strip() if cols.amount is not None and cols.amount < len(row) else ""
    )
    amount = parse_amount(amount_text, cols.amount_per_yi) if amount_text else None
    if amount_text.startswith("="):
        return amount, (
            f"第{no}行：投资额是公式“{amount_text}”，文件中没有保存计算结果"
            "（请用 Excel 打开并保存后重新导入），已按空值导入"
        )
    if amount_text and amount is None:
        return amount, f"第{no}行：投资额“{amount_text}”不是数字，已按空值导入"
    return amount, None


def _record_extra(
    f: dict[str, str],
    no: int,
    sheet: str,
    place: tuple[str, str, str],
    amount: float | None,
) -> dict[str, str | float | int]:
    """A project record's structured fields: name, row, sheet, the non-empty place levels
    (province, city, county) and fields, and amount_yi when known."""
    extra: dict[str, str | float | int] = {"project_name": f["title"], "row": no}
    if sheet:
        extra["sheet"] = sheet
    extra |= {k: v for k, v in zip(("province", "city", "county"), place, strict=True) if v}
    extra |= {
        k: f[k]
        for k in ("region", "industry", "stage", "date", "units", "source_doc", "quote")
        if f.get(k)
    }
    if amount is not None:
        extra["amount_yi"] = amount
    return extra


def _task_table(
    source: str, rows: list[list[str]], sheet: str = "", key: str = ""
) -> LoadResult | None:
    """A sheet that is a notice's table (分工表: 序号/任务/牵头单位/完成时限…), not a ledger: one
    document whose rows are lines "列名：值；…" cited by their sheet row ("…分工表 › 第3行").

    Title rows above the header (a merged "重点任务分工表" cell) give the caption and title.
    A sheet of a workbook of several (``sheet``) puts its name before the caption and after
    the title: "第二批 › 重点任务分工表 › 第3行", "重点任务分工表（第二批）".
    None when no row among the first five maps to at least two task-table columns.
    """
    found = [
        i
        for i, row in enumerate(rows[:5])
        if len(map_header([str(c).strip() for c in row], _TABLE_FIELDS).fields) >= 2
    ]
    if not found:
        return None
    i = found[0]
    above = [str(c).strip() for r in rows[:i] for c in r if str(c).strip()]
    caption = table_caption(above) or (above[-1] if above else sheet or Path(source).stem)
    title = re.sub(r"^附件\d*\s*", "", caption)
    if sheet and sheet != caption:
        caption, title = f"{sheet}{SECTION_SEP}{caption}", f"{title}（{sheet}）"
    # sheet rows: header is row i+1 (counting blank-free rows, as the ledger does)
    lines, _ = table_lines(rows[i:], caption, None, first_row_no=i + 2)
    if not lines:
        raise LoadError("表格中没有可用的数据行")
    return LoadResult(
        [SourceDocument(source=source, key=key, lines=tuple(lines), hints={"title": title})]
    )
