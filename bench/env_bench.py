"""Environments and the Docker runner: per-step overhead on Docker against the local runner,
and first-build against cached environment times (docs/benchmarks.md).

    python bench/env_bench.py [--steps 5] [--repeat 3]

Needs a Docker engine with the base image (`canalis env base-image`). Each measurement runs in
a fresh workspace: a chain of `--steps` trivial steps submitted with regenerate_outputs=True
(every step runs, one at a time), once on the local runner and once in containers; then an
environment with one pip package from a local wheelhouse, built the first time (a virtual
environment, an image) and found the second time (a new workspace's step with the same digest
finds the image in the engine; a venv is per workspace, so its cached time is a second step in
the same workspace).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from canalis.core import Environment, Experiment, Workspace  # noqa: E402
from canalis.core.conda_dependencies import CondaDependencies  # noqa: E402
from canalis.core.runconfig import DockerConfiguration, RunConfiguration  # noqa: E402
from canalis.pipeline.core import Pipeline  # noqa: E402
from canalis.pipeline.steps import PythonScriptStep  # noqa: E402
from tests.canalis.test_environments import make_wheel  # noqa: E402


def chain(ws, src, n, docker, env=None):
    steps, prev = [], None
    for i in range(n):
        rc = RunConfiguration()
        if env is not None:
            rc.environment = env
        if docker:
            rc.docker = DockerConfiguration(use_docker=True)
        s = PythonScriptStep(name=f"s{i}", script_name="noop.py", source_directory=str(src), runconfig=rc,
                             arguments=["--i", i])
        if prev is not None:
            s.run_after(prev)
        steps.append(s)
        prev = s
    return Pipeline(ws, steps)


def timed_submit(ws, pipeline, **kw) -> float:
    t0 = time.perf_counter()
    run = Experiment(ws, "bench").submit(pipeline, **kw)
    status = run.wait_for_completion(raise_on_error=False)
    assert status == "Completed", run.get_details()
    return time.perf_counter() - t0


def per_step(tmp: Path, n: int, docker: bool) -> float:
    ws = Workspace.create("b", path=tmp / f"ws-{docker}-{time.monotonic_ns()}")
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    (src / "noop.py").write_text("import sys\n")
    timed_submit(ws, chain(ws, src, 1, docker))  # warm: image freeze record, runtime copy
    return timed_submit(ws, chain(ws, src, n, docker), regenerate_outputs=True) / n


def env_build(tmp: Path, docker: bool) -> tuple[float, float]:
    wheels = tmp / "wheels"
    if not wheels.exists():
        make_wheel(wheels, "1.0", name="bench_probe_pkg")
    env = Environment(f"bench-{docker}-{time.monotonic_ns()}")  # a new digest each time: really built
    cd = CondaDependencies.create(pip_packages=["bench_probe_pkg==1.0"])
    cd.set_pip_option(f"--find-links={wheels}")
    cd.set_pip_option("--no-index")
    env.python.conda_dependencies = cd
    src = tmp / "src-env"
    src.mkdir(exist_ok=True)
    (src / "noop.py").write_text("import bench_probe_pkg\n")
    ws = Workspace.create("b", path=tmp / f"wse-{time.monotonic_ns()}")
    first = timed_submit(ws, chain(ws, src, 1, docker, env))
    second = timed_submit(ws, chain(ws, src, 1, docker, env), regenerate_outputs=True)
    if docker:  # the benchmark's images are not kept
        import docker as sdk

        for rec in ws.ledger.events(type="environment.built"):
            sdk.from_env().images.remove(rec.payload["image_id"], force=True)
    return first, second


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="canalis-env-bench-"))
    try:
        rows = {}
        for docker in (False, True):
            rows[f"per step, {'docker' if docker else 'local'}"] = [per_step(tmp, a.steps, docker) for _ in range(a.repeat)]
        for docker in (False, True):
            builds = [env_build(tmp, docker) for _ in range(a.repeat)]
            kind = "image" if docker else "venv"
            rows[f"{kind}: first build (submit of one step)"] = [b[0] for b in builds]
            rows[f"{kind}: cached (submit of one step)"] = [b[1] for b in builds]
        print(f"| measurement | median of {a.repeat} |\n|---|---|")
        for name, values in rows.items():
            print(f"| {name} | {statistics.median(values) * 1000:.0f} ms |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
