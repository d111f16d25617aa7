"""`Run`: a run recorded in the ledger, the in-step context run, and the offline run.

Inside a step, `Run.get_context()` returns the step's run: what it logs is written to the
step's channel and reaches the ledger through the executor. Outside canalis it returns
an offline run that prints what it is given, as SDK v1 did.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from canalis.core import metrics as _metrics
from canalis.exceptions import UserErrorException
from canalis.executor.ids import uuid4_text

if TYPE_CHECKING:  # the ledger is imported where it is read: a step importing the SDK does not load it
    from canalis.ledger.rows import RunRow

#: how `Run.get_context()` makes the run of the step this process runs; canalis/core/run_context.py
#: installs it (canalis.core imports that module), so this module needs nothing above it
_STEP_CONTEXT: dict = {}
#: run kind ("pipeline", "script") -> the Run subclass that answers for such runs
_RUN_TYPES: dict = {}


class Run:
    """A top-level run (a submitted pipeline or script) as the ledger knows it."""

    #: kinds of runs a subclass answers for (`Run._rehydrate` picks the class by the run's kind)
    _kinds: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for kind in cls.__dict__.get("_kinds", ()):
            _RUN_TYPES[kind] = cls

    @staticmethod
    def _rehydrate(experiment, run_id, kind=None):
        """The run object for a recorded run: of the class registered for its kind."""
        if kind is None:
            row = experiment.workspace.ledger.run(run_id)
            kind = row.kind if row is not None else None
        return _RUN_TYPES.get(kind, Run)(experiment, run_id)

    def __init__(self, experiment, run_id):
        self.experiment = experiment
        self._run_id = run_id
        self._handle = None  # a RunHandle (executor process, log) when this process started the run

    # -- factory -----------------------------------------------------------------------
    @staticmethod
    def get_context(allow_offline=True, used_for_context_manager=False, **kwargs):
        from canalis.executor.channel import ENV_VAR

        path = os.environ.get(ENV_VAR)
        if path:
            return _STEP_CONTEXT["factory"](json.loads(Path(path).read_text(encoding="utf-8")))
        if not allow_offline:
            raise UserErrorException("Run.get_context(allow_offline=False) called outside a canalis step")
        return _OfflineRun()

    # -- identity and state -----------------------------------------------------------------
    @property
    def id(self):
        return self._run_id

    @property
    def _ledger(self):
        return self.experiment.workspace.ledger

    @property
    def _session(self):
        return self.experiment.workspace.session

    def _row(self) -> RunRow:
        row = self._ledger.run(self._run_id)
        if row is None:
            raise UserErrorException(f"run {self._run_id!r} is not in the ledger of workspace {self.experiment.workspace.name!r}")
        return row

    @property
    def parent(self):
        return None

    @property
    def status(self):
        return self.get_status()

    def get_status(self) -> str:
        """The run's status as SDK v1 gives it: a plain string ("Completed", ...), or "Orphaned"
        when the ledger shows it queued or running but its executor process is gone."""
        return self._status_now().value

    def get_details(self) -> dict:
        row = self._row()
        return {
            "runId": self._run_id, "status": self.get_status(), "startTimeUtc": row.started_at,
            "endTimeUtc": row.finished_at, "properties": {"kind": row.kind},
            "tags": row.tags or {}, "parameters": row.parameters or {}, "git": row.git,
            "error": row.error, "experiment": self.experiment.name,
        }

    def get_tags(self) -> dict:
        return dict(self._row().tags or {})

    @property
    def tags(self):
        return self.get_tags()

    def tag(self, key, value=None):
        self.set_tags({key: value})

    def set_tags(self, tags):
        self._session.tag(self._run_id, tags)

    def log(self, name, value, description=""):
        self._log(name, "scalar", value, description)

    def log_list(self, name, value, description=""):
        self._log(name, "list", list(value), description)

    def log_row(self, name, description=None, **kwargs):
        self._log(name, "row", kwargs, description)

    def log_table(self, name, value, description=""):
        self._log(name, "table", {k: list(v) for k, v in value.items()}, description)

    def _log(self, name, kind, value, description):
        from canalis.core.keyvault import refuse_secret_metric

        refuse_secret_metric(name, value)
        self._session.log_metric(self._run_id, name, kind, _plain(value), description)

    def get_secret(self, name) -> str:
        """A secret of the workspace's keyvault."""
        return self.experiment.workspace.get_default_keyvault().get_secret(name)

    def get_secrets(self, secrets) -> dict:
        return self.experiment.workspace.get_default_keyvault().get_secrets(secrets)

    def get_metrics(self, name=None, recursive=False, run_type=None, populate=False):
        """The run's metrics: those logged on it, also by its steps with `run.parent.log(...)`;
        a step the run reused answers with what the step run it reused logged."""
        answered = self._ledger.run_metrics(self._run_id)
        rows = [r for r in answered if r.step_run_id is None]
        if not rows and self._row().kind == "script":
            rows = answered
        folded = _metrics.fold(rows)
        if recursive:
            out = {self._run_id: folded}
            for child in self.get_children():
                out[child.id] = child.get_metrics()
            return out
        return {name: folded[name]} if name else folded

    def get_children(self, recursive=False, tags=None, properties=None, type=None, status=None, _rehydrate_runs=True):
        """Child runs (a pipeline run's step runs: `PipelineRun`); a plain run has none."""
        return []

    def get_file_names(self):
        names = []
        for child in self.get_children():
            names += [f"{child.name}/{n}" for n in child.get_file_names()]
        return names

    # -- waiting ------------------------------------------------------------------------------
    def wait_for_completion(self, show_output=False, wait_post_processing=False, raise_on_error=True, timeout_seconds=None):
        """Wait until the run ends and return its status. The run executes in a process of its
        own; this reads the ledger, from this process or any other. `show_output=True` streams
        the steps' output (each line after `[step] `), then a summary. Ctrl-C stops the waiting
        only: the run goes on (as in SDK v1), and the exception raised says so."""
        from canalis.core import submit_capture
        from canalis.exceptions import ActivityFailedException, ExperimentExecutionException
        from canalis.ledger.status import RunStatus

        try:
            status = self._follow(show_output, timeout_seconds, report_orphaned=not raise_on_error)
        except KeyboardInterrupt:
            if submit_capture.active():
                raise  # `canalis submit` is loading this script: there Ctrl-C cancels the run
            self._end_output()
            raise ExperimentExecutionException(
                f"stopped waiting for run {self._run_id} (interrupted); the run goes on in its executor process. "
                f"Follow it with `canalis logs {self._run_id} --follow`; stop it with run.cancel() or "
                f"`canalis cancel {self._run_id}`") from None
        if raise_on_error and status == RunStatus.Failed:
            raise ActivityFailedException(f"run {self._run_id} failed: {self._row().error}")
        if raise_on_error and status == RunStatus.Orphaned:
            raise ActivityFailedException(self._orphaned_message())
        return status

    def _status_now(self):
        """The run's effective status (executor/orphans.py). A run seen Running whose executor is
        gone is read once more: the executor may have recorded the run's end just before exiting."""
        from canalis.ledger.status import RunStatus

        row = self._row()
        if row.status in RunStatus.terminal():
            return row.status  # ended: no executor process to look at
        from canalis.executor.orphans import effective_status

        status = effective_status(row)
        return effective_status(self._row()) if status == RunStatus.Orphaned else status

    def _follow(self, show_output, timeout_seconds=None, report_orphaned=True) -> str:
        """Follow the run through the ledger until it ends (or its executor is gone, or the
        timeout passes); KeyboardInterrupt goes to the caller."""
        import time

        from canalis.ledger.status import RunStatus

        ended = RunStatus.terminal() | {RunStatus.Orphaned}
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        self._show_output = bool(show_output)
        # when this process started the executor, its exit (right after it records the run's end)
        # ends a pause at once; otherwise the pauses are short at first, then 4 looks a second
        exited = self._handle.exited if self._handle is not None else None
        pause = 0.005
        try:
            while self._status_now() not in ended:
                self._flush_output()
                if deadline is not None and time.monotonic() > deadline:
                    break
                if exited is not None:
                    exited.wait(pause)
                else:
                    time.sleep(pause)
                pause = min(0.25, pause * 1.25)
            self._flush_output()
        finally:  # the live view gives the terminal back, also on Ctrl-C
            self._end_output()
        status = self._status_now()
        if status == RunStatus.Orphaned and report_orphaned:
            print(f"canalis: {self._orphaned_message()}", file=sys.stderr, flush=True)
        if show_output and not getattr(self, "_summary_shown", False):
            self._print_summary()
            self._summary_shown = status in ended
        return status.value

    def _orphaned_message(self) -> str:
        from canalis.executor.launch import log_path, log_tail

        row = self._row()
        log = log_path(self._session.runs_dir, self._run_id)
        tail = log_tail(log)
        return (f"run {self._run_id} did not end: its executor process ({row.pid} on {row.host}) is gone"
                + (f"; its log {log} ends with:\n{tail}\n" if tail else "; ")
                + f"`canalis resume {self._run_id}` finishes the run (steps that completed keep their results)")

    def _flush_output(self):
        """Show what changed since the last call: step states, and what the run's steps wrote,
        in the live view on a terminal, line by line otherwise (canalis/core/run_view.py). Read
        from the ledger and the step logs (the live files, then the store), so memory stays
        bounded and nothing is held back for a caller that never asks for output."""
        if not getattr(self, "_show_output", False):
            return
        from canalis.core.run_logs import LogFollower
        from canalis.core.run_view import make_view
        from canalis.step_states import plan_steps, step_states

        ws = self.experiment.workspace
        if getattr(self, "_follower", None) is None:
            self._follower = LogFollower(ws.ledger, ws.store, str(ws.session.runs_dir), self._run_id)
            self._plan = plan_steps(ws.ledger, self._run_id)
        if getattr(self, "_view", None) is None:
            self._view = make_view(getattr(self, "_plain", None))
        # the states are read before the logs: a step they show ended has stored its whole log
        # (before its end was recorded), so this poll reads all of it, and a view says the
        # step's last lines before its end
        states = step_states(ws.ledger, self._run_id, plan=self._plan)
        self._view.expect(states)
        self._follower.poll(lambda row, stream, data, first: self._view.output(row, stream, data))
        self._view.update(states)

    def _end_output(self):
        """After the last flush: stop the view (a stream that ended without a newline gets one,
        so the summary starts on a line of its own)."""
        view = getattr(self, "_view", None)
        if view is not None:
            from canalis.core.run_view import LiveView

            view.stop()
            if isinstance(view, LiveView):  # a plain view is kept: what it said is not said twice
                self._view = None

    def _print_summary(self):
        """The run's status and each step's; for a failed step, its last lines of stderr and
        where its whole log is."""
        from canalis.step_states import step_states

        ws = self.experiment.workspace
        print(f"Run {self._run_id}: {self.get_status()}")
        for s in step_states(ws.ledger, self._run_id):
            print(f"  {s.name}: {s.label()}")
        self._print_failures()

    def _print_failures(self):
        """For each failed step: its last lines of stderr, and where its whole log is (stderr)."""
        from canalis.step_states import step_states

        ws = self.experiment.workspace
        for s in step_states(ws.ledger, self._run_id):
            if s.status == "Failed" and s.why:
                print(f"step {s.name} failed: " + s.why.replace("\n", "\n  "), file=sys.stderr)
                kept = Path(ws.session.runs_dir) / self._run_id / (s.step_run_id or "")
                where = f" (its working folder is kept: {kept})" if s.step_run_id and kept.is_dir() else ""
                print(f"  whole log: canalis logs {self._run_id} {s.name}{where}", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()

    def cancel(self, reason=None):
        """Stop the run: running steps are stopped, the others skipped; the run ends as
        Canceled. The request is recorded in the ledger, where the run's executor process sees it."""
        from canalis.executor.cancel import RunNotCancelable

        try:
            self._session.cancel(self._run_id, reason)
        except RunNotCancelable as e:
            raise UserErrorException(str(e)) from None

    def register_model(self, model_name, model_path=None, tags=None, properties=None, description=None, datasets=None, **kwargs):
        from canalis.core.model import Model

        return Model._register_from_run(self, model_name, model_path, tags, properties, description, datasets)

    def __repr__(self):
        return f"Run(experiment={self.experiment.name!r}, id={self._run_id!r})"


def _plain(value):
    """Numbers from numpy and friends become plain JSON values."""
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _OfflineRun:
    """What `Run.get_context()` returns outside canalis: metrics are printed, not stored."""

    def __init__(self):
        self.id = f"OfflineRun_{uuid4_text()}"
        self.parent = None
        self.input_datasets = {}
        self.output_datasets = {}

    def _print(self, what, name, value):
        print(f"[offline run] {what} {name} = {value!r}")

    def log(self, name, value, description=""):
        self._print("metric", name, value)

    def log_list(self, name, value, description=""):
        self._print("list", name, list(value))

    def log_row(self, name, description=None, **kwargs):
        self._print("row", name, kwargs)

    def log_table(self, name, value, description=""):
        self._print("table", name, value)

    def log_image(self, name, path=None, plot=None, description=""):
        self._print("image", name, path)

    def upload_file(self, name, path_or_stream):
        self._print("file", name, str(path_or_stream))

    def tag(self, key, value=None):
        self._print("tag", key, value)

    def set_tags(self, tags):
        self._print("tags", "", tags)

    def get_status(self):
        from canalis.ledger.status import RunStatus

        return RunStatus.Running.value

    def get_secret(self, name):
        raise UserErrorException(f"an offline run has no keyvault to read secret {name!r} from; submit the script with "
                                 "canalis, or read the value from your own environment when running it by hand")

    def get_secrets(self, secrets):
        return {n: self.get_secret(n) for n in secrets}

    @property
    def experiment(self):
        raise UserErrorException("an offline run has no experiment; submit the script with canalis to get one")
