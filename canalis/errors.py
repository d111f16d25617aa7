"""Errors raised by canalis's face (workspace, SDK, CLI). Each message names the thing and what to do."""


class CanalisError(Exception):
    """Base of every canalis error."""


class WorkspaceError(CanalisError):
    """The workspace is missing, malformed, or of a format this canalis does not read."""


class DatasetChangedWarning(UserWarning):
    """The files a registered dataset version was made from changed since: the version keeps
    the bytes it was registered with (`Dataset.get_by_name` warns, once per place it is called)."""


class ServeError(CanalisError):
    """`canalis serve` cannot start as asked (the address is taken, a setting is not a number)."""
class ReferenceNotFound(CanalisError):
    """A name given on the command line (a run, a digest prefix, a model or dataset version, a
    stream) names nothing in this workspace, or more than one thing; the message lists what
    there is. The command line reports it as a usage error (exit code 2)."""
