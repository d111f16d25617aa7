"""A dataset registration (snapshot of the files, then `dataset.registered`) killed with SIGKILL
at random points.

After each kill `verify` is clean (a half-written pack or blob is a temp file, never an object;
the version is recorded whole or not at all), and registering again gives a complete
dataset: version 1 whether or not the killed registration got to record it.
"""
from __future__ import annotations

import random
import shutil
import sys
import time

import pytest

from canalis import layout
from canalis.core import Dataset, Workspace
from canalis.executor.integrity import verify_workspace
from tests.faults.faults import clean, clone_workspace, count_events, kill, start, wait_until

pytestmark = pytest.mark.slow

REGISTER = r"""
import pathlib, sys
from canalis.core import Dataset, Workspace
ws = Workspace(path=sys.argv[1])
files = Dataset.File.from_files(path=(ws.get_default_datastore(), "files/**"))
pathlib.Path(sys.argv[2]).write_text("")  # imports done: the registration itself starts
files.register(ws, "files")
"""


@pytest.fixture(scope="module")
def template(scratch):
    root = scratch / "reg-template"
    layout.init(root)
    files = root / ".canalis" / "datastores" / "workspaceblobstore" / "files"
    rng = random.Random(5)
    for i in range(400):  # small files go to packs, the large ones are stored loose
        (files / f"d{i % 7}").mkdir(parents=True, exist_ok=True)
        size = 3_000_000 if i % 40 == 0 else rng.randint(10, 4000)
        (files / f"d{i % 7}" / f"f{i:03d}.bin").write_bytes(rng.randbytes(size))
    return root


def _registering(root, ready):
    ready.unlink(missing_ok=True)
    proc = start([sys.executable, "-c", REGISTER, str(root), str(ready)])
    assert wait_until(ready.exists, proc), proc.stderr.read()
    return proc


def test_registration_killed_at_random_points_leaves_a_consistent_workspace(template, scratch):
    ready = scratch / "ready"
    measure = clone_workspace(template, scratch / "reg-measure")
    proc = _registering(measure, ready)
    t0 = time.monotonic()
    assert proc.wait(timeout=120) == 0
    span = time.monotonic() - t0  # how long a registration takes here: kill points are drawn in it
    shutil.rmtree(measure)

    outcomes = []
    for seed in range(8):
        rng = random.Random(3000 + seed)
        root = clone_workspace(template, scratch / f"reg{seed}")
        proc = _registering(root, ready)
        try:
            time.sleep(rng.uniform(0, span))
        finally:
            killed = kill(proc)
        recorded = count_events(root, "dataset.registered")
        outcomes.append(("killed" if killed else "finished", recorded))

        ws = Workspace(path=root)
        result = verify_workspace(ws.ledger, ws.store)
        assert clean(result), (seed, result)
        ds = Dataset.File.from_files(path=(ws.get_default_datastore(), "files/**")).register(ws, "files")
        assert ds.version == 1 and count_events(root, "dataset.registered") == 1, seed
        source = root / ".canalis" / "datastores" / "workspaceblobstore" / "files"
        entries = ws.store.get_tree(ds._tree)
        assert len(entries) == 400, seed
        for e in entries:
            assert ws.store.get_bytes(e.digest, verify=True) == (source / e.path).read_bytes(), (seed, e.path)
        assert clean(verify_workspace(ws.ledger, ws.store)), seed
        ws.ledger.close()
        shutil.rmtree(root)
    assert any(o == ("killed", 0) for o in outcomes), outcomes  # some kills landed before the record
