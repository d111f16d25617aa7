"""The plan: steps as plain data, ordered by the data they exchange.

The face (SDK objects) turns a Pipeline into a `Plan`; everything the executor needs is
in it, and `Plan.to_dict()` is what `run.submitted` records, so a run can be resumed or
reproduced from the ledger alone.

An argument of a step (and each word of a command, and each `params` value) is one of four
small types: a literal (`Lit`), a pipeline parameter (`Param`), the path of an input
(`InputRef`) or the path of an output (`OutputRef`). They are written in a plan as
`{"lit": str}`, `{"param": name}`, `{"input": name}`, `{"output": name}`; this module is the
only place that reads or writes that form.

Plan format 2 added `params` to a step; format 3 (this release) added `shell` (a command
step given as one string, run by `/bin/sh -c`). Older plans are upcast on read (format 1:
no `params`; formats 1 and 2: `shell` false, since their string commands were split into
words), so runs recorded before keep resuming and reproducing.
"""
from __future__ import annotations

from typing import Union

from canalis.executor import paths
from canalis.executor.errors import (
    CycleError,
    DuplicateProducerError,
    MissingProducerError,
    ParameterValueError,
    PlanError,
    UnknownParameterError,
)
from canalis.executor.records import as_dict, field, record

PLAN_FORMAT = 3


@record
class Lit:
    """A literal word, passed as written."""

    value: str


@record
class Param:
    """The value of pipeline parameter `name` (the submitted value, else its default)."""

    name: str


@record
class InputRef:
    """The path where the step's input `name` is made available."""

    name: str


@record
class OutputRef:
    """The path where the step writes its output `name`."""

    name: str


Arg = Union[Lit, Param, InputRef, OutputRef]
_ARG_TAGS = {Lit: ("lit", "value"), Param: ("param", "name"), InputRef: ("input", "name"), OutputRef: ("output", "name")}


def arg_to_dict(arg: Arg) -> dict:
    tag, attr = _ARG_TAGS[type(arg)]
    return {tag: getattr(arg, attr)}


def arg_from_dict(d) -> Arg:
    if isinstance(d, (Lit, Param, InputRef, OutputRef)):
        return d
    if isinstance(d, dict) and len(d) == 1:
        (tag, value), = d.items()
        kind = {"lit": Lit, "param": Param, "input": InputRef, "output": OutputRef}.get(tag)
        if kind is not None and isinstance(value, str):
            return kind(value)
    raise PlanError(f"{d!r} is not a step argument; expected {{'lit'|'param'|'input'|'output': str}}")


def _args(items) -> tuple:
    return tuple(arg_from_dict(a) for a in items)


@record
class InputSpec:
    """One input as the step sees it.

    `source` is "output" (another step's output, named by `output`) or "data" (content
    fixed at submit: `tree` is its tree digest).
    """

    name: str
    source: str
    output: str | None = None
    tree: str | None = None
    mode: str = "download"
    kind: str = "file"  # "file" | "tabular"
    options: dict = field(default_factory=dict)
    dataset: dict | None = None  # {"name", "version", "id"} of a registered dataset, for lineage
    origin: dict | None = None  # where unregistered data came from (datastore, paths), for lineage


@record
class OutputSpec:
    name: str
    destination: dict | None = None  # {"datastore", "path", "root"}; path may hold {run-id}, {output-name}
    register: dict | None = None  # {"name", "description", "tags"}
    pipeline_output_name: str | None = None
    kind: str = "file"
    options: dict = field(default_factory=dict)
    #: made as an empty folder before the step starts (OutputFileDatasetConfig, whose mount SDK v1
    #: made); False: only its parent exists, and the step makes a folder or writes one file there
    #: (PipelineData, as in SDK v1; executor/outputs.py)
    folder: bool = True


@record
class StepSpec:
    """A step: what runs, on which snapshot, with which arguments, inputs and outputs.

    `arguments` and `command` are tuples of `Arg`; `params` are `(name, Arg)` pairs that
    reach the step as environment variables `AML_PARAMETER_<name>` (SDK v1's `params=`).
    With `shell`, `command` is one literal: a command line run by `/bin/sh -c`, whose
    inputs and outputs are named by environment variables (executor/bind.py).
    Dicts of arguments in the old form are accepted and converted.
    """

    name: str
    kind: str  # "python" | "command" | "parallel" (a ParallelRunStep: canalis's driver runs its entry script)
    source_tree: str
    source_dir: str | None = None
    script: str | None = None
    command: tuple | None = None
    # [path, digest] pairs, not a dict: the plan is recorded in the ledger, which redacts
    # dict keys that look like credentials (a path such as "config/secret.yaml")
    hash_paths: list = field(default_factory=list)
    arguments: tuple = ()
    params: tuple = ()  # ((name, Arg), ...): pairs for the same reason as hash_paths
    inputs: tuple = ()  # (InputSpec, ...)
    outputs: tuple = ()  # (OutputSpec, ...)
    environment: dict = field(default_factory=dict)  # {"digest", "definition"}
    allow_reuse: bool = True
    compute_target: str = "local"
    git: dict | None = None
    after: tuple = ()  # names of steps that must finish first (StepSequence, run_after)
    shell: bool = False  # a "command" step whose command is one string for /bin/sh -c (plan format 3)

    def __post_init__(self):
        object.__setattr__(self, "arguments", _args(self.arguments))
        if self.command is not None:
            object.__setattr__(self, "command", _args(self.command))
        object.__setattr__(self, "params", tuple((str(n), arg_from_dict(a)) for n, a in self.params))
        object.__setattr__(self, "inputs", tuple(i if isinstance(i, InputSpec) else InputSpec(**i) for i in self.inputs))
        object.__setattr__(self, "outputs", tuple(o if isinstance(o, OutputSpec) else OutputSpec(**o) for o in self.outputs))
        object.__setattr__(self, "after", tuple(self.after))

    def produced(self) -> list[str]:
        return [o.name for o in self.outputs]

    def consumed(self) -> list[str]:
        return [i.output for i in self.inputs if i.source == "output"]

    def all_args(self) -> tuple:
        """Every argument reference of the step: command words, arguments, params values."""
        return (*(self.command or ()), *self.arguments, *(a for _, a in self.params))

    def used_parameters(self) -> list[str]:
        """Names of the pipeline parameters this step reads, in first-use order."""
        seen: dict[str, None] = {}
        for a in self.all_args():
            if isinstance(a, Param):
                seen.setdefault(a.name)
        return list(seen)

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__record_names__}
        d["arguments"] = [arg_to_dict(a) for a in self.arguments]
        d["command"] = None if self.command is None else [arg_to_dict(a) for a in self.command]
        d["params"] = [[n, arg_to_dict(a)] for n, a in self.params]
        d["inputs"] = [as_dict(i) for i in self.inputs]
        d["outputs"] = [as_dict(o) for o in self.outputs]
        d["after"] = list(self.after)
        return d


def _rounds(names: list[str], deps: dict[str, set[str]]) -> dict[str, int] | None:
    """The round of each step when steps are taken in rounds, each round every step whose
    dependencies all came in earlier rounds (`Plan.order`): 0 without dependencies, else one
    more than its latest dependency's. Found once per step (not by scanning the steps left at
    every round, which is quadratic in a chain); None when a cycle leaves steps without one."""
    waiting = {n: len(deps[n]) for n in names}
    dependents: dict[str, list[str]] = {}
    for n in names:
        for d in deps[n]:
            dependents.setdefault(d, []).append(n)
    rounds = {n: 0 for n in names if not waiting[n]}
    ready = list(rounds)
    while ready:
        d = ready.pop()
        for n in dependents.get(d, ()):
            waiting[n] -= 1
            if not waiting[n]:
                rounds[n] = 1 + max(rounds[x] for x in deps[n])
                ready.append(n)
    return rounds if len(rounds) == len(names) else None


@record(frozen=False)
class Plan:
    steps: list  # [StepSpec], in the order the user gave them
    parameters: dict = field(default_factory=dict)  # name -> default value
    description: str | None = None

    # -- checks -----------------------------------------------------------------
    def producers(self) -> dict[str, str]:
        """Output name -> producing step name; two producers of one output is an error."""
        found: dict[str, str] = {}
        for step in self.steps:
            for out in step.produced():
                if out in found:
                    raise DuplicateProducerError(
                        f"output {out!r} is produced by both step {found[out]!r} and step {step.name!r}; "
                        "give each step its own output object"
                    )
                found[out] = step.name
        return found

    def order(self) -> list:
        """Steps in an order where every producer comes before its consumers (stable)."""
        names = [s.name for s in self.steps]
        seen: set[str] = set()
        dupes = sorted({n for n in names if n in seen or seen.add(n)})
        if dupes:
            raise PlanError(f"step names must be unique; {dupes} appear more than once; rename the steps")
        producers = self.producers()
        deps: dict[str, set[str]] = {}
        for step in self.steps:
            deps[step.name] = set(step.after)
            unknown = [a for a in step.after if a not in seen]
            if unknown:
                raise MissingProducerError(f"step {step.name!r} runs after {unknown}, which are not in the pipeline; add them")
            for out in step.consumed():
                if out not in producers:
                    raise MissingProducerError(
                        f"step {step.name!r} reads output {out!r} which no step produces; "
                        "add the producing step to the pipeline"
                    )
                deps[step.name].add(producers[out])
        by_name = {s.name: s for s in self.steps}
        rounds = _rounds(names, deps)
        if rounds is not None:  # every step has its round: in round order, plan order within a round
            return [by_name[n] for _, _, n in sorted((rounds[n], i, n) for i, n in enumerate(names))]
        ordered, done = [], set()  # a cycle: the rounds below stop where it is, and name it
        pending = list(names)
        while pending:
            ready = [n for n in pending if deps[n] <= done]
            if not ready:
                raise CycleError(f"steps {self._cycle(deps, pending)} depend on each other in a cycle; break the cycle")
            for n in ready:
                ordered.append(by_name[n])
                done.add(n)
            pending = [n for n in pending if n not in done]
        return ordered

    @staticmethod
    def _cycle(deps: dict[str, set[str]], pending: list[str]) -> list[str]:
        # follow dependencies among the blocked steps until one repeats
        node, path = pending[0], []
        while node not in path:
            path.append(node)
            node = sorted(d for d in deps[node] if d in pending)[0]
        return path[path.index(node):] + [node]

    def upstream(self) -> dict[str, set[str]]:
        producers = self.producers()
        return {s.name: {producers[o] for o in s.consumed()} | set(s.after) for s in self.steps}

    def data_parameters(self) -> list[str]:
        """Parameters whose value is data (a datastore path or a dataset): the inputs they feed
        name them (`origin["parameter"]`) and hold the tree of the value submitted."""
        return sorted({i.origin["parameter"] for s in self.steps for i in s.inputs
                       if i.origin and i.origin.get("parameter")})

    def resolve_parameters(self, overrides: dict | None) -> dict:
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.parameters))
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise UnknownParameterError(
                f"pipeline has no parameter named {', '.join(map(repr, unknown))} (known parameters: {known})"
            )
        data = sorted(set(overrides) & set(self.data_parameters()))
        if data:  # its content is snapshotted when the plan is built, which only the SDK's submit does
            raise ParameterValueError(
                f"pipeline parameter {data[0]!r} takes data (a datastore path or a dataset), whose content is "
                f"snapshotted at submit; pass it from Python: pipeline_parameters={{{data[0]!r}: "
                "DataPath(datastore, 'path')}} (or a Dataset)")
        for name, value in overrides.items():
            check_value(value, f"value of pipeline parameter {name!r}")
        return {**self.parameters, **overrides}

    def validate(self) -> None:
        self.order()
        self.check_paths()
        for name, value in self.parameters.items():
            check_value(value, f"default value of pipeline parameter {name!r}")

    def check_paths(self) -> None:
        """Every name that becomes a folder is one plain component, and every destination stays
        inside its datastore (also for plans read back from the ledger: resume, reproduce)."""
        for step in self.steps:
            for i in step.inputs:
                paths.check_component(i.name, f"input name of step {step.name!r}")
            for o in step.outputs:
                paths.check_component(o.name, f"output name of step {step.name!r}")
                if o.destination:
                    paths.check_relative(o.destination.get("path") or "", f"destination path of output {o.name!r}",
                                         f"datastore {o.destination.get('datastore')!r}")
            for arg in step.all_args():
                if isinstance(arg, Lit):
                    check_value(arg.value, f"argument {arg.value!r} of step {step.name!r}")

    # -- (de)serialisation for run.submitted ----------------------------------------
    def to_dict(self) -> dict:
        return {"format": PLAN_FORMAT, "steps": [s.to_dict() for s in self.steps], "parameters": dict(self.parameters),
                "description": self.description}

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        """A plan as recorded; older formats are upcast, unknown (newer) ones refused."""
        version = d.get("format", 1)
        if version not in range(1, PLAN_FORMAT + 1):
            raise PlanError(f"the plan has format {version!r}; this canalis reads formats 1 to {PLAN_FORMAT}. "
                            "Use the canalis release that recorded it.")
        steps = []
        for s in d["steps"]:
            s = dict(s)
            if version == 1:
                s.pop("params", None)  # format 1 had none; SDK params were dropped before they reached a step
            if version < 3:
                s["shell"] = False  # string commands were split into words and ran without a shell
            steps.append(StepSpec(**s))
        return cls(steps=steps, parameters=dict(d.get("parameters", {})), description=d.get("description"))

    def step(self, name: str) -> StepSpec:
        for s in self.steps:
            if s.name == name:
                return s
        raise PlanError(f"the plan has no step named {name!r} (steps: {', '.join(s.name for s in self.steps)})")




def check_value(value, what: str):
    """A parameter value or literal argument reaches the step as command-line text and is
    recorded as JSON: bytes, NUL bytes and lone surrogates (text that is not Unicode) cannot
    make that trip unchanged, so they are refused before anything runs. Returns `value`."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ParameterValueError(
            f"{what} is bytes ({bytes(value[:16])!r}...); steps get parameters as text: decode it "
            "(value.decode()), or pass binary data as a file (a dataset or an output) or as base64 text"
        )
    if isinstance(value, str):
        if "\0" in value:
            raise ParameterValueError(
                f"{what} holds a NUL byte (at position {value.index(chr(0))}), which no command line can carry; remove it"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ParameterValueError(
                f"{what} is not valid Unicode text (a lone surrogate {value[e.start]!r} at position {e.start}, as "
                "left by decoding bytes that are not UTF-8); decode the bytes with the right encoding first"
            ) from None
    elif isinstance(value, dict):
        for k, v in value.items():
            check_value(k, what)
            check_value(v, what)
    elif isinstance(value, (list, tuple)):
        for v in value:
            check_value(v, what)
    elif not (value is None or isinstance(value, (bool, int, float))):
        raise ParameterValueError(f"{what} is a {type(value).__name__} ({value!r}); pass a str, number, bool, list or dict")
    return value


__all__ = ["Arg", "InputRef", "InputSpec", "Lit", "OutputRef", "OutputSpec", "Param", "Plan", "PLAN_FORMAT", "StepSpec",
           "arg_from_dict", "arg_to_dict", "check_value"]
