"""Binding a planned step to parameter values and input trees: the `BoundStep`.

A `BoundStep` is at once the command a runner executes and the reuse key. Binding
resolves every parameter to its value and every data reference to a placeholder for the
folder where the data will be (`InputPath`, `OutputPath`), and the interpreter of a Python
step to `INTERPRETER`. The key document is written from exactly these bound words, the
step's own environment variables and its input trees; a runner renders the same words
into the argv of the process by filling in the folders of its working layout. So
whatever reaches the process is in the key by construction, except the locations of the
folders (and the interpreter's path), which depend on where the step runs, not on what
it computes.

What is deliberately not in the key: the working folders' absolute paths, the compute
target, the environment the executor itself inherited (as with make, DVC and SDK v1).

A command step given as one string (`shell`) runs as `/bin/sh -c <string>`, as SDK v1 ran it.
A string cannot hold data placeholders, so such a step gets each of its inputs and outputs
as an environment variable naming the folder, `AZUREML_DATAREFERENCE_<name>` (SDK v1's
name for it; characters other than letters, digits and `_` become `_`). The variables are
bound words like the argv: placeholders in the key, folders when rendered.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Union

import blake3

from canalis.executor.errors import ExecutorError
from canalis.executor.fingerprint import KEY_VERSION, canonical
from canalis.executor.plan import InputRef, Lit, OutputRef, Param, StepSpec
from canalis.executor.records import record

#: SDK v1 passes `params=` of a PythonScriptStep as environment variables with this prefix
PARAMETER_ENV_PREFIX = "AML_PARAMETER_"
#: the shell that runs a command step given as one string
SHELL = "/bin/sh"
#: a shell command step finds the folder of its input or output `name` in this variable + name
DATA_ENV_PREFIX = "AZUREML_DATAREFERENCE_"


@record
class InputPath:
    """Placeholder for the folder where input `name` is made available, or for the one file
    `file` in it when the input is file-valued (a dataset or datastore path naming one file, an
    upstream output the step wrote as one file)."""

    name: str
    file: str | None = None


@record
class OutputPath:
    """Placeholder for the folder where the step writes output `name`."""

    name: str


@record
class _Interpreter:
    """Placeholder for the Python interpreter of the step's environment."""


INTERPRETER = _Interpreter()
#: the module a "parallel" step (ParallelRunStep) runs: it cuts the input into mini-batches
PARALLEL_DRIVER = "canalis.pipeline.steps.parallel_driver"
Word = Union[str, InputPath, OutputPath, _Interpreter]


class BindError(ExecutorError):
    """A step cannot be bound: a parameter has no value, or an input has no tree."""


@record
class WorkLayout:
    """The working folder of one step run, as the local runner lays it out.

        root/src/              the source snapshot, checked out writable; the step's cwd
        root/inputs/<name>     each input, checked out read-only
        root/outputs/<name>    each output, empty when the step starts
        root/context.json      what `Run.get_context()` reads
        root/channel.jsonl     what the step tells its executor (metrics, tags, files, requests)
        root/replies/          the executor's answers to the step's requests
        root/stdout.txt, root/stderr.txt
    """

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    def input(self, name: str) -> Path:
        return self.root / "inputs" / name

    def output(self, name: str) -> Path:
        return self.root / "outputs" / name

    @property
    def context(self) -> Path:
        return self.root / "context.json"

    @property
    def channel(self) -> Path:
        return self.root / "channel.jsonl"

    @property
    def replies(self) -> Path:
        return self.root / "replies"

    def log(self, stream: str) -> Path:
        return self.root / f"{stream}.txt"


@record
class BoundInput:
    name: str
    tree: str
    mode: str
    kind: str
    options: dict


@record
class BoundStep:
    """A step bound to its parameter values and input trees (see the module docstring)."""

    spec: StepSpec
    argv: tuple  # of Word
    env: tuple  # ((name, Word), ...): the step's own environment variables (data folders as placeholders)
    inputs: tuple  # (BoundInput, ...) sorted by name
    parameters: tuple  # ((name, text), ...): the parameters the step reads, as it receives them (their
    # values are in the key through argv and env; their names are not, so renaming one keeps the key)
    document: bytes  # the canonical key document
    key: str  # BLAKE3 of `document`

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_trees(self) -> dict[str, str]:
        return {i.name: i.tree for i in self.inputs}

    def render(self, layout: WorkLayout, python: str) -> list[str]:
        """The argv of the process, for a step laid out as `layout`."""
        return [_render(w, layout, python) for w in self.argv]

    def environment(self, layout: WorkLayout | None = None) -> dict[str, str]:
        """The step's own environment variables (the runner adds them to its base environment),
        with data placeholders rendered for `layout` (needed only when the step has them)."""
        if layout is None and any(not isinstance(v, str) for _, v in self.env):
            raise BindError(f"step {self.name!r} names data folders in its environment; give the layout to render them")
        return {name: _render(v, layout, "") for name, v in self.env}


def _render(word: Word, layout: WorkLayout, python: str) -> str:
    if isinstance(word, str):
        return word
    if isinstance(word, InputPath):
        return str(layout.input(word.name) / word.file) if word.file else str(layout.input(word.name))
    if isinstance(word, OutputPath):
        return str(layout.output(word.name))
    return python


def _word_doc(word: Word):
    """A word as it is written in the key document."""
    if isinstance(word, str):
        return word
    if isinstance(word, InputPath):  # a file-valued input names its file (the argv differs from the folder's)
        return {"input": word.name, "file": word.file} if word.file else {"input": word.name}
    if isinstance(word, OutputPath):
        return {"output": word.name}
    return {"interpreter": True}


def parameter_text(value) -> str:
    """A parameter value as a step receives it on its command line or in its environment."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)) or value is None:
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def data_variables(spec: StepSpec, input_files: dict[str, str] | None = None) -> dict[str, Word]:
    """For a shell command step: the environment variable naming each input's and output's
    folder, or file (`AZUREML_DATAREFERENCE_<name>`). Two names that become one variable are refused."""
    found: dict[str, Word] = {}
    named: dict[str, str] = {}
    files = input_files or {}
    for word in (*(InputPath(i.name, files.get(i.name)) for i in spec.inputs), *(OutputPath(o.name) for o in spec.outputs)):
        var = DATA_ENV_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", word.name)
        if var in found:
            raise BindError(f"step {spec.name!r}: inputs or outputs {named[var]!r} and {word.name!r} would both be "
                            f"${var} in its shell command; rename one of them")
        found[var], named[var] = word, word.name
    return found


def bind(spec: StepSpec, params: dict, input_trees: dict[str, str], input_files: dict[str, str] | None = None,
         env_spec=None) -> BoundStep:
    """Bind `spec` to parameter values (the run's resolved parameters) and the content
    digests of its inputs; returns the BoundStep with its key. `input_files` names the file of
    each file-valued input (its path in the input's tree): the step gets that file's path.
    `env_spec`: `EnvSpec.of(spec.environment)`, when the caller has read it already."""
    files = dict(input_files or {})
    inputs = {i.name for i in spec.inputs}
    outputs = {o.name for o in spec.outputs}
    used: dict[str, str] = {}  # parameter -> its value as the step receives it (text)

    def word(arg) -> Word:
        if isinstance(arg, Lit):
            return arg.value
        if isinstance(arg, Param):
            if arg.name not in params:
                raise BindError(f"step {spec.name!r} reads pipeline parameter {arg.name!r}, which has no value; "
                                "give it a default or pass it at submit")
            text = parameter_text(params[arg.name])
            used.setdefault(arg.name, text)
            return text
        if isinstance(arg, InputRef):
            if arg.name not in inputs:
                raise BindError(f"step {spec.name!r} refers to input {arg.name!r}, which is not among its inputs")
            return InputPath(arg.name, files.get(arg.name))
        if isinstance(arg, OutputRef):
            if arg.name not in outputs:
                raise BindError(f"step {spec.name!r} refers to output {arg.name!r}, which is not among its outputs")
            return OutputPath(arg.name)
        raise BindError(f"step {spec.name!r} has an argument canalis cannot read: {arg!r}")

    if spec.kind == "python":
        argv = (INTERPRETER, spec.script, *(word(a) for a in spec.arguments))
    elif spec.kind == "parallel":  # ParallelRunStep: canalis's driver runs the entry script's mini-batches
        argv = (INTERPRETER, "-m", PARALLEL_DRIVER, spec.script, *(word(a) for a in spec.arguments))
    elif spec.kind == "command" and spec.shell:
        line = [word(a) for a in (spec.command or ())]
        if len(line) != 1 or not isinstance(line[0], str) or spec.arguments:
            raise BindError(f"step {spec.name!r} runs a shell command, which must be one string; "
                            "give a list to pass data folders or parameters as words")
        argv = (SHELL, "-c", line[0])
    elif spec.kind == "command":
        argv = (*(word(a) for a in (spec.command or ())), *(word(a) for a in spec.arguments))
        if not argv:
            raise BindError(f"step {spec.name!r} has an empty command; give CommandStep a command")
    else:
        raise BindError(f"step {spec.name!r} has kind {spec.kind!r}; canalis runs 'python', 'command' and 'parallel' steps")

    env: dict[str, Word] = {str(k): str(v) for k, v in
                            spec.environment.get("definition", {}).get("environment_variables", {}).items()}
    if spec.kind == "command" and spec.shell:
        env.update(data_variables(spec, files))
    for name, arg in spec.params:
        value = word(arg)
        if not isinstance(value, str):
            raise BindError(f"step {spec.name!r}: params value {name!r} must be a value or a pipeline parameter, "
                            "not a data path; pass data as an input or argument")
        env[PARAMETER_ENV_PREFIX + name] = value

    missing = sorted(inputs - set(input_trees))
    if missing:
        raise BindError(f"step {spec.name!r} has no content for input(s) {', '.join(missing)}")
    bound_inputs = tuple(
        BoundInput(i.name, input_trees[i.name], i.mode, i.kind, dict(i.options))
        for i in sorted(spec.inputs, key=lambda i: i.name)
    )
    env_items = tuple(sorted(env.items()))
    unmade = sorted(o.name for o in spec.outputs if not o.folder)
    interpreter = _interpreter_part(spec.environment, env_spec)
    document = canonical({
        **({"interpreter": interpreter} if interpreter else {}),
        "key_version": KEY_VERSION,
        "kind": spec.kind,
        "script": spec.script,
        "argv": [_word_doc(w) for w in argv],
        "env": {name: _word_doc(w) for name, w in env_items},
        "source_tree": spec.source_tree,
        "hash_paths": dict(sorted((p, d) for p, d in spec.hash_paths)),
        "inputs": [{"name": i.name, "tree": i.tree, "mode": i.mode, "kind": i.kind, "options": i.options}
                   for i in bound_inputs],
        "environment": spec.environment.get("digest"),
        "outputs": sorted(outputs),
        # outputs not made as folders in advance (PipelineData): the step sees no folder there
        **({"outputs_unmade": unmade} if unmade else {}),
    })
    return BoundStep(spec=spec, argv=tuple(argv), env=env_items, inputs=bound_inputs,
                     parameters=tuple(used.items()), document=document, key=blake3.blake3(document).hexdigest())


def _interpreter_part(environment: dict, env_spec=None) -> dict | None:
    """For a step on the current interpreter (executor/envspec.py), that interpreter's Python
    version and platform: the environment digest does not say which Python runs the step, so
    a new Python re-runs it. Its installed packages are not in the key (recorded with the step
    run instead, `step.environment`). None for a materialised environment, whose digest
    already names what it installs. `env_spec`: the environment as read already (EnvSpec.of)."""
    from canalis.executor.envspec import EnvSpec
    from canalis.executor.freeze import identity

    if not (env_spec if env_spec is not None else EnvSpec.of(environment)).current_interpreter:
        return None
    found = identity()
    return {"python": found["python"], "platform": found["platform"]}
