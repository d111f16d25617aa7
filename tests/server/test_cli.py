"""`canalis publish`, `pipelines`, `endpoints`, `schedules` and `serve`'s refusals."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

from canalis.pipeline.core import PipelineEndpoint
from canalis.pipeline.core.schedule import Schedule, ScheduleRecurrence
from tests.canalis.conftest import script, write
from tests.server.conftest import ECHO, canalis


def test_publish_a_file_then_list_it(ws, tmp_path):
    src = tmp_path / "src"
    script(src, "echo.py", ECHO)
    pipe = write(tmp_path / "pipe.py", f"""
        from canalis.core import Workspace
        from canalis.pipeline.core import Pipeline, PipelineParameter
        from canalis.pipeline.steps import PythonScriptStep
        ws = Workspace(path={str(ws.root)!r})
        train = Pipeline(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory={str(src)!r},
                                               arguments=[PipelineParameter("n", 1)])])
    """)
    r = subprocess.run([sys.executable, "-m", "canalis", "publish", f"{pipe}:train", "--name", "nightly", "--version", "3",
                        "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["name"] == "nightly" and out["parameters"] == {"n": 1} and out["endpoint"].endswith(f"/{out['id']}/runs")
    listed = json.loads(canalis(ws.root, "pipelines", "--json").stdout)
    assert [(p["id"], p["version"], p["status"]) for p in listed] == [(out["id"], "3", "Active")]
    assert out["id"] in canalis(ws.root, "pipelines").stdout
    wrong = subprocess.run([sys.executable, "-m", "canalis", "publish", f"{pipe}:nothing", "--name", "x"],
                           capture_output=True, text=True)
    assert wrong.returncode == 1 and "no Pipeline named 'nothing'" in wrong.stderr and "train" in wrong.stderr


def test_endpoints_and_schedules_are_listed(ws, published):
    endpoint = PipelineEndpoint.publish(ws, "ep", "desc", published)
    schedule = Schedule.create(ws, "hourly", pipeline_endpoint_id=endpoint.id, experiment_name="e",
                               recurrence=ScheduleRecurrence("Hour", 2))
    eps = json.loads(canalis(ws.root, "endpoints", "--json").stdout)
    assert [(e["id"], e["default_version"], e["versions"]) for e in eps] == \
        [(endpoint.id, "0", [{"version": "0", "pipeline_id": published.id}])]
    scheds = json.loads(canalis(ws.root, "schedules", "--json").stdout)
    assert [(s["id"], s["recurrence"]["frequency"], s["trigger_count"]) for s in scheds] == [(schedule.id, "Hour", 0)]
    assert "every 2 Hour" in canalis(ws.root, "schedules").stdout


def test_serve_on_a_taken_port_says_so_without_a_traceback(ws):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        r = canalis(ws.root, "serve", "--port", str(taken.getsockname()[1]), check=False)
    finally:
        taken.close()
    assert r.returncode == 1 and "cannot listen on 127.0.0.1" in r.stderr and "Traceback" not in r.stderr


def test_revoking_an_unknown_token_says_so(ws):
    r = canalis(ws.root, "token", "revoke", "ghost", check=False)
    assert r.returncode == 1 and "no valid token is named 'ghost'" in r.stderr and "Traceback" not in r.stderr
