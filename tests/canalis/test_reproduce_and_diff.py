"""`canalis reproduce` from the ledger and store alone, and `canalis diff`."""
from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

STEADY = """
import os, sys
from canalis.core import Run
df = Run.get_context().input_datasets["numbers"].to_pandas_dataframe()
open(os.path.join(sys.argv[2], "sum.txt"), "w").write(str(int(df["n"].sum()) * int(sys.argv[1])))
"""
NOISY = """
import os, sys, uuid
total = open(os.path.join(sys.argv[1], "sum.txt")).read()
open(os.path.join(sys.argv[2], "report.txt"), "w").write(total + " " + uuid.uuid4().hex)
"""
AFTER = """
import os, sys
open(os.path.join(sys.argv[2], "len.txt"), "w").write(str(len(open(os.path.join(sys.argv[1], "report.txt")).read())))
"""


def build(ws, src, factor):
    store = ws.get_default_datastore()
    numbers = Dataset.Tabular.from_delimited_files(path=(store, "in/numbers.csv"))
    total, report, length = (OutputFileDatasetConfig(name=n) for n in ("total", "report", "length"))
    return Pipeline(ws, [
        PythonScriptStep(name="steady", script_name="steady.py", source_directory=str(src / "a"),
                         inputs=[numbers.as_named_input("numbers")], arguments=[factor, total]),
        PythonScriptStep(name="noisy", script_name="noisy.py", source_directory=str(src / "b"), arguments=[total.as_input(), report]),
        PythonScriptStep(name="after", script_name="after.py", source_directory=str(src / "c"), arguments=[report.as_input(), length]),
    ])


def invoke(ws, *args):
    out = CliRunner().invoke(main, [*args, "--workspace", str(ws.root)])
    return out


def test_reproduce_after_deleting_sources_and_data_names_the_nondeterministic_step(ws, src, counter):
    write(ws.get_default_datastore().root / "in" / "numbers.csv", "n\n1\n2\n3\n")
    script(src / "a", "steady.py", STEADY)
    script(src / "b", "noisy.py", NOISY)
    script(src / "c", "after.py", AFTER)
    run = Experiment(ws, "repro").submit(build(ws, src, PipelineParameter("factor", default_value=2)))
    run.wait_for_completion()
    shutil.rmtree(src)
    shutil.rmtree(ws.get_default_datastore().root / "in")

    out = invoke(ws, "reproduce", run.id, "--verify", "--json")
    result = json.loads(out.output)
    assert out.exit_code == 1  # not identical: one step is not deterministic
    assert result["status"] == "Completed"
    verdicts = {s["step"]: s["verdict"] for s in result["verify"]["steps"]}
    assert verdicts["steady"] == "identical"
    assert verdicts["noisy"].startswith("not deterministic")
    assert verdicts["after"] == "identical"  # same length: identical bytes despite different inputs
    assert result["verify"]["nondeterministic"] == ["noisy"]
    repro = ws.ledger.run(result["reproduction"])
    assert repro.tags == {"reproduces": run.id}
    assert counter.lines().count("steady.py") == 2  # reuse was off


def test_diff_names_parameters_files_inputs_and_identical_outputs(ws, src, counter):
    data = ws.get_default_datastore().root / "in" / "numbers.csv"
    write(data, "n\n1\n2\n3\n")
    script(src / "a", "steady.py", STEADY)
    script(src / "b", "noisy.py", NOISY)
    script(src / "c", "after.py", AFTER)
    factor = PipelineParameter("factor", default_value=2)
    first = Experiment(ws, "d").submit(build(ws, src, factor))
    first.wait_for_completion()
    write(src / "b" / "extra.py", "pass\n")
    write(data, "n\n1\n2\n3\n4\n")
    second = Experiment(ws, "d").submit(build(ws, src, factor), pipeline_parameters={"factor": 3})
    second.wait_for_completion()
    out = invoke(ws, "diff", first.id, second.id, "--json")
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert d["parameters"] == {"factor": {"a": 2, "b": 3}}
    steps = {s["step"]: s for s in d["steps"]}
    assert steps["noisy"]["source"] == {"added": ["extra.py"], "removed": [], "changed": []}
    assert "numbers" in steps["steady"]["inputs"]
    assert steps["steady"]["outputs"]["total"]["identical"] is False
    text = invoke(ws, "diff", first.id, second.id).output
    assert "parameter factor: 2 -> 3" in text and "added extra.py" in text
