"""A full disk during a run, for real: the workspace lives on a small tmpfs mounted for the
test, which a step, a ballast file, or the executor itself fills.

After each: the run ends `Failed` (resumable) naming "no space left on device" and where, or,
when even the ledger has no room to say so, stays resumable; `runs`, `show` and `verify` work
while the disk is full; nothing is corrupted; and once space is freed `canalis resume RUN`
finishes the run without running again what had completed.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from canalis import layout
from tests.faults.faults import CANALIS, canalis, count_events, kill, start, stop_leftovers, wait_until

pytestmark = pytest.mark.slow

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(os.environ["WS"])
a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
pipeline = Pipeline(ws, [
    PythonScriptStep(name="small", script_name="step.py", source_directory=os.path.join(here, "src"), arguments=["small", "-", a]),
    PythonScriptStep(name="big", script_name="step.py", source_directory=os.path.join(here, "src"), arguments=["big", a.as_input(), b]),
])
"""
# how much the big step writes comes from the environment, not its arguments: a resume runs
# the recorded plan, and the environment is not part of the reuse key
STEP = """
import os, sys, time
name, out = sys.argv[1], sys.argv[-1]
with open(os.environ["CANALIS_TEST_COUNTER"], "a") as f:
    f.write(name + "\\n")
if name == "big" and os.environ.get("GO"):
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.05)
size = int(os.environ.get("BIG_KB", "1")) if name == "big" else 1
with open(os.path.join(out, "data.bin"), "wb") as f:
    for _ in range(size):
        f.write(os.urandom(1024))
"""


@contextmanager
def small_disk(path: Path, megabytes: int):
    """A tmpfs of `megabytes` mounted at `path` for the test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], capture_output=True, text=True)
    if out.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
    try:
        yield path
    finally:
        stop_leftovers(path)
        if subprocess.run(["umount", str(path)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """A ballast file that takes all the free space of `disk` but `leave` bytes."""
    ballast = disk / f"ballast{len(list(disk.glob('ballast*')))}"
    chunk = b"\1" * 65536
    with open(ballast, "wb", buffering=0) as f:
        try:
            while f.write(chunk):
                pass
        except OSError:  # ENOSPC: the disk is full
            pass
        try:
            while f.write(b"\1" * 4096):  # the last partial chunk's worth
                pass
        except OSError:
            pass
    if leave:
        os.truncate(ballast, max(0, ballast.stat().st_size - leave))
    return ballast


def free(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


@pytest.fixture
def project(tmp_path, monkeypatch):
    """pipeline.py and its source outside the small disk; steps count their starts."""
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "pipeline.py").write_text(PIPELINE)
    (proj / "src" / "step.py").write_text(textwrap.dedent(STEP))
    counter = tmp_path / "started.txt"
    counter.write_text("")
    monkeypatch.setenv("CANALIS_TEST_COUNTER", str(counter))
    return proj


def started(project) -> list[str]:
    return (project.parent / "started.txt").read_text().split()


def forget_started(project) -> None:
    (project.parent / "started.txt").write_text("")


def submit(project, disk, **env):
    return canalis("submit", "pipeline.py", "-e", "full", "-q", cwd=project, env={"WS": str(disk), **env})


def show(disk, run="latest"):
    out = canalis("show", run, "--json", "--workspace", disk)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def verify(disk):
    out = canalis("verify", "--json", "--workspace", disk)
    result = json.loads(out.stdout)
    assert out.returncode == 0 and result["ok"] and result["missing"] == [], out.stdout
    return result


def read_only_commands_work(disk, run_id, status):
    """`runs`, `show` and `verify` on the full disk."""
    assert free(disk) < 64 * 1024
    runs = canalis("runs", "--json", "--workspace", disk)
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout)[0]["status"] == status
    assert show(disk, run_id)["status"] == status
    verify(disk)


def test_a_step_that_fills_the_disk_fails_the_run_resumably_and_resume_finishes_it(tmp_path, project):
    with small_disk(tmp_path / "disk", 24) as disk:
        layout.init(disk)
        out = submit(project, disk, BIG_KB=str(64 * 1024))
        assert out.returncode == 1 and "step big failed" in out.stderr, out.stderr
        # the only traceback is the step's own, quoted from its stderr: none from canalis
        frames = re.findall(r'File "([^"]+)"', out.stderr)
        assert frames and all(f.endswith("/src/step.py") for f in frames), out.stderr
        run = show(disk)
        assert run["status"] == "Failed"
        assert "no space left on device in step 'big'" in run["error"] and "canalis resume" in run["error"]
        big = [s for s in run["steps"] if s["step"] == "big"]
        assert big[0]["status"] == "Failed" and "No space left on device" in big[0]["error"]
        assert [s["status"] for s in run["steps"] if s["step"] == "small"] == ["Completed"]
        verify(disk)

        # every connection is closed, so the ledger's -wal and -shm files are gone: on a full
        # disk SQLite could not create them again, and the ledger is read without them
        assert canalis("runs", "--workspace", disk).returncode == 0
        assert not (disk / ".canalis" / "ledger.db-shm").exists()
        ballast = fill(disk)
        read_only_commands_work(disk, run["run_id"], "Failed")
        again = submit(project, disk)  # nothing can be recorded: a one-line error, no traceback
        assert again.returncode == 1 and "no space left on device" in again.stderr and "Traceback" not in again.stderr

        ballast.unlink()
        forget_started(project)
        out = canalis("resume", run["run_id"], "--json", "-q", "--workspace", disk, env={"BIG_KB": "64"})
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert summary["status"] == "Completed"
        assert [(s["step"], s["status"]) for s in summary["steps"]] == [
            ("small", "Completed"), ("big", "Failed"), ("big", "Completed")]
        assert started(project) == ["big"]  # small kept its result
        verify(disk)


def test_no_space_while_the_executor_stores_outputs_names_the_step_and_the_phase(tmp_path, project):
    with small_disk(tmp_path / "disk", 24) as disk:
        layout.init(disk)
        ballast = fill(disk, leave=10 << 20)
        # the step writes 6 MB of random bytes (room for it); storing them needs 6 MB more
        out = submit(project, disk, BIG_KB=str(6 * 1024))
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        run = show(disk)
        (big,) = [s for s in run["steps"] if s["step"] == "big"]
        assert run["status"] == "Failed" and big["status"] == "Failed"
        assert "no space left on device in step 'big' while storing its output 'b' in the store" in big["error"]
        assert "no space left on device in step 'big'" in run["error"]
        assert os.listdir(disk / ".canalis" / "objects" / "tmp") == []  # no half-written blob left behind
        verify(disk)  # and none installed under its name (a short write on a full disk is not an error)

        ballast.unlink()
        forget_started(project)
        out = canalis("resume", run["run_id"], "--json", "-q", "--workspace", disk, env={"BIG_KB": str(6 * 1024)})
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "Completed" and started(project) == ["big"]
        verify(disk)


def test_when_even_the_ledger_has_no_room_the_run_stays_resumable(tmp_path, project):
    go = tmp_path / "go"
    with small_disk(tmp_path / "disk", 24) as disk:
        layout.init(disk)
        proc = start([*CANALIS, "submit", "pipeline.py", "-e", "full", "-q"], cwd=project,
                     env={"WS": str(disk), "GO": str(go)})
        try:
            assert wait_until(lambda: count_events(disk, "step.started") == 2, proc)  # big waits for GO
            ballast = fill(disk)  # while big runs: its logs, its outputs and its events find no room
            go.write_text("")
            proc.wait(timeout=120)
        finally:
            kill(proc)
        stderr = proc.stderr.read()
        assert proc.returncode == 1 and "Traceback" not in stderr, stderr
        assert "no space left on device" in stderr and "canalis resume" in stderr
        run_id = json.loads(canalis("runs", "--json", "--workspace", disk).stdout)[0]["run_id"]
        if free(disk) >= 64 * 1024:  # the ledger's last close checkpointed its write-ahead log and removed it
            fill(disk)
        read_only_commands_work(disk, run_id, "Orphaned")  # still Running in the ledger; its executor is gone

        for ballast in disk.glob("ballast*"):
            ballast.unlink()
        forget_started(project)
        out = canalis("resume", run_id, "--json", "-q", "--workspace", disk, env={"GO": str(go)})
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert summary["status"] == "Completed"
        assert [s["status"] for s in summary["steps"] if s["step"] == "small"] == ["Completed"]
        assert started(project) == ["big"]
        verify(disk)
