"""How a running step talks to its executor without opening the ledger.

The executor writes `context.json` into the step's working folder and names it in the
environment variable CANALIS_STEP_CONTEXT. The step appends one JSON object per line to
the channel file the context names; the executor reads new complete lines while the step
runs and once more after it exits, turning each into a ledger event. A line the step
did not finish (it was killed mid-write) is ignored.

Messages: {"op": "metric", "name", "kind", "value", "description"}
          {"op": "tag", "tags": {...}}
          {"op": "artifact", "name", "digest", "size"}   (the step put the bytes in the store)

Requests are messages that want an answer (registering a model, looking one up). They carry
`"reply": <32 hex digits>`; the executor handles them in order with the other messages and
writes the answer, one JSON object, to `<replies>/<reply>.json` (a temp file renamed into
place, so the step never reads half of it). The step waits for that file, up to a timeout.
An answer is `{"ok": true, ...}` or `{"ok": false, "error": "<what went wrong and what to do>"}`.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

from canalis.executor.errors import ExecutorError

ENV_VAR = "CANALIS_STEP_CONTEXT"
#: seconds a step waits for the answer to a request
REPLY_TIMEOUT_S = 300.0
_REPLY_ID = re.compile(r"[0-9a-f]{32}")


class NoReply(ExecutorError):
    """A step's request got no answer from its executor in time."""


class ChannelWriter:
    """Step side: appends messages, one write per line so lines never interleave."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        line = json.dumps(message, sort_keys=True, allow_nan=False, default=str) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def request(self, message: dict, replies: str, timeout: float = REPLY_TIMEOUT_S, what: str = "the request") -> dict:
        """Send `message` and wait for the executor's answer (a dict with "ok"). Raises
        `NoReply` naming `what` when no answer comes within `timeout` seconds."""
        reply_id = uuid.uuid4().hex
        path = Path(replies) / f"{reply_id}.json"
        self.send({**message, "reply": reply_id})
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            try:
                answer = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                if time.monotonic() >= deadline:
                    raise NoReply(
                        f"the executor did not answer {what} within {timeout:g} s; it may have stopped (see "
                        "`canalis show RUN`), or the ledger may be busy: run the step again"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
                continue
            path.unlink(missing_ok=True)
            return answer


def write_reply(replies, reply_id, answer: dict) -> None:
    """Executor side: give a request its answer. A reply id that is not one the step side
    makes (32 hex digits) is ignored: it cannot name a file outside the replies folder."""
    if not isinstance(reply_id, str) or not _REPLY_ID.fullmatch(reply_id):
        return
    folder = Path(replies)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{reply_id}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(answer, sort_keys=True, allow_nan=False, default=str), encoding="utf-8")
    os.replace(tmp, folder / f"{reply_id}.json")


class ChannelReader:
    """Executor side: messages not yet acknowledged, complete lines only. The reader moves
    past messages only on `ack()`, once their events are in the ledger, so a failed
    append is retried instead of losing them."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self._ends: list[int] = []  # where each message of the last read ends in the file

    def ack(self, count: int | None = None) -> None:
        """The first `count` messages of the last read (all when None) are done with."""
        if count is None:
            count = len(self._ends)
        if count > 0:
            self.offset = self._ends[count - 1]

    def read_new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        self._ends = []
        if end < 0:
            return []
        messages = []
        at = self.offset
        for raw in data[: end + 1].split(b"\n")[:-1]:
            at += len(raw) + 1
            self._ends.append(at)
            try:
                messages.append(json.loads(raw))
            except json.JSONDecodeError:
                messages.append({"op": "invalid", "raw": raw[:200].decode(errors="replace")})
        return messages
