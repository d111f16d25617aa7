"""`canalis ledger ...` through click's CliRunner, on a real workspace folder."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from canalis import layout as _layout
from canalis.cli import main
from canalis.ledger import FORMAT_VERSION
from .ledger_helpers import sample_events, tamper


@pytest.fixture
def ws(tmp_path):
    """A workspace with a config naming our ledger format (no store needed for these commands)."""
    lay = _layout.Layout(tmp_path.resolve())
    lay.dir.mkdir()
    lay.write_config({"version": 1, "name": "t", "store": {"format": 1}, "ledger": {"format": FORMAT_VERSION},
                      "datastores": {}, "settings": {}})
    with lay.open_ledger() as led:
        led.append_many(sample_events(8))
    return lay


def _run(ws, *args):
    return CliRunner().invoke(main, ["ledger", *args, "--workspace", str(ws.root)], catch_exceptions=False)


def test_head_and_events_json(ws):
    head = json.loads(_run(ws, "head", "--json").output)
    assert head["seq"] == 8 and len(head["hash"]) == 64
    events = json.loads(_run(ws, "events", "--json").output)
    assert [e["seq"] for e in events] == list(range(1, 9))
    steps = json.loads(_run(ws, "events", "--type", "step.", "--since", "3", "--json").output)
    assert steps and all(e["type"].startswith("step.") and e["seq"] > 3 for e in steps)
    assert json.loads(_run(ws, "events", "--stream", "run:nope", "--json").output) == []
    table = _run(ws, "events")
    assert table.exit_code == 0 and "run.submitted" in table.output


def test_verify_ok_then_broken(ws):
    res = _run(ws, "verify")
    assert res.exit_code == 0 and "ok: 8 events" in res.output
    tamper(ws.ledger_path, "UPDATE event_log SET time = '2000-01-01T00:00:00.000000Z' WHERE seq = 3")
    res = CliRunner().invoke(main, ["ledger", "verify", "--workspace", str(ws.root)])
    assert res.exit_code == 1 and "event 3" in res.output
    out = CliRunner().invoke(main, ["ledger", "verify", "--json", "--workspace", str(ws.root)])
    assert out.exit_code == 1 and json.loads(out.output)["first_bad_seq"] == 3


def test_rebuild_and_annotate(ws):
    res = _run(ws, "rebuild")
    assert res.exit_code == 0 and "8 events" in res.output
    res = _run(ws, "annotate", "--stream", "run:r1", "checked by hand", "--author", "ines", "--json")
    rec = json.loads(res.output)
    assert (rec["seq"], rec["type"], rec["stream"], rec["payload"]["author"]) == (9, "annotation.added", "run:r1", "ines")
    assert _run(ws, "verify").exit_code == 0


def test_export_to_stdout_and_file(ws, tmp_path):
    res = _run(ws, "export", "--format", "jsonl")
    lines = res.output.splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["seq"] == 1
    out = tmp_path / "export.jsonl"
    res = _run(ws, "export", "-o", str(out))
    assert res.exit_code == 0 and out.read_text(encoding="utf-8").splitlines() == lines


def test_ledger_errors_are_one_line_messages(tmp_path):
    lay = _layout.Layout(tmp_path.resolve())
    lay.dir.mkdir()
    lay.write_config({"version": 1, "name": "t", "ledger": {"format": 99}})
    res = CliRunner().invoke(main, ["ledger", "head", "--workspace", str(tmp_path)])
    assert res.exit_code == 1 and "ledger format 99" in res.output


def test_annotate_refuses_a_stream_the_ledger_has_no_event_on(ws):
    res = CliRunner().invoke(main, ["ledger", "annotate", "--stream", "run:r_typo", "a note",
                                    "--workspace", str(ws.root)])
    assert res.exit_code == 2 and "no event on stream 'run:r_typo'" in res.output
    missing = CliRunner().invoke(main, ["ledger", "annotate", "a note", "--workspace", str(ws.root)])
    assert missing.exit_code == 2 and "exactly one of --stream STREAM or --run RUN" in missing.output
    assert json.loads(_run(ws, "head", "--json").output)["seq"] == 8  # nothing was recorded
