"""What became of a step: its process's outcome (`Outcome`, executor/steprun.py) and the
step's result as the run's scheduler sees it (`StepResult`, executor/engine.py)."""
from __future__ import annotations


from canalis.executor.records import field, record
from canalis.ledger.status import StepStatus


@record(frozen=False)
class StepResult:
    status: StepStatus  # Completed | Reused | Failed | Canceled
    outputs: dict = field(default_factory=dict)


@record
class Outcome:
    """How the step's process ended: its exit code (None when it could not start), the last
    lines of its stderr (kept in memory: a full disk may have cut the file), and the errors
    writing its logs met (no space left: the logs are then incomplete and not stored)."""

    exit_code: int | None
    launch_error: str | None
    duration_s: float
    stderr_tail: tuple = ()
    log_errors: tuple = ()
