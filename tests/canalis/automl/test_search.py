"""The search itself (in this process): seeded and reproducible, featurization 'auto' trains on
raw Titanic-shaped rows, every trial carries every metric, and the featurizer is a function
of each row alone."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from canalis.data import OutputFileDatasetConfig
from canalis.train.automl import AutoMLConfig, metrics as M, search
from canalis.train.automl.errors import AutoMLDataError
from canalis.train.automl.featurize import Featurizer
from tests.canalis.automl.titanic import titanic


def settings_of(**kw):
    base = dict(task="classification", training_data=OutputFileDatasetConfig(name="d"), label_column_name="Survived",
                primary_metric="AUC_weighted", iterations=3, allowed_models=["lgbm", "rf"])
    return AutoMLConfig(**{**base, **kw}).settings()


def test_same_data_settings_and_seed_give_the_same_trials_and_model(tmp_path):
    df = titanic(300, seed=1)
    first = search.run(df, settings_of(seed=7), log_path=tmp_path / "a.jsonl")
    second = search.run(df, settings_of(seed=7), log_path=tmp_path / "b.jsonl")
    strip = lambda r: [(t.model, t.hyperparameters, t.metrics) for t in r.trials]  # noqa: E731
    assert strip(first) == strip(second) and len(first.trials) == 3
    assert first.best_iteration == second.best_iteration
    rows = titanic(60, seed=2).drop(columns=["Survived"])
    assert (first.fitted.predict_proba(rows) == second.fitted.predict_proba(rows)).all()


def test_raw_titanic_rows_train_without_a_prep_step(tmp_path):
    data = titanic(600, seed=5)
    train, held_out = data.iloc[:450], data.iloc[450:]
    result = search.run(train, settings_of(iterations=4, n_cross_validations=3), log_path=tmp_path / "t.jsonl")
    kinds = result.featurization
    assert kinds["Sex"] == "category" and kinds["Embarked"] == "category" and kinds["Age"] == "numeric"
    assert kinds["Name"] == "text"
    model = pickle.loads(pickle.dumps(result.fitted))
    predicted = model.predict(held_out)  # raw rows, label column included, missing values and all
    accuracy = (predicted == held_out["Survived"].to_numpy()).mean()
    assert accuracy > max(held_out["Survived"].mean(), 1 - held_out["Survived"].mean())
    for t in result.trials:
        assert set(t.metrics) == {m.name for m in M.CLASSIFICATION_METRICS}


def test_string_labels_come_back_as_strings(tmp_path):
    df = titanic(200, seed=3)
    df["Survived"] = df["Survived"].map({0: "died", 1: "survived"})
    result = search.run(df, settings_of(iterations=2), log_path=tmp_path / "s.jsonl")
    assert set(result.fitted.predict(df.head(40))) <= {"died", "survived"}


def test_a_missing_label_column_is_a_clear_error(tmp_path):
    with pytest.raises(AutoMLDataError, match="no column 'Survived'.*PassengerId"):
        search.run(titanic(50).drop(columns=["Survived"]), settings_of(), log_path=tmp_path / "x.jsonl")


def test_classification_scores_agree_with_their_definitions():
    y = np.array([0, 0, 1, 1, 1, 0])
    proba = np.array([[.9, .1], [.6, .4], [.3, .7], [.2, .8], [.7, .3], [.4, .6]])
    s = M.classification_scores(y, proba, np.array([0, 1]))
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["norm_macro_recall"] == pytest.approx((2 / 3 + 2 / 3) / 2 * 2 - 1)  # (recall - 1/2) / (1/2)
    assert s["AUC_weighted"] == pytest.approx(7 / 9)  # 7 of the 9 (positive, negative) pairs ranked right
    perfect = M.regression_scores([1, 2, 3, 4], [1, 2, 3, 4], 3.0)
    assert perfect["r2_score"] == 1 and perfect["normalized_root_mean_squared_error"] == 0
    assert perfect["spearman_correlation"] == pytest.approx(1)


frames = st.integers(min_value=4, max_value=40).flatmap(lambda n: st.fixed_dictionaries({
    "num": st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=n, max_size=n),
    "cat": st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=n, max_size=n),
    "text": st.lists(st.one_of(st.none(), st.text("xyz ", max_size=12)), min_size=n, max_size=n),
    "flag": st.lists(st.booleans(), min_size=n, max_size=n),
}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.data())
def test_featurized_rows_are_finite_and_depend_on_their_own_row_only(columns, data):
    df = pd.DataFrame(columns)
    df["num"] = df["num"].astype(float)
    f = Featurizer().fit(df)
    whole = f.transform(df)
    assert len(whole) == len(df) and np.isfinite(whole.to_numpy(dtype=float)).all()
    picked = data.draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=len(df)))
    part = f.transform(df.iloc[picked].reset_index(drop=True))
    assert list(part.columns) == list(whole.columns)
    np.testing.assert_array_equal(part.to_numpy(dtype=float), whole.iloc[picked].to_numpy(dtype=float))
    unseen = pd.DataFrame({"num": [None], "cat": ["zzz"], "text": ["new words"], "flag": [True]})
    assert np.isfinite(f.transform(unseen).to_numpy(dtype=float)).all()


def test_featurization_config_drops_columns_sets_purposes_and_imputers(tmp_path):
    from canalis.train.automl import FeaturizationConfig

    fc = FeaturizationConfig(drop_columns=["Ticket"])
    fc.add_drop_columns("Cabin")
    fc.add_column_purpose("Pclass", "Categorical")
    fc.add_column_purpose("PassengerId", "Ignore")
    fc.add_transformer_params("Imputer", ["Age"], {"strategy": "constant", "fill_value": -1})
    df = titanic(200, seed=4)
    df["weight"] = np.where(df["Survived"] == 1, 2.0, 1.0)
    result = search.run(df, settings_of(iterations=2, featurization=fc, weight_column_name="weight"),
                        log_path=tmp_path / "f.jsonl")
    kinds = result.featurization
    assert kinds["Ticket"] == kinds["Cabin"] == kinds["PassengerId"] == "dropped" and kinds["Pclass"] == "category"
    assert "weight" not in kinds
    features = result.fitted.featurizer.transform(df.assign(Age=np.nan))
    assert (features["Age"] == -1).all() and "Pclass__is_0" in features
    assert len(result.fitted.predict(df)) == len(df)


def test_bad_featurization_settings_are_refused():
    from canalis.train.automl import FeaturizationConfig
    from canalis.train.automl.errors import AutoMLConfigError

    with pytest.raises(AutoMLConfigError, match="'Numerical'.*Numeric"):
        FeaturizationConfig().add_column_purpose("Age", "Numerical")
    with pytest.raises(AutoMLConfigError, match="'Imputer' only"):
        FeaturizationConfig().add_transformer_params("HashOneHotEncoder", ["Name"], {})
    with pytest.raises(AutoMLConfigError, match="strategy 'mode'"):
        FeaturizationConfig().add_transformer_params("Imputer", ["Age"], {"strategy": "mode"})
    given = FeaturizationConfig(transformer_params={"Imputer": [(["Age", "Fare"], {"strategy": "mean"})]},
                                column_purposes={"Pclass": "Categorical"})
    assert given.settings()["imputers"]["Fare"]["strategy"] == "mean"
    assert given.settings()["column_purposes"] == {"Pclass": "category"}


def test_validation_data_is_used_for_scoring(tmp_path):
    data = titanic(300, seed=8)
    result = search.run(data.iloc[:200], settings_of(iterations=2), validation_df=data.iloc[200:],
                        log_path=tmp_path / "v.jsonl")
    assert len(result.trials) == 2 and 0 <= result.best.metrics["AUC_weighted"] <= 1
