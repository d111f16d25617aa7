"""`canalis submit` runs its FILE as runpy.run_path runs a `.py` file (canalis/cli/pipeline_file.py)."""
from __future__ import annotations

import py_compile
import runpy
import sys

import pytest

from canalis.cli.pipeline_file import run_file

#: a file that records how it sees itself while it runs
SEES = '''"""the file's docstring"""
import dataclasses
import sys

seen = {
    "name": __name__, "file": __file__, "package": __package__, "doc": __doc__, "spec": __spec__,
    "loader": __loader__, "cached": __cached__, "argv0": sys.argv[0],
    "in_sys_modules": sys.modules[__name__].__dict__ is globals(),
}


@dataclasses.dataclass
class Row:  # a dataclass looks its module up in sys.modules by name
    a: int = 1


row = Row()
'''


def _view(namespace: dict) -> dict:
    return {"seen": namespace["seen"], "names": sorted(k for k in namespace if k != "__builtins__"),
            "row": dataclass_fields(namespace["row"]), "doc": namespace["__doc__"], "name": namespace["__name__"]}


def dataclass_fields(obj):
    import dataclasses

    return dataclasses.asdict(obj)


@pytest.mark.parametrize("run_name", ["__canalis_submit__", "pkg.sub.mod"])
def test_a_file_sees_and_leaves_what_runpy_shows_it(tmp_path, run_name):
    path = tmp_path / "pipeline.py"
    path.write_text(SEES)
    argv0, modules = sys.argv[0], set(sys.modules)
    ours = run_file(str(path), run_name=run_name)
    assert sys.argv[0] == argv0 and set(sys.modules) == modules  # put back as it was
    theirs = runpy.run_path(str(path), run_name=run_name)
    assert _view(ours) == _view(theirs)
    assert ours["seen"]["in_sys_modules"] and ours["seen"]["argv0"] == str(path)


def test_a_module_of_that_name_is_put_back(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text("x = 1\n")
    import types

    before = types.ModuleType("__canalis_submit__")
    sys.modules["__canalis_submit__"] = before
    try:
        assert run_file(str(path), run_name="__canalis_submit__")["x"] == 1
        assert sys.modules["__canalis_submit__"] is before
    finally:
        del sys.modules["__canalis_submit__"]


def test_a_mistake_in_the_file_is_reported_as_runpy_reports_it(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text("x = (\n")
    with pytest.raises(SyntaxError) as ours:
        run_file(str(path), run_name="__canalis_submit__")
    with pytest.raises(SyntaxError) as theirs:
        runpy.run_path(str(path), run_name="__canalis_submit__")
    assert (ours.value.filename, ours.value.lineno, ours.value.msg) == (
        theirs.value.filename, theirs.value.lineno, theirs.value.msg)


def test_an_error_the_file_raises_names_its_line(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text("x = 1\nraise RuntimeError('from the file')\n")
    with pytest.raises(RuntimeError, match="from the file") as raised:
        run_file(str(path), run_name="__canalis_submit__")
    last = raised.traceback[-1]
    assert str(last.path) == str(path) and last.lineno == 1  # 0-based: the file's second line
    assert "__canalis_submit__" not in sys.modules


def test_a_compiled_file_is_run_as_runpy_runs_it(tmp_path):
    source = tmp_path / "pipeline.py"
    source.write_text("x = 41 + 1\n")
    compiled = tmp_path / "pipeline.pyc"
    py_compile.compile(str(source), cfile=str(compiled), doraise=True)
    assert run_file(str(compiled), run_name="__canalis_submit__")["x"] == 42
