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
        self.error: OSError | None = None  # the first write that failed (a full disk): the log is incomplete

    def write(self, data: bytes) -> None:
        """Append `data` (visible to readers at once: the file is unbuffered). After a failed
        write (no space left), later data is dropped and `error` says why; the caller keeps
        reading the step's output, so the step is not blocked on a full pipe."""
        with self._lock:
            if self.error is not None:
                return
            try:
                self._f.write(data)
            except OSError as e:
                self.error = OSError(e.errno, e.strerror, self.path)
                return
            self._hash.update(data)
            self.size += len(data)

    def close(self) -> None:
        with self._lock:
            try:
                self._f.close()
            except OSError as e:
                if self.error is None:
                    self.error = OSError(e.errno, e.strerror, self.path)

    def remask(self, values, chunk: int = 1 << 20) -> None:
        """Mask every occurrence of the secret `values` in the closed log, also those written
        before the executor learned of a secret or split between two pieces of output: the
        file is rewritten a chunk at a time (bounded memory) and hashed again."""
        from canalis.ledger.redact import MASK, mask_pattern

        values = frozenset(v for v in values if v)
        pattern = mask_pattern(values, True)
        if pattern is None:
            return
        keep = max(len(v.encode("utf-8")) for v in values) - 1  # a match starting before len(data) - keep lies wholly in data
        mask = MASK.encode()
        digest, size, tmp = blake3.blake3(), 0, self.path + ".masking"
        with open(self.path, "rb") as src, open(tmp, "wb") as out:
            def emit(b: bytes) -> None:
                nonlocal size
                out.write(b)
                digest.update(b)
                size += len(b)

            carry = b""
            while True:
                piece = src.read(chunk)
                data = carry + piece
                limit = len(data) - keep if piece else len(data)
                pos = 0
                for m in pattern.finditer(data):
                    if m.start() >= limit:
                        break
                    emit(data[pos:m.start()])
                    emit(mask)
                    pos = m.end()
                upto = max(pos, limit)
                emit(data[pos:upto])
                carry = data[upto:]
                if not piece:
                    break
        os.replace(tmp, self.path)
        self._hash, self.size = digest, size

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
