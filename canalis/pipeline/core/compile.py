"""Turning SDK objects (Pipeline, steps, data objects, parameters) into an executor `Plan`.

This is where a submit takes its snapshots: each step's source folder, each dataset or
datastore path a step reads (so a file changed in place is seen), and `hash_paths`.
"""
from __future__ import annotations

import re
from pathlib import Path

from canalis.data import _paths
from canalis.data.kinds import loaded
from canalis.data.output_dataset_config import OutputFileDatasetConfig, OutputInput, check_destination
from canalis.exceptions import PipelineValidationError
from canalis.executor.errors import PlanError
from canalis.executor.paths import safe_name
from canalis.executor.plan import InputRef, InputSpec, Lit, OutputRef, OutputSpec, Param, Plan, StepSpec, check_value
from canalis.executor.records import replace
from canalis.pipeline.core import gitinfo
from canalis.pipeline.core.graph import PipelineParameter, StepSequence
from canalis.store.errors import SnapshotError


#: where `OutputFileDatasetConfig(destination=datastore)` puts an output on the datastore, as SDK v1 did
DEFAULT_DESTINATION = "{run-id}/{output-name}"


def _data_parameter_pair(item) -> bool:
    """`(PipelineParameter, DataPathComputeBinding)`: SDK v1's way to pass a DataPath parameter."""
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], PipelineParameter)


def flatten(steps) -> list:
    out = []
    for s in steps:
        if isinstance(s, (list, tuple)):
            out.extend(flatten(s))
        elif isinstance(s, StepSequence):
            inner = flatten(s.steps)
            for before, after in zip(inner, inner[1:]):
                if not any(b is before for b in after._after):
                    after._after.append(before)
            out.extend(inner)
        else:
            out.append(s)
    return out


def _command_words(step) -> list:
    """The words of a command step given as a list (a shell string holds no data objects)."""
    return [] if step.kind != "command" or getattr(step, "shell", False) else list(step.command)


def _consumed_outputs(step):
    for item in (*step.inputs, *step.arguments, *_command_words(step)):
        if isinstance(item, OutputInput):
            yield item.output
        elif isinstance(item, OutputFileDatasetConfig) and any(i is item for i in step.inputs):
            yield item


def all_steps(pipeline_steps) -> list:
    """The listed steps plus every step that produces data they read (SDK v1 did the same)."""
    steps = flatten(pipeline_steps)
    seen = {id(s) for s in steps}
    i = 0
    while i < len(steps):
        needed = [out._producer for out in _consumed_outputs(steps[i])] + list(steps[i]._after)
        for p in needed:
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                steps.append(p)
        i += 1
    return steps


class _Compiler:
    def __init__(self, workspace, default_source_directory=None, data_parameters=None):
        self.ws = workspace
        self.default_source = default_source_directory
        self.data_values = dict(data_parameters or {})  # submitted values of data-valued parameters
        self.parameters: dict = {}
        self._noted_sources: set = set()
        self._trees: dict[str, object] = {}
        self._sources: dict[str, Path] = {}  # source_directory as given -> resolved (one resolve per folder)
        self._paths_in: dict[str, set] = {}  # source tree -> its paths, read once per submit (steps share folders)
        self._git: dict[str, dict | None] = {}
        self._repositories = gitinfo.Repositories()  # each repository read once per submit
        self._names: dict[int, str] = {}

    # -- names of outputs -------------------------------------------------------------
    def output_name(self, out: OutputFileDatasetConfig) -> str:
        if out.name:
            return out.name
        if id(out) not in self._names:
            producer = out._producer
            if producer is None:
                raise PipelineValidationError(f"an unnamed output {out!r} is read but no step writes it; add it to a step's outputs")
            index = [o for o in (*producer.outputs, *producer.arguments) if isinstance(o, OutputFileDatasetConfig)].index(out)
            self._names[id(out)] = safe_name(f"{producer.name}_output_{index}")
        return self._names[id(out)]

    # -- data a step reads -------------------------------------------------------------
    def data_input(self, step_name, name, dataset, mode) -> InputSpec:
        tree = dataset._snapshot(self.ws.store)
        reg = {"name": dataset.name, "version": dataset.version, "id": dataset.id} if dataset.name else None
        return InputSpec(name=name, source="data", tree=tree, mode=mode, kind=dataset.kind, options=dataset._options,
                         dataset=reg, origin={"sources": dataset._sources} if not reg else None)

    def reference_input(self, ref, name=None, origin_extra=None) -> InputSpec:
        """A datastore path read by a step: a folder, or one file (then the step gets the file's path)."""
        from canalis.data import _sources

        source = {"datastore": ref.datastore.name, "path": ref.path_on_datastore}
        files = _sources.resolve(self.ws, [source])
        tree = self.ws.store.put_files(files).tree
        one = _sources.single_file(self.ws, [source])
        return InputSpec(name=name or ref.data_reference_name, source="data", tree=tree, mode=ref.mode, kind="file",
                         options={"file": one} if one else {}, origin={"sources": [source], **(origin_extra or {})})

    def parameter_input(self, step, param: PipelineParameter, name: str, mode: str | None) -> InputSpec:
        """An input whose data is a pipeline parameter's value (a DataPath or a dataset): the value
        submitted for it, else its default, snapshotted now; the parameter is recorded with what
        its value was and the tree it gave (canalis/data/parameter_values.py)."""
        value = self.data_values.get(param.name, param.default_value)
        extra = {"parameter": param.name}
        if isinstance(value, loaded("DataPath", "DataReference")):
            ref = value.create_data_reference() if isinstance(value, loaded("DataPath")) else value
            spec = self.reference_input(ref, name=name, origin_extra=extra)
            if mode:
                spec = replace(spec, mode=mode)
        elif isinstance(value, loaded("AbstractDataset")):
            spec = self.data_input(step.name, name, value, mode or "direct")
            spec = replace(spec, origin={**(spec.origin or {}), **extra})
        else:
            raise PipelineValidationError(
                f"step {step.name!r}: pipeline parameter {param.name!r} is used as data, but its value {value!r} is "
                "neither a DataPath nor a dataset")
        from canalis.data.parameter_values import recorded as recorded_value

        recorded = recorded_value(value, spec.tree)
        known = self.parameters.get(param.name)
        if known is not None and known != recorded:
            raise PipelineValidationError(f"pipeline parameter {param.name!r} is declared twice with different defaults; "
                                          "use one PipelineParameter object")
        self.parameters[param.name] = recorded
        return spec

    def as_input(self, step, item, inputs: dict) -> str:
        """Adds `item` to `inputs` (by name) and returns the name the step sees it under."""
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], PipelineParameter):
            param, binding = item  # (PipelineParameter(DataPath), DataPathComputeBinding(mode=...)), as in SDK v1
            spec = self.parameter_input(step, param, _paths.input_name(param.name), getattr(binding, "mode", None))
        elif isinstance(item, PipelineParameter) and item._is_data():
            spec = self.parameter_input(step, item, _paths.input_name(item.name), None)
        elif isinstance(item, loaded("DatasetConsumptionConfig")) and isinstance(item.dataset, PipelineParameter):
            spec = self.parameter_input(step, item.dataset, item.name, item.mode)
        elif isinstance(item, OutputInput):
            out = item.output
            spec = InputSpec(name=item.input_name or self.output_name(out), source="output", output=self.output_name(out),
                             mode=item.mode, kind=out._kind, options=out._options)
        elif isinstance(item, OutputFileDatasetConfig):
            spec = InputSpec(name=self.output_name(item), source="output", output=self.output_name(item),
                             kind=item._kind, options=item._options)
        elif isinstance(item, loaded("DatasetConsumptionConfig")):
            spec = self.data_input(step.name, item.name, item.dataset, item.mode)
        elif isinstance(item, loaded("AbstractDataset")):
            spec = self.data_input(step.name, item._default_input_name(), item, "direct")
        elif isinstance(item, loaded("DataReference")):
            spec = self.reference_input(item)
        elif isinstance(item, loaded("DataPath")):
            spec = self.reference_input(item.create_data_reference())
        else:
            raise PipelineValidationError(f"step {step.name!r}: cannot use {item!r} as an input")
        known = inputs.get(spec.name)
        if known is not None and known != spec:
            raise PipelineValidationError(
                f"step {step.name!r} has two different inputs named {spec.name!r}; give them distinct names"
            )
        inputs[spec.name] = spec
        return spec.name

    # -- one step ------------------------------------------------------------------------
    def step(self, step) -> StepSpec:
        outputs: dict[str, OutputSpec] = {}
        inputs: dict[str, InputSpec] = {}
        for item in step.inputs:
            self.as_input(step, item, inputs)

        def produce(out: OutputFileDatasetConfig) -> str:
            name = self.output_name(out)
            outputs[name] = OutputSpec(name=name, destination=self.destination(out), register=out._register,
                                       pipeline_output_name=getattr(out, "pipeline_output_name", None),
                                       kind=out._kind, options=out._options,
                                       folder=getattr(out, "_made_in_advance", True))
            return name

        for out in step.outputs:
            if not isinstance(out, OutputFileDatasetConfig):
                raise PipelineValidationError(f"step {step.name!r}: outputs must be OutputFileDatasetConfig or PipelineData, got {out!r}")
            produce(out)

        def argument(a):
            if isinstance(a, PipelineParameter) and a._is_data() or _data_parameter_pair(a):
                return InputRef(self.as_input(step, a, inputs))
            if isinstance(a, PipelineParameter):
                self.add_parameter(a)
                return Param(a.name)
            if isinstance(a, OutputFileDatasetConfig) and not any(i is a for i in step.inputs):
                return OutputRef(produce(a))
            if isinstance(a, (OutputInput, OutputFileDatasetConfig,
                              loaded("DatasetConsumptionConfig", "AbstractDataset", "DataReference", "DataPath"))):
                return InputRef(self.as_input(step, a, inputs))
            if isinstance(a, (str, int, float, bool)):
                return Lit(self.literal(step, str(a)))
            raise PipelineValidationError(f"step {step.name!r}: cannot pass {a!r} as an argument")

        def param_value(name, v):
            if isinstance(v, PipelineParameter):
                self.add_parameter(v)
                return Param(v.name)
            if isinstance(v, (str, int, float, bool)):
                return Lit(str(v))
            raise PipelineValidationError(
                f"step {step.name!r}: params value {name!r} must be a string, number, bool or PipelineParameter, "
                f"got {type(v).__name__}; pass data as an input or argument instead")

        arguments = [argument(a) for a in step.arguments]
        shell = step.kind == "command" and bool(getattr(step, "shell", False))
        if shell:
            command = [Lit(self.literal(step, step.command))]
        else:
            command = [argument(a) for a in step.command] if step.kind == "command" else None
        params = [(str(n), param_value(n, v)) for n, v in sorted(step.params.items())]
        source = self.source_folder(step)
        try:
            tree = self.snapshot(source)
        except SnapshotError as e:
            raise PipelineValidationError(f"step {step.name!r}: {e}") from None
        if step.source_directory is None and self.default_source is None:
            self.note_current_folder(step, source, tree)
        if step.kind in ("python", "parallel"):  # a ParallelRunStep's script is its entry script
            if tree not in self._paths_in:
                self._paths_in[tree] = {e.path for e in self.ws.store.get_tree(tree)}
            names = self._paths_in[tree]
            script = Path(step.script_name).as_posix()
            if script not in names:
                why = "is ignored by .amlignore/.gitignore" if (source / script).is_file() else "does not exist"
                raise PipelineValidationError(f"step {step.name!r}: script {script!r} {why} in source_directory {str(source)!r}")
        from canalis.core.environment import environment_of, step_environment

        env = environment_of(step.runconfig)
        env.note_cloud_sections(f"step {step.name!r}")
        distributed = getattr(step.runconfig, "_distributed", None)
        if distributed:  # a RunConfiguration's (its module is loaded then)
            from canalis.core.runconfig import note_single_process

            note_single_process(f"step {step.name!r}", distributed())
        spec = StepSpec(
            name=step.name, kind=step.kind, source_tree=tree, source_dir=str(source),
            script=getattr(step, "script_name", None), command=command,
            hash_paths=self.hash_paths(step, source), arguments=arguments, params=params,
            inputs=list(inputs.values()), outputs=list(outputs.values()),
            environment=step_environment(self.ws, step.runconfig, step.compute_target, env),
            allow_reuse=bool(step.allow_reuse), compute_target=_target_name(step.compute_target, step.runconfig),
            git=self.git(source), after=[a.name for a in step._after], shell=shell,
        )
        if shell:
            check_shell_command(spec)
        return spec

    def source_folder(self, step) -> Path:
        """The step's source folder, resolved (links followed): once per folder named, as the
        steps of a pipeline mostly share one (its snapshot is taken once too, `snapshot`)."""
        given = step.source_directory or self.default_source or "."
        key = str(given)
        source = self._sources.get(key)
        if source is None:
            source = Path(given).resolve()
            if not source.is_dir():
                raise PipelineValidationError(f"step {step.name!r}: source_directory {str(source)!r} does not exist")
            self._sources[key] = source
        return source

    def note_current_folder(self, step, source: Path, tree: str) -> None:
        """A step without source_directory snapshots the current folder, as in SDK v1: say so once
        per folder, with its size, so that a re-run after files land there is no surprise."""
        import sys

        if str(source) in self._noted_sources:
            return
        self._noted_sources.add(str(source))
        entries = self.ws.store.get_tree(tree)
        size = sum(e.size for e in entries)
        print(f"note: step {step.name!r} has no source_directory, so canalis snapshots the current folder {source} "
              f"({len(entries)} file{'s' if len(entries) != 1 else ''}, {size / 1e6:.1f} MB), as SDK v1 did. Files "
              "written into it later (downloads, outputs) change that snapshot and make the step run again; give "
              "source_directory= to snapshot only the step's code, or list such files in .amlignore",
              file=sys.stderr, flush=True)

    @staticmethod
    def literal(step, text: str) -> str:
        try:
            return check_value(text, f"argument {text!r} of step {step.name!r}")
        except PlanError as e:
            raise PipelineValidationError(str(e)) from None

    def add_parameter(self, p: PipelineParameter) -> None:
        try:
            check_value(p.default_value, f"default value of pipeline parameter {p.name!r}")
        except PlanError as e:
            raise PipelineValidationError(str(e)) from None
        if p.name in self.parameters and self.parameters[p.name] != p.default_value:
            raise PipelineValidationError(
                f"pipeline parameter {p.name!r} is declared twice with different defaults "
                f"({self.parameters[p.name]!r} and {p.default_value!r}); use one PipelineParameter object"
            )
        self.parameters[p.name] = p.default_value

    def destination(self, out) -> dict | None:
        dest = out.destination
        if dest is None:
            return None
        if isinstance(dest, loaded("Datastore")):  # a datastore alone: SDK v1's default path on it
            dest = (dest, DEFAULT_DESTINATION)
        if isinstance(dest, tuple):
            store, path = dest
        elif isinstance(dest, loaded("DataPath", "DataReference")):
            store, path = dest.datastore, dest.path_on_datastore
        else:
            raise PipelineValidationError(f"output {out.name!r}: destination must be (datastore, 'path'), got {dest!r}")
        if not isinstance(store, loaded("Datastore")):
            raise PipelineValidationError(f"output {out.name!r}: destination datastore must be a Datastore, got {store!r}")
        check_destination((store, path), out.name)
        path = "" if path is None else str(path)
        # the part before any {run-id}/{output-name} exists or will be made: it must not lead out through a link
        fixed = "/".join(p for p in path.split("/") if p).split("{")[0].rpartition("/")[0] if "{" in path else path
        _paths.resolve_inside(store.root, fixed, f"destination path of output {out.name!r}", f"datastore {store.name!r}")
        return {"datastore": store.name, "path": path, "root": str(store.root)}

    def snapshot(self, source: Path) -> str:
        key = str(source)
        if key not in self._trees:
            self._trees[key] = self.ws.store.snapshot(source).tree
        return self._trees[key]

    def hash_paths(self, step, source: Path) -> list:
        digests = {}
        for p in step.hash_paths:
            full = (source / p).resolve()
            if full.is_dir():
                digests[p] = self.ws.store.snapshot(full, ignore=False).tree
            elif full.is_file():
                digests[p] = self.ws.store.put_file(full)
            else:
                raise PipelineValidationError(f"step {step.name!r}: hash_paths entry {p!r} does not exist under {source}")
        return sorted([path, digest] for path, digest in digests.items())

    def git(self, source: Path):
        key = str(source)
        if key not in self._git:
            self._git[key] = self._repositories.describe(source)
        return self._git[key]


def check_shell_command(spec: StepSpec) -> None:
    """A shell command step finds its data in `$AZUREML_DATAREFERENCE_<name>` variables: each
    one the string uses must name one of its inputs or outputs, and no two of those may
    become the same variable."""
    from canalis.executor.bind import DATA_ENV_PREFIX, BindError, data_variables

    try:
        known = data_variables(spec)
    except BindError as e:
        raise PipelineValidationError(str(e)) from None
    text = spec.command[0].value
    for var in dict.fromkeys(re.findall(r"\$\{?(" + DATA_ENV_PREFIX + r"[A-Za-z0-9_]+)", text)):
        if var not in known:
            names = ", ".join(f"${v}" for v in known) or "none"
            raise PipelineValidationError(
                f"step {spec.name!r}: its command uses ${var}, but the step has no input or output "
                f"{var[len(DATA_ENV_PREFIX):]!r} (its data variables: {names}); add the data to the step's "
                "inputs= or outputs="
            )


def _shell_words(text: str) -> list[str]:
    """The words of a step's command line (a command step's text, checked for data variables)."""
    import shlex  # only a command given as text is split

    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quotes: the shell will say so; look at the plain words
        return text.split()


def _target_name(target, runconfig) -> str:
    target = target if target is not None else getattr(runconfig, "target", None)
    if target is None:
        return "local"
    return target if isinstance(target, str) else getattr(target, "name", "local")


def refuse_secret_names(plan: Plan) -> None:
    """The ledger redacts values under credential-looking keys. A parameter, output or
    environment variable with such a name would be recorded as "[REDACTED]", and a resumed
    or reproduced run could not get it back, so such names are refused before anything runs."""
    from canalis.core.secret_values import KEYVAULT_HINT
    from canalis.ledger.redact import is_secret_key

    bad = [f"pipeline parameter {n!r}" for n in plan.parameters if is_secret_key(n)]
    for s in plan.steps:
        bad += [f"output {o.name!r} of step {s.name!r}" for o in s.outputs if is_secret_key(o.name)]
        env_vars = s.environment.get("definition", {}).get("environment_variables", {})
        bad += [f"environment variable {v!r} of step {s.name!r}" for v in env_vars if is_secret_key(v)]
    if bad:
        raise PipelineValidationError(
            f"{', '.join(bad)} look(s) like a credential. canalis records these names and values in its ledger, which "
            "redacts credentials, so a resumed or reproduced run could not get the value back. Rename it; if it "
            f"holds a secret, {KEYVAULT_HINT}."
        )


def find_secret_values(plan: Plan, parameters: dict) -> list[str]:
    """Where the plan and its parameter values hold likely credentials (never the values):
    parameter values, step arguments (a token, a URL with a password, `--password=...`,
    `--token VALUE`) and environment variable values."""
    from canalis.core.secret_values import secret_kind_in as _kind
    from canalis.ledger.redact import secret_argument

    found = [f"pipeline parameter {n!r} holds {k}" for n, v in parameters.items() if (k := _kind(v))]
    for s in plan.steps:
        items = [*(s.command or ()), *s.arguments, *(a for _, a in s.params)]
        args = []
        for a in items:
            if isinstance(a, Lit):
                args.append(a.value)
            elif isinstance(a, Param) and isinstance(parameters.get(a.name), str):
                args.append(parameters[a.name])
            else:
                args.append(None)  # an input or output path
        for i, (a, text) in enumerate(zip(items, args)):
            if isinstance(a, Lit) and (k := _kind(text)):
                found.append(f"argument {i + 1} of step {s.name!r} holds {k}")
        flagged = secret_argument(_shell_words(s.command[0].value) if s.shell else args)
        if flagged:
            found.append(f"argument {flagged[1]!r} of step {s.name!r} passes a credential on the command line")
        env_vars = s.environment.get("definition", {}).get("environment_variables", {})
        found += [f"environment variable {n!r} of step {s.name!r} holds {k}" for n, v in env_vars.items() if (k := _kind(v))]
    return found


def refuse_secret_values(plan: Plan, parameters: dict, allow: bool | None = None) -> None:
    """Refuse a submit whose recorded values look like credentials: the ledger stores
    parameter values, arguments and environment variables readable, for resume and
    reproduction. `allow=True` (or CANALIS_ALLOW_SECRET_VALUES=1) submits them anyway."""
    from canalis.core.secret_values import ALLOW_ENV, KEYVAULT_HINT, secret_values_allowed

    if secret_values_allowed(allow):
        return
    found = find_secret_values(plan, parameters)
    if found:
        raise PipelineValidationError(
            f"{'; '.join(found)}. canalis records parameters, arguments and environment variables readable in its "
            f"ledger (to resume and reproduce runs), so a secret there would be kept in clear: {KEYVAULT_HINT}. "
            f"If the value is not a secret, submit with allow_secret_values=True (`canalis submit "
            f"--allow-secret-values`, or {ALLOW_ENV}=1)."
        )


def build_plan(workspace, steps, description=None, default_source_directory=None, data_parameters=None) -> Plan:
    """The plan of `steps`, snapshots taken now. `data_parameters` are submitted values of
    data-valued pipeline parameters (DataPath or dataset objects), snapshotted in place of
    their defaults."""
    compiler = _Compiler(workspace, default_source_directory, data_parameters)
    specs = [compiler.step(s) for s in all_steps(steps)]
    plan = Plan(steps=specs, parameters=compiler.parameters, description=description)
    refuse_secret_names(plan)
    try:
        plan.validate()
    except PlanError as e:
        raise PipelineValidationError(str(e)) from None
    return plan
