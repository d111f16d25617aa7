"""docs/cli-json.md names every status value and every field the JSON shapes hold."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from canalis.ledger.status import RunStatus, StepStatus
from tests.canalis.conftest import write

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli-json.md").read_text(encoding="utf-8")


def test_every_run_and_step_status_is_documented():
    for status in [*RunStatus, *StepStatus]:
        assert f"`{status.value}`" in DOC, f"docs/cli-json.md does not name status {status.value}"


def section(title: str) -> str:
    start = DOC.index(f"## `{title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end > 0 else None]


def test_the_runs_show_and_logs_shapes_name_every_field(tmp_path):
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", """
        import os
        from canalis.core import Workspace
        from canalis.pipeline.core import Pipeline
        from canalis.pipeline.steps import PythonScriptStep
        ws = Workspace.from_config()
        hello = PythonScriptStep(name="hello", script_name="hello.py", source_directory=os.path.dirname(__file__))
        pipeline = Pipeline(ws, [hello])
        """)
    write(root / "hello.py", "from canalis.core import Run\nprint('hi')\nRun.get_context().log('accuracy', 0.5)\n")

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "canalis", *args], cwd=root, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout

    shown = json.loads(cli("submit", "pipeline.py", "-e", "doc", "--json"))
    listed = json.loads(cli("runs", "--json", "--metric", "accuracy"))[0]
    line = json.loads(cli("logs", "latest", "--json").splitlines()[0])
    for fields, where in ((listed, "canalis runs --json"), (shown, "canalis show RUN --json"),
                          (shown["steps"][0], "canalis show RUN --json"), (line, "canalis logs RUN [STEP] --json")):
        text = section(where)
        missing = [k for k in fields if not re.search(rf'"{re.escape(k)}"', text)]
        assert not missing, f"docs/cli-json.md, {where}: fields {missing} are not documented"
