"""The document library's admin operations, shared by the web app and the REST API.

Uploads are saved under a sanitised name (no directory part, no control or shell
characters, an allowed type, at most ``max_file_mb``) in ``<index_dir>/uploads/`` and
then ingested; each file gets a result a staff member can read (新增/已更新/未变化/失败 and
why). Deleting a document removes its chunks, rebuilds BM25, and removes its uploaded file
so that a re-index does not bring it back. Re-indexing re-reads the corpus folders and
the uploads folder, dropping documents whose files are gone.

Writes are serialised by one process-wide lock. Who may call these is decided by the
entry points (``rag.auth``), not here.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingest.loaders import SUPPORTED
from rag.errors import LoadError, QueryError
from rag.index import IngestReport
from rag.service import PolicyQA

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = tuple(s for s in SUPPORTED if s != ".htm")
LEDGER_ROW = re.compile(r"^(?P<sheet>.+)#row\d+$")
STATUS_ZH = {"added": "新增", "updated": "已更新", "unchanged": "未变化", "failed": "失败"}
MAX_NAME_CHARS = 120
_WRITE_LOCK = threading.Lock()
_UNSAFE = re.compile(r"[^\w\u3001-\u303f\uff08\uff09\u4e00-\u9fff.()\-]+")


@dataclass(frozen=True)
class FileResult:
    """What became of one uploaded file."""

    file: str  # the name it was saved under (or the name given, when refused before saving)
    status: str  # added / updated / unchanged / failed
    documents: int = 0
    reason: str = ""

    @property
    def status_zh(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status_zh": self.status_zh}


def uploads_dir(svc: PolicyQA) -> Path:
    return Path(svc.settings.index_dir) / "uploads"


def safe_filename(name: str) -> str:
    """A file name that cannot leave the uploads folder; the suffix must be an allowed type.

    safe_filename("../../etc/关于 招商的通知.TXT") → "关于_招商的通知.txt";
    safe_filename("..\\\\..\\\\a.pdf") → "a.pdf"
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = "." + suffix.lower() if suffix else ""
    if suffix not in ALLOWED_SUFFIXES:
        raise LoadError(f"不支持的文件类型“{suffix or '无扩展名'}”（支持：{'、'.join(s[1:] for s in ALLOWED_SUFFIXES)}）")
    stem = _UNSAFE.sub("_", stem).strip("._- ")[:MAX_NAME_CHARS] or "upload"
    return stem + suffix


def save_upload(svc: PolicyQA, name: str, content: bytes | Path) -> Path:
    """Write ``content`` (bytes or a temp file) to the uploads folder; return where.

    Raises ``LoadError`` (Chinese message) for a bad type or a file over the size limit.
    An existing upload of the same name is replaced (the ingest then says 已更新 or 未变化).
    """
    target = uploads_dir(svc) / safe_filename(name)
    size = content.stat().st_size if isinstance(content, Path) else len(content)
    limit = svc.settings.max_file_mb
    if size > limit * 1e6:
        raise LoadError(f"文件过大（{size / 1e6:.1f} MB），上限为 {limit:g} MB")
    data = content.read_bytes() if isinstance(content, Path) else content
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _results(report: IngestReport, saved: Sequence[Path]) -> list[FileResult]:
    """Per-file results of one ingest of ``saved``, from the report's per-file outcomes."""
    by_path = {str(Path(f.path)): f for f in report.files}
    out = []
    for path in saved:
        f = by_path.get(str(path))
        if f is None:
            out.append(FileResult(path.name, "failed", 0, "文件中没有可导入的内容"))
        else:
            status = f.status if f.status in STATUS_ZH else "failed"
            out.append(FileResult(path.name, status, f.documents if status != "failed" else 0, f.reason))
    return out


def add_uploads(svc: PolicyQA, files: Sequence[tuple[str, bytes | Path]],
                page_progress: Callable[[str, int, int], None] | None = None) -> list[FileResult]:
    """Save and ingest uploaded files ((name, content) pairs), one result per file, in order.
    ``page_progress(path, page, pages)`` hears about each OCR'd page (scans are slow)."""
    results: dict[int, FileResult] = {}
    saved: dict[int, Path] = {}
    with _WRITE_LOCK:
        for i, (name, content) in enumerate(files):
            try:
                path = save_upload(svc, name, content)
            except LoadError as e:
                results[i] = FileResult(Path(str(name).replace("\\", "/")).name or str(name), "failed", 0, str(e))
                continue
            if path in saved.values():
                results[i] = FileResult(path.name, "failed", 0, "同一批上传中有重名文件，已跳过")
                continue
            saved[i] = path
        if saved:
            report = svc.ingest(list(saved.values()), page_progress=page_progress)
            for i, r in zip(saved, _results(report, list(saved.values())), strict=True):
                results[i] = r
                if r.status == "failed":
                    _remove_quietly(saved[i])
    return [results[i] for i in range(len(files))]


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError as e:
        log.warning("could not remove %s: %s", path, e)


def delete_document(svc: PolicyQA, doc_id: str) -> int:
    """Remove a document from the index (and its uploaded file, if it was uploaded).

    Returns the number of chunks deleted; ``QueryError`` when no such document exists.
    """
    with _WRITE_LOCK:
        hashes = svc.index.doc_hashes()
        rows = _sheet_rows(hashes, doc_id) if doc_id not in hashes else []
        if doc_id not in hashes and not rows:
            raise QueryError(f"文档不存在：{doc_id}")
        ids = rows or [doc_id]
        source = hashes[ids[0]][1]
        deleted = svc.index.delete_documents(ids)
        src = Path(source).resolve() if source else None
        folder = uploads_dir(svc).resolve()
        if src and folder in src.parents and src.exists():
            others = [d for d, (_, s) in hashes.items() if s == source and d not in ids]
            if not others:
                _remove_quietly(src)
    return deleted


def reindex(svc: PolicyQA) -> IngestReport:
    """Re-read the corpus folders and the uploads folder: changed files are re-indexed,
    documents whose files are gone are removed, BM25 is rebuilt."""
    roots = [Path(p) for p in svc.settings.corpus_dirs if Path(p).exists()]
    if uploads_dir(svc).exists():
        roots.append(uploads_dir(svc))
    with _WRITE_LOCK:
        report = svc.ingest(roots, prune=True) if roots else IngestReport()
        svc.index.rebuild_bm25()
    return report


def _sheet_rows(hashes: dict[str, tuple[str, str]], sheet: str) -> list[str]:
    """The doc ids of a ledger sheet's rows ("projects" → ["projects#row2", …]), in row order."""
    rows = [d for d in hashes if (m := LEDGER_ROW.match(d)) and m.group("sheet") == sheet]
    return sorted(rows, key=lambda d: int(d.rsplit("#row", 1)[1]))


def documents(svc: PolicyQA) -> list[dict[str, Any]]:
    """The library's list: every document with its metadata and chunk count, except that a
    project-ledger sheet is one entry (doc id = the sheet's, e.g. "projects") with its row
    count in ``rows`` instead of one entry per row."""
    out: list[dict[str, Any]] = []
    sheets: dict[str, dict[str, Any]] = {}
    for d in svc.documents():
        m = LEDGER_ROW.match(d["doc_id"])
        if d.get("kind") != "project_record" or not m:
            out.append(d)
            continue
        sheet = sheets.get(m.group("sheet"))
        if sheet is None:
            sheet = sheets[m.group("sheet")] = d | {"doc_id": m.group("sheet"), "chunks": 0, "rows": 0,
                                                    "title": Path(str(d.get("source") or m.group("sheet"))).name,
                                                    "region": "", "date": ""}
            out.append(sheet)
        sheet["chunks"] += d["chunks"]
        sheet["rows"] += 1
    return sorted(out, key=lambda r: r["doc_id"])


def document_sections(svc: PolicyQA, doc_id: str) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """A document's metadata and its text as (section path, [chunk texts]) in reading order;
    for a ledger sheet's id, its rows in order (section path "第N行")."""
    got = svc.index.collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
    if not got["ids"]:
        rows_of = _sheet_rows(svc.index.doc_hashes(), doc_id)
        if not rows_of:
            raise QueryError(f"文档不存在：{doc_id}")
        got = svc.index.collection.get(where={"doc_id": {"$in": rows_of}}, include=["documents", "metadatas"])
        rows = sorted(zip(got["documents"], got["metadatas"], strict=True), key=lambda r: int(r[1].get("x_row") or 0))
        meta = dict(rows[0][1]) | {"doc_id": doc_id, "title": Path(str(rows[0][1].get("source") or doc_id)).name}
        return meta, [(f"第{m.get('x_row')}行", [text]) for text, m in rows]
    rows = sorted(zip(got["documents"], got["metadatas"], strict=True), key=lambda r: int(r[1].get("ordinal") or 0))
    meta = dict(rows[0][1])
    sections: list[tuple[str, list[str]]] = []
    for text, m in rows:
        path = str(m.get("section_path") or "")
        if sections and sections[-1][0] == path:
            sections[-1][1].append(text)
        else:
            sections.append((path, [text]))
    return meta, sections
