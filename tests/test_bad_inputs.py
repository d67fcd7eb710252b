"""A catalogue of bad inputs across the loaders, the CLI and the REST API: each gets a
clear (Chinese) error and leaves the index exactly as it was (chunk count and the top
search result compared before and after). Uses its own small index, never ``corpus_qa``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.loaders import load_file
from rag.errors import LoadError, QueryError
from rag.service import PolicyQA
from rag.settings import Settings
from tests.files import POLICY_TEXT, make_pdf
from tests.servers import LiveServer

BIN = Path(sys.executable).parent / "policyqa"
NOTICE = "焦作市人民政府办公室文件\n\n焦政办〔2020〕9号\n\n（六）招商六组。\n\n牵头领导：孙起鹏。\n\n牵头单位：市工业和信息化局。"
OPINION = "郑州市人民政府文件\n\n郑政〔2018〕15号\n\n一、提高认识\n\n（一）国内外500强企业投资5亿元以上项目及时上报市商务局。"
MAX_MB = 0.05  # 50 KB: small enough to test the size limit cheaply


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory, e5) -> PolicyQA:
    base = tmp_path_factory.mktemp("bad_inputs")
    docs = base / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (docs / "opinion.txt").write_text(OPINION, encoding="utf-8")
    qa = PolicyQA(
        Settings(index_dir=base / "index", max_file_mb=MAX_MB, corpus_dirs=[docs]), embeddings=e5
    )
    assert qa.ingest([docs]).ok
    return qa


def snapshot(qa: PolicyQA) -> tuple[int, str, list[str]]:
    ids = sorted(qa.index.collection.get(include=[])["ids"])
    return len(ids), qa.search("招商六组的牵头领导", k=1)[0].chunk_id, ids


@pytest.fixture
def unchanged(own: PolicyQA) -> Iterator[PolicyQA]:
    """Asserts after the test that the index did not change."""
    before = snapshot(own)
    yield own
    assert snapshot(own) == before
    assert own.index.check().ok


# --------------------------------------------------------------------------- bad files


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<x/>")
        zf.writestr("word/document.xml", b"\0" * 30_000_000)
    return buf.getvalue()


def encrypted_pdf(path: Path) -> bytes:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt="pw")
    c.drawString(50, 800, "confidential policy text " * 5)
    c.showPage()
    c.save()
    return path.read_bytes()


BAD_FILES: dict[str, tuple[str, object, str]] = {
    # id: (file name, content or a maker, expected message part)
    "empty": ("empty.txt", b"", "文件为空"),
    "unknown_ext": ("notes.xyz", "招商政策".encode(), "不支持的文件类型"),
    "no_ext": ("README", "招商政策".encode(), "不支持的文件类型"),
    "binary_txt": ("garbage.txt", bytes(range(256)) * 40, "不是文本"),
    "control_chars": ("ctl.txt", ("\x01\x02\x03\x04\x05" * 200 + "招商").encode(), "不是可读文本"),
    "whitespace_only": ("blank.md", b" \n\t\n  \r\n", "没有文字内容"),
    "broken_pdf": ("broken.pdf", b"%PDF-1.4 garbage" * 20, "PDF 文件已损坏"),
    "encrypted_pdf": ("secret.pdf", encrypted_pdf, "PDF 已加密"),
    "text_named_docx": ("fake.docx", "这不是 docx".encode(), "DOCX 文件已损坏或不是 DOCX 格式"),
    "zip_bomb_docx": ("bomb.docx", zip_bomb, "疑似压缩炸弹"),
    "zip_bomb_xlsx": ("bomb.xlsx", zip_bomb, "疑似压缩炸弹"),
    "too_big": ("big.txt", "招商".encode() * 30_000, "文件过大"),
    "jsonl_all_broken": ("rows.jsonl", b'{broken\n[1,2]\n"text"\n', ""),
}


def _content(spec: object, tmp_path: Path) -> bytes:
    if callable(spec):
        return spec(tmp_path / "made.bin") if spec is encrypted_pdf else spec()  # type: ignore[operator]
    return spec  # type: ignore[return-value]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_by_ingest_with_a_reason(
    case: str, unchanged: PolicyQA, tmp_path: Path
):
    name, spec, needle = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(_content(spec, tmp_path))
    report = unchanged.ingest([path])
    assert not report.added and not report.updated
    reasons = " ".join(r for _, r in report.failed) + " ".join(p for _, p in report.problems)
    assert reasons.strip(), f"{case}: no reason given"
    assert needle in reasons, reasons


def test_missing_path_and_folder_of_junk(unchanged: PolicyQA, tmp_path: Path):
    report = unchanged.ingest([tmp_path / "nowhere.txt"])
    assert report.failed and "无法读取" in report.failed[0][1]
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.exe").write_bytes(b"MZ\0\0")
    (junk / "b.txt").write_bytes(b"")
    report = unchanged.ingest([junk])
    assert any("不支持的文件类型" in p for _, p in report.problems) and report.failed


@pytest.mark.parametrize(
    "encoding,bom",
    [("gbk", b""), ("gb18030", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_chinese_text_in_legacy_encodings_is_decoded_not_garbled(
    tmp_path: Path, encoding: str, bom: bytes
):
    path = tmp_path / "gbk.txt"
    path.write_bytes(bom + NOTICE.encode(encoding))
    text = "\n".join(ln.text for ln in load_file(path, 10**6).documents[0].lines)
    assert "孙起鹏" in text and "\ufffd" not in text


def test_utf16_without_bom_is_refused_clearly_not_garbled(tmp_path: Path):
    # mostly-CJK UTF-16 without a BOM has too few NUL bytes to be recognised: a clear error
    path = tmp_path / "u16.txt"
    path.write_bytes(NOTICE.encode("utf-16-le"))
    with pytest.raises(LoadError, match="不是文本"):
        load_file(path, 10**6)


def test_good_pdf_still_loads_beside_the_bad_ones(tmp_path: Path):
    doc = load_file(make_pdf(tmp_path / "ok.pdf", [POLICY_TEXT]), 10**6).documents[0]
    assert any("孙起鹏" in ln.text for ln in doc.lines)
    encrypted_pdf(tmp_path / "enc.pdf")
    with pytest.raises(LoadError, match="PDF 已加密"):
        load_file(tmp_path / "enc.pdf", 10**6)


# --------------------------------------------------------------------------- service (what CLI and API call)


@pytest.mark.parametrize(
    "query,kw,needle",
    [
        ("", {}, "查询内容为空"),
        ("   \n\t ", {}, "查询内容为空"),
        ("\x00\x01\x1b\x7f\u200b", {}, "查询内容为空"),
        ("招" * 2001, {}, "查询过长"),
        ("招商", {"k": -1}, "k 必须在 1 到 100 之间"),
        ("招商", {"k": 101}, "k 必须在 1 到 100 之间"),
        ("招商", {"retriever": "magic"}, "未知的检索方式"),
        ("招商", {"filters": {"colour": "red"}}, "未知的筛选条件"),
        ("招商", {"filters": {"date_from": "yesterday"}}, "日期格式不正确"),
        (12345, {}, "查询必须是文本"),
    ],
)
def test_bad_searches_are_query_errors(unchanged: PolicyQA, query: object, kw: dict, needle: str):
    with pytest.raises(QueryError, match=needle):
        unchanged.search(query, **kw)  # type: ignore[arg-type]


def test_control_characters_inside_a_query_are_stripped(unchanged: PolicyQA):
    hits = unchanged.search("招商\x00六组\x1b的牵头\u200b领导", k=1)
    assert "孙起鹏" in hits[0].text


# --------------------------------------------------------------------------- CLI


def cli(args: list[str], qa: PolicyQA) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        POLICYQA_INDEX_DIR=str(qa.settings.index_dir),
        POLICYQA_MAX_FILE_MB=str(MAX_MB),
        COLUMNS="200",
    )
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["search", ""], 2, "查询内容为空"),
        (["search", "招" * 3000], 2, "查询过长"),
        (["search", "招商", "-k", "-1"], 2, "k 必须在 1 到 100 之间"),
        (["search", "招商", "-k", "abc"], 2, "Invalid value"),
        (["search", "招商", "--from", "2020-13-45x"], 2, "日期格式不正确"),
        (["search", "招商", "--retriever", "magic"], 2, "未知的检索方式"),
        (["search", "--batch", "/nonexistent/q.jsonl"], 2, "无法读取"),
        (["search"], 2, "请提供问题"),
        (["ingest", "/nonexistent/folder/x.txt"], 1, "无法读取"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_bad_cli_input_is_a_clear_error(
    unchanged: PolicyQA, args: list[str], code: int, needle: str
):
    done = cli(args, unchanged)
    assert done.returncode == code, done.stdout + done.stderr
    assert needle in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- REST API


@pytest.fixture(scope="module")
def api(own: PolicyQA) -> Iterator[httpx.Client]:
    from app import create_server

    with (
        LiveServer(create_server(own.settings, own)) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        yield c


@pytest.mark.parametrize(
    "path,body,code,needle",
    [
        ("/api/search", b"{not json", 422, "不是有效的 JSON"),
        ("/api/search", b"[1, 2, 3]", 422, "应为 JSON 对象"),
        ("/api/search", b'{"query": 42}', 422, "应为文本"),
        ("/api/search", b'{"query": ""}', 422, "不能为空"),
        ("/api/search", b'{"query": "\\u0000\\u0001"}', 400, "查询内容为空"),
        ("/api/search", ('{"query": "' + "招" * 2001 + '"}').encode(), 422, "过长"),
        (
            "/api/search",
            ('{"query": "' + "招" * 3_000_000 + '"}').encode(),
            422,
            "过长",
        ),  # a 9 MB body
        ("/api/search", b'{"query": "q", "k": -1}', 422, "数值过小"),
        ("/api/search", b'{"query": "q", "k": "five"}', 422, "应为整数"),
        ("/api/search", b'{"query": "q", "retriever": "magic"}', 422, "取值无效"),
        ("/api/search", b'{"query": "q", "filters": {"colour": "red"}}', 422, "不认识的字段"),
        (
            "/api/search",
            b'{"query": "q", "filters": {"date_from": "yesterday"}}',
            422,
            "格式不正确",
        ),
        ("/api/search", b'{"query": "q", "filters": "region"}', 422, "应为 JSON 对象"),
        ("/api/ask", b'{"question": "q", "history": "not a list"}', 422, "应为列表"),
        ("/api/ask", b'{"history": []}', 422, "缺少该字段"),
        ("/api/ask", b'{"question": "q", "extra": 1}', 422, "不认识的字段"),
        ("/api/projects", b'{"min_amount": -5}', 422, "数值过小"),
        ("/api/feedback", b'{"answer": [], "liked": "maybe"}', 422, "请求格式不正确"),
    ],
)
def test_bad_api_bodies_are_clear_4xx(
    unchanged: PolicyQA, api: httpx.Client, path: str, body: bytes, code: int, needle: str
):
    r = api.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == code, r.text[:300]
    assert needle in r.json()["detail"]


def test_unknown_documents_are_404(unchanged: PolicyQA, api: httpx.Client):
    for path in ("/api/documents/nope", "/api/documents/..%2F..%2Fetc%2Fpasswd"):
        assert api.get(path).status_code == 404
    r = api.delete("/api/documents/nope")
    assert r.status_code == 404 and "文档不存在" in r.json()["detail"]


def test_bad_uploads_fail_per_file_and_stay_in_the_uploads_folder(
    unchanged: PolicyQA, api: httpx.Client, tmp_path: Path
):
    root = Path(unchanged.settings.index_dir).parent
    files = [
        ("files", ("../../../evil.txt", b"", "text/plain")),  # traversal + empty
        (
            "files",
            ("..\\..\\evil2.txt", bytes(range(256)) * 10, "text/plain"),
        ),  # traversal + binary
        ("files", ("bomb.docx", zip_bomb(), "application/octet-stream")),
        ("files", ("secret.pdf", encrypted_pdf(tmp_path / "s.pdf"), "application/pdf")),
        ("files", ("tool.exe", b"MZ\0\0", "application/octet-stream")),
        ("files", ("big.txt", "招商".encode() * 30_000, "text/plain")),
    ]
    r = api.post("/api/documents", files=files)
    assert r.status_code in (200, 400), r.text[:300]
    if r.status_code == 200:
        results = r.json()["results"]
        assert len(results) == len(files)
        assert all(x["status"] == "failed" and x["reason"] for x in results), results
    else:
        assert r.json()["detail"]
    assert not list(root.rglob("evil*.txt")) or all(
        "uploads" in str(p) for p in root.rglob("evil*.txt")
    )
    assert not (root.parent / "evil.txt").exists() and not (root / "evil.txt").exists()
