"""Running a planned pipeline: schedule steps by their data, reuse or run each, record it all.

The engine appends every event itself (the step process never opens the ledger). Run
state is what the ledger says; the engine holds only what it needs to schedule.
"""
from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from canalis.executor import fingerprint, nospace, paths, registry
from canalis.executor.channel import ENV_VAR, ChannelReader
from canalis.executor.errors import ExecutorError
from canalis.executor.plan import Plan, StepSpec
from canalis.executor.locks import single_flight, writing
from canalis.executor.logcapture import StepLog
from canalis.executor.publish import publish_tree
from canalis.executor.reuse import find_reusable
from canalis.executor.runners.local import LocalRunner
from canalis.ledger import events as ev
from canalis.ledger.errors import LedgerFull
from canalis.ledger.redact import mask_strings, mask_values

STDERR_TAIL_LINES = 20
POLL_SECONDS = 0.25
#: how often a running executor looks for a run.cancel_requested recorded by another process
CANCEL_POLL_S = 0.5


def new_run_id(experiment: str) -> str:
    return f"{experiment}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def new_step_run_id() -> str:
    return str(uuid.uuid4())


def submitted_event(run_id, experiment, plan: Plan, parameters, *, tags=None, git=None, kind="pipeline", description=None, options=None):
    """`run.submitted` with the whole plan; `options` (regenerate_outputs ...) ride along in it."""
    plan_doc = plan.to_dict()
    plan_doc["options"] = dict(options or {})
    return ev.RunSubmitted(
        run_id=run_id,
        experiment=experiment,
        kind=kind,
        parameters=dict(parameters),
        tags=dict(tags or {}),
        plan=plan_doc,
        git=git,
        host=socket.gethostname(),
        pid=os.getpid(),
        user=getpass.getuser(),
        description=description,
        parent_run_id=None,
    )


@dataclass
class StepResult:
    status: str  # Completed | Reused | Failed | Skipped
    outputs: dict = field(default_factory=dict)


class RunExecutor:
    """Executes one run of a plan. `execute()` blocks until the run has ended."""

    def __init__(
        self,
        *,
        ledger,
        store,
        plan: Plan,
        run_id: str,
        parameters: dict,
        scratch_dir: Path,
        locks_dir: Path,
        experiment: str = "",
        workspace_root: Path | None = None,
        regenerate: bool = False,
        max_workers: int | None = None,
        continue_on_step_failure: bool = False,
        runner=None,
        python: str = sys.executable,
        on_line=None,
        resumed: bool = False,
        done: dict | None = None,
        publish: bool = True,
        secret_values=None,
    ):
        self.ledger, self.store, self.plan = ledger, store, plan
        self.run_id, self.params = run_id, parameters
        self.scratch, self.locks_dir = Path(scratch_dir), Path(locks_dir)
        self.experiment, self.workspace_root = experiment, workspace_root
        self.regenerate = regenerate
        self.max_workers = max_workers or os.cpu_count() or 1
        self.continue_on_step_failure = continue_on_step_failure
        self.runner = runner or LocalRunner()
        self.python = python
        self.on_line = on_line
        self.resumed = resumed
        # steps this run already finished before a resume: name -> (status, outputs)
        self.done = dict(done or {})
        # False for reproductions: no copies to datastore destinations, no dataset registrations
        self.publish = publish
        # names -> values of workspace secrets; a step's logs are stored with the values it read masked
        self.secret_values = secret_values
        self._masks: dict[str, frozenset] = {}  # step_run_id -> values of the secrets it read
        self.tree_of_output: dict[str, str] = {}
        self._cancel = threading.Event()
        self._cancel_reason = "canceled by the user"
        self._cancel_seen = 0  # seq of the last run.cancel_requested looked at
        self._phase: dict[str, str] = {}  # step run -> what the executor is doing for it (named when space runs out)
        self._outside: dict[str, str] = {}  # step name -> why it failed from outside its code (executor/nospace.py)

    # -- the run -------------------------------------------------------------------
    def execute(self) -> str:
        try:
            return self._execute()
        except LedgerFull as e:
            raise nospace.RunNotRecorded(
                f"no space left on device: the ledger could not record what run {self.run_id} did ({e}); "
                f"free some space, then `canalis resume {self.run_id}` finishes it"
            ) from e

    def _execute(self) -> str:
        started = time.time()
        if (self.ledger.run(self.run_id) or {}).get("status") == "Canceled":
            return "Canceled"  # canceled while queued, before this executor started
        self.ledger.append(ev.RunStarted(run_id=self.run_id, host=socket.gethostname(), pid=os.getpid(), resumed=self.resumed))
        order = self.plan.order()
        upstream = self.plan.upstream()
        state = {s.name: "Pending" for s in order}
        for name, (status, outputs) in self.done.items():
            state[name] = status
            self.tree_of_output.update(outputs)
        failed: list[str] = []
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="canalis-step") as pool:
            running = {}
            while True:
                for step in order:
                    if state[step.name] != "Pending":
                        continue
                    ups = upstream[step.name]
                    bad = sorted(u for u in ups if state[u] in ("Failed", "Skipped", "Canceled"))
                    reason = None
                    if bad:
                        reason = f"upstream step(s) {', '.join(bad)} did not complete"
                    elif failed and not self.continue_on_step_failure:
                        reason = f"step(s) {', '.join(failed)} failed and continue_on_step_failure is off"
                    elif self._cancel.is_set():
                        reason = "run canceled"
                    if reason:
                        state[step.name] = "Skipped"
                        self.ledger.append(
                            ev.StepSkipped(run_id=self.run_id, step_run_id=new_step_run_id(), step_name=step.name, reason=reason)
                        )
                    elif all(state[u] in ("Completed", "Reused") for u in ups):
                        state[step.name] = "Running"
                        running[pool.submit(self._guarded_step, step)] = step
                if not running:
                    break
                done, _ = wait(running, timeout=CANCEL_POLL_S, return_when=FIRST_COMPLETED)
                self._check_cancel_request()
                for fut in done:
                    step = running.pop(fut)
                    result = fut.result()
                    state[step.name] = result.status
                    self.tree_of_output.update(result.outputs)
                    if result.status == "Failed":
                        failed.append(step.name)
        if self._cancel.is_set():
            self.ledger.append(ev.RunCanceled(run_id=self.run_id, reason=self._cancel_reason))
            return "Canceled"
        if failed:
            outside = [self._outside[n] for n in failed if n in self._outside]
            error = f"step(s) failed: {', '.join(failed)}" + (f" ({'; '.join(outside)})" if outside else "")
            resumable = len(outside) == len(failed)
            if resumable:
                error += f"; once the cause is gone, `canalis resume {self.run_id}` runs them again"
            self.ledger.append(ev.RunFailed(run_id=self.run_id, error=error, failed_steps=failed, resumable=resumable))
            return "Failed"
        self.ledger.append(ev.RunCompleted(run_id=self.run_id, duration_s=round(time.time() - started, 6)))
        return "Completed"

    def cancel(self, reason: str | None = None) -> None:
        """Start no further step and stop the running ones (their process groups get SIGTERM,
        then SIGKILL after a grace period); the run ends as Canceled."""
        if reason:
            self._cancel_reason = reason
        self._cancel.set()
        stop = getattr(self.runner, "stop_all", None)
        if stop is not None:
            stop()

    def _check_cancel_request(self) -> None:
        """Act on a run.cancel_requested another process recorded (`canalis cancel`)."""
        for rec in self.ledger.events(stream=f"run:{self.run_id}", type="run.cancel_requested", since=self._cancel_seen):
            self._cancel_seen = rec.seq
            if not self._cancel.is_set():
                self.cancel(rec.payload.get("reason") or "canceled by the user")

    # -- one step ----------------------------------------------------------------------
    def _guarded_step(self, step: StepSpec) -> StepResult:
        step_run_id = new_step_run_id()
        try:
            return self._step(step, step_run_id)
        except Exception as e:  # an internal error must fail the step, not hang the run
            error = f"canalis could not run the step: {type(e).__name__}: {e}"
            if nospace.is_no_space(e):
                error = nospace.describe(step.name, self._phase.get(step_run_id), e)
                if step.name in self._outside:  # its own process had run out of space first
                    error = f"{self._outside[step.name]}; then {error}"
                self._outside[step.name] = error
            self._record_failure(
                ev.StepFailed(
                    run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key="",
                    error=error, exit_code=None, stdout=None, stderr=None, duration_s=0.0,
                ),
                self.scratch / self.run_id / step_run_id,
            )
            return StepResult("Failed")

    def _record_failure(self, event, work: Path) -> None:
        """Record a step's failure. When the ledger has no room, the step's partial outputs (never
        stored, often what filled the disk) are removed and the record tried once more."""
        try:
            self.ledger.append(event)
        except LedgerFull:
            nospace.free_partial_outputs(work)
            self.ledger.append(event)

    def input_trees(self, step: StepSpec) -> dict[str, str]:
        return {i.name: (i.tree if i.source == "data" else self.tree_of_output[i.output]) for i in step.inputs}

    def _step(self, step: StepSpec, step_run_id: str) -> StepResult:
        trees = self.input_trees(step)
        key, document = fingerprint.reuse_key(step, trees, self.params)
        if not step.allow_reuse or self.regenerate:
            return self._run(step, step_run_id, key, trees, document)
        with single_flight(self.locks_dir, key):
            with writing(self.locks_dir):
                found = find_reusable(self.ledger, self.store, key)
                if found is not None:
                    self.store.put_bytes(document)  # gc may have removed it with the run that first ran the step
                    self.ledger.append(
                        ev.StepReused(
                            run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=key,
                            reused_from=found["step_run_id"], reused_run_id=found["run_id"], outputs=found["outputs"],
                        )
                    )
                    return StepResult("Reused", dict(found["outputs"]))
            return self._run(step, step_run_id, key, trees, document)

    def _run(self, step: StepSpec, step_run_id: str, key: str, trees: dict[str, str], document: bytes) -> StepResult:
        work = self.scratch / self.run_id / step_run_id
        if work.exists():
            shutil.rmtree(work)
        src = work / "src"
        self._phase[step_run_id] = "checking out its source snapshot"
        self.store.checkout(step.source_tree, src, readonly=False)
        inputs = {}
        for i in step.inputs:
            inputs[i.name] = work / "inputs" / paths.check_component(i.name, f"input name of step {step.name!r}")
            self._phase[step_run_id] = f"checking out its input {i.name!r}"
            self.store.checkout(trees[i.name], inputs[i.name], readonly=True)
        self._phase[step_run_id] = "preparing its working folder"
        outputs = {}
        for o in step.outputs:
            outputs[o.name] = work / "outputs" / paths.check_component(o.name, f"output name of step {step.name!r}")
            outputs[o.name].mkdir(parents=True)
        channel = work / "channel.jsonl"
        context = work / "context.json"
        context.write_text(json.dumps(self._context(step, step_run_id, inputs, outputs, channel), indent=1))
        argv = self._argv(step, inputs, outputs)
        env = dict(os.environ)
        env.update({k: str(v) for k, v in step.environment.get("definition", {}).get("environment_variables", {}).items()})
        env[ENV_VAR] = str(context)
        env["PYTHONUNBUFFERED"] = "1"

        logs = {"stdout": StepLog(work / "stdout.txt"), "stderr": StepLog(work / "stderr.txt")}
        stderr_tail: deque = deque(maxlen=STDERR_TAIL_LINES)  # kept in memory: a full disk may cut the file

        def on_line(stream, data: bytes):  # whole lines, or pieces of a very long one (bounded)
            data = mask_values(data, self._masks.get(step_run_id, ()))
            if stream == "stderr":
                stderr_tail.append(data.decode(errors="replace"))
            logs[stream].write(data)  # a write error (full disk) is kept: the output is still read to the end
            if self.on_line:
                self.on_line(step.name, stream, data.decode(errors="replace"))

        reader = ChannelReader(channel)
        finished = threading.Event()
        poller = threading.Thread(target=self._poll_channel, args=(reader, step_run_id, finished), daemon=True)

        def on_start(pid):  # the process exists: record it (with its pid), then read what it says
            with writing(self.locks_dir):
                self.store.put_bytes(document)
                self.ledger.append(
                    ev.StepStarted(run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=key,
                                   attempt=1, pid=pid, inputs=sorted([name, tree] for name, tree in trees.items()))
                )
            poller.start()

        self._phase[step_run_id] = "starting its process"
        t0 = time.time()
        launch_error = None
        try:
            code = self.runner.run(argv, cwd=str(src), env=env, on_line=on_line, on_start=on_start)
        except ExecutorError as e:
            code, launch_error = None, str(e)
        duration = round(time.time() - t0, 6)
        finished.set()
        if poller.ident is not None:
            poller.join()
        self._ingest(reader, step_run_id)  # what the step said last, and anything a failed poll left
        for log in logs.values():
            log.close()
        log_errors = [log.error for log in logs.values() if log.error is not None]
        if not log_errors:
            try:
                for log in logs.values():  # secrets learned late, or split between two pieces of output
                    log.remask(self._masks.get(step_run_id, ()))
            except OSError as e:
                log_errors.append(e)
        # the tail quoted in the error is masked with every secret the step read, also those learned late
        tail = mask_values("".join(stderr_tail), self._masks.pop(step_run_id, ())).splitlines()[-STDERR_TAIL_LINES:]
        if code != 0 and not self._cancel.is_set():
            said = [line.strip() for line in tail if nospace.says_no_space([line])]
            killed = nospace.killed_from_outside(code)
            if said:
                self._outside[step.name] = f"no space left on device in step {step.name!r}: {said[-1]}"
            elif killed:
                self._outside[step.name] = f"step {step.name!r} was killed by {killed}, a signal canalis did not send"
        if log_errors and step.name not in self._outside and not self._cancel.is_set():
            self._phase[step_run_id] = "writing its logs"
            raise log_errors[0]  # its log is incomplete: recorded as a failure (no space) rather than stored
        self._phase[step_run_id] = "storing its logs in the store"
        with writing(self.locks_dir):  # objects written here are in the ledger before gc may sweep
            # logs the disk had no room for are incomplete: not stored (the error keeps the last lines)
            stdout = logs["stdout"].store(self.store) if not log_errors else None
            stderr = logs["stderr"].store(self.store) if not log_errors else None
            if code != 0 and self._cancel.is_set():
                self.ledger.append(
                    ev.StepCanceled(
                        run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=key,
                        reason=self._cancel_reason, exit_code=code, stdout=stdout, stderr=stderr, duration_s=duration,
                    )
                )
                shutil.rmtree(work, ignore_errors=True)
                return StepResult("Canceled")
            if code != 0:
                error = launch_error or f"step {step.name!r} exited with code {code}" + (":\n" + "\n".join(tail) if tail else "")
                if step.name in self._outside:
                    error = f"{self._outside[step.name]}\n{error}"
                self._record_failure(
                    ev.StepFailed(
                        run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=key, error=error,
                        exit_code=code, stdout=stdout, stderr=stderr, duration_s=duration,
                    ),
                    work,
                )
                return StepResult("Failed")
            trees_out = {}
            for name, path in outputs.items():
                self._phase[step_run_id] = f"storing its output {name!r} in the store"
                trees_out[name] = self.store.snapshot(path, ignore=False, stat_cache=False).tree
            self.ledger.append(
                ev.StepCompleted(
                    run_id=self.run_id, step_run_id=step_run_id, step_name=step.name, reuse_key=key, outputs=trees_out,
                    stdout=stdout, stderr=stderr, exit_code=0, duration_s=duration, allow_reuse=step.allow_reuse,
                )
            )
        self._phase[step_run_id] = "copying its outputs to their datastore destinations"
        for o in step.outputs if self.publish else ():
            if o.destination:
                self._publish(step_run_id, o, trees_out[o.name])
            if o.register:
                registry.register_dataset(
                    self.ledger, name=o.register["name"], tree=trees_out[o.name], kind=o.kind,
                    description=o.register.get("description"), tags=o.register.get("tags") or {},
                    source={"run_id": self.run_id, "step_run_id": step_run_id, "output": o.name, "options": o.options},
                    run_id=self.run_id,
                )
        shutil.rmtree(work, ignore_errors=True)
        return StepResult("Completed", trees_out)

    # -- helpers -----------------------------------------------------------------------
    def _argv(self, step: StepSpec, inputs: dict, outputs: dict) -> list[str]:
        def value(arg):
            if "lit" in arg:
                return str(arg["lit"])
            if "param" in arg:
                return str(self.params[arg["param"]])
            if "input" in arg:
                return str(inputs[arg["input"]])
            if "output" in arg:
                return str(outputs[arg["output"]])
            raise ExecutorError(f"step {step.name!r} has an argument canalis cannot read: {arg!r}")

        args = [value(a) for a in step.arguments]
        if step.kind == "python":
            return [self.python, step.script, *args]
        return [value(a) for a in (step.command or [])] + args

    def _context(self, step, step_run_id, inputs, outputs, channel) -> dict:
        by_name = {i.name: i for i in step.inputs}
        return {
            "run_id": self.run_id,
            "step_run_id": step_run_id,
            "step_name": step.name,
            "experiment": self.experiment,
            "workspace": str(self.workspace_root) if self.workspace_root else None,
            "objects": str(self.store.root) if hasattr(self.store, "root") else None,
            "channel": str(channel),
            "parameters": self.params,
            "inputs": {
                n: {"path": str(p), "kind": by_name[n].kind, "options": by_name[n].options, "dataset": by_name[n].dataset}
                for n, p in inputs.items()
            },
            "outputs": {n: str(p) for n, p in outputs.items()},
        }

    def _poll_channel(self, reader: ChannelReader, step_run_id: str, finished: threading.Event):
        while not finished.wait(POLL_SECONDS):
            try:
                self._ingest(reader, step_run_id)
            except Exception:  # noqa: BLE001 - unacknowledged messages are retried by the final
                return  # ingest after the step exits, which fails the step if the ledger still refuses them

    def _ingest(self, reader: ChannelReader, step_run_id: str) -> None:
        messages = reader.read_new()
        events = []
        for m in messages:
            m = mask_strings(m, self._masks.get(step_run_id, ()))
            op = m.get("op")
            target = None if m.get("target") == "parent" else step_run_id
            if op == "metric":
                events.append(
                    ev.MetricLogged(
                        run_id=self.run_id, step_run_id=target, name=str(m["name"]), kind=m.get("kind", "scalar"),
                        value=m.get("value"), description=m.get("description"),
                    )
                )
            elif op == "tag":
                events.append(ev.RunTagged(run_id=self.run_id, step_run_id=target, tags=dict(m.get("tags", {}))))
            elif op == "secrets" and self.secret_values is not None:
                known = self._masks.get(step_run_id, frozenset())  # replaced, not mutated: log threads read it
                self._masks[step_run_id] = known | frozenset(self.secret_values(m.get("names") or []))
            elif op == "artifact":
                paths.check_relative(str(m["name"]), "artifact name", "the step run's files")
                events.append(
                    ev.ArtifactUploaded(
                        run_id=self.run_id, step_run_id=step_run_id, name=str(m["name"]), digest=m["digest"], size=int(m["size"])
                    )
                )
        if events:
            self.ledger.append_many(events)
        reader.ack()

    def _publish(self, step_run_id: str, out, tree: str) -> None:
        dest = out.destination
        what, label = f"destination of output {out.name!r}", f"datastore {dest['datastore']!r}"
        rel = paths.check_relative(paths.expand_destination(dest["path"], step_run_id, out.name), what, label)
        publish_tree(self.store, tree, dest["root"], rel, what, label)
        self.ledger.append(
            ev.OutputPublished(
                run_id=self.run_id, step_run_id=step_run_id, output=out.name, tree=tree, datastore=dest["datastore"], path=rel
            )
        )
