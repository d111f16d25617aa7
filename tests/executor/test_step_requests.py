"""The executor's answers to a step's requests (executor/step_requests.py), on a real ledger and
store: a registration records the step's lineage once, and a request it cannot do is answered
with an error naming what to change (never an exception that would stop the channel poller
and leave the step waiting)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from canalis.executor.plan import InputSpec
from canalis.executor.step_requests import answer
from canalis.ledger import Ledger
from canalis.store import LocalStore


@dataclass
class _Spec:
    inputs: list = field(default_factory=list)


@dataclass
class _Run:
    ledger: Ledger
    store: LocalStore
    locks_dir: str
    run_id: str = "exp_1_abcd"


@dataclass
class _Execution:
    """What `answer` reads of a StepExecution: its run, its planned step and its step run id."""

    run: _Run
    spec: _Spec
    step_run_id: str = "step-1"


@pytest.fixture
def execution(tmp_path):
    led = Ledger(tmp_path / "ledger.db")
    store = LocalStore(tmp_path / "objects")
    (tmp_path / "locks").mkdir()
    raw = InputSpec(name="raw", source="data", tree="0" * 64, dataset={"name": "raw", "version": 2, "id": "ds-id"})
    yield _Execution(_Run(led, store, str(tmp_path / "locks")), _Spec([raw, InputSpec(name="up", source="output", output="o")]))
    led.close()


def _tree(store, files: dict) -> str:
    from canalis.store import TreeEntry

    return store.put_tree([TreeEntry(path=p, type="file", mode=0o644, size=len(b), digest=store.put_bytes(b))
                           for p, b in sorted(files.items())])


def test_a_registration_records_the_step_its_run_and_its_input_datasets_once(execution):
    tree = _tree(execution.run.store, {"model.pkl": b"weights"})
    ask = {"op": "register_model", "reply": "0" * 32, "name": "clf", "tree": tree, "tags": {"a": "b"},
           "datasets": [{"purpose": "training", "name": "extra", "version": 1, "id": "x"},
                        {"purpose": "input", "name": "raw", "version": 2, "id": "ds-id"}]}
    got = answer(execution, ask)
    assert got["ok"] and got["model"]["version"] == 1 and got["model"]["tags"] == {"a": "b"}
    assert got["model"]["lineage"] == {"run_id": "exp_1_abcd", "step_run_id": "step-1", "datasets": [
        {"purpose": "input", "name": "raw", "version": 2, "id": "ds-id"},
        {"purpose": "training", "name": "extra", "version": 1, "id": "x"}]}
    assert answer(execution, ask) == got  # asked again (a retried message): same version, nothing recorded
    assert len(list(execution.run.ledger.events(type="model.registered"))) == 1
    found = answer(execution, {"op": "get_model", "name": "clf", "version": None})
    assert found["ok"] and found["model"]["digest"] == tree


@pytest.mark.parametrize("ask, said", [
    ({"name": "clf", "tree": "1" * 64}, "the files of model 'clf' (tree 111111111111) are not in the store"),
    ({"name": "", "tree": "1" * 64}, "a model's name must be a non-empty string"),
    ({"name": 7, "tree": "1" * 64}, "a model's name must be a non-empty string, got 7"),
    ({"name": "clf"}, "the files of model 'clf' must be a non-empty string"),
    ({"name": "../clf", "tree": "TREE"}, "model name '../clf'"),
    ({"name": "clf", "tree": "../../etc"}, "canalis could not register the model:"),
    ({"name": "clf", "tree": "TREE", "tags": ["x"]}, "a model's tags must be a dict, got list"),
    ({"name": "clf", "tree": "TREE", "datasets": 3}, "a model's datasets must be a list, got int"),
    ({"name": "clf", "tree": "TREE", "description": {"no": "text"}}, "canalis could not register the model:"),
    ({"name": "clf", "tree": "BLOB"}, "canalis could not register the model:"),
])
def test_a_registration_that_cannot_be_done_is_answered_with_what_to_change(execution, ask, said):
    store = execution.run.store
    values = {"TREE": _tree(store, {"m": b"m"}), "BLOB": store.put_bytes(b"not a tree")}
    ask = {k: values.get(v, v) if isinstance(v, str) else v for k, v in ask.items()}
    got = answer(execution, {"op": "register_model", **ask})
    assert got["ok"] is False and said in got["error"], got
    assert list(execution.run.ledger.events(type="model.registered")) == []


def test_a_lookup_of_what_is_not_registered_names_the_versions_there_are(execution):
    tree = _tree(execution.run.store, {"m": b"m"})
    answer(execution, {"op": "register_model", "name": "clf", "tree": tree})
    assert answer(execution, {"op": "get_model", "name": "clf", "version": 4}) == {
        "ok": False, "error": "no model 'clf' version 4 is registered (versions: [1])"}
    assert answer(execution, {"op": "get_model", "name": "other"}) == {
        "ok": False, "error": "no model 'other' is registered; register it first"}
    assert answer(execution, {"op": "get_model", "name": "clf", "version": "1"})["error"] == (
        "a model's version must be a whole number, got '1'")
