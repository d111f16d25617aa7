"""AutoMLConfig and AutoMLStep refuse what they cannot use at construction, with a message
naming the setting and what to give instead; a missing FLAML names the extra to install."""
from __future__ import annotations

import subprocess
import sys

import pytest

from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException
from canalis.pipeline.core import PipelineData, TrainingOutput
from canalis.pipeline.steps import AutoMLStep
from canalis.train.automl import AutoMLConfig
from canalis.train.automl.errors import AutoMLConfigError

DATA = OutputFileDatasetConfig(name="prepped").read_parquet_files()


def config(**kw):
    base = dict(task="classification", training_data=DATA, label_column_name="Survived")
    return AutoMLConfig(**{**base, **kw})


@pytest.mark.parametrize("kw, words", [
    ({"task": "clustering"}, ["'clustering'", "'classification'", "'regression'", "'forecasting'"]),
    ({"primary_metric": "AUC_weighted_typo"}, ["AUC_weighted_typo", "AUC_weighted", "norm_macro_recall"]),
    ({"primary_metric": "r2_score"}, ["'r2_score'", "classification"]),
    ({"primary_metric": "log_loss"}, ["cannot be the primary metric"]),
    ({"task": "regression", "primary_metric": "AUC_weighted"}, ["regression", "spearman_correlation"]),
    ({"iterations": 0}, ["iterations", "positive"]),
    ({"iterations": 2.5}, ["iterations"]),
    ({"experiment_timeout_minutes": -1}, ["experiment_timeout_minutes"]),
    ({"experiment_timeout_hours": 1, "experiment_timeout_minutes": 5}, ["not both"]),
    ({"n_cross_validations": 1}, ["at least 2"]),
    ({"allowed_models": ["LightGBM", "DeepForest"]}, ["'DeepForest'", "LightGBM", "RandomForest"]),
    ({"blocked_models": ["lgbm", "xgboost", "rf", "extra_tree", "lrl1"]}, ["no model"]),
    ({"label_column_name": None}, ["label_column_name"]),
    ({"training_data": None}, ["training_data"]),
    ({"featurization": "sometimes"}, ["'auto', 'off' or a FeaturizationConfig"]),
    ({"task": "forecasting", "primary_metric": "r2_score"}, ["time_column_name"]),
    ({"validation_size": 1.5}, ["validation_size"]),
])
def test_bad_settings_are_refused_at_construction(kw, words):
    with pytest.raises(AutoMLConfigError) as e:
        config(**kw)
    for w in words:
        assert w in str(e.value)


def test_small_budgets_and_sdk_names_are_accepted():
    c = config(experiment_timeout_minutes=0.2, iterations=3, primary_metric="AUC_weighted",
               allowed_models=["LightGBM", "XGBoostClassifier", "rf"])
    s = c.settings()
    assert s["timeout_s"] == pytest.approx(12) and s["iterations"] == 3
    assert s["models"] == ["lgbm", "xgboost", "rf"]
    assert config(iterations=2).settings()["timeout_s"] is None  # iterations alone bound the search
    assert config().settings()["timeout_s"] == 60
    f = config(task="forecasting", primary_metric="normalized_root_mean_squared_error", time_column_name="date",
               max_horizon=7)
    assert f.settings()["forecast_horizon"] == 7


def test_unknown_settings_are_named_in_a_warning(capsys):
    config(iterations=2, some_cloud_knob=3)
    assert "some_cloud_knob" in capsys.readouterr().err


def test_explicit_keywords_without_effect_are_named_in_a_warning(capsys):
    config(iterations=2, enable_voting_ensemble=True, experiment_exit_score=0.9)
    err = capsys.readouterr().err
    assert "enable_voting_ensemble=" in err and "experiment_exit_score=" in err


def test_automl_step_outputs_must_carry_a_training_output():
    with pytest.raises(UserErrorException, match="TrainingOutput"):
        AutoMLStep(name="automl", automl_config=config(iterations=2), outputs=[PipelineData("plain")])
    with pytest.raises(UserErrorException, match="automl_config=AutoMLConfig"):
        AutoMLStep(name="automl", automl_config={"task": "classification"})


def test_default_outputs_follow_the_flags():
    metrics = PipelineData("m", training_output=TrainingOutput(type="Metrics"))
    model = PipelineData("b", training_output=TrainingOutput(type="Model"))
    given = AutoMLStep(name="s1", automl_config=config(iterations=2), outputs=[metrics, model],
                       enable_default_metrics_output=False, enable_default_model_output=False)
    assert [o.name for o in given.outputs] == ["m", "b"]
    defaults = AutoMLStep(name="AutoML_Classification", automl_config=config(iterations=2))
    assert [o.name for o in defaults.outputs] == ["default_metrics_AutoML_Classification",
                                                  "default_model_AutoML_Classification"]


def test_missing_flaml_names_the_extra(tmp_path):
    code = """
import sys
sys.modules["flaml"] = None  # as if FLAML were not installed
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.steps import AutoMLStep
from canalis.train.automl import AutoMLConfig
from canalis.train.automl.errors import AutoMLNotInstalledError
c = AutoMLConfig(task="classification", training_data=OutputFileDatasetConfig(name="d"), label_column_name="y")
try:
    AutoMLStep(name="automl", automl_config=c)
except AutoMLNotInstalledError as e:
    print("REFUSED:", e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert "REFUSED:" in out.stdout and "pip install 'canalis[automl]'" in out.stdout, out.stderr
