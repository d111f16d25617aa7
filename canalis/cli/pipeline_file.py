"""Running the pipeline file a `canalis submit` names, as `runpy.run_path(FILE, run_name=...)`
runs a `.py` file: a fresh module `run_name` (in `sys.modules` while the file runs, so that the
classes it defines can be found by name), `__file__` set to FILE, `sys.argv[0]` set to FILE
meanwhile, and a copy of the module's globals returned.

run_path first asks `pkgutil` whether FILE is a folder or a zip archive to run as a package;
a submit's FILE is a `.py` file (submitting.py checks it is a file), and pkgutil and what it
loads cost a fully reused submit about 1.7 ms of its 100. tests/canalis/test_pipeline_file.py
compares the two."""
from __future__ import annotations

import io
import sys
import types


def run_file(path: str, run_name: str) -> dict:
    """The globals of the Python source file `path` after running it as module `run_name`
    (anything else, a compiled `.pyc` say, is handed to runpy.run_path itself)."""
    with io.open_code(path) as f:
        source = f.read()
    try:
        code = compile(source, path, "exec")
    except (SyntaxError, ValueError):  # not Python source, or a mistake in it: runpy says which
        import runpy

        return runpy.run_path(path, run_name=run_name)
    module = types.ModuleType(run_name)
    module.__dict__.update(__file__=path, __cached__=None, __loader__=None, __package__=run_name.rpartition(".")[0],
                           __spec__=None)
    had_module, old_module = run_name in sys.modules, sys.modules.get(run_name)
    old_argv0 = sys.argv[0] if sys.argv else None
    sys.modules[run_name] = module
    if sys.argv:
        sys.argv[0] = path
    try:
        exec(code, module.__dict__)
        return module.__dict__.copy()  # the module's globals may be cleared when it goes away
    finally:
        if sys.argv:
            sys.argv[0] = old_argv0
        if had_module:
            sys.modules[run_name] = old_module
        else:
            sys.modules.pop(run_name, None)
