"""How a `canalis` process starts: the cycle collector waits until the command's first moments
are over (canalis/cli/startup.py, `collect_later`), and only in a process that is the command."""
from __future__ import annotations

import gc
import subprocess
import sys

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
