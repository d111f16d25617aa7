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
        for py in (ROOT / folder).rglob("*.py"):  # a folder of modules is a package, __init__.py or not
            rel = py.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in rel:
                found.add(".".join((dotted, *rel)))
    # a folder of data files only (the web UI's templates and static files) is a package named in package-data
    found |= set(cfg["tool"]["setuptools"].get("package-data", {}))
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; listed but absent: {sorted(listed - found)}"


def _sources(*folders):
    for folder in folders:
        for py in _package_modules(folder):
            yield py, py.read_text(encoding="utf-8")


def test_nothing_outside_the_ledger_runs_sql_on_it():
    """Projections are read through `Ledger`'s typed queries, under its lock; nobody else
    reaches for its connection or writes SQL against its tables."""
    import re

    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s.*\b(FROM|INTO|SET)\b", re.I)
    for py, text in _sources("executor", "canalis"):
        for attr in ("._conn", "._db", ".db.query", ".db.execute"):
            assert attr not in text, f"{py} reaches into the ledger's connection ({attr})"
        for line in text.splitlines():
            if sql.search(line) and ("step_runs" in line or "events" in line or " runs" in line):
                raise AssertionError(f"{py} runs SQL on the ledger: {line.strip()}")


def test_runs_are_started_and_recorded_only_through_the_session():
    """The SDK, the CLI, resume and reproduce reach runs only through executor/session.py:
    nothing else builds a run executor, records a submission or appends events from the face."""
    for py, text in _sources("executor", "canalis"):
        rel = py.relative_to(ROOT).as_posix()
        if rel != "executor/session.py":
            assert "RunExecutor(" not in text or rel == "executor/engine.py", f"{rel} builds a RunExecutor"
            assert "submitted_event(" not in text or rel == "executor/engine.py", f"{rel} records run.submitted"
        if rel.startswith("canalis/"):
            for call in (".append(ev.", "append_many(", "append_computed(", "import writing", "writing("):
                assert call not in text, f"{rel} writes the ledger or takes the gc lock itself ({call}); use the Session"
            if rel not in ("canalis/core/workspace.py", "canalis/layout.py"):
                assert ".workspace._layout" not in text and "ws._layout" not in text, \
                    f"{rel} reaches into the workspace's layout; ask the Workspace or the Session"


def _module_name(folder: str, py: pathlib.Path) -> str:
    parts = [p for p in py.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
    return ".".join([MAPPING[folder], *parts])


def test_no_import_cycles_even_through_deferred_imports():
    """No module imports one that (directly or through others) imports it back, counting
    imports inside functions: a cycle hidden by a deferred import is still tangled code."""
    modules = {}
    for folder in MAPPING:
        for py in _package_modules(folder):
            name = _module_name(folder, py)
            if folder != "canalis" or name.split(".")[1:2] not in (["store"], ["ledger"], ["executor"]):
                modules[name] = py
    graph = {}
    for name, py in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    edges.add(full if full in modules else node.module)
        graph[name] = {e for e in edges if e in modules and e != name}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_package_builds_without_setuptools_warnings(tmp_path):
    """`pip install .` builds the package the way this does (isolated, with the setuptools the
    build-system table asks for); its log holds no setuptools warning: the license is in the
    current form and every package is declared once."""
    import os
    import re
    import shutil
    import subprocess
    import sys

    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                                              ".hypothesis", ".pytest_cache", ".venv", "bench"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # (a note of distutils' only)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "wheel"),
                          str(src)], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    warned = [line for line in log.splitlines()
              if re.search(r"SetuptoolsDeprecationWarning|SetuptoolsWarning|_Warning|_BetaConfiguration|"
                           r"would be ignored|^\s*warning:", line)]
    assert not warned, "\n".join(warned)
    import zipfile

    (wheel,) = (tmp_path / "wheel").glob("canalis-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"canalis/quickstart/project/pipeline.py", "canalis/store/local.py"} <= set(names)
