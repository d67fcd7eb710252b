"""Each loader on a real file made in the test, and every kind of bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ingest.documents import read_documents
from ingest.loaders import load_file
from rag.errors import LoadError
from tests.files import (
    PAGE_TWO,
    POLICY_TEXT,
    make_docx,
    make_jsonl,
    make_pdf,
    make_scanned_pdf,
    make_xlsx,
)

MB = 50_000_000


def test_pdf_two_pages_keeps_page_numbers(tmp_path: Path):
    pdf = make_pdf(tmp_path / "notice.pdf", [POLICY_TEXT, [PAGE_TWO]])
    (doc,), _ = read_documents(pdf, {}, MB)
    assert doc.meta.doc_number == "焦政办〔2020〕9号"
    pages = {p.text: p.page for p in doc.paragraphs}
    assert pages["（六）招商六组。牵头领导：孙起鹏。牵头单位：市工业和信息化局。"] == 1
    assert pages[PAGE_TWO] == 2


def test_gbk_text_is_detected_and_decoded(tmp_path: Path):
    f = tmp_path / "gbk.txt"
    f.write_bytes(
        "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n各县（市）区主要负责同志全年外出实质招商要不少于1/4时间。".encode(
            "gbk"
        )
    )
    (doc,), _ = read_documents(f, {}, MB)
    assert "不少于1/4时间" in doc.text and doc.meta.doc_number == "焦政办〔2020〕9号"


def test_utf16_with_bom(tmp_path: Path):
    f = tmp_path / "u16.txt"
    f.write_bytes("郑州市人民政府文件\n郑政〔2018〕15号".encode("utf-16"))
    (doc,), _ = read_documents(f, {}, MB)
    assert doc.meta.doc_number == "郑政〔2018〕15号"


def test_docx(tmp_path: Path):
    (doc,), _ = read_documents(make_docx(tmp_path / "opinion.docx"), {}, MB)
    assert doc.meta.title == "关于进一步加强招商引资工作的意见"
    assert doc.meta.doc_number == "郑政〔2018〕15号"
    assert "要深度谋划招商引资工作" in doc.text


def test_html(tmp_path: Path):
    f = tmp_path / "page.html"
    f.write_text(
        "<html><head><title>招商政策</title><script>var x=1;</script></head><body><h1>一、总则</h1>"
        "<p>各县区要<b>积极</b>开展招商。</p></body></html>",
        encoding="utf-8",
    )
    (doc,), _ = read_documents(f, {}, MB)
    assert (
        doc.meta.title == "招商政策"
        and "各县区要积极开展招商。" in doc.text
        and "var x" not in doc.text
    )


def test_jsonl_one_document_per_line_and_bad_line_reported(tmp_path: Path):
    docs, problems = read_documents(make_jsonl(tmp_path / "reports.jsonl"), {}, MB)
    assert [d.doc_id for d in docs] == ["reports#2019年政府工作报告", "reports#2018年政府工作报告"]
    assert docs[0].meta.date == "2019" and docs[0].meta.title == "2019年政府工作报告"
    assert problems == ["第3行不是有效的 JSON，已跳过"]


def test_beir_corpus_ids_become_the_doc_ids(tmp_path: Path):
    """BEIR corpus.jsonl names records by ``_id``; qrels point at those ids, not at titles."""
    f = tmp_path / "corpus.jsonl"
    f.write_text(
        '{"_id": "d7", "title": "招商政策", "text": "各县区要积极开展招商。"}\n'
        '{"_id": "d8", "title": "招商政策", "text": "同名的另一篇文章。"}\n',
        encoding="utf-8",
    )
    docs, problems = read_documents(f, {}, MB)
    assert [d.doc_id for d in docs] == ["corpus#d7", "corpus#d8"] and not problems


def test_xlsx_records_one_per_row_with_row_errors(tmp_path: Path):
    docs, problems = read_documents(make_xlsx(tmp_path / "projects.xlsx"), {}, MB)
    assert [d.meta.title for d in docs] == ["金刚石散热基板项目", "硼中子俘获治疗项目"]
    assert docs[0].meta.kind == "project_record" and docs[0].extra["amount_yi"] == 30.0
    assert "投资额30亿元" in docs[0].text and "金刚石散热基板项目（焦作市山阳区）" in docs[0].text
    assert any("第3行：投资额“二十”不是数字" in p for p in problems)
    assert any("第4行：缺少项目名称" in p for p in problems)


def test_csv_records(tmp_path: Path):
    f = tmp_path / "ledger.csv"
    f.write_text(
        "项目名称,地区,投资额（亿元）\n瑞庆第五代混合动力发动机项目,焦作市,\n", encoding="utf-8"
    )
    (doc,), problems = read_documents(f, {}, MB)
    assert doc.meta.region == "焦作市" and "amount_yi" not in doc.extra and not problems


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "文件为空"),
        ("garbage.txt", bytes(range(256)) * 20, "不是"),
        ("notes.xyz", b"hello", "不支持的文件类型"),
        ("corrupt.pdf", b"%PDF-1.4\n1 0 obj<<>>\nthis is not a pdf" * 10, "PDF 文件已损坏"),
        ("fake.docx", b"not a zip at all" * 10, "DOCX 文件已损坏"),
        ("bad.xlsx", b"PK\x03\x04 broken", "XLSX"),
        ("nothing.jsonl", b'{"a": 1}\n', "没有可用的记录"),
        ("noheader.csv", "地区,产业\n焦作,新材料\n".encode(), "缺少必需的列"),
    ],
)
def test_bad_input_gets_a_clear_message(tmp_path: Path, name: str, content: bytes, message: str):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        load_file(f, MB)


def test_scanned_pdf_says_it_needs_ocr(tmp_path: Path):
    with pytest.raises(LoadError, match="OCR"):
        load_file(make_scanned_pdf(tmp_path / "scan.pdf"), MB)


def test_encrypted_pdf(tmp_path: Path):
    from pypdf import PdfReader, PdfWriter

    src = make_pdf(tmp_path / "plain.pdf", [POLICY_TEXT])
    w = PdfWriter()
    for p in PdfReader(src).pages:
        w.add_page(p)
    w.encrypt(user_password="secret", owner_password="owner")
    with (tmp_path / "locked.pdf").open("wb") as fh:
        w.write(fh)
    with pytest.raises(LoadError, match="加密"):
        load_file(tmp_path / "locked.pdf", MB)


def test_file_over_size_limit(tmp_path: Path):
    f = tmp_path / "big.txt"
    f.write_text("招商引资" * 1000, encoding="utf-8")
    with pytest.raises(LoadError, match="文件过大"):
        load_file(f, 1000)


def test_unreadable_path(tmp_path: Path):
    with pytest.raises(LoadError, match="无法读取文件"):
        load_file(tmp_path / "missing.txt", MB)


def test_zip_bomb_named_docx(tmp_path: Path):
    f = tmp_path / "bomb.docx"
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "0" * 60_000_000)
    with pytest.raises(LoadError, match="压缩炸弹"):
        load_file(f, MB)
