"""Environment definitions the SDK v1 ways (requirements files, conda specifications, a Docker
compute target) materialised for real, and the digest as a property of the definition."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from canalis.core import Environment, Experiment
from canalis.core.compute import ComputeTarget, DockerCompute
from canalis.core.conda_dependencies import CondaDependencies
from canalis.core.environment import step_environment
from canalis.core.runconfig import RunConfiguration
from canalis.exceptions import UserErrorException
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script
from tests.canalis.test_environments import PKG, USES_PKG, make_wheel


def _run_with(ws, src, env):
    script(src, "use.py", USES_PKG)
    rc = RunConfiguration()
    rc.environment = env
    run = Experiment(ws, "exp").submit(Pipeline(ws, [
        PythonScriptStep(name="use", script_name="use.py", source_directory=str(src), runconfig=rc)]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.get_details()
    return run.find_step_run("use")[0].get_metrics()


def test_a_conda_specifications_pip_section_with_its_options_is_installed(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    spec = tmp_path / "environment.yml"
    spec.write_text(textwrap.dedent(f"""
        name: probe
        channels: [conda-forge]
        dependencies:
          - python=3
          - pip
          - pip:
            - --find-links={wheels}
            - --no-index
            - {PKG}==1.0
            - azureml-defaults
    """))
    env = Environment.from_conda_specification("from-conda", str(spec))
    cd = env.python.conda_dependencies
    assert cd.pip_packages == [f"{PKG}==1.0", "azureml-defaults"] and cd.conda_packages == ["pip"]
    assert cd.pip_options == [f"--find-links={wheels}", "--no-index"]
    assert _run_with(ws, src, env)["probe_version"] == "1.0"
    built = next(ws.ledger.events(type="environment.built")).payload
    assert built["provided"] == ["azureml-defaults"]  # canalis provides the SDK's modules itself


def test_a_requirements_file_with_option_lines_is_installed(ws, src, tmp_path, counter):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "1.0")
    req = tmp_path / "requirements.txt"
    req.write_text(f"# offline\n--find-links {wheels}\n--no-index\n{PKG}==1.0  # the probe\n")
    env = Environment.from_pip_requirements("from-pip", str(req))
    assert env.python.conda_dependencies.pip_packages == [f"{PKG}==1.0"]
    assert _run_with(ws, src, env)["probe_version"] == "1.0"


def test_missing_specification_files_are_named(tmp_path):
    with pytest.raises(UserErrorException, match="requirements file .*nope.txt.* does not exist"):
        Environment.from_pip_requirements("x", str(tmp_path / "nope.txt"))
    with pytest.raises(UserErrorException, match="conda specification .*nope.yml.* does not exist"):
        Environment.from_conda_specification("x", str(tmp_path / "nope.yml"))


def test_a_docker_compute_target_selects_the_docker_runner_without_changing_the_digest(ws):
    ComputeTarget.create(ws, "containers", DockerCompute.provisioning_configuration())
    env = Environment("e")
    rc = RunConfiguration()
    rc.environment = env
    in_docker = step_environment(ws, rc, "containers")
    local = step_environment(ws, rc, "cpu-cluster")  # a name the workspace does not know: local
    assert in_docker["runner"] == "docker" and "runner" not in local
    assert in_docker["digest"] == local["digest"] == env.digest()


def test_registered_versions_come_back_with_their_packages(ws):
    env = Environment("reg")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["a==1"])
    env.register(ws)
    env.python.conda_dependencies.add_pip_package("b==2")
    env.register(ws)
    assert Environment.get(ws, "reg", 1).python.conda_dependencies.pip_packages == ["a==1"]
    latest = Environment.get(ws, "reg")
    assert latest.version == 2 and sorted(latest.python.conda_dependencies.pip_packages) == ["a==1", "b==2"]


names = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}==[0-9]\.[0-9]", fullmatch=True).filter(lambda n: not n.startswith("python")),
                 min_size=0, max_size=6, unique=True)


@settings(max_examples=60, deadline=None)
@given(packages=names, conda=names, data=st.data())
def test_the_digest_is_that_of_the_definition_whatever_the_order_or_the_way_it_was_written(tmp_path_factory, packages,
                                                                                            conda, data):
    shuffled = data.draw(st.permutations(packages))
    a = Environment("p")
    a.python.conda_dependencies = CondaDependencies.create(pip_packages=packages, conda_packages=conda)
    b = Environment("p")
    b.python.conda_dependencies = CondaDependencies.create(pip_packages=shuffled, conda_packages=conda[::-1])
    assert a.digest() == b.digest()
    # written out as a conda file and read back: the same definition
    path = Path(tmp_path_factory.mktemp("spec")) / "env.yml"
    path.write_text(a.python.conda_dependencies.serialize_to_string())
    assert Environment.from_conda_specification("p", str(path)).digest() == a.digest()
    if packages:  # and any change of a package is a new digest
        c = Environment("p")
        c.python.conda_dependencies = CondaDependencies.create(pip_packages=packages[1:], conda_packages=conda)
        assert c.digest() != a.digest()
