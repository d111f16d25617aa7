"""Data as SDK v1 code passes it: data-valued pipeline parameters, file-valued inputs and
outputs, default output destinations, output references and their download layout, tabular
output transforms, CommandStep from a ScriptRunConfig, DataTransferStep, and the note about a
step without source_directory."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from canalis.core import Dataset, Datastore, Experiment, ScriptRunConfig
from canalis.data import DataPath, DataPathComputeBinding, DatasetConsumptionConfig, OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineData, PipelineParameter
from canalis.pipeline.steps import CommandStep, DataTransferStep, PythonScriptStep
from tests.canalis.conftest import statuses, write

pytestmark = pytest.mark.filterwarnings("ignore")

READ_ARG = """
import os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
kind = "file" if os.path.isfile(src) else "folder"
text = open(src).read() if kind == "file" else ",".join(sorted(os.listdir(src)))
open(os.path.join(out, "seen.txt"), "w").write(kind + ":" + text)
"""


def _submit(ws, steps, **kw):
    run = Experiment(ws, "v1data").submit(Pipeline(ws, steps), **kw)
    run.wait_for_completion(raise_on_error=True)
    return run


def _read(ws, run, step, output, name):
    tree = run.find_step_run(step)[0].get_outputs()[output].tree
    entry = next(e for e in ws.store.get_tree(tree) if e.path == name)
    return ws.store.get_bytes(entry.digest).decode()


def test_datapath_parameter_is_snapshotted_and_part_of_the_key(ws, src):
    store = ws.get_default_datastore()
    for folder, text in (("a", "one"), ("b", "two")):
        (store.root / folder).mkdir(parents=True)
        (store.root / folder / "data.txt").write_text(text)
    write(src / "read.py", READ_ARG)
    param = PipelineParameter("input_path", default_value=DataPath(datastore=store, path_on_datastore="a"))
    pair = (param, DataPathComputeBinding(mode="mount"))

    def step():
        out = OutputFileDatasetConfig(name="seen")
        return PythonScriptStep(name="read", script_name="read.py", source_directory=str(src),
                                arguments=[pair, out], inputs=[pair])

    first = _submit(ws, [step()])
    assert _read(ws, first, "read", "seen", "seen.txt") == "folder:data.txt"
    other = _submit(ws, [step()], pipeline_parameters={"input_path": DataPath(store, "b/data.txt")})
    assert statuses(other) == {"read": "Completed"}
    assert _read(ws, other, "read", "seen", "seen.txt") == "file:two"  # one file: its path
    again = _submit(ws, [step()])
    assert statuses(again) == {"read": "Reused"}
    (store.root / "a" / "data.txt").write_text("changed")
    changed = _submit(ws, [step()])
    assert statuses(changed) == {"read": "Completed"}  # content is in the key


def test_data_value_for_a_plain_parameter_is_refused(ws, src):
    from canalis.exceptions import PipelineValidationError

    write(src / "read.py", READ_ARG)
    plain = PipelineParameter("n", default_value=3)
    step = PythonScriptStep(name="r", script_name="read.py", source_directory=str(src), arguments=[plain, "x"])
    with pytest.raises(PipelineValidationError, match="'n' was given data"):
        Experiment(ws, "v1data").submit(Pipeline(ws, [step]),
                                        pipeline_parameters={"n": DataPath(ws.get_default_datastore(), "a")})


def test_dataset_parameter_through_dataset_consumption_config(ws, src, tmp_path):
    one = tmp_path / "rows.csv"
    one.write_text("a,b\n1,2\n")
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "x.txt").write_text("x")
    write(src / "read.py", READ_ARG)
    param = PipelineParameter("ds", default_value=Dataset.File.from_files(str(one)))
    consumed = DatasetConsumptionConfig("ds_input", param).as_mount()
    out = OutputFileDatasetConfig(name="seen")
    run = _submit(ws, [PythonScriptStep(name="r", script_name="read.py", source_directory=str(src),
                                        arguments=[consumed, out], inputs=[consumed])])
    assert _read(ws, run, "r", "seen", "seen.txt") == "file:a,b\n1,2\n"
    out2 = OutputFileDatasetConfig(name="seen")
    run2 = _submit(ws, [PythonScriptStep(name="r", script_name="read.py", source_directory=str(src),
                                         arguments=[DatasetConsumptionConfig("ds_input", param).as_mount(), out2])],
                   pipeline_parameters={"ds": Dataset.File.from_files(str(folder))})
    assert _read(ws, run2, "r", "seen", "seen.txt") == "folder:x.txt"


def test_one_file_dataset_and_data_reference_are_file_paths(ws, src, tmp_path):
    from canalis.data import DataReference

    store = ws.get_default_datastore()
    (store.root / "dir").mkdir(parents=True)
    (store.root / "dir" / "file.pkl").write_text("pickled")
    write(src / "read.py", READ_ARG)
    ref = DataReference(store, data_reference_name="model_in", path_on_datastore="dir/file.pkl")
    ds = Dataset.File.from_files(path=(store, "dir/file.pkl"))
    steps = [
        PythonScriptStep(name="by_ref", script_name="read.py", source_directory=str(src),
                         arguments=[ref.as_download(), OutputFileDatasetConfig(name="seen1")], inputs=[ref.as_download()]),
        PythonScriptStep(name="by_ds", script_name="read.py", source_directory=str(src),
                         arguments=[ds.as_named_input("pkl").as_mount(), OutputFileDatasetConfig(name="seen2")]),
    ]
    run = _submit(ws, steps)
    assert _read(ws, run, "by_ref", "seen1", "seen.txt") == "file:pickled"
    assert _read(ws, run, "by_ds", "seen2", "seen.txt") == "file:pickled"


WRITE_ONE_FILE = """
import os, sys
import pandas as pd
path = sys.argv[1]
assert not os.path.exists(path), "output path made in advance"
os.makedirs(os.path.dirname(path), exist_ok=True)
pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [5, 6]}).to_parquet(path)
"""

READ_TABLE = """
import os, sys
from azureml.core import Run
df = Run.get_context().input_datasets["prepped"].to_pandas_dataframe()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "cols.txt"), "w").write(",".join(df.columns) + ":" + str(len(df)))
"""


def test_output_written_as_one_file_is_read_as_parquet(ws, src):
    write(src / "prep.py", WRITE_ONE_FILE)
    write(src / "use.py", READ_TABLE)
    prepped = PipelineData("prepped", datastore=ws.get_default_datastore()).as_dataset()
    table = prepped.parse_parquet_files(file_extension=None).drop_columns(["c"])
    out = OutputFileDatasetConfig(name="cols")
    run = _submit(ws, [
        PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(src), arguments=[prepped],
                         outputs=[prepped]),
        PythonScriptStep(name="use", script_name="use.py", source_directory=str(src), arguments=[out],
                         inputs=[table.as_named_input("prepped")]),
    ])
    assert _read(ws, run, "use", "cols", "cols.txt") == "a,b:2"
    prep = run.find_step_run("prep")[0]
    ref = prep.get_output_data("prepped")
    assert prep.get_outputs()["prepped"].get_port_data_reference().path_on_datastore == ref.path_on_datastore
    assert ref.path_on_datastore == ref._path_on_datastore == f"azureml/{prep.id}/prepped"
    target = Path(ref.download(str(src / "dl"), show_progress=False))
    assert target == src / "dl" / "azureml" / prep.id / "prepped" and target.is_file()
    assert list(pd.read_parquet(target).columns) == ["a", "b", "c"]


def test_default_destination_on_a_datastore_alone(ws, src):
    write(src / "w.py", "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(os.path.join(sys.argv[1], 'f.txt'), 'w').write('hi')\n")
    store = ws.get_default_datastore()
    out = OutputFileDatasetConfig(name="result", destination=store)
    run = _submit(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    step_run = run.find_step_run("w")[0]  # {run-id} is the step run's, as in SDK v1
    published = store.root / step_run.id / "result" / "f.txt"
    assert published.read_text() == "hi"


def test_command_step_takes_its_command_from_a_script_run_config(ws, src):
    write(src / "say.py", "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/w.txt', 'w').write('said')\n")
    out = OutputFileDatasetConfig(name="o")
    src_cfg = ScriptRunConfig(source_directory=str(src), command=["python", "say.py", out])
    run = _submit(ws, [CommandStep(name="cmd", runconfig=src_cfg, outputs=[out])])
    assert _read(ws, run, "cmd", "o", "w.txt") == "said"


def test_data_transfer_between_local_datastores(ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "in").mkdir(parents=True)
    b.mkdir()
    (a / "in" / "x.csv").write_text("1\n")
    src_store = Datastore.register_local(ws, "a", str(a))
    dst_store = Datastore.register_local(ws, "b", str(b))
    from canalis.data import DataReference

    step = DataTransferStep(name="copy", source_data_reference=DataReference(src_store, "src", "in"),
                            destination_data_reference=DataPath(dst_store, "copied"))
    run = _submit(ws, [step])
    assert (b / "copied" / "x.csv").read_text() == "1\n"
    again = _submit(ws, [DataTransferStep(name="copy", source_data_reference=DataReference(src_store, "src", "in"),
                                          destination_data_reference=DataPath(dst_store, "copied"))])
    assert statuses(again) == {"copy": "Reused"} and run.id != again.id


def test_step_without_source_directory_says_it_snapshots_the_current_folder(ws, tmp_path, monkeypatch, capfd):
    here = tmp_path / "cwd"
    write(here / "s.py", "print('ok')\n")
    write(here / "data" / "big.bin", "x" * 100)
    monkeypatch.chdir(here)
    _submit(ws, [PythonScriptStep(name="s", script_name="s.py")])
    err = capfd.readouterr().err
    assert f"snapshots the current folder {here}" in err and "(2 files" in err
    assert "make the step run again" in err


def test_cloud_datastore_registrations_are_local_folders(ws, tmp_path, src):
    from canalis.exceptions import UserErrorException

    blob = Datastore.register_azure_blob_container(ws, "rawblob", container_name="raw", account_name="acct",
                                                   account_key="secret")
    assert blob.root == ws.root / ".canalis" / "datastores" / "rawblob" and blob.root.is_dir()
    assert (blob.datastore_type, blob.container_name, blob.account_name) == ("AzureBlob", "raw", "acct")
    assert "secret" not in (ws.root / ".canalis" / "config.json").read_text()
    with pytest.raises(UserErrorException, match=f"copy the data into {blob.root / 'iris'}"):
        Dataset.File.from_files(path=(blob, "iris"))
    mirror = tmp_path / "mirror"
    (mirror / "iris").mkdir(parents=True)
    (mirror / "iris" / "a.csv").write_text("x\n1\n")
    share = Datastore.register_azure_file_share(ws, "share", file_share_name="fs", account_name="acct",
                                                local_path=str(mirror))
    lake = Datastore.register_azure_data_lake_gen2(ws, "lake", filesystem="fsys", account_name="acct")
    assert Datastore.get(ws, "lake").filesystem == "fsys" and lake.datastore_type == "AzureDataLakeGen2"
    assert share.download(str(tmp_path / "dl"), prefix="iris", show_progress=False) == 1
    assert (tmp_path / "dl" / "iris" / "a.csv").read_text() == "x\n1\n"
    write(src / "up" / "b.csv", "y\n2\n")
    blob.upload(str(src / "up"), target_path="iris", show_progress=False)
    assert Dataset.File.from_files(path=(blob, "iris")).to_path() == ["/b.csv"]


DATA_PARAM_PIPELINE = """
from canalis.core import Workspace
from canalis.data import DataPath, DataPathComputeBinding
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
store = ws.get_default_datastore()
param = PipelineParameter("input_path", default_value=DataPath(store, "a"))
pair = (param, DataPathComputeBinding())
pipeline = Pipeline(ws, [PythonScriptStep(name="r", script_name="r.py", source_directory="src", arguments=[pair],
                                          inputs=[pair])])
"""


def test_cli_refuses_a_data_parameter_given_as_text(ws):
    import subprocess
    import sys

    (ws.get_default_datastore().root / "a").mkdir(parents=True)
    (ws.get_default_datastore().root / "a" / "f").write_text("x")
    write(ws.root / "src" / "r.py", "print('read')\n")
    write(ws.root / "pipe.py", DATA_PARAM_PIPELINE)
    done = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipe.py:pipeline", "-e", "x",
                           "--param", "input_path=b"], cwd=ws.root, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "'input_path' takes data" in done.stderr and "pipeline_parameters=" in done.stderr
    assert ws.ledger.runs() == []


READ_TABLE_PARAM = """
import os, sys
from azureml.core import Run
df = Run.get_context().input_datasets["table"].to_pandas_dataframe()
os.makedirs(sys.argv[1], exist_ok=True)
open(os.path.join(sys.argv[1], "n.txt"), "w").write(str(int(df["v"].sum())))
"""


def test_tabular_dataset_parameter_reaches_input_datasets(ws, src, tmp_path):
    for name, rows in (("one.csv", "v\n1\n2\n"), ("two.csv", "v\n10\n20\n")):
        (tmp_path / name).write_text(rows)
    write(src / "t.py", READ_TABLE_PARAM)
    param = PipelineParameter("table", default_value=Dataset.Tabular.from_delimited_files(str(tmp_path / "one.csv")))

    def steps():
        return [PythonScriptStep(name="t", script_name="t.py", source_directory=str(src),
                                 arguments=[OutputFileDatasetConfig(name="n")],
                                 inputs=[DatasetConsumptionConfig("table", param)])]

    assert _read(ws, _submit(ws, steps()), "t", "n", "n.txt") == "3"
    other = Dataset.Tabular.from_delimited_files(str(tmp_path / "two.csv"))
    assert _read(ws, _submit(ws, steps(), pipeline_parameters={"table": other}), "t", "n", "n.txt") == "30"
