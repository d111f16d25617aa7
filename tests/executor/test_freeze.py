"""What an interpreter has installed (executor/freeze.py), read from the names of the
distribution folders on its path: only those names are parsed, and the answer is the one a
parse of every name in sorted order gives (as `pip freeze` would list them)."""
from __future__ import annotations

import os
import re
import tempfile

from hypothesis import given, settings, strategies as st

from canalis.executor import freeze


def every_name_in_order(paths) -> list:
    """The reading freeze.py did before: every name of each folder, sorted, tried against each suffix."""
    seen = {}
    for entry in paths:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for n in names:
            for suffix in (".dist-info", ".egg-info"):
                if n.endswith(suffix):
                    name, _, version = n[:-len(suffix)].partition("-")
                    if suffix == ".egg-info":
                        version = version.split("-py")[0]
                    key = re.sub(r"[-_.]+", "-", name).lower()
                    if version and key not in seen:
                        seen[key] = key + "==" + version
    return sorted(seen.values())


_project = st.sampled_from(["numpy", "Foo_Bar", "foo-bar", "foo.bar", "zope.interface", "a", "setuptools"])
_version = st.sampled_from(["", "1.0", "2.0.1", "1.0-py3.11", "0.9.dev1", "3"])
_name = st.one_of(
    st.builds(lambda p, v, s: f"{p}{'-' + v if v else ''}{s}", _project, _version,
              st.sampled_from([".dist-info", ".egg-info", ".pth", "", ".py", ".dist-info.bak"])),
    st.sampled_from(["os.py", "__pycache__", "lib-dynload", "dist-info", ".egg-info", "README"]),
)


@settings(max_examples=60, deadline=None)
@given(folders=st.lists(st.lists(_name, max_size=12, unique=True), min_size=1, max_size=4),
       missing=st.booleans())
def test_installed_reads_only_distribution_folders_and_answers_as_a_full_parse(folders, missing):
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, names in enumerate(folders):
            folder = os.path.join(tmp, f"p{i}")
            os.makedirs(folder)
            for n in names:
                os.makedirs(os.path.join(folder, n))
            paths.append(folder)
        if missing:  # an entry of the path that is no folder (a zip, a path hook)
            paths.insert(1, os.path.join(tmp, "python311.zip"))
        assert freeze.installed(paths) == every_name_in_order(paths)


def test_identity_is_read_once_and_handed_out_as_a_copy():
    first = freeze.identity()
    first["python"] = "changed"
    assert freeze.identity()["python"] != "changed"
    assert set(freeze.identity()) == {"python", "implementation", "platform"}


@settings(max_examples=60, deadline=None)
@given(sysname=st.sampled_from(["Linux", "linux", "Darwin", "FreeBSD", "Li/nux"]),
       machine=st.text(st.sampled_from("x86_64 /armv7l-"), min_size=1, max_size=12),
       host=st.sampled_from([None, "linux-custom", "macosx-11.0-arm64"]))
def test_the_platform_is_what_sysconfig_says(sysname, machine, host):
    """The platform read without sysconfig (on Linux) is sysconfig.get_platform(), whatever
    the kernel reports and whether _PYTHON_HOST_PLATFORM is set."""
    import sysconfig
    from unittest import mock

    uname = os.uname_result((sysname, "host", "6.1", "#1", machine))
    env = dict(os.environ)
    env.pop("_PYTHON_HOST_PLATFORM", None)
    if host is not None:
        env["_PYTHON_HOST_PLATFORM"] = host
    with mock.patch.object(os, "uname", return_value=uname), mock.patch.dict(os.environ, env, clear=True):
        try:
            expected = sysconfig.get_platform()
        except Exception as e:  # another system's answer may need more than its uname (macOS's version)
            expected = type(e)
        try:
            found = freeze.platform_name()
        except Exception as e:
            found = type(e)
        assert found == expected
    assert freeze.platform_name() == sysconfig.get_platform()


# -- kept between processes (executor/installed_cache.py) ---------------------------------------------------------

def _counting_listing(calls):
    def listing(path):
        calls.append(list(path))
        return freeze.installed(path)

    return listing


def _aged(folder, seconds=60):
    """The folder's time set a minute back: a reading now is past the racy window."""
    t = os.stat(folder).st_mtime_ns - seconds * 1_000_000_000
    os.utime(folder, ns=(t, t))


def test_the_kept_answer_serves_while_no_folder_of_the_path_changes(tmp_path):
    from canalis.executor import installed_cache

    site = tmp_path / "site"
    (site / "foo-1.0.dist-info").mkdir(parents=True)
    (site / "os.py").write_text("")
    _aged(site)
    path = [str(tmp_path / "python311.zip"), str(site)]
    kept, calls = tmp_path / "envs", []
    assert installed_cache.installed(path, kept, _counting_listing(calls)) == ["foo==1.0"]
    assert installed_cache.installed(path, kept, _counting_listing(calls)) == ["foo==1.0"]
    assert len(calls) == 1  # the second answer was the kept one
    (site / "bar-2.0.dist-info").mkdir()  # installed since: the folder's time moves
    _aged(site, 30)  # (still older than the kept reading's folder time by then)
    assert installed_cache.installed(path, kept, _counting_listing(calls)) == ["bar==2.0", "foo==1.0"]
    assert installed_cache.installed(path, kept, _counting_listing(calls)) == ["bar==2.0", "foo==1.0"]
    assert len(calls) == 2  # that reading was kept in turn
    (site / "foo-1.0.dist-info").rename(site / "foo-1.1.dist-info")  # upgraded: the time moves to now
    assert installed_cache.installed(path, kept, _counting_listing(calls)) == ["bar==2.0", "foo==1.1"]
    assert installed_cache.installed(path + [str(site)], kept, _counting_listing(calls)) == ["bar==2.0", "foo==1.1"]
    assert len(calls) == 4  # each change, and another path, listed again


def test_a_reading_within_the_racy_window_is_not_kept(tmp_path):
    """A folder changed a moment ago could change again within the same clock tick, its time
    unmoved: that reading is used but not kept."""
    from canalis.executor import installed_cache

    site = tmp_path / "site"
    (site / "foo-1.0.dist-info").mkdir(parents=True)
    kept, calls = tmp_path / "envs", []
    for _ in range(2):
        assert installed_cache.installed([str(site)], kept, _counting_listing(calls)) == ["foo==1.0"]
    assert len(calls) == 2
    assert not (kept / installed_cache.FILE_NAME).exists()


def test_a_damaged_kept_file_is_read_past(tmp_path):
    from canalis.executor import installed_cache

    site = tmp_path / "site"
    (site / "foo-1.0.dist-info").mkdir(parents=True)
    _aged(site)
    kept = tmp_path / "envs"
    kept.mkdir()
    for text in ("{not json", "[]", '{"format": 1, "path": null}'):
        (kept / installed_cache.FILE_NAME).write_text(text)
        assert installed_cache.installed([str(site)], kept, freeze.installed) == ["foo==1.0"]
