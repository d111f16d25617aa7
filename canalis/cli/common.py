"""Options and helpers shared by the CLI modules: workspace lookup, --json output, errors."""
from __future__ import annotations

import functools

import click

from canalis import layout as _layout
from canalis.cli.output import print_json  # noqa: F401 - the commands import it from here
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
            from canalis.cli.errors import debug

            if debug():
                raise
            raise click.ClickException(str(e)) from None
        return f(*args, layout=lay, **kwargs)

    return wrapper


class Duration(click.ParamType):
    """A DURATION option: `90s`, `30m`, `12h`, `7d`, `2w`, or a plain number of seconds."""

    name = "duration"

    def get_metavar(self, param, ctx=None):
        return "DURATION"

    def convert(self, value, param, ctx):
        from canalis.durations import DurationError, parse_duration

        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except DurationError as e:
            self.fail(str(e), param, ctx)


DURATION = Duration()


def duration_help(text: str) -> str:
    """`text` followed by how a DURATION is written (shown in --help)."""
    return f"{text} (DURATION: 90s, 30m, 12h, 7d, 2w; a plain number is seconds)"


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def fail_on_canalis_errors(f):
    """Turns canalis's own errors, a full disk and an unusable checkpoint key into a one-line
    message: exit code 2 for a name that names nothing (a run, a digest prefix), 1 otherwise
    (canalis/cli/errors.py). With --debug (CANALIS_DEBUG=1) the original exception goes through."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from canalis.cli.errors import as_click_error, debug

        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as e:
            err = None if debug() else as_click_error(e)
            if err is None:
                raise
            raise err from None

    return wrapper


def short_digest(digest) -> str:
    """The first 12 hex digits, enough to tell digests apart on screen."""
    return digest[:12] if digest else ""
