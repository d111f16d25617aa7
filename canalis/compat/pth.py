"""`canalis compat install | uninstall | status`: the mapping for every `python` of an environment.

`install` writes `canalis-azureml.pth` into the environment's site-packages (or a folder
given as target). Python runs its one line, `import canalis.compat.autoload`, at start-up,
so plain `python script.py` and Jupyter kernels of that environment answer `azureml` imports
with canalis, unless the Azure ML SDK is installed there too (then the SDK answers and says
so; `CANALIS_AZUREML=canalis` chooses canalis).
"""
from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from canalis.compat import finder, realsdk

PTH_NAME = "canalis-azureml.pth"
PTH_LINE = "import canalis.compat.autoload\n"


def site_packages() -> Path:
    """The site-packages folder of the interpreter running canalis."""
    return Path(sysconfig.get_paths()["purelib"])


def pth_path(target=None) -> Path:
    return Path(target) / PTH_NAME if target else site_packages() / PTH_NAME


def install(target=None) -> Path:
    path = pth_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(PTH_LINE, encoding="utf-8")
    os.replace(tmp, path)
    return path


def uninstall(target=None) -> Path | None:
    path = pth_path(target)
    if path.exists():
        path.unlink()
        return path
    return None


@dataclass(frozen=True)
class Status:
    pth: Path
    installed: bool
    sdk: realsdk.Sdk | None
    mode: str

    @property
    def answers(self) -> str:
        """Who answers `import azureml` in a plain `python` of this environment: "canalis",
        "sdk" or "nobody"."""
        sdk = "sdk" if self.sdk is not None else "nobody"
        if not self.installed or self.mode == "sdk":
            return sdk
        if self.mode == "canalis":
            return "canalis"
        return sdk if self.sdk is not None else "canalis"

    def lines(self) -> list[str]:
        out = [f"mapping file: {self.pth} ({'installed' if self.installed else 'not installed'})",
               f"Azure ML SDK: {realsdk.describe(self.sdk) if self.sdk else 'not installed'}",
               f"{finder.ENV}: {self.mode}"]
        who = self.answers
        if who == "canalis":
            out.append("plain `python` answers `import azureml` with canalis")
        elif who == "sdk":
            out.append("plain `python` answers `import azureml` with the Azure ML SDK; `canalis exec SCRIPT.py` (or "
                       f"{finder.ENV}=canalis{'' if self.installed else ' with `canalis compat install`'}) uses canalis")
        else:
            out.append("plain `python` cannot import azureml: run scripts with `canalis exec SCRIPT.py`, or "
                       "`canalis compat install`")
        return out


def status(target=None) -> Status:
    path = pth_path(target)
    return Status(path, path.is_file() and PTH_LINE.strip() in path.read_text(encoding="utf-8"), realsdk.installed(),
                  finder.current_mode())
