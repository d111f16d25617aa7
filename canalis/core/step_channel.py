"""The step this process runs, if it runs one: its context (`context.json`, named by the
environment variable CANALIS_STEP_CONTEXT), its channel to the executor, the store.

Inside a step nothing opens the ledger. The run context (run_context.py) and the model
registry (model.py) send what they record, and ask what they need to know, through the
`StepChannel` here; a request waits for the executor's answer (executor/channel.py).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from canalis.exceptions import UserErrorException

_OPEN: dict[str, "StepChannel"] = {}  # channel file -> its StepChannel (one step per process)


class StepChannel:
    """What a step says to its executor, and the answers it gets."""

    def __init__(self, context: dict):
        from canalis.executor.channel import ChannelWriter

        self.context = context
        self._writer = ChannelWriter(context["channel"])
        #: files this process uploaded as the step run's files: name -> blob digest
        self.uploaded: dict[str, str] = {}

    @classmethod
    def of(cls, context: dict) -> "StepChannel":
        found = _OPEN.get(context["channel"])
        if found is None:
            found = _OPEN[context["channel"]] = cls(context)
        return found

    def send(self, message: dict) -> None:
        self._writer.send(message)

    def request(self, message: dict, what: str) -> dict:
        """Send a request and return the executor's answer; an answer that says the request
        failed raises `UserErrorException` with the executor's message."""
        from canalis.executor.channel import REPLY_TIMEOUT_S

        replies = self.context.get("replies")
        if not replies:
            raise UserErrorException(f"{what} needs an executor that answers its steps; this step was started by an "
                                     "older canalis: submit the pipeline again")
        answer = self._writer.request(message, replies, REPLY_TIMEOUT_S, what)
        if not answer.get("ok"):
            raise UserErrorException(answer.get("error") or f"{what} failed")
        return answer

    def store(self):
        from canalis.store import LocalStore

        # the workspace's store.chunk_compression, as the executor has it (a context written by an
        # older executor names none: the library default)
        return LocalStore(self.context["objects"], chunk_compression=self.context.get("chunk_compression") or "put")

    def runs_in(self, workspace) -> bool:
        """Whether this step runs in `workspace` (a `Workspace`)."""
        root = self.context.get("workspace")
        return bool(root) and Path(root).resolve() == Path(workspace.root).resolve()


def context() -> dict | None:
    """The context of the step this process runs, or None outside a step."""
    from canalis.executor.channel import ENV_VAR

    path = os.environ.get(ENV_VAR)
    if not path:
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def current(workspace=None) -> StepChannel | None:
    """The channel of the step this process runs (when `workspace` is given: only if the step
    runs in it), or None: the caller then reads and writes the workspace itself."""
    ctx = context()
    if ctx is None:
        return None
    channel = StepChannel.of(ctx)
    if workspace is not None and not channel.runs_in(workspace):
        return None
    return channel
