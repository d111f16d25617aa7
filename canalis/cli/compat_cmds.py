"""`canalis exec SCRIPT.py [ARGS]` and `canalis compat install | uninstall | status`."""
from __future__ import annotations

import sys

import click


@click.command(name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("script", type=click.Path(dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def exec_(script, args):
    """Run SCRIPT.py with ARGS as `python SCRIPT.py ARGS` would, with its `import azureml...`
    answered by canalis: unmodified Azure ML SDK v1 code runs offline. Its steps get the same
    mapping. The exit code is the script's."""
    from pathlib import Path

    if not Path(script).is_file():
        raise click.ClickException(f"{script} is not a file; pass the path of a Python script")
    from canalis.compat.run_script import run

    run(script, list(args))


target_option = click.option("--target", type=click.Path(file_okay=False), default=None,
                             help="Folder to write the mapping file into (default: this Python's site-packages).")


@click.group()
def compat():
    """The `azureml` import mapping for plain `python` and Jupyter in this environment."""


@compat.command()
@target_option
def install(target):
    """Write canalis-azureml.pth: every `python` of this environment answers `import azureml`
    with canalis (unless the Azure ML SDK is installed too: then the SDK answers and says so)."""
    from canalis.compat import pth

    path = pth.install(target)
    click.echo(f"wrote {path}")
    _echo_status(pth.status(target))


@compat.command()
@target_option
def uninstall(target):
    """Remove the mapping file; `canalis exec` still maps."""
    from canalis.compat import pth

    path = pth.uninstall(target)
    click.echo(f"removed {path}" if path else f"no mapping file at {pth.pth_path(target)}")


@compat.command()
@target_option
def status(target):
    """Whether the mapping file is installed, whether the Azure ML SDK is, and which one a plain
    `python` uses for `import azureml`."""
    from canalis.compat import pth

    _echo_status(pth.status(target))


def _echo_status(st) -> None:
    for line in st.lines():
        click.echo(line)
    sys.stdout.flush()
