"""Split the raw wine table into train and test sets."""
import argparse
import os

from canalis.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--test-fraction", type=float, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

run = Run.get_context()
df = run.input_datasets["wine_raw"].to_pandas_dataframe()
test = df.sample(frac=args.test_fraction, random_state=7)
train = df.drop(index=test.index)
os.makedirs(args.out, exist_ok=True)
train.to_csv(os.path.join(args.out, "train.csv"), index=False)
test.to_csv(os.path.join(args.out, "test.csv"), index=False)
run.log("rows_train", len(train))
run.log("rows_test", len(test))
print(f"prepared {len(train)} training rows and {len(test)} test rows")
