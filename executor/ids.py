"""Random ids (run ids, step run ids, temporary names) from `os.urandom`, in the formats
`uuid.uuid4()` gives them, without importing `uuid`: its import loads `platform` and
`_uuid`, milliseconds of a submit that needs sixteen random bytes."""
from __future__ import annotations

import os


def random_hex(chars: int = 32) -> str:
    """`chars` random hex digits: `uuid.uuid4().hex[:chars]`'s format up to 12 (a uuid4's first
    12 digits are all random), all random beyond (temporary names, where no one reads a version)."""
    return os.urandom((chars + 1) // 2).hex()[:chars]


def uuid4_text(raw: bytes | None = None) -> str:
    """A random (version 4, RFC 4122 variant) UUID as text, `str(uuid.uuid4())`'s format.
    `raw`: the 16 random bytes to use (os.urandom's by default)."""
    b = bytearray(os.urandom(16) if raw is None else raw)
    if len(b) != 16:
        raise ValueError(f"a UUID is made of 16 bytes, not {len(b)}")
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # variant RFC 4122
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


__all__ = ["random_hex", "uuid4_text"]
