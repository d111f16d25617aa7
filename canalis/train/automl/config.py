"""`AutoMLConfig`: what an AutoML search optimises, on which data, within which budget.

Checked at construction (task, metric, budget, model names), so a mistake is reported before
anything runs. `settings()` is the JSON-able form the AutoML step receives; the data
(`training_data`, `validation_data`) become the step's inputs.
"""
from __future__ import annotations

from canalis.ignored_keywords import warn_ignored
from canalis.train.automl import metrics as M
from canalis.train.automl.errors import AutoMLConfigError

#: SDK v1 model names -> FLAML estimator names (FLAML's own names are accepted too)
MODELS = {
    "LightGBM": "lgbm", "XGBoostClassifier": "xgboost", "XGBoostRegressor": "xgboost", "RandomForest": "rf",
    "ExtremeRandomTrees": "extra_tree", "LogisticRegression": "lrl1", "KNN": "kneighbor", "SGD": "sgd",
    "ElasticNet": "enet", "LassoLars": "lassolars", "GradientBoosting": "histgb", "LinearSVM": "svc",
}
FLAML_MODELS = {
    M.CLASSIFICATION: ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_tree", "lrl1", "lrl2", "kneighbor", "sgd",
                       "histgb", "svc"),
    M.REGRESSION: ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_tree", "kneighbor", "sgd", "histgb", "enet",
                   "lassolars"),
    M.FORECASTING: ("lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_tree", "lassolars"),
}
#: what is searched when neither allowed_models nor blocked_models says otherwise (fast, no extra packages)
DEFAULT_MODELS = {
    M.CLASSIFICATION: ("lgbm", "xgboost", "rf", "extra_tree", "lrl1"),
    M.REGRESSION: ("lgbm", "xgboost", "rf", "extra_tree"),
    M.FORECASTING: ("lgbm", "xgboost", "rf", "extra_tree"),
}
#: the budget when none is given (SDK v1 searched for up to 6 days; locally a minute is the default)
DEFAULT_TIMEOUT_S = 60.0

#: settings with a meaning offline; any other keyword is named in a warning
_KNOWN = {"seed", "validation_size", "forecast_horizon", "max_horizon", "forecasting_parameters"}


class AutoMLConfig:
    def __init__(self, task, path=None, iterations=None, primary_metric=None, compute_target=None,
                 spark_context=None, X=None, y=None, sample_weight=None, X_valid=None, y_valid=None,
                 sample_weight_valid=None, cv_splits_indices=None, validation_size=None, n_cross_validations=None,
                 y_min=None, y_max=None, num_classes=None, featurization="auto", max_cores_per_iteration=1,
                 max_concurrent_iterations=None, iteration_timeout_minutes=None, mem_in_mb=None,
                 enforce_time_on_windows=None, experiment_timeout_hours=None, experiment_timeout_minutes=None,
                 experiment_exit_score=None, enable_early_stopping=True, blocked_models=None, blacklist_models=None,
                 exclude_nan_labels=True, verbosity=None, enable_tf=None, model_explainability=None,
                 allowed_models=None, whitelist_models=None, enable_onnx_compatible_models=None,
                 enable_voting_ensemble=None, enable_stack_ensemble=None, debug_log="automl.log",
                 training_data=None, validation_data=None, test_data=None, label_column_name=None,
                 weight_column_name=None, cv_split_column_names=None, enable_local_managed=None,
                 enable_dnn=None, run_configuration=None, time_column_name=None, **settings):
        if task not in M.TASKS:
            raise AutoMLConfigError(f"AutoMLConfig task {task!r} is not one canalis knows; use one of "
                                    f"{', '.join(map(repr, M.TASKS))}")
        if X is not None or y is not None:
            raise AutoMLConfigError("AutoMLConfig: X and y are not supported; pass the table with training_data= "
                                    "and name the column to predict with label_column_name=")
        if training_data is None:
            raise AutoMLConfigError("AutoMLConfig needs training_data= (a TabularDataset, or a step's output read "
                                    "with .read_parquet_files() / .parse_parquet_files() or delimited files)")
        if not label_column_name or not isinstance(label_column_name, str):
            raise AutoMLConfigError("AutoMLConfig needs label_column_name=, the column of training_data to predict")
        self.task = task
        self.primary_metric = primary_metric or M.DEFAULT_PRIMARY[task]
        try:
            M.lookup(task, self.primary_metric)
        except KeyError:
            raise AutoMLConfigError(f"primary_metric {self.primary_metric!r} is not a {task} metric; use one of "
                                    f"{', '.join(M.primary_names(task))}") from None
        if self.primary_metric not in M.primary_names(task):
            raise AutoMLConfigError(f"{self.primary_metric!r} is recorded for every {task} trial but cannot be the "
                                    f"primary metric; use one of {', '.join(M.primary_names(task))}")
        self.training_data = training_data
        self.validation_data = validation_data
        self.label_column_name = label_column_name
        self.weight_column_name = weight_column_name
        self.iterations = _positive_int(iterations, "iterations")
        self.n_cross_validations = _positive_int(n_cross_validations, "n_cross_validations")
        if self.n_cross_validations is not None and self.n_cross_validations < 2:
            raise AutoMLConfigError(f"n_cross_validations must be at least 2, got {n_cross_validations!r}")
        if weight_column_name is not None and not isinstance(weight_column_name, str):
            raise AutoMLConfigError(f"weight_column_name must be a column name, got {weight_column_name!r}")
        if self.n_cross_validations and validation_data is not None:
            raise AutoMLConfigError("give either validation_data= or n_cross_validations=, not both")
        self.validation_size = _fraction(validation_size if validation_size is not None
                                         else settings.get("validation_size"), "validation_size")
        self.timeout_s = _timeout(experiment_timeout_hours, experiment_timeout_minutes, self.iterations)
        self.iteration_timeout_s = (None if iteration_timeout_minutes is None
                                    else _positive(iteration_timeout_minutes, "iteration_timeout_minutes") * 60)
        from canalis.train.automl.featurization_config import FeaturizationConfig

        if isinstance(featurization, FeaturizationConfig):
            self.featurization = "auto"
            self.featurization_settings = featurization.settings()
        elif featurization in ("auto", "off"):
            self.featurization, self.featurization_settings = featurization, {}
        else:
            raise AutoMLConfigError(f"featurization {featurization!r}: use 'auto', 'off' or a FeaturizationConfig")
        self.enable_early_stopping = bool(enable_early_stopping)
        self.models = _models(task, allowed_models or whitelist_models, blocked_models or blacklist_models)
        self.seed = int(settings.get("seed", 0))
        self.n_jobs = int(max_cores_per_iteration) if max_cores_per_iteration and max_cores_per_iteration > 0 else -1
        self.debug_log = debug_log
        self.path = path
        self.compute_target = compute_target
        self.run_configuration = run_configuration
        fp = settings.get("forecasting_parameters")
        self.time_column_name = time_column_name or getattr(fp, "time_column_name", None)
        horizon = settings.get("forecast_horizon") or settings.get("max_horizon") or getattr(fp, "forecast_horizon", None)
        self.forecast_horizon = None
        if task == M.FORECASTING:
            if not self.time_column_name:
                raise AutoMLConfigError("a forecasting AutoMLConfig needs time_column_name=, the column of dates")
            self.forecast_horizon = _positive_int(horizon if horizon not in (None, "auto") else 1, "forecast_horizon")
        # accepted without effect: the search runs here, one trial at a time, on canalis's own step code,
        # without ensembles, explanations or ONNX
        no_effect = dict(
            path=path,            enable_onnx_compatible_models=enable_onnx_compatible_models, verbosity=verbosity,
            model_explainability=model_explainability, enable_stack_ensemble=enable_stack_ensemble,
            enable_voting_ensemble=enable_voting_ensemble, max_concurrent_iterations=max_concurrent_iterations,
            enable_dnn=enable_dnn, cv_split_column_names=cv_split_column_names, spark_context=spark_context,
            mem_in_mb=mem_in_mb, experiment_exit_score=experiment_exit_score, cv_splits_indices=cv_splits_indices,
            test_data=test_data, enable_tf=enable_tf, y_min=y_min, y_max=y_max, sample_weight=sample_weight,
            X_valid=X_valid, y_valid=y_valid, sample_weight_valid=sample_weight_valid, num_classes=num_classes,
            enforce_time_on_windows=enforce_time_on_windows, enable_local_managed=enable_local_managed,
)
        warn_ignored("AutoMLConfig", [*(k for k in settings if k not in _KNOWN),
                                      *(k for k, v in no_effect.items() if v is not None)])
        self.user_settings = {k: v for k, v in settings.items() if k in _KNOWN}

    def settings(self) -> dict:
        """What the AutoML step is told (JSON-able); the data are its inputs, not part of this."""
        return {
            "task": self.task, "primary_metric": self.primary_metric, "label_column_name": self.label_column_name,
            "weight_column_name": self.weight_column_name, "iterations": self.iterations,
            "n_cross_validations": self.n_cross_validations, "validation_size": self.validation_size,
            "timeout_s": self.timeout_s, "iteration_timeout_s": self.iteration_timeout_s,
            "featurization": self.featurization, "featurization_settings": self.featurization_settings,
            "enable_early_stopping": self.enable_early_stopping,
            "models": list(self.models), "seed": self.seed, "n_jobs": self.n_jobs,
            "debug_log": self.debug_log,
            "time_column_name": self.time_column_name, "forecast_horizon": self.forecast_horizon,
        }

    def get_supported_dataset_languages(self, *a, **k):
        return {}

    def __repr__(self):
        return f"AutoMLConfig(task={self.task!r}, primary_metric={self.primary_metric!r})"


def _positive_int(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AutoMLConfigError(f"{name} must be a positive whole number, got {value!r}")
    return value


def _positive(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise AutoMLConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _fraction(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise AutoMLConfigError(f"{name} must be a fraction between 0 and 1, got {value!r}")
    return float(value)


def _timeout(hours, minutes, iterations):
    """The search's budget in seconds: SDK v1's 15-minute minimum does not apply here; with
    `iterations` and no timeout, the iterations alone bound the search."""
    if hours is not None and minutes is not None:
        raise AutoMLConfigError("give experiment_timeout_hours= or experiment_timeout_minutes=, not both")
    if hours is not None:
        return _positive(hours, "experiment_timeout_hours") * 3600
    if minutes is not None:
        return _positive(minutes, "experiment_timeout_minutes") * 60
    return None if iterations else DEFAULT_TIMEOUT_S


def _models(task, allowed, blocked) -> tuple:
    def flaml_name(name):
        found = MODELS.get(name, name)
        if found not in FLAML_MODELS[task]:
            known = sorted({k for k, v in MODELS.items() if v in FLAML_MODELS[task]} | set(FLAML_MODELS[task]))
            raise AutoMLConfigError(f"model {name!r} is not one canalis can search for {task}; known: {', '.join(known)}")
        return found

    if allowed is not None and blocked is not None:
        raise AutoMLConfigError("give allowed_models= or blocked_models=, not both")
    if allowed is not None:
        chosen = tuple(dict.fromkeys(flaml_name(n) for n in ([allowed] if isinstance(allowed, str) else allowed)))
    else:
        out = {flaml_name(n) for n in ([blocked] if isinstance(blocked, str) else (blocked or []))}
        chosen = tuple(m for m in DEFAULT_MODELS[task] if m not in out)
    if not chosen:
        raise AutoMLConfigError("allowed_models/blocked_models leave no model to search; allow at least one")
    return chosen
