"""Run as a separate process by the concurrency tests: append events to a ledger.

usage: python ledger_appender.py DB COUNT TAG [GO_FILE]   (COUNT 0 = until killed)
Waits for GO_FILE to exist (so that several processes start together), then appends one
event per transaction, printing nothing.
"""
import os
import sys
import time

from canalis.ledger import Ledger
from canalis.ledger import events as ev


def main():
    db, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    go = sys.argv[4] if len(sys.argv) > 4 else None
    led = Ledger(db)
    if go:
        open(f"{go}.ready.{tag}", "w").close()
    while go and not os.path.exists(go):
        time.sleep(0.001)
    run_id = f"run-{tag}"
    led.append(ev.RunSubmitted(run_id=run_id, experiment="concurrency", host="h", pid=os.getpid(), user="u"))
    i = 1
    while count == 0 or i < count:
        sid = f"{tag}.s{i}"
        if i % 3 == 0:
            led.append(ev.MetricLogged(run_id=run_id, name="i", value=i))
        elif i % 3 == 1:
            led.append(ev.StepStarted(run_id=run_id, step_run_id=sid, step_name="a", reuse_key=f"k{i % 5}"))
        else:
            led.append(ev.StepCompleted(run_id=run_id, step_run_id=f"{tag}.s{i - 1}", step_name="a",
                                        reuse_key=f"k{(i - 1) % 5}", outputs={"o": f"{i:064x}"}))
        i += 1
    led.close()


if __name__ == "__main__":
    main()
