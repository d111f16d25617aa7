"""A run's step logs read as streams, in bounded memory whatever their size.

While a step runs, its stdout and stderr grow in files of its working folder
(`.canalis/runs/<run>/<step run>/stdout.txt`); once it has ended they are blobs in the store,
named by the step's ledger events. `LogFollower` reads what is new since its last call from
whichever of the two is there, so `canalis logs --follow` and `wait_for_completion(show_output=True)`
print a step's output from its first byte while it runs and after. `head_chunks` and
`tail_start` select lines without holding more than one chunk (plus, for a tail, N offsets).
"""
from __future__ import annotations

import codecs
import os
from collections import deque
from typing import Callable, Iterator

from canalis import reports
from canalis.ledger.rows import StepRunRow

#: bytes read at a time from a log
CHUNK = 1 << 20
STREAMS = ("stdout", "stderr")


class LogSource:
    """Opens the log of one step run's stream: the live file while it exists, else the blob."""

    def __init__(self, ledger, store, runs_dir, run_id: str):
        self.ledger, self.store, self.runs_dir, self.run_id = ledger, store, runs_dir, run_id

    def live_path(self, row: StepRunRow, stream: str) -> str:
        return os.path.join(self.runs_dir, self.run_id, row.step_run_id, f"{stream}.txt")

    def open(self, row: StepRunRow, stream: str, offset: int = 0):
        """A binary stream positioned at `offset`, or None when the step has written nothing yet.
        The live file is complete once the digest is recorded (it is closed before it is stored),
        so it is read while it exists; the blob is used once the step's folder is gone."""
        digest = reports.log_digest(self.ledger, row, stream)
        try:
            f = open(self.live_path(row, stream), "rb")
        except FileNotFoundError:
            if digest is None:
                return None
            # (the live file may have been removed just after the row was read: the blob is there)
            f = self.store.open(digest)
            skip(f, offset)
            return f
        f.seek(offset)
        return f


def skip(f, n: int) -> None:
    """Read past `n` bytes of a stream that cannot seek (a compressed blob)."""
    while n > 0:
        got = f.read(min(CHUNK, n))
        if not got:
            return
        n -= len(got)


def chunks(f, limit: int | None = None) -> Iterator[bytes]:
    """The stream's bytes, CHUNK at a time, at most `limit` bytes (all when None)."""
    while limit is None or limit > 0:
        data = f.read(CHUNK if limit is None else min(CHUNK, limit))
        if not data:
            return
        if limit is not None:
            limit -= len(data)
        yield data


def head_chunks(source: Iterator[bytes], n: int) -> Iterator[bytes]:
    """The first `n` lines of `source`."""
    if n <= 0:
        return
    for data in source:
        found = data.count(b"\n")
        if found >= n:
            end = -1
            for _ in range(n):
                end = data.index(b"\n", end + 1)
            yield data[: end + 1]
            return
        n -= found
        yield data


def tail_start(source: Iterator[bytes], n: int) -> tuple[int, int]:
    """(offset where the last `n` lines begin, total size). A last line without a newline counts."""
    ends: deque[int] = deque(maxlen=n + 1)  # offsets just after the last n+1 newlines
    size, last = 0, b""
    for data in source:
        found, idx = [], len(data)
        while len(found) <= n:
            idx = data.rfind(b"\n", 0, idx)
            if idx < 0:
                break
            found.append(size + idx + 1)
        ends.extend(reversed(found))
        size += len(data)
        last = data[-1:]
    if n <= 0:
        return size, size
    ends_list = list(ends)
    if last == b"\n":
        return (ends_list[-(n + 1)] if len(ends_list) >= n + 1 else 0), size
    return (ends_list[-n] if len(ends_list) >= n else 0), size


class LogFollower:
    """What a run's steps printed since the last `poll`, per step run and stream."""

    def __init__(self, ledger, store, runs_dir, run_id: str, step: str | None = None, tail: int | None = None):
        self.source = LogSource(ledger, store, runs_dir, run_id)
        self.ledger, self.run_id, self.step, self.tail = ledger, run_id, step, tail
        self.offsets: dict[tuple[str, str], int] = {}
        self.started: set[tuple[str, str]] = set()

    def rows(self) -> list[StepRunRow]:
        return [r for r in self.ledger.step_runs(self.run_id) if self.step in (None, r.step_name)]

    def poll(self, emit: Callable[[StepRunRow, str, bytes, bool], None]) -> None:
        """Calls `emit(row, stream, data, first)` for every new piece of output; `first` is true
        for the first piece of a step run's stream. Reads up to the end each file has now."""
        for row in self.rows():
            for stream in STREAMS:
                key = (row.step_run_id, stream)
                if key not in self.offsets:
                    self.offsets[key] = self._start(row, stream)
                    if self.offsets[key] is None:
                        del self.offsets[key]
                        continue
                offset = self.offsets[key]
                f = self.source.open(row, stream, offset)
                if f is None:
                    continue
                with f:
                    size = _size(f)
                    for data in chunks(f, None if size is None else max(0, size - offset)):
                        emit(row, stream, data, key not in self.started)
                        self.started.add(key)
                        offset += len(data)
                        self.offsets[key] = offset

    def _start(self, row: StepRunRow, stream: str) -> int | None:
        """Where to start reading a stream seen for the first time: 0, or where its last
        `tail` lines begin (None: nothing written yet)."""
        if self.tail is None:
            return 0
        f = self.source.open(row, stream)
        if f is None:
            return None
        with f:
            return tail_start(chunks(f), self.tail)[0]


def _size(f) -> int | None:
    """The current size of a live file (so a poll ends even while the step keeps writing)."""
    try:
        return os.fstat(f.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


class LinePrefixer:
    """Decodes a stream's bytes (UTF-8, bad bytes replaced) and puts `prefix` before each line,
    across chunk boundaries: for the output a submit echoes."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.at_line_start = True

    def feed(self, data: bytes, final: bool = False) -> str:
        text = self._decoder.decode(data, final)
        if not text:
            return ""
        head = self.prefix if self.at_line_start else ""
        if text.endswith("\n"):
            self.at_line_start = True
            return head + text[:-1].replace("\n", "\n" + self.prefix) + "\n"
        self.at_line_start = False
        return head + text.replace("\n", "\n" + self.prefix)
