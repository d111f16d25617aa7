"""`canalis init [DIR]`."""
from __future__ import annotations

import click

from canalis import layout as _layout
from canalis.cli.common import fail_on_canalis_errors, json_option, print_json


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Workspace name (default: the folder's name).")
@json_option
@fail_on_canalis_errors
def init(directory, name, as_json):
    """Create a workspace (.canalis/) in DIRECTORY (default: here)."""
    lay = _layout.init(directory, name=name)
    cfg = lay.read_config()
    if as_json:
        print_json({"root": str(lay.root), "name": cfg["name"], "config": str(lay.config_path)})
    else:
        click.echo(f"workspace {cfg['name']!r} at {lay.root}")
