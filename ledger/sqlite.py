"""Importing sqlite-utils without the cost of pandas and numpy.

sqlite-utils imports pandas and numpy when they are installed, only to map their scalar
types to column types. The ledger never stores such values, and on a machine with pandas
installed the import costs about 0.6 s, paid by every `canalis` command. This imports
sqlite-utils with those two modules hidden, unless something already imported them.
"""
from __future__ import annotations

import sys


def import_sqlite_utils():
    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError, which sqlite-utils expects
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            del sys.modules[name]
    return sqlite_utils
