"""Redaction of credential-looking payload fields before they reach the ledger.

The rule (docs/events.md, "Redaction"), applied to every dict key at any depth:

1. The key is split into lower-case words at `_`, `-`, `.`, spaces and camelCase
   boundaries (`storageAccountKey` -> storage, account, key).
2. The key is redacted when
   a. its squashed form (words joined, nothing between) contains one of
      ``password passwd secret apikey accesskey privatekey connectionstring credential``, or
   b. one of its words is ``token tokens auth authorization connstr pwd``, or
   c. its last word is ``key`` (`key`, `api_key`, `account_key`, `sas-key`, `storageKey`).
3. Exception: keys in ALLOWED (`reuse_key`) are our own structural fields and are kept.

A redacted key keeps its name; its value (whatever it was, even a dict) becomes "[REDACTED]".
Words that merely contain a stem are kept: `author`, `tokenizer`, `keyboard`, `monkey`, `keys`.
"""
from __future__ import annotations

import functools
import re

REDACTED = "[REDACTED]"
ALLOWED = frozenset({"reuse_key"})
SUBSTRINGS = ("password", "passwd", "secret", "apikey", "accesskey", "privatekey", "connectionstring", "credential")
WORDS = frozenset({"token", "tokens", "auth", "authorization", "connstr", "pwd"})

_split = re.compile(r"[_\-.\s]+")
_camel = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a payload key looks like it holds a credential (see module docstring)."""
    if key in ALLOWED:
        return False
    words = [w.lower() for part in _split.split(key) for w in _camel.split(part) if w]
    if not words:
        return False
    squashed = "".join(words)
    if any(s in squashed for s in SUBSTRINGS):
        return True
    if any(w in WORDS for w in words):
        return True
    return words[-1] == "key"


def redact(value):
    """A copy of `value` with every credential-looking key's value replaced by "[REDACTED]".
    Returns the same object when nothing needed redacting (the common case)."""
    if isinstance(value, dict):
        out = None
        for k, v in value.items():
            if is_secret_key(k):
                nv = REDACTED
            elif isinstance(v, (dict, list)):
                nv = redact(v)
            else:
                nv = v
            if nv is not v and out is None:
                out = dict(value)
            if out is not None:
                out[k] = nv
        return value if out is None else out
    if isinstance(value, list):
        out = None
        for i, v in enumerate(value):
            nv = redact(v) if isinstance(v, (dict, list)) else v
            if nv is not v and out is None:
                out = list(value)
            if out is not None:
                out[i] = nv
        return value if out is None else out
    return value
