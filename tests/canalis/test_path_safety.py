"""Paths and names from user input never read or write outside their root.

Each entry point is tried with absolute paths, `..`, symlinks and NUL bytes; the random-path
properties check that a path is either refused or lands inside its root, never outside.
"""
from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.data.data_reference import DataPath, DataPathComputeBinding, DataReference
from canalis.data.dataset_consumption_config import DatasetConsumptionConfig
from canalis.exceptions import UnsafePathError, UserErrorException
from canalis.executor import paths
from canalis.executor.errors import PathEscapeError
from canalis.executor.plan import InputSpec, OutputSpec, Plan, StepSpec
from canalis.pipeline.core import Pipeline, PipelineData
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

BAD_RELATIVE = ["/abs/dir", "../../x", "..", "a/../../b", "a\0b", "./../x"]
BAD_NAMES = ["../..", "/abs", "..", ".", "a/b", "a\0b", "", "x y"]

WRITE_OUTPUT = """
import os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "result.txt"), "w").write("new result")
"""


@pytest.fixture
def outside(tmp_path):
    """A folder outside the workspace: nothing may ever be written into it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("untouched")
    return folder


def untouched(outside: Path) -> bool:
    return sorted(p.name for p in outside.iterdir()) == ["victim.txt"] and (outside / "victim.txt").read_text() == "untouched"


# -- output destinations -------------------------------------------------------------------
@pytest.mark.parametrize("bad", BAD_RELATIVE + ["{output-name}/../../x", "x/{run-id}/../../.."])
def test_output_destination_outside_the_datastore_is_refused_when_made(ws, bad):
    store = ws.get_default_datastore()
    with pytest.raises(UnsafePathError, match="destination path of output 'r'"):
        OutputFileDatasetConfig(name="r", destination=(store, bad))


def test_output_destination_set_later_is_refused_at_submit_before_anything_runs(ws, src, counter, outside):
    script(src, "w.py", WRITE_OUTPUT)
    out = OutputFileDatasetConfig(name="r")
    out.destination = (ws.get_default_datastore(), str(outside / "pub"))  # absolute, set past the constructor
    pipeline = Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    with pytest.raises(UnsafePathError, match="absolute path"):
        Experiment(ws, "exp").submit(pipeline)
    assert counter.lines() == [] and list(ws.ledger.events(type="run.submitted")) == []
    assert untouched(outside)


def test_destination_through_a_symlink_leaving_the_datastore_is_refused_at_submit(ws, src, counter, outside):
    store = ws.get_default_datastore()
    os.symlink(outside, store.root / "link")
    script(src, "w.py", WRITE_OUTPUT)
    out = OutputFileDatasetConfig(name="r", destination=(store, "link/{run-id}"))
    pipeline = Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    with pytest.raises(UnsafePathError, match="symlink"):
        Experiment(ws, "exp").submit(pipeline)
    assert counter.lines() == [] and untouched(outside)


def test_a_symlink_made_while_the_step_runs_is_not_followed_when_publishing(ws, src, counter, outside):
    """Checked again where it is used: the step itself turns the destination folder into a link."""
    store = ws.get_default_datastore()
    script(src, "w.py", WRITE_OUTPUT + f"""
os.symlink({str(outside)!r}, os.path.join({str(store.root)!r}, "pub"))
""")
    out = OutputFileDatasetConfig(name="r", destination=(store, "pub/{run-id}"))
    pipeline = Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    run = Experiment(ws, "exp").submit(pipeline)
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert "symlink" in run.find_step_run("w")[0].get_details()["error"]
    assert untouched(outside)
    assert list(ws.ledger.events(type="output.published")) == []


def test_publishing_replaces_a_symlinked_file_instead_of_writing_through_it(ws, src, counter, outside):
    store = ws.get_default_datastore()
    (store.root / "pub").mkdir(parents=True)
    os.symlink(outside / "victim.txt", store.root / "pub" / "result.txt")
    script(src, "w.py", WRITE_OUTPUT)
    out = OutputFileDatasetConfig(name="r", destination=(store, "pub"))
    pipeline = Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    assert Experiment(ws, "exp").submit(pipeline).wait_for_completion() == "Completed"
    published = store.root / "pub" / "result.txt"
    assert not published.is_symlink() and published.read_text() == "new result"
    assert untouched(outside)


def test_publishing_merges_into_an_existing_folder(ws, src, counter):
    store = ws.get_default_datastore()
    write(store.root / "pub" / "keep.txt", "kept")
    script(src, "w.py", WRITE_OUTPUT)
    out = OutputFileDatasetConfig(name="r", destination=(store, "pub/{output-name}/.."))
    pipeline = Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])])
    assert Experiment(ws, "exp").submit(pipeline).wait_for_completion() == "Completed"
    assert (store.root / "pub" / "keep.txt").read_text() == "kept"
    assert (store.root / "pub" / "result.txt").read_text() == "new result"


# -- input and output names --------------------------------------------------------------------
@pytest.mark.parametrize("bad", BAD_NAMES)
def test_input_names_that_are_not_plain_names_are_refused(ws, bad):
    store = ws.get_default_datastore()
    write(store.root / "d" / "a.txt", "a")
    ds = Dataset.File.from_files(path=(store, "d"))
    with pytest.raises(UnsafePathError, match="input name"):
        ds.as_named_input(bad)
    with pytest.raises(UnsafePathError, match="input name"):
        OutputFileDatasetConfig(name="o").as_input(name=bad)
    with pytest.raises(UnsafePathError, match="input name"):
        DatasetConsumptionConfig(bad, ds)
    if bad:  # an empty data_reference_name means "derive one from the path", as in the SDK
        with pytest.raises(UnsafePathError, match="data_reference_name"):
            DataReference(store, data_reference_name=bad, path_on_datastore="d")


def test_a_registered_dataset_name_becomes_a_plain_input_name(ws):
    store = ws.get_default_datastore()
    write(store.root / "d" / "a.txt", "a")
    ds = Dataset.File.from_files(path=(store, "d")).register(ws, "team/wine ../raw")
    assert paths.check_name(ds.as_mount().name, "input name") == "team_wine_.._raw"


def test_an_unnamed_output_of_a_step_named_like_a_path_gets_a_plain_folder_name(ws, src, counter):
    script(src, "w.py", WRITE_OUTPUT)
    out = OutputFileDatasetConfig()
    step = PythonScriptStep(name="../sub/w.py", script_name="w.py", source_directory=str(src), arguments=[out])
    run = Experiment(ws, "exp").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion() == "Completed"
    assert list(run.get_steps()[0].get_outputs()) == [".._sub_w.py_output_0"]


@pytest.mark.parametrize("field", ["input", "output"])
@pytest.mark.parametrize("bad", ["../..", "/abs", "a/b", "..", ""])
def test_a_plan_with_a_name_that_is_not_one_folder_is_refused(field, bad):
    """Plans read back from the ledger (resume, reproduce) are checked too, not only SDK objects."""
    inputs = [InputSpec(name=bad, source="data", tree="0" * 64)] if field == "input" else []
    outputs = [OutputSpec(name=bad)] if field == "output" else []
    plan = Plan(steps=[StepSpec(name="s", kind="python", source_tree="0" * 64, script="s.py", inputs=inputs, outputs=outputs)])
    with pytest.raises(PathEscapeError, match=f"{field} name of step 's'"):
        plan.validate()


def test_a_plan_with_a_destination_outside_its_datastore_is_refused():
    dest = {"datastore": "workspaceblobstore", "path": "../../etc", "root": "/tmp/ds"}
    plan = Plan(steps=[StepSpec(name="s", kind="python", source_tree="0" * 64, script="s.py",
                                outputs=[OutputSpec(name="o", destination=dest)])])
    with pytest.raises(PathEscapeError, match="climbs out"):
        plan.validate()


def test_a_recorded_plan_with_an_unsafe_name_is_refused_by_reproduce_and_resume(ws, src, outside):
    """A plan in the ledger (written by an older canalis, or crafted) gets the submit's checks."""
    from canalis.pipeline.core.run import reproduce_run, resume_run
    from canalis.exceptions import PipelineValidationError
    from canalis.executor.engine import submitted_event

    tree = ws.store.snapshot(src).tree
    rel = os.path.relpath(outside, ws.get_default_datastore().root)
    dest = {"datastore": "workspaceblobstore", "path": rel, "root": str(ws.get_default_datastore().root)}
    plan = Plan(steps=[StepSpec(name="s", kind="python", source_tree=tree, script="s.py",
                                outputs=[OutputSpec(name="o", destination=dest)])])
    ws.ledger.append(submitted_event("exp_1_crafted", "exp", plan, {}))
    with pytest.raises(PipelineValidationError, match="run exp_1_crafted: destination path of output 'o'"):
        reproduce_run(ws, "exp_1_crafted")
    with pytest.raises(PipelineValidationError, match="climbs out"):
        resume_run(ws, "exp_1_crafted", force=True)
    assert untouched(outside)


# -- datastore paths ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", BAD_RELATIVE)
def test_datastore_references_outside_the_datastore_are_refused(ws, bad):
    store = ws.get_default_datastore()
    with pytest.raises(UnsafePathError, match="path_on_datastore"):
        store.path(bad)
    with pytest.raises(UnsafePathError):
        DataReference(store, path_on_datastore=bad)
    with pytest.raises(UnsafePathError):
        DataPath(store, bad)
    with pytest.raises(UnsafePathError):
        Dataset.File.from_files(path=(store, bad), validate=False)
    with pytest.raises(UnsafePathError):
        store.path("ok").path("../../" + bad)  # joined below another path: refused once it climbs out


@pytest.mark.parametrize("bad", BAD_RELATIVE)
def test_path_on_compute_outside_the_working_folder_is_refused(ws, bad):
    store = ws.get_default_datastore()
    write(store.root / "d" / "a.txt", "a")
    ds = Dataset.File.from_files(path=(store, "d"))
    for make in (lambda: ds.as_download(path_on_compute=bad), lambda: ds.as_mount(path_on_compute=bad),
                 lambda: ds.as_named_input("n").as_download(path_on_compute=bad),
                 lambda: store.path("d").as_download(path_on_compute=bad),
                 lambda: DataPathComputeBinding(path_on_compute=bad),
                 lambda: OutputFileDatasetConfig(name="o").as_input().as_download(path_on_compute=bad),
                 lambda: PipelineData("pd", output_path_on_compute=bad)):
        with pytest.raises(UnsafePathError, match="path_on_compute"):
            make()
    assert ds.as_download(path_on_compute="data/in").path_on_compute == "data/in"


@pytest.mark.parametrize("bad", BAD_RELATIVE)
def test_upload_target_outside_the_datastore_is_refused(ws, tmp_path, bad, outside):
    f = write(tmp_path / "up" / "a.txt", "a")
    store = ws.get_default_datastore()
    with pytest.raises(UnsafePathError, match="target_path"):
        store.upload_files([str(f)], target_path=bad, show_progress=False)
    with pytest.raises(UnsafePathError, match="target_path"):
        store.upload(str(tmp_path / "up"), target_path=bad, show_progress=False)
    assert untouched(outside)


def test_upload_does_not_write_through_a_symlinked_folder_in_the_datastore(ws, tmp_path, outside):
    store = ws.get_default_datastore()
    (store.root / "ok").mkdir(parents=True)
    os.symlink(outside, store.root / "ok" / "sub")
    write(tmp_path / "up" / "sub" / "a.txt", "a")
    with pytest.raises(UnsafePathError, match="symlink"):
        store.upload(str(tmp_path / "up"), target_path="ok", show_progress=False)
    assert untouched(outside)


def test_upload_replaces_a_symlinked_file_rather_than_writing_through_it(ws, tmp_path, outside):
    store = ws.get_default_datastore()
    (store.root / "ok").mkdir(parents=True)
    os.symlink(outside / "victim.txt", store.root / "ok" / "a.txt")
    f = write(tmp_path / "up" / "a.txt", "uploaded")
    store.upload_files([str(f)], target_path="ok", overwrite=True, show_progress=False)
    assert (store.root / "ok" / "a.txt").read_text() == "uploaded" and not (store.root / "ok" / "a.txt").is_symlink()
    assert untouched(outside)


def test_upload_of_a_file_outside_relative_root_is_a_clear_error(ws, tmp_path):
    f = write(tmp_path / "elsewhere" / "a.txt", "a")
    (tmp_path / "root").mkdir()
    with pytest.raises(UserErrorException, match="not inside relative_root"):
        ws.get_default_datastore().upload_files([str(f)], relative_root=str(tmp_path / "root"), show_progress=False)


# -- downloads: the user names the target; nothing lands outside it -----------------------------
def test_datastore_download_keeps_inside_the_named_target(ws, tmp_path, outside):
    store = ws.get_default_datastore()
    write(store.root / "raw" / "a.txt", "a")
    write(store.root / "raw" / "sub" / "b.txt", "b")
    write(store.root / "other.txt", "o")
    assert store.download(str(tmp_path / "dl"), prefix="raw", show_progress=False) == 2
    assert (tmp_path / "dl" / "raw" / "sub" / "b.txt").read_text() == "b"
    assert not (tmp_path / "dl" / "other.txt").exists()
    for bad in BAD_RELATIVE:
        with pytest.raises(UnsafePathError, match="prefix"):
            store.download(str(tmp_path / "dl2"), prefix=bad, show_progress=False)
    target = tmp_path / "dl3"
    (target / "raw").mkdir(parents=True)
    os.symlink(outside, target / "raw" / "sub")  # a link inside the target that leads out of it
    with pytest.raises(UnsafePathError, match="symlink"):
        store.download(str(target), prefix="raw", overwrite=True, show_progress=False)
    assert untouched(outside)


def test_datastore_download_prefix_through_a_symlink_out_of_the_datastore_is_refused(ws, tmp_path, outside):
    store = ws.get_default_datastore()
    os.symlink(outside, store.root / "link")
    with pytest.raises(UnsafePathError, match="symlink"):
        store.download(str(tmp_path / "dl"), prefix="link", show_progress=False)


def test_dataset_download_does_not_write_through_symlinks_in_the_target(ws, tmp_path, outside):
    store = ws.get_default_datastore()
    write(store.root / "d" / "victim.txt", "dataset bytes")
    write(store.root / "d" / "sub" / "b.txt", "b")
    ds = Dataset.File.from_files(path=(store, "d"))
    target = tmp_path / "dl"
    target.mkdir()
    os.symlink(outside / "victim.txt", target / "victim.txt")
    ds.download(str(target), overwrite=True)
    assert (target / "victim.txt").read_text() == "dataset bytes" and not (target / "victim.txt").is_symlink()
    assert untouched(outside)
    target2 = tmp_path / "dl2"
    target2.mkdir()
    os.symlink(outside, target2 / "sub")
    with pytest.raises(UnsafePathError, match="symlink"):
        ds.download(str(target2), overwrite=True)
    assert untouched(outside)


def _one_output_run(ws, src):
    script(src, "w.py", WRITE_OUTPUT + """
from canalis.core import Run
open("artifact.txt", "w").write("artifact bytes")
Run.get_context().upload_file("outputs/model.pkl", "artifact.txt")
""")
    out = OutputFileDatasetConfig(name="r")
    run = Experiment(ws, "exp").submit(Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), arguments=[out])]))
    assert run.wait_for_completion() == "Completed"
    return run.find_step_run("w")[0]


def test_port_data_reference_download_does_not_follow_a_symlink(ws, src, counter, tmp_path, outside):
    step = _one_output_run(ws, src)
    local = tmp_path / "local"
    local.mkdir()
    os.symlink(outside, local / "azureml")  # outputs land at local/azureml/<step run id>/<name>, as in SDK v1
    with pytest.raises(UserErrorException, match="symlink"):
        step.get_output_data("r").download(str(local), overwrite=True, show_progress=False)
    assert untouched(outside)
    assert Path(step.get_output_data("r").download(str(tmp_path / "fine"), show_progress=False), "result.txt").read_text() == "new result"


def test_download_file_replaces_a_symlink_at_the_named_path(ws, src, counter, tmp_path, outside):
    step = _one_output_run(ws, src)
    target = tmp_path / "dl"
    target.mkdir()
    os.symlink(outside / "victim.txt", target / "model.pkl")
    step.download_file("outputs/model.pkl", str(target / "model.pkl"))
    assert (target / "model.pkl").read_text() == "artifact bytes" and untouched(outside)
    assert Path(step.download_file("outputs/model.pkl", str(target))).read_text() == "artifact bytes"


# -- run files (artifacts) ----------------------------------------------------------------------
def _context_run(ws, tmp_path):
    from canalis.core.run_context import _StepContextRun

    return _StepContextRun({"channel": str(tmp_path / "channel.jsonl"), "objects": str(ws._layout.objects),
                            "run_id": "r", "step_run_id": "s", "step_name": "s", "experiment": "e"})


@pytest.mark.parametrize("bad", BAD_RELATIVE + [""])
def test_run_upload_file_names_outside_the_run_files_are_refused(ws, tmp_path, bad):
    f = write(tmp_path / "a.txt", "a")
    run = _context_run(ws, tmp_path)
    with pytest.raises(UserErrorException):
        run.upload_file(bad, str(f))
    assert not (tmp_path / "channel.jsonl").exists() or (tmp_path / "channel.jsonl").read_text() == ""


def test_an_artifact_name_sent_past_the_sdk_fails_the_step(ws, src, counter):
    """The executor checks the channel too: a step that writes the message itself gets no
    artifact named outside its files."""
    script(src, "raw.py", """
import json, os
from canalis.executor.channel import ChannelWriter
ctx = json.load(open(os.environ["CANALIS_STEP_CONTEXT"]))
ChannelWriter(ctx["channel"]).send({"op": "artifact", "name": "../../evil", "digest": "0" * 64, "size": 1})
""")
    from canalis.executor.channel import ENV_VAR

    assert ENV_VAR == "CANALIS_STEP_CONTEXT"
    run = Experiment(ws, "exp").submit(Pipeline(ws, [PythonScriptStep(name="raw", script_name="raw.py", source_directory=str(src))]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert "artifact name '../../evil'" in run.find_step_run("raw")[0].get_details()["error"]
    assert list(ws.ledger.events(type="artifact.uploaded")) == []


# -- properties: random paths are refused or stay inside ------------------------------------------
TOKENS = ["a", "b", "/", ".", "..", "\0", "{run-id}", "{output-name}", " ", "\\", "é", "\udcff", "~"]
paths_text = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)


@given(paths_text)
def test_check_relative_refuses_or_stays_inside(text):
    root = "/r/root"
    try:
        rel = paths.check_relative(text, "path", "the root")
    except PathEscapeError:
        return
    expanded = paths.expand_destination(rel, "0b2c7a1e-run", "out_1")
    joined = posixpath.normpath(posixpath.join(root, expanded))
    assert paths.inside(root, joined), (text, rel, joined)
    assert "\0" not in rel


@given(paths_text)
def test_check_name_refuses_or_is_one_folder(text):
    try:
        name = paths.check_name(text, "name")
    except PathEscapeError:
        return
    assert posixpath.dirname(posixpath.normpath(posixpath.join("/r", name))) == "/r"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=paths_text)
def test_upload_with_random_target_paths_is_refused_or_lands_inside_the_datastore(ws, tmp_path, outside, target):
    store = ws.get_default_datastore()
    f = tmp_path / "a.txt"
    f.write_text("a")
    os.makedirs(store.root / "sub", exist_ok=True)
    if not os.path.lexists(store.root / "sub" / "out"):
        os.symlink(outside, store.root / "sub" / "out")  # a link that leads out, for paths to stumble on
    for t in (target, "sub/out/" + target, "sub/" + target):
        try:
            store.upload_files([str(f)], target_path=t, overwrite=True, show_progress=False)
        except UnsafePathError:
            continue
        except UserErrorException as e:  # e.g. a file where a folder is needed: refused, nothing written
            assert "not a folder" in str(e) or "is a folder" in str(e), e
            continue
        rel = paths.check_relative(t, "t", "r")
        assert os.path.realpath(store.root / rel / "a.txt").startswith(os.path.realpath(store.root) + os.sep)
    assert untouched(outside)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dest=paths_text)
def test_random_output_destinations_are_refused_or_stay_inside_the_datastore(ws, dest):
    store = ws.get_default_datastore()
    try:
        out = OutputFileDatasetConfig(name="o", destination=(store, dest))
    except UnsafePathError:
        return
    rel = paths.expand_destination(out.destination[1], "0b2c7a1e", "o")
    root = os.path.realpath(store.root)
    assert paths.inside(root, os.path.normpath(os.path.join(root, rel)))
    json.dumps(rel)  # text the ledger can record
