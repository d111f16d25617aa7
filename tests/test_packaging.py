"""The layout promises of ARCHITECTURE.md: one-way imports and a complete package list."""
from __future__ import annotations

import ast
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAPPING = {"canalis": "canalis", "store": "canalis.store", "ledger": "canalis.ledger", "executor": "canalis.executor"}


def _imports(py: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _package_modules(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_store_and_ledger_import_nothing_above_them():
    for folder, other in (("store", "canalis.ledger"), ("ledger", "canalis.store")):
        for py in _package_modules(folder):
            for name in _imports(py):
                assert not name.startswith(("canalis.executor", other)), f"{py} imports {name}"
                if name.startswith("canalis") and not name.startswith(MAPPING[folder]):
                    raise AssertionError(f"{py} imports {name}: {folder}/ must not depend on the face")


def test_executor_does_not_import_the_face():
    for py in _package_modules("executor"):
        for name in _imports(py):
            if name == "canalis" or (name.startswith("canalis.") and name.split(".")[1] not in ("store", "ledger", "executor")):
                raise AssertionError(f"{py} imports {name}: the executor must not depend on the face")


def test_every_package_is_listed_in_pyproject():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(cfg["tool"]["setuptools"]["packages"])
    found = set()
    for folder, dotted in MAPPING.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((dotted, *rel)))
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; listed but absent: {sorted(listed - found)}"
