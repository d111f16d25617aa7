"""`canalis submit` parsed without click (canalis/cli/entry.py, canalis/cli/submit_args.py): the
parser gives the click command's own values or declines, knows every option of the command, and
a submit run either way writes the same output and exits with the same code."""
from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.cli import submit_args
from canalis.cli.run_cmds import submit as click_submit
from tests.canalis.conftest import write

ROOT = Path(__file__).resolve().parents[2]

# -- the parser, against click's ------------------------------------------------------------

FOLDERS = Path(__file__).resolve().parent  # an existing folder
A_FILE = Path(__file__).resolve()  # an existing regular file: refused by --workspace
LONG = sorted(o for o in submit_args.OPTIONS if o.startswith("--"))
TOKENS = [*submit_args.OPTIONS, "--help", "--", "-", "", "-qd", "-dq", "-eNAME", "-e=x", "-x", "--unknown", "--exp",
          "--quiet=1", "--json=", "pipeline.py", "other.py:p", "exp", "3", "-1", " 4 ", "+5", "1_0", "x", "a=1",
          'b={"k": [1, 2]}', "c=", "noeq", "=v", str(FOLDERS), str(A_FILE), "/nonexistent/ws", "a\0b"]
VALUES = ["", "exp", "3", "-1", "x", "a=1", "noeq", "=", "pipeline.py", str(FOLDERS), str(A_FILE), "--json", "7 ",
          "a\0b", "--"]


def click_params(argv):
    """What the click command's parser gives for `argv`, or None when it refuses it (or shows --help)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return click_submit.make_context("submit", list(argv)).params
        except (click.UsageError, click.exceptions.Exit):
            return None
        except ValueError:  # a NUL in --workspace's path: os.stat refuses it (click reports a fault)
            return None


FLAGS = sorted(o for o, (_, kind) in submit_args.OPTIONS.items() if kind == submit_args.FLAG)
VALUED = sorted(o for o, (_, kind) in submit_args.OPTIONS.items() if kind != submit_args.FLAG)
#: an option as it is written: a flag, an option and its value, `--option=value`, or a stray token
groups = st.one_of(st.sampled_from(FLAGS).map(lambda o: [o]),
                   st.tuples(st.sampled_from(VALUED), st.sampled_from(VALUES)).map(list),
                   st.builds(lambda o, v: [f"{o}={v}"], st.sampled_from(LONG), st.sampled_from(VALUES)),
                   st.sampled_from(TOKENS).map(lambda t: [t]))


@st.composite
def command_lines(draw):
    """Options written as they are, with a TARGET (sometimes none) among them."""
    parts = draw(st.lists(groups, max_size=7))
    target = draw(st.sampled_from(["pipeline.py", "p.py:other", "-", "", None]))
    if target is not None:
        parts.insert(draw(st.integers(0, len(parts))), [target])
    return [arg for part in parts for arg in part]


argvs = st.one_of(command_lines(), st.lists(st.sampled_from(TOKENS), max_size=9))


@settings(max_examples=1000, deadline=None)
@given(argvs)
def test_the_fast_parser_gives_clicks_values_or_declines(argv):
    fast = submit_args.parse(argv)
    expected = click_params(argv)
    if expected is None:
        assert fast is None, f"click refuses {argv!r}, the fast parser gave {fast!r}"
    elif fast is not None:
        assert fast == expected


@pytest.mark.parametrize("argv", [
    ["pipeline.py", "-e", "chain", "-q"],
    ["pipeline.py", "--experiment", "chain", "--json"],
    ["--experiment=chain", "pipeline.py:other", "--param", "a=1", "--param=b={\"k\": [1]}", "--param", "c=x"],
    ["-q", "pipeline.py", "-e", "e", "--regenerate-outputs", "--continue-on-step-failure", "--max-concurrent-steps", "2",
     "--compute=local", "-d", "--plain", "--dry-run", "--allow-secret-values", f"--workspace={FOLDERS}", "--json"],
    ["pipeline.py", "-e", "x", "-e", "y", "--max-concurrent-steps=3", "--max-concurrent-steps", "4"],
])
def test_the_common_forms_of_a_submit_are_parsed_here(argv):
    """The property above allows declining; these forms (how a submit is written) must not be declined."""
    fast = submit_args.parse(argv)
    assert fast is not None and fast == click_params(argv)


def test_the_fast_parser_knows_every_option_of_the_click_command():
    """Every option the click `submit` declares is in the fast parser's table, under the same
    keyword, of the same kind, with the same default; and the table holds nothing else."""
    declared = {}
    for p in click_submit.params:
        if isinstance(p, click.Argument):
            assert (p.name, p.nargs, p.required, p.multiple) == ("target", 1, True, False), p
            continue
        if p.is_flag:
            kind = submit_args.FLAG
        elif p.multiple:
            kind = submit_args.MANY
        elif isinstance(p.type, click.types.IntParamType):
            kind = submit_args.INT
        elif isinstance(p.type, click.Path):
            kind = submit_args.FOLDER
            assert (p.type.exists, p.type.file_okay, p.type.dir_okay, p.type.readable, p.type.writable,
                    p.type.resolve_path, p.type.allow_dash) == (False, False, True, True, False, False, False)
        else:
            assert isinstance(p.type, click.types.StringParamType), p
            kind = submit_args.TEXT
        assert p.envvar is None and p.callback is None and not p.is_eager or p.name == "help", p
        for opt in [*p.opts, *p.secondary_opts]:
            declared[opt] = (p.name, kind)
    assert submit_args.OPTIONS == declared
    defaults = click_submit.make_context("submit", ["t"]).params
    assert {"target": "t", **submit_args.DEFAULTS} == defaults


def test_the_installed_command_and_python_m_canalis_start_at_the_entry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["canalis"] == "canalis.cli.entry:main"
    assert "from canalis.cli.entry import main" in (ROOT / "canalis" / "__main__.py").read_text()


# -- the same submit, either way ------------------------------------------------------------

CHAIN = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
src = os.path.join(here, "src")
a = OutputFileDatasetConfig(name="a")
b = OutputFileDatasetConfig(name="b")
pipeline = Pipeline(ws, [
    PythonScriptStep(name="first", script_name="step.py", source_directory=src, arguments=["-", a]),
    PythonScriptStep(name="second", script_name="step.py", source_directory=src, arguments=[a.as_input(), b]),
])
with_params = Pipeline(ws, [
    PythonScriptStep(name="echo", script_name="echo.py", source_directory=src,
                     arguments=[PipelineParameter("n", 1), PipelineParameter("obj", "none")]),
])
failing = Pipeline(ws, [PythonScriptStep(name="fails", script_name="fail.py", source_directory=src)])
twice = Pipeline(ws, [PythonScriptStep(name="same", script_name="echo.py", source_directory=src),
                      PythonScriptStep(name="same", script_name="echo.py", source_directory=src)])


class Interrupted(Pipeline):
    def plan(self):  # Ctrl-C while the submit plans
        raise KeyboardInterrupt


interrupted = Interrupted(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory=src)])
"""
STEP = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(inp, "data.txt")).read() if inp != "-" else "seed"
print("read", data)
print("to stderr \\033[1mbold\\033[0m", file=sys.stderr)
open(os.path.join(out, "data.txt"), "w").write(data + ".")
"""
ECHO = """
import sys
print("args", sys.argv[1:])
"""
FAIL = """
import sys
print("about to fail", file=sys.stderr)
sys.exit(3)
"""
CRASH = """
raise ZeroDivisionError("loading went wrong")
"""
#: a FILE that submits its run itself while loaded
SELF = CHAIN + """
from canalis.core import Experiment
Experiment(ws, "chain").submit(pipeline)
"""

#: (command line after `canalis submit`, extra environment), run in this order in each workspace
CASES = [
    (["pipeline.py", "-e", "chain"], {}),  # a first run
    (["pipeline.py", "-e", "chain"], {}),  # a no-op re-submit
    (["pipeline.py", "-e", "chain", "-q"], {}),
    (["pipeline.py", "--experiment=chain", "--json"], {}),
    (["pipeline.py:with_params", "-e", "chain", "--param", "n=3", '--param=obj={"k": [1, "two"]}', "--json"], {}),
    (["pipeline.py:with_params", "-e", "chain", "--param", "n=3", "--param", "obj=plain text", "-q"], {}),
    (["pipeline.py:failing", "-e", "chain"], {}),  # a failing step
    (["pipeline.py:failing", "-e", "chain", "-q"], {}),
    (["pipeline.py:failing", "-e", "chain", "--json"], {}),
    (["missing.py", "-e", "chain"], {}),  # a missing file
    (["pipeline.py"], {}),  # a FILE that submits nothing itself, without --experiment
    (["pipeline.py:nothing", "-e", "chain"], {}),
    (["pipeline.py", "-e", "chain", "--param", "unknown=1"], {}),  # an unknown parameter
    (["pipeline.py", "-e", "chain", "--compute", "nowhere"], {}),
    (["pipeline.py:twice", "-e", "chain"], {}),  # a plan error
    (["crash.py", "-e", "chain"], {}),  # a fault while loading FILE
    (["pipeline.py:interrupted", "-e", "chain"], {}),  # Ctrl-C while planning: "Aborted!"
    (["pipeline.py", "-e", "chain", "--dry-run"], {}),
    (["pipeline.py", "-e", "chain", "--regenerate-outputs", "--plain", "--max-concurrent-steps", "1"], {}),
    (["self.py", "-e", "other", "--param", "n=1", "-q"], {}),  # FILE's own submit: the options are not used
    (["pipeline.py", "-e", "chain", "--workspace", ".", "--continue-on-step-failure", "--allow-secret-values", "-q"], {}),
    (["pipeline.py", "-e", "chain", "--workspace=nowhere", "-q"], {}),
    (["pipeline.py", "-e", "chain", "--detach"], {}),
    (["pipeline.py", "-e", "chain", "-d", "--json"], {}),
]
DEBUG_CASES = [(["crash.py", "-e", "chain"], {"CANALIS_DEBUG": "1"}),
               (["pipeline.py:twice", "-e", "chain"], {"CANALIS_DEBUG": "1"})]

#: what differs between two runs of the same command: run ids, step run ids, times, durations
VOLATILE = [
    (re.compile(r"\bchain_\d+_[0-9a-f]{8}\b"), "RUN"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "UUID"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "TIME"),
    (re.compile(r"\b\d+\.\d+\b"), "N.N"),
]
IMPORT_LINE = re.compile(r"^import time:.*\n", re.MULTILINE)


def _project(root: Path) -> Path:
    from canalis import layout

    layout.init(root)
    write(root / "pipeline.py", CHAIN)
    write(root / "src" / "step.py", STEP)
    write(root / "src" / "echo.py", ECHO)
    write(root / "src" / "fail.py", FAIL)
    write(root / "crash.py", CRASH)
    write(root / "self.py", SELF)
    return root


def _run(root: Path, args, env, click_only: bool):
    env = {**os.environ, **env, "CANALIS_CLICK_ONLY": "1" if click_only else "0"}
    env.pop("CANALIS_WORKSPACE", None)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "canalis", "submit", *args], cwd=root,
                         capture_output=True, text=True, env=env)
    imported = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", out.stderr, re.MULTILINE))
    stderr = IMPORT_LINE.sub("", out.stderr)
    return out.returncode, _masked(out.stdout, root), _masked(stderr, root), imported


def _masked(text: str, root: Path) -> str:
    text = text.replace(str(root.resolve()), "ROOT").replace(str(root), "ROOT")
    for pattern, mark in VOLATILE:
        text = pattern.sub(mark, text)
    return text


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Two workspaces holding the same project: one submitted to through the fast path, one through click."""
    base = tmp_path_factory.mktemp("fastsubmit")
    return _project(base / "fast"), _project(base / "click")


def test_a_submit_writes_the_same_either_way(both):
    fast_root, click_root = both
    for args, env in CASES:
        assert submit_args.parse(args) is not None, args  # each of these is one the fast path runs
        code, out, err, imported = _run(fast_root, args, env, click_only=False)
        assert "canalis.cli.group" not in imported and "canalis.cli.run_cmds" not in imported, args
        want_code, want_out, want_err, click_imported = _run(click_root, args, env, click_only=True)
        assert "canalis.cli.group" in click_imported, args
        assert (code, out, err) == (want_code, want_out, want_err), args
    # the runs were run: a first run ran its steps, then a failing step failed, in each workspace
    assert "read seed" in _run(fast_root, ["pipeline.py", "-e", "chain", "--regenerate-outputs"], {}, False)[1]


def test_an_error_with_debug_shows_the_same_exception_either_way(both):
    fast_root, click_root = both
    for args, env in DEBUG_CASES:
        code, _, err, _ = _run(fast_root, args, env, click_only=False)
        want_code, _, want_err, _ = _run(click_root, args, env, click_only=True)
        assert code == want_code == 1, (args, err)
        assert err.startswith("Traceback (most recent call last):"), err
        assert err.strip().splitlines()[-1] == want_err.strip().splitlines()[-1], (err, want_err)


def test_a_command_line_the_fast_path_declines_is_clicks(both):
    """A submit written otherwise, and other commands, are parsed by click: its own messages."""
    fast_root, click_root = both
    for args in (["pipeline.py", "-qe", "chain"], ["pipeline.py", "-e"], ["pipeline.py", "--max-concurrent-steps", "x"],
                 ["pipeline.py", "other.py", "-e", "chain"], ["--help"], ["pipeline.py", "--nope"],
                 ["pipeline.py", "-e", "chain", "--param", "noeq"], ["--", "pipeline.py", "-e", "chain"]):
        assert submit_args.parse(args) is None, args
        code, out, err, imported = _run(fast_root, args, {}, click_only=False)
        assert "canalis.cli.group" in imported, args
        assert (code, out, err) == _run(click_root, args, {}, click_only=True)[:3], args
        assert code in (0, 2) and (out or err), (args, err)


@pytest.mark.parametrize("tty", [False, True])
def test_echo_writes_what_click_echo_writes(tmp_path, tty):
    """canalis/cli/output.py's echo against click.echo, into a pipe (ANSI styles stripped) and
    into a terminal (kept), on stdout and stderr."""
    message = "run \033[1mbold\033[0m \033[31mred\033[0m, é"
    code = ("import sys\n"
            "from {module} import echo\n"
            f"echo({message!r}); echo({message!r}, err=True); echo(); echo('', err=True)\n")

    def run(module):
        if not tty:
            out = subprocess.run([sys.executable, "-c", code.format(module=module)], capture_output=True)
            return out.stdout, out.stderr
        import pty

        results = []
        for stream in ("stdout", "stderr"):
            leader, follower = pty.openpty()
            other = subprocess.PIPE
            p = subprocess.Popen([sys.executable, "-c", code.format(module=module)], stdin=subprocess.DEVNULL,
                                 stdout=follower if stream == "stdout" else other,
                                 stderr=follower if stream == "stderr" else other)
            os.close(follower)
            chunks = []
            while True:
                try:
                    data = os.read(leader, 4096)
                except OSError:  # the terminal is closed once the process has exited
                    break
                if not data:
                    break
                chunks.append(data)
            p.communicate()
            os.close(leader)
            results.append(b"".join(chunks))
        return tuple(results)

    ours, clicks = run("canalis.cli.output"), run("click")
    assert ours == clicks
    assert (b"\x1b[1m" in ours[0]) is tty  # the styles are stripped into a pipe only


def test_echo_writes_what_click_echo_writes_into_an_ascii_stream():
    """A stream set to ASCII (PYTHONIOENCODING=ascii) cannot encode "é": click writes it anyway."""
    code = "from {module} import echo\necho('café x'); echo('café', err=True); echo('plain')\n"
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    ours, clicks = [subprocess.run([sys.executable, "-c", code.format(module=m)], capture_output=True, env=env)
                    for m in ("canalis.cli.output", "click")]
    assert clicks.returncode == 0 and "café x".encode() in clicks.stdout
    assert (ours.returncode, ours.stdout, ours.stderr) == (clicks.returncode, clicks.stdout, clicks.stderr)


def test_a_full_disk_is_reported_the_same_either_way(tmp_path):
    """The workspace on a small tmpfs (tests/faults/test_disk_full.py), filled: the submit can
    record nothing, and says so in one line, the same way either way."""
    from tests.faults.test_disk_full import fill, small_disk

    with small_disk(tmp_path / "disk", 8) as disk:
        root = _project(disk / "proj")
        fill(disk)
        fast = _run(root, ["pipeline.py", "-e", "chain", "-q"], {}, click_only=False)
        assert "canalis.cli.group" not in fast[3]
        code, out, err = fast[:3]
        assert (code, out, err) == _run(root, ["pipeline.py", "-e", "chain", "-q"], {}, click_only=True)[:3]
        assert code == 1 and err.startswith("Error: no space left on device") and "Traceback" not in err, err


@pytest.mark.parametrize("args", [["-q"], ["--json"], []])
def test_a_closed_stdout_is_handled_the_same_either_way(both, args):
    """stdout a pipe nobody reads (`canalis submit ... | true`): click's handling of the broken
    pipe (exit code 1, no traceback), either way."""
    results = []
    for root, click_only in zip(both, ("0", "1")):
        assert _run(root, ["pipeline.py", "-e", "chain", "-q"], {}, click_only == "1")[0] == 0
        read, write = os.pipe()
        os.close(read)
        try:
            p = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "chain", *args], cwd=root,
                               stdout=write, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "CANALIS_CLICK_ONLY": click_only})
        finally:
            os.close(write)
        results.append((p.returncode, _masked(p.stderr, root)))
    assert results[0] == results[1]
    assert results[0][0] == 1 and "Traceback" not in results[0][1]
