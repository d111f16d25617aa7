"""Fixtures for pipeline tests: a fresh workspace, a source folder, and a process counter.

Step scripts append their name to the file named by CANALIS_TEST_COUNTER, so a test can
count the processes a submit really started.
"""
from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from canalis.core import Workspace

COUNTING = """
import os, sys
with open(os.environ["CANALIS_TEST_COUNTER"], "a") as _f:
    _f.write(os.path.basename(sys.argv[0]) + "\\n")
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def script(folder: Path, name: str, body: str) -> Path:
    return write(folder / name, COUNTING + textwrap.dedent(body))


@pytest.fixture
def counter(tmp_path, monkeypatch):
    path = tmp_path / "started.txt"
    path.write_text("")
    monkeypatch.setenv("CANALIS_TEST_COUNTER", str(path))

    class Counter:
        def lines(self):
            return [x for x in path.read_text().splitlines() if x]

        def reset(self):
            path.write_text("")

    return Counter()


@pytest.fixture
def ws(tmp_path):
    return Workspace.create("test", path=tmp_path / "ws")


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


def statuses(run) -> dict:
    return {s.name: ("Reused" if s.reused else s.get_status()) for s in run.get_steps()}


def started_steps(ws, run) -> list[str]:
    return sorted(r.payload["step_name"] for r in ws.ledger.events(stream=f"run:{run.id}", type="step.started"))


def executor_pids(root) -> list[int]:
    """Pids of the executor processes (`python -m canalis.executor_main`) working on the
    workspace at `root`, found by their command line."""
    marker = f"--workspace\0{Path(root).resolve()}\0".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"canalis.executor_main" in cmdline and marker in cmdline:
            found.append(int(pid))
    return found


def terminal_signals() -> None:
    """Give a child process the signal dispositions of a job a terminal's shell starts in the
    foreground: Ctrl-C (SIGINT), SIGQUIT and a closed terminal's SIGHUP at their defaults. A test
    run started in the background or under `nohup` has them ignored, and a child would inherit
    that (for Popen's and pexpect's `preexec_fn`)."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def gone(pid: int) -> bool:
    """The process has exited (a zombie not reaped yet counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def kill_executors(root) -> list[int]:
    """SIGKILL the executors of the workspace at `root` (only them: steps run in process groups
    of their own, as after a real crash) and wait until they have exited; returns their pids."""
    pids = executor_pids(root)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 60
    while not all(gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return pids


def wait_for(predicate, what="the condition", timeout=120.0):
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def open_gate():
    """Let a gated step go on: it waits until the file named by $GATE exists."""
    with open(os.environ["GATE"], "w"):
        pass


from tests.dask_cluster import dask_cluster  # noqa: E402,F401  (the session's Dask cluster, for tests marked dask)
