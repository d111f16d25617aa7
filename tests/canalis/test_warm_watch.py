"""The warm process's inotify watch (canalis/warm/watch.py) only ever saves stats: whatever
happens to its module files, a submit is declined exactly when comparing every file's stat
would decline it."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.warm.server import changed_code
from canalis.warm.watch import Watch

NAMES = ["a.py", "b.py", "c.py"]


def _code(paths) -> dict:
    out = {}
    for p in paths:
        st_ = os.stat(p)
        out[p] = (st_.st_mtime_ns, st_.st_size)
    return out


def _apply(folder, op, name, other):
    path, target = os.path.join(folder, name), os.path.join(folder, other)
    if op == "append" and os.path.exists(path):
        with open(path, "a") as f:
            f.write("x = 1\n")
    elif op == "rewrite" and os.path.exists(path):  # same size, new mtime: as an editor saves
        with open(path, "r+") as f:
            text = f.read()
            f.seek(0)
            f.write(text[::-1])
    elif op == "touch" and os.path.exists(path):
        st_ = os.stat(path)
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
    elif op == "replace":  # a new file renamed over it, as pip installs
        with open(target + ".tmp", "w") as f:
            f.write("y = 2\n")
        os.replace(target + ".tmp", path)
    elif op == "remove" and os.path.exists(path):
        os.unlink(path)
    elif op == "unrelated":  # another file of the folder: an event, but nothing imported changed
        with open(os.path.join(folder, "notes.txt"), "a") as f:
            f.write("n\n")
    elif op == "read" and os.path.exists(path):
        with open(path) as f:
            f.read()


ops = st.lists(st.tuples(st.sampled_from(["append", "rewrite", "touch", "replace", "remove", "unrelated", "read",
                                          "nothing"]),
                         st.sampled_from(NAMES), st.sampled_from(NAMES)), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(ops, min_size=1, max_size=4))
def test_the_watch_never_hides_a_change_the_stats_would_find(tmp_path_factory, rounds):
    folder = str(tmp_path_factory.mktemp("mods"))
    paths = [os.path.join(folder, n) for n in NAMES]
    for i, p in enumerate(paths):
        with open(p, "w") as f:
            f.write(f"v = {i}\n")
    watch = Watch(paths)
    try:
        assert watch.fd is not None and watch.unwatched == set()  # a local folder is watched
        code = _code(paths)
        unwatched = {p: code[p] for p in watch.unwatched}
        found = None
        for round_ in rounds:  # a submit after each round of changes
            for op, name, other in round_:
                _apply(folder, op, name, other)
            truth = changed_code(code)
            if found is None:  # the server keeps the first change it finds
                found = changed_code(unwatched if watch.quiet() else code)
            assert (found is None) == (truth is None)
    finally:
        watch.close()


def test_quiet_until_something_in_a_watched_folder_changes(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("v = 1\n")
    watch = Watch([str(path)])
    try:
        assert watch.quiet() and watch.quiet()
        path.read_text()
        assert watch.quiet()  # reading is no change
        path.write_text("v = 2\n")
        assert not watch.quiet()
        assert watch.quiet()  # said once
        (tmp_path / "new.py").write_text("")
        assert not watch.quiet()
    finally:
        watch.close()


def test_without_inotify_every_submit_gets_the_stats(tmp_path, monkeypatch):
    """No watch to be had (here: no watch may be added): never quiet, every path unwatched."""
    import ctypes

    path = tmp_path / "m.py"
    path.write_text("v = 1\n")

    class NoWatches:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            if name == "inotify_add_watch":
                return lambda *_: -1
            return getattr(self.real, name)

    real_cdll = ctypes.CDLL
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: NoWatches(real_cdll(*a, **k)))
    watch = Watch([str(path)])
    try:
        assert watch.unwatched == {str(path)} and not watch.quiet()
        code = _code([str(path)])
        unwatched = {p: code[p] for p in watch.unwatched}
        path.write_text("v = 22\n")
        assert changed_code(unwatched if watch.quiet() else code) == str(path)
    finally:
        watch.close()


def test_a_remote_file_system_is_not_watched(tmp_path):
    from canalis.warm import watch as w

    mounts = [("/", "ext4"), (str(tmp_path), "nfs4")]
    assert w._remote(str(tmp_path / "pkg"), mounts)
    assert not w._remote("/usr/lib", mounts)
    assert w._remote("/usr/lib", None)  # mounts unknown: not trusted
    assert not w._remote(str(tmp_path), [("/", "ext4"), (str(tmp_path), "overlay")])
