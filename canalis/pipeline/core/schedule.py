"""`Schedule`, `ScheduleRecurrence`, `TimeZone`: running a published pipeline on a recurrence or
when new data lands in a datastore folder (SDK v1's `azureml.pipeline.core.schedule`).

A schedule is recorded in the ledger (`schedule.created`); `canalis serve` runs the scheduler
that fires it (docs/schedules.md). Each fire is a `schedule.triggered` event, and its run
names the schedule in `run.submitted`'s `trigger`.
"""
from __future__ import annotations

from datetime import datetime

from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import given, warn_ignored
from canalis.pipeline.core._published import sdk_errors, status_of


class TimeZone:
    """Time zone names SDK v1 offered as an enum. canalis takes IANA names
    ("Europe/Berlin"); these attributes give the IANA name of the SDK v1 zones scripts use most."""

    UTC = "UTC"
    GMTStandardTime = "Europe/London"
    WEuropeStandardTime = "Europe/Berlin"
    CentralEuropeStandardTime = "Europe/Budapest"
    RomanceStandardTime = "Europe/Paris"
    EasternStandardTime = "America/New_York"
    CentralStandardTime = "America/Chicago"
    MountainStandardTime = "America/Denver"
    PacificStandardTime = "America/Los_Angeles"
    IndiaStandardTime = "Asia/Kolkata"
    ChinaStandardTime = "Asia/Shanghai"
    TokyoStandardTime = "Asia/Tokyo"
    AUSEasternStandardTime = "Australia/Sydney"


class ScheduleRecurrence:
    """How often a schedule fires: every `interval` `frequency` ("Minute", "Hour", "Day",
    "Week", "Month") from `start_time`, at `hours`/`minutes` (Day, Week) on `week_days`
    (Week), on the wall clock of `time_zone`."""

    def __init__(self, frequency, interval, start_time=None, time_zone=None, hours=None, minutes=None, week_days=None,
                 time_of_day=None):
        self.frequency = frequency
        self.interval = interval
        self.start_time = start_time
        self.time_zone = time_zone
        self.hours = hours
        self.minutes = minutes
        self.week_days = week_days
        self.time_of_day = time_of_day
        self.validate()

    def validate(self) -> None:
        from canalis.executor.recurrence import normalize

        with sdk_errors():
            normalize(self._as_dict())

    def _as_dict(self) -> dict:
        start = self.start_time.isoformat() if isinstance(self.start_time, datetime) else self.start_time
        d = {"frequency": self.frequency, "interval": self.interval, "start_time": start,
             "time_zone": getattr(self.time_zone, "value", self.time_zone), "hours": self.hours,
             "minutes": self.minutes, "week_days": self.week_days, "time_of_day": self.time_of_day}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def _from_dict(cls, d: dict | None):
        if d is None:
            return None
        return cls(d["frequency"], d["interval"], start_time=d.get("start_time"), time_zone=d.get("time_zone"),
                   hours=d.get("hours"), minutes=d.get("minutes"), week_days=d.get("week_days"))

    def __repr__(self):
        return f"ScheduleRecurrence({self._as_dict()})"


def _recurrence(value):
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, ScheduleRecurrence):
        return value._as_dict()
    raise UserErrorException(f"recurrence must be a ScheduleRecurrence, got {value!r}")


def _datastore_name(datastore):
    if datastore is None or isinstance(datastore, str):
        return datastore
    name = getattr(datastore, "name", None)
    if not isinstance(name, str):
        raise UserErrorException(f"datastore must be a Datastore or its name, got {datastore!r}")
    return name


def _folder_listing(workspace, datastore, path_on_datastore) -> bytes | None:
    """The listing of the folder a data-change schedule watches, as it is now: what the
    schedule is compared with until it first fires (an empty listing when the folder does
    not exist yet)."""
    if datastore is None:
        return None
    from canalis.server.scheduler import folder_state, listing_bytes, watched_folder

    _, listing = folder_state(watched_folder(workspace, datastore, path_on_datastore))
    return listing_bytes(listing)


class Schedule:
    def __init__(self, workspace, row):
        self._workspace = workspace
        self._row = row

    # -- SDK v1 properties ---------------------------------------------------------------
    id = property(lambda self: self._row.schedule_id)
    name = property(lambda self: self._row.name)
    description = property(lambda self: self._row.description)
    pipeline_id = property(lambda self: self._row.pipeline_id)
    pipeline_endpoint_id = property(lambda self: self._row.pipeline_endpoint_id)
    experiment_name = property(lambda self: self._row.experiment)
    pipeline_parameters = property(lambda self: dict(self._row.parameters or {}))
    datastore_name = property(lambda self: self._row.datastore)
    path_on_datastore = property(lambda self: self._row.path_on_datastore)
    polling_interval = property(lambda self: self._row.polling_interval)
    continue_on_step_failure = property(lambda self: self._row.continue_on_step_failure)
    data_path_parameter_name = property(lambda self: None)

    @property
    def status(self) -> str:
        return status_of(self._row.enabled)

    @property
    def recurrence(self):
        return ScheduleRecurrence._from_dict(self._row.recurrence)

    # -- creating --------------------------------------------------------------------------
    @staticmethod
    def create(workspace, name, pipeline_id=None, experiment_name=None, recurrence=None, description=None,
               pipeline_parameters=None, wait_for_provisioning=False, wait_timeout=3600, datastore=None,
               polling_interval=None, data_path_parameter_name=None, continue_on_step_failure=None,
               path_on_datastore=None, pipeline_endpoint_id=None, _workflow_provider=None, _service_endpoint=None):
        """A schedule of a published pipeline (`pipeline_id`) or endpoint (`pipeline_endpoint_id`):
        on a `recurrence`, or when files change under `path_on_datastore` of `datastore`."""
        warn_ignored("Schedule.create", given(data_path_parameter_name=data_path_parameter_name))
        if not experiment_name:
            raise UserErrorException("Schedule.create needs experiment_name: the experiment its runs are recorded in")
        from canalis.core.experiment import Experiment

        Experiment(workspace, experiment_name)  # the name is checked now, not at the first fire
        ds = _datastore_name(datastore)
        if ds is not None and ds not in workspace.datastores:
            raise UserErrorException(f"no datastore named {ds!r}; register it first (Datastore.register_local)")
        with sdk_errors():
            row = workspace.session.create_schedule(
                name, experiment_name, pipeline_id=pipeline_id, endpoint_id=pipeline_endpoint_id,
                recur=_recurrence(recurrence), parameters=pipeline_parameters, datastore=ds,
                path_on_datastore=path_on_datastore, polling_interval=polling_interval, description=description,
                continue_on_step_failure=continue_on_step_failure,
                folder_listing=_folder_listing(workspace, ds, path_on_datastore))
        return Schedule(workspace, row)

    @staticmethod
    def create_for_pipeline_endpoint(workspace, name, pipeline_endpoint_id, experiment_name, recurrence=None,
                                     description=None, pipeline_parameters=None, wait_for_provisioning=False,
                                     wait_timeout=3600, datastore=None, polling_interval=None,
                                     data_path_parameter_name=None, continue_on_step_failure=None,
                                     path_on_datastore=None, _workflow_provider=None, _service_endpoint=None):
        return Schedule.create(workspace, name, experiment_name=experiment_name, recurrence=recurrence,
                               description=description, pipeline_parameters=pipeline_parameters, datastore=datastore,
                               polling_interval=polling_interval, data_path_parameter_name=data_path_parameter_name,
                               continue_on_step_failure=continue_on_step_failure, path_on_datastore=path_on_datastore,
                               pipeline_endpoint_id=pipeline_endpoint_id)

    # -- finding ----------------------------------------------------------------------------
    @staticmethod
    def get(workspace, id, _workflow_provider=None, _service_endpoint=None):
        from canalis.executor import schedules

        with sdk_errors():
            return Schedule(workspace, schedules.schedule(workspace.ledger, id))

    @staticmethod
    def list(workspace, active_only=True, pipeline_id=None, pipeline_endpoint_id=None, _workflow_provider=None,
             _service_endpoint=None) -> list:
        rows = workspace.ledger.schedules()
        return [Schedule(workspace, r) for r in rows if (r.enabled or not active_only)
                and pipeline_id in (None, r.pipeline_id) and pipeline_endpoint_id in (None, r.pipeline_endpoint_id)]

    @staticmethod
    def get_all(workspace, active_only=True, pipeline_id=None, pipeline_endpoint_id=None, _workflow_provider=None,
                _service_endpoint=None) -> list:
        return Schedule.list(workspace, active_only, pipeline_id, pipeline_endpoint_id)

    @staticmethod
    def get_schedules_for_pipeline_id(workspace, pipeline_id, _workflow_provider=None, _service_endpoint=None) -> list:
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(workspace, pipeline_endpoint_id, _workflow_provider=None,
                                               _service_endpoint=None) -> list:
        return Schedule.list(workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id)

    # -- changing -----------------------------------------------------------------------------
    def update(self, name=None, description=None, recurrence=None, pipeline_parameters=None, status=None,
               wait_for_provisioning=False, wait_timeout=3600, datastore=None, polling_interval=None,
               data_path_parameter_name=None, continue_on_step_failure=None, path_on_datastore=None):
        warn_ignored("Schedule.update", given(data_path_parameter_name=data_path_parameter_name))
        changes = {"name": name, "description": description, "recurrence": _recurrence(recurrence),
                   "parameters": pipeline_parameters, "datastore": _datastore_name(datastore),
                   "path_on_datastore": path_on_datastore, "polling_interval": polling_interval,
                   "continue_on_step_failure": continue_on_step_failure}
        with sdk_errors():
            self._row = self._workspace.session.update_schedule(self.id, changes)
        if status is not None:
            if status not in ("Active", "Disabled"):
                raise UserErrorException(f"status must be 'Active' or 'Disabled', got {status!r}")
            self._set_enabled(status == "Active")

    def _set_enabled(self, enabled: bool) -> None:
        with sdk_errors():
            self._row = self._workspace.session.set_schedule_enabled(self.id, enabled)

    def disable(self, wait_for_provisioning=False, wait_timeout=3600) -> None:
        self._set_enabled(False)

    def enable(self, wait_for_provisioning=False, wait_timeout=3600) -> None:
        self._set_enabled(True)

    # -- its runs ----------------------------------------------------------------------------
    def get_last_pipeline_run(self):
        """The newest run this schedule submitted (a PipelineRun), or None."""
        row = self._workspace.ledger.last_triggered_run(self.id)
        if row is None:
            return None
        from canalis.core.experiment import Experiment
        from canalis.pipeline.core.run import PipelineRun

        return PipelineRun(Experiment(self._workspace, row.experiment), row.run_id)

    def get_pipeline_runs(self) -> list:
        from canalis.core.experiment import Experiment
        from canalis.pipeline.core.run import PipelineRun

        return [PipelineRun(Experiment(self._workspace, r.experiment), r.run_id)
                for r in self._workspace.ledger.runs() if (r.trigger or {}).get("schedule_id") == self.id]

    def __repr__(self):
        return f"Schedule(name={self.name!r}, id={self.id!r}, status={self.status!r})"


__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]
