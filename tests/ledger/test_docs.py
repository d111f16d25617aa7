"""docs/events.md is checked against the code: the catalogue is complete and the documented
verification procedures work on real exports."""
from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from blake3 import blake3

from canalis.ledger import events as ev
from canalis.ledger.frozen import fields as record_fields
from .ledger_helpers import sample_events

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _block(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker}:begin -->\s*```\w*\n(.*?)```\s*<!-- {marker}:end -->", text, re.S)
    assert m, f"no {marker} block in {DOC}"
    return m.group(1)


def test_catalogue_documents_every_type_and_field():
    text = DOC.read_text(encoding="utf-8")
    for type_, cls in ev.REGISTRY.items():
        m = re.search(rf"### `{re.escape(type_)}` — {cls.__name__} \(version {cls.event_version}\)\n(.*?)(?=\n### |\n## )",
                      text, re.S)
        assert m, f"{type_} is not in docs/events.md"
        for f in record_fields(cls):
            assert f"| `{f.name}` |" in m.group(1), f"{type_}.{f.name} is not documented"


def _export(led, path):
    buf = io.StringIO()
    led.export_jsonl(buf)
    path.write_text(buf.getvalue(), encoding="utf-8")


def test_documented_export_verifier_accepts_an_export_and_rejects_an_edit(led, tmp_path):
    led.append_many(sample_events(30))
    led.append(ev.AnnotationAdded(stream_name="run:r1 ünïcødé\n数据", message="naïve", author="a"))
    led.append(ev.MetricLogged(run_id="r1", name="x", kind="row", value={"a": 1e-300, "b": -0.0, "c": 12345678901234567890}))
    script = tmp_path / "verify_export.py"
    script.write_text(_block("verify-export"), encoding="utf-8")
    export = tmp_path / "ledger.jsonl"
    _export(led, export)
    out = subprocess.run([sys.executable, str(script), str(export)], capture_output=True, text=True)
    seq, h = led.head()
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", str(seq), h]
    lines = export.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[9])
    edited["payload"]["value"] = 0.0
    lines[9] = json.dumps(edited, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), str(export)], capture_output=True, text=True)
    assert out.returncode != 0 and "chain broken at event 10" in out.stderr


def test_documented_sql_rebuilds_the_hashed_bytes(led):
    led.append_many(sample_events(10))
    led.append(ev.AnnotationAdded(stream_name="naïve\tstream \"quoted\" 数据", message="m\nline", author=None))
    conn = sqlite3.connect(str(led.path))
    prev, expected = "0" * 64, 1
    for seq, h, prev_hash, body in conn.execute(_block("verify-sql")):
        assert seq == expected and prev_hash == prev
        assert "\n" not in body
        assert blake3(body.encode("utf-8")).hexdigest() == h
        prev, expected = h, expected + 1
    conn.close()
    assert expected == 12


def test_documented_database_checker_reads_compressed_payloads_and_catches_an_edit(led, tmp_path):
    events = sample_events(1500)
    for i in range(0, 1500, 500):  # the third append crosses 1,024: its payloads are compressed
        led.append_many(events[i:i + 500])
    led.append(ev.AnnotationAdded(stream_name="naïve\tstream \"quoted\" 数据", message="m\nline", author=None))
    conn = sqlite3.connect(str(led.path))
    kinds = conn.execute("SELECT typeof(payload), count(*) FROM event_log GROUP BY 1 ORDER BY 1").fetchall()
    conn.close()
    assert [k for k, _ in kinds] == ["blob", "text"]
    script = tmp_path / "check_ledger.py"
    script.write_text(_block("verify-db"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), str(led.path)], capture_output=True, text=True)
    seq, h = led.head()
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", str(seq), h]
    conn = sqlite3.connect(str(led.path), isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE event_log SET time = time + 1 WHERE seq = 1400")
    conn.close()
    out = subprocess.run([sys.executable, str(script), str(led.path)], capture_output=True, text=True)
    assert out.returncode != 0 and "chain broken at event 1400" in out.stderr


def test_documented_zstd_command_reads_a_compressed_payload(tmp_path):
    import shutil

    import pytest

    from canalis.ledger import Ledger
    from canalis.ledger.canonical import canonical_json

    if not (shutil.which("sqlite3") and shutil.which("zstd")):
        pytest.skip("needs the sqlite3 and zstd tools")
    events = sample_events(1500)
    with Ledger(tmp_path / ".canalis" / "ledger.db") as led:
        recs = [r for i in range(0, 1500, 500) for r in led.append_many(events[i:i + 500])]
    script = _block("read-payload").replace("2000", "1200")
    out = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode("utf-8") == canonical_json(recs[1199].payload)
