"""A Titanic-shaped table made up here (no download): the article's columns, mixed numbers
and text, missing values, and a survival label that depends on sex, class and age."""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["PassengerId", "Survived", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Ticket", "Fare", "Cabin",
           "Embarked"]


def titanic(n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n, p=[0.64, 0.36])
    pclass = rng.choice([1, 2, 3], n, p=[0.24, 0.21, 0.55])
    age = np.round(rng.normal(30, 14, n).clip(1, 80))
    fare = np.round(rng.gamma(2.0, 12.0, n) * (4 - pclass), 2)
    titles = np.where(sex == "male", np.where(age < 14, "Master", "Mr"), np.where(age < 25, "Miss", "Mrs"))
    surnames = rng.choice(["Smith", "Brown", "Jones", "Taylor", "Wilson", "Davies", "Evans", "Thomas"], n)
    logit = -0.9 + 2.4 * (sex == "female") + 0.9 * (pclass == 1) - 0.8 * (pclass == 3) - 0.02 * (age - 30)
    survived = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "PassengerId": np.arange(1, n + 1), "Survived": survived, "Pclass": pclass,
        "Name": [f"{s}, {t}. {f}" for s, t, f in zip(surnames, titles, rng.choice(["John", "Mary", "Anna", "Karl"], n))],
        "Sex": sex, "Age": age, "SibSp": rng.integers(0, 4, n), "Parch": rng.integers(0, 3, n),
        "Ticket": [f"T{int(x)}" for x in rng.integers(1000, 99999, n)], "Fare": fare,
        "Cabin": [f"C{int(x)}" if rng.random() < 0.25 else None for x in rng.integers(1, 150, n)],
        "Embarked": rng.choice(["S", "C", "Q"], n, p=[0.7, 0.2, 0.1]),
    })
    df.loc[rng.random(n) < 0.2, "Age"] = np.nan
    df.loc[rng.random(n) < 0.02, "Embarked"] = None
    return df[COLUMNS]
