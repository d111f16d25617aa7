"""Running a planned pipeline: schedule steps by their data, reuse or run each, record it all.

The engine appends every event itself (the step process never opens the ledger). Run
state is what the ledger says; the engine holds only what it needs to schedule. For each
step it binds the plan's step to the run's parameters and input trees (executor/bind.py),
decides reuse from the bound step's key (executor/reuse.py), and otherwise hands the bound
step to executor/steprun.py, which prepares, runs and records it.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from canalis.executor import outputs
from canalis.executor.bind import BoundStep, WorkLayout, bind
from canalis.executor.locks import single_flight, writing
from canalis.executor.plan import Plan, StepSpec
from canalis.executor.ids import random_hex, uuid4_text
from canalis.executor.reuse import find_reusable
from canalis.ledger import events as ev
from canalis.ledger.canonical import canonical_json
from canalis.ledger.errors import LedgerFull
from canalis.ledger.status import RunStatus, StepStatus

#: how often a running executor looks for a run.cancel_requested recorded by another process
CANCEL_POLL_S = 0.5


def host_name() -> str:
    """This machine's name, as `socket.gethostname()` gives it on POSIX (both read uname's node
    name), without importing `socket`: its import builds enums of every address family and
    option, milliseconds of a submit that opens no socket."""
    return os.uname().nodename


def user_name() -> str:
    """Who runs this process, as `getpass.getuser()` says it (LOGNAME, USER, LNAME or USERNAME,
    else the password database), without importing `getpass` and the terminal modules it loads."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        user = os.environ.get(name)
        if user:
            return user
    import pwd

    return pwd.getpwuid(os.getuid())[0]


def new_run_id(experiment: str) -> str:
    return f"{experiment}_{int(time.time())}_{random_hex(8)}"


def new_step_run_id() -> str:
    return uuid4_text()


def submitted_event(run_id, experiment, plan: Plan, parameters, *, tags=None, git=None, kind="pipeline", description=None, options=None,
                    trigger=None, store=None):
    """`run.submitted` with its plan; `options` (regenerate_outputs ...) ride along in it. Given
    the store, the plan document is put there once by content (canonical JSON) and the event
    names it by digest: a re-submit of the same plan adds no plan bytes to the ledger."""
    plan_doc = plan.to_dict()
    plan_doc["options"] = dict(options or {})
    plan_digest = None
    if store is not None:
        plan_digest = store.put_bytes(canonical_json(plan_doc).encode("utf-8"))
        plan_doc = {}
    return ev.RunSubmitted(
        run_id=run_id,
        experiment=experiment,
        kind=kind,
        parameters=dict(parameters),
        tags=dict(tags or {}),
        plan=plan_doc,
        git=git,
        host=host_name(),
        pid=os.getpid(),
        user=user_name(),
        description=description,
        parent_run_id=None,
        trigger=trigger,
        plan_digest=plan_digest,
    )


class RunExecutor:
    """Executes one run of a plan. `execute()` blocks until the run has ended."""

    def __init__(
        self,
        *,
        ledger,
        store,
        plan: Plan,
        run_id: str,
        parameters: dict,
        scratch_dir: Path,
        locks_dir: Path,
        experiment: str = "",
        workspace_root: Path | None = None,
        regenerate: bool = False,
        max_workers: int | None = None,
        continue_on_step_failure: bool = False,
        runner=None,
        on_line=None,
        resumed: bool = False,
        done: dict | None = None,
        publish: bool = True,
        secret_values=None,
    ):
        self.ledger, self.store, self.plan = ledger, store, plan
        self.run_id, self.params = run_id, parameters
        self.scratch, self.locks_dir = Path(scratch_dir), Path(locks_dir)
        self.experiment, self.workspace_root = experiment, workspace_root
        self.regenerate = regenerate
        self.max_workers = max_workers or os.cpu_count() or 1
        self.continue_on_step_failure = continue_on_step_failure
        self._runner = runner  # the local runner by default, made when a step first runs (`runner`)
        self.on_line = on_line
        self.resumed = resumed
        # steps this run already finished before a resume: name -> (status, outputs)
        self.done = dict(done or {})
        # False for reproductions: no copies to datastore destinations, no dataset registrations
        self.publish = publish
        # names -> values of workspace secrets; a step's logs are stored with the values it read masked
        self.secret_values = secret_values
        self.masks: dict[str, frozenset] = {}  # step_run_id -> values of the secrets it read
        self.phase: dict[str, str] = {}  # step run -> what the executor is doing for it (named when space runs out)
        self.outside: dict[str, str] = {}  # step name -> why it failed from outside its code (executor/nospace.py)
        self.tree_of_output: dict[str, str] = {}
        self._docker = None  # the Docker runner, made when a step first runs in a container
        self._docker_lock = threading.Lock()
        self._dask: dict = {}  # compute target name -> DaskRunner (executor/runners/dask.py)
        self._targets = None  # the workspace's compute targets, read when a step first asks
        self._cancel = threading.Event()
        self._cancel_reason = "canceled by the user"
        self._cancel_seen = 0  # seq of the last run.cancel_requested looked at
        self._file_outputs: dict[tuple[str, str], bool] = {}  # (tree, output name) -> read as one file?
        self._env_specs: dict[str, tuple] = {}  # step name -> (its environment, EnvSpec of it): see env_spec
        self._sweeper = None  # the thread removing completed steps' working folders (discard_folder)
        self._sweeper_lock = threading.Lock()
        self._to_sweep: list[Path] = []  # folders waiting for a step process to run meanwhile
        self._unstarted: dict[str, int] = {}  # source tree -> steps of the plan not started yet
        self._spares: dict[str, list[Path]] = {}  # source tree -> working folders made ahead (`prepare_ahead`)
        self._spares_coming: dict[str, int] = {}  # source tree -> working folders being made ahead

    # -- the run -------------------------------------------------------------------
    def execute(self) -> RunStatus:
        restore = self._cancel_on_sigint()
        try:
            return self._execute()
        except LedgerFull as e:
            from canalis.executor import nospace

            raise nospace.RunNotRecorded(
                f"no space left on device: the ledger could not record what run {self.run_id} did ({e}); "
                f"free some space, then `canalis resume {self.run_id}` finishes it"
            ) from e
        finally:
            self._wait_for_sweeper()
            restore()
            for runner in list(self._dask.values()):
                runner.cluster.close()

    def _cancel_on_sigint(self):
        """In a process's main thread, SIGINT (Ctrl-C) cancels the run: running steps are
        stopped (their processes, their containers) and the run ends as Canceled. Returns
        what puts the previous handler back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        import signal  # the executor's own; a run recorded by its submitting process runs nothing

        previous = signal.signal(signal.SIGINT, lambda *_: self.cancel("executor interrupted (SIGINT)"))
        return lambda: signal.signal(signal.SIGINT, previous)

    def _execute(self) -> RunStatus:
        started = time.time()
        row = self.ledger.run(self.run_id)
        if row is not None and row.status == RunStatus.Canceled:
            return RunStatus.Canceled  # canceled while queued, before this executor started
        self.ledger.append(self.started_event())
        order = self.plan.order()
        upstream = self.plan.upstream()
        state: dict[str, StepStatus | None] = {s.name: None for s in order}  # None: not started yet
        for name, (status, outputs) in self.done.items():
            state[name] = status
            self.tree_of_output.update(outputs)
        failed: list[str] = []
        for step in order:
            if state[step.name] is None:
                self._unstarted[step.source_tree] = self._unstarted.get(step.source_tree, 0) + 1
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # here: a submit needs none of it

        from canalis.executor.runners.dask import MAX_IN_FLIGHT

        # threads are made only as steps start: the bound is `_has_room`, not the pool's size
        threads = self.max_workers + MAX_IN_FLIGHT * len({s.compute_target for s in order})
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="canalis-step") as pool:
            running = {}
            next_cancel_check = time.monotonic() + CANCEL_POLL_S
            while True:
                for step in order:
                    if state[step.name] is not None:
                        continue
                    ups = upstream[step.name]
                    bad = sorted(u for u in ups if state[u] in StepStatus.unsuccessful())
                    reason = None
                    if bad:
                        reason = f"upstream step(s) {', '.join(bad)} did not complete"
                    elif failed and not self.continue_on_step_failure:
                        reason = f"step(s) {', '.join(failed)} failed and continue_on_step_failure is off"
                    elif self._cancel.is_set():
                        reason = "run canceled"
                    if reason:
                        state[step.name] = StepStatus.Skipped
                        with self._sweeper_lock:
                            self._unstarted[step.source_tree] -= 1
                        self.ledger.append(
                            ev.StepSkipped(run_id=self.run_id, step_run_id=new_step_run_id(), step_name=step.name, reason=reason)
                        )
                    elif all(state[u] in StepStatus.succeeded() for u in ups) and self._has_room(step, running):
                        # started here only when a worker is free: a step queued in the pool would
                        # start after a failure (or a cancel) that should have skipped it
                        state[step.name] = StepStatus.Running
                        with self._sweeper_lock:
                            self._unstarted[step.source_tree] -= 1
                        running[pool.submit(self._guarded_step, step)] = step
                if not running:
                    break
                # the ledger is read for a cancel request every CANCEL_POLL_S, not at each step's end
                done, _ = wait(running, timeout=max(0.0, next_cancel_check - time.monotonic()),
                               return_when=FIRST_COMPLETED)
                if time.monotonic() >= next_cancel_check:
                    self._check_cancel_request()
                    next_cancel_check = time.monotonic() + CANCEL_POLL_S
                for fut in done:
                    step = running.pop(fut)
                    result = fut.result()
                    state[step.name] = result.status
                    self.tree_of_output.update(result.outputs)
                    if result.status == StepStatus.Failed:
                        failed.append(step.name)
        self._wait_for_sweeper()  # whoever sees the run's end sees its completed steps' folders gone
        if self._cancel.is_set():
            self.ledger.append(ev.RunCanceled(run_id=self.run_id, reason=self._cancel_reason))
            return RunStatus.Canceled
        if failed:
            outside = [self.outside[n] for n in failed if n in self.outside]
            error = f"step(s) failed: {', '.join(failed)}" + (f" ({'; '.join(outside)})" if outside else "")
            resumable = len(outside) == len(failed)
            if resumable:
                error += f"; once the cause is gone, `canalis resume {self.run_id}` runs them again"
            self.ledger.append(ev.RunFailed(run_id=self.run_id, error=error, failed_steps=failed, resumable=resumable))
            return RunStatus.Failed
        self.ledger.append(ev.RunCompleted(run_id=self.run_id, duration_s=round(time.time() - started, 6)))
        return RunStatus.Completed

    def started_event(self) -> ev.RunStarted:
        """`run.started`, naming this process as the run's executor."""
        return ev.RunStarted(run_id=self.run_id, host=host_name(), pid=os.getpid(), resumed=self.resumed)

    def _has_room(self, step: StepSpec, running: dict) -> bool:
        """Whether `step` may start now. Steps on this machine: at most `max_workers` at once
        (its cores). Steps on a Dask target use the cluster's workers, not these cores: as many
        at once as keep every worker thread busy with the next step already queued
        (`DaskCluster.in_flight`; `max_workers` until the cluster is connected)."""
        dask = self.dask_runner(step.compute_target)
        same = [s for s in running.values() if s.compute_target == step.compute_target] if dask else \
            [s for s in running.values() if self.dask_runner(s.compute_target) is None]
        limit = (dask.cluster.in_flight() if dask else None) or self.max_workers
        return len(same) < limit

    def cancel(self, reason: str | None = None) -> None:
        """Start no further step and stop the running ones (their process groups get SIGTERM,
        then SIGKILL after a grace period); the run ends as Canceled."""
        if reason:
            self._cancel_reason = reason
        self._cancel.set()
        stop = getattr(self._runner, "stop_all", None)  # none made: no local step has run
        if stop is not None:
            stop()
        with self._docker_lock:
            if self._docker is not None:
                self._docker.stop_all()
            dask_runners = list(self._dask.values())
        for runner in dask_runners:
            runner.stop_all()

    def discard_folder(self, path: Path) -> None:
        """Remove the working folder of a step that completed, later: nothing reads it any
        more, so the next step need not wait for it. It is removed on a thread of its own while
        a step's process runs (`sweep`), when the executor has nothing else to do, and at the
        latest before the run's end is recorded."""
        with self._sweeper_lock:
            self._to_sweep.append(path)

    def sweep(self) -> None:
        """Start removing the folders `discard_folder` was given (a step's process has just
        started: the executor waits for it meanwhile)."""
        with self._sweeper_lock:
            folders, self._to_sweep = self._to_sweep, []
            if not folders:
                return
            if self._sweeper is None:
                from concurrent.futures import ThreadPoolExecutor

                self._sweeper = ThreadPoolExecutor(1, thread_name_prefix="canalis-sweep")
            import shutil  # not loaded by a run that runs no step (executor/noop.py)

            for path in folders:
                self._sweeper.submit(shutil.rmtree, path, ignore_errors=True)

    def prepare_ahead(self, source_tree: str) -> None:
        """A step with the source `source_tree` has just started its process: if steps not yet
        started share that source (a chain of steps from one source folder), make the working
        folder of one of them now, on the sweeper's thread, while the executor waits for the
        process: its source checked out (writable), its empty `outputs/` and log files. `take_prepared`
        hands it to the step. Nothing else ever writes into it, so the step gets a fresh
        checkout of exactly its source tree, as its key says."""
        with self._sweeper_lock:
            ready = len(self._spares.get(source_tree, ())) + self._spares_coming.get(source_tree, 0)
            if ready >= min(self._unstarted.get(source_tree, 0), self.max_workers):
                return
            self._spares_coming[source_tree] = self._spares_coming.get(source_tree, 0) + 1
            if self._sweeper is None:
                from concurrent.futures import ThreadPoolExecutor

                self._sweeper = ThreadPoolExecutor(1, thread_name_prefix="canalis-sweep")
            self._sweeper.submit(self._make_ahead, source_tree)

    def _make_ahead(self, source_tree: str) -> None:
        from canalis.store.errors import StoreError

        folder = self.scratch / self.run_id / f".ahead-{random_hex(32)}"
        lay = WorkLayout(folder)
        made = False
        try:
            self.store.checkout(source_tree, lay.src, readonly=False)
            (folder / "outputs").mkdir()
            for stream in ("stdout", "stderr"):  # empty: the step's logs are opened (truncated) there
                open(lay.log(stream), "xb").close()
            made = True
        except (OSError, StoreError):  # no room, say: the step checks its source out itself, and
            pass  # reports what goes wrong then, in its own phase
        finally:
            if not made:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
            with self._sweeper_lock:
                self._spares_coming[source_tree] -= 1
                if made:
                    self._spares.setdefault(source_tree, []).append(folder)

    def take_prepared(self, source_tree: str) -> Path | None:
        """A working folder made ahead for a step with the source `source_tree`, if one is ready
        (the caller renames it into place), else None."""
        with self._sweeper_lock:
            spares = self._spares.get(source_tree)
            return spares.pop() if spares else None

    def _wait_for_sweeper(self) -> None:
        self.sweep()
        with self._sweeper_lock:
            sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.shutdown(wait=True)
        with self._sweeper_lock:  # folders made ahead for steps that did not run (reused, skipped)
            spares = [f for folders in self._spares.values() for f in folders]
            self._spares.clear()
        if spares:
            import shutil

        for folder in spares:
            shutil.rmtree(folder, ignore_errors=True)

    def docker_runner(self):
        """The runner of the steps that run in Docker containers (executor/runners/docker.py)."""
        with self._docker_lock:
            if self._docker is None:
                from canalis.executor.runners.docker import DockerRunner

                self._docker = DockerRunner()
                if self._cancel.is_set():
                    self._docker.stop_all()
            return self._docker

    def dask_runner(self, target: str):
        """The runner of the steps whose compute target `target` is an attached Dask cluster
        (executor/runners/dask.py), or None for any other target."""
        with self._docker_lock:
            if self._targets is None:
                import json

                try:
                    cfg = json.loads((self.locks_dir.parent / "config.json").read_text())
                except (OSError, ValueError):
                    cfg = {}
                self._targets = cfg.get("compute_targets", {}) or {}
            entry = self._targets.get(target) or {}
            if entry.get("type") != "dask":
                return None
            if target not in self._dask:
                from canalis.executor.runners.dask import DaskCluster, DaskRunner

                self._dask[target] = DaskRunner(DaskCluster(target, entry.get("requested", {})))
                if self._cancel.is_set():
                    self._dask[target].stop_all()
            return self._dask[target]

    def _check_cancel_request(self) -> None:
        """Act on a run.cancel_requested another process recorded (`canalis cancel`)."""
        for rec in self.ledger.events(stream=f"run:{self.run_id}", type="run.cancel_requested", since=self._cancel_seen):
            self._cancel_seen = rec.seq
            if not self._cancel.is_set():
                self.cancel(rec.payload.get("reason") or "canceled by the user")

    @property
    def canceled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_reason(self) -> str:
        return self._cancel_reason

    @property
    def runner(self):
        """The runner of the steps that run on this machine: the one given, else a LocalRunner
        (executor/runners/local.py, which loads subprocess and signals), made on first use."""
        if self._runner is None:
            from canalis.executor.runners.local import LocalRunner

            self._runner = LocalRunner()
        return self._runner

    def base_env(self) -> dict[str, str]:
        """The environment a step process starts from (the executor's own); the bound step's
        variables are added on top."""
        return dict(os.environ)

    # -- one step ----------------------------------------------------------------------
    def _guarded_step(self, step: StepSpec) -> StepResult:
        from canalis.executor import nospace
        from canalis.executor.outcome import StepResult
        from canalis.executor.stepprofile import StepClock

        step_run_id = new_step_run_id()
        clock = StepClock(step.name)
        try:
            return self._step(step, step_run_id, clock)
        except Exception as e:  # an internal error must fail the step, not hang the run
            error = f"canalis could not run the step: {type(e).__name__}: {e}"
            if nospace.is_no_space(e):
                error = nospace.describe(step.name, self.phase.get(step_run_id), e)
                if step.name in self.outside:  # its own process had run out of space first
                    error = f"{self.outside[step.name]}; then {error}"
                self.outside[step.name] = error
            self.record_failure(
                ev.StepFailed(
                    run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key="",
                    error=error, exit_code=None, stdout=None, stderr=None, duration_s=0.0,
                ),
                self.scratch / self.run_id / step_run_id,
            )
            return StepResult(StepStatus.Failed)
        finally:
            clock.report()

    def record_failure(self, event, work: Path) -> None:
        """Record a step's failure. When the ledger has no room, the step's partial outputs (never
        stored, often what filled the disk) are removed and the record tried once more."""
        try:
            self.ledger.append(event)
        except LedgerFull:
            from canalis.executor import nospace

            nospace.free_partial_outputs(work)
            self.ledger.append(event)

    def input_trees(self, step: StepSpec) -> dict[str, str]:
        return {i.name: (i.tree if i.source == "data" else self.tree_of_output[i.output]) for i in step.inputs}

    def input_files(self, step: StepSpec) -> dict[str, str]:
        """Inputs the step gets as one file: data naming one file (`options["file"]`), and
        upstream outputs written as one file (executor/outputs.py)."""
        out = {}
        for i in step.inputs:
            if i.source == "data" and i.options.get("file"):
                out[i.name] = i.options["file"]
            elif i.source == "output" and self._file_output(self.tree_of_output[i.output], i.output):
                out[i.name] = i.output
        return out

    def _file_output(self, tree: str, name: str) -> bool:
        """`outputs.file_output`, read once per tree and name: a tree never changes, and a step's
        binding and its context both ask."""
        found = self._file_outputs.get((tree, name))
        if found is None:
            found = self._file_outputs[(tree, name)] = outputs.file_output(self.store, tree, name)
        return found

    def known_output(self, name: str, tree: str, entries) -> None:
        """An output tree's entries already read (by the reuse check): binding its downstream
        steps does not read the tree again (`_file_output`)."""
        self.tree_of_output[name] = tree
        self._file_outputs[(tree, name)] = outputs.is_one_file(entries, name)

    def env_spec(self, step: StepSpec):
        """`EnvSpec.of(step.environment)`, read once per step: binding the step and recording
        its reuse both ask."""
        known = self._env_specs.get(step.name)
        if known is None or known[0] is not step.environment:
            from canalis.executor.envspec import EnvSpec

            known = self._env_specs[step.name] = (step.environment, EnvSpec.of(step.environment))
        return known[1]

    def bind(self, step: StepSpec) -> BoundStep:
        return bind(step, self.params, self.input_trees(step), self.input_files(step), self.env_spec(step))

    def _step(self, step: StepSpec, step_run_id: str, clock: StepClock) -> StepResult:
        from canalis.executor.outcome import StepResult  # a step this process runs or reuses itself

        bound = self.bind(step)
        clock.mark("bind")
        if not step.allow_reuse or self.regenerate:
            return self._execute_step(bound, step_run_id, clock)
        with single_flight(self.locks_dir, bound.key):
            with writing(self.locks_dir):
                found = find_reusable(self.ledger, self.store, bound.key)
                if found is not None:
                    self.ledger.append_many(self.reused_events(step, bound, step_run_id, found))
                    return StepResult(StepStatus.Reused, dict(found.outputs))
            clock.mark("reuse_lookup")
            return self._execute_step(bound, step_run_id, clock)

    def reused_events(self, step: StepSpec, bound: BoundStep, step_run_id: str, found, together=None) -> list:
        """What a reused step records: `step.reused`, then `step.environment` for a step on the
        current interpreter (executor/stepenv.py). Called under `writing`; the key document is
        stored again (gc may have removed it with the run that first ran the step). `together`:
        see `stepenv.reused_environment` (several reused steps recorded under one `writing`)."""
        from canalis.executor.stepenv import reused_environment

        self.store.put_bytes(bound.document)
        reused = ev.StepReused(run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=bound.key,
                               reused_from=found.step_run_id, reused_run_id=found.run_id, outputs=found.outputs)
        environment = reused_environment(self, step.environment, step_run_id, step.name, together, self.env_spec(step))
        return [reused] if environment is None else [reused, environment]

    def _execute_step(self, bound: BoundStep, step_run_id: str, clock: StepClock | None = None) -> StepResult:
        from canalis.executor.steprun import StepExecution  # not imported by a run whose steps are all reused

        return StepExecution(self, bound, step_run_id, clock).execute()
