"""Names of a package that load on first use (PEP 562): `import canalis` and the SDK packages
stay cheap, and a pipeline that names an output config does not load the modules of the names
it never uses."""
from __future__ import annotations

import importlib


def names(package: dict, table: dict[str, str]):
    """`(__getattr__, __dir__)` for the package whose globals are `package`: each name of
    `table` is taken from its module (absolute, or relative to the package when it starts
    with "."), imported when the name is first asked for and then kept in the package."""
    module = package["__name__"]

    def __getattr__(name: str):
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(target, module), name)
        package[name] = value
        return value

    def __dir__():
        return sorted(set(package) | set(table))

    return __getattr__, __dir__


__all__ = ["names"]
