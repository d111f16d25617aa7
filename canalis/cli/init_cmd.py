"""`canalis init [DIR]`."""
from __future__ import annotations

import click

from canalis import layout as _layout
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Workspace name (default: the folder's name).")
@click.option("--shared", "group", default=None, metavar="GROUP",
              help="Share .canalis/ with GROUP (folders 2770, files 0660) instead of keeping it private to you "
                   "(0700/0600). Converts an existing workspace.")
@json_option
@fail_on_canalis_errors
def init(directory, name, group, as_json):
    """Create a workspace (.canalis/) in DIRECTORY (default: here), readable by you only
    unless --shared GROUP."""
    lay = _layout.init(directory, name=name, shared_group=group)
    cfg = lay.read_config()
    policy = lay.permissions()
    if as_json:
        print_json({"root": str(lay.root), "name": cfg["name"], "config": str(lay.config_path),
                    "permissions": policy.to_config()})
    else:
        click.echo(f"workspace {cfg['name']!r} at {lay.root}, {policy.describe()}")
