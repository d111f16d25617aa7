"""`CondaDependencies`: the conda and pip packages of an environment, and pip's options.

What it holds becomes part of the environment's definition (and so of its digest). Pip
options (`set_pip_option("--find-links=DIR")`, `--no-index`, `--index-url URL` ...) are
passed to pip when canalis materialises the environment; they appear in the definition only
when some are set, so an environment without options keeps the digest it always had.
"""
from __future__ import annotations

from pathlib import Path

from canalis.exceptions import UserErrorException


class CondaDependencies:
    def __init__(self, conda_dependencies_file_path=None, _underlying_structure=None):
        self._conda: list[str] = []
        self._pip: list[str] = []
        self._pip_options: list[str] = []
        self._channels: list[str] = []
        self._python = None
        if conda_dependencies_file_path:
            import yaml

            path = Path(conda_dependencies_file_path)
            if not path.is_file():
                raise UserErrorException(f"conda specification {str(path)!r} does not exist; give the path of an "
                                         "environment YAML file (name, channels, dependencies)")
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise UserErrorException(f"conda specification {str(path)!r} is not a mapping with 'dependencies'; "
                                         "write it as conda's environment.yml format")
            self._channels = [str(c) for c in data.get("channels") or []]
            for dep in data.get("dependencies") or []:
                if isinstance(dep, dict):  # the pip section: packages, and lines that are pip's options
                    for item in dep.get("pip") or []:
                        item = str(item).strip()
                        (self._pip_options if item.startswith("-") else self._pip).append(item)
                elif _is_python(str(dep)):
                    self._python = str(dep).strip()[len("python"):].strip().lstrip("=").strip() or None
                else:  # `pip` itself is listed too, as in conda's files (its builds leave it out)
                    self._conda.append(str(dep))

    @staticmethod
    def create(pip_indexurl=None, pip_packages=None, conda_packages=None, python_version=None, pin_sdk_version=True):
        """As SDK v1. `pin_sdk_version` has nothing to pin: canalis's own modules are available
        to every step, whatever its environment."""
        cd = CondaDependencies()
        for p in pip_packages or []:
            cd.add_pip_package(p)
        for p in conda_packages or []:
            cd.add_conda_package(p)
        if pip_indexurl:
            cd.set_pip_option(f"--index-url={pip_indexurl}")
        cd._python = python_version
        return cd

    def add_pip_package(self, pip_package):
        if pip_package not in self._pip:
            self._pip.append(pip_package)

    def remove_pip_package(self, pip_package):
        self._pip = [p for p in self._pip if p != pip_package]

    def add_conda_package(self, conda_package):
        if conda_package not in self._conda:
            self._conda.append(conda_package)

    def remove_conda_package(self, conda_package):
        self._conda = [p for p in self._conda if p != conda_package]

    def add_channel(self, channel):
        if channel not in self._channels:
            self._channels.append(channel)

    def set_pip_option(self, pip_option):
        """Pass `pip_option` (one option with its value, e.g. "--find-links=/srv/wheels",
        "--no-index") to pip when the environment is built."""
        option = str(pip_option).strip()
        if not option.startswith("-"):
            raise UserErrorException(f"pip option {pip_option!r} does not start with '-'; give an option such as "
                                     "'--find-links=/path/to/wheels' (packages go to add_pip_package)")
        if option not in self._pip_options:
            self._pip_options.append(option)

    def remove_pip_option(self, pip_option):
        self._pip_options = [o for o in self._pip_options if o != str(pip_option).strip()]

    def set_python_version(self, version):
        self._python = version

    def get_python_version(self):
        return self._python

    @property
    def pip_packages(self):
        return list(self._pip)

    @property
    def conda_packages(self):
        return list(self._conda)

    @property
    def conda_channels(self):
        return list(self._channels)

    @property
    def pip_options(self):
        return list(self._pip_options)

    def as_dict(self) -> dict:
        d = {"python": self._python, "channels": list(self._channels), "conda": sorted(self._conda), "pip": sorted(self._pip)}
        if self._pip_options:  # in order: pip reads options in the order given
            d["pip_options"] = list(self._pip_options)
        return d

    @staticmethod
    def from_dict(d: dict) -> "CondaDependencies":
        cd = CondaDependencies()
        cd._python, cd._channels = d.get("python"), list(d.get("channels", []))
        cd._conda, cd._pip = list(d.get("conda", [])), list(d.get("pip", []))
        cd._pip_options = list(d.get("pip_options", []))
        return cd

    def serialize_to_string(self) -> str:
        lines = ["name: project_environment", "dependencies:"]
        if self._python:
            lines.append(f"- python={self._python}")
        lines += [f"- {c}" for c in self._conda]
        if self._pip or self._pip_options:
            lines.append("- pip:")
            lines += [f"  - {p}" for p in (*self._pip_options, *self._pip)]
        if self._channels:
            lines.append("channels:")
            lines += [f"- {c}" for c in self._channels]
        return "\n".join(lines) + "\n"


def _is_python(dep: str) -> bool:
    """`python`, `python=3.8`, `python>=3.8` name the interpreter; `python-dateutil` does not."""
    rest = dep.strip()[len("python"):] if dep.strip().startswith("python") else None
    return rest is not None and (rest == "" or rest[0] in "=<>~! ")
