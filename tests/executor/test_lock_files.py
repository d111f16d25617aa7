"""Reuse-key locks leave no file behind once released, still exclude each other across real
processes, and `canalis gc` reports (and removes) lock files nobody holds."""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path

from canalis.executor.locks import remove_unused, single_flight


def _bump(locks_dir: str, counter: str, key: str, times: int) -> None:
    for _ in range(times):
        with single_flight(Path(locks_dir), key):
            value = int(Path(counter).read_text() or "0")  # read, pause, write: loses counts unless exclusive
            time.sleep(0.001)
            Path(counter).write_text(str(value + 1))


def test_single_flight_excludes_across_processes_and_leaves_no_file(tmp_path):
    locks, counter = tmp_path / "locks", tmp_path / "counter"
    counter.write_text("0")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump, args=(str(locks), str(counter), "k" * 64, 40)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert counter.read_text() == "160"
    assert list(locks.iterdir()) == []


def test_a_held_lock_is_kept_and_an_unused_one_removed(tmp_path):
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "gc.lock").touch()
    (locks / "secrets.lock").touch()  # taken another way (the keyvault's own flock): never removed
    (locks / ("a" * 64 + ".lock")).touch()  # left by an older canalis: nobody holds it
    with single_flight(locks, "b" * 64):
        assert remove_unused(locks, dry_run=True) == (2, 1)
        assert (locks / ("a" * 64 + ".lock")).exists()
        assert remove_unused(locks) == (2, 1)
        assert sorted(p.name for p in locks.iterdir()) == ["b" * 64 + ".lock", "gc.lock", "secrets.lock"]
    assert sorted(p.name for p in locks.iterdir()) == ["gc.lock", "secrets.lock"]


def _opened(pid: int, path: Path, inherited: int) -> bool:
    """Whether process `pid` has opened `path` itself: the descriptor it inherited at fork,
    number `inherited`, names the path from the start and is not counted."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        if fd.name == str(inherited):
            continue
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


def test_a_waiter_on_a_removed_file_takes_the_current_one(tmp_path):
    """A process waiting on the lock file its holder removes on release must not believe it
    holds the lock once it gets that file's flock: a newcomer may hold the new file's."""
    locks = tmp_path / "locks"
    locks.mkdir()
    key = "c" * 64
    path = locks / f"{key}.lock"
    old = os.open(path, os.O_CREAT | os.O_RDWR)
    fcntl.flock(old, fcntl.LOCK_EX)  # the holder
    ctx = multiprocessing.get_context("fork")
    done = ctx.Event()

    def take():
        with single_flight(locks, key):
            done.set()

    p = ctx.Process(target=take)
    p.start()
    deadline = time.monotonic() + 30
    while not _opened(p.pid, path, old):  # the waiter has the old file open and waits for its lock
        assert time.monotonic() < deadline and p.is_alive()
        time.sleep(0.01)
    os.unlink(path)  # the holder releases as single_flight does: remove, then unlock...
    new = os.open(path, os.O_CREAT | os.O_RDWR)
    fcntl.flock(new, fcntl.LOCK_EX)  # ...and a newcomer takes the new file's lock meanwhile
    fcntl.flock(old, fcntl.LOCK_UN)
    os.close(old)
    try:
        assert not done.wait(0.5)  # the waiter got the removed file's lock, and waits on
    finally:
        os.unlink(path)
        fcntl.flock(new, fcntl.LOCK_UN)
        os.close(new)
    p.join(30)
    assert p.exitcode == 0 and done.is_set()
