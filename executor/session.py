"""The application core: a `Session` on one workspace owns its store, ledger and locks and
offers the verbs everything else calls (the SDK classes, the CLI, later the server).

Each verb that writes takes the garbage-collection safety lock (`locks.writing`) itself,
around both the objects it writes and the events that name them, so no caller handles
locks. Verbs that write objects take a `build(store)` function for the part only the
caller knows (compiling SDK objects into a plan, snapshotting a model folder), and run it
inside the lock.

Verbs:
- `submit(experiment, plan, ...)`, `resume(run_id)`, `reproduce(run_id)`: record the run
  and start its executor, a detached process of its own (executor/launch.py); they return a
  `RunHandle` once that process has taken the run. A submitted run whose every step is
  reused is recorded by `submit` itself, start to end, with no process (executor/noop.py).
- `preview(plan, ...)`: what a submit would do (reuse or run, and why), recording nothing.
- `execute(run_id)`: what that executor process does: run a recorded run until it ends.
- `cancel(run_id)`; `tag(run_id, tags)`, `log_metric(...)`: record what a user says about a run.
- `register(what, name, content, ...)`: datasets, models and environments (executor/registry.py).
- `register_datastore(name, kind, path)`.
- Reads: `run`, `runs`, `step_runs`, `step_run`, `run_status` (with the derived `Orphaned`).
- Published pipelines, endpoints, schedules and tokens (executor/published.py,
  executor/schedules.py, executor/tokens.py): `publish`, `submit_published`, the endpoint and
  schedule verbs, `create_token`, `revoke_token`, `authenticate`, `local_token`.
"""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from canalis.executor import noop, runlog
from canalis.executor.engine import RunExecutor, new_run_id, submitted_event
from canalis.executor.errors import ExecutorError, PlanError
from canalis.executor.locks import writing
from canalis.executor.plan import Plan
from canalis.executor.records import record
from canalis.ledger import events as ev

if TYPE_CHECKING:
    from canalis.executor.launch import ExecutorProcess
    from canalis.executor.registry import Lineage
    from canalis.ledger.rows import RegistrationRow, RunRow
    from canalis.ledger.status import RunStatus

# registry, published, schedules and tokens are imported by the verbs that use them: a submit
# (and the executor process) needs none of them, and schedules bring in dateutil and time zones.
# Nor do the preview, resume, cancel and executor-process checks (orphans: sockets, signals,
# subprocesses) belong to a submit whose steps are all reused: their verbs import them.
# Neither do starting a process (launch) and a standby (standby): `_start` and
# `prestart_executor` import them, and a standby can exist only once its module is loaded.


def _discard_standby(executor_argv) -> None:
    """Let the standby started ahead of this submit quit, if one was (executor/standby.py)."""
    standby = sys.modules.get("canalis.executor.standby")
    if standby is not None:
        standby.discard(executor_argv)


@record
class SubmitOptions:
    """How a run executes (SDK v1 submit keywords): reuse off for every step, whether steps
    whose inputs exist still run after a failure, how many steps run at once."""

    regenerate_outputs: bool = False
    continue_on_step_failure: bool = False
    max_concurrent_steps: int | None = None


class RunHandle:
    """A run this process started: its id and its executor process (pid, log file), or None
    for a run this process recorded itself, every step reused (executor/noop.py). The run is
    watched through the ledger, as any other process watches it (canalis/core/run.py)."""

    def __init__(self, run_id: str, process: ExecutorProcess | None, log_path: Path | None = None):
        self.run_id, self.process = run_id, process
        self._log_path = log_path

    @property
    def log_path(self) -> Path:
        return self.process.log_path if self.process is not None else self._log_path

    @property
    def exited(self) -> threading.Event:
        """Set once the run's executor has exited (at once when there was none)."""
        if self.process is not None:
            return self.process.exited
        done = threading.Event()
        done.set()
        return done


class Session:
    """The verbs of one workspace. `layout` gives its folders and config: `root`, `locks`,
    `runs`, `read_config()`, `write_config(cfg)`; `store` and `ledger` are open;
    `secret_values(names)` gives the values of keyvault secrets (to mask them in logs)."""

    def __init__(self, layout, store, ledger, secret_values: Callable[[list], list] | None = None,
                 executor_argv: list[str] | None = None):
        self.layout, self.store, self.ledger = layout, store, ledger
        ledger.documents = store.get_bytes  # plans stored by content are read from this (already open) store
        # names -> values of the workspace's secrets (its keyvault): masked in the logs of steps that read them
        self.secret_values = secret_values
        # how to start a run's executor process (the face owns the entry point); the run id and
        # options are appended: RUN_ID [--resume] [--max-concurrent-steps N]
        self.executor_argv = list(executor_argv or [])
        self.root = Path(layout.root)
        self.locks_dir, self.runs_dir = Path(layout.locks), Path(layout.runs)

    @contextmanager
    def _writing(self):
        """Objects written inside are named by an event before garbage collection may sweep."""
        with writing(self.locks_dir):
            yield

    # -- runs --------------------------------------------------------------------------------
    def submit(self, experiment: str, plan: Plan | Callable[[object], Plan], parameters: dict | None = None, *,
               options: SubmitOptions = SubmitOptions(), tags: dict | None = None, kind: str = "pipeline",
               description: str | None = None, vet: Callable[[Plan, dict], None] | None = None,
               trigger: dict | None = None) -> RunHandle:
        """Record `run.submitted` and start the run. `plan` may be a function of the store
        that builds it (taking the snapshots it needs): it runs under the safety lock. `vet(plan,
        parameters)` may refuse the submit (raising) before anything is recorded. `trigger`
        says what started the run when it is not a direct submit (a REST call, a schedule).
        A run whose every step is reused is recorded here and starts no process (executor/noop.py);
        no executor is started ahead of a submit for that reason (a caller may, `prestart_executor`)."""
        try:
            with self._writing():
                plan = plan(self.store) if callable(plan) else plan
                params = plan.resolve_parameters(parameters)
                if vet is not None:
                    vet(plan, params)
                run_id = new_run_id(experiment)
                gits = [s.git for s in plan.steps if s.git]
                submitted = submitted_event(
                    run_id, experiment, plan, params, tags=tags, git=gits[0] if gits else None, kind=kind,
                    description=description, options={"regenerate_outputs": options.regenerate_outputs,
                                                      "continue_on_step_failure": options.continue_on_step_failure},
                    trigger=trigger, store=self.store)
                # every step reused: recorded here, in one transaction with run.submitted (executor/noop.py)
                executor = self._executor(run_id, experiment, plan, params, regenerate=options.regenerate_outputs,
                                          continue_on_step_failure=options.continue_on_step_failure)
                started = time.time()
                reused = noop.all_reused(executor) if noop.enabled() else None
                self.ledger.append_many([submitted, *(noop.run_events(executor, reused, started) if reused else [])])
        except BaseException:  # nothing to execute: the executor started ahead quits
            _discard_standby(self.executor_argv)
            raise
        if reused:
            _discard_standby(self.executor_argv)
            log = runlog.log_path(self.runs_dir, run_id)
            noop.note(log, run_id)
            return RunHandle(run_id, None, log)
        return self._start(run_id, max_concurrent_steps=options.max_concurrent_steps)

    def preview(self, plan: Plan | Callable[[object], Plan], parameters: dict | None = None, *,
                options: SubmitOptions = SubmitOptions(), vet: Callable[[Plan, dict], None] | None = None) -> dict:
        """What `submit` would do, without recording or running anything (executor/preview.py):
        {"plan", "parameters", "steps": [...], "snapshots": [...]}. Building the plan stores the
        snapshots it takes (no event names them: garbage collection removes them after its grace)."""
        with self._writing():
            plan = plan(self.store) if callable(plan) else plan
            params = plan.resolve_parameters(parameters)
            if vet is not None:
                vet(plan, params)
            from canalis.executor import preview

            steps = preview.preview(self.ledger, self.store, plan, params, regenerate=options.regenerate_outputs)
        return {"plan": plan, "parameters": params, "steps": steps, "snapshots": preview.snapshots(plan)}

    def resume(self, run_id: str, *, force: bool = False, max_concurrent_steps: int | None = None,
               regenerate_outputs: bool = False) -> RunHandle:
        """Finish a run whose executor died (or that failed resumably) in a new executor process;
        steps it completed keep their results. Steps left running are recorded as abandoned here.
        The options recorded at submit hold; `regenerate_outputs` also turns reuse off for the
        steps the resume runs."""
        from canalis.executor.resume import prepare_resume

        prepare_resume(self.ledger, run_id, force=force, regenerate_outputs=regenerate_outputs)
        return self._start(run_id, resumed=True, max_concurrent_steps=max_concurrent_steps)

    def reproduce(self, run_id: str, *, max_concurrent_steps: int | None = None) -> RunHandle:
        """Run RUN's recorded plan again from the ledger and the store alone, reuse off, as a
        new run tagged `reproduces=RUN`. Outputs are not copied to datastore destinations and
        no dataset is registered."""
        submitted = self._submitted(run_id)
        plan = Plan.from_dict(submitted["plan"])
        _check_recorded(plan, run_id)
        new_id = new_run_id(submitted["experiment"])
        with self._writing():  # the plan document and the event that names it
            self.ledger.append(submitted_event(
                new_id, submitted["experiment"], plan, submitted["parameters"], kind=submitted["kind"],
                git=submitted.get("git"), tags={"reproduces": run_id}, description=f"reproduction of {run_id}",
                options={"regenerate_outputs": True, "reproduces": run_id}, store=self.store))
        return self._start(new_id, max_concurrent_steps=max_concurrent_steps)

    def prestart_executor(self) -> None:
        """Start the executor of the next run this process starts on this workspace ahead of
        time (executor/standby.py): it gets ready while the run is planned and recorded."""
        if self.executor_argv:
            from canalis.executor import standby

            standby.prestart(self.executor_argv, self.runs_dir)

    def _submitted(self, run_id: str) -> dict:
        rec = next(iter(self.ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
        if rec is None:
            raise ExecutorError(f"run {run_id!r} has no run.submitted event in this workspace")
        return rec.payload

    def _start(self, run_id: str, *, resumed: bool = False, max_concurrent_steps: int | None = None) -> RunHandle:
        """Start the run's executor process (detached) and return once it has taken the run.
        Interrupted meanwhile (Ctrl-C), the run is canceled: nobody asked for it to go on."""
        if not self.executor_argv:
            raise ExecutorError("this Session cannot start executor processes (opened without executor_argv)")
        args = [run_id, *(["--resume"] if resumed else []),
                *(["--max-concurrent-steps", str(max_concurrent_steps)] if max_concurrent_steps else [])]
        from canalis.executor import launch

        try:
            process = launch.start(self.ledger, self.executor_argv, args, self.runs_dir, run_id)
        except KeyboardInterrupt:
            from canalis.executor.cancel import request_cancel

            request_cancel(self.ledger, run_id, "interrupted (Ctrl-C) while starting")
            raise
        return RunHandle(run_id, process)

    def execute(self, run_id: str, *, resumed: bool = False, max_concurrent_steps: int | None = None) -> RunStatus:
        """Execute a recorded run in this process, until it ends: what a run's executor process
        does. The plan, parameters and options are read back from `run.submitted`; a resumed
        run also reads which steps it finished before (executor/resume.py)."""
        from canalis.executor.resume import recorded_progress

        submitted, _ended, _started, done, effective = recorded_progress(self.ledger, run_id)
        if submitted is None:
            raise ExecutorError(f"run {run_id!r} has no run.submitted event in this workspace")
        plan = Plan.from_dict(submitted["plan"])
        _check_recorded(plan, run_id)
        options = (submitted.get("plan") or {}).get("options") or {}
        executor = self._executor(
            run_id, submitted["experiment"], plan, dict(submitted["parameters"]),
            max_workers=max_concurrent_steps or self.settings().get("max_concurrent_steps"),
            resumed=resumed, done=done if resumed else None,
            # regenerate_outputs recorded at submit holds on resume, and a resume may ask for it;
            # a reproduction never publishes, resumed or not
            regenerate=effective["regenerate_outputs"],
            continue_on_step_failure=effective["continue_on_step_failure"],
            publish="reproduces" not in options,
        )
        return executor.execute()

    def _executor(self, run_id: str, experiment: str, plan: Plan, parameters: dict, **options) -> RunExecutor:
        """The executor of a run on this workspace (its process's, or this one's for a run
        whose every step is reused)."""
        return RunExecutor(ledger=self.ledger, store=self.store, plan=plan, run_id=run_id, parameters=parameters,
                           scratch_dir=self.runs_dir, locks_dir=self.locks_dir, experiment=experiment,
                           workspace_root=self.root, secret_values=self.secret_values, **options)

    def cancel(self, run_id: str, reason: str | None = None) -> str:
        """Ask the run to stop (any process). Returns `RunStatus.Canceled` or "CancelRequested"."""
        from canalis.executor.cancel import request_cancel

        return request_cancel(self.ledger, run_id, reason)

    def tag(self, run_id: str, tags: dict, step_run_id: str | None = None) -> None:
        self.ledger.append(ev.RunTagged(run_id=run_id, step_run_id=step_run_id, tags={str(k): v for k, v in tags.items()}))

    def log_metric(self, run_id: str, name: str, kind: str, value, description=None, step_run_id: str | None = None):
        self.ledger.append(ev.MetricLogged(run_id=run_id, step_run_id=step_run_id, name=str(name), kind=kind,
                                           value=value, description=description or None))

    def record_secrets(self, names: list[str], deleted: bool = False) -> None:
        """Record that keyvault secrets were stored (or deleted): their names only, never values."""
        cls = ev.SecretDeleted if deleted else ev.SecretStored
        self.ledger.append_many([cls(name=n) for n in names])

    def annotate(self, stream: str, message: str, author: str | None = None):
        """Record an auditor's note on a stream the ledger knows (`canalis ledger annotate`):
        a note about a stream nothing was ever recorded on (a mistyped run id) is refused."""
        from canalis.executor.errors import UnknownStreamError

        if next(iter(self.ledger.events(stream=stream, chunk=1)), None) is None:
            raise UnknownStreamError(
                f"the ledger has no event on stream {stream!r}, so a note there would be about nothing; "
                "name a stream that exists: run:RUN_ID (`canalis runs`), or one `canalis ledger events` shows "
                "(or use --run RUN, which takes latest or a prefix)")
        return self.ledger.append(ev.AnnotationAdded(stream_name=stream, message=message, author=author))

    # -- registrations -------------------------------------------------------------------------
    def register(self, what: str, name: str, content: str | Callable[[object], str], *,
                 lineage: Lineage | None = None, description=None, tags=None, properties=None,
                 create_new_version: bool = True, **fields) -> RegistrationRow:
        """Register a version of a dataset, model or environment (one rule: executor/registry.py).
        `content` is a digest already in the store, or a function of the store that puts the
        content there and returns its digest (it runs under the safety lock)."""
        from canalis.executor import registry
        with self._writing():
            digest = content(self.store) if callable(content) else content
            return registry.register(self.ledger, what, name, digest, lineage=lineage, description=description,
                                     tags=tags, properties=properties, create_new_version=create_new_version, **fields)

    def register_datastore(self, name: str, kind: str, path: str) -> None:
        cfg = self.layout.read_config()
        cfg.setdefault("datastores", {})[name] = {"type": kind, "path": path}
        self.layout.write_config(cfg)
        self.ledger.append(ev.DatastoreRegistered(name=name, kind=kind, path=path))

    # -- published pipelines, endpoints, schedules, tokens ----------------------------------------
    def publish(self, name: str, plan: Plan | Callable[[object], Plan], *, description=None, version=None,
                continue_on_step_failure: bool = False, published_from_run: str | None = None):
        """Publish a plan (a function of the store that builds it runs under the safety lock, so
        its snapshots are named by `pipeline.published` before garbage collection may sweep)."""
        from canalis.executor import published
        with self._writing():
            plan = plan(self.store) if callable(plan) else plan
            return published.publish(self.ledger, self.store, plan, name, description=description, version=version,
                                     continue_on_step_failure=continue_on_step_failure,
                                     published_from_run=published_from_run)

    def set_pipeline_enabled(self, pipeline_id: str, enabled: bool):
        from canalis.executor import published
        return published.set_pipeline_enabled(self.ledger, pipeline_id, enabled)

    def publish_endpoint(self, name: str, pipeline_id: str, description=None):
        from canalis.executor import published
        return published.publish_endpoint(self.ledger, name, pipeline_id, description)

    def add_to_endpoint(self, endpoint_id: str, pipeline_id: str, make_default: bool = False):
        from canalis.executor import published
        return published.add_to_endpoint(self.ledger, endpoint_id, pipeline_id, make_default)

    def set_endpoint_default(self, endpoint_id: str, version):
        from canalis.executor import published
        return published.set_default_version(self.ledger, endpoint_id, version)

    def rename_endpoint(self, endpoint_id: str, name: str):
        from canalis.executor import published
        return published.rename_endpoint(self.ledger, endpoint_id, name)

    def set_endpoint_enabled(self, endpoint_id: str, enabled: bool):
        from canalis.executor import published
        return published.set_endpoint_enabled(self.ledger, endpoint_id, enabled)

    def submit_published(self, experiment: str, parameters: dict | None = None, *, pipeline_id: str | None = None,
                         endpoint_id: str | None = None, version=None, trigger: dict | None = None,
                         description: str | None = None, tags: dict | None = None,
                         continue_on_step_failure: bool | None = None,
                         vet: Callable[[Plan, dict], None] | None = None) -> RunHandle:
        """Run a published pipeline (or an endpoint's version, the default when None) as
        `Experiment.submit` runs a pipeline: the run is recorded and its executor started by
        `submit`. Refused before anything is recorded when the pipeline or endpoint is
        disabled, or a parameter is unknown or of the wrong type."""
        from canalis.executor import published
        row, ep = published.runnable(self.ledger, pipeline_id, endpoint_id, version)
        plan = Plan.from_dict(row.plan)
        _check_recorded(plan, row.pipeline_id)
        published.check_parameters(plan, parameters)
        keep_going = row.continue_on_step_failure if continue_on_step_failure is None else continue_on_step_failure
        trigger = {"via": "sdk", **(trigger or {}), "pipeline_id": row.pipeline_id,
                   "endpoint_id": ep.endpoint_id if ep else None}
        return self.submit(experiment, plan, parameters, options=SubmitOptions(continue_on_step_failure=bool(keep_going)),
                           tags=tags, description=description or row.description, vet=vet, trigger=trigger)

    def create_schedule(self, name: str, experiment: str, **settings):
        """`folder_listing` (bytes) of a data-change schedule is stored and named by its event."""
        from canalis.executor import schedules
        with self._writing():  # the folder listing and the event that names it
            return schedules.create(self.ledger, name, experiment, store=self.store, **settings)

    def update_schedule(self, schedule_id: str, changes: dict):
        from canalis.executor import schedules
        return schedules.update(self.ledger, schedule_id, changes)

    def set_schedule_enabled(self, schedule_id: str, enabled: bool):
        from canalis.executor import schedules
        return schedules.set_enabled(self.ledger, schedule_id, enabled)

    def claim_schedule(self, schedule_id: str, reason: str, **fire):
        """Record that a schedule fires, unless that fire is recorded already (executor/schedules.py).
        A data-change fire's `listing` (bytes) is stored and named by its event."""
        from canalis.executor import schedules
        with self._writing() if fire.get("listing") is not None else nullcontext():  # the listing and its event
            return schedules.claim(self.ledger, schedule_id, reason, store=self.store, **fire)

    def schedule_failed(self, schedule_id: str, error: str, due: str | None = None) -> None:
        from canalis.executor import schedules
        schedules.record_failure(self.ledger, schedule_id, error, due)

    def create_token(self, name: str):
        """A new bearer token: (its row, its text). The text is shown once; the ledger keeps its digest."""
        from canalis.executor import tokens
        return tokens.create(self.ledger, name)

    def revoke_token(self, name_or_id: str):
        from canalis.executor import tokens
        return tokens.revoke(self.ledger, name_or_id)

    def authenticate(self, text: str | None):
        """The valid token whose text this is, or None (compared in constant time)."""
        from canalis.executor import tokens
        return tokens.authenticate(self.ledger, text)

    def local_token(self) -> str:
        """The workspace's local token (made on first use, kept readable by the owner only)."""
        from canalis.executor import tokens
        return tokens.local(self.ledger, Path(self.layout.dir) / "local-token", self.locks_dir)

    # -- reads ---------------------------------------------------------------------------------
    def settings(self) -> dict:
        return self.layout.read_config().get("settings", {})

    def run(self, run_id: str) -> RunRow | None:
        return self.ledger.run(run_id)

    def run_status(self, run_id: str) -> RunStatus | None:
        """The run's status as the ledger says it, except that a run whose executor process
        is gone is `Orphaned` (finish it with `resume`)."""
        row = self.ledger.run(run_id)
        from canalis.executor.orphans import effective_status

        return None if row is None else effective_status(row)


def _check_recorded(plan: Plan, run_id: str) -> None:
    """A plan read back from the ledger gets the checks a submit gives (names and paths stay
    inside their roots), so a recorded plan from an older canalis cannot write elsewhere."""
    try:
        plan.check_paths()
    except PlanError as e:
        raise PlanError(f"run {run_id}: {e}") from None


def __getattr__(name: str):
    if name == "effective_status":  # named here before, imported on first use (executor/orphans.py)
        from canalis.executor.orphans import effective_status

        return effective_status
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RunHandle", "Session", "SubmitOptions", "effective_status"]
