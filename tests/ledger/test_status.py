"""Run and step statuses are enums that read, print and serialise as their text; the
projections only ever hold members of the right enum, and never the derived `Orphaned`."""
from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, given, settings

from canalis.ledger import Ledger
from canalis.ledger import proj_runs, proj_step_runs
from canalis.ledger.canonical import canonical_json
from canalis.ledger.rows import RunRow
from canalis.ledger.status import RunStatus, StepStatus
from canalis.ledger.tables import MemoryTables
from .ledger_histories import histories

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def test_statuses_are_their_text_in_comparisons_printing_and_json():
    for status in (*RunStatus, *StepStatus):
        text = status.value
        assert status == text and hash(status) == hash(text) and str(status) == text
        assert f"{status}" == text and f"{status:>12}" == f"{text:>12}" and "%s" % status == text
        assert json.dumps({"status": status}) == json.dumps({"status": text})
        assert canonical_json([status]) == canonical_json([text])
    assert [s.value for s in RunStatus] == ["Queued", "Running", "Completed", "Failed", "Canceled", "Orphaned"]
    assert [s.value for s in StepStatus] == ["Running", "Completed", "Reused", "Failed", "Skipped", "Canceled",
                                             "Abandoned"]


def test_groupings():
    assert RunStatus.terminal() == {"Completed", "Failed", "Canceled"}
    assert RunStatus.active() == {"Queued", "Running"}
    assert RunStatus.recorded() == set(RunStatus) - {RunStatus.Orphaned}
    assert StepStatus.ran() == {"Completed", "Failed"}
    assert StepStatus.succeeded() == {"Completed", "Reused"}
    assert StepStatus.unsuccessful() == {"Failed", "Skipped", "Canceled", "Abandoned"}
    assert StepStatus.succeeded() | StepStatus.unsuccessful() == set(StepStatus) - {StepStatus.Running}


@SETTINGS
@given(history=histories(max_events=60))
def test_projected_statuses_are_always_members_of_the_right_enum(tmp_path, history):
    led = Ledger(tmp_path / f"h{uuid.uuid4().hex}.db")  # hypothesis reuses tmp_path across examples
    try:
        led.append_many(history)
        runs = led.runs()
        for run in runs:
            assert type(run.status) is RunStatus and run.status in RunStatus.recorded(), run
        for step in led.all_step_runs():
            assert type(step.status) is StepStatus, step
        assert all(type(RunRow(**run.to_dict() | {"status": run.status.value}).status) is RunStatus for run in runs)
        stored = led.projection_rows()  # the text in the tables, as a rebuild compares it
        assert {r["status"] for r in stored["runs"]} <= {s.value for s in RunStatus.recorded()}
        assert {r["status"] for r in stored["step_runs"]} <= {s.value for s in StepStatus}
        # the folds themselves write members, not look-alike strings
        recs = list(led.events())
        for projection, table, enum in ((proj_runs, "runs", RunStatus), (proj_step_runs, "step_runs", StepStatus)):
            mem = MemoryTables(projection.TABLES)
            for rec in recs:
                if rec.type in projection.TYPES:
                    projection.apply(rec, mem)
            assert all(type(row["status"]) is enum for row in mem.rows[table].values()), table
    finally:
        led.close()
