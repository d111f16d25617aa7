"""Options and helpers shared by the CLI modules: workspace lookup, --json output, errors."""
from __future__ import annotations

import errno
import functools
import json
import sqlite3
import sys

import click

from canalis import layout as _layout
from canalis.errors import CanalisError


def workspace_option(f):
    """Adds `--workspace DIR` and passes the resolved `Layout` as `layout`."""

    @click.option(
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False),
        envvar="CANALIS_WORKSPACE",
        default=None,
        help="Workspace root (default: found upward from the current folder).",
    )
    @functools.wraps(f)
    def wrapper(*args, workspace=None, **kwargs):
        try:
            lay = _layout.at(workspace) if workspace else _layout.find()
        except CanalisError as e:
            raise click.ClickException(str(e)) from None
        return f(*args, layout=lay, **kwargs)

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def fail_on_canalis_errors(f):
    """Turns canalis's own errors, a full disk and an unusable checkpoint key into a one-line
    message and exit code 1 (no traceback)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from canalis.ledger.errors import CheckpointError, LedgerFull

        try:
            return f(*args, **kwargs)
        except (CanalisError, LedgerFull, CheckpointError) as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            where = f" ({e.filename})" if e.filename else ""
            raise click.ClickException(f"no space left on device{where}; free some space and try again") from None
        except sqlite3.OperationalError as e:  # a cache or index file SQLite could not write
            if "disk is full" not in str(e) and "disk i/o error" not in str(e).lower():
                raise
            raise click.ClickException(f"no space left on device (or the disk is failing): SQLite reported {str(e)!r}; "
                                       "free some space and try again") from None

    return wrapper


def short_digest(digest) -> str:
    """The first 12 hex digits, enough to tell digests apart on screen."""
    return digest[:12] if digest else ""
