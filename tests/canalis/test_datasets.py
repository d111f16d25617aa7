"""Workspace, datastores and datasets: versions immutable by content."""
from __future__ import annotations

import warnings

import pytest

from canalis.core import Dataset, Datastore, Workspace
from canalis.errors import DatasetChangedWarning
from canalis.exceptions import NotSupportedOfflineError, UserErrorException, WorkspaceException
from tests.canalis.conftest import write


def test_workspace_create_and_from_config_upward(tmp_path, monkeypatch):
    ws = Workspace.create("team", path=tmp_path / "proj")
    nested = tmp_path / "proj" / "src" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    found = Workspace.from_config()
    assert found == ws and found.name == "team"
    assert set(ws.datastores) == {"workspaceblobstore", "workspacefilestore"}
    assert ws.get_default_datastore().name == "workspaceblobstore"
    assert "local" in ws.compute_targets
    with pytest.raises(WorkspaceException, match="exist_ok"):
        Workspace.create("team", path=tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserErrorException, match="canalis init"):
        Workspace.from_config()


def test_register_local_datastore_and_upload(ws, tmp_path):
    own = tmp_path / "mydata"
    own.mkdir()
    ds = Datastore.register_local(ws, "mine", str(own))
    assert Datastore.get(ws, "mine").root == own.resolve()
    files = [write(tmp_path / "up" / "a.csv", "x\n1\n"), write(tmp_path / "up" / "sub" / "b.csv", "x\n2\n")]
    ds.upload(src_dir=str(tmp_path / "up"), target_path="batch1", show_progress=False)
    assert (own / "batch1" / "sub" / "b.csv").read_text() == "x\n2\n"
    ds.upload_files([str(files[0])], target_path="single", show_progress=False)
    assert (own / "single" / "a.csv").exists()
    with pytest.raises(UserErrorException, match="leaves datastore"):
        ds.upload_files([str(files[0])], target_path="../escape")
    with pytest.raises(UserErrorException, match="no datastore named 'nope'"):
        Datastore(ws, "nope")
    with pytest.raises(NotSupportedOfflineError, match="register_local"):  # blob containers become local folders
        Datastore.register_azure_sql_database(ws, "sql", "server", "database")
    assert [e.payload["name"] for e in ws.ledger.events(type="datastore.registered")] == ["mine"]


def test_file_dataset_from_globs_and_paths(ws, tmp_path):
    store = ws.get_default_datastore()
    write(store.root / "imgs" / "a.txt", "a")
    write(store.root / "imgs" / "b.txt", "b")
    write(store.root / "imgs" / "c.md", "c")
    ds = Dataset.File.from_files(path=(store, "imgs/*.txt"))
    assert ds.to_path() == ["/a.txt", "/b.txt"]
    got = ds.download(target_path=str(tmp_path / "dl"))
    assert sorted(p.split("/")[-1] for p in got) == ["a.txt", "b.txt"]
    local = Dataset.File.from_files(path=str(store.root / "imgs"))
    assert local.to_path() == ["/a.txt", "/b.txt", "/c.md"]
    with pytest.raises(UserErrorException, match="matches no file"):
        Dataset.File.from_files(path=(store, "nothing/*.csv"))


def test_registered_versions_are_immutable_by_content(ws):
    store = ws.get_default_datastore()
    f = write(store.root / "t" / "data.csv", "a,b\n1,x\n2,y\n")
    tab = Dataset.Tabular.from_delimited_files(path=(store, "t/data.csv"))
    v1 = tab.register(ws, "table", description="first")
    assert (v1.name, v1.version) == ("table", 1)
    again = tab.register(ws, "table")
    assert again.version == 1  # same bytes: no new version
    f.write_text("a,b\n1,x\n2,y\n3,z\n")
    with pytest.raises(UserErrorException, match="create_new_version=True"):
        tab.register(ws, "table")
    v2 = tab.register(ws, "table", create_new_version=True)
    assert v2.version == 2
    f.write_text("changed entirely\n")
    old = Dataset.get_by_name(ws, "table", version=1)
    assert old.to_pandas_dataframe()["a"].tolist() == [1, 2]  # read from the store, not the datastore
    with pytest.warns(DatasetChangedWarning, match="changed since version 2"):
        assert Dataset.get_by_name(ws, "table").version == 2
    assert Dataset.get_by_id(ws, v1.id).version == 1
    assert set(ws.datasets) == {"table"}
    with pytest.raises(UserErrorException, match="known versions: \\[1, 2\\]"):
        Dataset.get_by_name(ws, "table", version=7)


def test_tabular_transforms_and_parquet(ws, tmp_path):
    import pandas as pd

    store = ws.get_default_datastore()
    (store.root / "pq").mkdir()
    pd.DataFrame({"n": list(range(10)), "s": [str(i) for i in range(10)]}).to_parquet(store.root / "pq" / "part.parquet")
    tab = Dataset.Tabular.from_parquet_files(path=(store, "pq/*.parquet"))
    assert tab.take(3).to_pandas_dataframe()["n"].tolist() == [0, 1, 2]
    assert tab.skip(8).to_pandas_dataframe()["n"].tolist() == [8, 9]
    a, b = tab.random_split(0.5, seed=3)
    left, right = a.to_pandas_dataframe()["n"].tolist(), b.to_pandas_dataframe()["n"].tolist()
    assert sorted(left + right) == list(range(10)) and left and right
    assert a.to_pandas_dataframe()["n"].tolist() == left  # same seed, same split


def test_get_by_name_says_when_the_datastore_path_changed_and_create_new_version_registers_it(ws):
    store = ws.get_default_datastore()
    f = write(store.root / "d" / "data.csv", "a\n1\n2\n")
    Dataset.Tabular.from_delimited_files(path=(store, "d/*.csv")).register(ws, "d")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unchanged files: no warning
        assert Dataset.get_by_name(ws, "d").version == 1

    f.write_text("a\n1\n3\n")  # same size, other bytes
    with pytest.warns(DatasetChangedWarning) as said:
        ds = Dataset.get_by_name(ws, "d")
    (w,) = said
    message = str(w.message)
    assert "\n" not in message and w.filename == __file__  # one line, pointing at the caller
    assert message == ("dataset 'd': the files at workspaceblobstore/d/*.csv changed since version 1 was registered; "
                       "returning version 1 (the bytes registered then). To register what is there now: "
                       "Dataset.get_by_name(ws, 'd').register(ws, 'd', create_new_version=True)")
    assert ds.version == 1 and ds.to_pandas_dataframe()["a"].tolist() == [1, 2]  # the registered bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a version asked for by number is what was asked for: no warning
        assert Dataset.get_by_name(ws, "d", version=1).version == 1

    # what the warning says to do registers the files there now
    v2 = ds.register(ws, "d", create_new_version=True)
    assert v2.version == 2 and v2.to_pandas_dataframe()["a"].tolist() == [1, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Dataset.get_by_name(ws, "d").version == 2
    assert ds.register(ws, "d", create_new_version=True).version == 2  # unchanged again: no new version

    write(store.root / "d" / "more.csv", "a\n9\n")  # a file added under the glob
    with pytest.warns(DatasetChangedWarning, match="changed since version 2"):
        Dataset.get_by_name(ws, "d")
    for p in (store.root / "d").iterdir():
        p.unlink()
    with pytest.warns(DatasetChangedWarning, match=r"files at workspaceblobstore/d/\*\.csv are gone since version 2 was "
                                                   r"registered; returning version 2"):
        assert Dataset.get_by_name(ws, "d").to_pandas_dataframe()["a"].tolist() == [1, 3]
