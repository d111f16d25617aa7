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


AMLIGNORE = "__pycache__/\n*.log\nscratch/\n"


def project_files() -> dict[str, str]:
    """name -> text of the example project's files."""
    files = {e.name: e.read_text(encoding="utf-8")
             for e in resources.files("canalis.quickstart").joinpath("project").iterdir() if e.name.endswith(".py")}
    return {**files, ".amlignore": AMLIGNORE}


def write_project(root: Path) -> Path:
    """Write the example project to ROOT/project. A file there that differs from the example
    (the user changed it) is never overwritten: the quickstart refuses instead."""
    from canalis.exceptions import UserErrorException

    project = root / "project"
    files = project_files()
    changed = sorted(n for n in files if (project / n).exists() and (project / n).read_bytes() != files[n].encode())
    if changed:
        raise UserErrorException(
            f"{project} holds changed quickstart files ({', '.join(changed)}); canalis quickstart does not overwrite "
            f"them. Submit your project with `canalis submit pipeline.py --experiment quickstart` in {project}, "
            "or run the quickstart in another folder")
    project.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
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
    """Create the workspace (or use the one DIR already is), submit the pipeline twice; returns
    both run summaries. Run again on the same folder, the first submit reuses too."""
    import runpy

    from canalis import reports
    from canalis.core import Experiment, Workspace

    root = Path(directory).resolve()
    existing = (root / _layout.DIRNAME / "config.json").is_file()
    project = write_project(root)  # refuses, before anything is written, to overwrite a changed example
    if existing:
        echo(f"{root} is already a workspace; submitting the quickstart pipeline in it again "
             "(steps whose code and data did not change are reused)")
    _layout.init(root, name=root.name)
    ws = Workspace(path=root)
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
    return {"workspace": str(root), "project": str(project), "existing_workspace": existing, "runs": summaries}


__all__ = ["project_files", "run", "write_project", "write_data"]
