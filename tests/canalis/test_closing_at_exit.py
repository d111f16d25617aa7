"""Every canalis process closes the ledger and the store it opened before it exits, however it
ends (a run completed, an error, Ctrl-C), and each close takes its turn with other processes'
(canalis/opened.py; ledger/log.py and store/sqlite_wal.py, `close_in_turn`), so that the last
process to close removes the `-wal` and `-shm` files.

A `canalis submit` and its run's executor both hold the ledger and end together, with the run.
Before, each left its connections to the interpreter's finalization, which closed them in
whichever order it came to them: when the two closes met (about one first submit in 25), each
found the other still there and neither removed the files. Here the other process is a real
one held in the middle of its close (tests/closing_elsewhere.py), so the meeting happens every
time: a process that closes in turn waits for it and is then the last; one that does not closes
while the other still holds the ledger, and the files stay.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.canalis.conftest import executor_pids, terminal_signals, wait_for, write
from tests.canalis.test_cli_startup import PIPELINE
from tests.closing_elsewhere import ClosingElsewhere, waiting_for_turn, wal_files

STEP = "import os, sys\nopen(os.path.join(sys.argv[1], 'x'), 'w').write('x')\n"

#: a pipeline file that reads the ledger (the experiments), then fails or is interrupted
OPENS_THEN = """
import os, signal, time
from canalis.core import Workspace

ws = Workspace.from_config(os.path.dirname(os.path.abspath(__file__)))
assert ws.experiments is not None  # the ledger is open
{then}
"""
FAILS = OPENS_THEN.format(then="raise RuntimeError('the pipeline file failed')")
CTRL_C = OPENS_THEN.format(then="os.kill(os.getpid(), signal.SIGINT)\ntime.sleep(60)")


def _project(root):
    # made by a `canalis init` process: a store this test process opened would hold its files open
    subprocess.run([sys.executable, "-m", "canalis", "init", str(root)], check=True, capture_output=True)
    write(root / "pipeline.py", PIPELINE)
    write(root / "fails.py", FAILS)
    write(root / "ctrl_c.py", CTRL_C)
    write(root / "src" / "step.py", STEP)
    return root


@pytest.fixture(scope="module")
def ended(tmp_path_factory):
    """A workspace with one completed run, every process gone: (root, run id)."""
    root = _project(tmp_path_factory.mktemp("closing") / "proj")
    out = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "exits", "--json"], cwd=root,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    wait_for(lambda: not executor_pids(root), "the run's executor process to exit")
    return root, json.loads(out.stdout)["run_id"]


def _run_beside_a_closing_process(root, argv, *, env=None, stdin=subprocess.DEVNULL, preexec_fn=None):
    """Run `argv` in `root` while another process is closing the ledger; let that one finish its
    close once `argv`'s process (and any executor of the workspace) has exited or waits for its
    turn. Returns the completed process (its output as text)."""
    assert wal_files(root) == [], "the workspace must start without -wal/-shm"
    with ClosingElsewhere(root / ".canalis" / "ledger.db") as other:
        proc = subprocess.Popen(argv, cwd=root, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=preexec_fn)
        try:
            def at_its_end(pid):
                return waiting_for_turn(pid, other.folders)

            wait_for(lambda: (proc.poll() is not None or at_its_end(proc.pid))
                     and all(at_its_end(p) for p in executor_pids(root)),
                     "the process to exit or to wait for its turn to close the ledger")
            other.let_go()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()  # this process only, by its pid
                proc.wait()
    wait_for(lambda: not executor_pids(root), "the run's executor process to exit")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.parametrize("click_only", ["0", "1"], ids=["fast-path", "click"])
def test_a_first_submit_and_its_executor_close_the_ledger_in_turn_and_the_last_removes_the_files(tmp_path,
                                                                                                 click_only):
    root = _project(tmp_path / "proj")
    env = {**os.environ, "CANALIS_CLICK_ONLY": click_only}
    done = _run_beside_a_closing_process(root, [sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "exits",
                                                "-q"], env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split()[1] == "Completed"
    assert wal_files(root) == []


@pytest.mark.parametrize("click_only", ["0", "1"], ids=["fast-path", "click"])
@pytest.mark.parametrize("file, code, says", [("fails.py", 1, "the pipeline file failed"), ("ctrl_c.py", 130, "")],
                         ids=["error", "ctrl-c"])
def test_a_submit_that_fails_or_is_interrupted_closes_the_ledger_in_turn(tmp_path, click_only, file, code, says):
    root = _project(tmp_path / "proj")
    env = {**os.environ, "CANALIS_CLICK_ONLY": click_only}
    done = _run_beside_a_closing_process(root, [sys.executable, "-m", "canalis", "submit", file, "-e", "exits"],
                                         env=env, preexec_fn=terminal_signals)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stderr
    assert wal_files(root) == []


def test_another_command_closes_the_ledger_in_turn(ended):
    root, run_id = ended
    done = _run_beside_a_closing_process(root, [sys.executable, "-m", "canalis", "runs", "--json"])
    assert done.returncode == 0, done.stderr
    assert [r["run_id"] for r in json.loads(done.stdout)] == [run_id]
    assert wal_files(root) == []


@pytest.mark.parametrize("how", ["ended-run", "unknown-run", "standby"])
def test_an_executor_process_closes_the_ledger_in_turn_however_it_ends(ended, how):
    """A run's executor process (canalis/executor_main.py) on its own: a run it finds ended, a
    run the ledger does not know (an error), and a standby that gets no run (end of file)."""
    root, run_id = ended
    args = {"ended-run": [run_id], "unknown-run": ["no-such-run"], "standby": ["--standby"]}[how]
    done = _run_beside_a_closing_process(root, [sys.executable, "-m", "canalis.executor_main", "--workspace", str(root),
                                                *args])
    assert done.returncode == (1 if how == "unknown-run" else 0), done.stderr
    assert wal_files(root) == []


# -- what is closed, and what is left to its caller ------------------------------------------------

def test_closed_after_closes_what_is_opened_within_it_and_nothing_else(tmp_path):
    import sqlite3

    from canalis import layout
    from canalis.opened import closed_after

    lay = layout.init(tmp_path / "ws")
    before = lay.open_ledger()
    with closed_after():
        inside, store = lay.open_ledger(), lay.open_store()
        store.present(["0" * 64])  # opens objects/packindex.db
        with closed_after():
            nested = lay.open_ledger()
        with pytest.raises(sqlite3.ProgrammingError):
            nested.count()
        assert inside.count() == 0
    for closed in (inside, nested):
        with pytest.raises(sqlite3.ProgrammingError):
            closed.count()
    assert wal_files(lay.objects) == []  # the store's pack index, closed by the only process that had it
    assert before.count() == 0  # opened outside: its caller's to close
    before.close()
    assert wal_files(lay.root) == []


def test_a_program_s_workspace_keeps_working_after_a_submit_and_a_command_it_runs(tmp_path, monkeypatch):
    """A program or notebook using the Python API (this test's process) is not a `canalis`
    command: a submit returning, or the command group called with CliRunner, closes nothing of it."""
    import runpy

    from click.testing import CliRunner

    from canalis.cli import main
    from canalis.core import Experiment

    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    ns = runpy.run_path(str(root / "pipeline.py"))
    ws = ns["ws"]
    run = Experiment(ws, "exits").submit(ns["pipeline"])
    assert run.wait_for_completion() == "Completed"
    result = CliRunner().invoke(main, ["runs", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.output)] == [run.id]
    assert ws.ledger.run(run.id).status == "Completed"
    assert [e for e in ws.experiments] == ["exits"]
    assert ws.store.exists(ws.ledger.run_plan(run.id)["steps"][0]["source_tree"])
    wait_for(lambda: not executor_pids(root), "the run's executor process to exit")
    ws.ledger.close()
    ws.store.close()
