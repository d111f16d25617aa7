"""Run and step statuses: the values of the `status` column of `runs` and `step_runs`.

Both are `str` enums: a member equals its text (`RunStatus.Completed == "Completed"`) and
serialises as it, so the stored projections, `--json` output and anything printed hold the
same strings a plain `str` would. The groupings code needs (which run statuses are final,
which step statuses mean the step's process ran) are named here, once.

`RunStatus.Orphaned` is derived, never recorded: a run the ledger shows Queued or Running
whose executor process is gone (`executor/orphans.py`, `effective_status`).
"""
from __future__ import annotations

from enum import Enum


class _Status(str, Enum):
    """A `str` enum whose `str()` and `format()` give the value on every Python version
    (as `enum.StrEnum` does from 3.11 on): f-strings and tables print `Completed`."""

    __str__ = str.__str__
    __format__ = str.__format__


class RunStatus(_Status):
    """A run's status: Queued after run.submitted, Running once it starts, then Completed,
    Failed or Canceled (a resume makes a run Running again)."""

    Queued = "Queued"
    Running = "Running"
    Completed = "Completed"
    Failed = "Failed"
    Canceled = "Canceled"
    #: derived, never recorded: the ledger says Queued/Running but the executor is gone
    Orphaned = "Orphaned"

    @classmethod
    def terminal(cls) -> frozenset[RunStatus]:
        """Statuses a run ends in: nothing happens to it afterwards unless it is resumed."""
        return _RUN_TERMINAL

    @classmethod
    def active(cls) -> frozenset[RunStatus]:
        """Statuses the ledger records for a run that is not over (someone executes it, or
        should: see `Orphaned`)."""
        return _RUN_ACTIVE

    @classmethod
    def recorded(cls) -> frozenset[RunStatus]:
        """Statuses the `runs` projection can hold (every one but the derived `Orphaned`)."""
        return _RUN_RECORDED


class StepStatus(_Status):
    """A step run's status: Running after step.started, then Completed, Failed or Canceled
    (its process ended), Reused (another step run's result was taken), Skipped (it never
    started: an upstream step did not complete, or the run stopped), or Abandoned (its
    executor died before the step ended)."""

    Running = "Running"
    Completed = "Completed"
    Reused = "Reused"
    Failed = "Failed"
    Skipped = "Skipped"
    Canceled = "Canceled"
    Abandoned = "Abandoned"

    @classmethod
    def ran(cls) -> frozenset[StepStatus]:
        """The step's own process ran to an end in this step run (`counts.ran` of `canalis show`)."""
        return _STEP_RAN

    @classmethod
    def succeeded(cls) -> frozenset[StepStatus]:
        """The step's outputs exist: steps downstream of it may run."""
        return _STEP_SUCCEEDED

    @classmethod
    def unsuccessful(cls) -> frozenset[StepStatus]:
        """The step ended without outputs: steps downstream of it are skipped."""
        return _STEP_UNSUCCESSFUL


_RUN_TERMINAL = frozenset({RunStatus.Completed, RunStatus.Failed, RunStatus.Canceled})
_RUN_ACTIVE = frozenset({RunStatus.Queued, RunStatus.Running})
_RUN_RECORDED = _RUN_TERMINAL | _RUN_ACTIVE
_STEP_RAN = frozenset({StepStatus.Completed, StepStatus.Failed})
_STEP_SUCCEEDED = frozenset({StepStatus.Completed, StepStatus.Reused})
_STEP_UNSUCCESSFUL = frozenset({StepStatus.Failed, StepStatus.Skipped, StepStatus.Canceled, StepStatus.Abandoned})

__all__ = ["RunStatus", "StepStatus"]
