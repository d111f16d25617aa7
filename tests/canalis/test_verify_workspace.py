"""`canalis verify` over a workspace with real runs."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script


def one_run(ws, src):
    script(src, "make.py", "import os, sys\nopen(os.path.join(sys.argv[1], 'out.txt'), 'w').write('payload ' * 100)\n")
    out = OutputFileDatasetConfig(name="out")
    run = Experiment(ws, "v").submit(Pipeline(ws, [PythonScriptStep(name="make", script_name="make.py", source_directory=str(src), arguments=[out])]))
    run.wait_for_completion()
    tree = run.find_step_run("make")[0].get_details()["outputs"]["out"]
    return ws.store.get_tree(tree)[0].digest


def verify(ws, *flags):
    out = CliRunner().invoke(main, ["verify", "--json", "--workspace", str(ws.root), *flags])
    return out.exit_code, json.loads(out.output)


def test_clean_workspace_verifies(ws, src, counter):
    one_run(ws, src)
    code, result = verify(ws)
    assert code == 0 and result["ok"] and result["missing"] == [] and result["references"] > 5


def test_flipped_byte_is_reported(ws, src, counter):
    digest = one_run(ws, src)
    where = ws.store.locate(digest)  # a step's output file: packed
    assert where.pack is not None
    os.chmod(where.path, 0o644)
    with open(where.path, "r+b") as f:
        f.seek(where.offset + where.length - 1)
        last = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([last ^ 0x01]))
    for flag in ("--deep", "--read-data"):  # the record's structure is intact: only re-hashing finds it
        code, result = verify(ws, flag)
        assert code == 1 and digest in result["store"]["corrupt"] and result["deep"] is True


def test_deleted_blob_is_reported_with_what_named_it(ws, src, counter):
    digest = one_run(ws, src)
    ws.store.delete(digest)  # as if lost: the pack is rewritten without it
    code, result = verify(ws)
    assert code == 1
    assert [m["digest"] for m in result["missing"]] == [digest]
    assert "output out" in result["missing"][0]["why"]
