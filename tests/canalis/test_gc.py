"""Garbage collection with real runs: roots kept, the rest freed, reuse falls back to running."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Dataset, Experiment, Model
from canalis.data import OutputFileDatasetConfig
from canalis.executor.gc import collect_garbage
from canalis.ledger import events as ev
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, statuses, write

MAKE = """
import os, sys
tag, out = sys.argv[1], sys.argv[-1]
inp = sys.argv[2] if len(sys.argv) > 3 else None
prev = open(os.path.join(inp, "v.txt")).read() if inp else ""
open(os.path.join(out, "v.txt"), "w").write(prev + tag * 1000)
"""


def pipeline(ws, src, tag):
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    return Pipeline(ws, [
        PythonScriptStep(name="first", script_name="make.py", source_directory=str(src / "one"), arguments=["x", a]),
        PythonScriptStep(name="second", script_name="make.py", source_directory=str(src / "two"), arguments=[tag, a.as_input(), b]),
    ])


def submit(ws, p, **kw):
    run = Experiment(ws, "gc").submit(p, **kw)
    assert run.wait_for_completion(raise_on_error=False) == "Completed"
    return run


def outputs_of(run):
    return {s.name: s.get_details()["outputs"] for s in run.get_steps()}


def everything(ws):
    return set(ws.store.iter_objects())


@pytest.fixture
def two_runs(ws, src, counter):
    script(src / "one", "make.py", MAKE)
    script(src / "two", "make.py", MAKE)
    old = submit(ws, pipeline(ws, src, "old"))
    new = submit(ws, pipeline(ws, src, "new"))
    time.sleep(0.2)  # objects written within gc's clock slack of its start are kept
    return old, new


def gc(ws, *args):
    out = CliRunner().invoke(main, ["gc", "--json", "--workspace", str(ws.root), *args])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_dry_run_changes_nothing(ws, two_runs):
    before, events_before = everything(ws), ws.ledger.head()
    report = gc(ws, "--keep-last", "1", "--grace", "0s", "--dry-run")
    assert report["dry_run"] and report["removed_objects"] > 0
    assert everything(ws) == before and ws.ledger.head() == events_before


def test_keep_last_frees_old_intermediates_and_reuse_falls_back_to_running(ws, src, two_runs, counter):
    old, new = two_runs
    old_second = outputs_of(old)["second"]["b"]
    report = gc(ws, "--keep-last", "1", "--grace", "0s")
    assert report["removed_objects"] > 0 and report["runs_collected"] == 1
    assert not ws.store.exists(old_second)  # the old run's own output is gone
    assert ws.store.exists(outputs_of(new)["second"]["b"])  # the kept run's outputs stay
    assert ws.store.exists(outputs_of(new)["first"]["a"])
    collected = [e.payload for e in ws.ledger.events(type="store.collected")]
    assert old_second in {d for p in collected for d in p["digests"]}
    assert [e.type for e in ws.ledger.events(stream="store")][0] == "gc.started"

    counter.reset()
    again_old = submit(ws, pipeline(ws, src, "old"))
    assert statuses(again_old) == {"first": "Reused", "second": "Completed"}  # only the collected step runs
    assert counter.lines() == ["make.py"]
    verify = CliRunner().invoke(main, ["verify", "--json", "--workspace", str(ws.root)])
    assert verify.exit_code == 0, verify.output  # collected digests are not reported missing


def test_registered_datasets_and_models_are_roots(ws, src, two_runs, tmp_path):
    old, _ = two_runs
    store = ws.get_default_datastore()
    write(store.root / "d" / "rows.csv", "a\n1\n")
    Dataset.Tabular.from_delimited_files(path=(store, "d/rows.csv")).register(ws, "rows")
    model_file = write(tmp_path / "model.bin", "weights")
    model = Model.register(ws, model_path=str(model_file), model_name="m")
    old_out = outputs_of(old)["second"]["b"]
    from_run = old.register_model("from_old_run", model_path="second/outputs/b")
    gc(ws, "--keep-last", "0", "--grace", "0s")
    assert Dataset.get_by_name(ws, "rows").to_pandas_dataframe()["a"].tolist() == [1]
    assert model.download(str(tmp_path / "dl"), exist_ok=True).endswith("model.bin")
    assert (tmp_path / "dl" / "model.bin").read_text() == "weights"
    assert ws.store.exists(from_run.tree) and from_run.tree == old_out  # same files, same tree address
    for e in ws.store.get_tree(from_run.tree):
        assert ws.store.exists(e.digest)


def test_published_pipeline_snapshots_are_roots(ws, src, two_runs):
    old, _ = two_runs
    submitted = next(iter(ws.ledger.events(stream=f"run:{old.id}", type="run.submitted"))).payload
    snapshots = [s["source_tree"] for s in submitted["plan"]["steps"]]
    ws.ledger.append(ev.PipelinePublished(pipeline_id="p1", name="published", plan=submitted["plan"], snapshots=snapshots))
    gc(ws, "--keep-last", "0", "--grace", "0s")
    for tree in snapshots:
        assert ws.store.exists(tree)
        assert all(ws.store.exists(e.digest) for e in ws.store.get_tree(tree))


def test_unreferenced_objects_wait_for_the_grace_period_and_new_ones_survive(ws, two_runs):
    stale = ws.store.put_bytes(b"nobody names me, and I am old")
    hour_ago = time.time() - 7200
    os.utime(ws.store.path_of(stale), (hour_ago, hour_ago))
    young = ws.store.put_bytes(b"nobody names me, but I was just written")
    report = gc(ws, "--grace", "1h")
    assert not ws.store.exists(stale)
    assert ws.store.exists(young)
    assert report["runs_kept"] == 2  # no policy: every run is kept
    # the young object is kept for one of two reasons, depending on how long ago it was written
    young_reasons = ("written after gc began", "unreferenced, younger than the grace period")
    assert sum(report["kept"].get(r, {}).get("objects", 0) for r in young_reasons) >= 1


def test_run_in_progress_keeps_everything_it_refers_to(ws, src, counter):
    script(src / "one", "make.py", MAKE)
    script(src / "slow", "slow.py", "import os, sys, time\ntime.sleep(3)\nopen(os.path.join(sys.argv[2], 'v.txt'), 'w').write(open(os.path.join(sys.argv[1], 'v.txt')).read())\n")
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    p = Pipeline(ws, [
        PythonScriptStep(name="first", script_name="make.py", source_directory=str(src / "one"), arguments=["x", a]),
        PythonScriptStep(name="slow", script_name="slow.py", source_directory=str(src / "slow"), arguments=[a.as_input(), b]),
    ])
    run = Experiment(ws, "gc").submit(p)
    deadline = time.time() + 30
    while not any(e.payload["step_name"] == "slow" for e in ws.ledger.events(stream=f"run:{run.id}", type="step.started")):
        assert time.time() < deadline
        time.sleep(0.05)
    report = collect_garbage(ws.ledger, ws.store, ws._layout.locks, keep_last=0, grace_seconds=0)
    assert report.kept.get("run in progress", {}).get("objects", 0) >= 3
    assert run.wait_for_completion() == "Completed"
    first_out = outputs_of(run)["first"]["a"]
    assert ws.store.exists(first_out)


@pytest.mark.slow
def test_gc_beside_a_pipeline_writing_outputs_removes_nothing_it_needs(tmp_path, counter):
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    chain = "\n".join(
        f"outs.append(OutputFileDatasetConfig(name='o{i}'))\n"
        f"steps.append(PythonScriptStep(name='s{i}', script_name='make.py', source_directory=src,"
        f" arguments=['t{i}'] + ([outs[-2].as_input()] if {i} else []) + [outs[-1]]))"
        for i in range(8)
    )
    write(root / "pipeline.py", """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "src")
ws = Workspace.from_config(here)
outs, steps = [], []
""" + chain + "\npipeline = Pipeline(ws, steps)\n")
    script(root / "src", "make.py", MAKE)
    cmd = [sys.executable, "-m", "canalis"]
    runs = []
    for round_ in range(2):
        proc = subprocess.Popen(cmd + ["submit", "pipeline.py", "-e", "busy", "-q", "--regenerate-outputs", "--json"],
                                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sweeps = 0
        while proc.poll() is None:
            out = subprocess.run(cmd + ["gc", "--keep-last", "0", "--grace", "0s", "--json"], cwd=root, capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            sweeps += 1
        stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr
        runs.append(json.loads(stdout))
        assert sweeps >= 2
    assert all(r["status"] == "Completed" for r in runs)
    assert all(s["status"] == "Completed" for r in runs for s in r["steps"])
    verify = subprocess.run(cmd + ["verify", "--json"], cwd=root, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout


# -- a collector killed mid-sweep ----------------------------------------------------------

# Runs a collection that SIGKILLs itself at the named point of its first batch: right after
# recording the intent, halfway through the deletions, or after them (before the completion).
DIE_AT = r"""
import os, signal, sys
from canalis import layout
from canalis.executor.gc import collect_garbage

lay = layout.at(sys.argv[1])
store, where = lay.open_store(), sys.argv[2]
real = store.delete_many

def delete_then_die(digests):
    digests = list(digests)
    if where == "after-intent":
        os.kill(os.getpid(), signal.SIGKILL)
    real(digests[: len(digests) // 2])
    if where == "mid-batch":
        os.kill(os.getpid(), signal.SIGKILL)
    real(digests)
    os.kill(os.getpid(), signal.SIGKILL)

store.delete_many = delete_then_die
collect_garbage(lay.open_ledger(), store, lay.locks, keep_last=int(sys.argv[3]), grace_seconds=0)
"""


def _killed_gc(ws, where, keep_last=1):
    out = subprocess.run([sys.executable, "-c", DIE_AT, str(ws.root), where, str(keep_last)], capture_output=True, text=True)
    assert out.returncode == -9, out.stderr
    (intent,) = [e.payload for e in ws.ledger.events(type="store.collection_intended")]
    assert not [e for e in ws.ledger.events(type="store.collected")]
    return intent


def verify_json(ws):
    out = CliRunner().invoke(main, ["verify", "--workspace", str(ws.root), "--json"])
    return out.exit_code, json.loads(out.output)


@pytest.mark.parametrize("where", ["after-intent", "mid-batch", "before-completion"])
def test_a_collection_killed_mid_sweep_is_explained_by_verify_and_finished_by_the_next_gc(ws, two_runs, where):
    intent = _killed_gc(ws, where)
    gone = [d for d in intent["digests"] if not ws.store.exists(d)]
    assert len(gone) == {"after-intent": 0, "mid-batch": len(intent["digests"]) // 2, "before-completion": len(intent["digests"])}[where]

    code, result = verify_json(ws)
    assert code == 0 and result["missing"] == [], result["missing"]  # removed by an intent: not missing
    (unfinished,) = result["unfinished_collections"]
    assert (unfinished["gc_id"], unfinished["objects"], unfinished["removed"]) == (intent["gc_id"], len(intent["digests"]), len(gone))
    text = CliRunner().invoke(main, ["verify", "--workspace", str(ws.root)]).output
    assert f"unfinished collection: gc {intent['gc_id']}" in text and "`canalis gc` finishes it" in text

    dry = gc(ws, "--grace", "0s", "--dry-run")
    assert dry["finished"]["collections"] == [f"{intent['gc_id']}#1"]
    assert not [e for e in ws.ledger.events(type="store.collected")]  # a dry run finishes nothing

    report = gc(ws, "--grace", "0s")  # no policy of its own: it only finishes the interrupted one
    assert report["finished"]["collections"] == [f"{intent['gc_id']}#1"]
    assert report["finished"]["objects"] == len(intent["digests"]) - len(gone)
    assert not any(ws.store.exists(d) for d in intent["digests"])
    (done,) = [e.payload for e in ws.ledger.events(type="store.collected")]
    assert (done["gc_id"], done["batch"], done["finished_by"], done["spared"]) == (intent["gc_id"], 1, report["gc_id"], [])
    assert sorted(done["digests"]) == sorted(intent["digests"])
    code, result = verify_json(ws)
    assert code == 0 and result["missing"] == [] and result["unfinished_collections"] == []
    assert gc(ws, "--grace", "0s")["finished"]["collections"] == []  # finished once


@pytest.mark.parametrize("where", ["after-intent", "before-completion"])
def test_content_named_again_after_the_intent_is_spared_by_the_next_gc(ws, two_runs, tmp_path, where):
    old, _ = two_runs
    old_b = outputs_of(old)["second"]["b"]
    intent = _killed_gc(ws, where)
    (blob,) = [e.digest for e in ws.store.get_tree(old_b)] if ws.store.exists(old_b) else [None]
    # the same bytes the old run wrote, registered as a dataset after the collector died: the
    # store finds them still there (after-intent) or stores them again (before-completion)
    folder = write(tmp_path / "again" / "v.txt", "x" * 1000 + "old" * 1000).parent
    again = Dataset.File.from_files(path=str(folder)).register(ws, "again")
    (entry,) = ws.store.get_tree(again._tree)
    assert entry.digest in intent["digests"]
    assert blob in (None, entry.digest)

    report = gc(ws, "--grace", "0s")
    assert report["finished"]["spared"] >= 1
    assert ws.store.get_bytes(entry.digest, verify=True) == b"x" * 1000 + b"old" * 1000
    (done,) = [e.payload for e in ws.ledger.events(type="store.collected")]
    assert entry.digest in done["spared"] and entry.digest not in done["digests"]
    code, result = verify_json(ws)
    assert code == 0 and result["missing"] == [] and result["unfinished_collections"] == []
    assert Dataset.get_by_name(ws, "again").to_path() == ["/v.txt"]


def test_verify_reports_a_collected_digest_named_again_but_not_stored_again(ws, two_runs):
    old, _ = two_runs
    old_b = outputs_of(old)["second"]["b"]
    gc(ws, "--keep-last", "1", "--grace", "0s")
    assert not ws.store.exists(old_b)
    assert verify_json(ws)[0] == 0  # collected after the old run named it: not missing
    ws.ledger.append(ev.ArtifactUploaded(run_id=old.id, name="late", digest=old_b, size=1))  # named again, never stored again
    code, result = verify_json(ws)
    assert code == 1 and [m["digest"] for m in result["missing"]] == [old_b]


def test_a_step_reused_after_its_run_was_collected_stores_its_key_document_again(ws, src, counter):
    script(src / "one", "make.py", MAKE)
    out = OutputFileDatasetConfig(name="a").register_on_complete("kept_output")

    def submit_once():
        p = Pipeline(ws, [PythonScriptStep(name="first", script_name="make.py", source_directory=str(src / "one"),
                                           arguments=["x", out])])
        return submit(ws, p)

    first = submit_once()
    time.sleep(0.2)
    gc(ws, "--keep-last", "0", "--grace", "0s")  # the run goes; its output stays, a dataset names it
    key = ws.ledger.step_runs(first.id)[0].reuse_key
    assert not ws.store.exists(key)
    again = submit_once()
    assert statuses(again) == {"first": "Reused"}
    assert ws.store.exists(key)  # `canalis why` can read the reused step's key document
    code, result = verify_json(ws)
    assert code == 0 and result["missing"] == [], result["missing"]


# -- working folders of failed steps -----------------------------------------------------------

FAIL = """
import os, sys
open(os.path.join(sys.argv[1], "partial.bin"), "wb").write(os.urandom(300_000))
sys.exit("the step gives up")
"""


def _runs(ws, *args):
    out = CliRunner().invoke(main, ["runs", "--workspace", str(ws.root), *args])
    assert out.exit_code == 0, out.output
    return out.output


def test_failed_step_folders_are_counted_by_runs_and_removed_by_gc_once_older_than_keep_failed(ws, src, counter):
    script(src / "bad", "fail.py", FAIL)
    out = OutputFileDatasetConfig(name="o")
    p = Pipeline(ws, [PythonScriptStep(name="bad", script_name="fail.py", source_directory=str(src / "bad"), arguments=[out])])
    run = Experiment(ws, "gc").submit(p)
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    (step,) = ws.ledger.step_runs(run.id)
    folder = ws._layout.runs / run.id / step.step_run_id
    assert (folder / "outputs" / "o" / "partial.bin").exists()  # kept for inspection

    (row,) = json.loads(_runs(ws, "--json"))
    assert row["failed_folders_bytes"] >= 300_000
    footer = _runs(ws).strip().splitlines()[-1]
    assert footer.startswith("working folders kept after failed steps: ") and " in 1 run(s)" in footer
    assert "--keep-failed" in footer

    report = gc(ws, "--keep-failed", "7d")  # the default: it failed moments ago, so it stays
    assert report["failed_folders"]["kept"] == 1 and report["failed_folders"]["removed"] == 0
    assert folder.exists()
    assert gc(ws, "--keep-failed", "0s", "--dry-run")["failed_folders"]["removed"] == 1 and folder.exists()

    report = gc(ws, "--keep-failed", "0s")
    assert report["failed_folders"]["removed"] == 1 and report["failed_folders"]["removed_bytes"] >= 300_000
    assert not folder.exists() and not folder.parent.exists()
    (removed,) = [e.payload for e in ws.ledger.events(type="gc.folders_removed")]
    assert removed["folders"] == [[run.id, step.step_run_id]] and removed["keep_failed_s"] == 0.0
    assert json.loads(_runs(ws, "--json"))[0]["failed_folders_bytes"] == 0
    assert _runs(ws).strip().splitlines()[-1] == "working folders kept after failed steps: 0 bytes in 0 run(s)"


def test_gc_never_removes_the_working_folder_of_a_running_step(ws, src, counter):
    script(src / "slow", "slow.py", "import os, sys, time\ntime.sleep(2)\nopen(os.path.join(sys.argv[1], 'v.txt'), 'w').write('done')\n")
    out = OutputFileDatasetConfig(name="o")
    p = Pipeline(ws, [PythonScriptStep(name="slow", script_name="slow.py", source_directory=str(src / "slow"), arguments=[out])])
    run = Experiment(ws, "gc").submit(p)
    deadline = time.time() + 30
    while not list(ws.ledger.events(stream=f"run:{run.id}", type="step.started")):
        assert time.time() < deadline
        time.sleep(0.05)
    report = gc(ws, "--keep-failed", "0s")
    assert report["failed_folders"]["removed"] == 0
    assert run.wait_for_completion() == "Completed"


def test_keep_failed_takes_a_duration(ws):
    out = CliRunner().invoke(main, ["gc", "--workspace", str(ws.root), "--keep-failed", "soon"])
    assert out.exit_code == 2 and "'soon' is not a duration" in out.output


def test_a_run_that_failed_resumably_keeps_what_resume_needs(ws, src, counter, tmp_path, monkeypatch):
    from canalis.pipeline.core.run import resume_run

    switch = tmp_path / "kill-me"
    switch.write_text("")
    monkeypatch.setenv("KILL_SWITCH", str(switch))
    script(src / "one", "make.py", MAKE)
    script(src / "dies", "dies.py", """
import os, signal, sys
if os.path.exists(os.environ["KILL_SWITCH"]):
    os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
open(os.path.join(sys.argv[2], "v.txt"), "w").write(open(os.path.join(sys.argv[1], "v.txt")).read())
""")
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    p = Pipeline(ws, [
        PythonScriptStep(name="first", script_name="make.py", source_directory=str(src / "one"), arguments=["x", a]),
        PythonScriptStep(name="dies", script_name="dies.py", source_directory=str(src / "dies"), arguments=[a.as_input(), b]),
    ])
    run = Experiment(ws, "gc").submit(p)
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    (failed,) = [e.payload for e in ws.ledger.events(type="run.failed")]
    assert failed["resumable"] and "step 'dies' was killed by SIGKILL" in failed["error"]
    time.sleep(0.2)
    report = gc(ws, "--keep-last", "0", "--grace", "0s")
    assert report["kept"]["run in progress"]["objects"] >= 4  # sources, first's output and logs

    switch.unlink()
    counter.reset()
    resumed = resume_run(ws, run.id)
    assert resumed.wait_for_completion(raise_on_error=False) == "Completed"
    assert counter.lines() == ["dies.py"]
    assert verify_json(ws)[0] == 0


def test_chunks_of_kept_files_are_kept_and_those_of_collected_files_go(ws, two_runs, tmp_path):
    """A file over the store's CHUNKED_MIN is stored as chunks and a chunk list: a kept
    file keeps its chunks (a chunk shared with a collected file too); a collected file's
    own chunks go with it."""
    from canalis.store.chunked import CHUNKED_MIN

    shared = os.urandom(CHUNKED_MIN)
    datastore = ws.get_default_datastore()
    write(datastore.root / "d" / "big.bin", "")
    (datastore.root / "d" / "big.bin").write_bytes(shared + b"kept")
    Dataset.File.from_files(path=(datastore, "d/big.bin")).register(ws, "big")
    (tmp_path / "gone.bin").write_bytes(shared + os.urandom(CHUNKED_MIN // 2))
    gone = ws.store.put_file(tmp_path / "gone.bin")
    kept = next(e.digest for e in ws.store.get_tree(Dataset.get_by_name(ws, "big")._tree) if e.path.endswith("big.bin"))
    kept_chunks = {c for c, _ in ws.store.chunks(kept)}
    gone_only = {c for c, _ in ws.store.chunks(gone)} - kept_chunks
    assert kept_chunks and gone_only
    time.sleep(0.2)
    gc(ws, "--keep-last", "0", "--grace", "0s")
    assert ws.store.exists(kept) and all(ws.store.exists(c) for c in kept_chunks)
    assert ws.store.get_bytes(kept, verify=True) == shared + b"kept"
    assert not ws.store.exists(gone) and not any(ws.store.exists(c) for c in gone_only)
    assert ws.store.verify().ok


def test_gc_compresses_the_chunks_a_put_stored_raw(ws, tmp_path):
    """A workspace stores a large file's chunks raw (store.chunk_compression "later", the
    default) so the put runs at the speed of the disk; gc compresses them, and the file reads
    back byte for byte. A workspace set to "put" compresses them as they are stored."""
    from canalis.layout import Layout
    from canalis.store.chunked import CHUNKED_MIN

    rows = "".join(f"{i},{i * 7919 % 100003},label_{i % 13}\n" for i in range(CHUNKED_MIN // 20)).encode()
    datastore = ws.get_default_datastore()
    write(datastore.root / "d" / "big.csv", "")
    (datastore.root / "d" / "big.csv").write_bytes(rows)
    Dataset.File.from_files(path=(datastore, "d/big.csv")).register(ws, "big")
    digest = next(e.digest for e in ws.store.get_tree(Dataset.get_by_name(ws, "big")._tree) if e.path.endswith("big.csv"))
    assert ws.store.chunk_compression == "later" and len(ws.store.chunks(digest)) > 2
    raw = ws.store.stats()["stored_bytes"]
    assert raw > len(rows)  # stored as it came
    time.sleep(0.2)
    gc(ws, "--keep-last", "0", "--grace", "0s")
    assert ws.store.stats()["stored_bytes"] < raw / 2
    assert ws.store.get_bytes(digest, verify=True) == rows
    assert ws.store.verify(deep=True).ok

    lay = Layout(ws.root)
    cfg = lay.read_config()
    cfg["store"]["chunk_compression"] = "put"
    lay.write_config(cfg)
    store = lay.open_store()
    assert store.chunk_compression == "put"
    other = rows.replace(b"label", b"class")  # no chunk in common with `rows`
    (tmp_path / "other.csv").write_bytes(other)
    before = store.stats()["stored_bytes"]
    store.put_file(tmp_path / "other.csv")
    assert store.stats()["stored_bytes"] - before < len(other) / 2  # compressed at the put
