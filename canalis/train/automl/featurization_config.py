"""`FeaturizationConfig`: SDK v1's per-column featurization settings (columns to drop, a
column's purpose, a numeric column's imputation), applied by featurization 'auto'."""
from __future__ import annotations

from canalis.ignored_keywords import warn_ignored
from canalis.train.automl.errors import AutoMLConfigError

#: SDK v1 purposes -> how canalis featurizes the column
PURPOSES = {"Numeric": "numeric", "Categorical": "category", "CategoricalHash": "category", "DateTime": "date",
            "Text": "text", "Ignore": "drop", "Hashes": "drop"}
STRATEGIES = ("mean", "median", "most_frequent", "constant")


class FeaturizationConfig:
    def __init__(self, blocked_transformers=None, column_purposes=None, transformer_params=None,
                 drop_columns=None, dataset_language=None, prediction_transform_type=None):
        self.drop_columns = list(drop_columns or [])
        self.column_purposes: dict[str, str] = {}
        self.imputers: dict[str, dict] = {}
        for column, purpose in (column_purposes or {}).items():
            self.add_column_purpose(column, purpose)
        for name, entries in (transformer_params or {}).items():  # SDK v1: {name: [(columns, params), ...]}
            for columns, params in entries:
                self.add_transformer_params(name, columns, params)
        self.blocked_transformers = blocked_transformers
        warn_ignored("FeaturizationConfig", [n for n, v in (("blocked_transformers", blocked_transformers),
                                                             ("dataset_language", dataset_language),
                                                             ("prediction_transform_type", prediction_transform_type))
                                             if v is not None])

    def add_column_purpose(self, column_name, feature_purpose):
        if feature_purpose not in PURPOSES:
            raise AutoMLConfigError(f"column purpose {feature_purpose!r} of column {column_name!r} is not known; use "
                                    f"one of {', '.join(PURPOSES)}")
        self.column_purposes[str(column_name)] = feature_purpose

    def remove_column_purpose(self, column_name):
        self.column_purposes.pop(str(column_name), None)

    def add_drop_columns(self, drop_columns):
        self.drop_columns += [drop_columns] if isinstance(drop_columns, str) else list(drop_columns)

    def add_transformer_params(self, transformer, cols, params):
        if transformer != "Imputer":
            raise AutoMLConfigError(f"transformer {transformer!r}: canalis takes parameters for 'Imputer' only "
                                    "(strategy mean, median, most_frequent or constant with fill_value)")
        strategy = (params or {}).get("strategy", "median")
        if strategy not in STRATEGIES:
            raise AutoMLConfigError(f"Imputer strategy {strategy!r} is not known; use one of {', '.join(STRATEGIES)}")
        for col in [cols] if isinstance(cols, str) else cols:
            self.imputers[str(col)] = {"strategy": strategy, "fill_value": (params or {}).get("fill_value", 0)}

    def settings(self) -> dict:
        """The JSON-able form the AutoML step receives."""
        return {"drop_columns": sorted(map(str, self.drop_columns)),
                "column_purposes": {c: PURPOSES[p] for c, p in sorted(self.column_purposes.items())},
                "imputers": dict(sorted(self.imputers.items()))}
