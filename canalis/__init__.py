"""canalis: a local-first, offline engine for machine-learning pipelines.

The most used SDK v1 names are importable from here; they load on first use so that
`import canalis` stays cheap for the CLI.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module that defines it (filled in as the SDK modules land)
_LAZY: dict[str, str] = {}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'canalis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
