"""Several processes and several threads appending at once: nothing lost, duplicated or misordered."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from canalis.ledger import Ledger
from canalis.ledger import events as ev

APPENDER = Path(__file__).with_name("ledger_appender.py")


def _spawn(db, count, tag, go=None):
    args = [sys.executable, str(APPENDER), str(db), str(count), tag] + ([str(go)] if go else [])
    return subprocess.Popen(args, stderr=subprocess.PIPE)


def _assert_intact(led: Ledger, expected: int):
    seqs = [r[0] for r in led.raw_rows()]
    assert seqs == list(range(1, expected + 1))
    ids = [r[1] for r in led.raw_rows()]
    assert len(set(ids)) == expected
    res = led.verify()
    assert res.ok, res
    assert res.checked == expected


@pytest.mark.slow
def test_four_processes_appending_2000_each(tmp_path):
    db, go = tmp_path / "ledger.db", tmp_path / "go"  # the four processes also race to create the file
    procs = [_spawn(db, 2000, f"p{i}", go) for i in range(4)]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"go.ready.p{i}").exists() for i in range(4)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    with Ledger(db) as led:
        _assert_intact(led, 8000)
        for i in range(4):
            assert sum(1 for _ in led.events(stream=f"run:run-p{i}")) == 2000
        live = led.projection_rows()
        led.rebuild()
        assert led.projection_rows() == live
        assert len(led.runs()) == 4


def test_threads_sharing_one_ledger(tmp_path):
    led = Ledger(tmp_path / "ledger.db")
    led.append(ev.RunSubmitted(run_id="r", experiment="e"))
    errors = []

    def work(t):
        try:
            for i in range(150):
                led.append(ev.MetricLogged(run_id="r", step_run_id=f"t{t}", name="m", value=i))
                if i % 50 == 0:
                    list(led.events(since=max(0, led.head()[0] - 5)))
        except Exception as e:  # collected and re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _assert_intact(led, 601)
    for t in range(4):
        assert [m.value for m in led.metrics(step_run_id=f"t{t}")] == list(range(150))
    led.close()


def test_process_killed_mid_append_leaves_a_verifiable_ledger(tmp_path):
    db = tmp_path / "ledger.db"
    Ledger(db).close()
    proc = _spawn(db, 0, "victim")
    with Ledger(db) as led:
        deadline = time.monotonic() + 60
        while led.count() < 300:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
        n = led.count()
        res = led.verify()
        assert res.ok and res.checked == n
        rec = led.append(ev.AnnotationAdded(stream_name="run:run-victim", message="executor was killed", author="t"))
        assert rec.seq == n + 1
        assert led.verify().ok
        live = led.projection_rows()
        led.rebuild()
        assert led.projection_rows() == live
