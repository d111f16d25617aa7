"""Where the workspace's server listens: what `published_pipeline.endpoint` is built on.

`canalis serve` records the address it listens on in `.canalis/server.json` (`{"url", "host",
"port", "pid", "started_at"}`) once it listens, and keeps it after it stops, so the endpoints of
published pipelines stay the same from one start to the next. The address can be set instead
(a proxy in front, another port): the environment variable CANALIS_SERVER_URL, or the
workspace setting `server_url` in `.canalis/config.json` (`{"settings": {"server_url": ...}}`).
With none of these, the default `http://127.0.0.1:8787` is what `canalis serve` listens on
when given no port.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
FILE = "server.json"
ENV = "CANALIS_SERVER_URL"


def recorded(canalis_dir) -> dict | None:
    """What the last `canalis serve` recorded, or None."""
    try:
        with open(Path(canalis_dir) / FILE, encoding="utf-8") as f:
            data = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None


def record(canalis_dir, host: str, port: int, pid: int, started_at: str) -> dict:
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    data = {"url": url, "host": host, "port": port, "pid": pid, "started_at": started_at}
    path = Path(canalis_dir) / FILE
    tmp = path.with_name(f".{FILE}.{pid}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return data


def base_url(canalis_dir, settings: dict | None = None) -> str:
    """The server's base URL (no trailing slash): set, recorded, or the default."""
    chosen = os.environ.get(ENV) or (settings or {}).get("server_url")
    if not chosen:
        rec = recorded(canalis_dir)
        chosen = rec["url"] if rec else f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    return chosen.rstrip("/")


def pipeline_url(base: str, pipeline_id: str) -> str:
    """`POST` here runs the published pipeline (docs/rest-api.md)."""
    return f"{base}/pipelines/{pipeline_id}/runs"


def endpoint_url(base: str, endpoint_id: str) -> str:
    """`POST` here runs a version of the pipeline endpoint (the default unless the body names one)."""
    return f"{base}/endpoints/{endpoint_id}/runs"
