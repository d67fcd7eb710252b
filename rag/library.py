"""The document library's admin operations, behind ``PolicyQA`` (add_uploads, delete_document, reindex).

Uploads are saved under a sanitised name (no directory part, no control or shell
characters, an allowed type, at most 200 bytes, at most ``max_file_mb``) in
``<index_dir>/uploads/`` and then ingested; each file gets a result a staff member can read
(新增/已更新/未变化/失败 and why). An upload never takes another source's document id: a file
whose name (the document id is its stem) is already used by an indexed document, by an
earlier upload or by another file of the batch is saved under a free name (``通知_2.txt``)
and the result says so. Replacing an earlier upload is an explicit action (``replace``):
the old file is kept in ``<index_dir>/replaced/`` and named in the result. Deleting a
document removes its chunks, rebuilds BM25, and removes its uploaded file so that a
re-index does not bring it back. Re-indexing re-reads the corpus folders and the uploads
folder, dropping documents whose files are gone (never those whose files could not be read).

Writes hold the index's writer lock (``rag.store.locking``): one writer at a time across
processes. Who may call these is decided by the entry points (``rag.serving.auth``), not here.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingest.loaders import SUPPORTED
from ingest.metadata import CATALOG_NAME
from rag.errors import LoadError, QueryError
from rag.settings import Settings
from rag.store.index import IngestReport, PolicyIndex

log = logging.getLogger(__name__)

# PolicyQA.ingest: ingest files, then the evidence vectors and the 新人入门 map of what was written
Ingest = Callable[..., IngestReport]

LEDGER_ROW = re.compile(r"^(?P<sheet>.+)#row\d+$")
STATUS_ZH = {"added": "新增", "updated": "已更新", "unchanged": "未变化", "failed": "失败"}
MAX_NAME_BYTES = (
    200  # file systems allow 255 bytes per name: room for "_2", ".part" and a time stamp
)
_UNSAFE = re.compile(r"[^\w\u3001-\u303f\uff08\uff09\u4e00-\u9fff.()\-]+")


@dataclass(frozen=True)
class FileResult:
    """What became of one uploaded file."""

    file: str  # the name it was saved under (or the name given, when refused before saving)
    status: str  # added / updated / unchanged / failed
    documents: int = 0
    reason: str = ""
    replaced: str = ""  # with replace: the earlier upload this file replaced, and where it is kept

    @property
    def status_zh(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status_zh": self.status_zh}


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.index_dir) / "uploads"


def replaced_dir(settings: Settings) -> Path:
    return Path(settings.index_dir) / "replaced"


def _cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character: _cut_utf8("招商", 4) → "招"."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def safe_filename(name: str) -> str:
    """A file name that cannot leave the uploads folder; the suffix must be an allowed type,
    and the whole name fits in ``MAX_NAME_BYTES`` of UTF-8 (100 汉字 = 300 bytes is cut).

    safe_filename("../../etc/关于 招商的通知.TXT") → "关于_招商的通知.txt";
    safe_filename("..\\\\..\\\\a.pdf") → "a.pdf"
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = "." + suffix.lower() if suffix else ""
    if suffix not in SUPPORTED:
        raise LoadError(
            f"不支持的文件类型“{suffix or '无扩展名'}”（支持：{'、'.join(s[1:] for s in SUPPORTED)}）"
        )
    stem = (
        _cut_utf8(_UNSAFE.sub("_", stem).strip("._- "), MAX_NAME_BYTES - len(suffix)).rstrip("._- ")
        or "upload"
    )
    return stem + suffix


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """``name``, or the first of name_2, name_3 … whose stem is not ``taken``.

    free_name("通知.txt", lambda stem: stem == "通知") → "通知_2.txt"
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    if not taken(stem) and name != CATALOG_NAME:
        return name
    n = 2
    while taken(f"{stem}_{n}"):
        n += 1
    return f"{stem}_{n}{suffix}"


def doc_owners(hashes: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Document-id stem → the source that holds it: "projects#row2" and "projects" both → "projects".

    Uploads take their document ids from their stem, so a stem held by another source is taken.
    """
    owners: dict[str, str] = {}
    for doc_id, (_, source) in hashes.items():
        owners.setdefault(doc_id.split("#", 1)[0], source)
    return owners


def read_upload(settings: Settings, content: bytes | Path) -> bytes:
    """The bytes of an upload (bytes or a temp file); ``LoadError`` over the size limit."""
    size = content.stat().st_size if isinstance(content, Path) else len(content)
    limit = settings.max_file_mb
    if size > limit * 1e6:
        raise LoadError(f"文件过大（{size / 1e6:.1f} MB），上限为 {limit:g} MB")
    return content.read_bytes() if isinstance(content, Path) else content


def _write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically; ``LoadError`` (Chinese) when the disk refuses."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LoadError(f"无法保存文件：{e.strerror or type(e).__name__}") from e


@dataclass(frozen=True)
class _Planned:
    """Where one upload goes, and why there (rename or replace)."""

    target: Path
    note: str = ""
    replace: Path | None = None  # the earlier upload at ``target`` this one replaces


def plan_upload(
    name: str, data: bytes, folder: Path, owners: dict[str, str], batch: set[str], replace: bool
) -> _Planned:
    """Decide where an upload is saved so that it never takes another source's document id.

    ``owners`` maps document-id stems to their sources (``doc_owners``), ``batch`` holds the
    stems already used by this upload batch. The same name as an earlier upload is replaced
    only with ``replace`` (or when the bytes are identical: nothing changes); otherwise the
    file gets a free name and the note says why.
    """
    safe = safe_filename(name)
    target = folder / safe
    stem = target.stem
    own = str(target)
    owner = owners.get(stem)
    earlier_upload = target.exists() and owner in (None, own) and stem not in batch
    if earlier_upload and (replace or target.read_bytes() == data):
        return _Planned(target, replace=target if replace else None)

    def taken(
        s: str,
    ) -> bool:  # by an indexed document, this batch, or any upload file of that stem
        return s in owners or s in batch or any((folder / f"{s}{x}").exists() for x in SUPPORTED)

    if not taken(stem) and safe != CATALOG_NAME:
        return _Planned(target)
    new = free_name(safe, taken)
    if stem in batch:
        why = "同一批上传中已有同名文件"
    elif earlier_upload:
        why = f"已有同名的上传文件“{safe}”（如要用本文件替换它，请选择“替换同名的已上传文件”）"
    elif safe == CATALOG_NAME:
        why = f"“{CATALOG_NAME}”是目录说明文件的保留名称"
    else:
        why = f"文档编号“{stem}”已被“{Path(owner or safe).name}”使用"
    return _Planned(folder / new, f"{why}，已另存为 {new}")


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
            out.append(
                FileResult(path.name, status, f.documents if status != "failed" else 0, f.reason)
            )
    return out


def add_uploads(
    index: PolicyIndex,
    settings: Settings,
    ingest: Ingest,
    files: Sequence[tuple[str, bytes | Path]],
    replace: bool = False,
    page_progress: Callable[[str, int, int], None] | None = None,
) -> list[FileResult]:
    """Save and ingest uploaded files ((name, content) pairs), one result per file, in order.

    With ``replace`` an upload of the same name as an earlier upload replaces it (the old
    file is kept in ``replaced/`` and named in the result); nothing else is ever replaced.
    ``page_progress(path, page, pages)`` hears about each OCR'd page (scans are slow).
    """
    results: dict[int, FileResult] = {}
    saved: dict[int, _Planned] = {}
    folder = uploads_dir(settings)
    with index.writing():
        owners = doc_owners(index.doc_hashes())
        batch: set[str] = set()
        for i, (name, content) in enumerate(files):
            given = Path(str(name).replace("\\", "/")).name or str(name)
            try:
                data = read_upload(settings, content)
                plan = plan_upload(name, data, folder, owners, batch, replace)
                if plan.replace is not None:
                    plan = _Planned(
                        plan.target, plan.note, _keep_old_version(settings, plan.target)
                    )
                _write(plan.target, data)
            except LoadError as e:
                results[i] = FileResult(safe_or(given), "failed", 0, str(e))
                continue
            batch.add(plan.target.stem)
            saved[i] = plan
        if saved:
            paths = [p.target for p in saved.values()]
            # prune: rows a replaced ledger no longer has
            report = ingest(paths, prune=True, page_progress=page_progress)
            for i, r in zip(saved, _results(report, paths), strict=True):
                plan = saved[i]
                note = "；".join(x for x in (plan.note, r.reason) if x)
                old = _describe_old(plan.replace) if plan.replace else ""
                if r.status == "failed" and plan.replace is not None:
                    plan.replace.replace(
                        plan.target
                    )  # the new version failed: the old one comes back
                    old = ""
                elif r.status == "failed":
                    _remove_quietly(plan.target)
                results[i] = FileResult(r.file, r.status, r.documents, note, old)
    return [results[i] for i in range(len(files))]


def safe_or(name: str) -> str:
    """The cleaned name when there is one, else the name as given (for a failure result)."""
    try:
        return safe_filename(name)
    except LoadError:
        return name


def _keep_old_version(settings: Settings, target: Path) -> Path:
    """Move an upload about to be replaced into ``replaced/`` under a time-stamped name."""
    keep = replaced_dir(settings) / f"{time.strftime('%Y%m%d-%H%M%S')}-{target.name}"
    try:
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), keep)
    except OSError as e:
        raise LoadError(f"无法保存旧版本：{e.strerror or type(e).__name__}") from e
    return keep


def _describe_old(kept: Path) -> str:
    """ "通知.txt（旧版本 1234 字节，已另存为 replaced/20261201-101500-通知.txt）"."""
    name = kept.name.split("-", 2)[-1]
    return f"{name}（旧版本 {kept.stat().st_size} 字节，已另存为 replaced/{kept.name}）"


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError as e:
        log.warning("could not remove %s: %s", path, e)


def delete_document(index: PolicyIndex, settings: Settings, doc_id: str) -> int:
    """Remove a document from the index (and its uploaded file, if it was uploaded).

    Returns the number of chunks deleted; ``QueryError`` when no such document exists.
    """
    with index.writing():
        hashes = index.doc_hashes()
        rows = _sheet_rows(hashes, doc_id) if doc_id not in hashes else []
        if doc_id not in hashes and not rows:
            raise QueryError(f"文档不存在：{doc_id}")
        ids = rows or [doc_id]
        source = hashes[ids[0]][1]
        deleted = index.delete_documents(ids)
        src = Path(source).resolve() if source else None
        folder = uploads_dir(settings).resolve()
        if src and folder in src.parents and src.exists():
            others = [d for d, (_, s) in hashes.items() if s == source and d not in ids]
            if not others:
                _remove_quietly(src)
    return deleted


def reindex(index: PolicyIndex, settings: Settings, ingest: Ingest) -> IngestReport:
    """Re-read the corpus folders and the uploads folder: changed files are re-indexed,
    documents whose files are gone are removed, BM25 is rebuilt."""
    roots = [Path(p) for p in settings.corpus_dirs if Path(p).exists()]
    if uploads_dir(settings).exists():
        roots.append(uploads_dir(settings))
    with index.writing():
        report = ingest(roots, prune=True) if roots else IngestReport()
        index.rebuild_bm25()
    return report


def _sheet_rows(hashes: dict[str, tuple[str, str]], sheet: str) -> list[str]:
    """The doc ids of a ledger sheet's rows ("projects" → ["projects#row2", …]), in row order."""
    rows = [d for d in hashes if (m := LEDGER_ROW.match(d)) and m.group("sheet") == sheet]
    return sorted(rows, key=lambda d: int(d.rsplit("#row", 1)[1]))


def _sheet_title(sheet: str, source: Any) -> str:
    """A ledger sheet's name in the library: its file's, and the sheet's for the second and later
    sheets of a workbook ("台账#第二批" → "台账.xlsx › 第二批")."""
    name = Path(str(source or sheet)).name
    return f"{name} › {sheet.split('#', 1)[1]}" if "#" in sheet else name


def documents(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The library's list: every document with its metadata and chunk count, except that a
    project-ledger sheet is one entry (doc id = the sheet's, e.g. "projects") with its row
    count in ``rows`` instead of one entry per row. ``rows``: ``PolicyQA.documents()``."""
    out: list[dict[str, Any]] = []
    sheets: dict[str, dict[str, Any]] = {}
    for d in rows:
        m = LEDGER_ROW.match(d["doc_id"])
        if d.get("kind") != "project_record" or not m:
            out.append(d)
            continue
        sheet = sheets.get(m.group("sheet"))
        if sheet is None:
            sheet = sheets[m.group("sheet")] = d | {
                "doc_id": m.group("sheet"),
                "chunks": 0,
                "rows": 0,
                "title": _sheet_title(m.group("sheet"), d.get("source")),
                "region": "",
                "date": "",
            }
            out.append(sheet)
        sheet["chunks"] += d["chunks"]
        sheet["rows"] += 1
    return sorted(out, key=lambda r: r["doc_id"])


def document_sections(
    index: PolicyIndex, doc_id: str
) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """A document's metadata and its text as (section path, [chunk texts]) in reading order;
    for a ledger sheet's id, its rows in order (section path "第N行")."""
    got = index.chunks(where={"doc_id": doc_id})
    if not got:
        rows_of = _sheet_rows(index.doc_hashes(), doc_id)
        if not rows_of:
            raise QueryError(f"文档不存在：{doc_id}")
        got = index.chunks(where={"doc_id": {"$in": rows_of}})
        rows = sorted(((t, m) for _, t, m in got), key=lambda r: int(r[1].get("x_row") or 0))
        meta = dict(rows[0][1]) | {
            "doc_id": doc_id,
            "title": _sheet_title(doc_id, rows[0][1].get("source")),
        }
        return meta, [(f"第{m.get('x_row')}行", [text]) for text, m in rows]
    rows = sorted(((t, m) for _, t, m in got), key=lambda r: int(r[1].get("ordinal") or 0))
    meta = dict(rows[0][1])
    sections: list[tuple[str, list[str]]] = []
    for text, m in rows:
        path = str(m.get("section_path") or "")
        if sections and sections[-1][0] == path:
            sections[-1][1].append(text)
        else:
            sections.append((path, [text]))
    return meta, sections
