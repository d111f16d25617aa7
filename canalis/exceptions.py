"""SDK v1 exception names (`azureml.exceptions`), raised where the SDK raised them."""
from canalis.errors import CanalisError


class AzureMLException(CanalisError):
    """Base of the SDK v1-named exceptions."""


class UserErrorException(AzureMLException):
    """The call was given something it cannot use; the message says what to change."""


class WorkspaceException(AzureMLException):
    pass


class ComputeTargetException(AzureMLException):
    pass


class ExperimentExecutionException(AzureMLException):
    """A run failed or could not be started."""


class ActivityFailedException(ExperimentExecutionException):
    """`wait_for_completion(raise_on_error=True)` on a run that failed."""


class PipelineValidationError(UserErrorException):
    """The pipeline cannot be planned (cycle, missing producer, duplicate output, unknown parameter)."""


class NotSupportedOfflineError(UserErrorException):
    """A cloud-only SDK v1 feature; the message names the local alternative."""


class UnsafePathError(UserErrorException, ValueError):
    """A path or name that would read or write outside its root (absolute, `..`, NUL, a
    symlink leading out of the folder); the message names the value and what to use instead."""
