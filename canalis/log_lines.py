"""`canalis logs --json`: a run's step output as one JSON object per line of text.

    {"step": "train", "step_run_id": "...", "stream": "stdout" | "stderr",
     "line": 1, "time": "2026-12-02T10:40:01.123456Z", "text": "epoch 1 loss 0.4"}

`line` counts from 1 within a step run's stream; `text` has no line ending and is decoded as
UTF-8 (an invalid byte becomes U+FFFD). canalis does not time-stamp what a step prints, so
`time` says when the line became known: for a step that has ended, the time its log was
recorded (the step run's end); for a running step followed with --follow, the time this
command read the line.
"""
from __future__ import annotations

import codecs
import json
import sys
from datetime import datetime, timezone


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JsonLines:
    """Feed it the pieces `LogFollower.poll` emits; it writes one JSON object per whole line."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self._decoders: dict[tuple, codecs.IncrementalDecoder] = {}
        self._partial: dict[tuple, str] = {}
        self._count: dict[tuple, int] = {}
        self._rows: dict[tuple, object] = {}

    def feed(self, row, stream: str, data: bytes) -> None:
        key = (row.step_run_id, stream)
        self._rows[key] = row
        dec = self._decoders.setdefault(key, codecs.getincrementaldecoder("utf-8")(errors="replace"))
        text = self._partial.pop(key, "") + dec.decode(data)
        *whole, last = text.split("\n")
        for line in whole:
            self._write(key, line)
        self._partial[key] = last

    def finish(self) -> None:
        """The last line of each stream, when it did not end with a newline."""
        for key, dec in self._decoders.items():
            rest = self._partial.pop(key, "") + dec.decode(b"", final=True)
            if rest:
                self._write(key, rest)

    def _write(self, key, text: str) -> None:
        row = self._rows[key]
        self._count[key] = n = self._count.get(key, 0) + 1
        ended = getattr(row, "finished_at", None)
        obj = {"step": row.step_name, "step_run_id": row.step_run_id, "stream": key[1], "line": n,
               "time": ended or _now(), "text": text.removesuffix("\r")}
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()


__all__ = ["JsonLines"]
