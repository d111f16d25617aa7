"""Read helpers over the projections: typed rows (ledger/rows.py) with JSON columns decoded
and statuses as enum members.

Every function takes an open sqlite3 connection; `Ledger` exposes them as methods.
"""
from __future__ import annotations

from canalis.ledger.projections import SPECS
from canalis.ledger.rows import (
    ROW_TYPES, DatasetRow, EndpointRow, ExperimentRow, TokenRow, MetricRow, ModelRow, PipelineRow, RegistrationRow, ReuseCandidate, Row,
    RunRow, ScheduleDatastoreRow, ScheduleRow, StepRunRow,
)
from canalis.ledger.status import StepStatus
from canalis.ledger.tables import TableSpec, decode_value, encode_value, read_all


#: `step_runs.reused_from` as text in SQL (stored as 16 bytes when it is a uuid: tables.py)
REUSED_FROM_TEXT = ("(CASE WHEN typeof({t}.reused_from) = 'blob' THEN lower(substr(hex({t}.reused_from), 1, 8) || '-' "
                    "|| substr(hex({t}.reused_from), 9, 4) || '-' || substr(hex({t}.reused_from), 13, 4) || '-' "
                    "|| substr(hex({t}.reused_from), 17, 4) || '-' || substr(hex({t}.reused_from), 21)) "
                    "ELSE {t}.reused_from END)")


def _select(conn, spec: TableSpec, where: str = "", params=(), order: str = "", limit: int | None = None) -> list:
    sql = f"SELECT {', '.join(spec.names)} FROM [{spec.name}]"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    make = ROW_TYPES[spec.name].from_columns
    return [make(spec.decode(r)) for r in conn.execute(sql, tuple(params))]


def _one(rows: list[Row]) -> Row | None:
    return rows[0] if rows else None


def run(conn, run_id: str) -> RunRow | None:
    return _one(_select(conn, SPECS["runs"], "run_id = ?", (run_id,)))


def runs(conn, experiment: str | None = None, limit: int | None = None) -> list[RunRow]:
    """Runs, newest submission first."""
    if experiment is None:
        return _select(conn, SPECS["runs"], order="submitted_seq DESC, run_id", limit=limit)
    return _select(conn, SPECS["runs"], "experiment = ?", (experiment,), "submitted_seq DESC, run_id", limit)


def run_ids_with_prefix(conn, prefix: str, limit: int = 20) -> list[str]:
    """Ids of runs that start with `prefix`, newest submission first (at most `limit`)."""
    rows = conn.execute("SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY submitted_seq DESC, run_id "
                        "LIMIT ?", (len(prefix), prefix, int(limit)))
    return [r[0] for r in rows]


def step_runs(conn, run_id: str) -> list[StepRunRow]:
    """A run's step runs in plan order (the order their first step.* event was recorded)."""
    return _select(conn, SPECS["step_runs"], "run_id = ?", (run_id,), "plan_order")


def all_step_runs(conn) -> list[StepRunRow]:
    """Every step run of every run (lineage reads them all at once)."""
    return _select(conn, SPECS["step_runs"], order="run_id, plan_order")


def step_run(conn, step_run_id: str) -> StepRunRow | None:
    return _one(_select(conn, SPECS["step_runs"], "step_run_id = ?", (encode_value("uuid", step_run_id),)))


def last_completed_step_run(conn, step_name: str, before: str, exclude: str | None = None) -> StepRunRow | None:
    """The newest completed step run named `step_name` that finished before `before` (an ISO
    time), other than `exclude`: what `canalis why` compares a step that ran with. (Times are
    stored as microseconds, and a time canalis did not write as its text, which sorts after
    every number.)"""
    return _one(_select(conn, SPECS["step_runs"], "step_name = ? AND status = ? AND step_run_id != ? "
                        "AND finished_at < ?", (step_name, StepStatus.Completed, encode_value("uuid", exclude or ""),
                                                encode_value("time", before)),
                        "finished_at DESC", 1))


def metrics(conn, run_id: str | None = None, step_run_id: str | None = None) -> list[MetricRow]:
    """Metrics in logged order, of a run and/or a step run."""
    where, params = [], []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    if step_run_id is not None:
        where.append("step_run_id = ?")
        params.append(step_run_id)
    return _select(conn, SPECS["metrics"], " AND ".join(where), params, "seq")  # seq is global: logged order


def _metric_columns(alias: str) -> str:
    return ", ".join(f"{alias}.[{c}]" for c in SPECS["metrics"].names)


def _metric_rows(conn, sql: str, params) -> list[MetricRow]:
    spec = SPECS["metrics"]
    return [MetricRow.from_columns(spec.decode(r)) for r in conn.execute(sql, tuple(params))]


def run_metrics(conn, run_id: str) -> list[MetricRow]:
    """Every metric run `run_id` answers for, in logged order: those recorded in the run, and,
    for each of its step runs that reused another, the metrics of the step run it reused and
    the run-level metrics that step run's process logged (`run.parent.log`), read where they
    were recorded (nothing is copied; the rows keep their own run_id and step_run_id)."""
    m = _metric_columns("m")
    sql = (f"SELECT {m} FROM metrics AS m WHERE m.run_id = ? "
           f"UNION SELECT {m} FROM step_runs AS s JOIN metrics AS m ON m.run_id = s.reused_run_id "
           f"AND (m.step_run_id = {REUSED_FROM_TEXT.format(t='s')} "
           f"OR (m.step_run_id IS NULL AND m.by_step_run_id = {REUSED_FROM_TEXT.format(t='s')})) "
           "WHERE s.run_id = ? AND s.reused_from IS NOT NULL AND s.reused_run_id != s.run_id "
           "ORDER BY seq")
    return _metric_rows(conn, sql, (run_id, run_id))


def step_metrics(conn, step_run_id: str) -> list[MetricRow]:
    """A step run's metrics in logged order; a reused step run answers with those of the step
    run it reused (and any logged on it since)."""
    row = step_run(conn, step_run_id)
    if row is None:
        return metrics(conn, step_run_id=step_run_id)
    pairs = [(row.run_id, step_run_id)]
    if row.reused_from:
        pairs.append((row.reused_run_id, row.reused_from))
    where = " OR ".join("(m.run_id = ? AND m.step_run_id = ?)" for _ in pairs)
    return _metric_rows(conn, f"SELECT {_metric_columns('m')} FROM metrics AS m WHERE {where} ORDER BY m.seq",
                        [v for pair in pairs for v in pair])


def reuse_candidates(conn, reuse_key: str) -> list[ReuseCandidate]:
    """Completed step runs with this reuse key, newest first."""
    return _select(conn, SPECS["reuse_index"], "reuse_key = ?", (encode_value("digest", reuse_key),), "seq DESC")


def reuse_candidates_many(conn, reuse_keys) -> dict[str, list[ReuseCandidate]]:
    """For each of `reuse_keys`: its completed step runs, newest first, as `reuse_candidates`
    gives them (an empty list for a key none has), read with one query per 500 keys."""
    keys = list(dict.fromkeys(reuse_keys))
    out: dict[str, list[ReuseCandidate]] = {k: [] for k in keys}
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        where = f"reuse_key IN ({', '.join('?' * len(part))})"
        for row in _select(conn, SPECS["reuse_index"], where, [encode_value("digest", k) for k in part], "seq DESC"):
            out[row.reuse_key].append(row)
    return out


def last_run_candidates(conn, experiment: str) -> dict[str, list[ReuseCandidate]]:
    """`reuse_candidates_many(last_reuse_keys(experiment))` in one query rather than two: for each
    key of the experiment's latest run that has completed step runs, those, newest first, as
    `reuse_candidates` gives them. A key with none is left out (asked alone, it gets [])."""
    keys = (f"SELECT reuse_key FROM step_runs WHERE run_id = ({_LATEST_RUN}) AND reuse_key IS NOT NULL")
    out: dict[str, list[ReuseCandidate]] = {}
    for row in _select(conn, SPECS["reuse_index"], f"reuse_key IN ({keys})", (experiment,), "seq DESC"):
        out.setdefault(row.reuse_key, []).append(row)
    return out


#: the run id of an experiment's latest run (the experiment as the one SQL parameter), read from
#: the index on runs (experiment, submitted_seq): no other run of the experiment is read
_LATEST_RUN = "SELECT run_id FROM runs WHERE experiment = ? ORDER BY submitted_seq DESC LIMIT 1"


def last_reuse_keys(conn, experiment: str) -> list[str]:
    """The reuse keys of the step runs of the experiment's latest run (in plan order): the keys a
    re-submit of the same pipeline most likely has."""
    sql = f"SELECT reuse_key FROM step_runs WHERE run_id = ({_LATEST_RUN}) AND reuse_key IS NOT NULL ORDER BY plan_order"
    return [decode_value("digest", k) for (k,) in conn.execute(sql, (experiment,))]


def _latest(conn, spec: TableSpec) -> list:
    return _select(conn, spec, f"version = (SELECT max(version) FROM [{spec.name}] AS o WHERE o.name = [{spec.name}].name)",
                   order="name")


def registrations(conn, kind: str, name: str | None = None) -> list[RegistrationRow]:
    """Versions of registered datasets, models or environments (`kind` is the table name):
    the latest version of each name, or every version of `name`, oldest first."""
    spec = SPECS[kind]
    if name is None:
        return _latest(conn, spec)
    return _select(conn, spec, "name = ?", (name,), "version")


def registration(conn, kind: str, name: str, version: int | None = None) -> RegistrationRow | None:
    """One version (the latest when `version` is None) of a registered name."""
    spec = SPECS[kind]
    if version is None:
        return _one(_select(conn, spec, "name = ?", (name,), "version DESC", 1))
    return _one(_select(conn, spec, "name = ? AND version = ?", (name, version)))


def registered_by_run(conn, kind: str, run_id: str) -> list[RegistrationRow]:
    """Versions of datasets or models (`kind` is the table name) a run answers for, oldest
    first: those whose lineage names the run, and those registered by a step run that one of
    the run's step runs reused."""
    spec = SPECS[kind]
    return _select(conn, spec, "json_extract(lineage, '$.run_id') = ? OR json_extract(lineage, '$.step_run_id') IN "
                   f"(SELECT {REUSED_FROM_TEXT.format(t='step_runs')} FROM step_runs WHERE run_id = ? "
                   "AND reused_from IS NOT NULL)",
                   (run_id, run_id), "seq")


def registered_by_step_run(conn, kind: str, step_run_id: str) -> list[RegistrationRow]:
    """Versions of datasets or models (`kind` is the table name) a step run registered, oldest
    first; a reused step run answers with those of the step run it reused."""
    row = step_run(conn, step_run_id)
    ids = [step_run_id] + ([row.reused_from] if row is not None and row.reused_from else [])
    return _select(conn, SPECS[kind], f"json_extract(lineage, '$.step_run_id') IN ({', '.join('?' * len(ids))})",
                   ids, "seq")


def datasets(conn) -> list[DatasetRow]:
    """The latest version of each dataset, by name."""
    return registrations(conn, "datasets")


def dataset_versions(conn, name: str) -> list[DatasetRow]:
    return registrations(conn, "datasets", name)


def dataset(conn, name: str, version: int | None = None) -> DatasetRow | None:
    return registration(conn, "datasets", name, version)


def models(conn) -> list[ModelRow]:
    return registrations(conn, "models")


def model_versions(conn, name: str) -> list[ModelRow]:
    return registrations(conn, "models", name)


def model(conn, name: str, version: int | None = None) -> ModelRow | None:
    return registration(conn, "models", name, version)


def pipelines(conn) -> list[PipelineRow]:
    return _select(conn, SPECS["pipelines"], order="published_at, pipeline_id")


def pipeline(conn, pipeline_id: str) -> PipelineRow | None:
    return _one(_select(conn, SPECS["pipelines"], "pipeline_id = ?", (pipeline_id,)))


def schedules(conn) -> list[ScheduleRow]:
    return _select(conn, SPECS["schedules"], order="created_at, schedule_id")


def schedule(conn, schedule_id: str) -> ScheduleRow | None:
    return _one(_select(conn, SPECS["schedules"], "schedule_id = ?", (schedule_id,)))


def schedule_datastores(conn) -> list[ScheduleDatastoreRow]:
    return _select(conn, SPECS["schedule_datastores"], order="datastore")


def endpoints(conn) -> list[EndpointRow]:
    return _select(conn, SPECS["pipeline_endpoints"], order="created_at, endpoint_id")


def endpoint(conn, endpoint_id: str | None = None, name: str | None = None) -> EndpointRow | None:
    """An endpoint by id, or by its current name."""
    if endpoint_id is not None:
        return _one(_select(conn, SPECS["pipeline_endpoints"], "endpoint_id = ?", (endpoint_id,)))
    return _one(_select(conn, SPECS["pipeline_endpoints"], "name = ?", (name,), "created_at DESC", 1))


def tokens(conn) -> list[TokenRow]:
    """Every bearer token (valid and revoked), oldest first."""
    return _select(conn, SPECS["tokens"], order="created_at, id")


def last_triggered_run(conn, schedule_id: str) -> RunRow | None:
    """The newest run a schedule submitted (its `trigger` names the schedule)."""
    return _one(_select(conn, SPECS["runs"], "json_extract([trigger], '$.schedule_id') = ?", (schedule_id,),
                        "submitted_seq DESC", 1))


def experiments(conn) -> list[ExperimentRow]:
    """Experiments with their run count and last run time, most recently used first."""
    return _select(conn, SPECS["experiments"], order="last_run_at DESC, name")


#: what a page of runs can be sorted by: name -> SQL expression over the runs table
RUN_SORTS = {
    "submitted": "submitted_seq", "status": "status", "started": "started_at", "duration": "duration_s",
    "user": "user", "run": "run_id", "trigger": "json_extract([trigger], '$.via')",
    "commit": "json_extract(git, '$.commit')",
    "ran": "(SELECT count(*) FROM step_runs AS s WHERE s.run_id = runs.run_id AND s.status IN ('Completed', 'Failed'))",
    "reused": "(SELECT count(*) FROM step_runs AS s WHERE s.run_id = runs.run_id AND s.status = 'Reused')",
    "failed": "(SELECT count(*) FROM step_runs AS s WHERE s.run_id = runs.run_id AND s.status = 'Failed')",
}


def runs_page(conn, experiment: str | None, statuses=(), tags=(), sort: str = "submitted", descending: bool = True,
              limit: int = 50, offset: int = 0) -> tuple[list[RunRow], int]:
    """One page of runs (and how many match in all), filtered by status (any of `statuses`) and
    tags (`(key, value)` pairs, value None for "has the key"), sorted by a RUN_SORTS name or
    by a parameter (`"param:NAME"`).
    Only the page's rows are read: the page costs the same with ten runs or a hundred thousand."""
    where, params = [], []
    if experiment is not None:
        where.append("experiment = ?")
        params.append(experiment)
    if statuses:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params += [str(s) for s in statuses]
    for key, value in tags:
        path = '$."' + key.replace('"', '') + '"'
        if value is None:
            where.append("json_type(tags, ?) IS NOT NULL")
            params.append(path)
        else:
            where.append("CAST(json_extract(tags, ?) AS TEXT) = ?")
            params += [path, value]
    clause = " AND ".join(where)
    total = conn.execute("SELECT count(*) FROM runs" + (f" WHERE {clause}" if clause else ""), params).fetchone()[0]
    direction = "DESC" if descending else "ASC"
    if sort.startswith("param:"):  # a parameter's value
        order = f"json_extract(parameters, ?) {direction} NULLS LAST, submitted_seq DESC"
        params = [*params, '$."' + sort[len("param:"):].replace('"', '') + '"']
    else:
        order = f"{RUN_SORTS[sort]} {direction} NULLS LAST, submitted_seq DESC"
    rows = _select(conn, SPECS["runs"], clause, params, f"{order} LIMIT {int(limit)} OFFSET {int(offset)}")
    return rows, total


def step_counts(conn, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """run id -> {step status: how many of its step runs have it}, for the runs given."""
    out: dict[str, dict[str, int]] = {r: {} for r in run_ids}
    for i in range(0, len(run_ids), 500):
        part = run_ids[i:i + 500]
        for run_id, status, n in conn.execute(
                f"SELECT run_id, status, count(*) FROM step_runs WHERE run_id IN ({', '.join('?' for _ in part)}) "
                "GROUP BY run_id, status", part):
            out[run_id][status] = n
    return out


def all_projections(conn) -> dict[str, list[dict]]:
    """Every projection table as plain decoded dicts (text as stored), ordered by primary key:
    what a rebuild is compared with, column for column."""
    return {name: read_all(conn, spec) for name, spec in SPECS.items()}
