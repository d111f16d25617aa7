"""The reuse key of a step.

The key is the BLAKE3 digest of a canonical JSON document (the "key document") holding
everything that decides a step's result: step kind, script or command, the source
snapshot's tree digest and `hash_paths` digests, resolved arguments and parameter
values, each input's name and content digest, the environment digest, and the output
names. The compute target is not part of it. Because the key is the digest of the
document's bytes, storing the document in the content store puts it exactly at the
key's address, so `canalis why` can always read back what a key was made of.
"""
from __future__ import annotations

import json

import blake3

from canalis.executor.plan import StepSpec

KEY_VERSION = 1


def canonical(doc) -> bytes:
    """Sorted keys, no spaces, UTF-8, NaN refused."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def resolve_argument(arg: dict, params: dict):
    """An argument as it enters the key: parameters become values, data stays symbolic."""
    if "param" in arg:
        return {"param": arg["param"], "value": params[arg["param"]]}
    return arg


def key_document(step: StepSpec, input_trees: dict[str, str], params: dict) -> dict:
    used_params = {a["param"] for a in step.arguments if "param" in a}
    return {
        "key_version": KEY_VERSION,
        "kind": step.kind,
        "script": step.script,
        "command": step.command,
        "source_tree": step.source_tree,
        "hash_paths": dict(sorted((p, d) for p, d in step.hash_paths)),
        "arguments": [resolve_argument(a, params) for a in step.arguments],
        "parameters": {p: params[p] for p in sorted(used_params)},
        "inputs": sorted(
            ({"name": i.name, "tree": input_trees[i.name], "mode": i.mode, "kind": i.kind, "options": i.options} for i in step.inputs),
            key=lambda x: x["name"],
        ),
        "environment": step.environment.get("digest"),
        "outputs": sorted(o.name for o in step.outputs),
    }


def reuse_key(step: StepSpec, input_trees: dict[str, str], params: dict) -> tuple[str, bytes]:
    """(key, canonical key document bytes); key == BLAKE3(bytes)."""
    data = canonical(key_document(step, input_trees, params))
    return blake3.blake3(data).hexdigest(), data
