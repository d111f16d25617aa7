"""Typed rows of the projection tables: what `Ledger`'s query methods return.

One frozen record class (ledger/frozen.py) per projection table, whose fields are exactly that table's columns
(`TableSpec.names`; checked when the class is made, and by tests/ledger/test_rows.py).
JSON columns hold their decoded values, bool columns True/False, and `status` columns the
members of `RunStatus` / `StepStatus` (ledger/status.py). `ROW_TYPES` maps each table name
to its row type. A row is read with attributes (`row.status`, `row.outputs`); `to_dict()`
gives the plain mapping of its columns, in table order.

Datasets, models and environments share the registration columns (`RegistrationRow`); a
`DatasetRow` adds `kind` and `options`, an `EnvironmentRow` its `definition`.
"""
from __future__ import annotations

from typing import Any, ClassVar

from canalis.ledger import (
    proj_endpoints, proj_experiments, proj_metrics, proj_pipelines, proj_registrations, proj_reuse_index, proj_runs,
    proj_schedules, proj_step_runs, proj_tokens,
)
from canalis.ledger.frozen import Frozen, fields, seal
from canalis.ledger.status import RunStatus, StepStatus
from canalis.ledger.tables import TableSpec


class Row(Frozen):
    """What every row type offers; `TABLE` is the projection table it is a row of, `ENUMS` the
    columns read as enums (column -> enum class)."""

    TABLE: ClassVar[TableSpec]
    ENUMS: ClassVar[dict[str, type]] = {}

    @classmethod
    def from_columns(cls, values: dict[str, Any]):
        """The row of one table row's decoded columns (`TableSpec.decode`; the dict is taken
        over). It is filled without `__init__`, whose field-by-field assignment made reading
        many rows about four times slower: the columns are exactly the fields (checked when
        the class is made)."""
        for name, enum in cls.ENUMS.items():
            values[name] = enum(values[name])
        row = object.__new__(cls)
        row.__dict__.update(values)
        return row

    def __post_init__(self):
        # rows made directly (tests, callers) get their enum columns as members too
        for name, enum in self.ENUMS.items():
            value = getattr(self, name)
            if not isinstance(value, enum):
                object.__setattr__(self, name, enum(value))

    def to_dict(self) -> dict[str, Any]:
        """The row's columns as a plain dict, in the table's column order."""
        return {c: getattr(self, c) for c in self.TABLE.names}


def _row_of(spec: TableSpec):
    """Make the decorated class a frozen record class of `spec`'s rows; its fields must be
    exactly the table's columns (a column added to a projection needs its field here)."""

    def make(cls):
        cls = seal(cls, kw_only=False)  # positional or keyword, like the dataclass it replaces
        have, want = [f.name for f in fields(cls)], list(spec.names)
        if sorted(have) != sorted(want):
            missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
            raise TypeError(f"row type {cls.__name__} does not match table {spec.name!r}: "
                            f"columns without a field {missing}, fields without a column {extra}")
        cls.TABLE = spec
        return cls

    return make


@_row_of(proj_runs.TABLE)
class RunRow(Row):
    """A run: its status and what it was submitted with (the plan stays in run.submitted)."""

    ENUMS: ClassVar[dict[str, type]] = {"status": RunStatus}

    run_id: str
    experiment: str | None
    kind: str | None
    status: RunStatus
    submitted_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    parameters: dict | None
    tags: dict | None
    git: dict | None
    host: str | None
    pid: int | None
    user: str | None
    description: str | None
    parent_run_id: str | None
    error: str | None
    failed_steps: list | None
    submitted_seq: int | None
    trigger: dict | None


@_row_of(proj_step_runs.TABLE)
class StepRunRow(Row):
    """A step run: its status, key, outputs, logs and where a reused result came from."""

    ENUMS: ClassVar[dict[str, type]] = {"status": StepStatus}

    step_run_id: str
    run_id: str
    step_name: str
    status: StepStatus
    reuse_key: str | None
    reused_from: str | None
    reused_run_id: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    outputs: dict | None
    stdout: str | None
    stderr: str | None
    exit_code: int | None
    error: str | None
    reason: str | None
    inputs: list | None
    attempt: int | None
    pid: int | None
    allow_reuse: bool | None
    tags: dict | None
    worker: str | None
    plan_order: int
    last_seq: int


@_row_of(proj_metrics.TABLE)
class MetricRow(Row):
    """One logged metric value (`kind`: scalar, list, row, table, image); `by_step_run_id` is
    the step run whose process logged it (None when logged from outside a step)."""

    seq: int
    run_id: str
    step_run_id: str | None
    name: str
    kind: str
    value: Any
    description: str | None
    logged_at: str
    by_step_run_id: str | None


class RegistrationRow(Row):
    """The columns registered datasets, models and environments share."""

    name: str
    version: int
    id: str | None
    digest: str
    description: str | None
    tags: dict | None
    properties: dict | None
    lineage: dict | None
    registered_at: str
    seq: int


seal(RegistrationRow, kw_only=False)


@_row_of(proj_registrations.DATASETS)
class DatasetRow(RegistrationRow):
    kind: str | None
    options: dict | None


@_row_of(proj_registrations.MODELS)
class ModelRow(RegistrationRow):
    pass


@_row_of(proj_registrations.ENVIRONMENTS)
class EnvironmentRow(RegistrationRow):
    definition: dict | None


@_row_of(proj_pipelines.TABLE)
class PipelineRow(Row):
    pipeline_id: str
    name: str
    version: str | None
    description: str | None
    plan: dict
    snapshots: list
    endpoint_id: str | None
    enabled: bool
    published_at: str
    updated_at: str
    continue_on_step_failure: bool | None
    published_from_run: str | None


@_row_of(proj_schedules.TABLE)
class ScheduleRow(Row):
    """A schedule, its settings, and its last fire (`last_due` of a recurrence, `last_state`
    of a watched folder, `last_listing` when that folder's listing is in the store);
    `created_state`: the watched folder's state when it was created."""

    schedule_id: str
    name: str
    pipeline_id: str | None
    experiment: str
    recurrence: dict | None
    parameters: dict | None
    enabled: bool
    created_at: str
    updated_at: str
    pipeline_endpoint_id: str | None
    description: str | None
    datastore: str | None
    path_on_datastore: str | None
    polling_interval: float | None
    continue_on_step_failure: bool | None
    last_triggered_at: str | None
    last_due: str | None
    last_state: str | None
    trigger_count: int | None
    last_error: str | None
    created_state: str | None
    last_listing: str | None


@_row_of(proj_schedules.WATCHERS)
class ScheduleDatastoreRow(Row):
    """A datastore the schedules know of: the `path` it was last registered at (None while no
    event registered it) and the data-change schedules watching it."""

    datastore: str
    path: str | None
    schedule_ids: list


@_row_of(proj_endpoints.TABLE)
class EndpointRow(Row):
    """A pipeline endpoint: its versions (`[{"version", "pipeline_id"}]`) and the default one."""

    endpoint_id: str
    name: str
    description: str | None
    default_version: str
    versions: list
    enabled: bool
    created_at: str
    updated_at: str

    def pipeline_of(self, version: str | None = None) -> str | None:
        """The published pipeline id of `version` (the default when None), or None."""
        want = self.default_version if version is None else str(version)
        return next((v["pipeline_id"] for v in self.versions if v["version"] == want), None)


@_row_of(proj_tokens.TABLE)
class TokenRow(Row):
    """A bearer token of the REST API (its digest only); `revoked_at` is None while it is valid."""

    id: str
    name: str
    digest: str
    user: str | None
    host: str | None
    created_at: str
    revoked_at: str | None


@_row_of(proj_experiments.TABLE)
class ExperimentRow(Row):
    """An experiment's run count and first/last submission."""

    name: str
    run_count: int
    first_run_at: str
    last_run_at: str
    last_run_id: str


@_row_of(proj_reuse_index.TABLE)
class ReuseCandidate(Row):
    """A completed step run of the reuse index: a candidate for steps with its key."""

    step_run_id: str
    reuse_key: str
    run_id: str
    step_name: str
    outputs: dict
    allow_reuse: bool
    completed_at: str
    seq: int


#: projection table name -> its row type
ROW_TYPES: dict[str, type[Row]] = {
    "runs": RunRow, "step_runs": StepRunRow, "metrics": MetricRow, "datasets": DatasetRow, "models": ModelRow,
    "environments": EnvironmentRow, "pipelines": PipelineRow, "schedules": ScheduleRow,
    "schedule_datastores": ScheduleDatastoreRow, "experiments": ExperimentRow, "reuse_index": ReuseCandidate, "pipeline_endpoints": EndpointRow,
    "tokens": TokenRow,
}

__all__ = [
    "ROW_TYPES", "DatasetRow", "EndpointRow", "EnvironmentRow", "ExperimentRow", "TokenRow", "MetricRow", "ModelRow", "PipelineRow",
    "RegistrationRow", "ReuseCandidate", "Row", "RunRow", "ScheduleDatastoreRow", "ScheduleRow", "StepRunRow",
]
