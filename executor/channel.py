"""How a running step talks to its executor without opening the ledger.

The executor writes `context.json` into the step's working folder and names it in the
environment variable CANALIS_STEP_CONTEXT. The step appends one JSON object per line to
the channel file the context names; the executor reads new complete lines while the step
runs and once more after it exits, turning each into a ledger event. A line the step
did not finish (it was killed mid-write) is ignored.

Messages: {"op": "metric", "name", "kind", "value", "description"}
          {"op": "tag", "tags": {...}}
          {"op": "artifact", "name", "digest", "size"}   (the step put the bytes in the store)
"""
from __future__ import annotations

import json
import os
import threading

ENV_VAR = "CANALIS_STEP_CONTEXT"


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


class ChannelReader:
    """Executor side: messages not yet acknowledged, complete lines only. The reader moves
    past messages only on `ack()`, once their events are in the ledger, so a failed
    append is retried instead of losing them."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self._next = 0

    def ack(self) -> None:
        self.offset = self._next

    def read_new(self) -> list[dict]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self._next = self.offset + end + 1
        messages = []
        for raw in data[: end + 1].splitlines():
            try:
                messages.append(json.loads(raw))
            except json.JSONDecodeError:
                messages.append({"op": "invalid", "raw": raw[:200].decode(errors="replace")})
        return messages
