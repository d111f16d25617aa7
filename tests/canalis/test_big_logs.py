"""Step output of any size is captured, echoed and printed in bounded memory, byte for byte.

The memory tests run `canalis submit` and `canalis logs` as real processes under a small
wrapper that reports the peak RSS of its children (`RUSAGE_CHILDREN`): a memory bound, not
a timing. The runner's pump, the line selection of `logs --head/--tail` and the echo's line
prefixes are checked directly too.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from canalis.cli import main
from canalis.core import Experiment
from canalis.core.run_logs import LinePrefixer, head_chunks, tail_start
from canalis.executor.runners import local
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

SPEW = """
import sys
n, mode = int(sys.argv[1]), sys.argv[2]
unit = (b"x" * 99 + b"\\n") if mode == "lines" else b"y" * 100
chunk = unit * 10000
out = sys.stdout.buffer
left = n
while left > 0:
    out.write(chunk[:left])
    left -= len(chunk)
out.flush()
"""


# -- the runner's pump -----------------------------------------------------------------------
def _pumped(data: bytes) -> list[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    pieces = []
    import threading

    t = threading.Thread(target=local._pump, args=(proc.stdout, "stdout", lambda s, d: pieces.append(d)))
    t.start()
    proc.stdin.write(data)
    proc.stdin.close()
    proc.wait()
    t.join()
    return pieces


def test_pump_passes_a_line_without_newline_in_bounded_pieces():
    data = os.urandom(3 * local.LINE_LIMIT).replace(b"\n", b"n")
    pieces = _pumped(data)
    assert b"".join(pieces) == data
    assert len(pieces) >= 3 and max(len(p) for p in pieces) <= local.LINE_LIMIT + local.READ_CHUNK
    assert all(isinstance(p, bytes) for p in pieces)


def test_pump_passes_whole_lines_and_keeps_bytes_that_are_not_utf8():
    data = b"one\n\xff\xfe two\n" + b"z" * 10 + b"\nlast without newline"
    pieces = _pumped(data)
    assert b"".join(pieces) == data
    assert all(p.endswith(b"\n") for p in pieces[:-1])


# -- storing a captured log --------------------------------------------------------------------
def test_a_log_is_stored_in_one_pass_under_the_digest_of_its_bytes(tmp_path):
    import blake3

    from canalis.executor.logcapture import StepLog
    from canalis.store import LocalStore
    from canalis.store.errors import SnapshotError

    store = LocalStore(tmp_path / "objects")
    log = StepLog(tmp_path / "stdout.txt")
    pieces = [os.urandom(1 << 20) for _ in range(12)] + [b"\nlast line\n"]  # larger than what is read whole
    for p in pieces:
        log.write(p)
    log.close()
    data = b"".join(pieces)
    digest = log.store(store)
    assert digest == blake3.blake3(data).hexdigest() and store.get_bytes(digest) == data
    assert log.tail_lines(1) == ["last line"]
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(9 << 20))
    with pytest.raises(SnapshotError, match="changed while it was being stored"):
        store.put_file(other, digest=digest[::-1])  # a digest that does not match the bytes is caught
    assert not store.exists(digest[::-1])


# -- line selection ---------------------------------------------------------------------------
def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:]) if b > a]


@given(st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\n\n", b"\xff"]), max_size=30).map(b"".join),
       st.lists(st.integers(0, 200), max_size=6), st.integers(0, 8))
def test_head_and_tail_match_splitlines_whatever_the_chunking(data, cuts, n):
    lines = data.splitlines(keepends=True)
    assert b"".join(head_chunks(iter(_split(data, cuts)), n)) == b"".join(lines[:n])
    start, size = tail_start(iter(_split(data, cuts)), n)
    assert size == len(data)
    assert data[start:] == (b"".join(lines[-n:]) if n else b"")


@given(st.lists(st.sampled_from([b"a", b"\n", "é".encode(), "✓".encode(), b"\xff"]), max_size=30).map(b"".join),
       st.lists(st.integers(0, 200), max_size=6))
def test_prefixed_echo_is_the_text_with_a_prefix_per_line_whatever_the_chunking(data, cuts):
    p = LinePrefixer("[s] ")
    text = "".join(p.feed(c) for c in _split(data, cuts)) + p.feed(b"", final=True)
    plain = data.decode(errors="replace")
    assert text == "".join("[s] " + line for line in plain.splitlines(keepends=True))


# -- logs through the CLI ---------------------------------------------------------------------
@pytest.fixture
def small_run(ws, src, counter):
    script(src, "talk.py", """
import sys
for i in range(1, 8):
    print(f"line {i}")
sys.stdout.flush()
sys.stdout.buffer.write(b"raw \\xff\\xfe bytes\\nno newline at the end")
sys.stdout.flush()
print("err 1\\nerr 2", file=sys.stderr)
""")
    run = Experiment(ws, "exp").submit(Pipeline(ws, [PythonScriptStep(name="talk", script_name="talk.py", source_directory=str(src))]))
    assert run.wait_for_completion() == "Completed"
    return ws, run


def _logs(ws, *args):
    r = CliRunner().invoke(main, ["logs", *args, "--workspace", str(ws.root)])
    return r


def test_logs_prints_the_stored_bytes_unchanged(small_run):
    ws, run = small_run
    r = _logs(ws, run.id)
    assert r.exit_code == 0, r.output
    expected = b"".join(f"line {i}\n".encode() for i in range(1, 8)) + b"raw \xff\xfe bytes\nno newline at the end"
    assert r.stdout_bytes == b"== talk stdout ==\n" + expected
    assert r.stderr_bytes == b"== talk stderr ==\nerr 1\nerr 2\n"
    step = run.find_step_run("talk")[0]
    assert ws.store.get_bytes(step._row().stdout) == expected  # captured byte for byte


def test_logs_head_and_tail(small_run):
    ws, run = small_run
    r = _logs(ws, run.id, "talk", "--head", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes == b"== talk stdout ==\nline 1\nline 2\n"
    assert r.stderr_bytes == b"== talk stderr ==\nerr 1\nerr 2\n"
    r = _logs(ws, run.id, "--tail", "2")
    assert r.stdout_bytes == b"== talk stdout ==\nraw \xff\xfe bytes\nno newline at the end"
    assert r.stderr_bytes == b"== talk stderr ==\nerr 1\nerr 2\n"
    r = _logs(ws, run.id, "--tail", "1", "--follow")
    assert r.exit_code == 0 and r.stdout_bytes == b"== talk stdout ==\nno newline at the end"
    r = _logs(ws, run.id, "--head", "1", "--tail", "1")
    assert r.exit_code == 2 and "--head cannot be combined" in r.output


def test_submit_echo_prefixes_every_line_and_ends_a_partial_one(small_run, capsys):
    ws, run = small_run
    capsys.readouterr()
    run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert "[talk] line 7\n[talk] raw \ufffd\ufffd bytes\n[talk] no newline at the end\n== talk: completed in " in out
    assert out.endswith("\n") and "\nRun " in out


# -- memory: 300 MB of output ------------------------------------------------------------------
MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    with open(sys.argv[1], "wb") as out:
        code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode
    print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
""")
SIZE = 300 * 1000 * 1000


def _peak(argv, out_path, cwd) -> int:
    """Peak RSS in bytes of the process `argv` (and anything it waited for), run fresh."""
    r = subprocess.run([sys.executable, "-c", MEASURE, str(out_path), *argv], capture_output=True, text=True, cwd=cwd, check=True)
    code, peak = map(int, r.stdout.split())
    assert code == 0, (argv, code)
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["lines", "noline"])
def test_submit_and_logs_of_a_step_printing_300_mb_stay_in_bounded_memory(ws, src, counter, tmp_path, mode):
    script(src, "spew.py", SPEW)
    pipe = write(tmp_path / "pipe.py", f"""
        from canalis.core import Workspace
        from canalis.pipeline.core import Pipeline
        from canalis.pipeline.steps import PythonScriptStep
        ws = Workspace(path={str(ws.root)!r})
        pipeline = Pipeline(ws, [PythonScriptStep(name="spew", script_name="spew.py", source_directory={str(src)!r},
                                                  arguments=[{SIZE}, {mode!r}], allow_reuse=False)])
    """)
    submit_out = tmp_path / "submit.out"
    peak_submit = _peak([sys.executable, "-m", "canalis", "submit", str(pipe), "-e", "big"], submit_out, tmp_path)
    assert submit_out.stat().st_size > SIZE  # every byte was echoed (with its prefixes)
    run_id = ws.ledger.runs()[0].run_id
    logs_out = tmp_path / "logs.out"
    peak_logs = _peak([sys.executable, "-m", "canalis", "logs", run_id, "--workspace", str(ws.root)], logs_out, tmp_path)
    assert logs_out.stat().st_size == len(b"== spew stdout ==\n") + SIZE
    with open(logs_out, "rb") as f:
        f.seek(-100, 2)
        assert f.read() == (b"x" * 99 + b"\n" if mode == "lines" else b"y" * 100)
    # before streaming, submit peaked at about 1.1x and logs at 2x the output's size; now both
    # stay under 100 MB whatever the size (interpreter, zstd and BLAKE3 buffers)
    assert peak_submit < SIZE / 2, f"submit peaked at {peak_submit / 1e6:.0f} MB for {SIZE / 1e6:.0f} MB of output"
    assert peak_logs < SIZE / 2, f"logs peaked at {peak_logs / 1e6:.0f} MB for {SIZE / 1e6:.0f} MB of output"
