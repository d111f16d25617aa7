"""Environments on the local runner: a virtual environment per digest, built once, from a local
wheelhouse (no registry), recorded in the ledger; reuse follows the environment digest."""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from canalis.core import Environment, Experiment
from canalis.core.conda_dependencies import CondaDependencies
from canalis.core.runconfig import RunConfiguration
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script

PKG = "canalis_probe_pkg"

USES_PKG = f"""
import {PKG}, sys
from canalis.core import Run
print("version", {PKG}.VERSION, "prefix", sys.prefix)
Run.get_context().log("probe_version", {PKG}.VERSION)
Run.get_context().log("prefix", sys.prefix)
"""


def make_wheel(folder: Path, version: str, name: str = PKG) -> Path:
    """A pure-Python wheel written by hand (zip + dist-info), as a wheelhouse would hold it."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: canalis-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel


def env_with(wheels: Path, *packages: str, name="probe-env") -> Environment:
    env = Environment(name)
    cd = CondaDependencies.create(pip_packages=list(packages))
    cd.set_pip_option(f"--find-links={wheels}")
    cd.set_pip_option("--no-index")
    env.python.conda_dependencies = cd
    return env


def step(src, name, env, script_name="use.py"):
    rc = RunConfiguration()
    rc.environment = env
    return PythonScriptStep(name=name, script_name=script_name, source_directory=str(src), runconfig=rc)


def submit(ws, steps, expect="Completed"):
    run = Experiment(ws, "exp").submit(Pipeline(ws, steps))
    assert run.wait_for_completion(raise_on_error=False) == expect, run.get_details()
    return run


def events(ws, type_, stream=None):
    return [r.payload for r in ws.ledger.events(stream=stream, type=type_)]


def test_a_step_imports_a_package_the_host_lacks_from_a_local_wheelhouse(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    script(src, "use.py", USES_PKG)
    env = env_with(wheels, f"{PKG}==1.0")
    run = submit(ws, [step(src, "use", env)])
    use = run.find_step_run("use")[0]
    folder = Path(ws.root) / ".canalis" / "envs" / env.digest()
    assert use.get_metrics() == {"probe_version": "1.0", "prefix": str(folder)}
    assert (folder / "canalis-env.json").is_file()
    built = events(ws, "environment.built")
    assert len(built) == 1 and built[0]["digest"] == env.digest() and built[0]["kind"] == "venv"
    assert built[0]["location"] == str(folder) and built[0]["run_id"] == run.id
    packages = ws.store.get_bytes(built[0]["packages"]).decode().split()
    assert f"canalis-probe-pkg==1.0" in packages
    recorded = events(ws, "step.environment", stream=f"run:{run.id}")
    assert [(r["step_name"], r["environment"], r["location"]) for r in recorded] == [("use", env.digest(), str(folder))]
    assert ws.store.get_bytes(recorded[0]["packages"]) == ws.store.get_bytes(built[0]["packages"])


def test_keeping_the_environment_reuses_changing_it_reruns_and_builds_once_per_digest(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    make_wheel(wheels, "2.0")
    script(src, "use.py", USES_PKG)
    submit(ws, [step(src, "use", env_with(wheels, f"{PKG}==1.0"))])
    again = submit(ws, [step(src, "use", env_with(wheels, f"{PKG}==1.0"))])
    assert again.find_step_run("use")[0].reused
    assert counter.lines() == ["use.py"]
    changed = submit(ws, [step(src, "use", env_with(wheels, f"{PKG}==2.0"))])
    use = changed.find_step_run("use")[0]
    assert not use.reused and use.get_metrics()["probe_version"] == "2.0"
    assert counter.lines() == ["use.py", "use.py"]
    assert len(events(ws, "environment.built")) == 2


def test_two_steps_needing_the_same_new_environment_at_once_build_it_once(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    script(src, "use.py", USES_PKG)
    script(src, "use2.py", USES_PKG + "\nprint('second')\n")
    env = env_with(wheels, f"{PKG}==1.0")
    run = submit(ws, [step(src, "a", env), step(src, "b", env, "use2.py")])
    assert sorted(counter.lines()) == ["use.py", "use2.py"]
    assert [b["digest"] for b in events(ws, "environment.built")] == [env.digest()]
    recorded = events(ws, "step.environment", stream=f"run:{run.id}")
    assert sorted(r["step_name"] for r in recorded) == ["a", "b"]
    assert {r["location"] for r in recorded} == {str(Path(ws.root) / ".canalis" / "envs" / env.digest())}


def test_a_package_that_cannot_be_installed_fails_the_step_naming_it(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    script(src, "use.py", USES_PKG)
    env = env_with(wheels, "no_such_package_anywhere==3.1")
    run = submit(ws, [step(src, "use", env)], expect="Failed")
    failed = events(ws, "step.failed", stream=f"run:{run.id}")
    assert len(failed) == 1
    error = failed[0]["error"]
    assert "environment 'probe-env'" in error and "'no_such_package_anywhere==3.1'" in error, error
    assert "Traceback" not in error
    assert counter.lines() == []  # the step's code never started
    assert events(ws, "environment.built") == []
    assert not (Path(ws.root) / ".canalis" / "envs" / env.digest()).exists()  # no half-built folder is kept


def test_conda_packages_without_a_conda_say_so(ws, src, tmp_path, counter, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    script(src, "use.py", "print('never')\n")
    env = Environment("conda-env")
    env.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
    run = submit(ws, [step(src, "use", env)], expect="Failed")
    error = events(ws, "step.failed", stream=f"run:{run.id}")[0]["error"]
    assert "conda packages (scikit-learn)" in error and "no conda" in error, error


def test_a_step_on_the_current_interpreter_records_its_packages(ws, src, counter):
    import platform

    script(src, "plain.py", "print('hi')\n")
    run = submit(ws, [PythonScriptStep(name="plain", script_name="plain.py", source_directory=str(src))])
    recorded = events(ws, "step.environment", stream=f"run:{run.id}")
    assert len(recorded) == 1 and recorded[0]["location"] is None
    assert recorded[0]["interpreter"]["python"] == platform.python_version()
    packages = ws.store.get_bytes(recorded[0]["packages"]).decode().split()
    assert any(p.startswith("blake3==") for p in packages) and recorded[0]["package_count"] == len(packages)
    assert events(ws, "environment.built") == []


def test_a_step_on_the_current_interpreter_has_its_python_in_the_key_a_materialised_one_does_not(ws, src, tmp_path,
                                                                                               counter):
    from canalis.executor.fingerprint import KeyDocument
    from canalis.executor.freeze import identity

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    script(src, "use.py", USES_PKG)
    script(src, "plain.py", "print('hi')\n")
    run = submit(ws, [PythonScriptStep(name="plain", script_name="plain.py", source_directory=str(src)),
                      step(src, "use", env_with(wheels, f"{PKG}==1.0"))])
    docs = {r.step_name: KeyDocument.from_bytes(ws.store.get_bytes(r.reuse_key)) for r in ws.ledger.step_runs(run.id)}
    here = identity()
    assert docs["plain"].interpreter == {"python": here["python"], "platform": here["platform"]}
    assert docs["use"].interpreter is None


def test_why_says_the_interpreters_packages_changed_where_the_step_was_still_reused(ws, src, tmp_path, counter,
                                                                                   monkeypatch):
    import json
    import subprocess
    import sys

    for version in ("1.0", "2.0"):  # two sets of packages for the same interpreter, on its path
        (tmp_path / f"site-{version}" / f"{PKG}-{version}.dist-info").mkdir(parents=True)
    script(src, "plain.py", "print('hi')\n")

    def once(version):
        monkeypatch.setenv("PYTHONPATH", str(tmp_path / f"site-{version}"))
        return submit(ws, [PythonScriptStep(name="plain", script_name="plain.py", source_directory=str(src))])

    first = once("1.0")
    second = once("2.0")
    assert second.find_step_run("plain")[0].reused  # packages of the current interpreter are not in the key
    out = subprocess.run([sys.executable, "-m", "canalis", "why", second.id, "plain", "--workspace", str(ws.root),
                          "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["decision"] == "reused" and "packages changed" in result["reason"]
    assert result["packages_changed"]["changed"] == ["canalis-probe-pkg: 1.0 -> 2.0"]
    text = subprocess.run([sys.executable, "-m", "canalis", "why", second.id, "plain", "--workspace", str(ws.root)],
                          capture_output=True, text=True).stdout
    assert "packages changed: canalis-probe-pkg: 1.0 -> 2.0" in text

    diff = subprocess.run([sys.executable, "-m", "canalis", "diff", first.id, second.id, "--workspace", str(ws.root),
                           "--json"], capture_output=True, text=True)
    assert diff.returncode == 0, diff.stderr
    plain = next(s for s in json.loads(diff.stdout)["steps"] if s["step"] == "plain")
    assert plain["packages"]["changed"] == ["canalis-probe-pkg: 1.0 -> 2.0"]
