"""SDK v1's AutoML metric names, what FLAML calls the same measure, and how each is computed.

The search optimises the primary metric and records every metric of the task for every
trial, under SDK v1's names. FLAML minimises a loss: for a metric where higher is better
the loss is `1 - value` (all of those are at most 1), otherwise the value itself.
"""
from __future__ import annotations

from dataclasses import dataclass

CLASSIFICATION, REGRESSION, FORECASTING = "classification", "regression", "forecasting"
TASKS = (CLASSIFICATION, REGRESSION, FORECASTING)


@dataclass(frozen=True)
class Metric:
    name: str  # SDK v1's name
    flaml: str  # FLAML's name for the same measure ("custom" where FLAML has none)
    higher_is_better: bool
    primary: bool  # SDK v1 accepts it as primary_metric


CLASSIFICATION_METRICS = (
    Metric("AUC_weighted", "roc_auc_weighted (roc_auc for two classes)", True, True),
    Metric("accuracy", "accuracy", True, True),
    Metric("average_precision_score_weighted", "ap (two classes)", True, True),
    Metric("norm_macro_recall", "custom", True, True),
    Metric("precision_score_weighted", "custom", True, True),
    Metric("AUC_macro", "roc_auc_ovr", True, False),
    Metric("balanced_accuracy", "custom", True, False),
    Metric("f1_score_weighted", "custom", True, False),
    Metric("f1_score_macro", "macro_f1", True, False),
    Metric("recall_score_weighted", "custom", True, False),
    Metric("log_loss", "log_loss", False, False),
)
REGRESSION_METRICS = (
    Metric("spearman_correlation", "custom", True, True),
    Metric("normalized_root_mean_squared_error", "rmse (divided by the label's range)", False, True),
    Metric("r2_score", "r2", True, True),
    Metric("normalized_mean_absolute_error", "mae (divided by the label's range)", False, True),
    Metric("root_mean_squared_error", "rmse", False, False),
    Metric("mean_absolute_error", "mae", False, False),
)
BY_TASK = {CLASSIFICATION: CLASSIFICATION_METRICS, REGRESSION: REGRESSION_METRICS, FORECASTING: REGRESSION_METRICS}
DEFAULT_PRIMARY = {CLASSIFICATION: "accuracy", REGRESSION: "spearman_correlation",
                   FORECASTING: "normalized_root_mean_squared_error"}


def lookup(task: str, name: str) -> Metric:
    """The metric `name` of `task`, or KeyError."""
    for m in BY_TASK[task]:
        if m.name == name:
            return m
    raise KeyError(name)


def primary_names(task: str) -> list[str]:
    return [m.name for m in BY_TASK[task] if m.primary]


def loss(metric: Metric, value: float) -> float:
    """What FLAML minimises for `metric` at `value`."""
    return 1.0 - value if metric.higher_is_better else value


def classification_scores(y_true, proba, classes) -> dict:
    """Every classification metric, from true labels (encoded 0..k-1) and class probabilities."""
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    proba = np.clip(proba, 1e-15, 1)
    proba = proba / proba.sum(axis=1, keepdims=True)
    labels = list(range(len(classes)))
    pred = proba.argmax(axis=1)
    present = np.unique(y_true)
    out = {
        "accuracy": skm.accuracy_score(y_true, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, pred),
        "precision_score_weighted": skm.precision_score(y_true, pred, average="weighted", zero_division=0),
        "recall_score_weighted": skm.recall_score(y_true, pred, average="weighted", zero_division=0),
        "f1_score_weighted": skm.f1_score(y_true, pred, average="weighted", zero_division=0),
        "f1_score_macro": skm.f1_score(y_true, pred, average="macro", zero_division=0),
        "log_loss": skm.log_loss(y_true, proba, labels=labels),
    }
    macro_recall = skm.recall_score(y_true, pred, average="macro", labels=list(present), zero_division=0)
    chance = 1.0 / max(len(present), 1)
    out["norm_macro_recall"] = (macro_recall - chance) / (1 - chance) if len(present) > 1 else 0.0
    if len(present) < 2:  # AUC is undefined on one class: count it as chance
        out.update(AUC_weighted=0.5, AUC_macro=0.5, average_precision_score_weighted=0.0)
    elif len(classes) == 2:
        auc = skm.roc_auc_score(y_true, proba[:, 1])
        out.update(AUC_weighted=auc, AUC_macro=auc,
                   average_precision_score_weighted=skm.average_precision_score(y_true, proba[:, 1]))
    else:
        onehot = np.eye(len(classes))[y_true]
        keep = [c for c in labels if c in present]
        out["AUC_weighted"] = skm.roc_auc_score(onehot[:, keep], proba[:, keep], average="weighted")
        out["AUC_macro"] = skm.roc_auc_score(onehot[:, keep], proba[:, keep], average="macro")
        out["average_precision_score_weighted"] = skm.average_precision_score(onehot[:, keep], proba[:, keep],
                                                                              average="weighted")
    return {k: float(v) for k, v in out.items()}


def regression_scores(y_true, pred, label_range: float) -> dict:
    """Every regression metric; the normalised errors divide by the training label's range."""
    import numpy as np
    from scipy.stats import spearmanr
    from sklearn import metrics as skm

    y_true, pred = np.asarray(y_true, dtype=float).ravel(), np.asarray(pred, dtype=float).ravel()
    rmse = float(np.sqrt(skm.mean_squared_error(y_true, pred)))
    mae = float(skm.mean_absolute_error(y_true, pred))
    scale = label_range if label_range > 0 else 1.0
    rho = spearmanr(y_true, pred).correlation if len(y_true) > 1 and np.std(pred) > 0 else 0.0
    return {
        "spearman_correlation": float(0.0 if rho != rho else rho),  # NaN (constant input) counts as 0
        "normalized_root_mean_squared_error": rmse / scale,
        "r2_score": float(skm.r2_score(y_true, pred)) if len(y_true) > 1 else 0.0,
        "normalized_mean_absolute_error": mae / scale,
        "root_mean_squared_error": rmse,
        "mean_absolute_error": mae,
    }
