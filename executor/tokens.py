"""Bearer tokens of the REST API.

A token is random text (`cnl_` and 43 URL-safe characters, 256 bits), shown once when it is
made; the ledger keeps only its BLAKE3 digest (`token.created`). A request's token is
checked by digesting it and comparing with every valid token's digest in constant time
(`hmac.compare_digest`, and every digest is compared, found or not), so neither the text nor
the timing of a refusal tells anything about the stored digests.

The workspace's local token (what SDK v1's authentication classes return as the header) is a
token named "local" whose text is kept in `.canalis/local-token`, readable by its owner only.
"""
from __future__ import annotations

import getpass
import hmac
import os
import re
import secrets
import socket
import uuid
from pathlib import Path

from blake3 import blake3

from canalis.executor.errors import TokenError
from canalis.executor.locks import single_flight
from canalis.ledger import events as ev
from canalis.ledger.rows import TokenRow

PREFIX = "cnl_"
LOCAL_NAME = "local"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def digest(text: str) -> str:
    return blake3(text.encode("utf-8", "surrogatepass")).hexdigest()


def valid(ledger) -> list[TokenRow]:
    return [t for t in ledger.tokens() if t.revoked_at is None]


def create(ledger, name: str) -> tuple[TokenRow, str]:
    """Make a token named `name` (not the name of another valid token); returns its row and
    its text, which is not kept anywhere."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise TokenError(f"token name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-', starting with a "
                         "letter or digit")
    text = PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4().hex

    def compute():
        if any(t.name == name for t in valid(ledger)):
            raise TokenError(f"a token named {name!r} exists; revoke it first (`canalis token revoke {name}`) "
                             "or choose another name")
        return [ev.TokenCreated(id=token_id, name=name, digest=digest(text), user=getpass.getuser(),
                                host=socket.gethostname())]

    ledger.append_computed(compute)
    return next(t for t in ledger.tokens() if t.id == token_id), text


def revoke(ledger, name_or_id: str) -> TokenRow:
    """Revoke the valid token with that name (or id)."""
    found = [t for t in valid(ledger) if name_or_id in (t.name, t.id)]
    if not found:
        raise TokenError(f"no valid token is named {name_or_id!r}; `canalis token list` shows them")
    row = found[0]
    ledger.append(ev.TokenRevoked(id=row.id, name=row.name, user=getpass.getuser()))
    return next(t for t in ledger.tokens() if t.id == row.id)


def authenticate(ledger, text: str | None) -> TokenRow | None:
    """The valid token whose text is `text`, or None."""
    if not text:
        return None
    presented = digest(text)
    match = None
    for row in valid(ledger):
        if hmac.compare_digest(presented, row.digest):
            match = row  # no early exit: every digest is compared
    return match


def local(ledger, path: Path, locks_dir: Path) -> str:
    """The text of the workspace's local token, made on first use: kept in `path` (mode 0600,
    written under a lock so that two processes asking at once get the same token). A file
    whose token was revoked, or lost, is replaced by a new token."""
    path = Path(path)
    with single_flight(locks_dir, "local-token"):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if text and authenticate(ledger, text) is not None:
            return text
        for row in valid(ledger):
            if row.name == LOCAL_NAME:
                revoke(ledger, row.id)  # its text is gone: nobody can use it
        _row, text = create(ledger, LOCAL_NAME)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the owner only, whatever the workspace's sharing
            os.write(fd, (text + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return text


__all__ = ["LOCAL_NAME", "PREFIX", "authenticate", "create", "digest", "local", "revoke", "valid"]
