"""Who may read and change through the web UI.

Reading needs no token only when the server listens on 127.0.0.1 (or ::1): only this machine
can reach it then. On any other address every page needs a valid token, sent as
`Authorization: Bearer <token>` or kept in the `canalis_token` cookie that the sign-in page
(`/ui/login`) sets. Changes (enabling or disabling a published pipeline, endpoint or
schedule) always need a token, whatever the address.
"""
from __future__ import annotations

from fastapi import Request

COOKIE = "canalis_token"
LOOPBACK = {"127.0.0.1", "::1"}


class SignInNeeded(Exception):
    """The page needs a valid token and the request carries none."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def token_text(request: Request, form_token: str | None = None) -> str | None:
    """The token the request carries: a form field, the bearer header, or the cookie."""
    if form_token:
        return form_token.strip()
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def open_for_reading(host: str) -> bool:
    return host in LOOPBACK


def reader(request: Request):
    """A page dependency: the token row, or None when reading is open (loopback)."""
    state = request.app.state
    text = token_text(request)
    token = state.session.authenticate(text) if text else None
    if token is None and not state.ui_open_read:
        raise SignInNeeded("this server listens beyond this machine: every page needs a token "
                           "(`canalis token create NAME`); sign in below")
    return token


def writer(request: Request, form_token: str | None):
    """The token that allows a change, or SignInNeeded."""
    text = token_text(request, form_token)
    token = request.app.state.session.authenticate(text) if text else None
    if token is None:
        raise SignInNeeded("changes need a valid token (`canalis token create NAME`); a revoked or unknown "
                           "token is refused: sign in below, then try again")
    return token


__all__ = ["COOKIE", "SignInNeeded", "open_for_reading", "reader", "token_text", "writer"]
