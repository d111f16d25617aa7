"""docs/store-format.md's worked example must stay true: same files, same digests, and the
stock-tool recipe (tail -c +17 | zstd -d, then BLAKE3) must reproduce every blob's name."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import blake3
import pytest

from store_helpers import write

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-format.md"


def _example(tmp_path: Path) -> Path:
    src = write(tmp_path / "src", {
        "hello.txt": "hello canalis\n",
        "numbers.txt": "".join(f"{i}\n" for i in range(1, 2001)),  # seq 1 2000
        "sub/run.sh": "x\n",
    })
    os.chmod(src / "sub" / "run.sh", 0o755)
    os.symlink("hello.txt", src / "link")
    return src


def test_worked_example_digests_match_the_doc(store, tmp_path):
    text = DOC.read_text(encoding="utf-8")
    src = _example(tmp_path)
    blob = store.put_file(src / "hello.txt")
    tree = store.snapshot(src).tree
    assert f"canalis store put src/hello.txt\n{blob}" in text
    assert f"canalis store snapshot src\n{tree}" in text
    manifest = store.get_bytes(tree).decode()
    assert manifest in text  # the manifest printed by `zstd -dc` in the doc
    assert re.search(r"od -An -tu8 -j8 -N8 \$T .*\n\s+%d\n" % len(manifest.encode()), text)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd command is not installed")
def test_stock_tools_reproduce_every_blob_name(store, tmp_path):
    store.put_file(_example(tmp_path) / "hello.txt")
    store.snapshot(tmp_path / "src")
    loose = list(store._loose())
    assert len(loose) == 2  # hello.txt (a single put) and the tree manifest
    for digest in loose:
        path = store.path_of(digest)
        body = subprocess.run(
            f"tail -c +17 '{path}' | zstd -dcf", shell=True, check=True, capture_output=True
        ).stdout
        assert blake3.blake3(body).hexdigest() == digest
        with open(path, "rb") as f:
            head = f.read(16)
        assert head[:4] == b"CNLB" and head[4] == 1 and head[5] in (0, 1)
        assert int.from_bytes(head[8:16], "little") == len(body)


def _pack_loop(text: str) -> str:
    block = re.search(r"```sh\n(P=\$\(ls .canalis/objects/packs.*?)```", text, re.S)
    assert block, "the pack-reading loop is missing from docs/store-format.md"
    return block.group(1)


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd command is not installed")
def test_stock_tools_read_every_packed_blob_as_the_doc_says(tmp_path):
    from canalis.store import LocalStore

    text = DOC.read_text(encoding="utf-8")
    ws = tmp_path / "demo"
    store = LocalStore(ws / ".canalis" / "objects")
    src = _example(tmp_path)
    store.put_file(src / "hello.txt")
    store.snapshot(src)
    (pack,) = os.listdir(ws / ".canalis" / "objects" / "packs")
    assert f"$ ls .canalis/objects/packs\n{pack}\n" in text
    b3sum = f"{shlex.quote(sys.executable)} -c 'import sys, blake3; print(blake3.blake3(sys.stdin.buffer.read()).hexdigest())'"
    loop = _pack_loop(text).replace("b3sum", b3sum)  # the interpreter running the tests has blake3
    out = subprocess.run(["bash", "-c", loop], cwd=ws, check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, offset, length, rehash = line.split()
        assert digest == rehash
        assert store.locate(digest).offset == int(offset) and store.locate(digest).length == int(length)
        assert line in text  # the doc prints exactly this output


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd command is not installed")
@pytest.mark.parametrize("compression", ["put", "later", "later, then compress_packs"])
def test_stock_tools_reassemble_a_chunked_file_as_the_doc_says(tmp_path, compression):
    from canalis.store import LocalStore
    from canalis.store.chunked import CHUNKED_MIN

    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(L=\.canalis/objects/.*?)```", text, re.S)
    assert block, "the chunked-file recipe is missing from docs/store-format.md"
    ws = tmp_path / "demo"
    store = LocalStore(ws / ".canalis" / "objects", chunk_compression=compression.split(",")[0])
    rows = "".join(f"{i},{i * i % 977},row {i}\n" for i in range(400_000)).encode()  # compressible chunks
    data = rows + os.urandom(CHUNKED_MIN + (1 << 20) - len(rows))  # and raw ones
    (tmp_path / "big.csv").write_bytes(data)
    digest = store.put_file(tmp_path / "big.csv")
    store.put_bytes(data[: 1 << 20])  # a loose blob beside the packs, not a chunk
    assert len(store.chunks(digest)) > 2
    if compression.endswith("compress_packs"):
        assert store.compress_packs()[0] > 0  # the CSV chunks, stored raw by the put
    b3sum = f"{shlex.quote(sys.executable)} -c 'import sys, blake3; print(blake3.blake3(open(sys.argv[1], \"rb\").read()).hexdigest())'"
    recipe = block.group(1).replace("b3sum", b3sum)
    out = subprocess.run(["bash", "-c", recipe], cwd=ws, env={**os.environ, "D": digest},
                         check=True, capture_output=True, text=True).stdout
    assert (ws / "file.out").read_bytes() == data
    assert out.split()[0] == digest
