"""The best model of a search as one object: featurization plus the fitted estimator.

This is what the model output holds (pickled): it predicts on raw rows of the training
table's columns (the label column may be present or not), as SDK v1's fitted pipeline did.
Unpickling needs canalis and FLAML with the estimator's library (LightGBM, XGBoost or
scikit-learn), i.e. `pip install 'canalis[automl]'`.
"""
from __future__ import annotations


class FittedPipeline:
    def __init__(self, task, featurizer, estimator, label_column_name, classes=None, label_transformer=None,
                 time_column_name=None, best_config=None, best_estimator=None, weight_column_name=None):
        self.task = task
        self.featurizer = featurizer
        self.estimator = estimator  # the FLAML estimator (its `.estimator` is the library's own model)
        self.label_column_name = label_column_name
        self.classes_ = classes
        self.label_transformer = label_transformer
        self.time_column_name = time_column_name
        self.best_config = best_config
        self.best_estimator = best_estimator
        self.weight_column_name = weight_column_name

    @property
    def steps(self):
        """(name, object) pairs, as an sklearn Pipeline lists them."""
        return [("featurization", self.featurizer), ("estimator", self.estimator)]

    def _features(self, X):
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        X = X.drop(columns=[self.label_column_name, getattr(self, "weight_column_name", None)], errors="ignore")
        if self.task == "forecasting":
            exog = X.drop(columns=[self.time_column_name])
            feats = self.featurizer.transform(exog) if self.featurizer is not None else exog.reset_index(drop=True)
            times = pd.to_datetime(X[self.time_column_name]).reset_index(drop=True).rename(self.time_column_name)
            return pd.concat([times, feats.reset_index(drop=True)], axis=1)
        return self.featurizer.transform(X) if self.featurizer is not None else X

    def predict(self, X):
        import warnings

        import numpy as np

        with warnings.catch_warnings():  # FLAML's deprecation notices about pandas
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="flaml")
            warnings.filterwarnings("ignore", category=FutureWarning, module="flaml")
            out = np.asarray(self.estimator.predict(self._features(X)))
        if self.task == "classification":
            codes = out.astype(int)
            if self.label_transformer is not None:
                codes = np.asarray(self.label_transformer.inverse_transform(codes)).astype(int)
            return np.asarray(self.classes_)[codes]
        return out

    def predict_proba(self, X):
        if self.task != "classification":
            raise AttributeError("predict_proba is for classification models")
        return self.estimator.predict_proba(self._features(X))

    def forecast(self, X):
        """Forecasts for the rows of `X` (times within the horizon after the training data)."""
        return self.predict(X)

    def __repr__(self):
        return f"FittedPipeline(task={self.task!r}, estimator={self.best_estimator!r})"
