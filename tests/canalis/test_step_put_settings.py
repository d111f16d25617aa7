"""A file a step puts into the store itself (`Run.upload_file`) is stored as the workspace's
`store.chunk_compression` says, like a file the executor or `canalis store put` puts: with
"later" a large file's chunks are written raw and `gc` compresses them; with "put" they are
compressed at once."""
from __future__ import annotations

import json

import pytest

from canalis.core import Experiment, Workspace
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from canalis.store import chunked
from canalis.store import pack as _pack
from canalis.store.blob import RAW, ZSTD, unpack_header
from tests.canalis.conftest import write

UPLOAD = f"""
from canalis.core import Run
with open("big.csv", "w") as f:  # compressible text, large enough to be stored as chunks
    i = 0
    while f.tell() < {chunked.CHUNKED_MIN + (1 << 20)}:
        f.write("%d,%d,label_%d\\n" % (i, i * 7919 % 100003, i % 13))
        i += 1
Run.get_context().upload_file("outputs/big.csv", "big.csv")
"""


@pytest.mark.parametrize("setting, flag", [("later", RAW), ("put", ZSTD)])
def test_a_file_a_step_uploads_follows_the_workspaces_chunk_compression(tmp_path, setting, flag):
    ws = Workspace.create("test", path=tmp_path / "ws")
    cfg_path = ws.root / ".canalis" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.setdefault("store", {})["chunk_compression"] = setting
    cfg_path.write_text(json.dumps(cfg))
    ws = Workspace.from_config(str(ws.root))
    write(tmp_path / "src" / "up.py", UPLOAD)
    run = Experiment(ws, "uploads").submit(Pipeline(ws, [
        PythonScriptStep(name="up", script_name="up.py", source_directory=str(tmp_path / "src"))]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.find_step_run("up")[0].get_stderr_log()
    [digest] = [e.payload["digest"] for e in ws.ledger.events(type="artifact.uploaded")]
    chunks = [c for c, _ in ws.store.chunks(digest)]
    assert len(chunks) > 1
    flags = set()
    for c in chunks[:-1]:  # the short last chunk may stay raw either way
        loc = ws.store.locate(c)
        flags.add(unpack_header(_pack.read_record(loc.path, loc.offset, 16), c)[0])
    assert flags == {flag}
    assert ws.store.get_bytes(digest, verify=True).startswith(b"0,0,label_0\n")
