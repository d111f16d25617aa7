"""A reused step run answers for the step run it reused: the ledger's queries follow
`reused_from` (one hop) instead of copying anything. Checked against a plain reading of the
events, for random histories."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from canalis.ledger import events as ev
from .ledger_histories import histories
from .test_projections import _record

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


def _expected_run_metrics(metric_recs, steps, run_id) -> list[int]:
    """seqs of the metrics a run answers for, read off the events: its own, and for each step
    run of it that reused another (in another run), that step run's metrics and what its
    process logged on its own run."""
    origins = [(s.reused_run_id, s.reused_from) for s in steps if s.reused_from and s.reused_run_id != run_id]
    out = []
    for rec in metric_recs:
        p = rec.payload
        mine = p["run_id"] == run_id
        reused = any(p["run_id"] == r and (p["step_run_id"] == sid or (p["step_run_id"] is None and p["by_step_run_id"] == sid))
                     for r, sid in origins)
        if mine or reused:
            out.append(rec.seq)
    return out


@SETTINGS
@given(history=histories(max_events=60))
def test_run_and_step_metrics_follow_reused_from(tmp_path, history):
    led = _record(tmp_path, history, [])
    try:
        metric_recs = list(led.events(type="metric.logged"))
        by_seq = {m.seq: m for run in led.runs() for m in led.metrics(run_id=run.run_id)}
        for run in led.runs():
            steps = led.step_runs(run.run_id)
            got = led.run_metrics(run.run_id)
            assert [m.seq for m in got] == _expected_run_metrics(metric_recs, steps, run.run_id)
            assert got == [by_seq[m.seq] for m in got]  # rows as recorded, nothing rewritten
            for s in steps:
                pairs = {(s.run_id, s.step_run_id)} | ({(s.reused_run_id, s.reused_from)} if s.reused_from else set())
                want = [r.seq for r in metric_recs if (r.payload["run_id"], r.payload["step_run_id"]) in pairs]
                assert [m.seq for m in led.step_metrics(s.step_run_id)] == want
    finally:
        led.close()


@SETTINGS
@given(history=histories(max_events=60))
def test_registrations_a_run_answers_for_follow_reused_from(tmp_path, history):
    led = _record(tmp_path, history, [])
    try:
        models = list(led.events(type="model.registered"))
        for run in led.runs():
            steps = led.step_runs(run.run_id)
            reused = {s.reused_from for s in steps if s.reused_from}
            want = [(r.payload["name"], r.payload["version"]) for r in models
                    if r.payload["lineage"].get("run_id") == run.run_id or r.payload["lineage"].get("step_run_id") in reused]
            assert [(m.name, m.version) for m in led.registered_by_run("models", run.run_id)] == want
            for s in steps:
                by = {s.step_run_id, s.reused_from} - {None}
                want = [(r.payload["name"], r.payload["version"]) for r in models
                        if r.payload["lineage"].get("step_run_id") in by]
                assert [(m.name, m.version) for m in led.registered_by_step_run("models", s.step_run_id)] == want
    finally:
        led.close()


def test_a_fully_reused_run_answers_with_the_metrics_its_steps_logged_on_their_run(led):
    """The example the property generalises: run r1's step logged on itself and on r1; r2
    reused the step; r2 answers for both, and for what was logged on r2 itself."""
    led.append(ev.RunSubmitted(run_id="r1", experiment="e"))
    led.append(ev.StepStarted(run_id="r1", step_run_id="s1", step_name="train", reuse_key="k"))
    led.append(ev.MetricLogged(run_id="r1", step_run_id="s1", name="loss", value=0.5, by_step_run_id="s1"))
    led.append(ev.MetricLogged(run_id="r1", name="accuracy", value=0.9, by_step_run_id="s1"))
    led.append(ev.MetricLogged(run_id="r1", name="note", value="set by hand on r1"))
    led.append(ev.StepCompleted(run_id="r1", step_run_id="s1", step_name="train", reuse_key="k"))
    led.append(ev.RunSubmitted(run_id="r2", experiment="e"))
    led.append(ev.StepReused(run_id="r2", step_run_id="s2", step_name="train", reuse_key="k", reused_from="s1",
                             reused_run_id="r1"))
    led.append(ev.MetricLogged(run_id="r2", name="own", value=1))
    assert [(m.run_id, m.step_run_id, m.name) for m in led.run_metrics("r2")] == [
        ("r1", "s1", "loss"), ("r1", None, "accuracy"), ("r2", None, "own")]
    assert [m.name for m in led.step_metrics("s2")] == ["loss"]
    assert led.metrics(run_id="r2") == [led.run_metrics("r2")[-1]]  # nothing was copied into r2
