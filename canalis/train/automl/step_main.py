"""What an AutoMLStep's process does: read the training table, search, write the outputs,
record every trial.

The metrics output is a JSON list with one entry per trial (iteration, model, hyperparameters,
duration, every metric under SDK v1's names, whether it is the best); the model output is the
pickled `FittedPipeline` of the best trial. As in SDK v1, each is one file written at the
output's path (a `PipelineData` output); an output made as a folder in advance
(`OutputFileDatasetConfig`) gets `metrics.json` / `model.pkl` inside it. Each trial
is also logged on the step run as a row of the metric `trials`, and the best trial's
metrics as the step run's scalar metrics, so `canalis metrics` and the run's metrics show
the search.
"""
from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

from canalis.train.automl.files import METRICS_FILE, MODEL_FILE, TRIALS_LOG


def read_table(path: str, input_name: str | None):
    """The table of an input: a TabularDataset as the step context gives it, or the Parquet
    (else delimited) files of a folder another step wrote."""
    import pandas as pd

    from canalis.core import Run
    from canalis.train.automl.errors import AutoMLDataError

    if input_name:
        found = Run.get_context().input_datasets.get(input_name)
        if found is not None and hasattr(found, "to_pandas_dataframe"):
            return found.to_pandas_dataframe()
    root = Path(path)
    files = [root] if root.is_file() else sorted(f for f in root.rglob("*") if f.is_file())
    parquet = [f for f in files if f.suffix == ".parquet"]
    if parquet or (files and all(_is_parquet(f) for f in files)):
        return pd.concat([pd.read_parquet(f) for f in (parquet or files)], ignore_index=True)
    delimited = [f for f in files if f.suffix in (".csv", ".tsv", ".txt")]
    if not delimited:
        raise AutoMLDataError(f"input {input_name or path!r} holds no Parquet or delimited file to train on")
    return pd.concat([pd.read_csv(f, sep="\t" if f.suffix == ".tsv" else ",") for f in delimited], ignore_index=True)


def _is_parquet(f: Path) -> bool:
    with open(f, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _target(path: str, file_name: str) -> Path:
    """Where an output's file goes: at the output's path itself when the step makes it (a
    `PipelineData` output: one file, as SDK v1 wrote it), inside it when it is a folder made in
    advance (`OutputFileDatasetConfig`)."""
    p = Path(path)
    if p.is_dir():
        return p / file_name
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def main(argv=None) -> None:
    from canalis.core import Run
    from canalis.train.automl import search

    p = argparse.ArgumentParser(prog="automl_step")
    p.add_argument("--settings", required=True)
    p.add_argument("--training-data", required=True)
    p.add_argument("--training-input")
    p.add_argument("--validation-data")
    p.add_argument("--validation-input")
    p.add_argument("--metrics-output", action="append", default=[])
    p.add_argument("--model-output", action="append", default=[])
    args = p.parse_args(argv)
    settings = json.loads(args.settings)
    df = read_table(args.training_data, args.training_input)
    valid = read_table(args.validation_data, args.validation_input) if args.validation_data else None
    print(f"AutoML {settings['task']}: {len(df)} rows, primary metric {settings['primary_metric']}, "
          f"models {', '.join(settings['models'])}", flush=True)
    result = search.run(df, settings, validation_df=valid, log_path=Path(TRIALS_LOG))

    entries = [{"iteration": t.iteration, "model": t.model, "hyperparameters": t.hyperparameters,
                "duration_s": t.duration_s, "best": t.iteration == result.best_iteration, **t.metrics}
               for t in result.trials]
    for path in args.metrics_output:
        _target(path, METRICS_FILE).write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
    for path in args.model_output:
        with open(_target(path, MODEL_FILE), "wb") as f:
            pickle.dump(result.fitted, f, protocol=pickle.HIGHEST_PROTOCOL)

    run = Run.get_context()
    for t in result.trials:
        run.log_row("trials", iteration=t.iteration, model=t.model, best=t.iteration == result.best_iteration, duration_s=round(t.duration_s, 6),
                    hyperparameters=json.dumps(t.hyperparameters, sort_keys=True), **t.metrics)
    best = result.best
    for name, value in sorted(best.metrics.items()):
        run.log(name, value)
    run.set_tags({"automl.best_iteration": str(best.iteration), "automl.best_model": best.model,
                  "automl.iterations": str(len(result.trials)), "automl.primary_metric": settings["primary_metric"]})
    if settings.get("debug_log"):
        run.upload_file(f"logs/{Path(settings['debug_log']).name}", TRIALS_LOG)
    run.upload_file("outputs/featurization.json",
                    _bytes(json.dumps({"featurization": settings["featurization"],
                                       "columns": result.featurization}, indent=1, sort_keys=True)))
    print(f"best: iteration {best.iteration}, {best.model}, {settings['primary_metric']}="
          f"{best.metrics[settings['primary_metric']]:.4f} ({len(result.trials)} trials)", flush=True)


def _bytes(text: str):
    import io

    return io.BytesIO(text.encode("utf-8"))
