"""Real files of every supported format, made in the test (reportlab PDF with a CJK font)."""

from __future__ import annotations

import json
from pathlib import Path

POLICY_TEXT = [
    "焦作市人民政府办公室文件",
    "焦政办〔2020〕9号",
    "一、成立7个招商小组",
    "（六）招商六组。牵头领导：孙起鹏。牵头单位：市工业和信息化局。",
]
PAGE_TWO = "（三）信息联络机制。各招商小组牵头单位每月25日前向市商务局报送本组招商工作开展情况。"


def make_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for lines in pages:
        c.setFont("STSong-Light", 11)
        for i, line in enumerate(lines):
            c.drawString(50, 800 - 20 * i, line)
        c.showPage()
    c.save()
    return path


def make_scanned_pdf(path: Path) -> Path:
    """A PDF whose page is only a picture (drawn shapes): no text layer."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(50, 400, 300, 300, fill=1)
    c.showPage()
    c.save()
    return path


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "关于进一步加强招商引资工作的意见"
    d.add_paragraph("郑政〔2018〕15号")
    d.add_heading("一、提高认识", level=1)
    d.add_paragraph("（一）大力抢抓建设国家中心城市历史机遇。要深度谋划招商引资工作。")
    d.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目名称", "地区", "产业", "投资额（亿元）", "阶段"])
    ws.append(["金刚石散热基板项目", "焦作市山阳区", "新材料", 30, "签约"])
    ws.append(["硼中子俘获治疗项目", "焦作市山阳区", "生物医药", "二十", "签约"])
    ws.append(["", "焦作市", "", "", ""])
    wb.save(str(path))
    return path


def make_jsonl(path: Path) -> Path:
    rows = [
        {
            "title": "2019年政府工作报告",
            "content": "今年发展的主要预期目标是：国内生产总值增长6%－6.5%。",
            "year": 2019,
        },
        {
            "title": "2018年政府工作报告",
            "content": "今年发展的主要预期目标是：国内生产总值增长6.5%左右。",
            "year": 2018,
        },
    ]
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8"
    )
    return path


# ---------------------------------------------------------------- scans, photos, OFD, legacy Word, tables

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"  # Debian fonts-noto-cjk (make converters)
CORPUS_NOTICE = Path(__file__).resolve().parent.parent / "corpus" / "002_b5bc0298a6f5538a.txt"


def corpus_paragraphs(path: Path = CORPUS_NOTICE) -> list[str]:
    """The paragraphs of a corpus file, markdown marks and layout spaces removed."""
    import re

    text = path.read_text(encoding="utf-8")
    return [
        re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", p.lstrip("#").strip())
        for p in text.split("\n")
        if p.strip()
    ]


def wrap(paragraphs: list[str], per_line: int = 38) -> list[str]:
    """Paragraphs cut into printed lines of ``per_line`` characters (a 2-character indent first)."""
    lines: list[str] = []
    for p in paragraphs:
        p = "\u3000\u3000" + p if len(p) > per_line else p
        lines.extend(p[i : i + per_line] for i in range(0, len(p), per_line))
    return lines


def render_page(
    lines: list[str],
    dpi: int = 200,
    pt: float = 12,
    columns: list[list[str]] | None = None,
    noise: float = 0.0,
):
    """A scanned A4 page: black text on white at ``pt`` points and ``dpi``, as a PIL image.
    ``columns`` (two lists of lines) are set in two columns under ``lines``; ``noise`` adds
    speckles and a slight blur, like a photocopy."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    px = round(pt / 72 * dpi)
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(CJK_FONT, px)
    margin, y, step = round(0.9 * dpi), round(0.9 * dpi), round(px * 1.8)
    for line in lines:
        draw.text((margin, y), line, fill=0, font=font)
        y += step
    if columns:
        gap = round(0.4 * dpi)
        col_w = (width - 2 * margin - gap) // 2
        for c, col in enumerate(columns):
            yy = y + step
            for line in col:
                draw.text((margin + c * (col_w + gap), yy), line, fill=0, font=font)
                yy += step
    if noise:
        import random

        rnd = random.Random(7)
        for _ in range(int(noise * width * height / 100)):
            draw.point((rnd.randrange(width), rnd.randrange(height)), fill=rnd.randrange(0, 160))
        img = img.filter(ImageFilter.GaussianBlur(0.6))
    return img


def make_image_pdf(path: Path, images: list, dpi: int = 200) -> Path:
    """An image-only PDF (no text layer), one page per image, as a scanner writes it."""
    first, *rest = [im.convert("RGB") for im in images]
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi)
    return path


def notice_pages() -> list[list[str]]:
    """Two printed pages of the 焦作 notice (corpus/002): its head, and the 招商六组/七组 part."""
    paras = corpus_paragraphs()
    six = next(i for i, p in enumerate(paras) if p.startswith("（六）招商六组"))
    return [wrap(paras[:6])[:26], wrap(paras[six : six + 10])[:26]]


def make_mixed_pdf(path: Path, text_page: list[str], scanned_lines: list[str]) -> Path:
    """Page 1 with a text layer, page 2 only a picture of text (a page scanned in later)."""
    from pypdf import PdfReader, PdfWriter

    text_pdf = make_pdf(path.with_suffix(".text.pdf"), [text_page])
    image = render_page(scanned_lines).crop(
        (0, 0, round(8.27 * 200), 200 + 70 * len(scanned_lines))
    )
    image_pdf = make_image_pdf(path.with_suffix(".scan.pdf"), [image])
    w = PdfWriter()
    for src in (text_pdf, image_pdf):
        for page in PdfReader(src).pages:
            w.add_page(page)
    with path.open("wb") as fh:
        w.write(fh)
    text_pdf.unlink()
    image_pdf.unlink()
    return path


def make_task_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """A 分工表 as a spreadsheet: a title row merged across the columns, then header and rows."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["重点任务分工表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(TASK_HEADER))
    ws.append(TASK_HEADER)
    for row in rows:
        ws.append(row)
    wb.save(str(path))
    return path


def make_photo(path: Path, paragraph: str) -> Path:
    """A phone photo of a printed paragraph: grey paper, slight rotation, JPEG or PNG by suffix."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(CJK_FONT, 34)
    lines = wrap([paragraph], 24)
    img = Image.new("RGB", (1000, 120 + 56 * len(lines)), (226, 222, 212))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((50, 50 + 56 * i), line, fill=(35, 35, 40), font=font)
    img = img.rotate(1.2, expand=True, fillcolor=(226, 222, 212))
    img.save(path)
    return path


def make_ofd(
    path: Path,
    pages: list[list[str]],
    title: str = "",
    doc_number: str = "",
    tables: dict[int, tuple[list[str] | None, list[list[str]]]] | None = None,
    scans: list | None = None,
) -> Path:
    """An OFD package (GB/T 33190) written by hand: OFD.xml, Document.xml, one Content.xml per page
    with a TextObject per line (deliberately out of order in the XML: reading order comes from Y).

    ``tables`` puts a task table (header, rows) under the lines of a page (0-based), one TextObject
    per cell line, long cells wrapped inside their column, as a converter writes a Word table; a
    header of None continues the table of the page before (rows only, no header row).
    ``scans`` (PIL images) add pages that are only a picture (a scanned OFD): an ImageObject whose
    PNG is a MultiMedia resource of DocumentRes.xml.
    """
    import io
    import zipfile
    from xml.sax.saxutils import escape

    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    scans = scans or []
    custom = (
        f'<ofd:CustomDatas><ofd:CustomData Name="文号">{escape(doc_number)}</ofd:CustomData></ofd:CustomDatas>'
        if doc_number
        else ""
    )
    ofd_xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody>'
        f"<ofd:DocInfo><ofd:DocID>0C7D1E</ofd:DocID><ofd:Title>{escape(title)}</ofd:Title>{custom}</ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    n_pages = len(pages) + len(scans)
    page_refs = "".join(
        f'<ofd:Page ID="{n + 10}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(n_pages)
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>999'
        "</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        f"</ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>"
    )

    def text_object(oid: str, x0: float, y: float, size: float, part: str) -> str:
        return (
            f'<ofd:TextObject ID="{oid}" Boundary="{x0:.1f} {y} {len(part) * size:.1f} 6" '
            f'Font="1" Size="{size}"><ofd:TextCode X="0" Y="4.5" '
            f'DeltaX="g {len(part) - 1} {size}">{escape(part)}</ofd:TextCode></ofd:TextObject>'
        )

    def page_xml(objs: list[str]) -> str:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="2">'
            f"{''.join(objs)}</ofd:Layer></ofd:Content></ofd:Page>"
        )

    media = "".join(
        f'<ofd:MultiMedia ID="{500 + n}" Type="Image" Format="PNG"><ofd:MediaFile>scan_{n}.png'
        "</ofd:MediaFile></ofd:MultiMedia>"
        for n in range(len(scans))
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", ofd_xml)
        zf.writestr("Doc_0/Document.xml", document)
        zf.writestr(
            "Doc_0/PublicRes.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
            '<ofd:Fonts><ofd:Font ID="1" FontName="宋体"/></ofd:Fonts></ofd:Res>',
        )
        zf.writestr(
            "Doc_0/DocumentRes.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
            f"<ofd:MultiMedias>{media}</ofd:MultiMedias></ofd:Res>",
        )
        for n, lines in enumerate(pages):
            objs = []
            size = 4.2
            for i, line in reversed(list(enumerate(lines))):
                y = 30 + 8 * i
                # a line may be split into two TextObjects (as writers do), the second one first
                half = len(line) // 2 if len(line) > 20 else len(line)
                for x0, part in ((25 + half * size, line[half:]), (25, line[:half])):
                    if part:
                        objs.append(text_object(f"{n}{i}{int(x0)}", x0, y, size, part))
            if tables and n in tables:
                header, rows = tables[n]
                cell_size, y = 3.5, 30 + 8 * len(lines) + 4
                layout = task_table_layout(header or TASK_HEADER, rows)
                for k, (row_lines, _) in enumerate(layout if header else layout[1:]):
                    for j, cells in enumerate(row_lines):
                        for c, text, centred in cells:
                            x0 = 25 + 1.5 + sum(TABLE_WIDTHS[:c]) * cell_size + 3 * c
                            if centred:
                                x0 += (TABLE_WIDTHS[c] - len(text)) * cell_size / 2
                            objs.append(text_object(f"{n}9{k}{j}{c}", x0, y, cell_size, text))
                        y += 5.5
                    y += 3
            zf.writestr(f"Doc_0/Pages/Page_{n}/Content.xml", page_xml(objs))
        for k, image in enumerate(scans):
            buf = io.BytesIO()
            image.save(buf, "PNG")
            zf.writestr(f"Doc_0/Res/scan_{k}.png", buf.getvalue())
            zf.writestr(
                f"Doc_0/Pages/Page_{len(pages) + k}/Content.xml",
                page_xml(
                    [
                        f'<ofd:ImageObject ID="{800 + k}" ResourceID="{500 + k}" Boundary="0 0 210 297" '
                        'CTM="210 0 0 297 0 0"/>'
                    ]
                ),
            )
    return path


TABLE_WIDTHS = (3, 13, 8, 8, 8)  # characters per column of a printed 分工表


def task_table_layout(
    header: list[str], rows: list[list[str]], widths: tuple[int, ...] = TABLE_WIDTHS
):
    """A printed task table, row by row: each row's text lines as cells (column, text, centred?)
    and the row's number of lines; a cell longer than its column wraps onto the next line of that row. The header
    and the 序号 column are centred, as 分工表 are printed; the other cells are left-aligned."""
    out = []
    for k, row in enumerate([header, *rows]):
        parts = [
            [v[i : i + widths[c]] for i in range(0, len(v), widths[c])] or [""]
            for c, v in enumerate(row)
        ]
        n = max(len(p) for p in parts)
        row_lines = [
            [(c, p[j], k == 0 or c == 0) for c, p in enumerate(parts) if j < len(p) and p[j]]
            for j in range(n)
        ]
        out.append((row_lines, n))
    return out


def render_table_page(
    lines: list[str], header: list[str], rows: list[list[str]], dpi: int = 200, pt: float = 10.5
):
    """A scanned page holding ``lines`` then a ruled task table (borders drawn, long cells wrapped
    inside their column), cropped below the table, as a PIL image."""
    from PIL import ImageDraw, ImageFont

    img = render_page(lines, dpi=dpi)
    draw = ImageDraw.Draw(img)
    px = round(pt / 72 * dpi)
    font = ImageFont.truetype(CJK_FONT, px)
    pad, step = round(px * 0.5), round(px * 1.5)
    margin = round(0.9 * dpi)
    top = margin + round(12 / 72 * dpi * 1.8) * len(lines) + px
    col_x = [
        margin + (sum(TABLE_WIDTHS[:c]) * px) + 2 * pad * c for c in range(len(TABLE_WIDTHS) + 1)
    ]
    y = top
    for row_lines, n in task_table_layout(header, rows):
        height = n * step + 2 * pad
        for j, cells in enumerate(row_lines):
            for col, text, centred in cells:
                x = col_x[col] + pad + ((TABLE_WIDTHS[col] - len(text)) * px / 2 if centred else 0)
                draw.text((x, y + pad + j * step), text, fill=0, font=font)
        draw.rectangle((col_x[0], y, col_x[-1], y + height), outline=0, width=2)
        for x in col_x[1:-1]:
            draw.line((x, y, x, y + height), fill=0, width=2)
        y += height
    return img.crop((0, 0, img.width, y + margin // 2))


def make_tiff(path: Path, images: list) -> Path:
    """A multi-page TIFF (one frame per page, as a document scanner or fax writes it)."""
    first, *rest = [im.convert("L") for im in images]
    first.save(
        path, "TIFF", save_all=True, append_images=rest, compression="tiff_deflate", dpi=(200, 200)
    )
    return path


TASK_HEADER = ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"]
TASK_ROWS = [
    ["1", "建立重点招商项目台账，实行周调度", "市商务局", "各县（市）区", "2020年4月底前"],
    ["2", "编制产业链招商图谱和招商目录", "市发展改革委", "市工业和信息化局", "2020年6月底前"],
    ["3", "设立驻外招商联络处", "市投资促进中心", "市商务局", "2020年9月底前"],
]
TASK_INTRO = ["附件", "重点任务分工表"]


def make_task_table_docx(path: Path, rows: list[list[str]] | None = None) -> Path:
    """A notice whose 附件 is a 重点任务分工表 (a Word table)."""
    rows = rows or TASK_ROWS
    import docx

    d = docx.Document()
    d.add_paragraph("关于加快推进招商引资重点工作的通知")
    d.add_paragraph("各县（市）区人民政府：现将重点任务分工表印发给你们，请认真贯彻落实。")
    for t in TASK_INTRO:
        d.add_paragraph(t)
    from docx.shared import Cm

    table = d.add_table(rows=1 + len(rows), cols=len(TASK_HEADER))
    table.style = "Table Grid"
    for r, row in enumerate([TASK_HEADER, *rows]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
            table.cell(r, c).width = Cm((1.2, 6.5, 3, 3, 3)[c])
    d.save(str(path))
    return path


def make_task_table_pdf(path: Path, rows: list[list[str]] | None = None) -> Path:
    """The same notice as a text PDF: intro on page 1, the ruled 分工表 on page 2."""
    rows = rows or TASK_ROWS
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=style, fontSize=9, leading=12)
    story = [
        Paragraph("关于加快推进招商引资重点工作的通知", style),
        Paragraph("各县（市）区人民政府：现将重点任务分工表印发给你们，请认真贯彻落实。", style),
        PageBreak(),
    ]
    story += [Paragraph(t, style) for t in TASK_INTRO]
    data = [[Paragraph(v, cell) for v in row] for row in [TASK_HEADER, *rows]]
    table = Table(data, colWidths=[30, 170, 80, 90, 80])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    story.append(table)
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def make_doc(path: Path, source_docx: Path) -> Path:
    """A legacy Word .doc (or .wps/.rtf/.odt by suffix) converted from a DOCX with LibreOffice,
    by way of ODT (LibreOffice 7.4 drops python-docx tables when it writes .doc from DOCX directly)."""
    import shutil
    import subprocess
    import tempfile

    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed to make a .doc: run make converters"
    fmt = {".doc": "doc:MS Word 97", ".wps": "doc:MS Word 97", ".rtf": "rtf", ".odt": "odt"}[
        path.suffix
    ]
    with tempfile.TemporaryDirectory() as tmp:
        src = source_docx
        for step in ("odt", fmt):
            subprocess.run(
                [
                    soffice,
                    "--headless",
                    f"-env:UserInstallation=file://{tmp}/p",
                    "--convert-to",
                    step,
                    "--outdir",
                    f"{tmp}/{step[:3]}",
                    str(src),
                ],
                check=True,
                capture_output=True,
                timeout=180,
            )
            src = Path(f"{tmp}/{step[:3]}") / (source_docx.stem + "." + step[:3])
        out = src
        shutil.copyfile(out, path)
    return path


def make_encrypted(path: Path, source: Path, password: str = "secret") -> Path:
    """``source`` saved by LibreOffice with an open password as .doc/.wps (Word 97) or .odt, by
    suffix (tests/uno_password.py; needs python3-uno, installed by make converters)."""
    import shutil
    import subprocess
    import tempfile

    assert shutil.which("soffice") and Path("/usr/bin/python3").exists(), "run make converters"
    fmt = {".doc": "MS Word 97", ".wps": "MS Word 97", ".odt": "writer8"}[path.suffix]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("out" + path.suffix)
        subprocess.run(
            [
                "/usr/bin/python3",
                str(Path(__file__).with_name("uno_password.py")),
                str(source.resolve()),
                str(out),
                fmt,
                password,
                f"{tmp}/profile",
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        shutil.copyfile(out, path)
    return path


def text_scan(text: str, lines: int = 8):
    """A scanned strip of printed text (``lines`` lines of 38 characters), cropped below the text."""
    printed = wrap([text])[:lines]
    return render_page(printed).crop((0, 0, round(8.27 * 200), 180 + 66 * len(printed) + 60))
