"""The faces (API, web UI) reach the server only through `augenmass.control`, and the CLI reads
the store only through its query functions: checked on the import lines and names of the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "augenmass"
# What the faces may not import: the server's parts and the database layer.
FACE_FORBIDDEN = (
    "augenmass.server",
    "augenmass.store",
    "augenmass.state",
    "augenmass.runner",
    "augenmass.probes",
    "sqlalchemy",
)
# Tables and database handles the CLI must leave to the store's query functions.
CLI_FORBIDDEN = (
    "augenmass.store.schema",
    "augenmass.store.auth_schema",
    "augenmass.store.notify_schema",
    "augenmass.store.database",
    "sqlalchemy",
)


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module an import in the file names (`from a import b` counts as a and a.b)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _hits(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize(
    "path", _modules("api") + _modules("web"), ids=lambda p: str(p.relative_to(SRC))
)
def test_faces_import_only_the_control_interface(path: Path) -> None:
    assert _hits(path, FACE_FORBIDDEN) == []
    text = path.read_text()
    assert ".store.engine" not in text and "store.schema" not in text


@pytest.mark.parametrize("path", _modules("cli"), ids=lambda p: str(p.relative_to(SRC)))
def test_cli_reads_the_store_through_query_functions(path: Path) -> None:
    assert _hits(path, CLI_FORBIDDEN) == []
    assert ".engine" not in path.read_text().replace("augenmass.state import Engine", "")


def test_the_check_finds_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from augenmass.store import schema as t\nimport sqlalchemy as sa\n")
    assert _hits(bad, FACE_FORBIDDEN) == ["augenmass.store", "augenmass.store.schema", "sqlalchemy"]
