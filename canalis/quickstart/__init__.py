"""`canalis quickstart DIR`: a workspace, a real three-step pipeline, and its reuse.

Makes DIR a workspace, writes scikit-learn's bundled wine data set to the default
datastore, registers it as the dataset `wine_raw`, copies the example project to
DIR/project, submits its pipeline, then submits it again: the second run reuses
every step.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from canalis import layout as _layout


def write_project(root: Path) -> Path:
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    for entry in resources.files("canalis.quickstart").joinpath("project").iterdir():
        if entry.name.endswith(".py"):
            (project / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    (project / ".amlignore").write_text("__pycache__/\n*.log\nscratch/\n", encoding="utf-8")
    return project


def write_data(ws) -> None:
    from sklearn.datasets import load_wine

    from canalis.core import Dataset

    frame = load_wine(as_frame=True).frame
    datastore = ws.get_default_datastore()
    target = datastore.root / "wine" / "wine.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    ds = Dataset.Tabular.from_delimited_files(path=(datastore, "wine/wine.csv"))
    ds.register(ws, "wine_raw", description="scikit-learn's wine recognition data", create_new_version=True)


def run(directory, show_output=True, echo=print) -> dict:
    """Create the workspace, submit the pipeline twice; returns both run summaries."""
    import runpy

    from canalis import reports
    from canalis.core import Experiment, Workspace

    root = Path(directory).resolve()
    if (root / _layout.DIRNAME).exists() and any((root / _layout.DIRNAME / "objects").iterdir()):
        echo(f"{root} is already a workspace; reusing it")
    _layout.init(root, name=root.name)
    ws = Workspace(path=root)
    project = write_project(root)
    write_data(ws)
    pipeline = runpy.run_path(str(project / "pipeline.py"), run_name="__canalis_quickstart__")["pipeline"]
    summaries = []
    for attempt in ("first", "second"):
        echo(f"== {attempt} submit ==")
        r = Experiment(ws, "quickstart").submit(pipeline)
        r.wait_for_completion(show_output=show_output)
        summary = reports.run_summary(ws.ledger, r.id)
        summary["metrics"] = reports.run_metrics(ws.ledger, r.id)
        summaries.append(summary)
    return {"workspace": str(root), "project": str(project), "runs": summaries}


__all__ = ["run", "write_project", "write_data"]
