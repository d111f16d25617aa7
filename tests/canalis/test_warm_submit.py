"""The warm process (canalis/warm/, docs/warm.md): a submit handed to it writes the same output,
exits with the same code and records the same run as one run by the `canalis` process itself;
its child is the client's process as far as the pipeline file can tell; Ctrl-C reaches it; a
client it cannot stand in for is declined and runs the submit itself; the process ends when
told, when idle, when its socket goes, and starts again when its code changes."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.core import Workspace
from canalis.warm import wire
from tests.canalis.conftest import gone, terminal_signals, wait_for, write
from tests.canalis.test_fast_submit import CASES, _masked, _project
from tests.canalis.test_submit_costs import _modules_of_a_reused_submit, _project_outside_git, project  # noqa: F401
from tests.canalis.test_submit_costs import submit as _cost_submit


def canalis(root, *args, env=None, **kw):
    env = {**os.environ, **(env or {})}
    env.pop("CANALIS_WORKSPACE", None)
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=120, **kw)


def start(root, *args, env=None) -> int:
    out = canalis(root, "warm", "start", "--json", *args, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)["pid"]


def status(root) -> dict:
    out = canalis(root, "warm", "status", "--json")
    return json.loads(out.stdout)


def stop(pid: int) -> None:
    """End the warm process `pid` (SIGTERM) and the children it still runs, by their ids."""
    children = []
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in (pid, *children):
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    wait_for(lambda: all(gone(p) for p in (pid, *children)), "the warm process and its children to end", 30)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same project twice: one workspace with a warm process, one without."""
    base = tmp_path_factory.mktemp("warm")
    warm, cold = _project(base / "warm"), _project(base / "cold")
    pid = start(warm)
    yield warm, cold, pid
    stop(pid)


def _submit(root, args, env, warm: bool):
    out = canalis(root, "submit", *args, env={**env, "CANALIS_WARM": "1" if warm else "0"})
    return out.returncode, _masked(out.stdout, root), _masked(out.stderr, root)


def test_a_submit_handed_to_the_warm_process_writes_the_same(pair):
    warm, cold, pid = pair
    before = status(warm)
    for args, env in CASES:
        assert _submit(warm, args, env, warm=True) == _submit(cold, args, env, warm=False), args
    after = status(warm)
    assert after["pid"] == pid and after["declined"] == before["declined"]
    # every case but the one naming another workspace (--workspace=nowhere) was handed over
    assert after["served"] - before["served"] == len(CASES) - 1
    # the same runs were recorded, with the same statuses, in the same order
    runs = [[(r.experiment, r.status) for r in reversed(Workspace(path=root).ledger.runs())] for root in (warm, cold)]
    assert runs[0] == runs[1] and len(runs[0]) > 10


PROBE = """
import json, os, sys, time
from canalis.core import Workspace
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
umask = os.umask(0); os.umask(umask)
with open(os.environ["OUT_FILE"], "w") as f:
    json.dump({"cwd": os.getcwd(), "env": {k: v for k, v in os.environ.items() if k.startswith("PROBE_")},
               "umask": umask, "argv": sys.argv[1:], "executable": sys.executable, "path0": sys.path[0],
               "utc_offset": time.localtime(0).tm_gmtoff, "stdout": [sys.stdout.encoding, sys.stdout.isatty()],
               "stdin": sys.stdin is not None, "client_pid": os.getpid() == int(os.environ["CLIENT_PID"])}, f)
    left_open = open(os.path.join(os.path.dirname(os.environ["OUT_FILE"]), "left-open.txt"), "w")
    left_open.write("written, never closed")
pipeline = Pipeline(Workspace.from_config(here), [PythonScriptStep(name="s", script_name="echo.py",
                                                                   source_directory=os.path.join(here, "src"))])
"""

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(["PROBE_A", "PROBE_B", "PROBE_LONG"]), texts),
       umask=st.sampled_from([0o022, 0o077, 0o002]), tz=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"]),
       sub=st.booleans())
def test_the_child_is_the_clients_process_as_far_as_the_pipeline_file_can_tell(pair, tmp_path_factory, values, umask,
                                                                                tz, sub):
    """Whatever a pipeline file reads of its process (folder, environment, umask, time zone,
    arguments, interpreter, output streams) is the client's, handed over or not; and a file it
    leaves open is flushed as the end of an interpreter flushes it."""
    warm, cold, _ = pair
    seen = {}
    for root, is_warm in ((warm, True), (cold, False)):
        write(root / "probe.py", PROBE)
        out_dir = tmp_path_factory.mktemp("probe")
        cwd = root / "sub" if sub else root
        cwd.mkdir(exist_ok=True)
        env = {**os.environ, **values, "OUT_FILE": str(out_dir / "facts.json"), "TZ": tz,
               "CANALIS_WARM": "1" if is_warm else "0"}
        env.pop("CANALIS_WORKSPACE", None)
        script = (f"import os, sys; os.umask({umask}); os.environ['CLIENT_PID'] = str(os.getpid()); "
                  "sys.argv = ['canalis', 'submit', sys.argv[1], '-e', 'probe', '--dry-run']; "
                  "from canalis.cli.entry import main; main()")
        out = subprocess.run([sys.executable, "-c", script, str(root / "probe.py")], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        facts = json.loads((out_dir / "facts.json").read_text().replace(str(root), "ROOT"))
        assert (out_dir / "left-open.txt").read_text() == "written, never closed"
        assert facts.pop("client_pid") is not is_warm  # handed over, it runs in the warm process's child
        seen[is_warm] = (facts, _masked(out.stdout, root))
    assert seen[True] == seen[False]
    assert seen[True][0]["env"] == values and seen[True][0]["umask"] == umask


def test_a_client_the_warm_process_cannot_stand_in_for_runs_the_submit_itself(pair):
    """-X importtime is an interpreter option the warm process was not started with."""
    warm, _, _ = pair
    before = status(warm)
    env = {**os.environ, "CANALIS_DEBUG": "1"}
    env.pop("CANALIS_WORKSPACE", None)
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "canalis", "submit", "pipeline.py", "-e", "chain",
                          "-q"], cwd=warm, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "the warm process declined this submit: the client's xoptions differs" in out.stderr
    assert "canalis.executor.engine" in out.stderr  # imported here: the submit ran in this process
    after = status(warm)
    assert after["declined"] == before["declined"] + 1 and after["served"] == before["served"]


@pytest.mark.parametrize("where", ["git", "outside git"])
def test_a_child_imports_nothing_a_reused_submit_needs(project, tmp_path, where):
    """What a fully reused submit loads is loaded by the warm process before it forks
    (server.preload): a child pays for no import of canalis's, in or outside a repository."""
    root = project if where == "git" else _project_outside_git(tmp_path)
    if where != "git":
        _cost_submit(root)
    loaded = _modules_of_a_reused_submit(root, tmp_path)
    out = subprocess.run([sys.executable, "-c", "import sys\nfrom canalis.warm.server import preload\npreload()\n"
                          "print(' '.join(sys.modules))"], capture_output=True, text=True, check=True, cwd=tmp_path)
    preloaded = set(out.stdout.split())
    assert "canalis.executor.stepenv" in preloaded  # the record sees the preload
    # the command's own (the client's) modules, and names looked for that this platform has not
    client = {"canalis.__main__", "canalis.warm.client", "runpy"}
    missing = {m for m in loaded - preloaded if importlib.util.find_spec(m) is None}
    assert sorted(loaded - preloaded - client - missing) == []


SLOW = """
import os, sys, time
with open(os.environ["STEP_STARTED"], "w") as f:
    f.write(str(os.getpid()))
time.sleep(120)
"""
SLOW_PIPELINE = """
import os
from canalis.core import Workspace
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
pipeline = Pipeline(Workspace.from_config(here), [
    PythonScriptStep(name="slow", script_name="slow.py", source_directory=os.path.join(here, "src"))])
"""


@pytest.mark.slow
def test_ctrl_c_reaches_the_child_and_cancels_the_run(tmp_path):
    from canalis import layout

    root = tmp_path / "ws"
    layout.init(root)
    write(root / "pipeline.py", SLOW_PIPELINE)
    write(root / "src" / "slow.py", SLOW)
    pid = start(root)
    started = tmp_path / "started"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "c", "-q"], cwd=root,
                                env={**os.environ, "STEP_STARTED": str(started)}, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=terminal_signals)
        wait_for(started.exists, "the slow step to start")
        child = status(root)["running"]
        assert len(child) == 1  # the submit runs in the warm process's child, not in the client
        os.kill(proc.pid, signal.SIGINT)  # what a terminal sends to the submit on Ctrl-C
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, out + err
        wait_for(lambda: gone(child[0]), "the child to end", 30)
        ws = Workspace(path=root)
        run = ws.ledger.runs()[0]
        assert run.status == "Canceled" and run.error == "interrupted (Ctrl-C)"
    finally:
        stop(pid)
        if started.exists():
            step = int(started.read_text() or 0)
            if step and not gone(step):
                os.kill(step, signal.SIGKILL)


def test_start_status_and_stop(tmp_path):
    from canalis import layout

    root = tmp_path / ("a-folder-name-long-enough-for-a-socket-path-beyond-its-limit" * 2)
    layout.init(root)
    assert len(str(root / ".canalis" / wire.SOCKET_NAME)) > 108  # reached through /proc/self/fd
    assert canalis(root, "warm", "status").returncode == 1
    pid = start(root)
    try:
        assert start(root) == pid  # already running: nothing to do
        assert status(root)["running"] == [] and status(root)["pid"] == pid
        assert os.stat(root / ".canalis" / wire.SOCKET_NAME).st_mode & 0o077 == 0  # its owner's only
        out = canalis(root, "warm", "stop")
        assert out.returncode == 0 and f"stopped warm process {pid}" in out.stdout
        wait_for(lambda: gone(pid), "the warm process to end", 30)
        assert not (root / ".canalis" / wire.SOCKET_NAME).exists()
        assert canalis(root, "warm", "status").returncode == 1
    finally:
        if not gone(pid):
            stop(pid)


def test_the_warm_process_ends_when_idle_or_when_its_socket_goes(tmp_path):
    from canalis import layout

    idle, removed = tmp_path / "idle", tmp_path / "removed"
    layout.init(idle)
    layout.init(removed)
    pids = [start(idle, "--idle", "1s"), start(removed)]
    try:
        (removed / ".canalis" / wire.SOCKET_NAME).unlink()
        wait_for(lambda: all(gone(p) for p in pids), "both warm processes to end", 60)
        assert not (idle / ".canalis" / wire.SOCKET_NAME).exists()
        log = (idle / ".canalis" / wire.LOG_NAME).read_text()
        assert "ending: idle for 1 s" in log
        assert "ending: its socket was removed or replaced" in (removed / ".canalis" / wire.LOG_NAME).read_text()
    finally:
        for p in pids:
            if not gone(p):
                stop(p)


def test_changed_code_makes_the_warm_process_start_again(tmp_path):
    """A module it imported (here the interpreter's sitecustomize) changes: the submit at hand
    runs in its own process, and the warm process starts again with the new code."""
    from canalis import layout

    root, site = tmp_path / "ws", tmp_path / "site"
    layout.init(root)
    write(root / "pipeline.py", SLOW_PIPELINE.replace("slow", "quick"))
    write(root / "src" / "quick.py", "print('quick')\n")
    write(site / "sitecustomize.py", "VERSION = 1\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    pid = start(root, env=env)
    try:
        first = canalis(root, "submit", "pipeline.py", "-e", "c", "-q", env=env)
        assert first.returncode == 0, first.stderr
        assert status(root)["served"] == 1
        write(site / "sitecustomize.py", "VERSION = 2  # changed\n")
        again = canalis(root, "submit", "pipeline.py", "-e", "c", "-q", env={**env, "CANALIS_DEBUG": "1"})
        assert again.returncode == 0, again.stderr
        assert "code changed: " in again.stderr and "sitecustomize.py changed" in again.stderr
        wait_for(lambda: (status(root) or {}).get("served") == 0, "the warm process to start again", 60)
        assert status(root)["pid"] == pid  # the same process, with the code now on disk
        third = canalis(root, "submit", "pipeline.py", "-e", "c", "-q", env=env)
        assert third.returncode == 0, third.stderr
        assert status(root)["served"] == 1
        assert "starting again: code changed" in (root / ".canalis" / wire.LOG_NAME).read_text()
    finally:
        stop(pid)


GATED = """
import os, time
open(os.environ["STEP_STARTED"], "w").close()
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
print("through the gate")
"""


@pytest.mark.slow
def test_a_stopped_warm_process_still_gives_its_running_submits_their_exit_codes(tmp_path):
    from canalis import layout

    root, started, gate = tmp_path / "ws", tmp_path / "started", tmp_path / "gate"
    layout.init(root)
    write(root / "pipeline.py", SLOW_PIPELINE.replace("slow", "gated"))
    write(root / "src" / "gated.py", GATED)
    pid = start(root)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "c", "--plain"],
                                cwd=root, env={**os.environ, "STEP_STARTED": str(started), "GATE": str(gate)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(started.exists, "the gated step to start")
        running = status(root)["running"]
        out = canalis(root, "warm", "stop")
        assert out.returncode == 0 and f"ends once the 1 submits it runs have ended (processes {running[0]})" in out.stdout
        assert not (root / ".canalis" / wire.SOCKET_NAME).exists() and not gone(pid)
        gate.touch()
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stdout + stderr
        assert "through the gate" in stdout and "Completed" in stdout
        wait_for(lambda: gone(pid), "the stopped warm process to end once its submit ended", 30)
    finally:
        gate.touch()
        if not gone(pid):
            stop(pid)
