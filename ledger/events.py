"""The event catalogue: one small frozen record class per event type (docs/events.md).

Each class carries its `type` string and `version`, and a `stream` computed from its
fields. Fields are keyword-only and checked when the event is built: a value that does
not fit its annotation raises `EventValidationError` naming the event type and field.
`from_payload` turns a stored (type, payload) back into an event, refusing unknown types.
"""
from __future__ import annotations

import types
import typing
from typing import Any, ClassVar, Literal

from canalis.ledger.canonical import check_json
from canalis.ledger.errors import CanonicalEncodingError, EventValidationError, UnknownEventType
from canalis.ledger.frozen import MISSING, Frozen, field, fields, seal

JSON = Any  # any JSON-compatible value

REGISTRY: dict[str, type["Event"]] = {}


class Event(Frozen):
    """Base of every event. Subclasses are declared with `@event(type, version)`.

    A frozen, keyword-only record (`ledger/frozen.py`): one shared `__init__`, and equality,
    hashing and repr over the fields (`_names`), rather than code generated for each of the
    many event classes."""

    type: ClassVar[str] = ""
    # The event version. `@event` also sets it as the class attribute `version`, but datasets,
    # models and environments have a `version` field of their own that shadows it on
    # instances, so the ledger always reads `event_version`. (The base class deliberately has
    # no `version` attribute: it would be taken as the default of such a field.)
    event_version: ClassVar[int] = 0
    _checks: ClassVar[tuple] = ()
    _str_fields: ClassVar[tuple] = ()
    _names: ClassVar[tuple] = ()

    def __post_init__(self):
        if self._str_fields is None:  # the first event of its type: its checks are made now
            type(self)._make_checks()
        for name in self._str_fields:  # the common case, checked inline
            if type(getattr(self, name)) is not str:
                _checker(str, self.type)(getattr(self, name), name)
        for name, check in self._checks:
            value = getattr(self, name)
            fixed = check(value, name)
            if fixed is not value:
                object.__setattr__(self, name, fixed)

    @classmethod
    def _make_checks(cls) -> None:
        """The checks of each field (`_str_fields`, `_checks`), made when the first event of the
        type is built: a process builds a few of the types the catalogue declares."""
        declared = fields(cls)
        hints = {f.name: _annotation(f.type) for f in declared}
        checks = tuple((f.name, _checker(hints[f.name], cls.type)) for f in declared if hints[f.name] is not str)
        cls._checks = checks
        cls._str_fields = tuple(f.name for f in declared if hints[f.name] is str)

    @property
    def stream(self) -> str:
        raise NotImplementedError

    def payload(self) -> dict:
        """The event's fields as a JSON-ready dict (before redaction)."""
        return {name: getattr(self, name) for name in self._names}

    @classmethod
    def _field_names(cls) -> tuple:
        return cls._names


# -- field checking ---------------------------------------------------------------------


def _fail(cls_type: str, path: str, expected: str, value) -> typing.NoReturn:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise EventValidationError(
        f"event {cls_type!r}: field {path!r} must be {expected}, got {type(value).__name__} {shown}"
    )


def _checker(tp, etype: str):
    """A function (value, path) -> value (possibly normalised) that raises on misfit."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        def check_any(v, path):
            try:
                return check_json(v, path)
            except CanonicalEncodingError as e:
                raise EventValidationError(f"event {etype!r}: {e}") from None
        return check_any
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        sub = _checker(inner[0] if len(inner) == 1 else typing.Union[tuple(inner)], etype)
        return lambda v, path: None if v is None else sub(v, path)
    if origin is Literal:
        allowed = args
        def check_lit(v, path):
            if v not in allowed or not isinstance(v, str):
                _fail(etype, path, "one of " + ", ".join(map(repr, allowed)), v)
            return v
        return check_lit
    if tp is str:
        def check_str(v, path):
            if not isinstance(v, str):
                _fail(etype, path, "a string", v)
            return v
        return check_str
    if tp is bool:
        def check_bool(v, path):
            if not isinstance(v, bool):
                _fail(etype, path, "a bool", v)
            return v
        return check_bool
    if tp is int:
        def check_int(v, path):
            if not isinstance(v, int) or isinstance(v, bool):
                _fail(etype, path, "an int", v)
            return v
        return check_int
    if tp is float:
        any_check = _checker(Any, etype)
        def check_float(v, path):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                _fail(etype, path, "a number", v)
            return any_check(v, path)  # refuses NaN / Infinity
        return check_float
    if tp is dict or origin is dict:
        val = _checker(args[1], etype) if args else _checker(Any, etype)
        def check_dict(v, path):
            if not isinstance(v, dict):
                _fail(etype, path, "a dict", v)
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    _fail(etype, f"{path} key", "a string", k)
                out[k] = val(x, f"{path}.{k}")
            return out
        return check_dict
    if tp is list or origin is list:
        item = _checker(args[0], etype) if args else _checker(Any, etype)
        def check_list(v, path):
            if not isinstance(v, (list, tuple)):
                _fail(etype, path, "a list", v)
            return [item(x, f"{path}[{i}]") for i, x in enumerate(v)]
        return check_list
    raise TypeError(f"event {etype!r}: unsupported field annotation {tp!r}")


_ANNOTATIONS: dict[str, Any] = {}


def _annotation(text):
    """The type a field's annotation names. This module's annotations are strings (postponed
    evaluation); the catalogue's few hundred fields use a few dozen distinct ones, so each is
    evaluated once here instead of once per field by `typing.get_type_hints`, which compiled
    every one and was most of the cost of importing the catalogue."""
    if not isinstance(text, str):
        return text
    tp = _ANNOTATIONS.get(text)
    if tp is None:
        tp = _ANNOTATIONS[text] = _plain(text) or eval(text, globals())  # noqa: S307 - this module's own annotations
    return tp


#: the annotations most fields have, read without `eval` (compiling each text is most of the cost
#: of the first event of a type, which every process pays): a builtin type or JSON, a dict or list
#: of those, or one of these or None
_PLAIN = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict, "list": list, "JSON": JSON}
_GENERIC = {"dict": dict, "list": list}


def _plain(text: str):
    """`eval(text)` for "T", "dict[T, T]", "list[T]" with T one of _PLAIN, and "Literal['a', ...]"
    of plain quoted words, each also "... | None"; None for any other text."""
    base, none = (text[:-7], True) if text.endswith(" | None") else (text, False)
    tp = _PLAIN.get(base)
    if tp is None and base.endswith("]"):
        head, _, inner = base[:-1].partition("[")
        words = [a.strip() for a in inner.split(",")]
        if head == "Literal" and all(len(w) > 1 and w[0] == w[-1] == "'" and "'" not in w[1:-1] and "\\" not in w
                                     for w in words):
            tp = Literal[tuple(w[1:-1] for w in words)]
        args = tuple(_PLAIN.get(w, None) for w in words)
        if head in _GENERIC and None not in args and len(args) == (2 if head == "dict" else 1):
            tp = _GENERIC[head][args if len(args) > 1 else args[0]]
    return None if tp is None else (tp | None if none else tp)


def event(type_: str, version: int = 1):
    """Class decorator: make a frozen, keyword-only record class and register it under `type_`."""

    def wrap(cls):
        cls = seal(cls)  # one shared __init__ and frozen setters (ledger/frozen.py)
        cls.type = type_
        cls.version = version
        cls.event_version = version
        cls._str_fields = cls._checks = None  # made by the first event of the type (`_make_checks`)
        if type_ in REGISTRY:
            raise TypeError(f"event type {type_!r} registered twice")
        REGISTRY[type_] = cls
        return cls

    return wrap


def event_class(type_: str) -> type[Event]:
    try:
        return REGISTRY[type_]
    except KeyError:
        raise UnknownEventType(
            f"unknown event type {type_!r}; known types are listed in docs/events.md ({len(REGISTRY)} types)"
        ) from None


def from_payload(type_: str, payload: dict) -> Event:
    """Build the current-version event of `type_` from a payload dict (validating it)."""
    cls = event_class(type_)
    if not isinstance(payload, dict):
        raise EventValidationError(f"event {type_!r}: payload must be a dict, got {type(payload).__name__}")
    names = set(cls._names)
    extra = sorted(set(payload) - names)
    if extra:
        raise EventValidationError(f"event {type_!r}: unknown field {extra[0]!r} (fields: {', '.join(sorted(names))})")
    missing = [f.name for f in fields(cls)
               if f.name not in payload and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise EventValidationError(f"event {type_!r}: missing required field {missing[0]!r}")
    return cls(**payload)


# -- runs ----------------------------------------------------------------------------------


class _RunEvent(Event):
    @property
    def stream(self) -> str:
        return f"run:{self.run_id}"


@event("run.submitted", version=3)
class RunSubmitted(_RunEvent):
    """A run was submitted: what, with which parameters and plan, by whom. The run is Queued.
    `trigger` says what started it when it was not a direct submit: a published pipeline
    over REST (`{"via": "rest", "by": <token name>, "pipeline_id", "endpoint_id"}`), from the
    SDK (`"via": "sdk"`), or a schedule (`{"via": "schedule", "by": <schedule name>,
    "schedule_id", "due", "reason", ...}`). Since v3 the plan document is stored once by
    content in the store and named by `plan_digest` (`plan` is then empty); the ledger's
    readers give it back in `plan`. Older rows hold the plan inline."""

    run_id: str
    experiment: str
    kind: Literal["pipeline", "script"] = "pipeline"
    parameters: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    plan: JSON = field(default_factory=dict)
    git: dict | None = None
    host: str = ""
    pid: int = 0
    user: str = ""
    description: str | None = None
    parent_run_id: str | None = None
    trigger: dict | None = None
    plan_digest: str | None = None


@event("run.started")
class RunStarted(_RunEvent):
    """An executor process began (or, with resumed=true, resumed) working on the run."""

    run_id: str
    host: str = ""
    pid: int = 0
    resumed: bool = False


@event("run.completed")
class RunCompleted(_RunEvent):
    """Every step of the run completed or was reused."""

    run_id: str
    duration_s: float = 0.0


@event("run.failed", version=2)
class RunFailed(_RunEvent):
    """The run ended because steps failed; failed_steps names them. `resumable` is true
    when every failure came from outside the steps' code (no space left on device, a step's
    process killed by a signal canalis did not send): `canalis resume RUN` runs those steps
    again once the cause is gone."""

    run_id: str
    error: str
    failed_steps: list[str] = field(default_factory=list)
    resumable: bool = False


@event("run.canceled")
class RunCanceled(_RunEvent):
    """The run was canceled before it finished."""

    run_id: str
    reason: str | None = None


@event("run.cancel_requested", version=2)
class RunCancelRequested(_RunEvent):
    """Someone asked for the run to stop (`canalis cancel`, `Run.cancel()`, Ctrl-C). The
    executor stops its running steps and records run.canceled; host and pid name the
    requesting process, user the account it ran as (version 2)."""

    run_id: str
    reason: str | None = None
    host: str | None = None
    pid: int | None = None
    user: str | None = None


@event("run.resume_requested")
class RunResumeRequested(_RunEvent):
    """Someone asked to finish the run (`canalis resume`, `resume_run`). With
    `regenerate_outputs` the steps the resume runs are not reused (asked for now, or recorded
    at submit); steps the run already finished keep their results. host, pid and user name
    the requesting process."""

    run_id: str
    regenerate_outputs: bool = False
    host: str = ""
    pid: int = 0
    user: str = ""


@event("run.tagged")
class RunTagged(_RunEvent):
    """Tags were added to the run (step_run_id null) or to one of its step runs; later values win."""

    run_id: str
    step_run_id: str | None = None
    tags: dict = field(default_factory=dict)


# -- steps ---------------------------------------------------------------------------------


@event("step.started", version=2)
class StepStarted(_RunEvent):
    """A step's process started (attempt counts retries of the same step run); `pid` is
    its process id (leader of its own process group); `inputs` lists the [input name, tree
    digest] pairs it reads (pairs, not a dict, so that
    redaction never hides an input whose name looks like a credential)."""

    run_id: str
    step_run_id: str
    step_name: str
    reuse_key: str
    attempt: int = 1
    pid: int | None = None
    inputs: list = field(default_factory=list)


@event("step.reused")
class StepReused(_RunEvent):
    """A step was not run: the outputs of completed step run reused_from (same reuse_key) were taken."""

    run_id: str
    step_run_id: str
    step_name: str
    reuse_key: str
    reused_from: str
    reused_run_id: str
    outputs: dict[str, str] = field(default_factory=dict)


@event("step.completed")
class StepCompleted(_RunEvent):
    """A step exited successfully; outputs maps each output name to its tree digest, stdout/stderr are blob digests."""

    run_id: str
    step_run_id: str
    step_name: str
    reuse_key: str
    outputs: dict[str, str] = field(default_factory=dict)
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int = 0
    duration_s: float = 0.0
    allow_reuse: bool = True


@event("step.failed")
class StepFailed(_RunEvent):
    """A step exited with an error (or could not start)."""

    run_id: str
    step_run_id: str
    step_name: str
    reuse_key: str
    error: str
    exit_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    duration_s: float | None = None


@event("step.skipped")
class StepSkipped(_RunEvent):
    """A step was not run, e.g. because an upstream step failed."""

    run_id: str
    step_run_id: str
    step_name: str
    reason: str


@event("step.canceled")
class StepCanceled(_RunEvent):
    """A running step was stopped because its run was canceled (SIGTERM to its process
    group, SIGKILL after a grace period); its logs so far are kept."""

    run_id: str
    step_run_id: str
    step_name: str
    reuse_key: str
    reason: str
    exit_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    duration_s: float | None = None


@event("step.abandoned")
class StepAbandoned(_RunEvent):
    """A step was left unfinished (its executor died); resume runs it again."""

    run_id: str
    step_run_id: str
    step_name: str
    reason: str


@event("step.environment")
class StepEnvironmentRecorded(_RunEvent):
    """What a step run ran with: its environment's `digest`, the `runner` ("local" or
    "docker"), the `interpreter` (Python version, implementation, platform) and `packages`,
    the BLAKE3 digest of the distributions installed for it (sorted `name==version` lines, a
    blob in the store; `package_count` of them). For a materialised environment, `location`
    is its virtual environment folder or image tag and `image_id` the image's id; both are null
    on the current interpreter. A reused step run on the current interpreter records what it
    would have run with, so that a change of packages is visible where it forced no re-run."""

    run_id: str
    step_run_id: str
    step_name: str
    environment: str
    runner: Literal["local", "docker"] = "local"
    interpreter: dict = field(default_factory=dict)
    packages: str | None = None
    package_count: int = 0
    location: str | None = None
    image_id: str | None = None


@event("step.placed")
class StepPlaced(_RunEvent):
    """An attempt of a step run began on a worker of a Dask cluster (executor/runners/dask.py):
    `worker` is the worker's address, `worker_name` its name, `host` the machine it runs on,
    `pid` the step process's id there. A step run that was retried after its worker was lost
    has one of these per attempt (1, 2, ...)."""

    run_id: str
    step_run_id: str
    step_name: str
    attempt: int
    worker: str
    worker_name: str | None = None
    host: str | None = None
    pid: int | None = None


@event("step.attempt_interrupted")
class StepAttemptInterrupted(_RunEvent):
    """The worker running an attempt of a step run was lost (its process died, or the cluster
    dropped it) before the attempt ended; `retrying` says whether the cluster runs the step
    again elsewhere (a new `step.placed` follows) or the step run fails."""

    run_id: str
    step_run_id: str
    step_name: str
    attempt: int
    worker: str
    error: str
    retrying: bool


# -- metrics, artifacts, outputs -----------------------------------------------------------


@event("metric.logged", version=3)
class MetricLogged(_RunEvent):
    """A metric was logged by a run or one of its steps (kind says how to read value).
    `step_run_id` is the step run it belongs to (null: the run itself); `by_step_run_id` is
    the step run whose process logged it (null: logged from outside a step), so a metric a
    step logs on its parent run (`run.parent.log`) still names that step, and a run that
    reuses the step answers for it."""

    run_id: str
    step_run_id: str | None = None
    name: str
    kind: Literal["scalar", "list", "row", "table", "image"] = "scalar"
    value: JSON = None
    description: str | None = None
    by_step_run_id: str | None = None


@event("artifact.uploaded")
class ArtifactUploaded(_RunEvent):
    """A file was added to the run's files (name is the path inside them)."""

    run_id: str
    step_run_id: str | None = None
    name: str
    digest: str
    size: int


@event("output.published")
class OutputPublished(_RunEvent):
    """A step output was copied to a datastore destination."""

    run_id: str
    step_run_id: str
    output: str
    tree: str
    datastore: str
    path: str


# -- registries ------------------------------------------------------------------------------


class _Registered(Event):
    """The shape every registration shares (datasets, models, environments): a version of a
    name, the digest of its content, who and what it came from (`lineage`: run_id,
    step_run_id, output, datasets read, sources), and free-form description, tags and
    properties. A version's content never changes; a new content is a new version."""

    kind_name: ClassVar[str] = ""

    name: str
    version: int
    id: str
    digest: str
    description: str | None = None
    tags: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)
    lineage: dict = field(default_factory=dict)

    @property
    def stream(self) -> str:
        return f"{self.kind_name}:{self.name}"


@event("dataset.registered", version=2)
class DatasetRegistered(_Registered):
    """A dataset version was registered; `digest` is the tree of its files, `kind` says how
    to read them and `options` how (tabular reading options)."""

    kind_name: ClassVar[str] = "dataset"
    kind: Literal["file", "tabular"] = "file"
    options: dict = field(default_factory=dict)


@event("model.registered", version=2)
class ModelRegistered(_Registered):
    """A model version was registered; `digest` is the tree of its files."""

    kind_name: ClassVar[str] = "model"


@event("datastore.registered")
class DatastoreRegistered(Event):
    """A datastore was registered in the workspace."""

    name: str
    kind: str
    path: str

    @property
    def stream(self) -> str:
        return f"datastore:{self.name}"


@event("environment.registered", version=2)
class EnvironmentRegistered(_Registered):
    """An environment version was registered; `digest` is the digest of its canonical
    definition (the same bytes are in the store), `definition` the definition itself."""

    kind_name: ClassVar[str] = "environment"
    definition: dict = field(default_factory=dict)


@event("environment.built")
class EnvironmentMaterialized(Event):
    """An environment was materialised for its digest: a virtual environment (`kind` "venv",
    `location` its folder) or a Docker image (`kind` "image", `location` its tag, `image_id`
    the engine's id, built from `base_image`, whose id is `base_image_id`). `interpreter` is
    its Python (version, implementation, platform); `packages` the BLAKE3 digest of its
    installed distributions (sorted `name==version` lines, a blob in the store) and
    `package_count` how many; `provided` the requirements canalis provides itself and did not
    install (`azureml-*`); `run_id`/`step_run_id` the step run that needed it first."""

    digest: str
    name: str
    kind: Literal["venv", "image"]
    location: str
    image_id: str | None = None
    base_image: str | None = None
    base_image_id: str | None = None
    interpreter: dict = field(default_factory=dict)
    packages: str | None = None
    package_count: int = 0
    provided: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    run_id: str | None = None
    step_run_id: str | None = None

    @property
    def stream(self) -> str:
        return f"env:{self.digest}"


# -- pipelines and schedules --------------------------------------------------------------


class _PipelineEvent(Event):
    @property
    def stream(self) -> str:
        return f"pipeline:{self.pipeline_id}"


@event("pipeline.published", version=2)
class PipelinePublished(_PipelineEvent):
    """A pipeline was published (plan and source snapshots frozen); it starts enabled.
    `continue_on_step_failure` is how its runs go on after a failed step; `published_from_run`
    names the run it was published from (`PipelineRun.publish_pipeline`)."""

    pipeline_id: str
    name: str
    version: str | None = None
    description: str | None = None
    plan: JSON = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    endpoint_id: str | None = None
    continue_on_step_failure: bool = False
    published_from_run: str | None = None


@event("pipeline.disabled")
class PipelineDisabled(_PipelineEvent):
    """A published pipeline was disabled."""

    pipeline_id: str


@event("pipeline.enabled")
class PipelineEnabled(_PipelineEvent):
    """A published pipeline was enabled again."""

    pipeline_id: str


class _ScheduleEvent(Event):
    @property
    def stream(self) -> str:
        return f"schedule:{self.schedule_id}"


@event("schedule.created", version=3)
class ScheduleCreated(_ScheduleEvent):
    """A schedule of a published pipeline (or of a pipeline endpoint's default version) was
    created; it starts enabled. It fires on a `recurrence`, or when files change under
    `path_on_datastore` of `datastore` (a data-change schedule; `polling_interval` in minutes
    is how often the folder is polled where file events are not available). Since v3 `state`
    is the folder's state when the schedule was created (the digest `schedule.triggered`
    records after a fire), what it is compared with until it first fires; it is also the
    digest of the folder's listing, stored by content in the store. Null for a recurrence,
    and for schedules recorded without it (older rows: the scheduler infers the folder as it
    was from the files' modification times)."""

    schedule_id: str
    name: str
    pipeline_id: str | None = None
    experiment: str
    recurrence: dict | None = None
    parameters: dict = field(default_factory=dict)
    pipeline_endpoint_id: str | None = None
    description: str | None = None
    datastore: str | None = None
    path_on_datastore: str | None = None
    polling_interval: float | None = None
    continue_on_step_failure: bool | None = None
    state: str | None = None


@event("schedule.disabled")
class ScheduleDisabled(_ScheduleEvent):
    """A schedule was disabled."""

    schedule_id: str


@event("schedule.enabled")
class ScheduleEnabled(_ScheduleEvent):
    """A schedule was enabled again."""

    schedule_id: str


@event("schedule.updated")
class ScheduleUpdated(_ScheduleEvent):
    """Settings of a schedule were changed (`Schedule.update`): `changes` holds the new value
    of each setting named (name, description, recurrence, parameters, datastore,
    path_on_datastore, polling_interval, continue_on_step_failure)."""

    schedule_id: str
    changes: dict = field(default_factory=dict)


@event("schedule.triggered", version=2)
class ScheduleTriggered(_ScheduleEvent):
    """A schedule fired, recorded before its run is submitted (so a fire is never made twice):
    `reason` is "recurrence" (`due`: the time it was due, UTC ISO 8601) or "data-change"
    (`changes`: paths that changed under the watched folder, at most 100; `state`: the
    digest of the folder's listing after the change). Since v2 `listing_stored` says the
    listing itself was put in the store under `state`, so a restarted scheduler can tell
    which files changed since this fire (false for v1 rows and recurrences). The run's
    `run.submitted` names the schedule in its `trigger`; a submit that failed is
    `schedule.trigger_failed`."""

    schedule_id: str
    reason: Literal["recurrence", "data-change"]
    due: str | None = None
    changes: list[str] = field(default_factory=list)
    state: str | None = None
    host: str = ""
    pid: int = 0
    listing_stored: bool = False


@event("schedule.trigger_failed")
class ScheduleTriggerFailed(_ScheduleEvent):
    """A schedule fired but its run could not be submitted (the pipeline is disabled, a
    parameter no longer fits ...); `error` says why."""

    schedule_id: str
    error: str
    due: str | None = None


# -- pipeline endpoints ----------------------------------------------------------------------


class _EndpointEvent(Event):
    @property
    def stream(self) -> str:
        return f"pipeline_endpoint:{self.endpoint_id}"


@event("pipeline_endpoint.published")
class PipelineEndpointPublished(_EndpointEvent):
    """A pipeline endpoint was made with its first published pipeline as version "0", the default."""

    endpoint_id: str
    name: str
    pipeline_id: str
    description: str | None = None


@event("pipeline_endpoint.pipeline_added")
class PipelineEndpointPipelineAdded(_EndpointEvent):
    """A published pipeline was added to an endpoint as its next `version` (and made the
    default when `make_default`)."""

    endpoint_id: str
    pipeline_id: str
    version: str
    make_default: bool = False


@event("pipeline_endpoint.default_changed")
class PipelineEndpointDefaultChanged(_EndpointEvent):
    """The endpoint's default version changed."""

    endpoint_id: str
    version: str


@event("pipeline_endpoint.renamed")
class PipelineEndpointRenamed(_EndpointEvent):
    """The endpoint was given a new name."""

    endpoint_id: str
    name: str


@event("pipeline_endpoint.disabled")
class PipelineEndpointDisabled(_EndpointEvent):
    """The endpoint was disabled: it refuses runs."""

    endpoint_id: str


@event("pipeline_endpoint.enabled")
class PipelineEndpointEnabled(_EndpointEvent):
    """The endpoint was enabled again."""

    endpoint_id: str


# -- bearer tokens of the REST API -----------------------------------------------------


class _TokenEvent(Event):
    @property
    def stream(self) -> str:
        return f"token:{self.id}"


@event("token.created")
class TokenCreated(_TokenEvent):
    """A bearer token of the REST API was made (`canalis token create NAME`): its `id`,
    `name` and the BLAKE3 `digest` of its text; the text itself is never recorded. (No field
    is called "token": the ledger redacts the values of such keys.)"""

    id: str
    name: str
    digest: str
    user: str = ""
    host: str = ""


@event("token.revoked")
class TokenRevoked(_TokenEvent):
    """A bearer token was revoked: the server refuses it from now on."""

    id: str
    name: str
    user: str = ""


# -- store housekeeping ---------------------------------------------------------------------


class _StoreEvent(Event):
    @property
    def stream(self) -> str:
        return "store"


@event("store.collected", version=2)
class ObjectsCollected(_StoreEvent):
    """Garbage collection removed these objects from the store. `batch` names the
    store.collection_intended of the same gc_id that this completes (null before version 2,
    which had no intents); `finished_by` is the gc_id of a later collection that finished an
    interrupted one; `spared` lists intended objects it kept because an event recorded
    after the intent names them again (or they were written again after it)."""

    gc_id: str
    digests: list[str] = field(default_factory=list)
    bytes: int = 0
    batch: int | None = None
    finished_by: str | None = None
    spared: list[str] = field(default_factory=list)


@event("gc.started")
class GcStarted(_StoreEvent):
    """A garbage collection started with this retention policy."""

    gc_id: str
    policy: dict = field(default_factory=dict)


@event("gc.completed")
class GcCompleted(_StoreEvent):
    """A garbage collection finished."""

    gc_id: str
    removed_objects: int = 0
    removed_bytes: int = 0
    kept: dict = field(default_factory=dict)



@event("store.collection_intended")
class CollectionIntended(_StoreEvent):
    """Garbage collection gc_id is about to remove these objects (its batch number `batch`),
    recorded before it deletes any of them; the store.collected with the same gc_id and batch
    says it did. An intent with no such completion is an unfinished collection (the collector
    was killed): `verify` does not report its objects as missing, and the next `canalis gc`
    finishes it."""

    gc_id: str
    batch: int
    digests: list[str] = field(default_factory=list)
    bytes: int = 0


@event("gc.folders_removed")
class WorkFoldersRemoved(_StoreEvent):
    """Garbage collection removed working folders of failed or abandoned step runs (under
    .canalis/runs/) older than the retention; `folders` lists [run_id, step_run_id] pairs."""

    gc_id: str
    folders: list = field(default_factory=list)
    bytes: int = 0
    keep_failed_s: float = 0.0

# -- audit -----------------------------------------------------------------------------------


@event("annotation.added")
class AnnotationAdded(Event):
    """An auditor's note about a stream (`canalis ledger annotate`)."""

    stream_name: str
    message: str
    author: str | None = None

    @property
    def stream(self) -> str:
        return self.stream_name


# -- secrets ---------------------------------------------------------------------------------


class _SecretEvent(Event):
    @property
    def stream(self) -> str:
        return f"secret:{self.name}"


@event("secret.stored")
class SecretStored(_SecretEvent):
    """A secret was added to (or replaced in) the workspace's keyvault; the name only, never
    the value nor a hash of it."""

    name: str


@event("secret.deleted")
class SecretDeleted(_SecretEvent):
    """A secret was removed from the workspace's keyvault (the name only)."""

    name: str


ArtifactCollected = ObjectsCollected  # the name STYLE.md uses
