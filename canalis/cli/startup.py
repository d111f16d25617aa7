"""How a `canalis` process starts, whichever way its command line is parsed (canalis/cli/entry.py
or the click group, canalis/cli/group.py). Both functions are for the process that is the
command only: a program that calls the command group (a test's CliRunner) keeps its collector
as it is."""
from __future__ import annotations


#: how long a `canalis` process runs before its cycle collector starts (see `collect_later`)
COLLECT_AFTER_S = 0.5


def collect_later(delay_s: float | None = None):
    """Start the cycle collector only after `delay_s`. A command's first moments allocate a
    few hundred thousand objects (its imports, the plan, the events to record) that live as
    long as the process or are freed by reference counting; the collector would walk them some
    thirty times for nothing (milliseconds of a fully reused submit). A command that ends
    sooner never runs it; one that goes on (following a run, `serve`) collects as usual from
    then on. Returns the timer that turns it on (None when the collector was already off)."""
    import gc
    import threading

    if not gc.isenabled():
        return None
    gc.disable()
    timer = threading.Timer(COLLECT_AFTER_S if delay_s is None else delay_s, gc.enable)
    timer.daemon = True  # never keeps the process alive
    timer.start()
    return timer


def freeze_imports(modules=()):
    """Import `modules`, then set every object the process has made so far aside from the cycle
    collector (`gc.freeze`). What the interpreter's start and the imports make (modules,
    classes, functions) lives as long as the process, yet the interpreter's last collection at
    exit walks and tears all of it down: about 9 ms of a fully reused submit's 100. Set aside,
    it is simply left to the process's end.

    Only import-time objects are frozen, so call this before anything holds a resource.
    Everything made afterwards (the objects of the pipeline file a submit runs) is collected and
    finalized at exit as before. The ledger's and the store's connections are not left to that:
    the command closes them before it exits (canalis/opened.py), and the last connection
    checkpoints and removes its `-wal` and `-shm` files (tests/canalis/test_cli_startup.py).
    Freezing at exit instead would save a few more milliseconds and leave the objects made
    afterwards unfinalized."""
    import gc
    import importlib

    for name in modules:
        importlib.import_module(name)
    gc.freeze()
