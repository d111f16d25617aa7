"""What a submit costs, as invariants (never timings): what `canalis submit` imports, how often
a source folder is snapshotted, how many `git` processes read a repository's metadata."""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.canalis.conftest import write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
steps, prev = [], None
for i in range(4):
    out = OutputFileDatasetConfig(name=f"d{i}")
    folder = os.path.join(here, "a" if i % 2 == 0 else "b")  # two folders, two steps each
    args = ([prev.as_input()] if prev is not None else ["-"]) + [out]
    steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=folder, arguments=args))
    prev = out
pipeline = Pipeline(ws, steps)
"""
STEP = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(inp, "data.txt")).read() if inp != "-" else "seed"
open(os.path.join(out, "data.txt"), "w").write(data + ".")
"""

#: what a submit of a fully reused pipeline must not load: data libraries, the terminal UI (its
#: output is not a terminal here), sqlite-utils' table machinery, the server, containers and
#: clusters, and the parts of canalis it does not use: a run whose every step is reused starts
#: no process and runs no step (executor/noop.py)
NOT_IMPORTED = ("pandas", "pyarrow", "numpy", "sqlite_utils", "rich", "pygments", "jinja2", "fastapi", "starlette",
                "uvicorn", "pydantic", "docker", "distributed", "dask", "yaml", "hmac",
                "canalis.train.automl", "canalis.server", "canalis.executor.schedules", "canalis.executor.recurrence",
                "canalis.executor.tokens", "canalis.executor.published", "canalis.executor.steprun",
                "canalis.executor.runners.docker", "canalis.executor.runners.dask", "canalis.core.run_view",
                "canalis.executor_main", "canalis.pipeline.steps.data_transfer_step",
                "canalis.pipeline.steps.cloud_steps", "dateutil", "concurrent.futures",
                # nor what only other verbs use: the look at executor and step processes (a run the
                # ledger shows ended needs none), preview, resume, cancel, and building an
                # environment (a reused step builds none)
                "canalis.executor.channel", "canalis.executor.preview", "canalis.executor.why",
                "canalis.executor.resume", "canalis.executor.cancel", "canalis.executor.venvs",
                # shell completion is loaded when something is completed; sockets when one is opened
                "click.shell_completion", "socket",
                # starting processes (a reused run starts none), and strptime's parser (the ledger
                # reads a time from its fields)
                "canalis.executor.launch", "canalis.executor.standby", "_strptime",
                # SDK classes the pipeline does not use (canalis.core loads each on first use)
                "canalis.core.compute", "canalis.core.model", "canalis.core.script_run_config",
                "canalis.core.dataset")

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A git repository holding a workspace and a 4-step chain over two source folders, run once."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from canalis import layout

    root = tmp_path_factory.mktemp("costs") / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    write(root / "a" / "step.py", STEP)
    write(root / "b" / "step.py", STEP)
    write(root / ".gitignore", ".canalis/\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "first")
    _git(root, "remote", "add", "origin", "https://example.invalid/proj.git")
    submit(root)
    return root


def submit(root, *python_args, env=None):
    out = subprocess.run([sys.executable, *python_args, "-m", "canalis", "submit", "pipeline.py", "-e", "costs", "--json"],
                         cwd=root, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_a_reused_submit_imports_only_what_it_uses(project):
    import json

    out = submit(project, "-X", "importtime")
    summary = json.loads(out.stdout)
    assert {s["status"] for s in summary["steps"]} == {"Reused"}
    # recorded by this process (the importtime measured is all there is): run.started names its pid
    from canalis import layout

    led = layout.find(project).open_ledger()
    try:
        pids = {r.type: r.payload["pid"] for r in led.events(stream=f"run:{summary['run_id']}")
                if r.type in ("run.submitted", "run.started")}
    finally:
        led.close()
    assert pids["run.started"] == pids["run.submitted"]
    imported = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", out.stderr, re.MULTILINE))
    assert "canalis.ledger.events" in imported  # the measure does see canalis's own imports
    loaded = sorted(m for m in imported if any(m == n or m.startswith(n + ".") for n in NOT_IMPORTED))
    assert loaded == []


def test_git_metadata_is_read_with_one_process_per_repository(project, tmp_path):
    """Four steps in two folders of one repository: one `git` process, and each step records
    the same metadata as git itself gives for its folder."""
    log = tmp_path / "git-calls.txt"
    shim = tmp_path / "bin"
    shim.mkdir()
    real = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n')
    (shim / "git").chmod(0o755)
    write(project / "b" / "notes.txt", "changed\n")  # untracked: not dirty
    (project / "b" / "step.py").write_text((project / "b" / "step.py").read_text() + "\n# edited\n")  # b is dirty
    try:
        env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
        submit(project, env=env)
    finally:
        _git(project, "checkout", "--", "b/step.py")
        (project / "b" / "notes.txt").unlink()
    calls = [line for line in log.read_text().splitlines() if line]
    assert len(calls) == 1, calls

    from canalis import layout

    led = layout.find(project).open_ledger()
    try:
        plan = led.run_plan(led.runs("costs")[0].run_id)
    finally:
        led.close()
    commit = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    gits = {s["name"]: s["git"] for s in plan["steps"]}
    expected = {"root": str(project.resolve()), "commit": commit, "branch": _branch(project),
                "remote": "https://example.invalid/proj.git"}
    assert gits["s0"] == {**expected, "dirty": False} == gits["s2"]
    assert gits["s1"] == {**expected, "dirty": True} == gits["s3"]


def _branch(root):
    return subprocess.run(["git", "-C", str(root), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def test_each_source_folder_is_snapshotted_once_per_submit(project, monkeypatch):
    """The store's own snapshot runs (counted, not replaced): once per distinct source folder."""
    import runpy

    from canalis.core import Experiment
    from canalis.store.local import LocalStore

    seen = []
    real = LocalStore.snapshot

    def counting(self, folder, *args, **kwargs):
        seen.append(Path(folder).resolve())
        return real(self, folder, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "snapshot", counting)
    pipeline = runpy.run_path(str(project / "pipeline.py"))["pipeline"]
    run = Experiment(pipeline._workspace, "costs").submit(pipeline)
    assert run.wait_for_completion() == "Completed"
    sources = [p for p in seen if p.name in ("a", "b")]
    assert sorted(sources) == sorted({project.resolve() / "a", project.resolve() / "b"})


def tree_reads(monkeypatch) -> list:
    """The digests of the trees the store reads from now on (its own reads, counted, not replaced)."""
    from canalis.store.local import LocalStore

    seen = []
    real, real_many = LocalStore.get_tree, LocalStore.get_trees

    def counting(self, digest, *args, **kwargs):
        seen.append(digest)
        return real(self, digest, *args, **kwargs)

    def counting_many(self, digests, *args, **kwargs):  # several read together: each read counts
        found = real_many(self, digests, *args, **kwargs)
        seen.extend(found)
        return found

    monkeypatch.setattr(LocalStore, "get_tree", counting)
    monkeypatch.setattr(LocalStore, "get_trees", counting_many)
    return seen


def test_each_source_tree_is_read_once_per_plan(project, monkeypatch):
    """Planning checks each step's script in its source tree: four steps whose two folders hold
    the same files (so one source tree) read it once (the store's own reads, counted, not replaced)."""
    import runpy

    seen = tree_reads(monkeypatch)
    plan = runpy.run_path(str(project / "pipeline.py"))["pipeline"].plan()
    sources = [s.source_tree for s in plan.steps]
    assert len(sources) == 4 and len(set(sources)) == 1
    assert [d for d in seen if d in sources] == sources[:1]


def test_a_reused_submit_reads_each_tree_once(project, monkeypatch):
    """A fully reused run checks each step's output tree (reuse, executor/reuse.py) and binds
    the next step to it: one read of each tree serves both (the store's own reads, counted)."""
    import runpy
    from collections import Counter

    from canalis.core import Experiment

    seen = tree_reads(monkeypatch)
    pipeline = runpy.run_path(str(project / "pipeline.py"))["pipeline"]
    run = Experiment(pipeline._workspace, "costs").submit(pipeline)
    assert run.wait_for_completion() == "Completed"
    assert _count(project, run.id, "step.reused") == 4  # every step reused: recorded by this process
    assert len(seen) >= 4 and [d for d, n in Counter(seen).items() if n > 1] == []


def _count(root, run_id, type_):
    from canalis import layout

    led = layout.find(root).open_ledger()
    try:
        return sum(r.type == type_ for r in led.events(stream=f"run:{run_id}"))
    finally:
        led.close()


# -- a plain `canalis submit` parses its command line without click (canalis/cli/entry.py) --

#: what only the click command line needs: click itself and the CLI modules built on it
CLICK_SIDE = ("click", "canalis.cli.group", "canalis.cli.run_cmds", "canalis.cli.common", "canalis.cli.errors",
              "canalis.cli.completion")


def _console_script() -> list[str]:
    """The installed `canalis` command as pyproject.toml declares it: the wrapper pip writes
    (`from MODULE import ATTR; sys.exit(ATTR())`) for its console script."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    module, attr = tomllib.loads(pyproject.read_text())["project"]["scripts"]["canalis"].split(":")
    wrapper = f"import sys\nsys.argv[0] = 'canalis'\nfrom {module} import {attr}\nsys.exit({attr}())\n"
    return ["-c", wrapper]


@pytest.mark.parametrize("how", ["canalis", "python -m canalis"])
def test_a_reused_submit_imports_no_click(project, how):
    import json

    command = [*_console_script()] if how == "canalis" else ["-m", "canalis"]
    out = subprocess.run([sys.executable, "-X", "importtime", *command, "submit", "pipeline.py", "-e", "costs", "--json"],
                         cwd=project, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert {s["status"] for s in json.loads(out.stdout)["steps"]} == {"Reused"}
    imported = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", out.stderr, re.MULTILINE))
    assert "canalis.executor.runlog" in imported  # the measure does see the submit's own imports
    assert sorted(m for m in imported if any(m == n or m.startswith(n + ".") for n in CLICK_SIDE)) == []


# -- the work of a no-op re-submit, counted (never timed) -------------------------------------------------------------


def _reused_submit(project, monkeypatch):
    """Submit the project's pipeline in this process; every step is reused (recorded by this process)."""
    import runpy

    from canalis.core import Experiment

    pipeline = runpy.run_path(str(project / "pipeline.py"))["pipeline"]
    run = Experiment(pipeline._workspace, "costs").submit(pipeline)
    assert run.wait_for_completion() == "Completed"
    assert _count(project, run.id, "step.reused") == 4
    return run


def test_a_reused_submit_stores_the_packages_blob_once(project, monkeypatch):
    """Each reused step records `step.environment` naming the interpreter's packages blob: the
    four steps name one blob, stored once (the store's own `put_bytes`, counted, not replaced)."""
    from canalis.executor.stepenv import current_interpreter
    from canalis.store.local import LocalStore

    packages, _ = current_interpreter()
    blob = ("\n".join(packages) + "\n").encode()
    puts = []
    real = LocalStore.put_bytes

    def counting(self, data):
        puts.append(bytes(data))
        return real(self, data)

    monkeypatch.setattr(LocalStore, "put_bytes", counting)
    run = _reused_submit(project, monkeypatch)
    assert puts.count(blob) == 1
    from canalis import layout

    led = layout.find(project).open_ledger()
    try:
        named = [r.payload["packages"] for r in led.events(stream=f"run:{run.id}", type="step.environment")]
    finally:
        led.close()
    assert len(named) == 4 and len(set(named)) == 1 and named[0] is not None


def test_each_source_folder_is_resolved_once_per_plan(project, monkeypatch):
    """Four steps in two source folders: planning resolves each folder's path (follows its
    links) once (the paths planning makes, counted: their own `resolve` runs)."""
    import runpy

    from canalis.pipeline.core import compile as compile_module

    seen = []

    class CountingPath(type(Path())):
        def resolve(self, *args, **kwargs):
            found = super().resolve(*args, **kwargs)
            seen.append(Path(found))
            return found

    monkeypatch.setattr(compile_module, "Path", CountingPath)
    plan = runpy.run_path(str(project / "pipeline.py"))["pipeline"].plan()
    assert len(plan.steps) == 4
    assert sorted(seen) == [project.resolve() / "a", project.resolve() / "b"]


def test_a_packed_tree_is_read_without_a_stream_reader(tmp_path, monkeypatch):
    """A tree manifest in a pack is small: read whole and decoded, no streaming reader made
    (the store's reader class, counted, not replaced); a loose one is still streamed."""
    from canalis.store import blob as _blob
    from canalis.store.local import LocalStore
    from canalis.store.tree import TreeEntry

    store = LocalStore(tmp_path / "objects")
    write(tmp_path / "f" / "a.txt", "a\n")
    write(tmp_path / "f" / "b.txt", "b\n")
    with store.together() as objects:  # as a step's outputs are stored (executor/steprun.py): trees packed
        packed = objects.snapshot(tmp_path / "f").tree
    assert store.locate(packed).pack is not None
    loose = store.put_tree([TreeEntry("x.txt", "file", 0o644, 2, store.put_bytes(b"x\n"))])
    assert store.locate(loose).pack is None
    made = []
    real = _blob.BlobReader

    class Counting(real):
        def __init__(self, *args, **kwargs):
            made.append(args[1])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_blob, "BlobReader", Counting)
    assert [e.path for e in store.get_tree(packed)] == ["a.txt", "b.txt"]
    assert made == []
    assert [e.path for e in store.get_tree(loose)] == ["x.txt"]
    assert made == [loose]


def test_a_reused_submit_takes_the_installed_packages_kept_by_an_earlier_process(project, monkeypatch):
    """What the current interpreter has installed is listed (freeze.installed) by the first
    process only: a later one, its path's folders unchanged, takes the answer kept in
    `.canalis/envs` (executor/installed_cache.py) and records the same packages blob."""
    from canalis.executor import freeze, stepenv

    monkeypatch.setattr(stepenv, "_current", {})  # as in a new process: the answer for this path is kept
    _reused_submit(project, monkeypatch)
    listings = []
    real = freeze.installed

    def counting(*args, **kwargs):
        listings.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(stepenv, "_current", {})  # as in a new process
    monkeypatch.setattr(freeze, "installed", counting)
    run = _reused_submit(project, monkeypatch)
    assert listings == []
    from canalis import layout

    led = layout.find(project).open_ledger()
    try:
        envs = [r.payload for r in led.events(stream=f"run:{run.id}", type="step.environment")]
    finally:
        led.close()
    packages = real(stepenv.interpreter_path())
    expected = layout.find(project).open_store().put_bytes(("\n".join(packages) + "\n").encode())
    assert [e["packages"] for e in envs] == [expected] * 4
    assert [e["package_count"] for e in envs] == [len(packages)] * 4


def _ledger_statements(monkeypatch) -> list:
    """The SQL statements of the ledger connections opened from now on (sqlite3's trace callback)."""
    import sqlite3

    from canalis.ledger import log

    statements = []
    real = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        if str(args[0] if args else kwargs.get("database")).endswith("ledger.db"):
            conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(log.sqlite3, "connect", connect)
    return statements


def test_a_reused_submit_looks_its_steps_up_with_a_few_queries(project, monkeypatch):
    """Four reused steps: their reuse candidates are read together (the keys of the experiment's
    latest run, one query for their candidates), and recording them reads their step_runs rows
    with one query, not one per step (the ledger's own statements, traced)."""
    _reused_submit(project, monkeypatch)  # the latest run is a re-submit of the same pipeline
    statements = _ledger_statements(monkeypatch)
    _reused_submit(project, monkeypatch)
    candidates = [s for s in statements if "FROM [reuse_index]" in s]
    step_rows = [s for s in statements if s.startswith("SELECT") and "FROM [step_runs]" in s]
    assert len(candidates) == 1, candidates
    assert len(step_rows) == 1, step_rows


def test_each_step_writes_its_environment_definition_once_per_plan(project, monkeypatch):
    """Planning records each step's environment definition and its digest: one definition
    serves both (the SDK's own `definition`, counted, not replaced)."""
    import runpy

    from canalis.core.environment import Environment

    made = []
    real = Environment.definition

    def counting(self):
        made.append(self.name)
        return real(self)

    monkeypatch.setattr(Environment, "definition", counting)
    plan = runpy.run_path(str(project / "pipeline.py"))["pipeline"].plan()
    assert len(made) == len(plan.steps) == 4
    import json

    import blake3

    for s in plan.steps:  # the digest is still that of the definition recorded beside it
        text = json.dumps(s.environment["definition"], sort_keys=True, separators=(",", ":"))
        assert s.environment["digest"] == blake3.blake3(text.encode()).hexdigest()


# -- modules a fully reused submit does not use -------------------------------------------------
#: what a fully reused submit must not load (the standard library's and canalis's own): record
#: classes are not made with `dataclasses` (and the `inspect`, `ast`, `dis`, `tokenize` it
#: brings), ids not with `uuid` (`platform` is zstandard's own import), the user name not with
#: `getpass`, a time's seconds not with `calendar` (`datetime` is sqlite3's own import); running a step (runners, the step's clock,
#: running out of space), canalis's copy for a built environment (runtime), the look at executor
#: processes (orphans: a run the ledger shows ended has none), large files as chunks, wildcards in
#: data paths (`glob`), command lines given as text (`shlex`) and the dataset classes a pipeline
#: does not name are imported when used
NOT_LOADED_BY_A_REUSED_SUBMIT = (
    "dataclasses", "inspect", "ast", "dis", "tokenize", "uuid", "_uuid", "getpass", "termios",
    "calendar", "glob", "shlex",
    "shutil", "random",  # what removes folders, finds programs or waits a random while before a retry
    "pkgutil",  # runpy.run_path asks it whether FILE is a folder or zip (canalis/cli/pipeline_file.py)

    "canalis.executor.runners", "canalis.executor.nospace", "canalis.executor.stepprofile",
    "canalis.executor.outcome", "canalis.executor.runtime", "canalis.executor.orphans", "canalis.store.chunked",
    "canalis.data.tabular_dataset", "canalis.data.file_dataset",
    # a pipeline with no dataset, DataPath or datastore: their classes are not loaded to be asked about
    "canalis.data.abstract_dataset", "canalis.data.data_reference", "canalis.data.dataset_consumption_config",
    "canalis.data.parameter_values", "canalis.data._sources", "canalis.core.datastore",
    "canalis.core.runconfig",  # nor a RunConfiguration
    "canalis.ledger.migrate", "canalis.ledger.stored_chain",  # upgrades an old ledger, verifies one
    "canalis.ledger.upcast",  # reads events (a reused submit appends them)
    "canalis.ledger.chain", "canalis.ledger.sqlite",  # verifies a damaged chain; makes projection tables
    "canalis.pipeline.core.pipeline_data",  # a pipeline of OutputFileDatasetConfig outputs uses no PipelineData
    "canalis.core.keyvault",  # reads no secret (its checks of values are canalis/core/secret_values.py)
)
#: nor, outside a git repository (where `git` tells a step's commit), processes and signals
NOT_LOADED_OUTSIDE_GIT = ("subprocess", "signal", "selectors", "_posixsubprocess")

#: records the name of every module the process looks for, as it looks (a finder ahead of the
#: others, which finds nothing itself): the list holds however the process ends
_RECORD_IMPORTS = """
import os, sys
fd = os.open(os.environ["CANALIS_TEST_IMPORTS"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.write(fd, ("\\n".join(sys.modules) + "\\n").encode())
class Seen:
    @staticmethod
    def find_spec(name, path=None, target=None):
        os.write(fd, (name + "\\n").encode())
sys.meta_path.insert(0, Seen)
"""


def modules_loaded(root, tmp_path, *args, env=None) -> tuple[set, subprocess.CompletedProcess]:
    """The modules a `canalis` command run as `python -m canalis ARGS` in `root` loads, and its output."""
    out_file = tmp_path / "imports.txt"
    out_file.unlink(missing_ok=True)
    code = _RECORD_IMPORTS + "import runpy; runpy.run_module('canalis', run_name='__main__', alter_sys=True)"
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=root, capture_output=True, text=True,
                         env={**os.environ, **(env or {}), "CANALIS_TEST_IMPORTS": str(out_file)})
    assert out.returncode == 0, out.stdout + out.stderr
    return set(out_file.read_text().split()), out


def _unused(loaded: set, names) -> list:
    """The modules of `names` (or in them) among `loaded`, but for those this interpreter loads
    before any program runs (its site-packages' .pth files may import a few)."""
    assert not any(m == "click" or m.startswith("click.") for m in loaded)  # the CLI's parser is not there either
    return sorted(m for m in loaded - _at_start() if any(m == n or m.startswith(n + ".") for n in names))


@functools.lru_cache(maxsize=None)
def _at_start() -> frozenset:
    out = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"], capture_output=True,
                         text=True, check=True)
    return frozenset(out.stdout.split())


def _modules_of_a_reused_submit(root, tmp_path) -> set:
    import json

    loaded, out = modules_loaded(root, tmp_path, "submit", "pipeline.py", "-e", "costs", "--json")
    assert {s["status"] for s in json.loads(out.stdout)["steps"]} == {"Reused"}
    assert {"canalis.ledger.events", "canalis.executor.noop", "canalis.store.local"} <= loaded  # the record sees all
    return loaded


def test_a_reused_submit_loads_no_module_it_does_not_use(project, tmp_path):
    assert _unused(_modules_of_a_reused_submit(project, tmp_path), NOT_LOADED_BY_A_REUSED_SUBMIT) == []


@pytest.mark.parametrize("steps", ["reused", "run"])
def test_what_the_command_loads_before_the_pipeline_file_a_submit_loads_anyway(project, tmp_path, steps):
    """The `canalis` command imports submitting.EVERY_SUBMIT_LOADS before it runs the pipeline
    file (to freeze them: canalis/cli/startup.py). Through click, which imports nothing ahead,
    a submit loads every one of them itself, whether its steps are reused or run."""
    import json

    from canalis.cli.submitting import EVERY_SUBMIT_LOADS

    args = ["submit", "pipeline.py", "-e", "costs", "--json"] + (["--regenerate-outputs"] if steps == "run" else [])
    loaded, out = modules_loaded(project, tmp_path, *args, env={"CANALIS_CLICK_ONLY": "1"})
    expected = {"reused": {"Reused"}, "run": {"Completed"}}[steps]
    assert {s["status"] for s in json.loads(out.stdout)["steps"]} == expected
    assert "click" in loaded  # through click indeed
    assert sorted(set(EVERY_SUBMIT_LOADS) - loaded) == []


def _project_outside_git(tmp_path):
    """The 4-step chain over two source folders in a workspace that is no git repository."""
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    write(root / "a" / "step.py", STEP)
    write(root / "b" / "step.py", STEP)
    return root


def test_a_reused_submit_outside_git_starts_and_loads_no_process_module(tmp_path):
    root = _project_outside_git(tmp_path)
    submit(root)
    names = NOT_LOADED_BY_A_REUSED_SUBMIT + NOT_LOADED_OUTSIDE_GIT
    assert _unused(_modules_of_a_reused_submit(root, tmp_path), names) == []


#: nor, when the stat cache knows every source file (files older than its trust window, as a
#: project's files are between two submits), the store's write batch: nothing is stored
NOT_LOADED_WHEN_NOTHING_IS_HASHED = ("canalis.store.batch",)


def test_a_reused_submit_of_files_the_stat_cache_knows_opens_no_write_batch(tmp_path):
    import time

    root = _project_outside_git(tmp_path)
    hour_ago = time.time() - 3600
    for f in (root / "pipeline.py", root / "a" / "step.py", root / "b" / "step.py"):
        os.utime(f, (hour_ago, hour_ago))
    submit(root)
    assert _unused(_modules_of_a_reused_submit(root, tmp_path), NOT_LOADED_WHEN_NOTHING_IS_HASHED) == []
