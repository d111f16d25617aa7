"""The reuse key: what is in it, what is not."""
from __future__ import annotations

import blake3

from canalis.executor.fingerprint import key_document, reuse_key
from canalis.executor.plan import InputSpec, OutputSpec, StepSpec


def base(**changes):
    fields = dict(name="train", kind="python", source_tree="a" * 64, script="train.py",
                  arguments=[{"lit": "--lr"}, {"param": "lr"}, {"input": "data"}, {"output": "model"}],
                  inputs=[InputSpec(name="data", source="output", output="prepared")],
                  outputs=[OutputSpec(name="model")], environment={"digest": "e" * 64}, compute_target="local")
    fields.update(changes)
    return StepSpec(**fields)


TREES = {"data": "d" * 64}


def key(step, trees=TREES, params=None):
    return reuse_key(step, trees, params or {"lr": 0.1})[0]


def test_key_is_the_blake3_of_the_canonical_document():
    k, doc = reuse_key(base(), TREES, {"lr": 0.1})
    assert k == blake3.blake3(doc).hexdigest()
    assert b" " not in doc and doc.index(b'"arguments"') < doc.index(b'"script"')  # sorted keys, no spaces


def test_each_part_of_the_key_changes_it():
    k = key(base())
    assert key(base(source_tree="b" * 64)) != k
    assert key(base(script="other.py")) != k
    assert key(base(), params={"lr": 0.2}) != k
    assert key(base(), trees={"data": "f" * 64}) != k
    assert key(base(environment={"digest": "f" * 64})) != k
    assert key(base(outputs=[OutputSpec(name="weights")])) != k
    assert key(base(hash_paths=[["cfg.yml", "c" * 64]])) != k
    renamed = base(inputs=[InputSpec(name="rows", source="output", output="prepared")],
                   arguments=[{"lit": "--lr"}, {"param": "lr"}, {"input": "rows"}, {"output": "model"}])
    assert key(renamed, trees={"rows": "d" * 64}) != k


def test_compute_target_step_name_and_source_folder_are_not_in_the_key():
    k = key(base())
    assert key(base(compute_target="gpu-cluster")) == k
    assert key(base(source_dir="/elsewhere")) == k
    assert key(base(name="renamed")) == k
    assert key(base(git={"commit": "abc"})) == k


def test_unused_parameters_do_not_enter_the_key():
    doc = key_document(base(), TREES, {"lr": 0.1, "unrelated": 5})
    assert doc["parameters"] == {"lr": 0.1}
