"""What reaches a step is in its reuse key: parameters in a CommandStep's command, and
PythonScriptStep `params=` (SDK v1 passes them as AML_PARAMETER_<name> variables)."""
from __future__ import annotations

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.executor.why import explain
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import CommandStep, PythonScriptStep
from tests.canalis.conftest import statuses, write


def _run(ws, pipeline, **kw):
    run = Experiment(ws, "bound").submit(pipeline, **kw)
    run.wait_for_completion(raise_on_error=True)
    return run


def _output_text(ws, run, step, output, name):
    tree = run.find_step_run(step)[0].get_outputs()[output].tree
    entry = next(e for e in ws.store.get_tree(tree) if e.path == name)
    return ws.store.get_bytes(entry.digest).decode()


def test_command_step_parameter_values_have_their_own_reuse_keys(ws, src):
    write(src / "say.py", "import sys, os\nopen(os.path.join(sys.argv[2], 'said.txt'), 'w').write(sys.argv[1])\n")
    word = PipelineParameter("word", default_value="a")
    out = OutputFileDatasetConfig(name="said")
    step = CommandStep(name="say", command=["python3", "say.py", word, out], source_directory=str(src))
    pipeline = Pipeline(ws, [step])
    first = _run(ws, pipeline, pipeline_parameters={"word": "a"})
    second = _run(ws, pipeline, pipeline_parameters={"word": "b"})
    assert statuses(second) == {"say": "Completed"}  # ran again: not reused from the run with "a"
    assert _output_text(ws, second, "say", "said", "said.txt") == "b"
    assert _output_text(ws, first, "say", "said", "said.txt") == "a"
    third = _run(ws, pipeline, pipeline_parameters={"word": "a"})
    assert statuses(third) == {"say": "Reused"}
    why = explain(ws.ledger, ws.store, second.id, "say")
    assert [(d["part"], d.get("name"), d["before"], d["after"]) for d in why["differences"]] == [("parameter", "word", "a", "b")]


SHOW_PARAMS = """
import os, sys, json
out = sys.argv[1]
values = {k: v for k, v in os.environ.items() if k.startswith("AML_PARAMETER_")}
open(os.path.join(out, "params.json"), "w").write(json.dumps(values, sort_keys=True))
"""


def test_python_script_step_params_reach_the_step_and_its_key(ws, src):
    write(src / "show.py", SHOW_PARAMS)
    alpha = PipelineParameter("alpha", default_value=0.5)

    def pipeline(mode):
        out = OutputFileDatasetConfig(name="shown")
        return Pipeline(ws, [PythonScriptStep(name="show", script_name="show.py", source_directory=str(src),
                                              arguments=[out], params={"alpha": alpha, "mode": mode})])

    first = _run(ws, pipeline("fast"))
    assert _output_text(ws, first, "show", "shown", "params.json") == \
        '{"AML_PARAMETER_alpha": "0.5", "AML_PARAMETER_mode": "fast"}'
    assert statuses(_run(ws, pipeline("fast"))) == {"show": "Reused"}
    slow = _run(ws, pipeline("slow"))
    assert statuses(slow) == {"show": "Completed"}
    assert _output_text(ws, slow, "show", "shown", "params.json") == \
        '{"AML_PARAMETER_alpha": "0.5", "AML_PARAMETER_mode": "slow"}'
    other_alpha = _run(ws, pipeline("slow"), pipeline_parameters={"alpha": 0.75})
    assert statuses(other_alpha) == {"show": "Completed"}
    assert "0.75" in _output_text(ws, other_alpha, "show", "shown", "params.json")
    why = explain(ws.ledger, ws.store, other_alpha.id, "show")
    assert [(d["part"], d.get("name")) for d in why["differences"]] == [("parameter", "alpha")]
