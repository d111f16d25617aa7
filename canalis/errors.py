"""Errors raised by canalis's face (workspace, SDK, CLI). Each message names the thing and what to do."""


class CanalisError(Exception):
    """Base of every canalis error."""


class WorkspaceError(CanalisError):
    """The workspace is missing, malformed, or of a format this canalis does not read."""
