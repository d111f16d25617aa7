"""Fit a random forest on the training split."""
import argparse
import os
import pickle

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from canalis.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--n-estimators", type=int, required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()

run = Run.get_context()
train = pd.read_csv(os.path.join(args.data, "train.csv"))
X, y = train.drop(columns=["target"]), train["target"]
model = RandomForestClassifier(n_estimators=args.n_estimators, random_state=0, n_jobs=1).fit(X, y)
with open(os.path.join(args.model, "model.pkl"), "wb") as f:
    pickle.dump(model, f)
run.log("train_accuracy", float(model.score(X, y)))
run.log("n_estimators", args.n_estimators)
print(f"trained a forest of {args.n_estimators} trees")
