"""The `canalis` command. Subcommands live in their own modules and are imported only
when used, so that a quick command (a warm snapshot, `ledger head`) does not pay for
importing pandas or the whole SDK.

This package imports no click: the click command group `main` lives in canalis/cli/group.py
(and is importable from here, loaded on first use), so that canalis/cli/entry.py, the
installed command, can run a plain `canalis submit` without loading click."""


def __getattr__(name):
    """The click group and its table of commands (canalis/cli/group.py), imported when asked for."""
    if name in ("main", "LazyGroup", "COMMANDS", "STARTS_A_RUN"):
        from canalis.cli import group

        return getattr(group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
