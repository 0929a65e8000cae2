"""The package layout's rules, checked on the source: who may touch SQL."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "transcode"
#: Only these packages may import SQLAlchemy (or Alembic) or the ORM models.
SQL_PACKAGES = ("store", "coding", "analysis")
SQL_MODULES = ("sqlalchemy", "alembic", "transcode.store.schema", "transcode.store.db")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_only_store_coding_and_analysis_touch_sql():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        package = path.relative_to(PACKAGE).parts[0]
        if package in SQL_PACKAGES:
            continue
        sql = sorted(
            m for m in imported_modules(path) if any(m == s or m.startswith(s + ".") for s in SQL_MODULES)
        )
        if sql:
            offenders[str(path.relative_to(REPO))] = sql
    assert offenders == {}


def test_the_rule_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from sqlalchemy import select\n    import alembic.command\n")
    assert {"sqlalchemy", "sqlalchemy.select", "alembic.command"} <= imported_modules(module)
