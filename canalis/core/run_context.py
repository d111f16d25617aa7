"""The run of the step this process runs, as `Run.get_context()` returns it inside a step.

What it logs is written to the step's channel and reaches the ledger through the executor;
the step never opens the ledger. `canalis.core` imports this module, which installs the
factory `Run.get_context()` uses.
"""
from __future__ import annotations

import os
from pathlib import Path

from canalis.core import run as _run
from canalis.core.run import _plain
from canalis.exceptions import UserErrorException


class _StepContextRun:
    """The run of the step this process is running, as `Run.get_context()` sees it."""

    def __init__(self, context: dict, _target="step"):
        from canalis.core.step_channel import StepChannel

        self._ctx = context
        self._channel = StepChannel.of(context)
        self._target = _target

    @property
    def id(self):
        return self._ctx["step_run_id"] if self._target == "step" else self._ctx["run_id"]

    @property
    def name(self):
        return self._ctx["step_name"]

    @property
    def parent(self):
        return _StepContextRun(self._ctx, _target="parent") if self._target == "step" else None

    @property
    def experiment(self):
        return _ContextExperiment(self._ctx)

    @property
    def input_datasets(self) -> dict:
        from canalis.data.file_dataset import FileDataset
        from canalis.data.tabular_dataset import TabularDataset

        out = {}
        for name, spec in self._ctx["inputs"].items():
            if spec.get("mode", "download") in ("download", "mount") and spec["kind"] == "file":
                # a file-valued input (one file of a dataset or datastore path, an output written as a file) is its file
                out[name] = os.path.join(spec["path"], spec["file"]) if spec.get("file") else spec["path"]
            elif spec["kind"] == "tabular":
                out[name] = TabularDataset(options=spec["options"], local_root=spec["path"])
            else:
                out[name] = FileDataset(local_root=spec["path"])
        return out

    @property
    def output_datasets(self) -> dict:
        return dict(self._ctx["outputs"])

    def _send(self, msg):
        msg["target"] = self._target
        self._channel.send(msg)

    def _metric(self, name, kind, value, description):
        from canalis.core.keyvault import refuse_secret_metric

        refuse_secret_metric(name, value)
        self._send({"op": "metric", "name": str(name), "kind": kind, "value": value, "description": description})

    def log(self, name, value, description=""):
        self._metric(name, "scalar", _plain(value), description or None)

    def log_list(self, name, value, description=""):
        self._metric(name, "list", _plain(list(value)), description or None)

    def log_row(self, name, description=None, **kwargs):
        self._metric(name, "row", _plain(kwargs), description)

    def log_table(self, name, value, description=""):
        self._metric(name, "table", _plain(dict(value)), description or None)

    def get_secret(self, name) -> str:
        """A secret of the workspace's keyvault. The executor is told which secret the step
        read (never its value) before the value is returned, so that the step's stdout and
        stderr are stored with the value masked."""
        return self.get_secrets([name])[name]

    def get_secrets(self, secrets) -> dict:
        from canalis.core.keyvault import read_secrets_at

        names = [str(n) for n in secrets]
        if not self._ctx.get("workspace"):
            raise UserErrorException("this step was started without a workspace, so it has no keyvault to read")
        values = read_secrets_at(self._ctx["workspace"])
        missing = [n for n in names if n not in values]
        if missing:
            raise UserErrorException(f"the workspace's keyvault has no secret named {missing[0]!r}; set it before the "
                                     f"run with ws.get_default_keyvault().set_secret({missing[0]!r}, value)")
        self._channel.send({"op": "secrets", "names": names})
        return {n: values[n] for n in names}

    def log_image(self, name, path=None, plot=None, description=""):
        if plot is not None:
            import io

            buf = io.BytesIO()
            plot.savefig(buf, format="png")
            data = buf.getvalue()
        elif path is not None:
            data = Path(path).read_bytes()
        else:
            raise UserErrorException("log_image needs a path or a plot")
        from canalis.core.keyvault import refuse_secret_metric

        refuse_secret_metric(name, None)
        image = _artifact_name(f"images/{name}.png")
        digest = self._store().put_bytes(data)
        self._send({"op": "artifact", "name": image, "digest": digest, "size": len(data)})
        self._send({"op": "metric", "name": str(name), "kind": "image", "value": {"image": digest}, "description": description or None})

    def _store(self):
        return self._channel.store()

    def upload_file(self, name, path_or_stream):
        """Store a file as one of the step run's files, under `name` (a relative path such as
        'outputs/model.pkl'; absolute paths, '..' and NUL are refused)."""
        name = _artifact_name(name)
        if hasattr(path_or_stream, "read"):
            data = path_or_stream.read()
            digest, size = self._store().put_bytes(data), len(data)
        else:
            digest, size = self._store().put_file(path_or_stream), os.path.getsize(path_or_stream)
        self._send({"op": "artifact", "name": str(name), "digest": digest, "size": size})
        self._channel.uploaded[str(name)] = digest

    def upload_folder(self, name, path):
        root = Path(path)
        for f in sorted(root.rglob("*")):
            if f.is_file():
                self.upload_file(f"{name}/{f.relative_to(root).as_posix()}", str(f))

    def register_model(self, model_name, model_path=None, tags=None, properties=None, description=None,
                       datasets=None, **kwargs):
        """Register a model from a file or folder the step made: `model_path` (default: the
        model's name) is a path relative to the step's working folder (or absolute), or names
        files it uploaded (`upload_file`). The executor records the version with the step run,
        its pipeline run and the registered datasets the step reads as lineage."""
        from canalis.core.model import Model

        return Model._register_in_step(self._channel, self.experiment.workspace, model_name, model_path or model_name,
                                       tags, properties, description, datasets)

    def tag(self, key, value=None):
        self._send({"op": "tag", "tags": {str(key): value}})

    def set_tags(self, tags):
        self._send({"op": "tag", "tags": {str(k): v for k, v in tags.items()}})

    def get_status(self):
        """Running: the step asking is running. (The ledger module is imported here, not at the
        top: a step that never asks does not load it.)"""
        from canalis.ledger.status import RunStatus

        return RunStatus.Running.value

    def __repr__(self):
        return f"Run(id={self.id!r}, step={self.name!r})"


def _artifact_name(name) -> str:
    """A run file's name: a relative path that stays among the run's files."""
    from canalis.data import _paths

    rel = _paths.relative(name, "file name", "the run's files", hint="use a relative name such as 'outputs/model.pkl'")
    if not rel:
        raise UserErrorException(f"file name {name!r} is empty; use a relative name such as 'outputs/model.pkl'")
    return rel


class _ContextExperiment:
    def __init__(self, ctx):
        self._ctx = ctx
        self.name = ctx["experiment"]

    @property
    def workspace(self):
        from canalis.core.workspace import Workspace

        return Workspace(path=self._ctx["workspace"])


_run._STEP_CONTEXT["factory"] = _StepContextRun
