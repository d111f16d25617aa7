"""The reuse decision's look at the store (executor/reuse.py): a candidate counts only when
each output tree and every blob it names is stored, whatever garbage collection removed."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from canalis.executor.reuse import outputs_present
from canalis.store.local import LocalStore
from tests.store.store_helpers import numbered_files


def _store_with_files(root: Path, count: int) -> tuple[LocalStore, str, list[str]]:
    store = LocalStore(root / "objects")
    files = {}
    for i in range(count):
        path = root / "files" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content {i}\n")
        files[f"f{i}.txt"] = path
    tree = store.put_files(files).tree
    return store, tree, [e.digest for e in store.get_tree(tree)]


@settings(max_examples=25, deadline=None)
@given(count=st.integers(0, 12), data=st.data())
def test_outputs_count_as_present_exactly_when_the_tree_and_each_of_its_blobs_exist(count, data):
    with tempfile.TemporaryDirectory() as tmp:
        store, tree, digests = _store_with_files(Path(tmp), count)
        removed = data.draw(st.lists(st.sampled_from(digests), unique=True) if digests else st.just([]))
        drop_tree = data.draw(st.booleans())
        store.delete_many(removed + ([tree] if drop_tree else []))
        expected = store.exists(tree) and all(store.exists(d) for d in digests)
        if not drop_tree:  # the tree itself is read: it must be there
            assert outputs_present(store, {"out": tree}) == expected
        else:
            assert outputs_present(store, {"out": tree}) is False
        assert expected == (not removed and not drop_tree)


def test_the_blobs_of_an_output_are_looked_up_together(tmp_path):
    """An output of many files costs one read of its tree (no separate look whether it exists)
    and one batch for its blobs, not one lookup per file (the store's own methods, counted,
    not replaced)."""
    store, tree, digests = _store_with_files(tmp_path, 40)
    calls = {"exists": 0, "present": 0, "get_tree": 0}
    real_exists, real_present, real_get_tree = store.exists, store.present, store.get_tree

    def exists(d):
        calls["exists"] += 1
        return real_exists(d)

    def present(ds):
        calls["present"] += 1
        return real_present(ds)

    def get_tree(d):
        calls["get_tree"] += 1
        return real_get_tree(d)

    store.exists, store.present, store.get_tree = exists, present, get_tree
    assert outputs_present(store, {"out": tree}) is True
    assert calls == {"exists": 0, "present": 1, "get_tree": 1}


def test_an_output_tree_garbage_collection_removed_is_not_present(tmp_path):
    store, tree, _ = _store_with_files(tmp_path, 3)
    store.delete_many([tree])
    trees = {}
    assert outputs_present(store, {"a": tree}, trees) is False
    assert trees == {}


# -- several steps' candidates looked up together (reuse.Candidates) ------------------------------------------------

_KEYS = [c * 64 for c in "abcdef"] + ["not-a-digest"]


@settings(max_examples=40, deadline=None)
@given(completed=st.lists(st.tuples(st.sampled_from(_KEYS), st.sampled_from(["s0", "s1", "s2"])), max_size=12),
       likely=st.lists(st.sampled_from(_KEYS), max_size=5), asked=st.lists(st.sampled_from(_KEYS), max_size=8))
def test_candidates_looked_up_together_are_those_looked_up_alone(completed, likely, asked):
    """Whatever keys are guessed up front, each key asked gets exactly the list (and order)
    the one-key lookup gives, so the reuse decision made from it is the same."""
    import uuid

    from canalis.executor.reuse import Candidates
    from canalis.ledger import Ledger
    from canalis.ledger import events as ev

    with tempfile.TemporaryDirectory() as tmp:
        led = Ledger(Path(tmp) / "ledger.db")
        try:
            for i, (key, name) in enumerate(completed):
                led.append(ev.StepCompleted(run_id=f"r{i % 3}", step_run_id=str(uuid.uuid4()), step_name=name,
                                            reuse_key=key, outputs={"o": "d" * 64}))
            together = Candidates(led, likely)
            for key in asked:
                assert together(key) == led.reuse_candidates(key)
        finally:
            led.close()


# -- several steps' output trees and blobs looked up together (reuse.Prefetched) ------------------------------------


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 5), min_size=1, max_size=4), data=st.data())
def test_outputs_looked_up_together_are_present_exactly_when_looked_up_alone(sizes, data):
    """Whatever was removed (trees, some of their blobs) and whichever trees were read up front
    (some, none, digests of no tree, a digest that is not one), each output gets the decision
    and the entries the store alone gives. (Both are asked under `writing`: nothing is removed
    in between.)"""
    from canalis.executor.reuse import Prefetched

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LocalStore(root / "objects")
        trees, blobs = [], []
        for n, count in enumerate(sizes):
            files = numbered_files(root, n, count)
            if n % 2:  # packed with its blobs, as a step's outputs are
                with store.together() as together:
                    tree = together.put_files(files).tree
            else:  # loose
                tree = store.put_files(files).tree
            trees.append(tree)
            blobs += [e.digest for e in store.get_tree(tree)]
        removed = data.draw(st.lists(st.sampled_from(sorted(set(trees + blobs))), unique=True, max_size=4))
        store.delete_many(removed)
        ahead = data.draw(st.lists(st.sampled_from(trees + blobs + ["e" * 64, "not-a-digest"]), max_size=6))
        together = Prefetched(store, ahead)
        for tree in data.draw(st.lists(st.sampled_from(trees), min_size=1, max_size=4)):
            alone_trees, together_trees = {}, {}
            assert outputs_present(together, {"out": tree}, together_trees) == \
                outputs_present(store, {"out": tree}, alone_trees)
            assert together_trees == alone_trees


def test_outputs_looked_up_together_cost_one_tree_read_and_one_blob_batch(tmp_path):
    """Trees read up front are not read again, and their blobs are asked about in one batch."""
    from canalis.executor.reuse import Prefetched

    store = LocalStore(tmp_path / "objects")
    files = {}
    for i in range(8):
        files[f"f{i}.txt"] = tmp_path / "files" / f"f{i}.txt"
        files[f"f{i}.txt"].parent.mkdir(parents=True, exist_ok=True)
        files[f"f{i}.txt"].write_text(f"content {i}\n")
    with store.together() as written:  # packed, as a step's outputs are
        tree = written.put_files(files).tree
    together = Prefetched(store, [tree])
    calls = {"exists": 0, "present": 0, "get_tree": 0}
    for name in calls:
        real = getattr(store, name)

        def counted(*a, _real=real, _name=name):
            calls[_name] += 1
            return _real(*a)

        setattr(store, name, counted)
    trees = {}
    assert outputs_present(together, {"out": tree}, trees) is True
    assert calls == {"exists": 0, "present": 0, "get_tree": 0}
    assert trees == {tree: store.get_tree(tree)}


@settings(max_examples=40, deadline=None)
@given(runs=st.lists(st.tuples(st.sampled_from(["e0", "e1"]),
                               st.lists(st.tuples(st.sampled_from(_KEYS[:-1]), st.booleans()), max_size=4)),
                     max_size=5),
       experiment=st.sampled_from(["e0", "e1", "e2"]), asked=st.lists(st.sampled_from(_KEYS), max_size=8))
def test_the_latest_runs_candidates_read_in_one_query_are_those_looked_up_alone(runs, experiment, asked):
    """Whatever runs each experiment had (steps completed or failed with each key), the
    candidates read for the experiment's latest run are, for each key asked, the list (and
    order) the one-key lookup gives."""
    import uuid

    from canalis.executor.reuse import Candidates
    from canalis.ledger import Ledger
    from canalis.ledger import events as ev

    with tempfile.TemporaryDirectory() as tmp:
        led = Ledger(Path(tmp) / "ledger.db")
        try:
            for i, (exp, steps) in enumerate(runs):
                led.append(ev.RunSubmitted(run_id=f"r{i}", experiment=exp))
                for n, (key, completed) in enumerate(steps):
                    sid = str(uuid.uuid4())
                    led.append(ev.StepStarted(run_id=f"r{i}", step_run_id=sid, step_name=f"s{n}", reuse_key=key))
                    if completed:
                        led.append(ev.StepCompleted(run_id=f"r{i}", step_run_id=sid, step_name=f"s{n}",
                                                    reuse_key=key, outputs={"o": "d" * 64}))
                    else:
                        led.append(ev.StepFailed(run_id=f"r{i}", step_run_id=sid, step_name=f"s{n}",
                                                 reuse_key=key, error="boom"))
            latest = Candidates.of_latest_run(led, experiment)
            alone = Candidates(led, led.last_reuse_keys(experiment))
            assert set(latest.known) <= set(led.last_reuse_keys(experiment))
            for key in asked:
                assert latest(key) == alone(key) == led.reuse_candidates(key)
        finally:
            led.close()
