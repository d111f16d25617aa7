"""How a `canalis` process starts: the cycle collector waits until the command's first moments
are over (canalis/cli/startup.py, `collect_later`), and only in a process that is the command."""
from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from canalis.cli.startup import collect_later


def test_the_collector_is_off_at_first_and_on_once_the_delay_is_over():
    assert gc.isenabled()
    try:
        timer = collect_later(0.05)
        assert timer is not None and not gc.isenabled()
        timer.join()  # waits for the timer itself, whatever the machine's speed
        assert gc.isenabled()
    finally:
        gc.enable()


def test_a_collector_turned_off_by_someone_else_stays_off():
    gc.disable()
    try:
        assert collect_later(0.0) is None
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_command_process_starts_without_the_collector_and_a_caller_keeps_its_own():
    """`canalis` as the process (args from sys.argv) starts with the collector off; a program
    that calls the command group with its arguments (click's CliRunner) keeps its collector."""
    script = (
        "import gc, sys\n"
        "import canalis.cli.startup\n"
        "canalis.cli.startup.COLLECT_AFTER_S = 3600  # the probe runs long before it, however slow this machine\n"
        "from canalis.cli import main\n"
        "import click\n"
        "@main.command('probe-gc')\n"
        "def probe():\n"
        "    click.echo('on' if gc.isenabled() else 'off')\n"
        "sys.argv = ['canalis', 'probe-gc']\n"
        "main(prog_name='canalis', standalone_mode=False)\n"
        "from click.testing import CliRunner\n"
        "gc.enable()\n"
        "print(CliRunner().invoke(main, ['probe-gc']).output.strip())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["off", "on"]


# -- what the command sets aside from the collector (canalis/cli/startup.py `freeze_imports`) -------------------------

def test_freeze_imports_loads_the_modules_and_freezes_only_what_exists_so_far():
    script = (
        "import gc, sys\n"
        "from canalis.cli.startup import freeze_imports\n"
        "freeze_imports(['canalis.ledger.log'])\n"
        "assert 'canalis.ledger.log' in sys.modules\n"
        "from canalis.ledger.log import Ledger\n"
        "assert gc.get_freeze_count() > 0 and not any(o is Ledger for o in gc.get_objects())\n"
        "later = [[]]\n"
        "assert any(o is later for o in gc.get_objects())  # what is made afterwards is the collector's\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split() == ["ok"], out.stderr


PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
pipeline = Pipeline(ws, [PythonScriptStep(name="s", script_name="step.py", source_directory=os.path.join(here, "src"),
                                          arguments=[OutputFileDatasetConfig(name="d")])])
"""


@pytest.mark.parametrize("click_only", ["0", "1"], ids=["fast-path", "click"])
def test_the_connections_a_command_opens_are_closed_at_its_exit(tmp_path, click_only):
    """The ledger's and the store's connections are made after the freeze, and the command closes
    them before it exits (canalis/opened.py), so the last connection checkpoints and removes its
    `-wal` and `-shm` files (left behind, a full disk could not read the ledger:
    tests/faults/test_disk_full.py). Checked after a first submit, where the command and the
    run's executor process both hold the ledger and end together (each closes in turn, so
    whichever is last removes the files: tests/canalis/test_closing_at_exit.py holds that moment
    open), and after a reused submit, which the command records alone."""
    import os

    from tests.canalis.conftest import executor_pids, wait_for, write
    from tests.closing_elsewhere import wal_files

    root = tmp_path / "proj"
    # made by a `canalis init` process: a store this test process opened would hold its files open
    subprocess.run([sys.executable, "-m", "canalis", "init", str(root)], check=True, capture_output=True)
    write(root / "pipeline.py", PIPELINE)
    write(root / "src" / "step.py", "import os, sys\nopen(os.path.join(sys.argv[1], 'x'), 'w').write('x')\n")
    env = {**os.environ, "CANALIS_CLICK_ONLY": click_only}
    for attempt in ("runs", "reused"):
        out = subprocess.run([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "exits", "-q"], cwd=root,
                             capture_output=True, text=True, env=env)
        assert out.returncode == 0, (attempt, out.stdout + out.stderr)
        assert out.stdout.split()[1] == "Completed", attempt
        # the run's executor process (the first submit's) exits just after recording the run's end
        wait_for(lambda: not executor_pids(root), "the run's executor process to exit")
        assert wal_files(root) == [], attempt
