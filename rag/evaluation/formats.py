"""Question sets in other shapes: BEIR folders and staff spreadsheets (``policyqa eval``).

- ``load_any(path)``: our JSONL set (``rag.evaluation.scoring.load_set``) or a BEIR folder.
- A BEIR folder holds ``queries.jsonl`` (``{"_id", "text"}``), ``qrels/test.tsv``
  (query-id, corpus-id, score; a header line) and optionally ``corpus.jsonl``
  (``{"_id", "title", "text"}``). A query's gold documents are its corpus-ids with
  score > 0 (graded scores count as relevant alike); it has no answer strings, so its
  hits are judged by document alone. Queries without a qrels line are left out, as BEIR
  does; a query whose qrels are all 0 is unanswerable.
- ``DocResolver`` finds index documents by doc id, 文号, file name or title;
  ``resolve_gold`` maps BEIR corpus-ids onto the index's doc ids.
- ``import_sheet(path, resolver)``: a staff CSV/XLSX with the headers 问题 / 答案 /
  来源文件 / 类型 / 历史 (/ 编号) → JSONL set lines plus a problem per bad row.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rag.evaluation.scoring import EvalItem, EvalSetError, load_set, normalize, parse_item

ANSWER_SEPARATORS = re.compile(r"[；;、|｜\r\n]+")
HISTORY_SEPARATORS = re.compile(r"[|｜\r\n]+")
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")
COLUMNS = {  # canonical field → accepted headers (compared without spaces and (…) notes)
    "question": ("问题", "question"),
    "answers": ("答案", "标准答案", "answers", "answer"),
    "source": ("来源文件", "来源", "source"),
    "type": ("类型", "题型", "问题类型", "type"),
    "history": ("历史", "上文", "history"),
    "id": ("编号", "id"),
}
REQUIRED = ("question", "answers", "source")


# ------------------------------------------------------------------------- BEIR


def is_beir(path: Path) -> bool:
    """A folder with queries.jsonl is read as BEIR."""
    return path.is_dir() and (path / "queries.jsonl").is_file()


@dataclass
class LoadedSet:
    """A question set, its format, BEIR corpus titles (corpus-id → title) and notes to show."""

    items: list[EvalItem]
    format: str  # "jsonl" | "beir"
    titles: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


def load_any(path: Path) -> LoadedSet:
    """A JSONL set file or a BEIR folder; ``EvalSetError`` names the file and line.

    load_any(Path("evals/sets/policy_qa.jsonl")).format → "jsonl"
    """
    if is_beir(path):
        return load_beir(path)
    if path.is_dir():
        raise EvalSetError(f"{path} 是目录，但不是 BEIR 格式（缺少 queries.jsonl）")
    return LoadedSet(load_set(path), "jsonl")


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f"无法读取 {path}：{e}") from e
    rows = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalSetError(f"{path.name} 第 {no} 行不是有效的 JSON（{e.msg}）") from e
        if not isinstance(obj, dict) or obj.get("_id") in (None, ""):
            raise EvalSetError(f"{path.name} 第 {no} 行不是带“_id”的 JSON 对象")
        rows.append((no, obj))
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """query-id → {corpus-id: score} from a BEIR qrels TSV (a header line is skipped).

    "query-id\\tcorpus-id\\tscore\\nq1\\td7\\t1\\n" → {"q1": {"d7": 1}}
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise EvalSetError(f"无法读取 BEIR 标注文件 {path}：{e.strerror or e}") from e
    qrels: dict[str, dict[str, int]] = {}
    for no, line in enumerate(lines, start=1):
        cols = line.split("\t") if "\t" in line else line.split()
        if not line.strip() or (no == 1 and not re.fullmatch(r"-?\d+", cols[-1].strip())):
            continue
        try:
            qid, cid, score = (c.strip() for c in cols)
            qrels.setdefault(qid, {})[cid] = int(score)
        except ValueError as e:
            raise EvalSetError(
                f"{path.name} 第 {no} 行应为“query-id<TAB>corpus-id<TAB>整数分数”"
            ) from e
    return qrels


def load_beir(folder: Path) -> LoadedSet:
    """The queries of ``folder`` that qrels/test.tsv judges, gold = corpus-ids with score > 0.

    A query's ``metadata`` may give ``type`` (default "beir") and ``history`` (earlier turns).
    """
    qrels_path = folder / "qrels" / "test.tsv"
    if not qrels_path.is_file():
        raise EvalSetError(f"BEIR 目录 {folder} 缺少 qrels/test.tsv")
    qrels = read_qrels(qrels_path)
    items, seen = [], set()
    for no, q in _jsonl(folder / "queries.jsonl"):
        qid, text, meta = str(q["_id"]), q.get("text"), q.get("metadata") or {}
        if not isinstance(text, str) or not text.strip():
            raise EvalSetError(f"queries.jsonl 第 {no} 行缺少查询文本“text”")
        if qid in seen:
            raise EvalSetError(f"queries.jsonl 第 {no} 行的 _id“{qid}”重复")
        seen.add(qid)
        if qid not in qrels:
            continue
        history = meta.get("history") if isinstance(meta, dict) else None
        kind = meta.get("type") if isinstance(meta, dict) else None
        items.append(
            EvalItem(
                id=qid,
                question=text,
                answers=(),
                type=kind if isinstance(kind, str) and kind else "beir",
                gold_docs=frozenset(c for c, s in qrels[qid].items() if s > 0),
                history=tuple(history)
                if isinstance(history, list) and all(isinstance(h, str) for h in history)
                else (),
            )
        )
    notes = []
    if unjudged := len(seen) - len(items):
        notes.append(f"{unjudged} 个查询在 qrels/test.tsv 中没有标注，未参与评测（与 BEIR 相同）")
    if unknown := sorted(set(qrels) - seen):
        notes.append(
            f"qrels/test.tsv 中 {len(unknown)} 个 query-id 不在 queries.jsonl 中，已忽略："
            + "、".join(unknown[:5])
        )
    if not items:
        raise EvalSetError(f"BEIR 目录 {folder} 中没有带标注的查询")
    gold = {d for i in items for d in i.gold_docs}
    titles = (
        {
            str(c["_id"]): str(c.get("title") or "")
            for _, c in _jsonl(folder / "corpus.jsonl")
            if str(c["_id"]) in gold
        }
        if (folder / "corpus.jsonl").is_file()
        else {}
    )
    return LoadedSet(items, "beir", titles, notes)


# ------------------------------------------------------------------------- resolving documents


def _key(text: str) -> str:
    return normalize(text).strip("《》“”\"'").lower()


class DocResolver:
    """Finds index documents (``PolicyQA.documents()`` rows) by what a person would write.

    resolve("002_b5bc0298a6f5538a") / resolve("焦政办〔2020〕9号") / resolve("002_b5bc0298a6f5538a.txt")
    / resolve("《焦作市人民政府办公室关于建立焦作市“7+X”招商引资工作机制的通知》") / resolve("7+X")
    → (["002_b5bc0298a6f5538a"], None). A file holding several documents gives them all.
    """

    def __init__(self, docs: Sequence[Mapping[str, Any]]) -> None:
        self.docs = [
            {k: str(d.get(k) or "") for k in ("doc_id", "title", "source", "doc_number")}
            for d in docs
        ]
        self.ids = {d["doc_id"] for d in self.docs}

    def resolve(self, value: str) -> tuple[list[str], str | None]:
        """Doc ids for a doc id, file name or stem, 文号, title or unique title part; else a problem."""
        value = value.strip()
        if value in self.ids:
            return [value], None
        key = _key(value)
        for field in ("file", "doc_number", "title"):
            found = [d["doc_id"] for d in self.docs if key and self._field(d, field, key)]
            if found:
                return sorted(found), None
        found = [d["doc_id"] for d in self.docs if len(key) >= 4 and key in _key(d["title"])]
        if len(found) == 1:
            return found, None
        if found:
            return [], (
                f"来源文件“{value}”匹配到多个文件（{'、'.join(found[:3])}…），"
                "请改填 doc_id、文件名或完整标题"
            )
        return [], f"来源文件“{value}”在索引中找不到（可填 doc_id、文件名、文号或标题）"

    @staticmethod
    def _field(doc: Mapping[str, str], field: str, key: str) -> bool:
        if field == "file":
            name = Path(doc["source"].replace("\\", "/")).name
            return key in (name.lower(), Path(name).stem.lower()) if name else False
        return bool(doc[field]) and _key(doc[field]) == key


def resolve_gold(loaded: LoadedSet, resolver: DocResolver) -> tuple[list[EvalItem], list[str]]:
    """BEIR items with corpus-ids mapped onto index doc ids, and a warning per unmapped id.

    A corpus-id X is kept when it is a doc id; else it maps to the one doc id ending in
    "#X" (``policyqa ingest corpus.jsonl`` names records ``corpus#<key>``), else to the
    document whose title equals X's title in corpus.jsonl.
    """
    mapping: dict[str, str] = {}
    warnings = []
    for cid in sorted({d for i in loaded.items for d in i.gold_docs} - resolver.ids):
        tail = [d for d in resolver.ids if d.endswith("#" + cid)]
        title = loaded.titles.get(cid, "")
        by_title = [d["doc_id"] for d in resolver.docs if title and _key(d["title"]) == _key(title)]
        match = tail if len(tail) == 1 else by_title if len(by_title) == 1 else []
        if match:
            mapping[cid] = match[0]
        else:
            warnings.append(
                f"corpus-id“{cid}”{f'（{title}）' if title else ''}不在索引中：相关查询将计为未命中"
            )
    items = [
        dataclasses.replace(i, gold_docs=frozenset(mapping.get(d, d) for d in i.gold_docs))
        for i in loaded.items
    ]
    return items, warnings


# ------------------------------------------------------------------------- staff spreadsheets


@dataclass(frozen=True)
class RowProblem:
    """A problem of one spreadsheet row: an ``error`` skips the row, a ``warning`` keeps it."""

    row: int
    level: str  # "error" | "warning"
    message: str


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value).strip()


def read_sheet(path: Path) -> list[tuple[int, list[str]]]:
    """(row number, cells) of a CSV (UTF-8 or GB18030) or the first sheet of an XLSX."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data = path.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            rows = list(csv.reader(io.StringIO(text)))
        elif suffix in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            book.close()
        else:
            raise EvalSetError(f"不支持的表格格式“{path.suffix}”：请另存为 .csv 或 .xlsx")
    except FileNotFoundError as e:
        raise EvalSetError(f"文件不存在：{path}") from e
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as e:
        raise EvalSetError(f"无法读取表格 {path}：{e}") from e
    return [
        (no, [_cell(c) for c in r])
        for no, r in enumerate(rows, start=1)
        if any(_cell(c) for c in r)
    ]


def _columns(header: Sequence[str]) -> dict[str, int]:
    canon = [_BRACKETS.sub("", "".join(h.split())).lower() for h in header]
    return {
        field: canon.index(name)
        for field, names in COLUMNS.items()
        for name in names
        if name in canon
    }


def import_sheet(
    path: Path, resolver: DocResolver
) -> tuple[list[dict[str, Any]], list[RowProblem]]:
    """Set lines (dicts ``load_set`` accepts) from a staff sheet, and the problems per row.

    Headers: 问题, 答案 (several separated by ；;、| or new lines), 来源文件 (doc id, file
    name, 文号 or title: see ``DocResolver``), optional 类型, 历史 (earlier questions, one per
    line or separated by |) and 编号 (id; default ``row<N>``). Rows without a question, with
    answers but no source or the reverse, or a repeated id are errors (skipped); a source
    not found in the index is a warning (kept as written, so it counts as a miss).
    """
    rows = read_sheet(path)
    if not rows:
        raise EvalSetError(f"表格 {path} 是空的")
    (_, header), body = rows[0], rows[1:]
    cols = _columns(header)
    if missing := [COLUMNS[f][0] for f in REQUIRED if f not in cols]:
        raise EvalSetError(f"表头缺少“{'”“'.join(missing)}”列（第 1 行为：{' | '.join(header)}）")
    lines: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for no, cells in body:
        get = {f: cells[i].strip() if i < len(cells) else "" for f, i in cols.items()}
        answers = [a.strip() for a in ANSWER_SEPARATORS.split(get["answers"]) if a.strip()]
        history = [h.strip() for h in HISTORY_SEPARATORS.split(get.get("history", "")) if h.strip()]
        qid = get.get("id") or f"row{no}"
        error = (
            "缺少问题"
            if not get["question"]
            else "有答案但没有来源文件（无答案的问题请把答案也留空）"
            if answers and not get["source"]
            else "有来源文件但没有答案"
            if get["source"] and not answers
            else f"编号“{qid}”重复"
            if qid in seen
            else None
        )
        if error:
            problems.append(RowProblem(no, "error", error + "：本行未导入"))
            continue
        gold: list[str] = []
        if get["source"]:
            gold, problem = resolver.resolve(get["source"])
            if problem:
                problems.append(RowProblem(no, "warning", problem + "：已按原文写入 source"))
                gold = [get["source"]]
        kind = get.get("type") or (
            "unanswerable" if not gold else "followup" if history else "general"
        )
        line: dict[str, Any] = {
            "id": qid,
            "question": get["question"],
            "answers": answers,
            "source": gold[0] if gold else None,
            "type": kind,
        }
        if gold[1:]:
            line["sources"] = gold[1:]
        if history:
            line["history"] = history
        try:
            parse_item(line, no)  # the line must load as a set line
        except EvalSetError as e:
            problems.append(RowProblem(no, "error", f"{e}：本行未导入"))
            continue
        seen.add(qid)
        lines.append(line)
    return lines, problems
