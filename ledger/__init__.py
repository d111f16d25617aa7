"""canalis.ledger: the append-only, hash-chained event log and its projections.

    from canalis.ledger import FORMAT_VERSION, Ledger, Recorded
    from canalis.ledger import events as ev
    led = Ledger(path); led.append(ev.RunSubmitted(run_id="r1", experiment="demo", ...))

The format (events table, canonical JSON, hash chain) is documented in docs/events.md.

The names are loaded on first use: a module of the package (the record classes of
ledger/frozen.py, which the executor's records build on) is imported without the log, its
storage and zstandard.
"""

_LAZY = {"FORMAT_VERSION": "canalis.ledger.log", "Ledger": "canalis.ledger.log",
         "Recorded": "canalis.ledger.record", "VerifyResult": "canalis.ledger.record"}

__all__ = ["FORMAT_VERSION", "Ledger", "Recorded", "VerifyResult"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'canalis.ledger' has no attribute {name!r}")
