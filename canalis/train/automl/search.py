"""One AutoML search with FLAML: a table and the settings of an AutoMLConfig in, every trial
and the best fitted pipeline out.

Every trial's metrics are computed under SDK v1's names by one function FLAML calls as its
metric (averaged over the folds when cross-validating); FLAML minimises the primary
metric's loss. With `iterations` and no timeout the search is bounded by the number of
trials alone and is reproducible: the same data, settings and seed give the same trials and
the same best model. A time budget makes the number of trials depend on the machine.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from canalis.train.automl import metrics as M
from canalis.train.automl.errors import AutoMLDataError, require_flaml
from canalis.train.automl.featurize import Featurizer
from canalis.train.automl.fitted import FittedPipeline

_FLAML_TASK = {M.CLASSIFICATION: "classification", M.REGRESSION: "regression", M.FORECASTING: "ts_forecast"}


@dataclass
class Trial:
    iteration: int
    model: str
    hyperparameters: dict
    metrics: dict
    duration_s: float
    best_so_far: bool = False

    def to_dict(self) -> dict:
        return {"iteration": self.iteration, "model": self.model, "hyperparameters": self.hyperparameters,
                "metrics": self.metrics, "duration_s": self.duration_s}


@dataclass
class SearchResult:
    trials: list = field(default_factory=list)
    best_iteration: int = -1
    fitted: FittedPipeline | None = None
    featurization: dict = field(default_factory=dict)

    @property
    def best(self) -> Trial:
        return next(t for t in self.trials if t.iteration == self.best_iteration)


def prepare(df, settings: dict):
    """Features and labels from the raw table: (X, y, featurizer, classes)."""
    import numpy as np

    label = settings["label_column_name"]
    if label not in df.columns:
        raise AutoMLDataError(f"the training data has no column {label!r} (label_column_name); its columns: "
                              f"{', '.join(map(str, df.columns))}")
    df = df[df[label].notna()].reset_index(drop=True)  # rows without a label teach nothing (SDK v1 dropped them)
    if len(df) < 4:
        raise AutoMLDataError(f"the training data has {len(df)} labelled row(s); AutoML needs at least 4")
    y = df[label]
    X = df.drop(columns=[label])
    weight = settings.get("weight_column_name")
    if weight:
        if weight not in X.columns:
            raise AutoMLDataError(f"the training data has no column {weight!r} (weight_column_name)")
        X = X.drop(columns=[weight])
    classes = None
    if settings["task"] == M.CLASSIFICATION:
        classes, codes = np.unique(y.astype(str) if y.dtype == object else y, return_inverse=True)
        if len(classes) < 2:
            raise AutoMLDataError(f"label column {label!r} has one class ({classes[0]!r}); classification needs two")
        y = codes
    elif not np.issubdtype(np.asarray(y).dtype, np.number):
        raise AutoMLDataError(f"label column {label!r} is not numeric; {settings['task']} predicts numbers")
    featurizer = None
    if settings["task"] == M.FORECASTING:
        import pandas as pd

        tcol = settings["time_column_name"]
        if tcol not in X.columns:
            raise AutoMLDataError(f"the training data has no column {tcol!r} (time_column_name)")
        exog = X.drop(columns=[tcol])
        if settings["featurization"] == "auto" and len(exog.columns):
            featurizer = Featurizer(**settings.get("featurization_settings", {})).fit(exog)
            exog = featurizer.transform(exog)
        X = pd.concat([pd.to_datetime(X[tcol]).reset_index(drop=True).rename(tcol), exog.reset_index(drop=True)],
                      axis=1)
        order = X[tcol].argsort(kind="stable")
        X, y = X.iloc[order].reset_index(drop=True), np.asarray(y, dtype=float)[order]
    elif settings["featurization"] == "auto":
        featurizer = Featurizer(**settings.get("featurization_settings", {})).fit(X)
        X = featurizer.transform(X)
    return X, np.asarray(y), featurizer, classes


def run(df, settings: dict, validation_df=None, log_path: Path | None = None) -> SearchResult:
    """Search for the best model of `settings["task"]` on the table `df`."""
    require_flaml()
    import numpy as np
    from flaml import AutoML

    task = settings["task"]
    X, y, featurizer, classes = prepare(df, settings)
    primary = M.lookup(task, settings["primary_metric"])
    label_range = float(np.max(y) - np.min(y)) if task != M.CLASSIFICATION else 0.0

    metric = SdkMetric(task, primary, classes, label_range)

    log_path = Path(log_path or "automl_trials.jsonl")
    fit = dict(task=_FLAML_TASK[task], metric=metric, estimator_list=list(settings["models"]),
               time_budget=settings["timeout_s"] if settings["timeout_s"] else -1,
               max_iter=settings["iterations"] or 1_000_000, seed=settings["seed"], n_jobs=settings["n_jobs"],
               early_stop=settings["enable_early_stopping"], log_file_name=str(log_path), log_type="all",
               verbose=0, retrain_full=True)
    if settings.get("iteration_timeout_s"):
        fit["train_time_limit"] = settings["iteration_timeout_s"]
    if validation_df is not None:
        Xv, yv, _, _ = _validation(validation_df, settings, featurizer, classes)
        fit.update(X_val=Xv, y_val=yv, eval_method="holdout")
    elif settings.get("n_cross_validations"):
        fit.update(eval_method="cv", n_splits=settings["n_cross_validations"])
    elif settings.get("validation_size"):
        fit.update(eval_method="holdout", split_ratio=settings["validation_size"])
    if task == M.FORECASTING:
        fit["period"] = settings["forecast_horizon"]
        if "eval_method" not in fit:
            fit["eval_method"] = "holdout"
    if settings.get("weight_column_name"):
        fit["sample_weight"] = _weights(df, settings)
    automl = AutoML()
    with warnings.catch_warnings():  # FLAML's own deprecation notices about pandas would fill the step's stderr
        warnings.filterwarnings("ignore", category=FutureWarning, module="flaml")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="flaml")
        automl.fit(X_train=X, y_train=y, **fit)
    if automl.model is None:
        raise AutoMLDataError("the search finished without fitting any model within its budget; give it more time "
                              "(experiment_timeout_minutes) or more iterations")
    trials = _trials(log_path, primary)
    best = _fitted_trial(trials, automl) or min(trials, key=lambda t: (M.loss(primary, t.metrics[primary.name]),
                                                                        t.iteration))
    estimator = automl if task == M.FORECASTING else automl.model
    fitted = FittedPipeline(task, featurizer, estimator, settings["label_column_name"], classes=classes,
                            label_transformer=getattr(automl, "_label_transformer", None),
                            time_column_name=settings.get("time_column_name"),
                            weight_column_name=settings.get("weight_column_name"),
                            best_config=dict(automl.best_config or {}), best_estimator=automl.best_estimator)
    return SearchResult(trials=trials, best_iteration=best.iteration, fitted=fitted,
                        featurization=featurizer.describe() if featurizer is not None else {})


class SdkMetric:
    """What FLAML calls to score a trial: every metric of the task under SDK v1's names, and
    the primary metric's loss. A class (not a closure) so that a fitted search pickles."""

    def __init__(self, task, primary, classes, label_range):
        self.task, self.primary, self.classes, self.label_range = task, primary, classes, label_range

    def scores(self, X_val, y_val, estimator) -> dict:
        import numpy as np

        if hasattr(X_val, "test_data") and hasattr(X_val, "target_names"):  # FLAML's time series holdout
            y_val = np.asarray(X_val.test_data[X_val.target_names]).ravel()
        if self.task == M.CLASSIFICATION:
            return M.classification_scores(y_val, estimator.predict_proba(X_val), self.classes)
        return M.regression_scores(y_val, estimator.predict(X_val), self.label_range)

    def __call__(self, X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
        values = self.scores(X_val, y_val, estimator)
        return M.loss(self.primary, values[self.primary.name]), values


def _weights(df, settings):
    """The weight column of the labelled rows, in the order `prepare` gives them."""
    import numpy as np

    rows = df[df[settings["label_column_name"]].notna()].reset_index(drop=True)
    w = np.asarray(rows[settings["weight_column_name"]], dtype=float)
    if settings["task"] == M.FORECASTING:
        import pandas as pd

        w = w[np.asarray(pd.to_datetime(rows[settings["time_column_name"]])).argsort(kind="stable")]
    return w


def _validation(df, settings, featurizer, classes):
    import numpy as np

    label = settings["label_column_name"]
    if label not in df.columns:
        raise AutoMLDataError(f"the validation data has no column {label!r} (label_column_name)")
    df = df[df[label].notna()].reset_index(drop=True)
    y = df[label]
    X = df.drop(columns=[label, *([settings["weight_column_name"]] if settings.get("weight_column_name") else [])],
                errors="ignore")
    if settings["task"] == M.CLASSIFICATION:
        values = y.astype(str) if y.dtype == object else y
        unknown = set(np.unique(values)) - set(classes)
        if unknown:
            raise AutoMLDataError(f"the validation data has label(s) {sorted(map(str, unknown))} that the training "
                                  "data lacks")
        y = np.searchsorted(classes, values)
    if featurizer is not None and settings["task"] != M.FORECASTING:
        X = featurizer.transform(X)
    return X, np.asarray(y), featurizer, classes


def _fitted_trial(trials, automl):
    """The trial whose model FLAML fitted as its best (the first, if configurations repeat)."""
    config = _plain(automl.best_config or {})
    return next((t for t in trials if t.model == automl.best_estimator and t.hyperparameters == config), None)


def _trials(log_path: Path, primary) -> list:
    """The trials FLAML logged (one JSON line each), numbered from 0 in the order they ran."""
    trials = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "record_id" not in rec or not isinstance(rec.get("logged_metric"), dict):
            continue  # FLAML's closing line names the best trial; it is not a trial of its own
        metrics = {k: float(v) for k, v in rec["logged_metric"].items()
                   if isinstance(v, (int, float)) and not k.startswith("pred_time")}
        trials.append(Trial(iteration=len(trials), model=rec["learner"], hyperparameters=_plain(rec["config"]),
                            metrics=metrics, duration_s=float(rec.get("trial_time") or 0.0)))
    best_loss = None
    for t in trials:
        loss = M.loss(primary, t.metrics.get(primary.name, float("nan")))
        if best_loss is None or loss < best_loss:
            best_loss, t.best_so_far = loss, True
    return trials


def _plain(value):
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))

