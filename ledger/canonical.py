"""Canonical JSON and the hash chain rule (docs/events.md, "Canonical encoding").

Canonical JSON is ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` encoded as UTF-8: object keys sorted, no
whitespace, non-ASCII characters written as themselves, NaN and Infinity refused.
Only JSON values are allowed: dict (string keys), list, str, int, float, bool, None.

An event's hash is ``BLAKE3(canonical_json(body))`` in hex, where body is the object
``{"id", "payload", "prev_hash", "seq", "stream", "time", "type", "version"}``;
``prev_hash`` is the previous event's hash, or 64 zeros for the first event.
"""
from __future__ import annotations

import json
import math

from blake3 import blake3

from canalis.ledger.errors import CanonicalEncodingError

GENESIS_HASH = "0" * 64

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# A string's JSON text as the canonical encoder writes it (ensure_ascii=False): the encoder's
# own C function, called directly (JSONEncoder.encode adds a Python call per string).
_dumps_str = json.encoder.encode_basestring


def check_json(value, path: str = "$"):
    """Returns `value` with tuples turned into lists; raises naming the first bad path."""
    if value is None or isinstance(value, (str, bool, int)):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise CanonicalEncodingError(f"{path} holds a string that is not valid Unicode (lone surrogate)") from None
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalEncodingError(
                f"{path} is {value!r}; canonical JSON has no NaN or Infinity — use null or a string"
            )
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CanonicalEncodingError(f"{path} has key {k!r} of type {type(k).__name__}; JSON object keys must be strings")
            out[k] = check_json(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [check_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise CanonicalEncodingError(
        f"{path} is a {type(value).__name__}; only dict, list, str, int, float, bool and None are JSON"
    )


def canonical_json(value) -> str:
    """The canonical JSON text of `value` (see module docstring). Refuses non-JSON values."""
    try:
        return _encoder.encode(value)
    except (ValueError, TypeError):
        check_json(value)  # raises with the offending path
        raise


def hash_message(seq: int, id: str, time: str, type: str, version: int, stream: str,
                 payload_json: str, prev_hash: str) -> bytes:
    """The bytes hashed for one event: canonical JSON of its body, built around the stored
    payload text (which is already canonical) so that it never needs re-encoding."""
    return (
        '{"id":' + _dumps_str(id)
        + ',"payload":' + payload_json
        + ',"prev_hash":' + _dumps_str(prev_hash)
        + ',"seq":' + str(int(seq))
        + ',"stream":' + _dumps_str(stream)
        + ',"time":' + _dumps_str(time)
        + ',"type":' + _dumps_str(type)
        + ',"version":' + str(int(version))
        + "}"
    ).encode("utf-8")


def event_hash(seq, id, time, type, version, stream, payload_json, prev_hash) -> str:
    return blake3(hash_message(seq, id, time, type, version, stream, payload_json, prev_hash)).hexdigest()
