"""Schedules fired by a real `canalis serve`: a recurrence, and files landing in a watched
datastore folder (one run for many files landing at once). Each fire is in the ledger, and
the run names the schedule that started it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from canalis.core.datastore import Datastore
from canalis.pipeline.core.schedule import Schedule, ScheduleRecurrence
from tests.server.conftest import Server, bearer, canalis, wait_for


def _runs_of(ws, schedule_id):
    return [r for r in ws.ledger.runs() if (r.trigger or {}).get("schedule_id") == schedule_id]


def _fires(ws, schedule_id):
    return [e for e in ws.ledger.events(type="schedule.triggered") if e.payload["schedule_id"] == schedule_id]


def test_a_recurrence_schedule_fires_and_its_run_names_it(ws, published, server):
    # every minute from 58 seconds ago: the first due time is two seconds away
    start = datetime.now(timezone.utc) - timedelta(seconds=58)
    schedule = Schedule.create(ws, "minutely", pipeline_id=published.id, experiment_name="sched",
                               recurrence=ScheduleRecurrence("Minute", 1, start_time=start),
                               pipeline_parameters={"n": 11})
    run_row = wait_for(lambda: _runs_of(ws, schedule.id), "the schedule fires", timeout=120)[0]
    assert run_row.trigger["by"] == "minutely" and run_row.trigger["via"] == "schedule"
    fire = _fires(ws, schedule.id)[0]
    assert fire.payload["reason"] == "recurrence" and fire.payload["due"].startswith((start + timedelta(minutes=1))
                                                                                      .isoformat()[:19])
    last = Schedule.get(ws, schedule.id).get_last_pipeline_run()
    assert last.id == run_row.run_id and last.wait_for_completion() == "Completed"
    assert "argv:11|x" in last.find_step_run("echo")[0].get_stdout_log()


def test_a_disabled_schedule_does_not_fire(ws, published, server, tmp_path):
    start = datetime.now(timezone.utc) - timedelta(seconds=58)
    off = Schedule.create(ws, "off", pipeline_id=published.id, experiment_name="sched",
                          recurrence=ScheduleRecurrence("Minute", 1, start_time=start))
    off.disable()
    on = Schedule.create(ws, "on", pipeline_id=published.id, experiment_name="sched",
                         recurrence=ScheduleRecurrence("Minute", 1, start_time=start))
    wait_for(lambda: _runs_of(ws, on.id), "the enabled schedule fires", timeout=120)
    # both were due at the same time; the scheduler looks at every schedule in one pass
    assert _fires(ws, off.id) == [] and _runs_of(ws, off.id) == []


def test_many_files_landing_at_once_fire_one_run(ws, published, tmp_path):
    folder = tmp_path / "store"
    (folder / "incoming").mkdir(parents=True)
    Datastore.register_local(ws, "landing", str(folder))
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data",
                               datastore=Datastore(ws, "landing"), path_on_datastore="incoming", polling_interval=1)
    server = Server(ws.root, tmp_path / "server.log").start()
    try:
        names = [f"part-{i}.csv" for i in range(6)]
        for name in names:
            (folder / "incoming" / name).write_text("a,b\n1,2\n")
        wait_for(lambda: _runs_of(ws, schedule.id), "the data-change schedule fires", timeout=120)
        first = _fires(ws, schedule.id)
        assert len(first) == 1 and first[0].payload["reason"] == "data-change"
        assert first[0].payload["changes"] == sorted(names)  # one fire for all six files
        (folder / "incoming" / "late.csv").write_text("a,b\n")
        wait_for(lambda: len(_fires(ws, schedule.id)) >= 2, "a later file fires again", timeout=120)
        fires = _fires(ws, schedule.id)
        assert [f.payload["changes"] for f in fires[1:]] == [["late.csv"]]
        assert len(_runs_of(ws, schedule.id)) == 2
        assert _runs_of(ws, schedule.id)[0].trigger["by"] == "on-data"
    finally:
        server.stop()


def test_files_that_land_while_no_server_runs_fire_once_it_starts(ws, published, tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "old.csv").write_text("there before\n")
    Datastore.register_local(ws, "landing", str(folder))
    schedule = Schedule.create(ws, "on-data", pipeline_id=published.id, experiment_name="data", datastore="landing")
    (folder / "new.csv").write_text("landed later\n")
    server = Server(ws.root, tmp_path / "server.log").start()
    try:
        try:
            wait_for(lambda: _fires(ws, schedule.id), "the schedule fires for what landed", timeout=120)
        except AssertionError as e:  # what the scheduler saw, for a failure seen once under a full suite's load
            listing = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
            created = [r.created_at for r in ws.ledger.schedules() if r.schedule_id == schedule.id]
            raise AssertionError(f"{e}; created_at {created}, files {listing}, "
                                 f"server log:\n{server.log.read_text()}") from None
        assert _fires(ws, schedule.id)[0].payload["changes"] == ["new.csv"]
    finally:
        server.stop()


def test_the_server_restarted_keeps_pipelines_endpoints_schedules_and_tokens(ws, published, tmp_path, counter):
    from canalis.pipeline.core import PipelineEndpoint

    token = canalis(ws.root, "token", "create", "keep").stdout.strip().splitlines()[-1]
    endpoint = PipelineEndpoint.publish(ws, "ep", "kept", published)
    schedule = Schedule.create(ws, "daily", pipeline_id=published.id, experiment_name="sched",
                               recurrence=ScheduleRecurrence("Day", 1, hours=[3], minutes=[0]))
    server = Server(ws.root, tmp_path / "server.log")
    seen, started = [], []
    for _ in range(2):
        server.start()
        try:
            get = lambda path: requests.get(server.url + path, headers=bearer(token), timeout=10)  # noqa: E731
            seen.append(([p["Id"] for p in get("/pipelines").json()], [e["Id"] for e in get("/endpoints").json()],
                         [s["Id"] for s in get("/schedules").json()]))
            r = requests.post(f"{server.url}/endpoints/{endpoint.id}/runs", headers=bearer(token),
                              json={"ExperimentName": "again"}, timeout=10)
            assert r.status_code == 201, r.text
            started.append(r.json()["Id"])
        finally:
            server.stop()  # right after the submit: the run goes on in its own executor process
    assert seen[0] == seen[1] == ([published.id], [endpoint.id], [schedule.id])
    from canalis.core import Experiment
    from canalis.pipeline.core.run import PipelineRun

    assert [PipelineRun(Experiment(ws, "again"), run_id).wait_for_completion() for run_id in started] == \
        ["Completed", "Completed"]


def test_one_due_time_is_claimed_once_even_by_two_processes_at_once(ws, published):
    """What keeps two servers on one workspace from firing one due time twice: the claim,
    made from two processes at the same moment, records one `schedule.triggered`."""
    import subprocess
    import sys

    schedule = Schedule.create(ws, "hourly", pipeline_id=published.id, experiment_name="e",
                               recurrence=ScheduleRecurrence("Hour", 1))
    claim = ("import sys, time\n"
             "from canalis.core import Workspace\n"
             "ws = Workspace(path=sys.argv[1])\n"
             "while time.time() < float(sys.argv[3]): pass\n"
             "print(ws.session.claim_schedule(sys.argv[2], 'recurrence', due='2030-01-01T00:00:00+00:00') is not None)\n")
    start = __import__("time").time() + 2
    procs = [subprocess.Popen([sys.executable, "-c", claim, str(ws.root), schedule.id, str(start)],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    answers = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert answers == ["False", "False", "False", "True"]
    assert len(_fires(ws, schedule.id)) == 1
    assert ws.session.claim_schedule(schedule.id, "recurrence", due="2029-12-31T23:00:00+00:00") is None  # earlier


def test_a_fire_of_a_disabled_pipeline_is_recorded_as_failed_and_runs_nothing(ws, published, tmp_path):
    published.disable()
    start = datetime.now(timezone.utc) - timedelta(seconds=59)
    schedule = Schedule.create(ws, "minutely", pipeline_id=published.id, experiment_name="sched",
                               recurrence=ScheduleRecurrence("Minute", 1, start_time=start))
    server = Server(ws.root, tmp_path / "server.log").start()
    try:
        failed = wait_for(lambda: [e for e in ws.ledger.events(type="schedule.trigger_failed")], "a failed fire")
    finally:
        server.stop()
    assert "disabled" in failed[0].payload["error"] and _runs_of(ws, schedule.id) == []
    assert "disabled" in Schedule.get(ws, schedule.id)._row.last_error
    assert "last error" in canalis(ws.root, "schedules").stdout


def test_a_polled_folder_also_fires_once_for_many_files(ws, published, tmp_path):
    """Without watchdog's events (CANALIS_SCHEDULER_WATCH=poll: what a folder inotify cannot
    watch gets), the folder is looked at every polling_interval and a change fires once it
    stays the same from one look to the next."""
    import time

    folder = tmp_path / "store"
    folder.mkdir()
    Datastore.register_local(ws, "landing", str(folder))
    schedule = Schedule.create(ws, "polled", pipeline_id=published.id, experiment_name="data", datastore="landing",
                               polling_interval=0.01)  # minutes
    server = Server(ws.root, tmp_path / "server.log", env={"CANALIS_SCHEDULER_WATCH": "poll"}).start()
    try:
        names = [f"{i}.csv" for i in range(8)]
        for name in names:  # files land over more than one poll of the folder (a poll every 0.6 s)
            (folder / name).write_text("x\n")
            time.sleep(0.1)
        wait_for(lambda: _fires(ws, schedule.id), "the polled schedule fires", timeout=120)
        (folder / "late.csv").write_text("x\n")
        wait_for(lambda: len(_fires(ws, schedule.id)) >= 2, "a later file fires again", timeout=120)
    finally:
        server.stop()
    fires = _fires(ws, schedule.id)
    assert [f.payload["changes"] for f in fires] == [sorted(names), ["late.csv"]]


def test_every_failed_fire_is_recorded_not_only_the_first(ws, published):
    """The scheduler of `canalis serve`, run in this process: two due times of a schedule
    whose pipeline is disabled make two `schedule.trigger_failed`, and the schedule shows
    the error after each."""
    from canalis.server.scheduler import Scheduler

    published.disable()
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    schedule = Schedule.create(ws, "minutely", pipeline_id=published.id, experiment_name="sched",
                               recurrence=ScheduleRecurrence("Minute", 1, start_time=start))
    scheduler = Scheduler(ws)
    for minute in (1, 2):
        scheduler.look(now=start + timedelta(minutes=minute, seconds=1))
        failed = [e for e in ws.ledger.events(type="schedule.trigger_failed")]
        assert len(failed) == minute and len(_fires(ws, schedule.id)) == minute
        assert "disabled" in (ws.ledger.schedule(schedule.id).last_error or "")
    assert _runs_of(ws, schedule.id) == []
