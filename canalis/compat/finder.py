"""The import hook that answers `import azureml...` with canalis.

`install()` puts one finder first on `sys.meta_path`. It answers every `azureml` module name
itself, so nothing of canalis is ever loaded a second time under another name: the root
`azureml` is an empty package; each public SDK v1 module canalis offers names of is an
`SdkModule`, whose attributes are looked up on first use (canalis/compat/names.py) and are the
canalis objects themselves (`azureml.core.Run is canalis.core.Run`). A module or name canalis
does not offer fails to import with a message saying why.

Which package answers `azureml` is chosen by `CANALIS_AZUREML`: `canalis`, `sdk` (the
Azure ML SDK, if installed; the hook stays out of the way), or unset (`auto`): canalis,
unless the SDK is installed, in which case the SDK answers and the first `azureml` import
says so on stderr, with how to switch. canalis never shadows an installed SDK silently.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
import types

from canalis.compat import names, realsdk

ENV = "CANALIS_AZUREML"
MODES = ("canalis", "sdk", "auto")
_lock = threading.Lock()
_said: set[str] = set()


class SdkModule(types.ModuleType):
    """An SDK v1 module as canalis answers it: its names are canalis's objects, looked up when
    first used."""

    def __getattr__(self, name):
        if name == "__all__":
            return names.offered(self.__name__)
        if name.startswith("__"):
            raise AttributeError(name)
        value = names.resolve(self.__name__, name)  # AttributeError saying why when not offered
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(names.offered(self.__name__)))

    def __repr__(self):
        return f"<module {self.__name__!r} (answered by canalis)>"


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        module = SdkModule(spec.name)
        module.__doc__ = (f"The Azure ML SDK v1 module {spec.name}, answered by canalis "
                          f"(names: {names.mirror(spec.name)} and its neighbours).")
        if spec.name == names.SDK_PREFIX or spec.name in names.sdk_packages():
            module.__path__ = []
        return module

    def exec_module(self, module):
        pass


class AzuremlFinder(importlib.abc.MetaPathFinder):
    """Answers `azureml` and `azureml.*` with canalis (see the module docstring)."""

    def __init__(self, mode: str | None = None):
        self.fixed_mode = mode

    def mode(self) -> str:
        return self.fixed_mode or current_mode()

    def find_spec(self, fullname, path=None, target=None):
        if fullname != names.SDK_PREFIX and not fullname.startswith(names.SDK_PREFIX + "."):
            return None
        mode = self.mode()
        if mode == "sdk":
            return None
        if mode == "auto" and realsdk.installed() is not None:
            _say_once("sdk-active", realsdk.sdk_active_note())
            return None
        if fullname == names.SDK_PREFIX or names.is_offered_module(fullname):
            return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=fullname in names.sdk_packages())
        parent, _, last = fullname.rpartition(".")
        if last in names.sdk_modules().get(parent, {}):
            # `from azureml.x import Name` of a name canalis does not offer: say why, not "no module"
            raise ImportError(f"cannot import name {last!r} from {parent!r}: {names.refusal(parent, last)}", name=parent)
        if fullname in names.sdk_modules() or fullname in names.sdk_packages():
            raise ModuleNotFoundError(f"No module named {fullname!r} in canalis: {names.refusal(fullname)}", name=fullname)
        raise ModuleNotFoundError(f"No module named {fullname!r}: {names.refusal(fullname)}", name=fullname)


def current_mode() -> str:
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    return value if value in MODES else "auto"


def _say_once(key: str, text: str) -> None:
    with _lock:
        if key in _said:
            return
        _said.add(key)
    print(text, file=sys.stderr, flush=True)


def installed_finder() -> AzuremlFinder | None:
    for f in sys.meta_path:
        if isinstance(f, AzuremlFinder):
            return f
    return None


def install(mode: str | None = None) -> AzuremlFinder:
    """Put the finder first on `sys.meta_path` (once). `mode` fixes the choice for this process
    ("canalis" for `canalis exec` and for steps); None reads `CANALIS_AZUREML` at each import."""
    with _lock:
        finder = installed_finder()
        if finder is None:
            finder = AzuremlFinder(mode)
            sys.meta_path.insert(0, finder)
        elif mode is not None:
            finder.fixed_mode = mode
    return finder


def uninstall() -> None:
    """Remove the finder and forget the `azureml` modules it answered."""
    with _lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, AzuremlFinder)]
        for name in [n for n, m in sys.modules.items() if n == "azureml" or n.startswith("azureml.")]:
            if isinstance(sys.modules[name], SdkModule):
                del sys.modules[name]
