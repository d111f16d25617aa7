"""SDK v1 objects real notebooks use: the workspace's cloud identity, compute targets as objects
with a status, distributed configurations run as one process, authentication headers,
refused cloud-only steps, curated and cloud-only environment sections."""
from __future__ import annotations

import json

import pytest

from canalis.core import VERSION, Workspace
from canalis.core.authentication import InteractiveLoginAuthentication, MsiAuthentication, ServicePrincipalAuthentication
from canalis.core.compute import AmlCompute, ComputeInstance, ComputeTarget, LocalCompute
from canalis.core.environment import Environment
from canalis.core.runconfig import MpiConfiguration, PyTorchConfiguration, RunConfiguration
from canalis.core.script_run_config import ScriptRunConfig
from canalis.exceptions import NotSupportedOfflineError
from canalis.pipeline import steps as pipeline_steps

pytestmark = pytest.mark.filterwarnings("ignore")


def test_version_is_a_pep440_sdk_v1_version():
    from packaging.version import Version

    assert Version(VERSION).release[0] == 1


def test_workspace_identity_defaults_and_sdk_config(tmp_path, monkeypatch):
    local = Workspace.create("plain", path=tmp_path / "plain")
    assert (local.subscription_id, local.resource_group, local.location) == (
        "00000000-0000-0000-0000-000000000000", "canalis-local", "local")
    proj = tmp_path / "proj"
    (proj / ".azureml").mkdir(parents=True)
    (proj / ".azureml" / "config.json").write_text(json.dumps(
        {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "cloudws", "location": "westeurope"}))
    (proj / "nb").mkdir()
    monkeypatch.chdir(proj / "nb")
    monkeypatch.delenv("CANALIS_WORKSPACE", raising=False)
    ws = Workspace.from_config()
    assert ws.name == "cloudws" and ws.root == proj.resolve()
    assert (ws.subscription_id, ws.resource_group, ws.location) == ("sub-1", "rg-1", "westeurope")
    again = Workspace("sub-1", "rg-1", "cloudws")
    assert again.root == ws.root
    details = again.get_details()
    assert details["subscriptionId"] == "sub-1" and details["resourceGroup"] == "rg-1"


def test_sdk_config_naming_another_workspace_is_refused(tmp_path, monkeypatch):
    from canalis.exceptions import UserErrorException

    Workspace.create("first", path=tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"workspace_name": "other"}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CANALIS_WORKSPACE", raising=False)
    assert Workspace.from_config().name == "first"  # .canalis/ beside it comes first
    with pytest.raises(UserErrorException, match="names workspace 'other'"):
        Workspace.from_config(path=str(tmp_path / "config.json"))


def test_compute_targets_are_objects_with_a_status(ws):
    cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
    made = ComputeTarget.create(ws, "cpu-cluster", cfg)
    made.wait_for_completion(show_output=True)
    inst = ComputeTarget.create(ws, "my-ci", ComputeInstance.provisioning_configuration(vm_size="STANDARD_DS3_V2"))
    targets = ws.compute_targets
    assert isinstance(targets["cpu-cluster"], AmlCompute)
    assert isinstance(targets["my-ci"], ComputeInstance) and inst.type == "ComputeInstance"
    assert isinstance(targets["local"], LocalCompute)
    again = ComputeTarget(workspace=ws, name="cpu-cluster")
    assert type(again) is AmlCompute
    status = again.status
    assert status.provisioning_state == "Succeeded" and status.allocation_state == "Steady"
    assert status.scale_settings.maximum_node_count == 4
    ser = again.get_status().serialize()
    assert ser["vmSize"] == "STANDARD_D2_V2" and ser["scaleSettings"]["maxNodeCount"] == 4
    assert json.loads(json.dumps(ser)) == ser
    assert again.serialize()["properties"]["computeType"] == "AmlCompute"


def test_distributed_configurations_run_one_process_with_a_note(capsys):
    ScriptRunConfig(source_directory=".", script="train.py", distributed_job_config=MpiConfiguration(node_count=2))
    ScriptRunConfig(source_directory=".", script="train.py",
                    distributed_job_config=PyTorchConfiguration(process_count=4))
    err = capsys.readouterr().err
    assert "MPI configuration (2 processes asked) runs as a single process" in err
    assert "PyTorch configuration (4 processes asked)" in err
    rc = RunConfiguration(communicator="IntelMpi")
    assert rc._distributed() is rc.mpi


def test_authentication_header_carries_the_workspace_token(ws, monkeypatch):
    monkeypatch.delenv("CANALIS_TOKEN", raising=False)
    auth = ServicePrincipalAuthentication(tenant_id="t", service_principal_id="id", service_principal_password="pw")
    Workspace(path=ws.root, auth=auth)
    header = auth.get_authentication_header()
    token = header["Authorization"].split("Bearer ", 1)[1]
    assert len(token) >= 40
    assert (ws.root / ".canalis" / "local-token").stat().st_mode & 0o077 == 0
    other = InteractiveLoginAuthentication()
    Workspace(path=ws.root, auth=other)
    assert other.get_authentication_header() == header  # one token per workspace
    monkeypatch.setenv("CANALIS_TOKEN", "given-token")
    assert MsiAuthentication().get_authentication_header() == {"Authorization": "Bearer given-token"}


@pytest.mark.parametrize("name", ["DatabricksStep", "AdlaStep", "KustoStep", "AzureBatchStep", "HyperDriveStep",
                                  "SynapseSparkStep"])
def test_cloud_only_steps_are_refused_at_construction(name):
    with pytest.raises(NotSupportedOfflineError, match="cannot run offline; "):
        getattr(pipeline_steps, name)(name="x", inputs=[])


def test_curated_environment_runs_with_this_interpreter(ws, capsys):
    env = Environment.get(ws, "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    assert env.python.user_managed_dependencies is True
    assert "curated environment" in capsys.readouterr().err
    with pytest.raises(Exception, match="no-such"):
        Environment.get(ws, "no-such")


def test_cloud_only_environment_sections_get_one_note(capsys):
    env = Environment("sparky")
    env.spark.packages = ["com.microsoft.ml.spark:mmlspark_2.11:0.15"]
    assert env.note_cloud_sections("step 'x'") == ["spark"]
    assert env.note_cloud_sections("step 'x'") == ["spark"]
    assert capsys.readouterr().err.count("only the cloud used") == 1
