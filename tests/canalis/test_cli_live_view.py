"""What `canalis submit` shows while it waits: the live view in a real pseudo-terminal
(pexpect), the plain form in a pipe, and `-q`."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pexpect
import pytest

from tests.canalis.conftest import open_gate, script, terminal_signals, write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config()
prepared = OutputFileDatasetConfig(name="prepared")
prep = PythonScriptStep(name="prep", script_name="gated.py", source_directory=os.path.join(here, "prep"),
                        arguments=["--out", prepared])
train = PythonScriptStep(name="train", script_name="train.py", source_directory=os.path.join(here, "train"),
                         arguments=["--inp", prepared.as_input()])
pipeline = Pipeline(ws, [prep, train])
"""
GATED = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
print("prep is waiting for its gate", flush=True)
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
open(os.path.join(a.out, "x.txt"), "w").write("x")
print("prep passed the gate", flush=True)
"""
TRAIN = """
import argparse, sys
p = argparse.ArgumentParser(); p.add_argument("--inp"); a = p.parse_args()
print("training on", sorted(__import__("os").listdir(a.inp)))
print("a warning from train", file=sys.stderr)
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: what separates a step's name from its state in the live view: spaces and colour codes
GAP = r"(?:\x1b\[[0-9;]*m|\s)+"


@pytest.fixture
def project(tmp_path, monkeypatch, counter):
    root = tmp_path / "proj"
    from canalis import layout

    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    script(root / "prep", "gated.py", GATED)
    script(root / "train", "train.py", TRAIN)
    monkeypatch.setenv("GATE", str(tmp_path / "gate"))
    return root


def test_the_live_view_in_a_terminal_shows_each_steps_state_progress_and_output(project):
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("CANALIS_PLAIN", None)
    child = pexpect.spawn(sys.executable, ["-m", "canalis", "submit", "pipeline.py", "-e", "live"], cwd=str(project),
                          env=env, dimensions=(40, 120), encoding="utf-8", timeout=120)
    try:
        child.expect("prep" + GAP + r"running [\d.]+ s")  # a running step with its elapsed time
        child.expect("train" + GAP + r"queued \(after prep\)")
        child.expect(r"0 of 2 steps ended")
        child.expect("prep is waiting for its gate")  # the step's output, below the steps
        open_gate()
        child.expect("prep" + GAP + "completed in")
        child.expect("train" + GAP + "completed in")
        child.expect(r"2 of 2 steps ended")
        child.expect("a warning from train")  # stderr lines too, below the steps
        child.expect(r"Run \S+: Completed")
        child.expect(pexpect.EOF)
    finally:
        open_gate()  # (whatever happened above, the run can end)
        child.close()
    assert child.exitstatus == 0


def test_the_live_view_redraws_in_place_and_a_pipe_gets_plain_lines(project):
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("CANALIS_PLAIN", None)
    child = pexpect.spawn(sys.executable, ["-m", "canalis", "submit", "pipeline.py", "-e", "live"], cwd=str(project),
                          env=env, dimensions=(40, 120), encoding="utf-8", timeout=120)
    try:
        child.expect("prep is waiting for its gate")  # drawn once with prep running: what follows is a redraw
        seen = child.before + child.after
    finally:
        open_gate()
    child.expect(pexpect.EOF)
    child.close()
    live = seen + child.before
    assert child.exitstatus == 0
    assert re.search(r"\x1b\[\d*A", live), "the live view moves the cursor up to redraw"
    text = ANSI.sub("", live)
    assert re.search(r"prep\s+completed in", text) and re.search(r"2 of 2 steps ended", text)

    piped = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "plain",
                            "--regenerate-outputs"], cwd=project, capture_output=True, text=True, timeout=300, env=env)
    assert piped.returncode == 0, piped.stderr
    assert not ANSI.search(piped.stdout) and not ANSI.search(piped.stderr)
    out = piped.stdout.splitlines()
    assert "== prep: running" in out and "[prep] prep passed the gate" in out
    assert out.index("== prep: running") < out.index("[prep] prep passed the gate") < out.index("== train: running")
    assert any(x.startswith("== prep: completed in ") for x in out)
    assert "[train] a warning from train" in piped.stderr.splitlines()
    assert re.search(r"^Run \S+: Completed$", piped.stdout, re.M)


def test_plain_flag_in_a_terminal_prints_line_by_line(project):
    open_gate()
    child = pexpect.spawn(sys.executable, ["-m", "canalis", "submit", "pipeline.py", "-e", "p", "--plain"],
                          cwd=str(project), env={**os.environ, "TERM": "xterm-256color"}, encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not re.search(r"\x1b\[\d*A", child.before)
    assert "== train: running" in child.before and "[train] training on ['x.txt']" in child.before


def test_quiet_prints_the_run_id_and_its_final_status_only(project):
    open_gate()
    out = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "q", "-q"], cwd=project,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"q_\S+ Completed\n", out.stdout), out.stdout
    assert out.stderr == ""


def test_a_failed_step_shows_its_last_stderr_lines_and_where_the_log_is(project):
    open_gate()
    script(project / "train", "train.py", "import sys\nprint('loss went to nan', file=sys.stderr)\nsys.exit(3)\n")
    out = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "f", "-q"], cwd=project,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    run_id, status = out.stdout.split()
    assert status == "Failed"
    assert "step train failed" in out.stderr and "loss went to nan" in out.stderr
    assert f"whole log: canalis logs {run_id} train" in out.stderr


def test_ctrl_c_in_the_live_view_cancels_the_run_and_says_how_to_go_on(project):
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("CANALIS_PLAIN", None)
    child = pexpect.spawn(sys.executable, ["-m", "canalis", "submit", "pipeline.py", "-e", "live"], cwd=str(project),
                          env=env, dimensions=(40, 120), encoding="utf-8", timeout=120, preexec_fn=terminal_signals)
    try:
        child.expect("prep is waiting for its gate")
        child.sendintr()  # Ctrl-C, through the terminal
        child.expect(r"canceling run (\S+) \(Ctrl-C\)")
        run_id = child.match.group(1)
        child.expect(rf"run {re.escape(run_id)}: Canceled\. A canceled run cannot be resumed")
        child.expect(pexpect.EOF)
    finally:
        open_gate()  # (whatever happened above, the run can end)
        child.close()
    assert child.exitstatus == 130
    out = subprocess.run([sys.executable, "-m", "canalis", "show", run_id], cwd=project, capture_output=True, text=True,
                         timeout=120)
    assert re.search(r"canceled by \S+ on \S+ \(pid \d+\): interrupted \(Ctrl-C\)", out.stdout), out.stdout
