"""The architecture holds: no import cycles, and the lower layers never import the upper ones.

The layers, bottom up: ``ingest`` (files → documents → chunks) knows nothing of ``rag``;
``rag.records`` (Hit, Citation, Answer) and ``rag.lexicon`` (shared word lists) import
nothing of ``rag`` but themselves; everything else may use them. The graph is read from the
source (every ``import``, module-level or inside a function), so a cycle cannot hide behind a
late import; the lowest layers are also imported for real, each in a fresh interpreter.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    files = [*ROOT.glob("ingest/**/*.py"), *ROOT.glob("rag/**/*.py"), ROOT / "app.py"]
    out = {}
    for path in sorted(files):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.update(
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            )
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle_from(start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_module_imports_itself_through_others():
    cycles = [c for name in GRAPH if (c := _cycle_from(name))]
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_ingest_never_imports_rag():
    upward = {
        n: sorted(d for d in deps if d.startswith("rag"))
        for n, deps in GRAPH.items()
        if n.startswith("ingest")
    }
    assert not {n: d for n, d in upward.items() if d}


@pytest.mark.parametrize("low", ["rag.records", "rag.lexicon"])
def test_the_lowest_rag_layers_import_nothing_above_them(low: str):
    mine = {n for n in GRAPH if n == low or n.startswith(low + ".")}
    above = {
        n: sorted(d for d in GRAPH[n] if d.startswith("rag") and d not in mine and d != "rag")
        for n in mine
    }
    assert not {n: d for n, d in above.items() if d}


@pytest.mark.parametrize(
    "module",
    [
        "rag.records",
        "rag.lexicon.places",
        "rag.lexicon.industries",
        "ingest.records",
        "ingest.clean",
        "ingest.chunk",
        "ingest.documents",
    ],
)
def test_a_low_module_imports_alone_without_rag(module: str):
    """In a fresh interpreter: the module imports, and pulls in no ``rag`` module above it."""
    layer = module.rsplit(".", 1)[0] if module.startswith("rag.lexicon") else module
    code = (
        f"import sys, {module}; "
        f"print(' '.join(m for m in sys.modules if m.startswith('rag') and m not in ('rag', {layer!r}) "
        f"and not m.startswith({layer + '.'!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_every_module_imports():
    for name in MODULES:
        importlib.import_module(name)
