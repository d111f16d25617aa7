"""The interpreter a step runs with, made ready before it starts, and the record of it.

`prepare_environment` reads the step's environment (executor/envspec.py) and answers with a
`StepInterpreter`: the Python to start the step with and the variables to add to its
environment. On the current interpreter nothing is built; otherwise the environment is
materialised once per digest (executor/venvs.py), `environment.built` is recorded by the
step run that built it, and the step gets canalis's own modules on its `PYTHONPATH`
(executor/runtime.py). Either way `step.environment` records what the step ran with: the
interpreter and the installed distributions (a blob of sorted `name==version` lines), so
that `canalis why` and `diff` can say that packages changed.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Callable, Optional

from canalis.executor import freeze
from canalis.executor.envspec import EnvSpec
from canalis.executor.locks import writing
from canalis.executor.records import field, record
from canalis.ledger import events as ev

_current: dict = {}
#: where the store's compiled packages are mounted in a step's container
NATIVE_IN_CONTAINER = "/opt/canalis-native"
_current_lock = threading.Lock()


@record
class StepInterpreter:
    python: str | None  # None: the runner's own interpreter
    env: dict = field(default_factory=dict)
    spec: EnvSpec | None = None
    docker: dict | None = None  # for the Docker runner: image, mounts, network, shm_size
    #: with `defer`: what is left to record (`step.environment`), a function called under `writing`
    #: that stores the packages blob and returns the events; the caller appends them
    pending: Optional[Callable[[], list]] = None


def envs_dir(locks_dir: Path) -> Path:
    """`.canalis/envs`, beside `.canalis/locks`."""
    return Path(locks_dir).parent / "envs"


def interpreter_path() -> list[str]:
    """The folders a process started now with this interpreter and this environment finds
    installed distributions in: PYTHONPATH as the environment has it now, then `sys.path`
    from the standard library on (site-packages and what their .pth files add). Not what this
    process put in front (the script's folder or the current one, folders a program inserted,
    as `canalis submit` does with its pipeline file's), nor a PYTHONPATH it started with and
    changed since: so a run's executor process and a submitting process that records a
    reused run itself (executor/noop.py) list the same packages."""
    stdlib = next((i for i, p in enumerate(sys.path)
                   if os.path.basename(p).startswith("python") and p.endswith(".zip")), None)
    if stdlib is None:  # not a standard CPython layout: the whole path
        return list(sys.path)
    given = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return given + sys.path[stdlib:]


def current_interpreter(kept_in: Path | None = None) -> tuple[tuple, dict]:
    """(packages, identity) of the interpreter the executor runs with, read once per process
    and import path. Given the workspace's `envs` folder (`kept_in`), the packages are read
    from what an earlier process kept there while the path's folders are unchanged
    (executor/installed_cache.py)."""
    path = tuple(interpreter_path())
    with _current_lock:
        if path not in _current:
            if kept_in is None:
                packages = freeze.installed(list(path))
            else:
                from canalis.executor import installed_cache

                packages = installed_cache.installed(list(path), kept_in, freeze.installed)
            _current[path] = (tuple(packages), freeze.identity())
        return _current[path]


def _packages_blob(store, packages) -> str:
    return store.put_bytes(("\n".join(packages) + "\n").encode()) if packages else None


def prepare_environment(run, spec_environment: dict, step_run_id: str, step_name: str,
                        say: Callable[[str], None], *, defer: bool = False) -> StepInterpreter:
    """Make the step's environment ready (building it when it is the first to need it) and
    record `step.environment`. Raises EnvironmentBuildError when it cannot be built.

    With `defer`, an environment found ready is not recorded here: the returned interpreter's
    `pending()` gives the events, so that the caller records them in the transaction of
    `step.started` (one ledger write per step fewer). An environment built here is recorded at
    once (`environment.built` and `step.environment`), whatever happens to the step next."""
    # venvs is not imported with this module: a reused step (reused_environment) builds nothing
    from canalis.executor.venvs import Materialized, ensure_venv

    from canalis.executor import runtime  # canalis's copy for a step in a built environment

    spec = EnvSpec.of(spec_environment)
    if spec.runner == "docker":
        from canalis.executor.images import ensure_image

        found = ensure_image(spec, envs_dir(run.locks_dir), run.locks_dir, say)
        location, python = found.location, found.python
        rt = runtime.runtime_dir(envs_dir(run.locks_dir))
        mounts = [(str(rt / "python"), str(rt / "python"), True)]
        objects = getattr(run.store, "root", None)
        if objects is not None:  # files the step uploads are written to the store
            mounts.append((str(objects), str(objects), False))
        for name in runtime.NATIVE:  # the store's compiled packages, for an image with the same Python
            where = runtime.native_package(name)
            if where is not None:
                mounts.append((str(where), f"{NATIVE_IN_CONTAINER}/{where.name}", True))
        extra = {"PYTHONPATH": os.pathsep.join([str(rt / "python"), NATIVE_IN_CONTAINER])}
        docker = {"image": found.image_id or location, "mounts": mounts, "network": spec.network,
                  "shm_size": spec.shm_size}
    elif spec.current_interpreter:
        packages, identity = current_interpreter(envs_dir(run.locks_dir))
        found = Materialized("venv", "", sys.executable, packages, identity, built=False)
        location, python, extra = None, None, {}
    else:
        found = ensure_venv(spec, envs_dir(run.locks_dir), run.locks_dir, say)
        location, python = found.location, found.python
        rt = runtime.runtime_dir(envs_dir(run.locks_dir))
        paths = [str(rt / "python"), str(rt / "native")]
        extra = {"PYTHONPATH": os.pathsep.join(paths)}
    if spec.runner != "docker":
        docker = None

    def events() -> list:  # under `writing`: the packages blob is in the ledger before gc may sweep
        blob = _packages_blob(run.store, found.packages)
        out = []
        if found.built:
            out.append(ev.EnvironmentMaterialized(
                digest=spec.digest, name=spec.name, kind=found.kind, location=found.location,
                image_id=found.image_id, base_image=found.base_image, base_image_id=found.base_image_id,
                interpreter=dict(found.interpreter), packages=blob, package_count=len(found.packages),
                provided=list(spec.provided), duration_s=found.duration_s, run_id=run.run_id, step_run_id=step_run_id))
        out.append(ev.StepEnvironmentRecorded(
            run_id=run.run_id, step_run_id=step_run_id, step_name=step_name, environment=spec.digest,
            runner="docker" if docker else "local", interpreter=dict(found.interpreter), packages=blob, package_count=len(found.packages),
            location=location, image_id=found.image_id))
        return out

    if defer and not found.built:
        return StepInterpreter(python, extra, spec, docker, events)
    with writing(run.locks_dir):
        run.ledger.append_many(events())
    return StepInterpreter(python, extra, spec, docker)


class ReusedTogether:
    """What the reused steps of one run, recorded together under one `writing` (executor/noop.py),
    share: the current interpreter's packages and identity, read for the first of them, and the
    packages blob, stored for the first of them (the others name it without storing it again)."""

    def __init__(self):
        self.interpreter: tuple | None = None  # (packages, identity), as current_interpreter gives them
        self.blobs: dict = {}  # packages -> the digest of their blob

    def current_interpreter(self, run) -> tuple[tuple, dict]:
        if self.interpreter is None:
            self.interpreter = current_interpreter(envs_dir(run.locks_dir))
        return self.interpreter

    def blob(self, run, packages) -> str:
        if packages not in self.blobs:
            self.blobs[packages] = _packages_blob(run.store, packages)
        return self.blobs[packages]


def reused_environment(run, spec_environment: dict, step_run_id: str, step_name: str,
                       together: ReusedTogether | None = None, spec: EnvSpec | None = None):
    """For a reused step on the current interpreter: `step.environment` with the packages it
    would have run with, so that `canalis why` can say they changed since the step run it
    reused (packages of the current interpreter are not in the key); None for other steps.
    Called under `writing` (the packages blob is stored here). `together`: given by a caller
    that records several reused steps under one `writing` (executor/noop.py), see ReusedTogether.
    `spec`: `EnvSpec.of(spec_environment)`, when the caller has read it already."""
    if spec is None:
        spec = EnvSpec.of(spec_environment)
    if not spec.current_interpreter or spec.runner == "docker":
        return None
    if together is None:
        packages, identity = current_interpreter(envs_dir(run.locks_dir))
        blob = _packages_blob(run.store, packages)
    else:
        packages, identity = together.current_interpreter(run)
        blob = together.blob(run, packages)
    return ev.StepEnvironmentRecorded(
        run_id=run.run_id, step_run_id=step_run_id, step_name=step_name, environment=spec.digest, runner="local",
        interpreter=dict(identity), packages=blob, package_count=len(packages))
