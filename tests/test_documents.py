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

from ingest.loaders import load_file
from ingest.ocr import OcrBox, OcrEngine, OcrSettings, reading_order
from rag.errors import LoadError
from rag.service import PolicyQA
from rag.settings import Settings
from tests.conftest import CORPUS
from tests.files import (
    corpus_paragraphs,
    make_doc,
    make_image_pdf,
    make_mixed_pdf,
    make_ofd,
    make_pdf,
    make_photo,
    make_task_table_docx,
    make_task_table_pdf,
    make_task_xlsx,
    notice_pages,
    render_page,
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
WEB_NOTICE = (  # a notice saved from a website: one long line, as such files come
    "关于支持总部经济发展的若干措施 济南市人民政府办公厅 关于支持总部经济发展的若干措施 济政办发〔2021〕12号 "
    "各区县人民政府，市政府各部门，各有关单位： 为加快总部经济发展，经市政府同意，现提出如下措施。 "
    "一、支持总部企业落户。对新认定的综合型总部企业，给予一次性落户奖励1000万元。 "
    "二、加强人才保障。对总部企业高管人才给予每月3000元住房补贴。 济南市人民政府办公厅 2021年5月20日"
)


def photo_paragraph() -> str:
    paras = corpus_paragraphs(ZHENGZHOU)
    return next(p for p in paras if p.startswith("（五）积极开展高端服务业招商"))[:80]


def ofd_pages() -> list[list[str]]:
    paras = corpus_paragraphs(ZHENGZHOU)
    start = next(i for i, p in enumerate(paras) if p.startswith("（一）重点引进一批梁柱型项目"))
    return [wrap(paras[:5])[:22], wrap(paras[start:start + 3])[:22]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("documents")
    docs = base / "docs"
    docs.mkdir()
    make_image_pdf(docs / "扫描通知.pdf", [render_page(lines) for lines in notice_pages()])
    make_mixed_pdf(docs / "混合.pdf", ["关于做好招商引资统计工作的通知", "各县（市）区：请于每季度末报送统计数据。"],
                   ["附：统计报表报送联系人为市商务局投资促进科王科长。"])
    make_photo(docs / "照片.png", photo_paragraph())
    make_ofd(docs / "郑州意见.ofd", ofd_pages(), title="郑州市人民政府关于进一步加强招商引资工作的意见",
             doc_number="郑政〔2018〕15号")
    make_task_table_docx(docs / "分工表.docx", DOCX_ROWS)
    make_task_table_pdf(docs / "分工表PDF.pdf", PDF_ROWS)
    make_doc(docs / "旧通知.doc", make_task_table_docx(base / "for_doc.docx", DOC_ROWS))
    make_task_xlsx(docs / "任务表.xlsx", XLSX_ROWS)
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
    done = subprocess.run([str(BIN), "ingest", str(folder)], env=env, capture_output=True, text=True, timeout=1200)
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
    for name in ("扫描通知.pdf", "混合.pdf", "照片.png", "郑州意见.ofd", "分工表.docx", "分工表PDF.pdf", "旧通知.doc",
                 "任务表.xlsx", "网页通知.txt"):
        assert "新增" in rows[name], (name, rows.get(name))
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
    got = qa.index.collection.get(where={"chunk_id": cited.chunk_id}, include=["metadatas"])["metadatas"][0]
    assert got["ocr"] is True and 0.9 <= got["ocr_confidence"] <= 1
    meta = next(d for d in qa.documents() if d["source"] == cited.source)
    # the red header's layout fills the metadata although the file name says nothing
    assert meta["doc_number"] == "焦政办〔2020〕9号" and meta["issuer"] == "焦作市人民政府办公室"
    assert meta["region"] == "焦作市" and meta["title"].startswith("焦作市人民政府办公室关于建立焦作市")


def test_mixed_pdf_ocrs_only_the_page_without_text(qa: PolicyQA, folder: Path):
    pages: list[int] = []
    ocr = OcrSettings(qa.settings.ocr_cache_dir, on_page=lambda src, page, total: pages.append(page))
    doc = load_file(folder / "混合.pdf", MB, ocr).documents[0]
    assert pages == [2] and set(doc.ocr_pages) == {2}
    assert {ln.page for ln in doc.lines if "王科长" in ln.text} == {2}
    cited = _ask(qa, "统计报表报送联系人是谁？")
    got = qa.index.collection.get(where={"chunk_id": cited.chunk_id}, include=["metadatas"])["metadatas"][0]
    assert Path(cited.source).name == "混合.pdf" and got["page"] <= 2 <= got["page_end"]
    assert got["ocr"] is True  # the chunk holds an OCR'd page


def test_photo_of_a_paragraph(qa: PolicyQA):
    cited = _ask(qa, "高端服务业招商按照什么思路？")
    assert Path(cited.source).name == "照片.png" and cited.page == 1


def test_ofd_text_pages_and_own_metadata(qa: PolicyQA):
    cited = _ask(qa, "梁柱型项目要怎么引进？")
    assert Path(cited.source).name == "郑州意见.ofd" and cited.page == 2
    assert cited.doc_number == "郑政〔2018〕15号" and cited.title == "郑州市人民政府关于进一步加强招商引资工作的意见"


@pytest.mark.parametrize(
    ("question", "source", "lead", "deadline", "page"),
    [
        ("谁负责编制产业链招商图谱，什么时候完成？", "分工表.docx", "市发展改革委", "2020年6月底前", None),
        ("谁负责建设跨境电商综合试验区公共服务平台，什么时候完成？", "分工表PDF.pdf", "市口岸办", "2020年10月底前", 2),
        ("谁负责出台总部企业认定和奖励办法，什么时候完成？", "旧通知.doc", "市司法局", "2020年8月底前", None),
        ("谁负责开通重大项目审批绿色通道，什么时候完成？", "任务表.xlsx", "市行政审批局", "2020年11月底前", None),
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
    assert {Path(f.path).name: f.status for f in report.files if Path(f.path).name in ocrd} == dict.fromkeys(
        ocrd, "unchanged")


def test_page_with_too_low_confidence_is_reported_not_indexed(qa: PolicyQA, folder: Path):
    strict = OcrSettings(qa.settings.ocr_cache_dir, min_confidence=0.9999)
    with pytest.raises(LoadError, match="置信度过低"):
        load_file(folder / "照片.png", MB, strict)
    result = load_file(folder / "扫描通知.pdf", MB, OcrSettings(qa.settings.ocr_cache_dir, min_confidence=0.99))
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
    results = qa.add_uploads([("照片副本.png", (folder / "照片.png").read_bytes()),
                                       ("坏的.ofd", (folder / "损坏.ofd").read_bytes()),
                                       ("坏的.png", (folder / "损坏.png").read_bytes())],
                                  page_progress=lambda src, page, total: pages.append(page))
    assert [r.status for r in results] == ["added", "failed", "failed"]
    assert "OFD 文件已损坏" in results[1].reason and "图片无法读取" in results[2].reason
    assert pages == [1]


def test_source_card_marks_ocr_passages():
    from app import OCR_NOTE, source_cards

    cite = {"n": 1, "chunk_id": "scan::a-0", "title": "通知", "quote": "牵头领导：孙起鹏。", "page": 2}
    assert OCR_NOTE in source_cards([cite], {"scan::a-0": "牵头领导：孙起鹏。"}, {"scan::a-0": 0.97})
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

    boxes = [box("关于两栏排版的说明", 100, 50, 1500),
             box("左一", 100, 150, 760), box("右一", 880, 150, 1540),
             box("左二", 100, 200, 760), box("右二", 880, 200, 1540),
             box("左三", 100, 250, 760), box("右三", 880, 250, 1540),
             box("附：页脚横跨两栏", 100, 400, 1500)]
    assert reading_order(boxes, 1654) == ["关于两栏排版的说明", "左一", "左二", "左三", "右一", "右二", "右三",
                                          "附：页脚横跨两栏"]
    one_column = [box("第一行", 100, 50, 1500), box("第二", 100, 100, 400), box("行", 420, 100, 600)]
    assert reading_order(one_column, 1654) == ["第一行", "第二行"]


def test_two_column_scan_in_reading_order(qa: PolicyQA, tmp_path: Path):
    page = render_page(["两栏排版测试"], columns=[["左栏第一句话。", "左栏第二句话。", "左栏第三句话。"],
                                                   ["右栏第一句话。", "右栏第二句话。", "右栏第三句话。"]])
    page = page.crop((0, 0, page.width, 700))
    path = tmp_path / "两栏.png"
    page.save(path)
    texts = [ln.text for ln in load_file(path, MB, OcrSettings()).documents[0].lines]
    order = [next(i for i, t in enumerate(texts) if k in t) for k in ("左栏第一", "左栏第三", "右栏第一", "右栏第三")]
    assert order == sorted(order), texts
