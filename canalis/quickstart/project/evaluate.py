"""Score the model on the held-out split and write a report."""
import argparse
import json
import os
import pickle

import pandas as pd

from canalis.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

run = Run.get_context()
test = pd.read_csv(os.path.join(args.data, "test.csv"))
with open(os.path.join(args.model, "model.pkl"), "rb") as f:
    model = pickle.load(f)
accuracy = float(model.score(test.drop(columns=["target"]), test["target"]))
with open(os.path.join(args.report, "report.json"), "w") as f:
    json.dump({"accuracy": accuracy, "rows": len(test)}, f, indent=2, sort_keys=True)
run.log("accuracy", accuracy)
run.parent.log("accuracy", accuracy)
print(f"test accuracy {accuracy:.3f}")
