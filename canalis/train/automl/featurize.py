"""Featurization 'auto': raw table rows to a numeric matrix, learned from the training data.

FLAML searches over estimators for numeric features; this is what it leaves to the caller,
done as SDK v1's AutoML did it, so a table like the Titanic data (numbers, categories, free
text, missing values) trains as it is:

- numeric columns: missing values become the column's median (or what the column's Imputer
  says: mean, most_frequent, constant), plus a 0/1 "was missing" column
  where the training data had gaps;
- dates (datetime columns, or text columns that all parse as dates): year, month, day,
  day of week, hour;
- categories (text with few distinct values, booleans): one-hot, with missing as its own
  category and unseen values as all zeros;
- free text (text with many distinct values): TF-IDF of its words (at most 20 terms);
- a column with one value (or none) is dropped, as are the FeaturizationConfig's drop_columns;
  its column purposes (Numeric, Categorical, DateTime, Text, Ignore) override the guesses.

The fitted featurizer is part of the pickled model, so the model predicts on raw rows.
"""
from __future__ import annotations

#: a text column with at most this many distinct values (or this share of the rows) is a category
MAX_CATEGORIES = 30
TEXT_TERMS = 20


class Featurizer:
    def __init__(self, drop_columns=(), column_purposes=None, imputers=None):
        """`drop_columns`, `column_purposes` ({column: numeric|category|date|text|drop}) and
        `imputers` ({column: {"strategy", "fill_value"}}) are a FeaturizationConfig's settings."""
        self.drop_columns = set(drop_columns)
        self.column_purposes = dict(column_purposes or {})
        self.imputers = dict(imputers or {})
        self.plan: list[tuple[str, str, object]] = []  # (column, kind, fitted state)

    # -- learning ---------------------------------------------------------------------------------
    def fit(self, df):
        import pandas as pd

        self.columns = list(df.columns)
        self.plan = []
        for col in df.columns:
            s = df[col]
            purpose = self.column_purposes.get(str(col))
            if str(col) in self.drop_columns or purpose == "drop" or s.nunique(dropna=True) <= (0 if purpose else 1):
                continue
            if purpose == "numeric":
                self.plan.append((col, "numeric", self._imputed(col, pd.to_numeric(s, errors="coerce"))))
            elif purpose == "category":
                self.plan.append((col, "category", _categories(s)))
            elif purpose == "date":
                self.plan.append((col, "date", None))
            elif purpose == "text":
                self._text(col, s)
            elif pd.api.types.is_bool_dtype(s):
                self.plan.append((col, "category", _categories(s.astype(str))))
            elif pd.api.types.is_numeric_dtype(s):
                self.plan.append((col, "numeric", self._imputed(col, s)))
            elif pd.api.types.is_datetime64_any_dtype(s) or _looks_like_dates(s):
                self.plan.append((col, "date", None))
            elif s.nunique(dropna=True) <= max(MAX_CATEGORIES, 0) or s.nunique(dropna=True) <= 0.05 * len(s):
                self.plan.append((col, "category", _categories(s)))
            else:
                self._text(col, s)
        return self

    def _imputed(self, col, s) -> tuple:
        """(the value that fills a gap, whether the training data had gaps)."""
        how = self.imputers.get(str(col), {"strategy": "median"})
        strategy = how["strategy"]
        if strategy == "constant":
            fill = float(how.get("fill_value", 0))
        elif strategy == "most_frequent":
            modes = s.mode(dropna=True)
            fill = float(modes.iloc[0]) if len(modes) else 0.0
        else:
            fill = float(getattr(s, strategy)()) if s.notna().any() else 0.0
        return fill, bool(s.isna().any())

    def _text(self, col, s) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(max_features=TEXT_TERMS, token_pattern=r"(?u)\b\w+\b")
        try:
            vec.fit(s.fillna("").astype(str))
        except ValueError:  # no words at all
            return
        self.plan.append((col, "text", vec))

    def fit_transform(self, df):
        return self.fit(df).transform(df)

    # -- applying ---------------------------------------------------------------------------------
    def transform(self, df):
        import numpy as np
        import pandas as pd

        missing = [c for c, _, _ in self.plan if c not in df.columns]
        if missing:
            from canalis.train.automl.errors import AutoMLDataError

            raise AutoMLDataError(f"the rows to predict lack column(s) {', '.join(map(repr, missing))}, which the "
                                  "model was trained with; give rows with the training data's columns")
        parts: dict[str, object] = {}
        for col, kind, state in self.plan:
            s = df[col]
            if kind == "numeric":
                median, had_gaps = state
                values = pd.to_numeric(s, errors="coerce").astype(float)
                parts[col] = values.fillna(median).to_numpy()
                if had_gaps:
                    parts[f"{col}__missing"] = values.isna().to_numpy(dtype=float)
            elif kind == "category":
                text = s.astype(object).where(s.notna(), "__missing__").astype(str)
                for i, value in enumerate(state):
                    parts[f"{col}__is_{i}"] = (text == value).to_numpy(dtype=float)
            elif kind == "date":
                d = pd.to_datetime(s, errors="coerce")
                for part in ("year", "month", "day", "day_of_week", "hour"):
                    parts[f"{col}__{part}"] = getattr(d.dt, part).fillna(-1).to_numpy(dtype=float)
            else:
                matrix = state.transform(s.fillna("").astype(str)).toarray()
                for i, term in enumerate(state.get_feature_names_out()):
                    parts[f"{col}__word_{i}"] = matrix[:, i]
        if not parts:
            return pd.DataFrame(index=range(len(df)), data={"__constant__": np.zeros(len(df))})
        return pd.DataFrame(parts)

    def describe(self) -> dict:
        """Which kind each training column was treated as."""
        kinds = {col: kind for col, kind, _ in self.plan}
        return {col: kinds.get(col, "dropped") for col in self.columns}


def _categories(s) -> list[str]:
    text = s.astype(object).where(s.notna(), "__missing__").astype(str)
    return sorted(text.unique())


def _looks_like_dates(s) -> bool:
    import warnings

    import pandas as pd

    values = s.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.head(50)):
        return False
    if not values.head(50).str.contains(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}").all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, errors="coerce")
    return bool(parsed.notna().all())
