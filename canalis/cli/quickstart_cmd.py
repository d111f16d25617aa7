"""`canalis quickstart DIR`."""
from __future__ import annotations

import time

import click

from canalis.cli.common import fail_on_canalis_errors, json_option, print_json


@click.command()
@click.argument("directory", default="canalis-demo", type=click.Path(file_okay=False))
@json_option
@fail_on_canalis_errors
def quickstart(directory, as_json):
    """Create a workspace in DIRECTORY, run a prepare/train/evaluate pipeline, then run it
    again and show that every step was reused. Run again on the same DIRECTORY, it submits
    in the existing workspace again (and reuses what did not change)."""
    from canalis import quickstart as qs
    from canalis.ledger.status import RunStatus

    t0 = time.time()
    result = qs.run(directory, show_output=not as_json, echo=(lambda *_: None) if as_json else click.echo)
    result["seconds"] = round(time.time() - t0, 2)
    if as_json:
        return print_json(result)
    first, second = result["runs"]
    for label, s in (("first", first), ("second", second)):
        steps = ", ".join(f"{x['step']}: {'reused' if x['reused'] else x['status'].lower()}" for x in s["steps"])
        click.echo(f"{label} run {s['run_id']}: {s['status']} ({steps})")
    reused = second["counts"]["reused"]
    accuracy = first["metrics"]["run"].get("accuracy")
    if isinstance(accuracy, (int, float)):
        click.echo(f"test accuracy {accuracy:.3f}; second submit reused {reused} of {len(second['steps'])} steps")
    else:  # a run whose evaluate step was reused logged no accuracy itself
        click.echo(f"second submit reused {reused} of {len(second['steps'])} steps")
    if result["existing_workspace"]:
        ran = [x["step"] for x in first["steps"] if not x["reused"]]
        click.echo(f"{result['workspace']} was already a workspace: the first submit "
                   + (f"ran {', '.join(ran)} again" if ran else "reused every step too (nothing had changed)"))
    click.echo(f"workspace {result['workspace']} ready in {result['seconds']} s. Next: cd {result['project']} && "
               f"canalis runs; canalis show latest; canalis submit pipeline.py --experiment quickstart --param n_estimators=50")
    if second["status"] != RunStatus.Completed or reused != len(second["steps"]):
        raise click.ClickException("the second submit did not reuse every step")
