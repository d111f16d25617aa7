"""One executor process per run, watched through the ledger: a run outlives the process that
submitted it (its exit, SIGKILL, its terminal closing), any process can wait for it, Ctrl-C in
`wait_for_completion` stops the waiting only, and `canalis submit` reports the run a file
submitted itself instead of submitting it twice."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import subprocess
import sys
import termios

import pytest

from canalis import layout
from canalis.core import Experiment, ScriptRunConfig, Workspace
from canalis.exceptions import ActivityFailedException
from canalis.executor import launch, standby
from canalis.executor.errors import ExecutorNotStarted
from canalis.ledger import events as ev
from canalis.pipeline.core import PipelineRun
from tests.canalis.conftest import gone, kill_executors, open_gate, script, terminal_signals, wait_for, write

# the first step prints, then waits until the file named by GATE exists (an environment
# variable: not part of the reuse key), so a test decides when the run may end
GATED = """
import os, sys, time
print("first step says hello", flush=True)
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
open(os.path.join(sys.argv[-1], "v"), "w").write("x")
"""
AFTER = """
import os, sys
print("second step read", open(os.path.join(sys.argv[1], "v")).read(), flush=True)
open(os.path.join(sys.argv[-1], "w"), "w").write("y")
"""
PIPELINE = """
import os
from canalis.core import Experiment, Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
pipeline = Pipeline(ws, [
    PythonScriptStep(name="gated", script_name="gated.py", source_directory=os.path.join(here, "src"), arguments=[a]),
    PythonScriptStep(name="after", script_name="after.py", source_directory=os.path.join(here, "src"),
                     arguments=[a.as_input(), b]),
])
"""


@pytest.fixture
def project(tmp_path, monkeypatch, counter):
    """A workspace holding pipeline.py (two steps, the first gated); GATE is set for every
    process started from here on."""
    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    script(root / "src", "gated.py", GATED)
    script(root / "src", "after.py", AFTER)
    monkeypatch.setenv("GATE", str(tmp_path / "gate"))
    yield root
    open_gate()  # whatever a failed test left waiting ends
    kill_executors(root)




def events(root, type_):
    ws = Workspace(path=root)
    try:
        return [r.payload for r in ws.ledger.events(type=type_)]
    finally:
        ws.ledger.close()


def canalis(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "canalis", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, **kw)


def the_run(root) -> dict:
    """The only run of the workspace, as `canalis runs --json` shows it."""
    out = canalis("runs", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    (run,) = json.loads(out.stdout)
    return run


def wait_until_ended(root) -> dict:
    wait_for(lambda: the_run(root)["status"] not in ("Queued", "Running"), "the run to end", 120)
    return the_run(root)


def test_a_script_that_submits_and_exits_at_once_leaves_a_run_that_completes(project, counter):
    write(project / "submit_and_go.py", """
        import runpy
        from canalis.core import Experiment
        ns = runpy.run_path("pipeline.py")
        run = Experiment(ns["ws"], "fire").submit(ns["pipeline"])
        print(run.id)
    """)
    out = subprocess.run([sys.executable, "submit_and_go.py"], cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    run_id = out.stdout.strip()
    assert the_run(project)["status"] == "Running"  # its submitter is gone; its executor is not
    open_gate()
    run = wait_until_ended(project)
    assert (run["run_id"], run["status"]) == (run_id, "Completed")
    assert counter.lines() == ["gated.py", "after.py"]


def submit_in_own_session(root, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "e", *args], cwd=root,
                            start_new_session=True, **popen)


@pytest.mark.slow
def test_a_submit_killed_with_sigkill_leaves_a_run_that_completes(project, counter):
    proc = submit_in_own_session(project, "-q", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: counter.lines() == ["gated.py"], "the first step to start")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the submit and all of its process group
        proc.wait()
    assert the_run(project)["status"] == "Running"
    open_gate()
    assert wait_until_ended(project)["status"] == "Completed"
    assert counter.lines() == ["gated.py", "after.py"]  # nothing ran twice


@pytest.mark.slow
def test_the_submits_terminal_closing_does_not_stop_the_run(project, counter):
    """A real pseudo-terminal is the submit's controlling terminal; closing it sends SIGHUP to
    the submit, as closing a terminal window does."""
    master, slave = pty.openpty()

    def take_the_terminal():  # runs in the child, after setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        terminal_signals()

    proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "e"], cwd=project,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=take_the_terminal)
    os.close(slave)
    try:
        seen = b""
        while b"first step says hello" not in seen:  # the submit streams the step's output to its terminal
            seen += os.read(master, 4096)
    finally:
        os.close(master)  # the terminal goes away: the kernel sends SIGHUP to its session's foreground
    assert proc.wait(timeout=60) == -signal.SIGHUP
    assert the_run(project)["status"] == "Running"
    open_gate()
    assert wait_until_ended(project)["status"] == "Completed"
    assert counter.lines() == ["gated.py", "after.py"]


def submit_here(root) -> PipelineRun:
    import runpy

    ns = runpy.run_path(str(root / "pipeline.py"))
    return Experiment(ns["ws"], "e").submit(ns["pipeline"])


def test_the_executor_is_a_detached_process_of_its_own(project):
    run = submit_here(project)
    try:
        row = run._row()
        pid = row.pid
        assert pid != os.getpid() and run._handle.process.pid == pid
        assert os.getsid(pid) == pid != os.getsid(0)  # a session of its own: no terminal, no Ctrl-C from ours
        assert os.readlink(f"/proc/{pid}/fd/0") == os.devnull
        log = project / ".canalis" / "runs" / run.id / "executor.log"
        assert os.readlink(f"/proc/{pid}/fd/1") == os.readlink(f"/proc/{pid}/fd/2") == str(log)
        assert [p["pid"] for p in events(project, "run.started")] == [pid]
    finally:
        open_gate()
    assert run.wait_for_completion() == "Completed"
    assert f"run {run.id} ended: Completed" in (project / ".canalis" / "runs" / run.id / "executor.log").read_text()


def test_wait_for_completion_from_a_second_process_streams_the_output(project):
    run = submit_here(project)
    watcher = subprocess.Popen([sys.executable, "-c", f"""
from canalis.core import Experiment, Workspace
from canalis.pipeline.core import PipelineRun
ws = Workspace(path={str(project)!r})
run = PipelineRun(Experiment(ws, "e"), {run.id!r})
print("status", run.wait_for_completion(show_output=True))
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: events(project, "step.started"), "the first step to start")
    assert watcher.poll() is None  # still waiting
    open_gate()
    out, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, err
    assert "[gated] first step says hello\n" in out and "[after] second step read x\n" in out
    assert out.rstrip().endswith("status Completed")
    assert f"Run {run.id}: Completed" in out


def test_ctrl_c_in_wait_for_completion_stops_waiting_and_the_run_goes_on(project, counter):
    write(project / "submit_and_wait.py", """
        import runpy
        from canalis.core import Experiment
        ns = runpy.run_path("pipeline.py")
        run = Experiment(ns["ws"], "wait").submit(ns["pipeline"])
        run.wait_for_completion(show_output=True)
    """)
    proc = subprocess.Popen([sys.executable, "submit_and_wait.py"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=terminal_signals)
    wait_for(lambda: counter.lines() == ["gated.py"], "the first step to start")
    proc.send_signal(signal.SIGINT)  # what a terminal sends on Ctrl-C
    out, err = proc.communicate(timeout=60)
    run_id = the_run(project)["run_id"]
    assert proc.returncode == 1
    assert f"stopped waiting for run {run_id} (interrupted); the run goes on" in err
    assert "KeyboardInterrupt" not in err
    assert the_run(project)["status"] == "Running"
    assert events(project, "run.cancel_requested") == []
    open_gate()
    assert wait_until_ended(project)["status"] == "Completed"
    assert counter.lines() == ["gated.py", "after.py"]


@pytest.mark.slow
def test_ctrl_c_on_canalis_submit_cancels_the_run_and_says_how_to_go_on(project, counter):
    proc = submit_in_own_session(project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=terminal_signals)
    wait_for(lambda: counter.lines() == ["gated.py"], "the first step to start")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    run = the_run(project)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert run["status"] == "Canceled"
    assert f"canceling run {run['run_id']} (Ctrl-C)" in err
    assert "A canceled run cannot be resumed: submit again, and the steps that completed are reused" in err


@pytest.mark.slow
def test_submit_detach_returns_at_once_and_cancel_stops_the_run(project, counter):
    out = canalis("submit", "pipeline.py", "-e", "e", "--detach", "--json", cwd=project)
    assert out.returncode == 0, out.stderr
    detached = json.loads(out.stdout)
    run_id = detached["run_id"]
    assert detached["status"] == "Running"
    assert detached["executor_log"] == str(project / ".canalis" / "runs" / run_id / "executor.log")
    wait_for(lambda: counter.lines() == ["gated.py"], "the first step to start")
    cancel = canalis("cancel", run_id, "--json", cwd=project)
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout) == {"run_id": run_id, "status": "Canceled"}
    ws = Workspace(path=project)
    assert {s.step_name: s.status for s in ws.ledger.step_runs(run_id)} == {"gated": "Canceled", "after": "Skipped"}
    assert counter.lines() == ["gated.py"]

    plain = canalis("submit", "pipeline.py", "-e", "e", "--detach", cwd=project)
    assert plain.returncode == 0 and plain.stdout.strip() == ws.ledger.runs()[0].run_id
    assert "canalis cancel" in plain.stderr
    open_gate()


SELF_SUBMITTING = PIPELINE + """
run = Experiment(ws, "top").submit(pipeline)
"""


@pytest.mark.slow
@pytest.mark.parametrize("waits", [False, True], ids=["submits", "submits-and-waits"])
def test_a_file_that_submits_at_top_level_is_run_once_under_canalis_submit(project, counter, waits):
    write(project / "pipeline.py", SELF_SUBMITTING + ("run.wait_for_completion(show_output=True)\n" if waits else ""))
    open_gate()
    out = canalis("submit", "pipeline.py", cwd=project)
    assert out.returncode == 0, out.stderr
    ws = Workspace(path=project)
    (row,) = ws.ledger.runs()
    assert (row.experiment, row.status) == ("top", "Completed")
    assert counter.lines() == ["gated.py", "after.py"]
    assert out.stdout.count("[gated] first step says hello\n") == 1  # streamed once, whoever waited
    assert out.stdout.count(f"Run {row.run_id}: Completed") == 1

    counter.reset()
    again = canalis("submit", "pipeline.py", "--json", "--param", "x=1", cwd=project)
    assert again.returncode == 0, again.stderr
    runs = ws.ledger.runs()
    assert len(runs) == 2 and json.loads(again.stdout)["run_id"] == runs[0].run_id
    assert "--param applied only to a pipeline canalis submit submits" in again.stderr
    assert counter.lines() == []  # both steps reused


def test_a_file_without_a_submit_still_needs_an_experiment(project):
    out = canalis("submit", "pipeline.py", cwd=project)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "submits nothing itself; name the experiment" in out.stderr and "--experiment NAME" in out.stderr


def test_a_script_run_config_submitted_twice_runs_twice(ws, src, counter):
    script(src, "train.py", "print('trained')\n")
    config = ScriptRunConfig(source_directory=str(src), script="train.py")
    first = Experiment(ws, "scripts").submit(config)
    assert first.wait_for_completion() == "Completed"
    second = Experiment(ws, "scripts").submit(config)
    assert second.wait_for_completion() == "Completed"
    assert counter.lines() == ["train.py", "train.py"]
    assert [s.reused for s in second.get_steps()] == [False]
    assert second.get_steps()[0].get_stdout_log() == "trained\n"


def test_a_dead_executor_is_reported_and_resume_finishes_the_run(project, counter, capsys):
    run = submit_here(project)
    wait_for(lambda: counter.lines() == ["gated.py"], "the first step to start")
    # the executor writes the step's output to its log as it reads it: killed before that, the
    # line would be lost with it, so it is killed once the log holds the line
    wait_for(lambda: "first step says hello" in canalis("logs", run.id, cwd=project).stdout,
             "the first step's line to reach its log")
    (executor,) = kill_executors(project)
    assert gone(executor)
    assert run.get_status() == "Orphaned"
    assert run.wait_for_completion(raise_on_error=False) == "Orphaned"
    err = capsys.readouterr().err
    assert f"run {run.id} did not end: its executor process ({executor} on " in err
    assert f"starting run {run.id}" in err  # the end of its log is quoted
    assert f"`canalis resume {run.id}` finishes the run" in err
    with pytest.raises(ActivityFailedException, match="canalis resume"):
        run.wait_for_completion()
    shown = json.loads(canalis("show", run.id, "--json", cwd=project).stdout)
    assert shown["status"] == "Orphaned"
    # following the logs of a run nobody executes any more ends (instead of waiting for ever)
    followed = subprocess.run([sys.executable, "-m", "canalis", "logs", run.id, "--follow"], cwd=project,
                              capture_output=True, text=True, timeout=60)
    assert followed.returncode == 0 and "first step says hello" in followed.stdout

    open_gate()
    out = canalis("resume", run.id, "--json", "-q", cwd=project)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "Completed"
    assert run.get_status() == "Completed"
    started = events(project, "run.started")
    assert len({p["pid"] for p in started}) == 2 and [p["resumed"] for p in started] == [False, True]


def test_an_executor_that_stops_before_starting_the_run_is_reported_with_its_log(ws):
    ws.ledger.append(ev.RunSubmitted(run_id="r1", experiment="e", pid=os.getpid(), host=os.uname().nodename))
    argv = [sys.executable, "-c", "import sys; print('cannot open the workspace: boom', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(ExecutorNotStarted) as e:
        launch.start(ws.ledger, argv, [], ws.session.runs_dir, "r1")
    message = str(e.value)
    assert "the executor of run r1 stopped (exit code 3) before it started the run" in message
    assert "cannot open the workspace: boom" in message and "canalis resume r1" in message
    assert ws.ledger.run("r1").status == "Queued"


# -- the executor started ahead (executor/standby.py) ------------------------------------------


def started_at(pid: int) -> float:
    """When the process started (epoch seconds, to the clock tick), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        ticks = int(f.read().split(")")[-1].split()[19])
    with open("/proc/stat") as f:
        boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def test_canalis_reproduce_hands_its_run_to_the_executor_it_started_ahead(project):
    """`canalis reproduce` (and `resume`) always start an executor: it is started as the command
    starts. (`canalis submit` starts none ahead: a run whose every step is reused needs none.)"""
    open_gate()
    assert canalis("submit", "pipeline.py", "-e", "e", "-q", cwd=project).returncode == 0
    os.unlink(os.environ["GATE"])
    first = the_run(project)["run_id"]
    proc = subprocess.Popen([sys.executable, "-m", "canalis", "reproduce", first, "-q"], cwd=project,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(events(project, "step.started")) > 2, "the reproduction's first step to start")
        ws = Workspace(path=project)
        run = next(r for r in ws.ledger.runs() if r.run_id != first)
        submitted = next(ws.ledger.events(stream=f"run:{run.run_id}", type="run.submitted"))
        from datetime import datetime

        recorded = datetime.fromisoformat(submitted.time.replace("Z", "+00:00")).timestamp()
        assert run.pid != submitted.payload["pid"]
        assert started_at(run.pid) < recorded  # the executor was there before its run was
        log = (project / ".canalis" / "runs" / run.run_id / "executor.log").read_text()
        assert f"starting run {run.run_id} (started ahead of it)" in log
    finally:
        open_gate()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    ws = Workspace(path=project)
    assert {r.status for r in ws.ledger.runs()} == {"Completed"}


def test_a_standby_handed_no_run_quits_and_writes_nothing(ws):
    argv, runs = layout.at(ws.root).executor_argv(), ws.session.runs_dir
    head = ws.ledger.head()
    standby.prestart(argv, runs)
    waiting = standby.take(argv)
    assert waiting is not None and standby.take(argv) is None  # taken once
    waiting.discard()
    assert waiting.exited.wait(60) and waiting.popen.returncode == 0
    assert list(runs.iterdir()) == [] and ws.ledger.head() == head


def test_a_dead_standby_is_replaced_by_a_fresh_executor(ws, src, counter):
    argv = layout.at(ws.root).executor_argv()
    standby.prestart(argv, ws.session.runs_dir)
    dead = standby.take(argv)
    dead.popen.kill()
    assert dead.exited.wait(60)
    standby._waiting[tuple(argv)] = dead  # offered, but gone
    script(src, "train.py", "print('trained')\n")
    run = Experiment(ws, "fresh").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    assert run.wait_for_completion() == "Completed"
    assert run._row().pid not in (dead.pid, os.getpid()) and counter.lines() == ["train.py"]


ENV_FROM_FILE = PIPELINE.replace("here = os.path", "os.environ['SET_WHILE_LOADING'] = 'by the file'\nhere = os.path")
SHOWS_ENV = """
import os, sys
print("step sees", os.environ.get("SET_WHILE_LOADING"), flush=True)
open(os.path.join(sys.argv[-1], "v"), "w").write("x")
"""


def test_steps_see_the_environment_the_submit_had_when_it_started_the_run(project):
    """The executor started ahead began before the file was loaded; the file's changes to the
    environment still reach the steps, as they would from an executor started afterwards."""
    write(project / "pipeline.py", ENV_FROM_FILE)
    script(project / "src", "gated.py", SHOWS_ENV)
    out = canalis("submit", "pipeline.py", "-e", "e", cwd=project)
    assert out.returncode == 0, out.stderr
    assert "[gated] step sees by the file\n" in out.stdout
