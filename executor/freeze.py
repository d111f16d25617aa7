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
import platform
import re
import sys


#: the folders a distribution leaves on the path (pip's, and setuptools' older form)
SUFFIXES = (".dist-info", ".egg-info")


def installed(paths=None) -> list:
    """Sorted `name==version` (names normalised as pip does: lowercase, runs of `-_.` as `-`)
    of the distributions on `paths` (default `sys.path`); the first of a name wins, as for
    imports (within one folder, the first in sorted order). Only the names of distribution
    folders are sorted and parsed: a folder of the standard library holds hundreds of others."""
    seen = {}
    for entry in (sys.path if paths is None else paths):
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in sorted(n for n in names if n.endswith(SUFFIXES)):
            suffix = ".dist-info" if n.endswith(".dist-info") else ".egg-info"
            name, _, version = n[:-len(suffix)].partition("-")
            if suffix == ".egg-info":
                version = version.split("-py")[0]
            key = re.sub(r"[-_.]+", "-", name).lower()
            if version and key not in seen:
                seen[key] = key + "==" + version
    return sorted(seen.values())


_identity = []


def identity() -> dict:
    """The interpreter's Python version, implementation and platform (a copy: read once per process)."""
    if not _identity:
        _identity.append({"python": platform.python_version(), "implementation": platform.python_implementation(),
                          "platform": platform_name()})
    return dict(_identity[0])


def platform_name() -> str:
    """`sysconfig.get_platform()`. On Linux that is the kernel's name and the machine, read here
    as sysconfig reads them: importing sysconfig was most of the cost of this module, which
    every submit imports (a step's key names the platform)."""
    if sys.platform == "linux" and "_PYTHON_HOST_PLATFORM" not in os.environ:
        osname, _, _, _, machine = os.uname()
        osname = osname.lower().replace("/", "")
        if osname[:5] == "linux":
            return "%s-%s" % (osname, machine.replace(" ", "_").replace("/", "-"))
    import sysconfig

    return sysconfig.get_platform()


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
