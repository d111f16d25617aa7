"""schemathesis against the live server's /openapi.json: no request it makes from the
document gets a 5xx (a server fault), with a valid token and without."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _schemathesis(url: str, token: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "schemathesis.cli"]
    return subprocess.run([*cmd, "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {token}",
                           "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "15", "--workers", "1",
                           "--no-color", *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


def test_no_request_from_the_openapi_document_gets_a_5xx(ws, published, server, token, tmp_path):
    r = _schemathesis(server.url, token, tmp_path)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert "not_a_server_error" in r.stdout or "passed" in r.stdout.lower(), r.stdout[-3000:]
    server_log = server.log.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
