"""The documents staff actually have (issue 15): scanned notices, photos, OFD, legacy Word/WPS,
tables, 红头文件 front matter — each made in the test, ingested by the real CLI into a real
index (real OCR, real LibreOffice), then asked about: the answer must cite the right page or row.

One folder holds every kind plus broken files; ``policyqa ingest`` runs on it once (module
fixture), the other tests read that index. OCR results are cached in it, so tests that load
the same scans again do not OCR again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.loaders import load_file, placed_lines, placed_tables
from ingest.ocr import OcrBox, OcrEngine, OcrSettings, line_groups, reading_order
from ingest.records import Line
from rag.errors import LoadError
from rag.service import PolicyQA
from rag.settings import Settings
from tests.conftest import CORPUS
from tests.files import (
    TASK_HEADER,
    corpus_paragraphs,
    make_doc,
    make_encrypted,
    make_image_pdf,
    make_mixed_pdf,
    make_ofd,
    make_pdf,
    make_photo,
    make_task_table_docx,
    make_task_table_pdf,
    make_task_xlsx,
    make_tiff,
    notice_pages,
    render_page,
    render_table_page,
    text_scan,
    wrap,
)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "policyqa"
MB = 50_000_000
ZHENGZHOU = CORPUS / "004_13bb312893c2451b.txt"

DOCX_ROWS = [
    ["1", "建立重点招商项目台账，实行周调度", "市商务局", "各县（市）区", "2020年4月底前"],
    ["2", "编制产业链招商图谱和招商目录", "市发展改革委", "市工业和信息化局", "2020年6月底前"],
]
PDF_ROWS = [
    ["1", "举办豫商大会专场签约活动", "市外事办", "市商务局", "2020年5月底前"],
    ["2", "建设跨境电商综合试验区公共服务平台", "市口岸办", "市财政局", "2020年10月底前"],
]
DOC_ROWS = [
    ["1", "开展驻京招商小分队专项行动", "市驻京办", "市商务局", "2020年3月底前"],
    ["2", "出台总部企业认定和奖励办法", "市司法局", "市财政局", "2020年8月底前"],
]
XLSX_ROWS = [
    ["1", "组建招商引资专家咨询委员会", "市科协", "市人社局", "2020年7月底前"],
    ["2", "开通重大项目审批绿色通道", "市行政审批局", "市自然资源局", "2020年11月底前"],
]
SCAN_ROWS = [  # printed, scanned: the second task wraps over two lines of its cell
    ["1", "梳理重点产业链招商清单", "市工业和信息化局", "各县（市）区", "2020年4月底前"],
    [
        "2",
        "组织赴粤港澳大湾区开展电子信息产业专题招商推介活动",
        "市商务局",
        "市外事办",
        "2020年6月底前",
    ],
]
OFD_ROWS = [
    ["1", "制定招商引资考核评价办法", "市委督查室", "市商务局", "2020年5月底前"],
    ["2", "建立外商投资企业服务专员制度", "市投资促进中心", "市市场监管局", "2020年9月底前"],
]
SHEET2_ROWS = [  # the second sheet of a workbook
    ["1", "编制招商引资优惠政策汇编", "市政策研究室", "市商务局", "2020年2月底前"],
    ["2", "建立招商项目落地协调例会制度", "市政府办公室", "市发展改革委", "2020年12月底前"],
]
TABLE_INTRO = ["关于做好重点任务落实工作的通知", "附件", "重点任务分工表"]
RUZHOU = CORPUS / "003_a009df9952209ef4.txt"  # scanned OFD
XUCHANG = CORPUS / "001_455e2c328f5fbc5c.txt"  # multi-page TIFF
WEB_NOTICE = (  # a notice saved from a website: one long line, as such files come
    "关于支持总部经济发展的若干措施 济南市人民政府办公厅 关于支持总部经济发展的若干措施 济政办发〔2021〕12号 "
    "各区县人民政府，市政府各部门，各有关单位： 为加快总部经济发展，经市政府同意，现提出如下措施。 "
    "一、支持总部企业落户。对新认定的综合型总部企业，给予一次性落户奖励1000万元。 "
    "二、加强人才保障。对总部企业高管人才给予每月3000元住房补贴。 济南市人民政府办公厅 2021年5月20日"
)


def photo_paragraph() -> str:
    paras = corpus_paragraphs(ZHENGZHOU)
    return next(p for p in paras if p.startswith("（五）积极开展高端服务业招商"))[:80]


def corpus_text(path: Path, start: str) -> str:
    text = "".join(corpus_paragraphs(path))
    return text[text.index(start) :]


def make_workbook(path: Path) -> Path:
    """A workbook of four sheets: notes (neither ledger nor table), a 分工表, a project ledger,
    and a hidden lookup sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表由各单位于每月5日前填报，联系人：市商务局投资促进科。"])
    tasks = wb.create_sheet("第二批")
    tasks.append(["重点任务分工表"])
    tasks.append(TASK_HEADER)
    for row in SHEET2_ROWS:
        tasks.append(row)
    ledger = wb.create_sheet("签约项目")
    ledger.append(["项目名称", "地区", "产业", "投资额（亿元）", "阶段"])
    ledger.append(["高端轴承智能制造项目", "洛阳市涧西区", "装备制造", 12, "签约"])
    ledger.append(["新型储能电池项目", "洛阳市伊滨区", "新能源", "八", "签约"])
    hidden = wb.create_sheet("下拉选项")
    hidden.append(["项目名称", "地区"])
    hidden.append(["隐藏表中的项目", "洛阳市"])
    hidden.sheet_state = "hidden"
    wb.save(str(path))
    return path


def ofd_pages() -> list[list[str]]:
    paras = corpus_paragraphs(ZHENGZHOU)
    start = next(i for i, p in enumerate(paras) if p.startswith("（一）重点引进一批梁柱型项目"))
    return [wrap(paras[:5])[:22], wrap(paras[start : start + 3])[:22]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("documents")
    docs = base / "docs"
    docs.mkdir()
    make_image_pdf(docs / "扫描通知.pdf", [render_page(lines) for lines in notice_pages()])
    make_mixed_pdf(
        docs / "混合.pdf",
        ["关于做好招商引资统计工作的通知", "各县（市）区：请于每季度末报送统计数据。"],
        ["附：统计报表报送联系人为市商务局投资促进科王科长。"],
    )
    make_photo(docs / "照片.png", photo_paragraph())
    make_ofd(
        docs / "郑州意见.ofd",
        ofd_pages(),
        title="郑州市人民政府关于进一步加强招商引资工作的意见",
        doc_number="郑政〔2018〕15号",
    )
    make_task_table_docx(docs / "分工表.docx", DOCX_ROWS)
    make_task_table_pdf(docs / "分工表PDF.pdf", PDF_ROWS)
    make_doc(docs / "旧通知.doc", make_task_table_docx(base / "for_doc.docx", DOC_ROWS))
    make_task_xlsx(docs / "任务表.xlsx", XLSX_ROWS)
    make_image_pdf(
        docs / "分工表扫描.pdf", [render_table_page(TABLE_INTRO, TASK_HEADER, SCAN_ROWS)]
    )
    make_ofd(docs / "分工表OFD.ofd", [TABLE_INTRO], tables={0: (TASK_HEADER, OFD_ROWS)})
    make_ofd(
        docs / "扫描版.ofd",
        [],
        title="汝州市开放招商纪实",
        scans=[
            text_scan(corpus_text(RUZHOU, "作为河南省")),
            text_scan(corpus_text(RUZHOU, "2017年全年")),
        ],
    )
    make_tiff(
        docs / "多页扫描.tif",
        [
            text_scan(corpus_text(XUCHANG, "创新招商思维")),
            text_scan(corpus_text(XUCHANG, "1.招商思维要")),
        ],
    )
    make_workbook(docs / "多表.xlsx")
    make_encrypted(docs / "加密.doc", docs / "分工表.docx")
    (docs / "网页通知.txt").write_text(WEB_NOTICE, encoding="utf-8")
    # broken ones
    (docs / "损坏.ofd").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    (docs / "损坏.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)
    (docs / "损坏.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    _encrypted_pdf(docs / "加密.pdf", base)
    return docs


def _encrypted_pdf(path: Path, tmp: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter()
    for page in PdfReader(make_pdf(tmp / "plain.pdf", [["关于加密文件的通知"]])).pages:
        w.add_page(page)
    w.encrypt(user_password="secret", owner_password="owner")
    with path.open("wb") as fh:
        w.write(fh)


@pytest.fixture(scope="module")
def ingested(folder: Path) -> tuple[subprocess.CompletedProcess, Path]:
    index = folder.parent / "index"
    env = dict(os.environ, POLICYQA_INDEX_DIR=str(index), COLUMNS="400")
    done = subprocess.run(
        [str(BIN), "ingest", str(folder)], env=env, capture_output=True, text=True, timeout=1200
    )
    return done, index


@pytest.fixture(scope="module")
def qa(ingested: tuple[subprocess.CompletedProcess, Path], e5) -> PolicyQA:
    return PolicyQA(Settings(index_dir=ingested[1]), embeddings=e5)


def outcome_lines(stdout: str) -> dict[str, str]:
    """File name → its row of the CLI's per-file table."""
    rows = {}
    for line in stdout.splitlines():
        for cell in line.split("│"):
            name = Path(cell.strip()).name
            if "." in name and cell.strip().startswith("/"):
                rows[name] = line
    return rows


def test_cli_ingest_of_a_mixed_folder_reports_each_file(ingested, folder: Path):
    done, _ = ingested
    assert done.returncode == 1, done.stderr  # some files failed; the rest were indexed
    rows = outcome_lines(done.stdout)
    for name in (
        "扫描通知.pdf",
        "混合.pdf",
        "照片.png",
        "郑州意见.ofd",
        "分工表.docx",
        "分工表PDF.pdf",
        "旧通知.doc",
        "任务表.xlsx",
        "网页通知.txt",
        "分工表扫描.pdf",
        "分工表OFD.ofd",
        "扫描版.ofd",
        "多页扫描.tif",
        "多表.xlsx",
    ):
        assert "新增" in rows[name], (name, rows.get(name))
    assert "已加密" in rows["加密.doc"] and "失败" in rows["加密.doc"]
    assert "OFD 文件已损坏" in rows["损坏.ofd"] and "失败" in rows["损坏.ofd"]
    assert "图片无法读取" in rows["损坏.png"]
    assert "无法转换" in rows["损坏.doc"]
    assert "已加密" in rows["加密.pdf"]
    assert "OCR 文字识别：扫描通知.pdf 第2/2页" in done.stderr  # per-page progress


def _ask(qa: PolicyQA, question: str):
    answer = qa.ask(question)
    assert answer.answered, (question, answer.mode, answer.text)
    return answer.citations[0]


def test_scanned_two_page_notice_is_answered_from_page_2(qa: PolicyQA):
    cited = _ask(qa, "招商六组的牵头领导是谁？")
    assert Path(cited.source).name == "扫描通知.pdf" and cited.page == 2
    assert "孙起鹏" in cited.quote
    got = qa.index.collection.get(where={"chunk_id": cited.chunk_id}, include=["metadatas"])[
        "metadatas"
    ][0]
    assert got["ocr"] is True and 0.9 <= got["ocr_confidence"] <= 1
    meta = next(d for d in qa.documents() if d["source"] == cited.source)
    # the red header's layout fills the metadata although the file name says nothing
    assert meta["doc_number"] == "焦政办〔2020〕9号" and meta["issuer"] == "焦作市人民政府办公室"
    assert meta["region"] == "焦作市" and meta["title"].startswith(
        "焦作市人民政府办公室关于建立焦作市"
    )


def test_mixed_pdf_ocrs_only_the_page_without_text(qa: PolicyQA, folder: Path):
    pages: list[int] = []
    ocr = OcrSettings(
        qa.settings.ocr_cache_dir, on_page=lambda src, page, total: pages.append(page)
    )
    doc = load_file(folder / "混合.pdf", MB, ocr).documents[0]
    assert pages == [2] and set(doc.ocr_pages) == {2}
    assert {ln.page for ln in doc.lines if "王科长" in ln.text} == {2}
    cited = _ask(qa, "统计报表报送联系人是谁？")
    got = qa.index.collection.get(where={"chunk_id": cited.chunk_id}, include=["metadatas"])[
        "metadatas"
    ][0]
    assert Path(cited.source).name == "混合.pdf" and got["page"] <= 2 <= got["page_end"]
    assert got["ocr"] is True  # the chunk holds an OCR'd page


def test_photo_of_a_paragraph(qa: PolicyQA):
    cited = _ask(qa, "高端服务业招商按照什么思路？")
    assert Path(cited.source).name == "照片.png" and cited.page == 1


def test_ofd_text_pages_and_own_metadata(qa: PolicyQA):
    cited = _ask(qa, "梁柱型项目要怎么引进？")
    assert Path(cited.source).name == "郑州意见.ofd" and cited.page == 2
    assert (
        cited.doc_number == "郑政〔2018〕15号"
        and cited.title == "郑州市人民政府关于进一步加强招商引资工作的意见"
    )


@pytest.mark.parametrize(
    ("question", "source", "lead", "deadline", "page"),
    [
        (
            "谁负责编制产业链招商图谱，什么时候完成？",
            "分工表.docx",
            "市发展改革委",
            "2020年6月底前",
            None,
        ),
        (
            "谁负责建设跨境电商综合试验区公共服务平台，什么时候完成？",
            "分工表PDF.pdf",
            "市口岸办",
            "2020年10月底前",
            2,
        ),
        (
            "谁负责出台总部企业认定和奖励办法，什么时候完成？",
            "旧通知.doc",
            "市司法局",
            "2020年8月底前",
            None,
        ),
        (
            "谁负责开通重大项目审批绿色通道，什么时候完成？",
            "任务表.xlsx",
            "市行政审批局",
            "2020年11月底前",
            None,
        ),
        (
            "谁负责组织赴粤港澳大湾区开展电子信息产业专题招商推介活动，什么时候完成？",
            "分工表扫描.pdf",
            "市商务局",
            "2020年6月底前",
            1,
        ),
        (
            "谁负责建立外商投资企业服务专员制度，什么时候完成？",
            "分工表OFD.ofd",
            "市投资促进中心",
            "2020年9月底前",
            1,
        ),
        (
            "谁负责建立招商项目落地协调例会制度，什么时候完成？",
            "多表.xlsx",
            "市政府办公室",
            "2020年12月底前",
            None,
        ),
    ],
)
def test_task_table_row_is_found_and_cited(qa: PolicyQA, question, source, lead, deadline, page):
    hits = qa.search(question, k=3)
    top = hits[0]
    assert Path(top.source).name == source, [(h.source, h.section_path) for h in hits]
    assert f"牵头单位：{lead}" in top.text and f"完成时限：{deadline}" in top.text
    assert "分工表" in top.section_path and top.section_path.endswith("行")
    assert top.page == page
    cited = _ask(qa, question)
    assert cited.chunk_id == top.chunk_id


def test_xlsx_rows_are_numbered_as_in_the_sheet(qa: PolicyQA):
    top = qa.search("开通重大项目审批绿色通道", k=1)[0]
    assert top.section_path == "重点任务分工表 › 第4行"  # title row 1, header row 2, data rows 3–4


def test_web_notice_on_one_line_gets_its_metadata_from_the_layout(qa: PolicyQA):
    meta = next(d for d in qa.documents() if d["source"].endswith("网页通知.txt"))
    assert meta["title"] == "关于支持总部经济发展的若干措施"
    assert meta["doc_number"] == "济政办发〔2021〕12号"
    assert meta["issuer"] == "济南市人民政府办公厅" and meta["region"] == "济南市"
    assert meta["date"] == "2021-05-20" and meta["kind"] == "policy_notice"
    cited = _ask(qa, "综合型总部企业落户奖励多少？")
    assert cited.title == "关于支持总部经济发展的若干措施" and "1000万元" in cited.quote


def test_reingest_does_not_ocr_again(qa: PolicyQA, folder: Path, monkeypatch: pytest.MonkeyPatch):
    def no_ocr(self, image):
        raise AssertionError("OCR ran although the result is cached")

    monkeypatch.setattr(OcrEngine, "page", no_ocr)
    report = qa.ingest([folder])
    ocrd = {"扫描通知.pdf", "混合.pdf", "照片.png"}
    assert {
        Path(f.path).name: f.status for f in report.files if Path(f.path).name in ocrd
    } == dict.fromkeys(ocrd, "unchanged")


def test_page_with_too_low_confidence_is_reported_not_indexed(qa: PolicyQA, folder: Path):
    strict = OcrSettings(qa.settings.ocr_cache_dir, min_confidence=0.9999)
    with pytest.raises(LoadError, match="置信度过低"):
        load_file(folder / "照片.png", MB, strict)
    result = load_file(
        folder / "扫描通知.pdf", MB, OcrSettings(qa.settings.ocr_cache_dir, min_confidence=0.99)
    )
    low = [p for p in result.problems if "置信度过低" in p]
    kept = {ln.page for ln in result.documents[0].lines}
    assert low and all(f"第{p}页" not in " ".join(low) for p in kept)


def test_wps_and_rtf_are_read_by_the_converter(qa: PolicyQA, folder: Path, tmp_path: Path):
    wps = tmp_path / "旧通知.wps"
    shutil.copyfile(folder / "旧通知.doc", wps)  # WPS writer files are Word-97 documents
    rows = [ln for ln in load_file(wps, MB).documents[0].lines if ln.table]
    assert rows and rows[1].text.startswith("序号：2；重点任务：出台总部企业认定和奖励办法")
    rtf = make_doc(tmp_path / "通知.rtf", make_task_table_docx(tmp_path / "src.docx", DOCX_ROWS))
    assert any("市发展改革委" in ln.text for ln in load_file(rtf, MB).documents[0].lines)


def test_missing_converter_is_a_clear_message(folder: Path, monkeypatch: pytest.MonkeyPatch):
    import ingest.loaders

    monkeypatch.setattr(ingest.loaders.shutil, "which", lambda name: None)
    with pytest.raises(LoadError, match="缺少文档转换工具.*LibreOffice"):
        load_file(folder / "旧通知.doc", MB)


def test_upload_panel_reports_each_new_failure(qa: PolicyQA, folder: Path):

    pages: list[int] = []
    results = qa.add_uploads(
        [
            ("照片副本.png", (folder / "照片.png").read_bytes()),
            ("坏的.ofd", (folder / "损坏.ofd").read_bytes()),
            ("坏的.png", (folder / "损坏.png").read_bytes()),
        ],
        page_progress=lambda src, page, total: pages.append(page),
    )
    assert [r.status for r in results] == ["added", "failed", "failed"]
    assert "OFD 文件已损坏" in results[1].reason and "图片无法读取" in results[2].reason
    assert pages == [1]


def test_source_card_marks_ocr_passages():
    from app import OCR_NOTE, source_cards

    cite = {
        "n": 1,
        "chunk_id": "scan::a-0",
        "title": "通知",
        "quote": "牵头领导：孙起鹏。",
        "page": 2,
    }
    assert OCR_NOTE in source_cards(
        [cite], {"scan::a-0": "牵头领导：孙起鹏。"}, {"scan::a-0": 0.97}
    )
    assert OCR_NOTE not in source_cards([cite], {"scan::a-0": "牵头领导：孙起鹏。"}, {})


def test_library_lists_a_ledger_sheet_once(corpus_qa: PolicyQA):

    docs = corpus_qa.library_documents()
    sheet = next(d for d in docs if d["doc_id"] == "projects")
    assert sheet["rows"] == 28 and not any("#row" in d["doc_id"] for d in docs)
    meta, sections = corpus_qa.document_sections("projects")
    assert len(sections) == 28 and sections[0][0] == "第2行"


def test_two_column_page_is_read_column_by_column():
    def box(text: str, x0: float, y0: float, x1: float) -> OcrBox:
        return OcrBox(text, 0.99, x0, y0, x1, y0 + 30)

    boxes = [
        box("关于两栏排版的说明", 100, 50, 1500),
        box("左一", 100, 150, 760),
        box("右一", 880, 150, 1540),
        box("左二", 100, 200, 760),
        box("右二", 880, 200, 1540),
        box("左三", 100, 250, 760),
        box("右三", 880, 250, 1540),
        box("附：页脚横跨两栏", 100, 400, 1500),
    ]
    assert reading_order(boxes, 1654) == [
        "关于两栏排版的说明",
        "左一",
        "左二",
        "左三",
        "右一",
        "右二",
        "右三",
        "附：页脚横跨两栏",
    ]
    one_column = [
        box("第一行", 100, 50, 1500),
        box("第二", 100, 100, 400),
        box("行", 420, 100, 600),
    ]
    assert reading_order(one_column, 1654) == ["第一行", "第二行"]


def test_two_column_scan_in_reading_order(qa: PolicyQA, tmp_path: Path):
    page = render_page(
        ["两栏排版测试"],
        columns=[
            ["左栏第一句话。", "左栏第二句话。", "左栏第三句话。"],
            ["右栏第一句话。", "右栏第二句话。", "右栏第三句话。"],
        ],
    )
    page = page.crop((0, 0, page.width, 700))
    path = tmp_path / "两栏.png"
    page.save(path)
    texts = [ln.text for ln in load_file(path, MB, OcrSettings()).documents[0].lines]
    order = [
        next(i for i, t in enumerate(texts) if k in t)
        for k in ("左栏第一", "左栏第三", "右栏第一", "右栏第三")
    ]
    assert order == sorted(order), texts


# ---------------------------------------------------------------- tables in OFD and scans, TIFF, scanned OFD,
# encrypted Word, workbooks of several sheets


def test_scanned_task_table_rows_keep_their_column_names(qa: PolicyQA, folder: Path):
    doc = load_file(
        folder / "分工表扫描.pdf", MB, OcrSettings(qa.settings.ocr_cache_dir)
    ).documents[0]
    rows = [ln for ln in doc.lines if ln.table]
    assert [ln.table for ln in rows] == [
        "附件 重点任务分工表 › 第1行",
        "附件 重点任务分工表 › 第2行",
    ]
    # the task wrapped over two lines of its cell is one cell again; each value under its column
    assert rows[1].text == (
        "序号：2；重点任务：组织赴粤港澳大湾区开展电子信息产业专题招商推介活动；牵头单位：市商务局；"
        "责任单位：市外事办；完成时限：2020年6月底前。"
    )
    assert rows[0].page == 1 and doc.ocr_pages.keys() == {1}
    assert not any(
        "牵头单位" in ln.text for ln in doc.lines if not ln.table
    )  # the header is not text too


def test_ofd_task_table_rows(folder: Path):
    doc = load_file(folder / "分工表OFD.ofd", MB).documents[0]
    rows = [(ln.table, ln.text) for ln in doc.lines if ln.table]
    assert rows == [
        (
            "附件 重点任务分工表 › 第1行",
            "序号：1；重点任务：制定招商引资考核评价办法；牵头单位：市委督查室；责任单位：市商务局；"
            "完成时限：2020年5月底前。",
        ),
        (
            "附件 重点任务分工表 › 第2行",
            "序号：2；重点任务：建立外商投资企业服务专员制度；牵头单位：市投资促进中心；"
            "责任单位：市市场监管局；完成时限：2020年9月底前。",
        ),
    ]
    assert [ln.text for ln in doc.lines if not ln.table] == TABLE_INTRO


def test_placed_table_columns_rows_and_end():
    def box(text: str, x0: float, y0: float, x1: float) -> OcrBox:
        return OcrBox(text, 0.99, x0, y0, x1, y0 + 30)

    boxes = [
        box("重点任务分工表", 500, 0, 720),
        # header centred over its columns, cells left-aligned: 重点任务 starts right of where its cells start
        box("序号", 110, 100, 170),
        box("重点任务", 420, 100, 540),
        box("牵头单位", 800, 100, 920),
        box("完成时限", 1080, 100, 1200),
        box("1", 130, 160, 145),
        box("建立重点招商项目台账，", 230, 160, 690),
        box("市商务局", 760, 160, 880),
        box("2020年4月", 1010, 160, 1250),
        box("实行周调度", 230, 200, 380),
        box("底前", 1010, 200, 1070),
        box("2", 130, 260, 145),
        box("编制", 230, 260, 290),
        box("市发展改革委", 760, 260, 940),
        box(
            "各单位要按照分工抓好落实，确保各项任务按期完成，不断开创招商引资工作新局面。",
            100,
            340,
            1300,
        ),
        box("序号", 110, 500, 170),
        box("重点任务", 420, 500, 540),  # a header with no row under it
    ]
    tables = placed_tables(line_groups(boxes))
    assert len(tables) == 1 and tables[0].top == 100 and tables[0].bottom == 290
    assert tables[0].rows == [
        ["序号", "重点任务", "牵头单位", "完成时限"],
        ["1", "建立重点招商项目台账，\n实行周调度", "市商务局", "2020年4月\n底前"],
        ["2", "编制", "市发展改革委", ""],
    ]
    # no task-table header: no table, whatever the layout
    assert (
        placed_tables(
            line_groups(
                [
                    box("姓名", 100, 0, 160),
                    box("职务", 400, 0, 460),
                    box("张三", 100, 50, 160),
                    box("科长", 400, 50, 460),
                ]
            )
        )
        == []
    )


def test_scanned_ofd_is_ocrd_page_by_page(qa: PolicyQA, folder: Path):
    doc = load_file(folder / "扫描版.ofd", MB, OcrSettings(qa.settings.ocr_cache_dir)).documents[0]
    assert doc.ocr_pages.keys() == {1, 2} and min(doc.ocr_pages.values()) > 0.9
    page_text = {p: "".join(ln.text for ln in doc.lines if ln.page == p) for p in (1, 2)}
    assert (
        "300余家" in page_text[2] and "300余家" not in page_text[1] and "汝瓷之都" in page_text[1]
    )
    cited = _ask(qa, "汝州的驻地招商分局2017年走访了多少家企业？")
    got = qa.index.collection.get(where={"chunk_id": cited.chunk_id}, include=["metadatas"])[
        "metadatas"
    ][0]
    assert Path(cited.source).name == "扫描版.ofd" and "300余家" in cited.quote
    assert (
        got["page"] <= 2 <= got["page_end"] and got["ocr"] is True
    )  # the passage runs on from page 1
    assert cited.title == "汝州市开放招商纪实"  # the OFD's own DocInfo title


def test_multipage_tiff_frames_are_pages(qa: PolicyQA, folder: Path):
    doc = load_file(folder / "多页扫描.tif", MB, OcrSettings(qa.settings.ocr_cache_dir)).documents[
        0
    ]
    assert doc.ocr_pages.keys() == {1, 2}
    assert any("创新招商思维" in ln.text for ln in doc.lines if ln.page == 1)
    assert not any("创新招商思维" in ln.text for ln in doc.lines if ln.page == 2)
    cited = _ask(qa, "招商思维要重塑，领导干部要强化哪些思维？")
    assert (
        Path(cited.source).name == "多页扫描.tif" and cited.page == 2 and "数据思维" in cited.quote
    )


@pytest.mark.parametrize("suffix", [".doc", ".wps", ".odt"])
def test_password_protected_word_file_is_refused_with_a_clear_message(
    folder: Path, tmp_path: Path, suffix: str
):
    path = make_encrypted(tmp_path / f"加密{suffix}", folder / "分工表.docx")
    with pytest.raises(LoadError, match=f"{suffix} 文件已加密（设置了打开密码），无法读取"):
        load_file(path, MB)
    plain = make_doc(
        tmp_path / f"未加密{suffix}", folder / "分工表.docx"
    )  # the same document without password
    assert any("市发展改革委" in ln.text for ln in load_file(plain, MB).documents[0].lines)


def test_every_sheet_of_a_workbook_is_read(folder: Path):
    result = load_file(folder / "多表.xlsx", MB)
    tasks = [d for d in result.documents if d.hints.get("kind") != "project_record"]
    ledger = [d for d in result.documents if d.hints.get("kind") == "project_record"]
    assert len(tasks) == 1 and tasks[0].hints["title"] == "重点任务分工表（第二批）"
    assert [ln.table for ln in tasks[0].lines] == [
        "第二批 › 重点任务分工表 › 第3行",
        "第二批 › 重点任务分工表 › 第4行",
    ]
    assert [d.key for d in ledger] == ["签约项目#row2", "签约项目#row3"]
    assert {d.extra["sheet"] for d in ledger} == {"签约项目"} and ledger[0].extra["amount_yi"] == 12
    assert result.problems[0].startswith("工作表“填表说明”：表格缺少必需的列“项目名称”")
    assert "工作表“签约项目”第3行：投资额“八”不是数字" in result.problems[1]
    assert not any("隐藏表中的项目" in ln.text for d in result.documents for ln in d.lines)


def test_workbook_sheets_in_the_library(qa: PolicyQA):
    docs = {d["doc_id"]: d for d in qa.library_documents()}
    assert (
        docs["多表#签约项目"]["rows"] == 2
        and docs["多表#签约项目"]["title"] == "多表.xlsx › 签约项目"
    )
    assert docs["多表#第二批"]["title"] == "重点任务分工表（第二批）"
    meta, sections = qa.document_sections("多表#签约项目")
    assert meta["title"] == "多表.xlsx › 签约项目" and [s for s, _ in sections] == [
        "第2行",
        "第3行",
    ]
    assert (
        sections[0][1][0].startswith("高端轴承智能制造项目（洛阳市涧西区）")
        and meta["x_sheet"] == "签约项目"
    )


def test_task_table_running_on_to_the_next_page_keeps_header_caption_and_row_numbers(
    tmp_path: Path,
):
    path = make_ofd(
        tmp_path / "跨页.ofd",
        [TABLE_INTRO, []],
        tables={0: (TASK_HEADER, OFD_ROWS[:1]), 1: (None, OFD_ROWS[1:] + SHEET2_ROWS[:1])},
    )
    rows = [ln for ln in load_file(path, MB).documents[0].lines if ln.table]
    assert [(ln.page, ln.table) for ln in rows] == [
        (1, "附件 重点任务分工表 › 第1行"),
        (2, "附件 重点任务分工表 › 第2行"),
        (2, "附件 重点任务分工表 › 第3行"),
    ]
    assert rows[1].text.startswith(
        "序号：2；重点任务：建立外商投资企业服务专员制度；牵头单位：市投资促进中心"
    )

    def box(text: str, x0: float, y0: float, x1: float) -> OcrBox:
        return OcrBox(text, 0.99, x0, y0, x1, y0 + 30)

    def as_text(boxes: list[OcrBox]) -> list[Line]:
        return [Line(t) for t in reading_order(boxes, 1400)]

    header = [
        box("序号", 110, 100, 170),
        box("重点任务", 420, 100, 540),
        box("牵头单位", 800, 100, 920),
    ]
    page1 = [
        box("重点任务分工表", 500, 40, 720),
        *header,
        box("1", 130, 160, 145),
        box("建立招商台账", 230, 160, 500),
        box("市商务局", 760, 160, 880),
        box("—1—", 640, 1900, 700),
    ]
    lines1, carry = placed_lines(page1, 1, as_text)
    assert carry is not None and [ln.table for ln in lines1 if ln.table] == [
        "重点任务分工表 › 第1行"
    ]
    page2 = [
        box("2", 130, 100, 145),
        box("编制产业图谱", 230, 100, 500),
        box("市发展改革委", 760, 100, 940),
        box(
            "各单位要按照分工抓好落实，确保各项任务按期完成，不断开创招商引资工作新局面。",
            100,
            300,
            1300,
        ),
    ]
    lines2, carry2 = placed_lines(page2, 2, as_text, carry)
    assert [(ln.table, ln.text) for ln in lines2 if ln.table] == [
        ("重点任务分工表 › 第2行", "序号：2；重点任务：编制产业图谱；牵头单位：市发展改革委。")
    ]
    assert carry2 is None and lines2[-1].text.startswith("各单位要按照分工")
    # without the carried table the same page is text only
    assert not any(ln.table for ln in placed_lines(page2, 2, as_text)[0])
