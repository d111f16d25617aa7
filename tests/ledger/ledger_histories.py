"""Hypothesis strategies for valid event histories over a few runs, steps, datasets, models,
pipelines and schedules (shared by the projection and rebuild tests)."""
from __future__ import annotations

from hypothesis import strategies as st

from canalis.ledger import events as ev

NAMES = st.sampled_from(["a", "b", "train", "score", "naïve", "数据"])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=False, allow_infinity=False, width=64), TEXT)
JSONV = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(NAMES, inner, max_size=3)), max_leaves=6)
DICT = st.dictionaries(NAMES, JSONV, max_size=3)
KEYS = st.sampled_from(["k1", "k2", "k3"])
DIGEST = st.sampled_from(["d" * 64, "e" * 64, "f" * 64])
DURATION = st.floats(0, 1e4, allow_nan=False)
STORES = st.sampled_from(["landing", "archive"])
FOLDERS = st.sampled_from([None, "incoming", "incoming/late"])


ACTIONS = ("submit", "start", "step", "step", "finish_step", "finish_step", "reuse", "skip", "metric", "metric",
           "tag", "end_run", "dataset", "model", "environment", "pipeline", "pipeline_toggle", "schedule",
           "schedule_toggle", "schedule_fire", "schedule_update", "datastore", "endpoint", "endpoint_change", "token",
           "other")
#: the actions that make schedules and move the folders they watch
SCHEDULE_ACTIONS = ("pipeline", "schedule", "schedule_toggle", "schedule_fire", "schedule_update", "datastore")


@st.composite
def histories(draw, max_events: int = 40, actions: tuple = ACTIONS) -> list[ev.Event]:
    runs: dict[str, dict] = {}  # run_id -> {"steps": {step_run_id: status}}
    completed: list[tuple[str, str, str, dict]] = []  # (run_id, step_run_id, key, outputs)
    datasets: dict[str, int] = {}
    models: dict[str, int] = {}
    environments: dict[str, int] = {}
    pipelines: list[str] = []
    schedules: list[str] = []
    endpoints: dict[str, int] = {}  # endpoint_id -> versions so far
    tokens: list[str] = []
    out: list[ev.Event] = []
    n = draw(st.integers(1, max_events))
    counter = 0
    while len(out) < n:
        counter += 1
        action = draw(st.sampled_from(actions))
        if action == "submit" or not runs:
            rid = f"run{counter}"
            runs[rid] = {"steps": {}}
            out.append(ev.RunSubmitted(
                run_id=rid, experiment=draw(st.sampled_from(["exp1", "exp2"])),
                kind=draw(st.sampled_from(["pipeline", "script"])), parameters=draw(DICT), tags=draw(DICT),
                plan={"steps": ["a", "b"]}, git=draw(st.none() | st.just({"commit": "abc"})), host="h",
                pid=draw(st.integers(1, 99999)), user="u", description=draw(st.none() | TEXT),
                parent_run_id=draw(st.none() | st.sampled_from(sorted(runs))),
                trigger=draw(st.none() | st.fixed_dictionaries({
                    "via": st.sampled_from(["rest", "schedule", "sdk"]), "by": NAMES,
                    "schedule_id": st.sampled_from(schedules or ["sch0"])})),
            ))
            continue
        rid = draw(st.sampled_from(sorted(runs)))
        steps = runs[rid]["steps"]
        if action == "start":
            out.append(ev.RunStarted(run_id=rid, host="h", pid=draw(st.integers(1, 99999)), resumed=draw(st.booleans())))
        elif action == "step":
            retry = [s for s, status in steps.items() if status == "Failed"]
            sid = draw(st.sampled_from(retry)) if retry and draw(st.booleans()) else f"{rid}.s{counter}"
            steps[sid] = "Running"
            out.append(ev.StepStarted(run_id=rid, step_run_id=sid, step_name=draw(NAMES), reuse_key=draw(KEYS),
                                      attempt=draw(st.integers(1, 3)), pid=draw(st.none() | st.integers(1, 9999))))
        elif action == "finish_step":
            running = [s for s, status in steps.items() if status == "Running"]
            if not running:
                continue
            sid = draw(st.sampled_from(running))
            how = draw(st.sampled_from(["completed", "failed", "canceled", "abandoned"]))
            name, key = "a", draw(KEYS)
            if how == "completed":
                outputs = draw(st.dictionaries(NAMES, DIGEST, max_size=2))
                steps[sid] = "Completed"
                completed.append((rid, sid, key, outputs))
                out.append(ev.StepCompleted(run_id=rid, step_run_id=sid, step_name=name, reuse_key=key, outputs=outputs,
                                            stdout=draw(st.none() | DIGEST), stderr=None, exit_code=0,
                                            duration_s=draw(DURATION), allow_reuse=draw(st.booleans())))
            elif how == "failed":
                steps[sid] = "Failed"
                out.append(ev.StepFailed(run_id=rid, step_run_id=sid, step_name=name, reuse_key=key, error=draw(TEXT),
                                         exit_code=draw(st.none() | st.integers(-9, 255)), duration_s=draw(st.none() | DURATION)))
            elif how == "canceled":
                steps[sid] = "Canceled"
                out.append(ev.StepCanceled(run_id=rid, step_run_id=sid, step_name=name, reuse_key=key, reason="run canceled",
                                           exit_code=draw(st.none() | st.just(-15)), duration_s=draw(st.none() | DURATION)))
            else:
                steps[sid] = "Abandoned"
                out.append(ev.StepAbandoned(run_id=rid, step_run_id=sid, step_name=name, reason="executor died"))
        elif action == "reuse":
            if not completed:
                continue
            frm_run, frm, key, outputs = draw(st.sampled_from(completed))
            sid = f"{rid}.s{counter}"
            steps[sid] = "Reused"
            out.append(ev.StepReused(run_id=rid, step_run_id=sid, step_name="a", reuse_key=key, reused_from=frm,
                                     reused_run_id=frm_run, outputs=outputs))
        elif action == "skip":
            sid = f"{rid}.s{counter}"
            steps[sid] = "Skipped"
            out.append(ev.StepSkipped(run_id=rid, step_run_id=sid, step_name="b", reason="upstream failed"))
        elif action == "metric":
            kind = draw(st.sampled_from(["scalar", "list", "row", "table", "image"]))
            value = draw(SCALAR if kind == "scalar" else JSONV)
            step = draw(st.none() | st.sampled_from(sorted(steps) or [None]))
            by = step if step is not None else draw(st.none() | st.sampled_from(sorted(steps) or [None]))
            out.append(ev.MetricLogged(run_id=rid, step_run_id=step, name=draw(NAMES), kind=kind, value=value,
                                       description=draw(st.none() | TEXT), by_step_run_id=by))
        elif action == "tag":
            target = draw(st.none() | st.sampled_from(sorted(steps) or [None]))
            out.append(ev.RunTagged(run_id=rid, step_run_id=target, tags=draw(DICT)))
        elif action == "end_run":
            how = draw(st.sampled_from(["completed", "failed", "canceled"]))
            if how == "completed":
                out.append(ev.RunCompleted(run_id=rid, duration_s=draw(DURATION)))
            elif how == "failed":
                out.append(ev.RunFailed(run_id=rid, error=draw(TEXT), failed_steps=sorted(steps)[:2]))
            else:
                out.append(ev.RunCanceled(run_id=rid, reason=draw(st.none() | TEXT)))
        elif action == "dataset":
            name = draw(st.sampled_from(["iris", "wine"]))
            datasets[name] = datasets.get(name, 0) + 1
            out.append(ev.DatasetRegistered(name=name, version=datasets[name], id=f"ds{counter}",
                                            kind=draw(st.sampled_from(["file", "tabular"])), digest=draw(DIGEST),
                                            description=draw(st.none() | TEXT), tags=draw(DICT),
                                            lineage={"sources": [{"datastore": "workspaceblobstore", "path": "x/*.csv"}],
                                                     **({"run_id": rid} if draw(st.booleans()) else {})},
                                            options=draw(DICT)))
        elif action == "model":
            name = draw(st.sampled_from(["clf", "reg"]))
            models[name] = models.get(name, 0) + 1
            by_step = draw(st.none() | st.sampled_from(sorted(steps) or [None]))
            out.append(ev.ModelRegistered(name=name, version=models[name], id=f"m{counter}", digest=draw(DIGEST),
                                          tags=draw(DICT), properties=draw(DICT),
                                          lineage={"run_id": rid, "datasets": [{"name": "iris", "version": 1}],
                                                   **({"step_run_id": by_step} if by_step else {})}))
        elif action == "environment":
            name = draw(st.sampled_from(["base", "gpu"]))
            environments[name] = environments.get(name, 0) + 1
            out.append(ev.EnvironmentRegistered(name=name, version=environments[name], id=f"e{counter}",
                                                digest=draw(DIGEST), definition={"name": name, "vars": draw(DICT)}))
        elif action == "pipeline":
            pid = f"p{counter}"
            pipelines.append(pid)
            out.append(ev.PipelinePublished(pipeline_id=pid, name=draw(NAMES), version=draw(st.none() | TEXT),
                                            plan={"steps": []}, snapshots=[draw(DIGEST)]))
        elif action == "pipeline_toggle":
            if pipelines:
                pid = draw(st.sampled_from(pipelines))
                out.append(draw(st.sampled_from([ev.PipelineDisabled, ev.PipelineEnabled]))(pipeline_id=pid))
        elif action == "schedule":
            if pipelines:
                sid = f"sch{counter}"
                schedules.append(sid)
                if draw(st.booleans()):
                    trigger = {"recurrence": draw(st.none() | st.just({"frequency": "Day"}))}
                else:  # a data-change schedule, with the folder's state at creation or (as before v3) none
                    trigger = {"datastore": draw(STORES), "path_on_datastore": draw(FOLDERS),
                               "polling_interval": 5.0, "state": draw(st.none() | DIGEST)}
                out.append(ev.ScheduleCreated(schedule_id=sid, name="nightly", pipeline_id=draw(st.sampled_from(pipelines)),
                                              experiment="exp1", parameters=draw(DICT), **trigger))
        elif action == "schedule_fire":
            if schedules:
                sid = draw(st.sampled_from(schedules))
                if draw(st.booleans()):
                    out.append(ev.ScheduleTriggered(schedule_id=sid, reason=draw(st.sampled_from(["recurrence", "data-change"])),
                                                    due=draw(st.none() | st.just("2030-01-01T00:00:00Z")),
                                                    changes=draw(st.lists(NAMES, max_size=2)), state=draw(st.none() | DIGEST),
                                                    listing_stored=draw(st.booleans())))
                else:
                    out.append(ev.ScheduleTriggerFailed(schedule_id=sid, error=draw(TEXT), due=None))
        elif action == "schedule_update":
            if schedules:
                out.append(ev.ScheduleUpdated(schedule_id=draw(st.sampled_from(schedules)), changes=draw(st.fixed_dictionaries(
                    {}, optional={"name": NAMES, "description": st.none() | TEXT, "parameters": DICT,
                                  "polling_interval": st.floats(0.01, 60), "datastore": STORES,
                                  "path_on_datastore": FOLDERS, "unknown_setting": TEXT}))))
        elif action == "datastore":  # registered, or registered again at the same or another path
            out.append(ev.DatastoreRegistered(name=draw(STORES), kind="local", path=draw(st.sampled_from(["/d/1", "/d/2"]))))
        elif action == "endpoint":
            if pipelines:
                eid = f"ep{counter}"
                endpoints[eid] = 1
                out.append(ev.PipelineEndpointPublished(endpoint_id=eid, name=draw(NAMES), pipeline_id=draw(st.sampled_from(pipelines)),
                                                        description=draw(st.none() | TEXT)))
        elif action == "endpoint_change":
            if endpoints:
                eid = draw(st.sampled_from(sorted(endpoints)))
                how = draw(st.sampled_from(["add", "default", "rename", "disable", "enable"]))
                if how == "add":
                    out.append(ev.PipelineEndpointPipelineAdded(endpoint_id=eid, pipeline_id=draw(st.sampled_from(pipelines)),
                                                                version=str(endpoints[eid]), make_default=draw(st.booleans())))
                    endpoints[eid] += 1
                elif how == "default":
                    out.append(ev.PipelineEndpointDefaultChanged(endpoint_id=eid, version=str(draw(st.integers(0, endpoints[eid] - 1)))))
                elif how == "rename":
                    out.append(ev.PipelineEndpointRenamed(endpoint_id=eid, name=draw(NAMES)))
                else:
                    cls = ev.PipelineEndpointDisabled if how == "disable" else ev.PipelineEndpointEnabled
                    out.append(cls(endpoint_id=eid))
        elif action == "token":
            if tokens and draw(st.booleans()):
                tid = draw(st.sampled_from(tokens))
                out.append(ev.TokenRevoked(id=tid, name="ci"))
            else:
                tid = f"t{counter}"
                tokens.append(tid)
                out.append(ev.TokenCreated(id=tid, name=draw(NAMES), digest=draw(DIGEST), user="u", host="h"))
        elif action == "schedule_toggle":
            if schedules:
                sid = draw(st.sampled_from(schedules))
                out.append(draw(st.sampled_from([ev.ScheduleDisabled, ev.ScheduleEnabled]))(schedule_id=sid))
        else:
            out.append(draw(st.sampled_from([
                ev.ArtifactUploaded(run_id=rid, name="outputs/model.pkl", digest="d" * 64, size=10),
                ev.OutputPublished(run_id=rid, step_run_id="x", output="o", tree="d" * 64, datastore="ws", path="p"),
                ev.GcStarted(gc_id="g1", policy={"keep_last": 3}),
                ev.CollectionIntended(gc_id="g1", batch=1, digests=["d" * 64], bytes=10),
                ev.ObjectsCollected(gc_id="g1", digests=["d" * 64], bytes=10, batch=1),
                ev.WorkFoldersRemoved(gc_id="g1", folders=[[rid, "s1"]], bytes=4096, keep_failed_s=604800.0),
                ev.RunFailed(run_id=rid, error="no space left on device", failed_steps=["a"], resumable=True),
                ev.GcCompleted(gc_id="g1", removed_objects=1, removed_bytes=10, kept={"runs": 2}),
                ev.AnnotationAdded(stream_name=f"run:{rid}", message="looked fine", author="auditor"),
                ev.DatastoreRegistered(name="ws", kind="local", path="/x"),
            ])))
    return out
