"""`AutoMLRun`: the run of an AutoML step, its trials and its best model.

Trials are the rows of the step run's `trials` metric (one per trial, logged by the step),
so a reused AutoML step answers with the trials of the step run it reused. The best model
is the `model.pkl` of the step's model output.
"""
from __future__ import annotations

import json
import pickle

from canalis.exceptions import UserErrorException


class TrialRun:
    """One trial of an AutoML search: its model, hyperparameters, metrics and duration."""

    def __init__(self, parent, record: dict):
        self.parent = parent
        self.iteration = int(record["iteration"])
        self.model = record["model"]
        self.hyperparameters = json.loads(record["hyperparameters"])
        self.duration_s = float(record["duration_s"])
        self._metrics = {k: v for k, v in record.items()
                         if k not in ("iteration", "model", "hyperparameters", "duration_s", "best")}
        self.best = bool(record.get("best"))
        self.id = f"{parent.id}_{self.iteration}"
        self.properties = {"iteration": str(self.iteration), "run_algorithm": self.model,
                           "hyperparameters": record["hyperparameters"]}

    def get_metrics(self, name=None):
        return {name: self._metrics[name]} if name else dict(self._metrics)

    def get_properties(self):
        return dict(self.properties)

    def get_details(self):
        return {"runId": self.id, "iteration": self.iteration, "model": self.model,
                "hyperparameters": self.hyperparameters, "durationSeconds": self.duration_s}

    def __repr__(self):
        return f"TrialRun(iteration={self.iteration}, model={self.model!r})"


class AutoMLRun:
    """Wraps the StepRun of an AutoMLStep (`AutoMLRun(step_run)`, or SDK v1's
    `AutoMLRun(experiment, run_id)` with the step run's id); other attributes are the step run's."""

    def __init__(self, experiment_or_step_run, run_id=None):
        if run_id is None:
            self._step_run = experiment_or_step_run
        else:
            self._step_run = _find_step_run(experiment_or_step_run, run_id)

    def __getattr__(self, name):
        return getattr(self._step_run, name)

    @property
    def id(self):
        return self._step_run.id

    def get_children(self, *args, **kwargs) -> list:
        """The trials, in the order they ran."""
        table = self._step_run.get_metrics().get("trials")
        if not table:
            raise UserErrorException(f"step run {self._step_run.id} recorded no AutoML trials; is it an AutoMLStep "
                                     "that completed?")
        columns = list(table)
        return [TrialRun(self, {c: table[c][i] for c in columns}) for i in range(len(table[columns[0]]))]

    def get_best_child(self, metric=None, onnx_compatible=False, **kwargs) -> TrialRun:
        children = self.get_children()
        if metric is None:
            return next(c for c in children if c.best)
        from canalis.train.automl import metrics as M

        found = [m for ms in M.BY_TASK.values() for m in ms if m.name == metric]
        if not found or metric not in children[0].get_metrics():
            raise UserErrorException(f"metric {metric!r} is not recorded for these trials; recorded: "
                                     f"{', '.join(sorted(children[0].get_metrics()))}")
        return min(children, key=lambda c: (M.loss(found[0], c.get_metrics()[metric]), c.iteration))

    def get_output(self, iteration=None, metric=None, return_onnx_model=False, **kwargs):
        """(best trial, fitted pipeline): the model output holds the best trial's pipeline only."""
        best = self.get_best_child()
        if (iteration is not None and int(iteration) != best.iteration) or \
                (metric is not None and self.get_best_child(metric).iteration != best.iteration):
            raise UserErrorException("only the best trial's fitted pipeline is kept (in the model output); "
                                     f"that is iteration {best.iteration}. Call get_output() without iteration/metric")
        return best, self.load_model()

    def load_model(self):
        from canalis.train.automl.files import MODEL_FILE

        store = self._step_run.experiment.workspace.store
        for name, ref in self._step_run.get_outputs().items():
            # the model output: one file at the output's path, or model.pkl in a folder output
            for e in store.get_tree(ref.tree):
                if e.path not in (MODEL_FILE, name):
                    continue
                data = store.get_bytes(e.digest)
                if not data.startswith(b"\x80"):  # not a pickle: the metrics output, also one file named as its output
                    continue
                model = pickle.loads(data)
                if hasattr(model, "predict"):
                    return model
        raise UserErrorException(f"step run {self._step_run.id} has no model output (a pickled fitted pipeline)")

    def __repr__(self):
        return f"AutoMLRun(id={self.id!r})"


def _find_step_run(experiment, step_run_id):
    from canalis.pipeline.core.run import PipelineRun, StepRun

    row = experiment.workspace.ledger.step_run(step_run_id)
    if row is None:
        raise UserErrorException(f"no step run {step_run_id!r} in the workspace; AutoMLRun takes an AutoML step run's id")
    return StepRun(PipelineRun(experiment, row.run_id), step_run_id)
