"""`Experiment`: a named group of runs; `submit` plans, records and starts a run."""
from __future__ import annotations

import re

from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import warn_ignored

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$")


class Experiment:
    def __init__(self, workspace, name, _skip_name_validation=False, **kwargs):
        if not _NAME.match(name or ""):
            raise UserErrorException(
                f"experiment name {name!r} must start with a letter or digit and hold only letters, digits, '_' and '-'"
            )
        self.workspace = workspace
        self.name = name
        if kwargs:
            warn_ignored("Experiment", kwargs)

    def submit(self, config, tags=None, **kwargs):
        """Submit a Pipeline (or a ScriptRunConfig) and return its run, already executing in an
        executor process of its own: the run goes on when this process ends.

        Pipeline keywords: pipeline_parameters, regenerate_outputs, continue_on_step_failure,
        and max_concurrent_steps (canalis: how many independent steps run at once);
        allow_secret_values=True submits values that look like credentials (docs/secrets.md).
        Other keywords are named in a warning (canalis/ignored_keywords.py).
        """
        from canalis.core import submit_capture

        submit = getattr(config, "_submit_to", None)
        if submit is None:
            raise UserErrorException(f"cannot submit {config!r}; submit a Pipeline or a ScriptRunConfig")
        submit_capture.intercept(self, config, dict(kwargs, tags=tags))
        run = submit(self, tags=tags, **kwargs)
        submit_capture.note(run)
        return run

    def get_runs(self, type=None, tags=None, properties=None, include_children=False):
        from canalis.core.run import Run

        for row in self.workspace.ledger.runs(experiment=self.name):
            yield Run._rehydrate(self, row.run_id, row.kind)

    @staticmethod
    def list(workspace, experiment_name=None, view_type=None, tags=None):
        return [Experiment(workspace, e.name) for e in workspace.ledger.experiments()
                if experiment_name in (None, e.name)]

    def __repr__(self):
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"
