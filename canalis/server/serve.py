"""Starting the server: bind the address, record it, and run the app on uvicorn.

The socket is bound here (port 0 picks a free one) so that the address recorded in
`.canalis/server.json` is the one really listened on, before the first request is taken.
uvicorn stops gracefully on SIGINT and SIGTERM: requests in flight finish, the scheduler
stops; runs already started go on in their own executor processes.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

from canalis.errors import ServeError
from canalis.server import address

#: seconds between two looks of the scheduler at the schedules, and that a watched folder must
#: stay unchanged before its change fires (environment variables, for tests and slow disks)
TICK_ENV, SETTLE_ENV = "CANALIS_SCHEDULER_TICK", "CANALIS_SCHEDULER_SETTLE"


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}; choose another --port "
                         "(--port 0 picks a free one)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    try:
        value = float(text) if text else default
    except ValueError:
        raise ServeError(f"{name}={text!r} is not a number of seconds") from None
    if not value > 0:
        raise ServeError(f"{name} must be above 0 seconds, got {text!r}")
    return value


def serve(workspace, canalis_dir, host: str = address.DEFAULT_HOST, port: int = address.DEFAULT_PORT,
          announce=print) -> None:
    """Serve the workspace's API and run its scheduler until stopped."""
    import uvicorn

    from canalis.server.app import create_app
    from canalis.server.scheduler import Scheduler

    tick, settle = _seconds(TICK_ENV, 1.0), _seconds(SETTLE_ENV, 2.0)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    recorded = address.record(canalis_dir, host, actual, os.getpid(), datetime.now(timezone.utc).isoformat())
    base = address.base_url(canalis_dir, workspace.settings)
    app = create_app(workspace, base, Scheduler(workspace, tick=tick, settle=settle), host=host)
    announce(f"canalis serve: listening on {recorded['url']} (workspace {workspace.root}); endpoints at {base}; "
             "web UI at the same address; Ctrl-C stops")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["ServeError", "bind", "serve"]
