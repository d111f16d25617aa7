"""The mapping in the steps canalis runs: `from azureml.core import Run` inside a step works.

The executor process adds the folder of canalis's `azureml` shim (`shim/azureml`) in front of
its `PYTHONPATH` and sets `CANALIS_AZUREML=canalis`; every step process inherits both. Neither
is part of a step's reuse key (they are the executor's own environment, like its PATH). A
user who set `CANALIS_AZUREML=sdk` keeps the SDK in the steps too.
"""
from __future__ import annotations

import os
from pathlib import Path

from canalis.compat.finder import ENV

SHIM = Path(__file__).resolve().parent / "shim"


def step_environment(environ) -> dict[str, str]:
    """The variables to set in the executor's environment so that its steps get the mapping."""
    if environ.get(ENV, "").strip().lower() == "sdk":
        return {}
    parts = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SHIM)]
    return {ENV: "canalis", "PYTHONPATH": os.pathsep.join([str(SHIM), *parts])}
