"""What the SDK's published-pipeline classes share: the server address of a workspace, and
turning the executor's errors into the SDK's exceptions."""
from __future__ import annotations

import contextlib

from canalis.exceptions import ExperimentExecutionException, PipelineValidationError, UserErrorException


def base_url(workspace) -> str:
    from canalis.layout import DIRNAME
    from canalis.server.address import base_url as _base

    return _base(workspace.root / DIRNAME, workspace.settings)


@contextlib.contextmanager
def sdk_errors():
    """Executor errors as the SDK's: a plan or parameter problem is a PipelineValidationError,
    an executor that could not start an ExperimentExecutionException, the rest (not found,
    disabled, a bad setting) a UserErrorException; the message is kept."""
    from canalis.executor.errors import ExecutorError, ExecutorNotStarted, PlanError

    try:
        yield
    except PlanError as e:
        raise PipelineValidationError(str(e)) from None
    except ExecutorNotStarted as e:
        raise ExperimentExecutionException(str(e)) from None
    except ExecutorError as e:
        raise UserErrorException(str(e)) from None


def status_of(enabled: bool) -> str:
    return "Active" if enabled else "Disabled"
