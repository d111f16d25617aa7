"""canalis.ledger: the append-only, hash-chained event log and its projections.

    from canalis.ledger import FORMAT_VERSION, Ledger, Recorded
    from canalis.ledger import events as ev
    led = Ledger(path); led.append(ev.RunSubmitted(run_id="r1", experiment="demo", ...))

The format (events table, canonical JSON, hash chain) is documented in docs/events.md.
"""
from canalis.ledger.log import FORMAT_VERSION, Ledger
from canalis.ledger.record import Recorded, VerifyResult

__all__ = ["FORMAT_VERSION", "Ledger", "Recorded", "VerifyResult"]
