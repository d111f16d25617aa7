"""Event payloads compressed with zstd dictionaries trained on the ledger's own events.

A payload is canonical JSON (canonical.py); one event's is a few hundred bytes, mostly key
names and digests that recur from run to run, which zstd alone cannot exploit in so little
text. A dictionary can: trained on earlier payloads of the same ledger, it brings a payload
to a fifth or less of its size. The rules (docs/events.md, "Payload dictionaries"):

- Dictionaries live in the ledger itself, in `payload_dictionaries` (code, the BLAKE3 hex
  digest of its bytes, the seq of the first event it was made for, the bytes), so the file
  stays readable without canalis: any zstd decoder given the dictionary reads a payload.
- A dictionary is trained (zstd's `ZDICT` trainer, DICT_SIZE bytes) when an append takes the
  ledger's seq past 1024, 2048, 4096, ... (each power of two from FIRST_TRAINING on), on the
  payloads of the last SAMPLES events, this append's included. Training is deterministic: the
  same events give the same dictionary. It costs some tens of milliseconds, paid by the append
  that crosses the point (a dozen times over a million events).
- Each event is stored compressed with the newest dictionary (a zstd frame with its content
  size, no checksum, no dictionary id, without the 4-byte magic number that starts a zstd
  frame; the row's `dictionary` column names the code) when that is shorter, else as its text
  (`dictionary` NULL). Before the first dictionary, every
  payload is text. Old rows keep the dictionary they were written with.
"""
from __future__ import annotations

import zstandard
from blake3 import blake3

FIRST_TRAINING = 1024
SAMPLES = 2048
DICT_SIZE = 4096
LEVEL = 3
#: frames without zstd's 4-byte magic number (28 b5 2f fd), which every payload would repeat
FORMAT = zstandard.FORMAT_ZSTD1_MAGICLESS

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS payload_dictionaries (
        code INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        from_seq INTEGER NOT NULL,
        content BLOB NOT NULL
    )""",
)


def training_due(before: int, after: int) -> bool:
    """True when an append taking the last seq from `before` to `after` crosses a training
    point (FIRST_TRAINING, twice that, and so on)."""
    point = FIRST_TRAINING
    while point <= after:
        if point > before:
            return True
        point *= 2
    return False


def train(samples: list[bytes]) -> bytes | None:
    """A dictionary trained on `samples`, or None when zstd finds too little to train on."""
    try:
        return zstandard.train_dictionary(DICT_SIZE, samples).as_bytes()
    except zstandard.ZstdError:
        return None


class Payloads:
    """The compressors and decompressors of one ledger's dictionaries, cached by digest (a
    code is read afresh from the file at each use: it could name another dictionary after
    a rolled-back transaction of another process)."""

    def __init__(self):
        self._dicts: dict[str, zstandard.ZstdCompressionDict] = {}
        self._compressors: dict[str, zstandard.ZstdCompressor] = {}
        self._decompress: dict[str, object] = {}

    def _dict(self, conn, code: int, digest: str):
        d = self._dicts.get(digest)
        if d is None:
            row = conn.execute("SELECT content FROM payload_dictionaries WHERE code = ?", (code,)).fetchone()
            d = self._dicts[digest] = zstandard.ZstdCompressionDict(bytes(row[0]))
        return d

    def compressor(self, conn):
        """(code, compress function) of the newest dictionary, or None when there is none yet."""
        row = conn.execute("SELECT code, digest FROM payload_dictionaries ORDER BY code DESC LIMIT 1").fetchone()
        if row is None:
            return None
        code, digest = row
        comp = self._compressors.get(digest)
        if comp is None:
            comp = self._compressors[digest] = zstandard.ZstdCompressor(
                dict_data=self._dict(conn, code, digest), compression_params=zstandard.ZstdCompressionParameters.from_level(
                    LEVEL, format=FORMAT, write_content_size=True, write_checksum=False, write_dict_id=False))
        return code, comp.compress

    def add(self, conn, content: bytes, from_seq: int) -> None:
        """Record a new dictionary (inside the caller's write transaction)."""
        digest = blake3(content).hexdigest()
        conn.execute("INSERT OR IGNORE INTO payload_dictionaries (digest, from_seq, content) VALUES (?, ?, ?)",
                     (digest, from_seq, content))

    def decompressors(self, conn) -> dict:
        """code -> a function from a stored frame to the payload's bytes, for every dictionary."""
        out = {}
        for code, digest in conn.execute("SELECT code, digest FROM payload_dictionaries").fetchall():
            fn = self._decompress.get(digest)
            if fn is None:
                fn = self._decompress[digest] = zstandard.ZstdDecompressor(
                    dict_data=self._dict(conn, code, digest), format=FORMAT).decompress
            out[code] = fn
        return out

    def decoder(self, conn):
        """A function (stored payload, dictionary code) -> the payload's canonical JSON text
        (None for a frame that cannot be read: its dictionary is missing, or it is damaged)."""
        table = self.decompressors(conn)

        def decode(payload, code):
            if type(payload) is bytes and code is not None:
                fn = table.get(code)
                try:
                    return fn(payload).decode("utf-8")
                except Exception:  # no such dictionary, or a damaged frame: no text (verify names it)
                    return None
            return payload

        return decode

    def samples(self, conn, batch_texts: list[str]) -> list[bytes]:
        """The payloads of the last SAMPLES events, the ones being appended (`batch_texts`) last."""
        own = [t.encode("utf-8") for t in batch_texts[-SAMPLES:]]
        need = SAMPLES - len(own)
        stored = []
        if need > 0:
            decode = self.decoder(conn)
            rows = conn.execute("SELECT payload, dictionary FROM event_log ORDER BY seq DESC LIMIT ?", (need,)).fetchall()
            for payload, code in reversed(rows):
                text = decode(payload, code)
                if isinstance(text, str):  # a payload that cannot be read (damaged) is left out
                    stored.append(text.encode("utf-8"))
        return stored + own
