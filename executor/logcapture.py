"""A step's stdout or stderr as it is captured: a file in the step's working folder, hashed
as it is written.

The file is what `canalis logs --follow` reads while the step runs; once the step ends it is
stored as one blob. The digest is computed from the bytes as they pass, so storing the log
streams it once (no second read to hash it, no mapping of the whole file), and memory stays
bounded whatever the step prints.
"""
from __future__ import annotations

import os
import threading

import blake3

#: how much of the end of stderr is read for the tail quoted in a failed step's error
TAIL_BYTES = 64 << 10


class StepLog:
    def __init__(self, path):
        self.path = os.fspath(path)
        self._f = open(self.path, "wb", buffering=0)
        self._hash = blake3.blake3()
        self._lock = threading.Lock()
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append `data` (visible to readers at once: the file is unbuffered)."""
        with self._lock:
            self._f.write(data)
            self._hash.update(data)
            self.size += len(data)

    def close(self) -> None:
        with self._lock:
            self._f.close()

    def store(self, store) -> str:
        """Store the (closed) log as a blob; returns its digest."""
        return store.put_file(self.path, digest=self._hash.hexdigest())

    def tail_lines(self, n: int) -> list[str]:
        """The last `n` lines of the log, read from its last TAIL_BYTES bytes only."""
        with open(self.path, "rb") as f:
            start = max(0, self.size - TAIL_BYTES)
            f.seek(start)
            data = f.read(TAIL_BYTES)
        lines = data.decode(errors="replace").splitlines()
        if start > 0 and lines:
            lines = lines[1:] or lines  # the first line read is probably cut
        return lines[-n:]
