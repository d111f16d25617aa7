"""What an interpreter has installed: `name==version` of each distribution (what `pip
freeze` lists), and the interpreter's version, implementation and platform.

Read from the names of the `*.dist-info` / `*.egg-info` folders on the path, without
importing pip (a scan of a few folders instead of a second-long `pip freeze`). This module
uses the standard library only: canalis runs it as a program with the interpreter of a
materialised environment (a virtual environment, a Docker image) to learn what that
environment holds: `python freeze.py` prints the packages, one a line, then
`#python VERSION IMPLEMENTATION PLATFORM`.
"""
import os
import re
import sys
import sysconfig


def installed(paths=None) -> list:
    """Sorted `name==version` (names normalised as pip does: lowercase, runs of `-_.` as `-`)
    of the distributions on `paths` (default `sys.path`); the first of a name wins, as for
    imports."""
    seen = {}
    for entry in (sys.path if paths is None else paths):
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for n in names:
            for suffix in (".dist-info", ".egg-info"):
                if n.endswith(suffix):
                    name, _, version = n[:-len(suffix)].partition("-")
                    if suffix == ".egg-info":
                        version = version.split("-py")[0]
                    key = re.sub(r"[-_.]+", "-", name).lower()
                    if version and key not in seen:
                        seen[key] = key + "==" + version
    return sorted(seen.values())


def identity() -> dict:
    return {"python": python_version(), "implementation": python_implementation(),
            "platform": sysconfig.get_platform()}


#: `platform.python_implementation()` of the implementations `sys.implementation` names
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython", "jython": "Jython"}


def python_version(text=None) -> str:
    """`platform.python_version()` ("3.11.7"): on CPython read from `sys.version` (or `text`,
    a CPython `sys.version`) as `platform` reads it (its leading `[\\w.+]+`, ".0" added to a
    two-part version), without importing `platform` (milliseconds, though a process that
    loads zstandard loads it anyway). Other interpreters ask `platform`."""
    if text is None and sys.implementation.name != "cpython":
        import platform

        return platform.python_version()
    version = re.match(r"[\w.+]+", sys.version if text is None else text).group(0)
    return version + ".0" if version.count(".") == 1 else version


def python_implementation() -> str:
    """`platform.python_implementation()`, from `sys.implementation` for the ones it names."""
    name = _IMPLEMENTATIONS.get(sys.implementation.name)
    if name is None:
        import platform

        return platform.python_implementation()
    return name


def parse(text: str):
    """This program's output read back: (packages, identity)."""
    packages, found = [], {}
    for line in text.splitlines():
        if line.startswith("#python "):
            version, impl, plat = (line.split()[1:] + ["", "", ""])[:3]
            found = {"python": version, "implementation": impl, "platform": plat}
        elif line.strip():
            packages.append(line.strip())
    return sorted(packages), found


if __name__ == "__main__":
    print("\n".join(installed()))
    i = identity()
    print("#python " + " ".join((i["python"], i["implementation"], i["platform"])))
