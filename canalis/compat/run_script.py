"""`canalis exec SCRIPT.py [ARGS]` and `python -m canalis.compat SCRIPT.py [ARGS]`: run a script as
`python SCRIPT.py ARGS` would, with its `azureml` imports answered by canalis."""
from __future__ import annotations

import os
import runpy
import sys

from canalis.compat import finder, realsdk
from canalis.exceptions import UserErrorException


def run(script: str, args: list[str]) -> None:
    """Run `script` as `__main__` with `sys.argv` = [script, *args]; SystemExit and the script's
    own exceptions pass through, as with `python SCRIPT.py`."""
    if not os.path.isfile(script):
        raise UserErrorException(f"{script} is not a file; pass the path of a Python script (canalis exec SCRIPT.py ARGS)")
    finder.install("canalis")
    os.environ[finder.ENV] = "canalis"  # Python processes the script starts get the mapping too (with the .pth)
    sdk = realsdk.installed()
    if sdk is not None:
        print(realsdk.canalis_active_note(sdk), file=sys.stderr, flush=True)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
