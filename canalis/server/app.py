"""The REST API of `canalis serve` (FastAPI): published pipelines, pipeline endpoints, runs,
schedules. docs/rest-api.md describes every route with curl examples.

Every route but `GET /health` needs `Authorization: Bearer <token>` with a valid token
(`canalis token create`, or the workspace's local token); a missing, unknown or revoked
token gets 401. A run is started exactly as `Experiment.submit` starts one (its own executor
process), so it goes on when the server stops. Refusals are JSON `{"message": ...}` with a
4xx status: 404 for an unknown id, 409 for a disabled pipeline or endpoint, 422 for a body
that is not what the route takes (bad JSON, unknown parameter, wrong type).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from canalis.ledger.rows import TokenRow
from canalis.server import models as m
from canalis.server.address import endpoint_url, pipeline_url

_bearer = HTTPBearer(auto_error=False, description="A token from `canalis token create NAME`.")


class Refused(Exception):
    """A request the API refuses: its status and message."""

    def __init__(self, status: int, message: str, detail=None):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def _iso(value) -> str | None:
    return None if value is None else str(value)


def _refusal(e: Exception) -> Refused:
    """The executor's errors as HTTP refusals (anything else is a server fault and is raised)."""
    from canalis.executor.errors import (
        ExecutorError, ExecutorNotStarted, PlanError, PublishedDisabled, PublishedNotFound,
    )

    if isinstance(e, PublishedNotFound):
        return Refused(404, str(e))
    if isinstance(e, PublishedDisabled):
        return Refused(409, str(e))
    if isinstance(e, PlanError):
        return Refused(422, str(e))
    if isinstance(e, ExecutorNotStarted):
        return Refused(503, str(e))
    if isinstance(e, ExecutorError):
        return Refused(400, str(e))
    raise e


@contextlib.contextmanager
def _refusing():
    from canalis.executor.errors import ExecutorError
    from canalis.exceptions import UserErrorException

    try:
        yield
    except ExecutorError as e:
        raise _refusal(e) from None
    except UserErrorException as e:
        raise Refused(422, str(e)) from None


def _who(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]):
    """The valid token the request carries (the ledger's row), or 401."""
    token = request.app.state.session.authenticate(credentials.credentials if credentials is not None else None)
    if token is None:
        raise Refused(401, "a valid bearer token is needed: send 'Authorization: Bearer <token>' with a token "
                           "from `canalis token create NAME` (revoked tokens are refused)")
    return token


Token = Annotated[TokenRow, Depends(_who)]


def create_app(workspace, base_url: str, scheduler=None, host: str = "127.0.0.1"):
    """The API of `workspace` (a canalis Workspace) and its web UI (canalis/server/ui).
    `base_url` is what endpoints are built on; `scheduler` (canalis/server/scheduler.py) is
    started and stopped with the app; `host` is the address listened on (the UI's pages are
    open without a token only on 127.0.0.1). Returns the ASGI app to serve."""
    from canalis import __version__ as version

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(title="canalis", version=version, lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None, description="Published pipelines, pipeline endpoints, runs and schedules of one "
                                              "canalis workspace (docs/rest-api.md).")
    session, ledger = workspace.session, workspace.ledger
    lock = threading.Lock()  # one writer of this process at a time: submits and changes are short

    app.state.session = session
    @app.exception_handler(Refused)
    async def refused(_request: Request, e: Refused):
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return JSONResponse({"message": e.message, "detail": e.detail}, status_code=e.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, e: RequestValidationError):
        problems = []
        for err in e.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse({"message": "the request is not what this route takes: " + "; ".join(problems)
                                        + "; nothing was submitted", "detail": None}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, e: StarletteHTTPException):
        return JSONResponse({"message": str(e.detail), "detail": None}, status_code=e.status_code)

    refusals = {401: {"model": m.Problem, "description": "No valid bearer token."},
                404: {"model": m.Problem, "description": "No such id."},
                422: {"model": m.Problem, "description": "The body or a parameter is refused; nothing was done."}}
    submit_refusals = {**refusals, 409: {"model": m.Problem, "description": "The pipeline or endpoint is disabled."}}

    # -- views --------------------------------------------------------------------------------
    def pipeline_out(row) -> m.PipelineOut:
        return m.PipelineOut(Id=row.pipeline_id, Name=row.name, Description=row.description, Version=row.version,
                             Status="Active" if row.enabled else "Disabled",
                             Endpoint=pipeline_url(base_url, row.pipeline_id),
                             Parameters=dict(row.plan.get("parameters") or {}),
                             ContinueOnStepFailure=bool(row.continue_on_step_failure),
                             PublishedAt=row.published_at, PublishedFromRun=row.published_from_run)

    def endpoint_out(row) -> m.EndpointOut:
        return m.EndpointOut(Id=row.endpoint_id, Name=row.name, Description=row.description,
                             DefaultVersion=row.default_version,
                             Versions=[m.EndpointVersionOut(Version=v["version"], PipelineId=v["pipeline_id"])
                                       for v in row.versions],
                             Status="Active" if row.enabled else "Disabled",
                             Endpoint=endpoint_url(base_url, row.endpoint_id))

    def schedule_out(row) -> m.ScheduleOut:
        return m.ScheduleOut(Id=row.schedule_id, Name=row.name, Description=row.description,
                             Status="Active" if row.enabled else "Disabled", PipelineId=row.pipeline_id,
                             PipelineEndpointId=row.pipeline_endpoint_id, ExperimentName=row.experiment,
                             Recurrence=row.recurrence, Datastore=row.datastore, PathOnDatastore=row.path_on_datastore,
                             PollingIntervalMinutes=row.polling_interval, ParameterAssignments=dict(row.parameters or {}),
                             LastTriggeredAt=row.last_triggered_at, TriggerCount=int(row.trigger_count or 0),
                             LastError=row.last_error)

    def run_out(run_id: str) -> m.RunOut:
        row = ledger.run(run_id)
        if row is None:
            raise Refused(404, f"no run has id {run_id!r}; `canalis runs` lists them")
        status = session.run_status(run_id)
        return m.RunOut(Id=row.run_id, ExperimentName=row.experiment, Status=str(getattr(status, "value", status)),
                        SubmittedAt=row.submitted_at, StartTime=row.started_at, EndTime=row.finished_at,
                        Parameters=dict(row.parameters or {}), Tags=dict(row.tags or {}), Trigger=row.trigger,
                        Error=row.error)

    def submitted(handle, experiment: str, pipeline_id: str, endpoint_id: str | None) -> m.SubmitResponse:
        status = session.run_status(handle.run_id)
        return m.SubmitResponse(Id=handle.run_id, RunId=handle.run_id, ExperimentName=experiment,
                                PipelineId=pipeline_id, PipelineEndpointId=endpoint_id,
                                Status=str(getattr(status, "value", status)),
                                StatusUrl=f"{base_url}/runs/{handle.run_id}")

    def submit(body: m.SubmitRequest, token, pipeline_id=None, endpoint_id=None, version=None) -> m.SubmitResponse:
        from canalis.pipeline.core.compile import refuse_secret_values

        trigger = {"via": "rest", "by": token.name}  # the token by its name (a key named "token" is redacted)
        with _refusing(), lock:
            handle = session.submit_published(
                body.ExperimentName, body.ParameterAssignments, pipeline_id=pipeline_id, endpoint_id=endpoint_id,
                version=version, trigger=trigger, description=body.Description, tags=body.Tags or None,
                vet=lambda plan, values: refuse_secret_values(plan, values, None))
        row = ledger.run(handle.run_id)
        return submitted(handle, body.ExperimentName, row.trigger["pipeline_id"], row.trigger.get("endpoint_id"))

    # -- routes -------------------------------------------------------------------------------
    @app.get("/health", response_model=m.Health, tags=["server"])
    def health():
        """Whether the server answers (no token needed)."""
        return m.Health(status="ok", workspace=workspace.name, version=version)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_token: Token):
        return app.openapi()

    @app.get("/pipelines", response_model=list[m.PipelineOut], responses=refusals, tags=["pipelines"])
    def list_pipelines(_token: Token, active_only: bool = False):
        return [pipeline_out(r) for r in ledger.pipelines() if r.enabled or not active_only]

    @app.get("/pipelines/{pipeline_id}", response_model=m.PipelineOut, responses=refusals, tags=["pipelines"])
    def get_pipeline(pipeline_id: str, _token: Token):
        from canalis.executor import published

        with _refusing():
            return pipeline_out(published.pipeline(ledger, pipeline_id))

    @app.post("/pipelines/{pipeline_id}/runs", response_model=m.SubmitResponse, status_code=201,
              responses=submit_refusals, tags=["pipelines"])
    def run_pipeline(pipeline_id: str, body: m.SubmitRequest, token: Token):
        """Run the published pipeline with `ParameterAssignments` (others keep their defaults)."""
        return submit(body, token, pipeline_id=pipeline_id)

    @app.post("/pipelines/{pipeline_id}/enable", response_model=m.PipelineOut, responses=refusals, tags=["pipelines"])
    def enable_pipeline(pipeline_id: str, _token: Token):
        with _refusing(), lock:
            return pipeline_out(session.set_pipeline_enabled(pipeline_id, True))

    @app.post("/pipelines/{pipeline_id}/disable", response_model=m.PipelineOut, responses=refusals, tags=["pipelines"])
    def disable_pipeline(pipeline_id: str, _token: Token):
        with _refusing(), lock:
            return pipeline_out(session.set_pipeline_enabled(pipeline_id, False))

    @app.get("/endpoints", response_model=list[m.EndpointOut], responses=refusals, tags=["endpoints"])
    def list_endpoints(_token: Token, active_only: bool = False):
        return [endpoint_out(r) for r in ledger.endpoints() if r.enabled or not active_only]

    @app.get("/endpoints/{endpoint_id}", response_model=m.EndpointOut, responses=refusals, tags=["endpoints"])
    def get_endpoint(endpoint_id: str, _token: Token):
        from canalis.executor import published

        with _refusing():
            return endpoint_out(published.endpoint(ledger, endpoint_id))

    @app.post("/endpoints/{endpoint_id}/runs", response_model=m.SubmitResponse, status_code=201,
              responses=submit_refusals, tags=["endpoints"])
    def run_endpoint(endpoint_id: str, body: m.EndpointSubmitRequest, token: Token):
        """Run a version of the endpoint: `PipelineVersion`, or the default version."""
        return submit(body, token, endpoint_id=endpoint_id, version=body.PipelineVersion)

    @app.post("/endpoints/{endpoint_id}/enable", response_model=m.EndpointOut, responses=refusals, tags=["endpoints"])
    def enable_endpoint(endpoint_id: str, _token: Token):
        with _refusing(), lock:
            return endpoint_out(session.set_endpoint_enabled(endpoint_id, True))

    @app.post("/endpoints/{endpoint_id}/disable", response_model=m.EndpointOut, responses=refusals, tags=["endpoints"])
    def disable_endpoint(endpoint_id: str, _token: Token):
        with _refusing(), lock:
            return endpoint_out(session.set_endpoint_enabled(endpoint_id, False))

    @app.get("/runs/{run_id}", response_model=m.RunOut, responses=refusals, tags=["runs"])
    def get_run(run_id: str, _token: Token):
        """The run's status ("Running", "Completed", "Failed", ...) and times."""
        return run_out(run_id)

    @app.get("/runs/{run_id}/steps", response_model=list[m.StepOut], responses=refusals, tags=["runs"])
    def get_steps(run_id: str, _token: Token):
        run_out(run_id)  # 404 for an unknown run
        return [m.StepOut(Id=s.step_run_id, Name=s.step_name, Status=str(getattr(s.status, "value", s.status)),
                          Reused=s.reused_from is not None, ReusedFrom=s.reused_run_id, StartTime=s.started_at,
                          EndTime=s.finished_at, DurationSeconds=s.duration_s,
                          Outputs={k: str(v) for k, v in (s.outputs or {}).items()}, Error=s.error)
                for s in ledger.step_runs(run_id)]

    @app.get("/schedules", response_model=list[m.ScheduleOut], responses=refusals, tags=["schedules"])
    def list_schedules(_token: Token, active_only: bool = False):
        return [schedule_out(r) for r in ledger.schedules() if r.enabled or not active_only]

    @app.get("/schedules/{schedule_id}", response_model=m.ScheduleOut, responses=refusals, tags=["schedules"])
    def get_schedule(schedule_id: str, _token: Token):
        from canalis.executor import schedules

        with _refusing():
            return schedule_out(schedules.schedule(ledger, schedule_id))

    @app.post("/schedules/{schedule_id}/enable", response_model=m.ScheduleOut, responses=refusals, tags=["schedules"])
    def enable_schedule(schedule_id: str, _token: Token):
        with _refusing(), lock:
            return schedule_out(session.set_schedule_enabled(schedule_id, True))

    @app.post("/schedules/{schedule_id}/disable", response_model=m.ScheduleOut, responses=refusals, tags=["schedules"])
    def disable_schedule(schedule_id: str, _token: Token):
        with _refusing(), lock:
            return schedule_out(session.set_schedule_enabled(schedule_id, False))

    from canalis.server import ui

    ui.install(app, workspace, host)
    return ui.Pages(app)


__all__ = ["Refused", "create_app"]
