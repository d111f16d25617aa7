"""Values a step's command line cannot carry, and file names that are not UTF-8, in pipelines.

Parameters and literal arguments reach a step as command-line text and are recorded as
JSON: bytes, NUL and lone surrogates are refused at submit, before anything runs, naming
the parameter. Text that is valid Unicode (any script) reaches the step unchanged.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import PipelineValidationError, UserErrorException
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

ECHO = """
import sys
print("argv:" + "|".join(sys.argv[1:]))
"""

BAD = [("a\0b", "NUL byte"), ("caf\udce9", "lone surrogate"), (["ok", b"raw"], "bytes"), ({"k": "x\0"}, "NUL byte")]


def _pipeline(ws, src, param):
    script(src, "echo.py", ECHO)
    return Pipeline(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory=str(src), arguments=[param])])


@pytest.mark.parametrize("value,why", [v for v in BAD if v[1] != "bytes"])
def test_a_bad_default_value_is_refused_when_the_parameter_is_made(value, why):
    with pytest.raises(UserErrorException, match=f"pipeline parameter 'p'.*{why}"):
        PipelineParameter("p", value)


@pytest.mark.parametrize("value,why", BAD)
def test_a_bad_default_set_later_is_refused_at_submit(ws, src, counter, value, why):
    param = PipelineParameter("p", "fine")
    param.default_value = value  # past the constructor's check
    with pytest.raises(PipelineValidationError, match=f"pipeline parameter 'p'.*{why}"):
        Experiment(ws, "exp").submit(_pipeline(ws, src, param))
    assert counter.lines() == [] and list(ws.ledger.events(type="run.submitted")) == []


@pytest.mark.parametrize("value,why", BAD + [(b"\xff\xfe", "bytes"), (bytearray(b"x"), "bytes"), ({1, 2}, "set")])
def test_a_bad_override_is_refused_at_submit(ws, src, counter, value, why):
    pipeline = _pipeline(ws, src, PipelineParameter("p", "fine"))
    with pytest.raises(PipelineValidationError, match=f"pipeline parameter 'p'.*{why}"):
        Experiment(ws, "exp").submit(pipeline, pipeline_parameters={"p": value})
    assert counter.lines() == [] and list(ws.ledger.events(type="run.submitted")) == []


def test_a_bytes_default_is_refused_when_the_parameter_is_made():
    with pytest.raises(UserErrorException, match="JSON value"):
        PipelineParameter("p", b"raw")


@pytest.mark.parametrize("value,why", [("a\0b", "NUL byte"), ("caf\udce9", "lone surrogate")])
def test_a_bad_literal_argument_is_refused_at_submit(ws, src, counter, value, why):
    pipeline = _pipeline(ws, src, value)
    with pytest.raises(PipelineValidationError, match=f"step 'echo'.*{why}"):
        Experiment(ws, "exp").submit(pipeline)
    assert counter.lines() == []


def test_unicode_text_reaches_the_step_unchanged(ws, src, counter):
    pipeline = _pipeline(ws, src, PipelineParameter("p", "naïve 数据 🚀"))
    run = Experiment(ws, "exp").submit(pipeline, pipeline_parameters={"p": "ünïcode ✓"})
    assert run.wait_for_completion() == "Completed"
    assert "argv:ünïcode ✓" in run.find_step_run("echo")[0].get_stdout_log()


def test_cli_param_that_is_not_utf8_exits_1_naming_it(ws, src, tmp_path):
    script(src, "echo.py", ECHO)
    pipe = write(tmp_path / "pipe.py", f"""
        from canalis.core import Workspace
        from canalis.pipeline.core import Pipeline, PipelineParameter
        from canalis.pipeline.steps import PythonScriptStep
        ws = Workspace(path={str(ws.root)!r})
        pipeline = Pipeline(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory={str(src)!r},
                                                  arguments=[PipelineParameter("p", "x")])])
    """)
    r = subprocess.run([sys.executable, "-m", "canalis", "submit", str(pipe), "-e", "exp", "--param", b"p=caf\xe9"],
                       capture_output=True, cwd=str(tmp_path))
    assert r.returncode == 1, r
    assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")
    assert b"pipeline parameter 'p'" in r.stderr and b"not valid Unicode" in r.stderr


def test_a_step_output_file_named_with_non_utf8_bytes_fails_the_step_naming_it(ws, src, counter):
    script(src, "bad.py", """
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)
open(os.path.join(os.fsencode(sys.argv[1]), b"\\xff.bin"), "wb").write(b"x")
""")
    out = OutputFileDatasetConfig(name="o")
    run = Experiment(ws, "exp").submit(Pipeline(ws, [PythonScriptStep(name="bad", script_name="bad.py", source_directory=str(src), arguments=[out])]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    error = run.find_step_run("bad")[0].get_details()["error"]
    assert "\\xff.bin" in error and "not valid UTF-8" in error
    assert "Traceback" not in error


def test_a_source_folder_with_a_non_utf8_name_is_refused_at_submit(ws, src, counter):
    script(src, "echo.py", ECHO)
    with open(os.path.join(os.fsencode(src), b"notes-\xe9.txt"), "wb") as f:
        f.write(b"x")
    with pytest.raises(PipelineValidationError, match=r"step 'echo'.*notes-\\xe9\.txt.*not valid UTF-8"):
        Experiment(ws, "exp").submit(_pipeline(ws, src, "x"))
    assert list(ws.ledger.events(type="run.submitted")) == []
