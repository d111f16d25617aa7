"""The reuse key's document: its format, its canonical bytes, and the one type that reads it.

The key of a step is the BLAKE3 digest of a canonical JSON document (the "key document")
written by `executor/bind.py` from the bound step: the argv words (parameters as the
values the step receives, data as `{"input": name}` / `{"output": name}` placeholders,
the interpreter as `{"interpreter": true}`), the step's own environment variables
(`AML_PARAMETER_*` among them), the source snapshot and `hash_paths` digests, each input's name, content digest, mode, kind and options, the
environment digest and the output names. Because the key is the digest of the document's
bytes, storing the document in the content store puts it exactly at the key's address,
so `canalis why` can always read back what a key was made of.

Key version 2 (this release) replaced version 1's separate `command`/`arguments` parts
by `argv` and `env`, so that `params=` and parameters inside a command are in the key, and
dropped its `parameters` part: a parameter's value is in the key where the step receives
it, and its name is not (`canalis why` names parameters from the runs' plans).
Keys of different versions never match (the version is inside the hashed document), and
`KeyDocument.from_bytes` reads both for explanations.
"""
from __future__ import annotations

import json

from canalis.executor.records import field, record

KEY_VERSION = 2


#: what `json.dumps` with these options makes for each call, made once (a key per step is written)
_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical(doc) -> bytes:
    """Sorted keys, no spaces, UTF-8, NaN refused."""
    return _encoder.encode(doc).encode()


@record
class KeyInput:
    name: str
    tree: str
    mode: str = "download"
    kind: str = "file"
    options: dict = field(default_factory=dict)


@record
class KeyDocument:
    """A key document of any version, read into one shape. For version 1 documents, `argv`
    is rebuilt from their command and arguments and `env` is empty (version 1 had none)."""

    version: int
    kind: str | None
    script: str | None
    argv: tuple
    env: dict
    source_tree: str | None
    hash_paths: dict
    inputs: tuple  # (KeyInput, ...) sorted by name
    environment: str | None
    outputs: tuple
    interpreter: dict | None = None  # Python version and platform, for a step on the current interpreter

    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyDocument":
        return cls.from_dict(json.loads(data))

    @classmethod
    def from_dict(cls, d: dict) -> "KeyDocument":
        version = int(d.get("key_version", 1))
        if version == 1:
            def word(a):
                if "lit" in a:
                    return a["lit"]
                if "param" in a:
                    return str(a.get("value"))
                return a

            argv = tuple(word(a) for a in (*(d.get("command") or []), *(d.get("arguments") or [])))
            if d.get("kind") == "python":
                argv = ({"interpreter": True}, d.get("script"), *argv)
            env = {}
        else:
            argv, env = tuple(d.get("argv") or ()), dict(d.get("env") or {})
        inputs = tuple(sorted((KeyInput(i["name"], i["tree"], i.get("mode", "download"), i.get("kind", "file"),
                                        dict(i.get("options") or {})) for i in d.get("inputs", [])),
                              key=lambda i: i.name))
        return cls(version=version, kind=d.get("kind"), script=d.get("script"), argv=argv, env=env,
                   source_tree=d.get("source_tree"),
                   hash_paths=dict(d.get("hash_paths") or {}), inputs=inputs, environment=d.get("environment"),
                   outputs=tuple(d.get("outputs") or ()), interpreter=d.get("interpreter"))

    @property
    def input_trees(self) -> dict[str, str]:
        return {i.name: i.tree for i in self.inputs}

    def input(self, name: str) -> KeyInput | None:
        return next((i for i in self.inputs if i.name == name), None)
