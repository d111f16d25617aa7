"""The REST API's request and response bodies (pydantic), named as SDK v1's REST API named
them: `ExperimentName`, `ParameterAssignments`, the run's `Id`."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXPERIMENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$"


class SubmitRequest(BaseModel):
    """Run a published pipeline: the experiment it is recorded in and the parameter values."""

    model_config = ConfigDict(extra="forbid")

    ExperimentName: str = Field(pattern=EXPERIMENT_NAME, description="Experiment the run is recorded in.")
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict,
                                                 description="Pipeline parameter values by name; others keep their defaults.")
    Description: str | None = Field(default=None, max_length=10000, description="The run's description.")
    Tags: dict[str, str] = Field(default_factory=dict, description="Tags of the run.")


class EndpointSubmitRequest(SubmitRequest):
    """Run a version of a pipeline endpoint (the default unless `PipelineVersion` names one)."""

    PipelineVersion: str | None = Field(default=None, max_length=64, description='Version to run, e.g. "0".')


class SubmitResponse(BaseModel):
    Id: str = Field(description="The run's id: PipelineRun(experiment, Id) opens it.")
    RunId: str
    ExperimentName: str
    PipelineId: str
    PipelineEndpointId: str | None = None
    Status: str
    StatusUrl: str


class PipelineOut(BaseModel):
    Id: str
    Name: str
    Description: str | None
    Version: str | None
    Status: str
    Endpoint: str
    Parameters: dict[str, Any]
    ContinueOnStepFailure: bool
    PublishedAt: str
    PublishedFromRun: str | None


class EndpointVersionOut(BaseModel):
    Version: str
    PipelineId: str


class EndpointOut(BaseModel):
    Id: str
    Name: str
    Description: str | None
    DefaultVersion: str
    Versions: list[EndpointVersionOut]
    Status: str
    Endpoint: str


class StepOut(BaseModel):
    Id: str
    Name: str
    Status: str
    Reused: bool
    ReusedFrom: str | None
    StartTime: str | None
    EndTime: str | None
    DurationSeconds: float | None
    Outputs: dict[str, str]
    Error: str | None


class RunOut(BaseModel):
    Id: str
    ExperimentName: str | None
    Status: str
    SubmittedAt: str | None
    StartTime: str | None
    EndTime: str | None
    Parameters: dict[str, Any]
    Tags: dict[str, Any]
    Trigger: dict[str, Any] | None
    Error: str | None


class ScheduleOut(BaseModel):
    Id: str
    Name: str
    Description: str | None
    Status: str
    PipelineId: str | None
    PipelineEndpointId: str | None
    ExperimentName: str
    Recurrence: dict[str, Any] | None
    Datastore: str | None
    PathOnDatastore: str | None
    PollingIntervalMinutes: float | None
    ParameterAssignments: dict[str, Any]
    LastTriggeredAt: str | None
    TriggerCount: int
    LastError: str | None


class Health(BaseModel):
    status: str
    workspace: str
    version: str


class Problem(BaseModel):
    """Every refusal: what is wrong and what to do."""

    message: str
    detail: Any = None
