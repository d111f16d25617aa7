"""The Docker runner against the local engine, with the base image made by
`canalis env base-image` (debootstrap). Skipped, saying why, where no engine answers or the
base image is missing; never in CI (CANALIS_REQUIRE_DOCKER=1 makes that a failure)."""
from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from canalis.core import Environment, Experiment, Workspace
from canalis.core.runconfig import DockerConfiguration, RunConfiguration
from canalis.data import OutputFileDatasetConfig
from canalis.executor.envspec import DEFAULT_BASE_IMAGE
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import executor_pids, gone, write
from tests.canalis.test_environments import PKG, USES_PKG, env_with, events, make_wheel

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _engine():
    try:
        import docker

        c = docker.from_env()
        c.ping()
    except Exception as e:  # noqa: BLE001
        return None, f"no Docker engine answers ({e})"
    try:
        c.images.get(DEFAULT_BASE_IMAGE)
    except Exception:  # noqa: BLE001
        return None, f"the base image {DEFAULT_BASE_IMAGE} is missing: make it with `canalis env base-image`"
    return c, None


@pytest.fixture(scope="module")
def engine():
    c, why = _engine()
    if c is None:
        if os.environ.get("CANALIS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here (CANALIS_REQUIRE_DOCKER=1) and {why}")
        pytest.skip(why)
    return c


def in_docker(env=None):
    rc = RunConfiguration()
    if env is not None:
        rc.environment = env
    rc.docker = DockerConfiguration(use_docker=True)
    return rc


def submit(ws, steps, expect="Completed"):
    run = Experiment(ws, "exp").submit(Pipeline(ws, steps))
    assert run.wait_for_completion(raise_on_error=False) == expect, run.get_details()
    return run


def containers_of(engine, ws) -> list:
    root = str(Path(ws.root).resolve())
    # ignore_removed: a container that goes between the listing and its inspection
    # (another test's, being removed) is not an error here
    return [c for c in engine.containers.list(all=True, filters={"label": "canalis.step"},
                                              ignore_removed=True)
            if c.labels.get("canalis.step", "").startswith(root)]


PROBE = """
import errno, os, platform, socket, sys
from canalis.core import Run
run = Run.get_context()
run.log("python", platform.python_version())
run.log("pid1", open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode())
s = socket.socket(); s.settimeout(5)
try:
    s.connect(("172.17.0.1", 9)); net = "connected"
except OSError as e:
    net = errno.errorcode.get(e.errno, str(e))
run.log("network", net)
out = sys.argv[sys.argv.index("--out") + 1]
open(os.path.join(out, "made.txt"), "w").write("in a container")
print("hello from the container")
"""


def test_a_step_runs_in_a_container_with_no_network_and_writes_files_the_caller_owns(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src = tmp_path / "src"
    write(src / "probe.py", PROBE)
    out = OutputFileDatasetConfig(name="out")
    step = PythonScriptStep(name="probe", script_name="probe.py", source_directory=str(src),
                            arguments=["--out", out], runconfig=in_docker())
    run = submit(ws, [step])
    probe = run.find_step_run("probe")[0]
    metrics = probe.get_metrics()
    recorded = events(ws, "step.environment", stream=f"run:{run.id}")[0]
    assert recorded["runner"] == "docker" and recorded["image_id"].startswith("sha256:")
    # the image's Python (the container's PID 1 is the step itself), not the host's
    assert metrics["python"] == recorded["interpreter"]["python"] != platform.python_version()
    assert metrics["pid1"] == "python3"
    assert metrics["network"] == "ENETUNREACH"
    assert "hello from the container" in _stdout(ws, run, "probe")
    downloaded = probe.get_output_data("out").download(tmp_path / "dl")
    made = Path(downloaded) / "made.txt"
    assert made.read_text() == "in a container"
    assert containers_of(engine, ws) == []


def _stdout(ws, run, step_name) -> str:
    """The stdout of `step_name` in `run` (a run or its id)."""
    run_id = getattr(run, "id", run)
    done = next(r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="step.completed")
                if r.payload["step_name"] == step_name)
    return ws.store.get_bytes(done["stdout"]).decode()


OWNED = """
import os, sys
out = sys.argv[sys.argv.index("--out") + 1]
open(os.path.join(out, "f.txt"), "w").write("x")
os.makedirs(os.path.join(out, "sub"))
st = os.stat(os.path.join(out, "f.txt"))
print("owner", st.st_uid, st.st_gid)
"""


OWNED_DRIVER = """
import sys
from canalis.core import Experiment, Workspace
from canalis.core.runconfig import DockerConfiguration, RunConfiguration
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
ws = Workspace(path=sys.argv[1])
rc = RunConfiguration()
rc.docker = DockerConfiguration(use_docker=True)
step = PythonScriptStep(name="owned", script_name="owned.py", source_directory=sys.argv[2],
                        arguments=["--out", OutputFileDatasetConfig(name="out")], runconfig=rc)
run = Experiment(ws, "exp").submit(Pipeline(ws, [step]))
print(run.wait_for_completion(raise_on_error=False), run.id)
"""

#: a group the caller runs with in the test below, one no image user has
CALLER_GID = 4321


def test_files_written_in_the_container_are_owned_by_the_caller(engine, tmp_path):
    # The caller submits with a group of its own (root's uid, gid 4321): the step's files carry
    # that group only when the container runs as the caller (as root, uid alone cannot tell).
    ws = Workspace.create("d", path=tmp_path / "ws")
    src = tmp_path / "src"
    write(src / "owned.py", OWNED)
    write(tmp_path / "driver.py", OWNED_DRIVER)
    kw = {"group": CALLER_GID, "extra_groups": []} if os.getuid() == 0 else {}
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(ws.root), str(src)], capture_output=True,
                          text=True, timeout=600, **kw)
    assert done.returncode == 0, done.stderr[-3000:]
    status, run_id = done.stdout.split()[-2:]
    assert status == "Completed", done.stderr[-3000:]
    expected_gid = CALLER_GID if os.getuid() == 0 else os.getgid()
    stdout = _stdout(ws, run_id, "owned")
    assert f"owner {os.getuid()} {expected_gid}" in stdout, stdout


def test_a_wheelhouse_package_in_the_image_reuse_across_runners_and_rebuild_on_change(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src, wheels = tmp_path / "src", tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    make_wheel(wheels, "2.0")
    write(src / "use.py", USES_PKG)

    def step(version, docker):
        env = env_with(wheels, f"{PKG}=={version}")
        rc = in_docker(env) if docker else RunConfiguration()
        rc.environment = env
        return PythonScriptStep(name="use", script_name="use.py", source_directory=str(src), runconfig=rc)

    first = submit(ws, [step("1.0", docker=True)])
    use = first.find_step_run("use")[0]
    assert use.get_metrics() == {"probe_version": "1.0", "prefix": "/opt/canalis-env"}
    built = events(ws, "environment.built")
    assert [(b["kind"], b["location"]) for b in built] == [("image", f"canalis/env:{built[0]['digest'][:32]}")]
    assert engine.images.get(built[0]["location"]).id == built[0]["image_id"]
    assert f"canalis-probe-pkg==1.0" in ws.store.get_bytes(built[0]["packages"]).decode().split()
    # the same step on the local runner: same environment digest, so reused
    local = submit(ws, [step("1.0", docker=False)])
    assert local.find_step_run("use")[0].reused
    # changing the environment re-runs, in a new image; keeping it reuses the image
    second = submit(ws, [step("2.0", docker=True)])
    assert second.find_step_run("use")[0].get_metrics()["probe_version"] == "2.0"
    assert len(events(ws, "environment.built")) == 2
    for b in events(ws, "environment.built"):
        engine.images.remove(b["image_id"], force=True)


def test_a_failing_image_build_names_the_package(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src, wheels = tmp_path / "src", tmp_path / "wheels"
    wheels.mkdir()
    write(src / "use.py", USES_PKG)
    env = env_with(wheels, "not_in_the_wheelhouse==9.9")
    run = submit(ws, [PythonScriptStep(name="use", script_name="use.py", source_directory=str(src),
                                       runconfig=in_docker(env))], expect="Failed")
    error = events(ws, "step.failed", stream=f"run:{run.id}")[0]["error"]
    assert "image build failed" in error and "'not_in_the_wheelhouse==9.9'" in error, error
    assert events(ws, "environment.built") == []


def test_no_container_is_left_after_a_failed_step(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src = tmp_path / "src"
    write(src / "fail.py", "import sys\nprint('failing', file=sys.stderr)\nsys.exit(3)\n")
    run = submit(ws, [PythonScriptStep(name="fail", script_name="fail.py", source_directory=str(src),
                                       runconfig=in_docker())], expect="Failed")
    error = events(ws, "step.failed", stream=f"run:{run.id}")[0]["error"]
    assert "exited with code 3" in error and "failing" in error
    assert containers_of(engine, ws) == []


SLOW = """
import time
print("started", flush=True)
time.sleep(600)
"""


def test_no_container_is_left_after_a_sigint_of_the_executor(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src = tmp_path / "src"
    write(src / "slow.py", SLOW)
    run = Experiment(ws, "exp").submit(Pipeline(ws, [
        PythonScriptStep(name="slow", script_name="slow.py", source_directory=str(src), runconfig=in_docker())]))
    deadline = time.monotonic() + 120
    while not containers_of(engine, ws) or not list(ws.ledger.events(stream=f"run:{run.id}", type="step.started")):
        assert time.monotonic() < deadline, "the step's container did not start"
        time.sleep(0.2)
    pids = executor_pids(ws.root)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGINT)
    assert run.wait_for_completion(raise_on_error=False) == "Canceled"
    deadline = time.monotonic() + 60
    while not gone(pids[0]):
        assert time.monotonic() < deadline, "the executor did not exit"
        time.sleep(0.1)
    assert containers_of(engine, ws) == []
    assert ws.ledger.step_runs(run.id)[0].status == "Canceled"


def test_a_missing_base_image_says_how_to_make_one(engine, tmp_path):
    ws = Workspace.create("d", path=tmp_path / "ws")
    src = tmp_path / "src"
    write(src / "never.py", "print('never')\n")
    env = Environment("elsewhere")
    env.docker.base_image = "canalis/not-in-this-engine:1"
    run = submit(ws, [PythonScriptStep(name="never", script_name="never.py", source_directory=str(src),
                                       runconfig=in_docker(env))], expect="Failed")
    error = events(ws, "step.failed", stream=f"run:{run.id}")[0]["error"]
    assert "'canalis/not-in-this-engine:1'" in error and "canalis env base-image" in error, error
    assert containers_of(engine, ws) == []


WHERE = """
import os, sys
from canalis.core import Run
run = Run.get_context()
run.log("in_container", os.path.exists("/.dockerenv"))
run.log("variable_seen", os.environ.get("CANALIS_TEST_VALUE", ""))
out = sys.argv[sys.argv.index("--out") + 1]
open(os.path.join(out, "made.txt"), "w").write("on a worker, in a container")
print("hello from a worker's container")
"""


@pytest.mark.dask
def test_a_step_in_a_container_runs_on_a_dask_worker(engine, tmp_path, dask_cluster, monkeypatch):
    """A step whose environment runs in Docker and that names a Dask target: the worker starts
    its container (runners/dask.py), the step sees the container, its variables, its input and
    output folders; the worker is recorded and no container is left."""
    from tests.canalis.test_dask import attach

    monkeypatch.setenv("CANALIS_TEST_VALUE", "passed by name")
    ws = Workspace.create("d", path=tmp_path / "ws")
    attach(ws, dask_cluster)
    src = tmp_path / "src"
    write(src / "where.py", WHERE)
    out = OutputFileDatasetConfig(name="out")
    step = PythonScriptStep(name="boxed", script_name="where.py", source_directory=str(src),
                            arguments=["--out", out], runconfig=in_docker(), compute_target="dask")
    run = submit(ws, [step])
    boxed = run.find_step_run("boxed")[0]
    metrics = boxed.get_metrics()
    assert metrics["in_container"] is True
    assert metrics["variable_seen"] == "passed by name"
    placed = events(ws, "step.placed", stream=f"run:{run.id}")
    assert len(placed) == 1 and placed[0]["worker"].startswith("tcp://127.0.0.1:")
    assert events(ws, "step.environment", stream=f"run:{run.id}")[0]["runner"] == "docker"
    assert "hello from a worker's container" in _stdout(ws, run, "boxed")
    made = Path(boxed.get_output_data("out").download(tmp_path / "dl")) / "made.txt"
    assert made.read_text() == "on a worker, in a container"
    assert made.stat().st_uid == os.getuid()
    assert containers_of(engine, ws) == []
