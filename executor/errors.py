"""Errors of the executor. Each message names the steps or names involved and what to do."""


class ExecutorError(Exception):
    """Base of executor errors."""


class PlanError(ExecutorError):
    """The pipeline cannot be planned; raised before anything runs."""


class CycleError(PlanError):
    pass


class MissingProducerError(PlanError):
    pass


class DuplicateProducerError(PlanError):
    pass


class UnknownParameterError(PlanError):
    pass


class StepLaunchError(ExecutorError):
    """The step's process could not be started (script missing, interpreter missing)."""


class DatasetVersionError(ExecutorError):
    """A dataset name is taken by other content and no new version was asked for."""


class PathEscapeError(PlanError, ValueError):
    """A path or name from user input would reach outside its root: absolute, `..` climbing
    out, a NUL byte, text that is not UTF-8, or a symlink that leads out of the folder."""


class ParameterValueError(PlanError, ValueError):
    """A pipeline parameter or literal argument that cannot reach a step's command line as
    text (bytes, a NUL byte, a lone surrogate)."""


class ExecutorNotStarted(ExecutorError):
    """A run's executor process exited before it took the run; the message quotes its log."""


class PublishedNotFound(ExecutorError):
    """No published pipeline, pipeline endpoint, endpoint version or schedule has that id or name."""


class PublishedDisabled(ExecutorError):
    """The published pipeline (or endpoint, or schedule) is disabled: it refuses runs until enabled."""


class PublishError(ExecutorError):
    """A pipeline, endpoint or schedule cannot be published or changed as asked (a snapshot gone
    from the store, a name already taken, a bad setting); nothing was recorded."""


class ParameterTypeError(PlanError, ValueError):
    """A parameter value of a published pipeline's run does not have its default's type."""


class RecurrenceError(PublishError, ValueError):
    """A schedule's recurrence cannot be used (unknown frequency or time zone, hours out of range ...)."""


class TokenError(ExecutorError):
    """A bearer token cannot be made or revoked as asked (a bad or taken name, no such token)."""
class UnknownStreamError(ExecutorError):
    """A note (`canalis ledger annotate`) about a stream the ledger has no event on."""
class EnvironmentBuildError(ExecutorError):
    """A step's environment could not be materialised (a package pip could not install, no
    conda for conda packages, a base image missing from the Docker engine); the message names
    the environment, what failed and what to do."""


class DockerUnavailable(ExecutorError):
    """A step is to run in a Docker container and no Docker engine answers (or the `docker`
    Python package is missing); the message says how to start or point at one."""


class DaskUnavailable(ExecutorError):
    """A step is to run on a Dask cluster and the `distributed` package is missing; the message
    names the extra that installs it (`pip install canalis[dask]`)."""


class WorkerLost(ExecutorError):
    """The Dask worker running a step was lost and no further attempt is allowed (or no worker
    is left); the message names the worker."""
