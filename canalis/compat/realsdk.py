"""Is the real Azure ML SDK v1 installed beside canalis? Found on `sys.path` without importing it."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sdk:
    path: str  # the folder holding azureml/core/
    version: str | None


def installed() -> Sdk | None:
    """The Azure ML SDK v1 (`azureml/core/__init__.py` on `sys.path`), or None."""
    for entry in sys.path:
        folder = Path(entry or os.getcwd())
        try:
            if (folder / "azureml" / "core" / "__init__.py").is_file():
                return Sdk(str(folder), _version())
        except OSError:
            continue
    return None


def _version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("azureml-core")
    except metadata.PackageNotFoundError:
        return None


def describe(sdk: Sdk) -> str:
    return f"the Azure ML SDK{' ' + sdk.version if sdk.version else ''} (azureml-core in {sdk.path})"


def sdk_active_note() -> str:
    sdk = installed()
    return (f"canalis: `azureml` imports go to {describe(sdk)}, which is installed beside canalis; canalis's mapping "
            "stays out of its way. To have canalis answer them: run the script with `canalis exec SCRIPT.py`, or set "
            "CANALIS_AZUREML=canalis (CANALIS_AZUREML=sdk keeps the SDK and silences this note).")


def canalis_active_note(sdk: Sdk) -> str:
    return (f"canalis: `azureml` imports are answered by canalis; {describe(sdk)} is installed too and is not used "
            "here. Run the script with plain `python` (and CANALIS_AZUREML unset or `sdk`) to use the SDK.")
