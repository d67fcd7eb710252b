"""The responsibility map as an XLSX sheet (and the column names the table views share).

``write_xlsx(rows, path)`` writes one row per record with its quote and source, so a sheet
handed to a colleague can be checked against the documents; it does not style or group.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.onboarding.records import Responsibility

COLUMNS = [
    "地区",
    "责任主体",
    "角色",
    "范围",
    "职责",
    "时限/频次",
    "原文",
    "来源文件",
    "文号",
    "章节",
]


def table_rows(rows: Sequence[Responsibility]) -> list[list[Any]]:
    """Rows of ``COLUMNS``: ("市商务局", 牵头单位, 招商二组 …) → ["焦作市", "市商务局", "牵头单位", "招商二组", …]."""
    return [
        [
            r.region,
            r.actor,
            r.role,
            r.scope,
            r.duty,
            r.deadline,
            r.passage.quote,
            f"《{r.passage.title}》",
            r.passage.doc_number,
            r.passage.section_path,
        ]
        for r in rows
    ]


def write_xlsx(rows: Sequence[Responsibility], path: Path) -> Path:
    """Write the map to ``path`` (sheet 职责清单, header row, one row per record)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "职责清单"
    ws.append(COLUMNS)
    for row in table_rows(rows):
        ws.append(row)
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJ", (10, 24, 10, 20, 40, 12, 60, 40, 18, 40), strict=True):
        ws.column_dimensions[col].width = width
    path = Path(path)
    wb.save(path)
    return path
