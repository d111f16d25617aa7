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
