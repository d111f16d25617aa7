"""`canalis env base-image`: make the Docker runner's base image offline (executor/baseimage.py)."""
from __future__ import annotations

import click

from canalis.cli.common import json_option, print_json


@click.group()
def env():
    """Environments: what steps run with (docs/environments.md)."""


@env.command("base-image")
@click.option("--name", default=None, help="Image name (default: canalis/base:bookworm-python3, what "
              "environments use unless docker.base_image says otherwise).")
@click.option("--suite", default="bookworm", show_default=True, help="Debian release to bootstrap.")
@click.option("--mirror", default=None, help="Debian mirror (default: the one apt is configured with).")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="Keep the root file system's tarball in this folder, and import it from there next time.")
@click.option("--force", is_flag=True, help="Make it again even if the engine has it.")
@json_option
def base_image(name, suite, mirror, cache, force, as_json):
    """Make the base image of the Docker runner without a registry: debootstrap a minimal
    Debian with python3, pip and venv from the apt mirror, and `docker import` it. Runs as
    root (debootstrap does); about 100 s, 290 MB. Does nothing when the engine has the image."""
    from canalis.executor.baseimage import make_base_image
    from canalis.executor.envspec import DEFAULT_BASE_IMAGE
    from canalis.executor.errors import ExecutorError

    say = (lambda _line: None) if as_json else (lambda line: click.echo(line, err=True))
    try:
        out = make_base_image(name or DEFAULT_BASE_IMAGE, suite=suite, mirror=mirror, cache=cache, force=force, say=say)
    except ExecutorError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        return print_json(out)
    how = {"present": "already in the engine", "cache": "imported from the cached root file system",
           "debootstrap": "made with debootstrap"}[out["made"]]
    click.echo(f"{out['name']} {out['image_id'][:19]}: {how} ({out['seconds']} s)")
