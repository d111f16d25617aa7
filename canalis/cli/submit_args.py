"""The arguments of a plain `canalis submit`, parsed without click (canalis/cli/entry.py).

`parse` understands the forms of the click command's own parser (canalis/cli/run_cmds.py
`submit`) that a submit is usually written with: one TARGET anywhere among the options, long
options with their value as the next argument or after `=`, the short `-e NAME`, `-q` and
`-d`, and --param repeated. It returns the same keyword arguments as click would give the
command, or None ("decline") for anything else: then click parses the command line and
reports its own errors in its own words. It declines rather than guess: a clustered `-qd`,
an attached `-eNAME`, `--`, `--help`, an unknown option, a missing or bad value, a --param
without `=`, a second TARGET, no TARGET.

tests/canalis/test_fast_submit.py checks, as a property, that it never gives other values
than click and declines whenever click refuses, and that it knows every option of the click
command.
"""
from __future__ import annotations

import os
import stat

#: value kinds: a flag (True when given), a text, an int (as click's INT reads it), a repeated
#: text (a tuple), a folder (click.Path(file_okay=False): declined when click would refuse it)
FLAG, TEXT, INT, MANY, FOLDER = "flag", "text", "int", "many", "folder"

#: option -> (keyword argument of the click command, kind)
OPTIONS = {
    "--experiment": ("experiment", TEXT),
    "-e": ("experiment", TEXT),
    "--param": ("params", MANY),
    "--regenerate-outputs": ("regenerate_outputs", FLAG),
    "--continue-on-step-failure": ("continue_on_step_failure", FLAG),
    "--max-concurrent-steps": ("max_concurrent_steps", INT),
    "--compute": ("compute_target", TEXT),
    "--detach": ("detach", FLAG),
    "-d": ("detach", FLAG),
    "--quiet": ("quiet", FLAG),
    "-q": ("quiet", FLAG),
    "--plain": ("plain", FLAG),
    "--dry-run": ("dry_run", FLAG),
    "--allow-secret-values": ("allow_secret_values", FLAG),
    "--workspace": ("workspace", FOLDER),
    "--json": ("as_json", FLAG),
}

#: the keyword arguments of an option not given (the click command's defaults)
DEFAULTS = {
    "experiment": None, "params": (), "regenerate_outputs": False, "continue_on_step_failure": False,
    "max_concurrent_steps": None, "compute_target": None, "detach": False, "quiet": False, "plain": False,
    "dry_run": False, "allow_secret_values": None, "workspace": None, "as_json": False,
}


class _Decline(Exception):
    """The command line is one for click to parse."""


def _folder(value: str) -> str:
    """click.Path(file_okay=False) accepts a path that does not exist, or a readable one that is
    not a regular file; anything else is for click to refuse."""
    try:
        st = os.stat(value)
    except OSError:
        return value
    except ValueError:  # a NUL in the path
        raise _Decline from None
    if stat.S_ISREG(st.st_mode) or not os.access(value, os.R_OK):
        raise _Decline
    return value


def _value(kind: str, raw: str):
    if kind == INT:
        try:
            return int(raw)  # what click's INT does with text
        except ValueError:
            raise _Decline from None
    if kind == FOLDER:
        return _folder(raw)
    if kind == MANY and "=" not in raw:  # the submit itself refuses it, with click's usage text
        raise _Decline
    return raw


def _parse(args: list[str]) -> dict:
    values: dict = {}
    many: list[str] = []
    targets: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            raise _Decline
        if not arg.startswith("-") or len(arg) == 1:  # `-` alone is a TARGET, as for click
            targets.append(arg)
            continue
        name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in OPTIONS:
            raise _Decline
        key, kind = OPTIONS[name]
        if kind == FLAG:
            if eq:
                raise _Decline
            values[key] = True
            continue
        if eq:
            raw = attached
        elif rest:
            raw = rest.pop(0)  # the next argument, whatever it looks like (as click takes it)
        else:
            raise _Decline
        value = _value(kind, raw)
        if kind == MANY:
            many.append(value)
        else:
            values[key] = value  # given twice: the last one counts, as with click
    if len(targets) != 1:
        raise _Decline
    out = {"target": targets[0], **DEFAULTS, **values}
    if many:
        out["params"] = tuple(many)
    return out


def parse(args: list[str]) -> dict | None:
    """The keyword arguments of canalis/cli/submitting.py `submit` for the arguments after
    `submit`, or None when click is to parse them."""
    try:
        return _parse(args)
    except _Decline:
        return None
