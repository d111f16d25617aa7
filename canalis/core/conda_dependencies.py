"""`CondaDependencies`: the conda and pip packages of an environment."""
from __future__ import annotations

from pathlib import Path


class CondaDependencies:
    def __init__(self, conda_dependencies_file_path=None, _underlying_structure=None):
        self._conda: list[str] = []
        self._pip: list[str] = []
        self._channels: list[str] = []
        self._python = None
        if conda_dependencies_file_path:
            import yaml

            data = yaml.safe_load(Path(conda_dependencies_file_path).read_text(encoding="utf-8")) or {}
            self._channels = list(data.get("channels", []))
            for dep in data.get("dependencies", []):
                if isinstance(dep, dict):
                    self._pip.extend(dep.get("pip", []))
                elif str(dep).startswith("python") and not str(dep).startswith("python-"):
                    self._python = str(dep).partition("=")[2].lstrip("=") or None
                else:
                    self._conda.append(str(dep))

    @staticmethod
    def create(pip_indexurl=None, pip_packages=None, conda_packages=None, python_version=None, pin_sdk_version=True):
        cd = CondaDependencies()
        for p in pip_packages or []:
            cd.add_pip_package(p)
        for p in conda_packages or []:
            cd.add_conda_package(p)
        cd._python = python_version
        return cd

    def add_pip_package(self, pip_package):
        if pip_package not in self._pip:
            self._pip.append(pip_package)

    def add_conda_package(self, conda_package):
        if conda_package not in self._conda:
            self._conda.append(conda_package)

    def add_channel(self, channel):
        if channel not in self._channels:
            self._channels.append(channel)

    def set_python_version(self, version):
        self._python = version

    @property
    def pip_packages(self):
        return list(self._pip)

    @property
    def conda_packages(self):
        return list(self._conda)

    def as_dict(self) -> dict:
        return {"python": self._python, "channels": list(self._channels), "conda": sorted(self._conda), "pip": sorted(self._pip)}

    @staticmethod
    def from_dict(d: dict) -> "CondaDependencies":
        cd = CondaDependencies()
        cd._python, cd._channels = d.get("python"), list(d.get("channels", []))
        cd._conda, cd._pip = list(d.get("conda", [])), list(d.get("pip", []))
        return cd

    def serialize_to_string(self) -> str:
        lines = ["name: project_environment", "dependencies:"]
        if self._python:
            lines.append(f"- python={self._python}")
        lines += [f"- {c}" for c in self._conda]
        if self._pip:
            lines.append("- pip:")
            lines += [f"  - {p}" for p in self._pip]
        if self._channels:
            lines.append("channels:")
            lines += [f"- {c}" for c in self._channels]
        return "\n".join(lines) + "\n"
