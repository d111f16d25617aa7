"""The workspace's local token: what SDK v1 authentication classes put in the header of REST
calls to canalis's own server (`get_authentication_header()`).

It is made on first use, 32 random bytes as URL-safe text, in `.canalis/local-token`, readable
by its owner only (mode 0600, made with O_EXCL so two processes asking at once get the same
token). `CANALIS_TOKEN` in the environment takes its place (a token made for another user or
machine). The server that accepts it is `canalis serve`.
"""
from __future__ import annotations

import os
import secrets

ENV = "CANALIS_TOKEN"
FILE = "local-token"


def local_token(layout) -> str:
    """The token of the workspace at `layout` (a `canalis.layout.Layout`), made on first use."""
    given = os.environ.get(ENV, "").strip()
    if given:
        return given
    path = layout.dir / FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return path.read_text(encoding="utf-8").strip()
