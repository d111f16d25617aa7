"""How the command line reports errors: one message naming what is wrong and what to do, never
a traceback for a user error.

Exit codes: 2 for a usage error (an option or argument that cannot be used, a run, digest or
name that names nothing), 1 for a failure (a run that failed, a damaged store, no space left).
`canalis --debug CMD` or CANALIS_DEBUG=1 lets the original exception through, with its
traceback. An exception that is not one of canalis's own errors is a fault in canalis: it is
reported in one line that says so and how to see the traceback.
"""
from __future__ import annotations

import errno
import os
import sqlite3
import sys
from contextlib import contextmanager

import click

DEBUG_ENV = "CANALIS_DEBUG"


def debug() -> bool:
    """Whether tracebacks are wanted (`--debug` or CANALIS_DEBUG=1)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class UsageFailure(click.ClickException):
    """A usage error without the usage text: the message is enough (exit code 2)."""

    exit_code = 2


def _user_errors() -> tuple[type, ...]:
    """canalis's own error classes: their messages are written for the user."""
    from canalis.errors import CanalisError
    from canalis.executor.errors import ExecutorError
    from canalis.ledger.errors import LedgerError
    from canalis.store.errors import StoreError

    return CanalisError, ExecutorError, LedgerError, StoreError


def _usage_errors() -> tuple[type, ...]:
    from canalis.errors import ReferenceNotFound
    from canalis.executor.errors import UnknownParameterError, UnknownStreamError
    from canalis.store.errors import DigestPrefixError, InvalidDigestError

    return ReferenceNotFound, UnknownParameterError, UnknownStreamError, DigestPrefixError, InvalidDigestError


def as_click_error(e: BaseException) -> click.ClickException | None:
    """The one-line click error for a user error (None when `e` is not one)."""
    if isinstance(e, click.ClickException):
        return e
    if isinstance(e, _usage_errors()):
        return UsageFailure(str(e))
    if isinstance(e, _user_errors()):
        return click.ClickException(str(e))
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" ({e.filename})" if e.filename else ""
        return click.ClickException(f"no space left on device{where}; free some space and try again")
    if isinstance(e, sqlite3.OperationalError) and ("disk is full" in str(e) or "disk i/o error" in str(e).lower()):
        return click.ClickException(f"no space left on device (or the disk is failing): SQLite reported {str(e)!r}; "
                                    "free some space and try again")
    return None


@contextmanager
def reported():
    """Turn what escapes a command into its message and exit code (see the module docstring)."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.Abort):
        raise
    except Exception as e:  # noqa: BLE001 - the last place an exception can be put into words
        if debug():
            raise
        err = as_click_error(e)
        if err is None:
            import traceback  # only for a fault in canalis

            where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
            at = f" at {os.path.basename(where.filename)}:{where.lineno}" if where else ""
            err = click.ClickException(
                f"canalis failed unexpectedly: {type(e).__name__}: {e}{at}. This is a fault in canalis, not in what "
                f"you gave it; run the command again with `canalis --debug ...` (or {DEBUG_ENV}=1) to see the "
                "traceback, and report it")
        err.show(file=sys.stderr)
        sys.exit(err.exit_code)
