"""Events are typed: wrong field types, unknown types and non-JSON values are refused by name."""
from __future__ import annotations

import math

import pytest

from canalis.ledger import events as ev
from canalis.ledger.canonical import canonical_json
from canalis.ledger.errors import CanonicalEncodingError, EventValidationError, LedgerError, UnknownEventType


def test_wrong_field_type_names_the_field():
    with pytest.raises(EventValidationError, match=r"'step.started'.*field 'attempt' must be an int, got str"):
        ev.StepStarted(run_id="r", step_run_id="s", step_name="a", reuse_key="k", attempt="1")


def test_bool_is_not_an_int_and_int_is_a_float():
    with pytest.raises(EventValidationError, match="'pid'"):
        ev.RunStarted(run_id="r", pid=True)
    assert ev.RunCompleted(run_id="r", duration_s=3).duration_s == 3


def test_nested_type_errors_name_the_path():
    with pytest.raises(EventValidationError, match=r"outputs.model"):
        ev.StepCompleted(run_id="r", step_run_id="s", step_name="a", reuse_key="k", outputs={"model": 5})
    with pytest.raises(EventValidationError, match=r"failed_steps\[1\]"):
        ev.RunFailed(run_id="r", error="x", failed_steps=["a", None])


def test_literal_fields_are_checked():
    with pytest.raises(EventValidationError, match="'kind' must be one of 'scalar'"):
        ev.MetricLogged(run_id="r", name="m", kind="histogram", value=1)


def test_nan_and_infinity_are_refused_with_the_path():
    with pytest.raises(EventValidationError, match=r"value.curve\[1\] is nan"):
        ev.MetricLogged(run_id="r", name="m", kind="row", value={"curve": [1.0, math.nan]})
    with pytest.raises(EventValidationError, match="duration_s is inf"):
        ev.RunCompleted(run_id="r", duration_s=math.inf)
    with pytest.raises(CanonicalEncodingError, match="NaN"):
        canonical_json({"a": float("nan")})


def test_non_json_values_are_refused():
    with pytest.raises(EventValidationError, match="parameters.when is a datetime"):
        import datetime

        ev.RunSubmitted(run_id="r", experiment="e", parameters={"when": datetime.datetime.now()})
    with pytest.raises(EventValidationError, match="key"):
        ev.RunSubmitted(run_id="r", experiment="e", parameters={1: "x"})


def test_missing_unknown_fields_and_unknown_types_via_from_payload():
    with pytest.raises(UnknownEventType, match="'run.exploded'"):
        ev.from_payload("run.exploded", {})
    with pytest.raises(EventValidationError, match="missing required field 'run_id'"):
        ev.from_payload("run.completed", {"duration_s": 1.0})
    with pytest.raises(EventValidationError, match="unknown field 'colour'"):
        ev.from_payload("run.completed", {"run_id": "r", "colour": "red"})
    assert ev.from_payload("run.completed", {"run_id": "r"}) == ev.RunCompleted(run_id="r")


def test_append_refuses_what_is_not_a_catalogued_event(led):
    with pytest.raises(EventValidationError, match="not dict"):
        led.append({"type": "run.completed"})
    assert issubclass(EventValidationError, LedgerError)
    assert led.head()[0] == 0


def test_a_failed_batch_appends_nothing(led):
    with pytest.raises(EventValidationError, match="stream must be a non-empty string"):
        led.append_many([ev.RunSubmitted(run_id="r", experiment="e"), ev.AnnotationAdded(stream_name="", message="m")])
    assert led.head()[0] == 0


def test_events_are_frozen_and_streams_are_computed():
    e = ev.DatasetRegistered(name="iris", version=3, id="x", digest="t")
    with pytest.raises(Exception):
        e.name = "other"
    assert (e.stream, e.type, type(e).event_version, e.version) == ("dataset:iris", "dataset.registered", 2, 3)
    assert ev.StepStarted(run_id="r9", step_run_id="s", step_name="a", reuse_key="k").stream == "run:r9"
    assert ev.GcStarted(gc_id="g").stream == "store"
    assert ev.PipelineEnabled(pipeline_id="p").stream == "pipeline:p"
    assert ev.ScheduleCreated(schedule_id="s", name="n", pipeline_id="p", experiment="e").stream == "schedule:s"
    assert ev.AnnotationAdded(stream_name="anything at all", message="m").stream == "anything at all"
    assert ev.ModelRegistered(name="m", version=1, id="i", digest="t").stream == "model:m"
    assert ev.EnvironmentRegistered(name="e", version=1, id="i", digest="t").stream == "environment:e"


def test_every_class_name_is_past_tense():
    for cls in ev.REGISTRY.values():
        assert cls.__name__.endswith(("ed", "Collected")), cls.__name__
