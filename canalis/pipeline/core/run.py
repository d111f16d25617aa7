"""`PipelineRun`, `StepRun` and `PortDataReference`: a submitted pipeline as the ledger tells it."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from canalis.core import metrics as _metrics
from canalis.core.run import Run
from canalis.exceptions import PipelineValidationError, UserErrorException

if TYPE_CHECKING:  # the ledger is imported where it is read: a step importing the SDK does not load it
    from canalis.ledger.rows import StepRunRow


def watch(experiment, handle):
    """The PipelineRun of a run this process started (`Session.submit`, `resume`, `reproduce`);
    it executes in its own process, and is watched through the ledger like any other run."""
    run = PipelineRun(experiment, handle.run_id)
    run._handle = handle
    return run


def resume_run(workspace, run_id, force=False, max_concurrent_steps=None, regenerate_outputs=False):
    """Finish a run whose executor died; steps it finished keep their results. The options
    it was submitted with hold; `regenerate_outputs=True` also runs the steps still to do
    without reusing any."""
    from canalis.core.experiment import Experiment
    from canalis.executor.errors import ExecutorError, PlanError

    try:
        handle = workspace.session.resume(run_id, force=force, max_concurrent_steps=max_concurrent_steps,
                                          regenerate_outputs=regenerate_outputs)
    except PlanError as e:
        raise PipelineValidationError(str(e)) from None
    except ExecutorError as e:  # not resumable, or its executor process could not start
        raise UserErrorException(str(e)) from None
    return watch(Experiment(workspace, workspace.ledger.run(run_id).experiment), handle)


def reproduce_run(workspace, run_id, max_concurrent_steps=None):
    """Run RUN's recorded plan again from the ledger and the store alone, reuse off, as a
    new run tagged `reproduces=RUN` (see `Session.reproduce`)."""
    from canalis.core.experiment import Experiment
    from canalis.executor.errors import ExecutorError, PlanError

    try:
        handle = workspace.session.reproduce(run_id, max_concurrent_steps=max_concurrent_steps)
    except PlanError as e:
        raise PipelineValidationError(str(e)) from None
    except ExecutorError as e:
        raise UserErrorException(str(e)) from None
    return watch(Experiment(workspace, workspace.ledger.run(handle.run_id).experiment), handle)


class PipelineRun(Run):
    """A submitted pipeline (or script: a one-step pipeline) and its step runs."""

    _kinds = ("pipeline", "script")

    def get_children(self, recursive=False, tags=None, properties=None, type=None, status=None, _rehydrate_runs=True):
        return [StepRun(self, row.step_run_id) for row in self._ledger.step_runs(self.id)]

    def get_steps(self):
        return self.get_children()

    def find_step_run(self, name):
        """Step runs of this run named `name` (a list, as in SDK v1)."""
        return [s for s in self.get_children() if s.name == name]

    def get_step(self, name):
        found = self.find_step_run(name)
        if not found:
            names = sorted({s.name for s in self.get_children()})
            raise UserErrorException(f"run {self.id} has no step named {name!r} (steps: {', '.join(names)})")
        return found[-1]

    def get_pipeline_output(self, pipeline_output_name):
        plan = self._submitted_plan()
        for step in plan["steps"]:
            for out in step["outputs"]:
                if pipeline_output_name in (out.get("pipeline_output_name"), out["name"]):
                    return self.get_step(step["name"]).get_output_data(out["name"])
        raise UserErrorException(f"run {self.id} has no pipeline output named {pipeline_output_name!r}")

    def _submitted_plan(self) -> dict:
        plan = self._ledger.run_plan(self.id)
        if plan is None:
            raise UserErrorException(f"run {self.id} has no run.submitted event")
        return plan

    def get_graph(self):
        return self._submitted_plan()

    def publish_pipeline(self, name, description=None, version=None, continue_on_step_failure=None, **kwargs):
        """Publish the pipeline this run ran (its recorded plan and snapshots, which must still
        be in the store); returns the PublishedPipeline."""
        from canalis.executor.plan import Plan
        from canalis.ignored_keywords import warn_ignored
        from canalis.pipeline.core._published import sdk_errors
        from canalis.pipeline.core.published_pipeline import PublishedPipeline

        warn_ignored("PipelineRun.publish_pipeline", kwargs)
        if not name:
            raise UserErrorException("publish_pipeline needs name=: the name the published pipeline is listed under")
        plan = Plan.from_dict(self._submitted_plan())
        ws = self.experiment.workspace
        with sdk_errors():
            row = ws.session.publish(name, plan, description=description or plan.description, version=version,
                                     continue_on_step_failure=bool(continue_on_step_failure), published_from_run=self.id)
        return PublishedPipeline(ws, row)

    def __repr__(self):
        return f"PipelineRun(experiment={self.experiment.name!r}, id={self.id!r})"


class StepRun(Run):
    def __init__(self, parent, step_run_id):
        super().__init__(parent.experiment, parent.id)
        self._parent = parent
        self._step_run_id = step_run_id

    @property
    def id(self):
        return self._step_run_id

    @property
    def parent(self):
        return self._parent

    def _row(self) -> StepRunRow:
        row = self._ledger.step_run(self._step_run_id)
        if row is None:
            raise UserErrorException(f"step run {self._step_run_id!r} is not in the ledger")
        return row

    @property
    def name(self):
        return self._row().step_name

    @property
    def reused(self) -> bool:
        from canalis.ledger.status import StepStatus

        return self._row().status == StepStatus.Reused

    def get_status(self) -> str:
        """The step's status as SDK v1 gives it, a plain string; a reused step is Completed."""
        from canalis.ledger.status import StepStatus

        status = self._row().status
        return (StepStatus.Completed if status == StepStatus.Reused else status).value

    def get_details(self):
        from canalis.ledger.status import StepStatus

        row = self._row()
        return {
            "runId": self._step_run_id, "status": self.get_status(), "name": row.step_name,
            "reused": row.status == StepStatus.Reused, "reusedFrom": row.reused_from, "reusedRunId": row.reused_run_id,
            "startTimeUtc": row.started_at, "endTimeUtc": row.finished_at,
            "durationSeconds": row.duration_s, "outputs": row.outputs or {},
            "reuseKey": row.reuse_key, "error": row.error, "exitCode": row.exit_code,
        }

    def get_metrics(self, name=None, recursive=False, run_type=None, populate=False):
        """The step's metrics; a reused step answers with those of the step run it reused."""
        folded = _metrics.fold(self._ledger.step_metrics(self._step_run_id))
        return {name: folded[name]} if name else folded

    def get_children(self, *args, **kwargs):
        return []

    def wait_for_completion(self, show_output=False, wait_post_processing=False, raise_on_error=True, timeout_seconds=None):
        """Waits for the pipeline run this step belongs to, then reports the step's status."""
        from canalis.ledger.status import StepStatus

        self._parent.wait_for_completion(show_output=show_output, raise_on_error=False, timeout_seconds=timeout_seconds)
        status = self.get_status()
        if raise_on_error and status == StepStatus.Failed:
            from canalis.exceptions import ActivityFailedException

            raise ActivityFailedException(f"step {self.name!r} of run {self._parent.id} failed: {self._row().error}")
        return status

    def _log(self, name, kind, value, description):
        self._session.log_metric(self._parent.id, name, kind, value, description, step_run_id=self._step_run_id)

    # -- outputs --------------------------------------------------------------------------
    def get_outputs(self):
        """{output name: StepRunOutput}, as in SDK v1 (`.get_port_data_reference()` gives the data)."""
        return {n: StepRunOutput(self, n, t) for n, t in (self._row().outputs or {}).items()}

    def get_output(self, name):
        outputs = self.get_outputs()
        if name not in outputs:
            raise UserErrorException(f"step {self.name!r} has no output {name!r} (outputs: {', '.join(sorted(outputs)) or 'none'})")
        return outputs[name]

    def get_output_data(self, name):
        """The output's data (`PortDataReference`), to download or read as a dataset."""
        return self.get_output(name).get_port_data_reference()

    def _data_run_id(self) -> str:
        """The step run whose outputs these are: a reused step's are the original's."""
        row = self._row()
        return row.reused_from or self._step_run_id

    # -- logs and files -------------------------------------------------------------------
    def _log_text(self, stream) -> str:
        from canalis.reports import log_digest

        digest = log_digest(self._ledger, self._row(), stream)
        if digest is None:
            return ""
        return self.experiment.workspace.store.get_bytes(digest).decode(errors="replace")

    def get_stdout_log(self):
        return self._log_text("stdout")

    def get_stderr_log(self):
        return self._log_text("stderr")

    def get_job_log(self):
        return self.get_stdout_log() + self.get_stderr_log()

    def _files(self) -> dict[str, str]:
        from canalis.reports import log_digest

        files = {}
        row = self._row()
        for stream in ("stdout", "stderr"):
            digest = log_digest(self._ledger, row, stream)
            if digest:
                files[f"logs/{stream}.txt"] = digest
        # files the step uploaded; a reused step answers with those of the step run it reused
        uploaders = [(self._parent.id, self._step_run_id)]
        if row.reused_from:
            uploaders.insert(0, (row.reused_run_id, row.reused_from))
        for run_id, step_run_id in uploaders:
            for rec in self._ledger.events(stream=f"run:{run_id}", type="artifact.uploaded"):
                if rec.payload.get("step_run_id") == step_run_id:
                    files[rec.payload["name"]] = rec.payload["digest"]
        store = self.experiment.workspace.store
        for out, tree in (row.outputs or {}).items():
            for e in store.get_tree(tree):
                if e.type == "file":
                    files[f"outputs/{out}/{e.path}"] = e.digest
        return files

    def get_file_names(self):
        return sorted(self._files())

    def download_file(self, name, output_file_path=None, _validate_checksum=False):
        files = self._files()
        if name not in files:
            raise UserErrorException(f"step run {self.name!r} has no file {name!r}; see get_file_names()")
        from canalis.data import _paths

        base = _paths.component(Path(name).name, "file name")  # where a file lands when no path is named
        target = Path(output_file_path or base)
        if target.is_dir():
            target = target / base
        target.parent.mkdir(parents=True, exist_ok=True)
        # the named file is replaced, never written through (a symlink there is replaced too)
        with self.experiment.workspace.store.open(files[name]) as src:
            _paths.write(target.parent, target.name, src, f"download of {name!r}", f"the folder {str(target.parent)!r}")
        return str(target)

    def __repr__(self):
        return f"StepRun(name={self.name!r}, id={self.id!r})"


class StepRunOutput:
    """One output of a step run (SDK v1's StepRunOutput)."""

    def __init__(self, step_run, name, tree):
        self._step_run = step_run
        self.name = name
        self.tree = tree

    @property
    def step_run(self):
        return self._step_run

    def get_port_data_reference(self):
        return PortDataReference(self._step_run, self.name, self.tree)

    def __repr__(self):
        return f"StepRunOutput(name={self.name!r}, tree={self.tree[:12]}...)"


#: the folder SDK v1 kept step outputs under on the datastore (and under a download's local_path)
OUTPUT_ROOT = "azureml"


class PortDataReference:
    """A step's output: a tree in the store, laid out as SDK v1 laid it out on the datastore,
    `azureml/<step run id>/<output name>` (a folder, or one file when the step wrote one)."""

    def __init__(self, step_run, name, tree):
        self._step_run = step_run
        self.name = name
        self.tree = tree

    @property
    def data_reference_name(self):
        return self.name

    @property
    def datastore_name(self):
        return self._step_run.experiment.workspace._config.get("default_datastore", "workspaceblobstore")

    @property
    def path_on_datastore(self) -> str:
        """`azureml/<step run id>/<output name>` (a reused step's: the step run it reused): where
        `download(local_path)` puts it under `local_path`."""
        return f"{OUTPUT_ROOT}/{self._step_run._data_run_id()}/{self.name}"

    @property
    def _path_on_datastore(self) -> str:
        return self.path_on_datastore

    def get_port_data_reference(self):
        return self

    def _is_file(self) -> bool:
        from canalis.executor.outputs import file_output

        return file_output(self._step_run.experiment.workspace.store, self.tree, self.name)

    def download(self, local_path=".", overwrite=False, show_progress=True):
        """Write the output under `local_path` as SDK v1 did, at `local_path/azureml/<step run
        id>/<output name>` (one file, or a folder), so outputs of later runs land beside it.
        Returns that path. Nothing is written through a symlink on the way."""
        from canalis.data import _paths

        base = Path(local_path)
        rel = [OUTPUT_ROOT, _paths.component(self._step_run._data_run_id(), "step run id"),
               _paths.component(self.name, "output name")]
        target = base
        for part in rel:
            target = target / part
            if target.is_symlink():
                raise UserErrorException(f"{target} is a symlink; canalis does not write through links. Remove it or "
                                         "pick another local_path")
        if target.exists():
            if not overwrite:
                raise UserErrorException(f"{target} exists; pass overwrite=True to replace it")
            if target.is_dir():
                import shutil

                shutil.rmtree(target)
            else:
                target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        store = self._step_run.experiment.workspace.store
        if self._is_file():
            store.checkout_file(store.get_tree(self.tree)[0].digest, target, readonly=False)
        else:
            store.checkout(self.tree, target, readonly=False)
        if show_progress:
            print(f"downloaded output {self.name!r} to {target}")
        return str(target)

    def as_dataset(self):
        from canalis.data.file_dataset import FileDataset

        return FileDataset(workspace=self._step_run.experiment.workspace, tree=self.tree)

    def __repr__(self):
        return f"PortDataReference(name={self.name!r}, path_on_datastore={self.path_on_datastore!r})"
