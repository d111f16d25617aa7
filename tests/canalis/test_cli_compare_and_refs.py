"""`canalis compare`, run references (prefix, latest, latest~N, EXPERIMENT:latest), errors
without tracebacks and their exit codes, and shell completion, through real processes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.canalis.conftest import write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config()
prepared = OutputFileDatasetConfig(name="prepared")
lr = PipelineParameter("lr", default_value=0.1)
prep = PythonScriptStep(name="prep", script_name="prep.py", source_directory=os.path.join(here, "prep"),
                        arguments=["--out", prepared])
train = PythonScriptStep(name="train", script_name="train.py", source_directory=os.path.join(here, "train"),
                         arguments=["--lr", lr, "--inp", prepared.as_input()])
pipeline = Pipeline(ws, [prep, train])
"""
PREP = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
open(os.path.join(a.out, "data.txt"), "w").write("1 2 3")
"""
TRAIN = """
import argparse
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--lr", type=float); p.add_argument("--inp"); a = p.parse_args()
run = Run.get_context()
for i in range(3):
    run.log("loss", round(1.0 / (1 + i * a.lr * 10), 4))
run.log("accuracy", a.lr * 2)
"""


def canalis(root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=root, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """A workspace with three runs: e (lr 0.1), e again (everything reused), f (lr 0.5)."""
    from canalis import layout

    root = tmp_path_factory.mktemp("cmp") / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    write(root / "prep" / "prep.py", PREP)
    write(root / "train" / "train.py", TRAIN)
    ids = []
    for experiment, lr in (("e", "0.1"), ("e", "0.1"), ("f", "0.5")):
        out = canalis(root, "submit", "pipeline.py", "-e", experiment, "--param", f"lr={lr}", "-q")
        assert out.returncode == 0, out.stderr
        ids.append(out.stdout.split()[0])
    return root, ids


def test_compare_puts_three_runs_side_by_side_and_marks_what_differs(three_runs):
    root, (a, b, c) = three_runs
    out = canalis(root, "compare", a, b, c, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["runs"] == [a, b, c]
    rows = {(r["section"], r["name"]): r for r in doc["rows"]}
    assert rows[("parameter", "lr")]["values"] == [0.1, 0.1, 0.5] and rows[("parameter", "lr")]["differs"]
    assert rows[("run", "experiment")]["values"] == ["e", "e", "f"]
    assert rows[("run", "status")]["values"] == ["Completed"] * 3 and not rows[("run", "status")]["differs"]
    assert rows[("metric", "train/accuracy")]["values"] == [0.2, 0.2, 1.0]
    loss = rows[("metric", "train/loss")]["values"]
    assert loss[0] == loss[1] == {"last": 0.3333, "min": 0.3333, "max": 1.0, "count": 3}
    assert loss[2] == {"last": 0.0909, "min": 0.0909, "max": 1.0, "count": 3}
    assert rows[("step", "prep")]["values"] == ["Completed", f"Reused from {a}", f"Reused from {a}"]
    assert rows[("step", "train")]["values"] == ["Completed", f"Reused from {a}", "Completed"]
    assert not rows[("run", "submitted at")]["differs"]
    assert [r["section"] for r in doc["rows"]] == sorted((r["section"] for r in doc["rows"]),
                                                         key=["run", "parameter", "metric", "step", "duration"].index)

    text = canalis(root, "compare", a, b, c)
    assert text.returncode == 0, text.stderr
    lr_line = next(x for x in text.stdout.splitlines() if re.search(r"\bparameter\b.*\blr\b", x))
    assert "≠" in lr_line and "0.5" in lr_line
    status_line = next(x for x in text.stdout.splitlines() if re.search(r"\brun\b.*\bstatus\b", x))
    assert "≠" not in status_line
    only = json.loads(canalis(root, "compare", a, c, "--differences", "--json").stdout)
    assert only["rows"] and all(r["differs"] for r in only["rows"])


def test_run_references_prefix_latest_and_experiment_latest(three_runs):
    root, (a, b, c) = three_runs

    def resolved(ref):
        out = canalis(root, "show", ref, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["run_id"]

    assert resolved("latest") == c
    assert resolved("latest~1") == b and resolved("latest~2") == a
    assert resolved("e:latest") == b and resolved("e:latest~1") == a and resolved("f:latest") == c
    assert resolved(c[:-3]) == c
    compared = json.loads(canalis(root, "compare", "latest~1", "latest", "--json").stdout)
    assert compared["runs"] == [b, c]


@pytest.mark.parametrize("args, words", [
    (["show", "latest~7"], "has only 3 run(s), so latest~2 is the oldest"),
    (["show", "nosuch:latest"], "there is no experiment 'nosuch' (experiments: e, f)"),
    (["show", "zz_no_such_run"], "no run 'zz_no_such_run' in this workspace"),
    (["show", "e_"], "is the beginning of more than one run"),
    (["compare", "latest"], "compare needs at least two runs"),
    (["compare", "latest", "latest~0"], "name the same run more than once"),
    (["runs", "--status", "Finishedish"], "Finishedish"),
    (["gc", "--older-than", "7 fortnights"], "7 fortnights"),
    (["show"], "Missing argument"),
    (["show", "latest", "--no-such-option"], "No such option"),
])
def test_a_usage_error_says_what_is_wrong_without_a_traceback_and_exits_2(three_runs, args, words):
    root, _ = three_runs
    out = canalis(root, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and words in out.stderr


def test_a_failure_exits_1_and_debug_shows_the_traceback(three_runs, tmp_path):
    from canalis import layout

    root, _ = three_runs
    layout.init(tmp_path / "bad")  # a workspace of its own: the three runs stay the only ones there
    write(tmp_path / "bad" / "pipeline.py", PIPELINE)
    write(tmp_path / "bad" / "prep" / "prep.py", "raise SystemExit('prep cannot read its data')\n")
    write(tmp_path / "bad" / "train" / "train.py", TRAIN)
    out = canalis(tmp_path / "bad", "submit", "pipeline.py", "-e", "bad", "-q")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "step prep failed" in out.stderr and "prep cannot read its data" in out.stderr

    plain = canalis(root, "show", "zz_no_such_run")
    debug = canalis(root, "--debug", "show", "zz_no_such_run")
    by_env = canalis(root, "show", "zz_no_such_run", env={**os.environ, "CANALIS_DEBUG": "1"})
    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr and "RunNotFound" in debug.stderr
    assert "Traceback (most recent call last)" in by_env.stderr


def test_outside_a_workspace_the_error_says_how_to_make_one(tmp_path):
    out = canalis(tmp_path, "runs")
    assert out.returncode != 0 and "Traceback" not in out.stderr and "canalis init" in out.stderr


def test_completion_script_and_run_id_completion(three_runs):
    root, (a, b, c) = three_runs
    script = canalis(root, "completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "_CANALIS_COMPLETE=bash_complete" in script.stdout and "complete -o nosort -F" in script.stdout
    assert canalis(root, "completion", "zsh").returncode == 0 and canalis(root, "completion", "fish").returncode == 0

    env = {**os.environ, "_CANALIS_COMPLETE": "bash_complete", "COMP_WORDS": f"canalis show {c[:4]}", "COMP_CWORD": "2"}
    out = subprocess.run([sys.executable, "-m", "canalis"], cwd=root, capture_output=True, text=True, env=env,
                         timeout=120)
    offered = [line.split(",", 1)[1] for line in out.stdout.splitlines() if "," in line]
    assert c in offered and a not in offered
    env.update(COMP_WORDS="canalis com", COMP_CWORD="1")
    out = subprocess.run([sys.executable, "-m", "canalis"], cwd=root, capture_output=True, text=True, env=env,
                         timeout=120)
    assert {line.split(",", 1)[1] for line in out.stdout.splitlines()} >= {"compare", "completion"}
    env.update(COMP_WORDS="canalis runs --experiment ", COMP_CWORD="3")
    out = subprocess.run([sys.executable, "-m", "canalis"], cwd=root, capture_output=True, text=True, env=env,
                         timeout=120)
    assert {line.split(",", 1)[1] for line in out.stdout.splitlines()} == {"e", "f"}


def test_annotate_takes_a_run_reference_and_refuses_a_run_that_does_not_exist(three_runs, tmp_path):
    import shutil

    root, (a, b, c) = three_runs
    copy = tmp_path / "copy"  # (the module's workspace stays as it is for the other tests)
    shutil.copytree(root, copy)
    out = canalis(copy, "ledger", "annotate", "--run", "latest~1", "looked at by hand", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stream"] == f"run:{b}"
    bad = canalis(copy, "ledger", "annotate", "--run", "zz_nothing", "a note")
    assert bad.returncode == 2 and "no run 'zz_nothing'" in bad.stderr and "Traceback" not in bad.stderr


def test_logs_json_gives_one_object_per_line(three_runs, tmp_path):
    root, (a, b, c) = three_runs
    write(tmp_path / "p" / "pipeline.py", PIPELINE)
    write(tmp_path / "p" / "prep" / "prep.py", PREP + "print('one')\nprint('two', end='')\n"
          "import sys; print('héllo on stderr', file=sys.stderr)\n")
    write(tmp_path / "p" / "train" / "train.py", TRAIN)
    from canalis import layout

    layout.init(tmp_path / "p")
    assert canalis(tmp_path / "p", "submit", "pipeline.py", "-e", "logs", "-q").returncode == 0
    out = canalis(tmp_path / "p", "logs", "latest", "prep", "--json")
    assert out.returncode == 0, out.stderr
    objs = [json.loads(x) for x in out.stdout.splitlines()]
    assert sorted((o["stream"], o["line"], o["text"]) for o in objs) == [
        ("stderr", 1, "héllo on stderr"), ("stdout", 1, "one"), ("stdout", 2, "two")]
    assert all(o["step"] == "prep" and o["step_run_id"] and o["time"].endswith("Z") for o in objs)
    nostep = canalis(tmp_path / "p", "logs", "latest", "nosuch")
    assert nostep.returncode == 2 and "has no step 'nosuch' (its steps: prep, train)" in nostep.stderr


def test_runs_filters_limit_and_metric_column(three_runs, tmp_path):
    root, (a, b, c) = three_runs

    def ids(*args):
        out = canalis(root, "runs", "--json", *args)
        assert out.returncode == 0, out.stderr
        return [r["run_id"] for r in json.loads(out.stdout)]

    assert ids() == [c, b, a]
    assert ids("--experiment", "e") == [b, a] and ids("--limit", "1") == [c] and ids("--all") == [c, b, a]
    assert ids("--status", "Completed") == [c, b, a] and ids("--status", "Failed") == []
    assert ids("--since", "1h") == [c, b, a] and ids("--since", "2000-01-01") == [c, b, a]
    listed = json.loads(canalis(root, "runs", "--json", "--metric", "accuracy").stdout)
    assert [r["metric"]["value"] for r in listed] == [1.0, 0.2, 0.2]
    assert [r["parameters"]["lr"] for r in listed] == [0.5, 0.1, 0.1]
    table = canalis(root, "runs", "--metric", "loss")
    assert table.returncode == 0 and "0.0909 [0.0909..1]" in table.stdout and "lr" in table.stdout

    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    from canalis.core import Workspace

    Workspace(path=copy).session.tag(b, {"owner": "ines"})
    tagged = json.loads(canalis(copy, "runs", "--json", "--tag", "owner=ines").stdout)
    assert [r["run_id"] for r in tagged] == [b] and tagged[0]["tags"] == {"owner": "ines"}
    assert [r["run_id"] for r in json.loads(canalis(copy, "runs", "--json", "--tag", "owner").stdout)] == [b]


def test_show_graph_draws_the_steps_their_data_and_states(three_runs):
    root, (a, b, c) = three_runs
    out = canalis(root, "show", c, "--graph")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    prep = next(i for i, x in enumerate(lines) if x.startswith("✓ prep"))
    assert f"reused from {a}" in lines[prep]
    assert lines[prep + 1].strip() == "└── prepared ──▶ train"
    assert next(x for x in lines if x.startswith("✓ train")).split()[-1] == "s"  # "completed in 0.3 s"
    assert "✓ completed or reused" in out.stdout
    plain = canalis(root, "show", a)
    assert "None" not in plain.stdout and re.search(r"completed in [\d.]+ s", plain.stdout)


def test_environments_and_dataset_versions_list_and_show_one(tmp_path):
    from canalis import layout
    from canalis.core import Dataset, Environment, Workspace

    root = tmp_path / "reg"
    layout.init(root)
    ws = Workspace(path=root)
    env = Environment("sklearn-env")
    env.register(ws)
    env.environment_variables = {"MODE": "fast"}
    env.register(ws)
    write(tmp_path / "data" / "a.csv", "x\n1\n")
    Dataset.File.from_files(str(tmp_path / "data")).register(ws, "raw")

    listed = json.loads(canalis(root, "environments", "--json").stdout)
    assert [(e["name"], e["version"]) for e in listed] == [("sklearn-env", 2)]
    one = canalis(root, "environments", "show", "sklearn-env:1", "--json")
    assert one.returncode == 0, one.stderr
    doc = json.loads(one.stdout)
    assert doc["version"] == 1 and doc["versions"] == [1, 2] and doc["definition"]["name"] == "sklearn-env"
    assert "MODE" not in json.dumps(doc["definition"])
    assert "fast" in canalis(root, "environments", "show", "sklearn-env").stdout
    missing = canalis(root, "environments", "show", "sklearn-env:7")
    assert missing.returncode == 2 and "has no version 7 (versions: [1, 2])" in missing.stderr
    unknown = canalis(root, "environments", "show", "nope")
    assert unknown.returncode == 2 and "list them with `canalis environments`" in unknown.stderr

    ds = json.loads(canalis(root, "datasets", "raw:1", "--json").stdout)
    assert ds["name"] == "raw" and [f["path"] for f in ds["files"]] == ["a.csv"] and ds["kind"] == "file"
    assert canalis(root, "datasets", "raw:3").returncode == 2
    env = {**os.environ, "_CANALIS_COMPLETE": "bash_complete", "COMP_WORDS": "canalis datasets r", "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-m", "canalis"], cwd=root, capture_output=True, text=True, env=env,
                          timeout=120)
    assert [line.split(",", 1)[1] for line in done.stdout.splitlines()] == ["raw"]


def test_lineage_dot_draws_the_pipeline_not_one_node_per_record(three_runs):
    root, (a, b, c) = three_runs
    out = canalis(root, "lineage", a, "--dot")
    assert out.returncode == 0, out.stderr
    dot = out.stdout
    nodes = dict(re.findall(r'^  "([^"]+)" \[label="([^"]*)"', dot, re.M))
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)"(?: \[label="([^"]*)"\])?;', dot, re.M)
    steps = {nid: label for nid, label in nodes.items() if nid.startswith("step:")}
    assert not any("Reused" in label for label in steps.values()), "a reused step is drawn as the one it reused"
    names = sorted(label.split("\\n")[0] for label in steps.values())
    assert names == ["prep", "train", "train"]  # a's prep and train; f's train (lr 0.5) read a's prepared
    prep = next(nid for nid, label in steps.items() if label.startswith("prep"))
    assert "reused 2x" in steps[prep] and f"run {a}" in steps[prep]
    step_edges = [(x, y, label) for x, y, label in edges if x.startswith("step:") and y.startswith("step:")]
    assert len(step_edges) == 2 and all(x == prep and label == "prepared" for x, y, label in step_edges)
    assert not any(nid.startswith("tree:") and "prepared" in label for nid, label in nodes.items())
    json_nodes = json.dumps(json.loads(canalis(root, "lineage", a, "--json").stdout))
    assert json_nodes.count('"kind": "step"') > len(steps)  # the records the drawing folded
