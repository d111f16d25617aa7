"""Published pipelines, pipeline endpoints and schedules from Python (SDK v1 names): what is
recorded, what a run of a published pipeline gets, and what is refused before anything is
recorded."""
from __future__ import annotations

import pytest

from canalis.core import Experiment
from canalis.exceptions import PipelineValidationError, UserErrorException
from canalis.pipeline.core import Pipeline, PipelineEndpoint, PipelineParameter, PublishedPipeline
from canalis.pipeline.core.schedule import Schedule, ScheduleRecurrence
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script

ECHO = """
import sys
print("argv:" + "|".join(sys.argv[1:]))
"""


def _pipeline(ws, src, default=3):
    script(src, "echo.py", ECHO)
    return Pipeline(ws, [PythonScriptStep(name="echo", script_name="echo.py", source_directory=str(src),
                                          arguments=[PipelineParameter("n", default)])])


def _submitted(ws) -> int:
    return len(list(ws.ledger.events(type="run.submitted")))


def test_a_published_pipeline_runs_with_new_parameter_values(ws, src, counter):
    published = _pipeline(ws, src).publish(name="echo", description="echoes n", version="1")
    assert published.status == "Active" and published.version == "1" and published.parameters == {"n": 3}
    assert published.endpoint.endswith(f"/pipelines/{published.id}/runs")
    assert PublishedPipeline.get(ws, published.id).name == "echo"
    run = published.submit(ws, "exp", pipeline_parameters={"n": 5})
    assert run.wait_for_completion() == "Completed"
    assert "argv:5" in run.find_step_run("echo")[0].get_stdout_log()
    row = ws.ledger.run(run.id)
    assert row.trigger["pipeline_id"] == published.id and row.trigger["via"] == "sdk"


@pytest.mark.parametrize("values,message", [({"m": 1}, "no parameter named 'm'"),
                                            ({"n": "x"}, "'n' must be an integer"),
                                            ({"n": True}, "'n' must be an integer")])
def test_unknown_parameters_and_wrong_types_are_refused_before_anything_is_recorded(ws, src, counter, values, message):
    published = _pipeline(ws, src).publish(name="echo")
    with pytest.raises(PipelineValidationError, match=message):
        published.submit(ws, "exp", pipeline_parameters=values)
    assert _submitted(ws) == 0 and counter.lines() == []


def test_a_disabled_pipeline_refuses_runs_until_enabled(ws, src, counter):
    published = _pipeline(ws, src).publish(name="echo")
    published.disable()
    assert PublishedPipeline.get(ws, published.id).status == "Disabled"
    assert PublishedPipeline.list(ws) == [] and len(PublishedPipeline.list(ws, active_only=False)) == 1
    with pytest.raises(UserErrorException, match="is disabled"):
        Experiment(ws, "exp").submit(published)
    assert _submitted(ws) == 0
    published.enable()
    assert Experiment(ws, "exp").submit(published).wait_for_completion() == "Completed"


def test_endpoint_versions_default_and_explicit(ws, src, counter):
    first = _pipeline(ws, src, 3).publish(name="v0")
    second = _pipeline(ws, src, 4).publish(name="v1")
    endpoint = PipelineEndpoint.publish(ws, "ep", "an endpoint", first)
    assert endpoint.get_default_version() == "0"
    endpoint.add(second)
    assert endpoint.get_default_version() == "0" and [v.version for v in endpoint.list_versions()] == ["0", "1"]
    run = endpoint.submit("exp")
    assert run.wait_for_completion() == "Completed" and "argv:3" in run.find_step_run("echo")[0].get_stdout_log()
    run = Experiment(ws, "exp").submit(endpoint, pipeline_version="1")
    assert run.wait_for_completion() == "Completed" and "argv:4" in run.find_step_run("echo")[0].get_stdout_log()
    endpoint.set_default_version("1")
    again = PipelineEndpoint.get(ws, name="ep")
    assert again.get_default_version() == "1" and again.get_pipeline().id == second.id
    with pytest.raises(UserErrorException, match="no version '7'"):
        again.set_default_version(7)
    with pytest.raises(UserErrorException, match="exists"):
        PipelineEndpoint.publish(ws, "ep", None, first)
    swapped = PipelineEndpoint.publish(ws, "ep2", second, "pipeline third, description fourth")
    assert swapped.description == "pipeline third, description fourth" and swapped.get_pipeline().id == second.id


def test_publish_pipeline_from_a_run_keeps_its_plan(ws, src, counter):
    run = Experiment(ws, "exp").submit(_pipeline(ws, src), pipeline_parameters={"n": 9})
    assert run.wait_for_completion() == "Completed"
    published = run.publish_pipeline(name="from-run")
    assert published.published_from_run == run.id and published.get_step_names() == ["echo"]


def test_schedules_are_recorded_checked_and_listed(ws, src, counter):
    published = _pipeline(ws, src).publish(name="echo")
    schedule = Schedule.create(ws, "every-minute", pipeline_id=published.id, experiment_name="exp",
                               recurrence=ScheduleRecurrence("Minute", 1), pipeline_parameters={"n": 2})
    assert schedule.recurrence.frequency == "Minute" and schedule.pipeline_parameters == {"n": 2}
    assert [s.id for s in Schedule.get_schedules_for_pipeline_id(ws, published.id)] == [schedule.id]
    with pytest.raises(PipelineValidationError, match="no parameter named 'x'"):
        Schedule.create(ws, "bad", pipeline_id=published.id, experiment_name="exp",
                        recurrence=ScheduleRecurrence("Minute", 1), pipeline_parameters={"x": 1})
    with pytest.raises(UserErrorException, match="frequency"):
        ScheduleRecurrence("Fortnight", 1)
    schedule.disable()
    assert Schedule.get(ws, schedule.id).status == "Disabled" and Schedule.list(ws) == []
    assert schedule.get_last_pipeline_run() is None


def test_the_endpoint_url_follows_the_recorded_address_the_setting_and_the_environment(ws, src, counter, monkeypatch):
    from canalis.server import address

    published = _pipeline(ws, src).publish(name="echo")
    assert published.endpoint == f"http://127.0.0.1:8787/pipelines/{published.id}/runs"  # nothing recorded yet
    address.record(ws.root / ".canalis", "127.0.0.1", 9123, 1, "2030-01-01T00:00:00Z")
    assert published.endpoint == f"http://127.0.0.1:9123/pipelines/{published.id}/runs"
    ws._update_config(lambda cfg: cfg.setdefault("settings", {}).update(server_url="https://pipelines.example/"))
    assert published.endpoint == f"https://pipelines.example/pipelines/{published.id}/runs"
    monkeypatch.setenv("CANALIS_SERVER_URL", "http://10.0.0.5:80")
    assert published.endpoint == f"http://10.0.0.5:80/pipelines/{published.id}/runs"


def test_a_schedule_is_updated_and_a_bad_update_changes_nothing(ws, src, counter):
    published = _pipeline(ws, src).publish(name="echo")
    schedule = Schedule.create(ws, "s", pipeline_id=published.id, experiment_name="exp",
                               recurrence=ScheduleRecurrence("Hour", 1))
    schedule.update(name="renamed", recurrence=ScheduleRecurrence("Day", 1, hours=[6], minutes=[0]),
                    pipeline_parameters={"n": 4})
    again = Schedule.get(ws, schedule.id)
    assert (again.name, again.recurrence.frequency, again.recurrence.hours, again.pipeline_parameters) == \
        ("renamed", "Day", [6], {"n": 4})
    updates = len(list(ws.ledger.events(type="schedule.updated")))
    with pytest.raises(PipelineValidationError, match="no parameter named 'zz'"):
        schedule.update(pipeline_parameters={"zz": 1})
    with pytest.raises(UserErrorException, match="cannot watch a datastore"):
        schedule.update(path_on_datastore="x")
    assert len(list(ws.ledger.events(type="schedule.updated"))) == updates
    schedule.update(status="Disabled")
    assert Schedule.get(ws, schedule.id).status == "Disabled"


def test_a_published_pipeline_still_runs_its_own_sources_after_they_changed_and_gc_ran(ws, src, counter):
    import json

    from click.testing import CliRunner

    from canalis.cli import main

    published = _pipeline(ws, src).publish(name="echo")
    script(src, "echo.py", "print('edited after publishing')\n")
    out = CliRunner().invoke(main, ["gc", "--json", "--workspace", str(ws.root), "--keep-last", "0", "--grace", "0s"])
    assert out.exit_code == 0, out.output and json.loads(out.output)
    run = published.submit(ws, "exp", pipeline_parameters={"n": 8})
    assert run.wait_for_completion() == "Completed"
    assert "argv:8" in run.find_step_run("echo")[0].get_stdout_log()
