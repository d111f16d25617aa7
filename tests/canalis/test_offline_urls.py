"""Data given by URL fails at once, offline, naming the local alternatives."""
from __future__ import annotations

import subprocess
import sys

import pytest

from canalis.core import Dataset
from canalis.exceptions import NotSupportedOfflineError
from tests.canalis.conftest import write


@pytest.mark.parametrize("url", ["https://example.org/data/train.csv", "wasbs://c@acct.blob.core.windows.net/x.csv",
                                 "s3://bucket/key.parquet", "azureml://datastores/x/paths/y"])
def test_a_dataset_from_a_url_is_refused_at_once_with_the_local_ways(ws, url):
    with pytest.raises(NotSupportedOfflineError) as e:
        Dataset.Tabular.from_delimited_files(path=url)
    msg = str(e.value)
    assert url in msg and "offline" in msg
    assert "Download the file(s) first" in msg and "Datastore.upload" in msg and ".register(ws, name)" in msg
    with pytest.raises(NotSupportedOfflineError):
        Dataset.File.from_files(path=[(ws.get_default_datastore(), "x"), url])


def test_a_file_url_is_a_local_path(ws, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b\n1,2\n")
    ds = Dataset.Tabular.from_delimited_files(path=f"file://{f}")
    assert ds.to_pandas_dataframe().to_dict("records") == [{"a": 1, "b": 2}]


def test_a_pipeline_file_with_a_url_fails_without_a_traceback(tmp_path):
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", """
        from canalis.core import Dataset, Workspace
        ws = Workspace.from_config()
        data = Dataset.Tabular.from_delimited_files("https://example.org/train.csv")
        """)
    out = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "e"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "'https://example.org/train.csv' is a URL, and canalis works offline" in out.stderr
