"""`canalis submit --dry-run` and `canalis plan`: the plan, each step's decision and reason,
through real `canalis` processes; nothing runs and nothing is written to the ledger."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from canalis.core import Workspace
from tests.canalis.conftest import script, write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config()
prepared = OutputFileDatasetConfig(name="prepared")
model = OutputFileDatasetConfig(name="model")
summary = OutputFileDatasetConfig(name="summary")
lr = PipelineParameter("lr", default_value=0.1)
prep = PythonScriptStep(name="prep", script_name="step.py", source_directory=os.path.join(here, "prep"),
                        arguments=["--out", prepared])
train = PythonScriptStep(name="train", script_name="step.py", source_directory=os.path.join(here, "train"),
                         arguments=["--lr", lr, "--inp", prepared.as_input(), "--out", model])
report = PythonScriptStep(name="report", script_name="step.py", source_directory=os.path.join(here, "report"),
                          arguments=["--inp", model.as_input(), "--out", summary])
pipeline = Pipeline(ws, [prep, train, report])
"""
STEP = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--lr"); p.add_argument("--inp"); p.add_argument("--out")
a = p.parse_args()
open(os.path.join(a.out, "out.txt"), "w").write(f"lr={a.lr}")
"""


@pytest.fixture
def project(tmp_path, counter):
    root = tmp_path / "proj"
    from canalis import layout

    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    for name in ("prep", "train", "report"):
        script(root / name, "step.py", STEP)
    return root


def canalis(root, *args):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=root, capture_output=True, text=True, timeout=300)


def words(text: str) -> str:
    """`text` with each run of spaces made one (the plan pads step names to one width)."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def event_count(root) -> int:
    return len(list(Workspace(path=root).ledger.events()))


def test_a_dry_run_on_a_changed_pipeline_names_the_steps_and_reasons_and_runs_nothing(project, counter):
    first = canalis(project, "submit", "pipeline.py", "-e", "e", "--json")
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    counter.reset()
    script(project / "train", "step.py", STEP + "\nprint('changed')\n")  # the train step's source changes
    before = event_count(project)

    out = canalis(project, "submit", "--dry-run", "pipeline.py", "-e", "e")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    prep = next(x for x in lines if x.strip().startswith("prep"))
    train = lines.index(next(x for x in lines if x.strip().startswith("train")))
    report = next(x for x in lines if x.strip().startswith("report"))
    assert f"would be reused from run {run_id}" in prep
    assert "would run: its reuse key differs from step run" in lines[train] and f"of run {run_id}" in lines[train]
    assert lines[train + 1].strip() == "source snapshot changed (changed step.py)"
    assert "would wait: it reads model from train, which will run" in report
    assert "1 step(s) would run, 1 would be reused, 1 decided when they start." in out.stdout
    assert "nothing ran and nothing was written to the ledger" in out.stdout
    assert counter.lines() == [] and event_count(project) == before


def test_a_dry_run_names_a_changed_parameter_and_plan_says_the_same_in_json(project, counter):
    assert canalis(project, "submit", "pipeline.py", "-e", "e", "-q").returncode == 0
    counter.reset()
    before = event_count(project)
    out = canalis(project, "submit", "--dry-run", "pipeline.py", "-e", "e", "--param", "lr=0.5")
    assert out.returncode == 0, out.stderr
    assert "parameter lr: 0.1 -> 0.5" in out.stdout

    planned = canalis(project, "plan", "pipeline.py", "--param", "lr=0.5", "--json")
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc["dry_run"] is True and doc["ledger_written"] is False and doc["parameters"]["lr"] == 0.5
    decisions = {s["step"]: s["decision"] for s in doc["steps"]}
    assert decisions == {"prep": "reuse", "train": "run", "report": "depends"}
    train = next(s for s in doc["steps"] if s["step"] == "train")
    assert train["differences"] == [{"part": "parameter", "name": "lr", "before": 0.1, "after": 0.5}]
    assert counter.lines() == [] and event_count(project) == before


def test_a_dry_run_in_a_fresh_workspace_says_every_step_would_run(project, counter):
    out = canalis(project, "plan", "pipeline.py")
    assert out.returncode == 0, out.stderr
    assert "prep would run: no earlier completed step run named 'prep': nothing to reuse" in words(out.stdout)
    assert "2 decided when they start" in out.stdout
    assert counter.lines() == [] and event_count(project) == 0


def test_a_dry_run_of_a_file_that_submits_itself_previews_that_submit(project, counter):
    write(project / "submits.py", """
        import runpy
        from canalis.core import Experiment
        ns = runpy.run_path("pipeline.py")
        run = Experiment(ns["ws"], "own").submit(ns["pipeline"], pipeline_parameters={"lr": 0.7})
        run.wait_for_completion(show_output=True)
        """)
    out = canalis(project, "submit", "--dry-run", "submits.py", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["parameters"]["lr"] == 0.7 and [s["step"] for s in doc["steps"]] == ["prep", "train", "report"]
    assert counter.lines() == [] and event_count(project) == 0


def test_a_dry_run_refuses_an_unknown_parameter_naming_the_known_ones(project, counter):
    out = canalis(project, "plan", "pipeline.py", "--param", "lrate=1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "no parameter named 'lrate' (known parameters: lr)" in out.stderr


def test_pipeline_validate_prints_the_plan(project, counter):
    out = subprocess.run([sys.executable, "-c", "import runpy; ns = runpy.run_path('pipeline.py'); "
                          "print('problems:', ns['pipeline'].validate())"], cwd=project, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "prep would run" in words(out.stdout) and "problems: []" in out.stdout
    assert counter.lines() == [] and event_count(project) == 0
