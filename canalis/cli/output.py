"""Writing a command's output without click: `echo` (as click.echo writes a line) and
`print_json`. The commands that canalis/cli/entry.py runs without importing click write
through these, so their output is the same whichever way they were started."""
from __future__ import annotations

import json
import sys

#: an ANSI escape sequence, as click.echo recognises it (to strip when not writing to a terminal)
_ANSI = r"\033\[[0-?]*[ -/]*[@-~]"


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except Exception:  # noqa: BLE001 - a stream that cannot tell is not a terminal (as click decides)
        return False


def _ascii(stream) -> bool:
    """Whether `stream` encodes to ASCII (click then rewraps it; `_stream_is_misconfigured`)."""
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False


def echo(message: str = "", err: bool = False) -> None:
    """Write `message` and a newline to stdout (stderr with `err`) and flush, as click.echo
    does: the stream is the current sys.stdout/sys.stderr, and ANSI styles are stripped when
    it is not a terminal. A stream set to ASCII is left to click.echo, which writes UTF-8
    through it."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no standard stream to write to
        return
    text = f"{message}\n"
    if "\033" in text and not _isatty(stream):
        import re

        text = re.sub(_ANSI, "", text)
    if _ascii(stream):  # click writes UTF-8 through a stream set to ASCII (PYTHONIOENCODING=ascii)
        import click

        return click.echo(message, err=err)
    stream.write(text)
    stream.flush()


def print_json(obj) -> None:
    """`obj` as indented JSON with sorted keys on stdout (docs/cli-json.md)."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
