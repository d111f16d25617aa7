"""Typed reads: each query returns frozen rows of one type per projection table, whose fields
are exactly the table's columns and hold exactly what the table holds."""
from __future__ import annotations

import dataclasses
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.frozen import Frozen
from canalis.ledger.frozen import fields as record_fields
from canalis.ledger.projections import SPECS
from canalis.ledger.rows import (
    ROW_TYPES, DatasetRow, EnvironmentRow, ExperimentRow, MetricRow, ModelRow, PipelineRow, RegistrationRow,
    ReuseCandidate, RunRow, ScheduleRow, StepRunRow, _row_of,
)
from canalis.ledger.tables import TableSpec
from .ledger_histories import histories

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def test_every_projection_table_has_a_row_type_with_exactly_its_columns():
    assert set(ROW_TYPES) == set(SPECS)
    for name, spec in SPECS.items():
        row_type = ROW_TYPES[name]
        fields = [f.name for f in record_fields(row_type)]
        assert len(fields) == len(set(fields)) and set(fields) == set(spec.names), name
        assert row_type.TABLE is spec and issubclass(row_type, Frozen), name


def test_a_row_type_missing_or_adding_a_column_is_refused_when_defined():
    spec = TableSpec("things", (("a", "text"), ("b", "int")), pk=("a",))
    with pytest.raises(TypeError, match=r"table 'things'.*columns without a field \['b'\]"):
        @_row_of(spec)
        class Missing:
            a: str
    with pytest.raises(TypeError, match=r"fields without a column \['c'\]"):
        @_row_of(spec)
        class Extra:
            a: str
            b: int
            c: int


def test_queries_return_their_row_types(led):
    led.append_many([
        ev.RunSubmitted(run_id="r1", experiment="e", parameters={}, plan={"steps": []}),
        ev.StepStarted(run_id="r1", step_run_id="s1", step_name="a", reuse_key="k"),
        ev.StepCompleted(run_id="r1", step_run_id="s1", step_name="a", reuse_key="k", outputs={"o": "d"}),
        ev.MetricLogged(run_id="r1", name="acc", value=0.5),
        ev.DatasetRegistered(name="iris", version=1, id="d1", digest="t", options={"sep": ","}),
        ev.ModelRegistered(name="clf", version=1, id="m1", digest="tm"),
        ev.EnvironmentRegistered(name="env", version=1, id="e1", digest="te", definition={"a": 1}),
        ev.PipelinePublished(pipeline_id="p1", name="train", plan={}, snapshots=["s"]),
        ev.ScheduleCreated(schedule_id="sc1", name="n", pipeline_id="p1", experiment="e"),
    ])
    assert isinstance(led.run("r1"), RunRow) and all(isinstance(r, RunRow) for r in led.runs())
    assert isinstance(led.step_run("s1"), StepRunRow) and isinstance(led.step_runs("r1")[0], StepRunRow)
    assert isinstance(led.metrics("r1")[0], MetricRow) and isinstance(led.reuse_candidates("k")[0], ReuseCandidate)
    dataset, model, env = led.dataset("iris"), led.model("clf"), led.registration("environments", "env")
    assert (type(dataset), type(model), type(env)) == (DatasetRow, ModelRow, EnvironmentRow)
    assert all(isinstance(r, RegistrationRow) for r in (dataset, model, env))
    assert (dataset.options, env.definition, model.digest) == ({"sep": ","}, {"a": 1}, "tm")
    assert not hasattr(model, "options") and not hasattr(dataset, "definition")
    assert isinstance(led.pipeline("p1"), PipelineRow) and isinstance(led.schedules()[0], ScheduleRow)
    assert isinstance(led.experiments()[0], ExperimentRow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dataset.version = 2
    assert list(led.run("r1").to_dict()) == list(SPECS["runs"].names)


def _every_typed_row(led) -> dict[str, list]:
    """Every row of every projection table, read through the query methods."""
    out = {"runs": led.runs(), "step_runs": led.all_step_runs(), "metrics": led.metrics(),
           "pipelines": led.pipelines(), "schedules": led.schedules(), "experiments": led.experiments(),
           "pipeline_endpoints": led.endpoints(), "tokens": led.tokens(),
           "schedule_datastores": led.schedule_datastores()}
    for kind in ("datasets", "models", "environments"):
        out[kind] = [v for latest in led.registrations(kind) for v in led.registrations(kind, latest.name)]
    keys = {r["reuse_key"] for r in led.projection_rows()["reuse_index"]}
    out["reuse_index"] = [c for key in keys for c in led.reuse_candidates(key)]
    return out


@SETTINGS
@given(history=histories(max_events=60))
def test_typed_rows_hold_exactly_what_the_tables_hold(tmp_path, history):
    led = Ledger(tmp_path / f"h{uuid.uuid4().hex}.db")  # hypothesis reuses tmp_path across examples
    try:
        led.append_many(history)
        stored = led.projection_rows()
        typed = _every_typed_row(led)
        assert set(typed) == set(stored)
        for name, spec in SPECS.items():
            assert all(type(r) is ROW_TYPES[name] for r in typed[name]), name
            as_dicts = sorted((r.to_dict() for r in typed[name]), key=spec.key)  # as SQL orders the keys
            assert as_dicts == stored[name], name
            made = [ROW_TYPES[name](**d) for d in stored[name]]  # built directly, statuses still members
            assert sorted((m.to_dict() for m in made), key=spec.key) == stored[name]
            assert {spec.key(m.to_dict()): m for m in made} == {spec.key(r.to_dict()): r for r in typed[name]}
    finally:
        led.close()
