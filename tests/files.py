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
        {"title": "2019年政府工作报告", "content": "今年发展的主要预期目标是：国内生产总值增长6%－6.5%。", "year": 2019},
        {"title": "2018年政府工作报告", "content": "今年发展的主要预期目标是：国内生产总值增长6.5%左右。", "year": 2018},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8")
    return path
