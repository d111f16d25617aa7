"""How a `canalis` process starts, whichever way its command line is parsed (canalis/cli/entry.py
or the click group, canalis/cli/group.py)."""
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
