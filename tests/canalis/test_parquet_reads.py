"""Tabular datasets of Parquet files: read through Arrow's own memory (tabular_dataset.arrow_reader),
the same frame pandas reads from the file, and a process that read one ends as it should."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.core import Dataset

ROWS = st.lists(st.tuples(st.integers(-2**40, 2**40), st.text(st.characters(blacklist_categories=("Cs",)), max_size=12), st.floats(allow_nan=False)),
                min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_a_parquet_dataset_reads_as_pandas_reads_the_file(ws, rows):
    import pandas as pd

    store = ws.get_default_datastore()
    folder = store.root / "pq"
    folder.mkdir(exist_ok=True)
    frame = pd.DataFrame(rows, columns=["n", "s", "x"])
    frame.to_parquet(folder / "part.parquet")
    expected = pd.read_parquet(folder / "part.parquet")
    from_files = Dataset.Tabular.from_parquet_files(path=(store, "pq/*.parquet"))
    pd.testing.assert_frame_equal(from_files.to_pandas_dataframe(), expected)
    registered = from_files.register(ws, "pq", create_new_version=True)  # read back from the store
    pd.testing.assert_frame_equal(Dataset.get_by_name(ws, "pq", version=registered.version).to_pandas_dataframe(),
                                  expected)


READ_AND_EXIT = """
import sys
from canalis.core import Dataset, Workspace
store = Workspace.from_config(path=sys.argv[1]).get_default_datastore()
df = Dataset.Tabular.from_parquet_files(path=(store, "pq/*.parquet")).to_pandas_dataframe()
print(len(df))
"""
#: processes started: the crash this guards against came in about one process in sixty
PROCESSES = 80


@pytest.mark.slow
def test_processes_that_read_a_parquet_dataset_all_exit_cleanly(ws):
    """pyarrow reading from a Python file object could abort the process at its exit (SIGABRT,
    "terminate called without an active exception"), after the step had done its work."""
    import pandas as pd

    store = ws.get_default_datastore()
    (store.root / "pq").mkdir()
    pd.DataFrame({"a": range(100), "b": [str(i) for i in range(100)]}).to_parquet(store.root / "pq" / "p.parquet")

    def one(_):
        return subprocess.run([sys.executable, "-c", READ_AND_EXIT, str(ws.root)], capture_output=True, text=True,
                              timeout=120)

    with ThreadPoolExecutor(2) as pool:
        ended = list(pool.map(one, range(PROCESSES)))
    bad = [(p.returncode, p.stderr[-300:]) for p in ended if p.returncode != 0 or p.stdout.strip() != "100"]
    assert not bad, f"{len(bad)} of {PROCESSES} processes did not end cleanly: {bad[:3]}"
