"""One step run that executes: prepare its working folder, run its process, record the result.

The three phases are separate methods of `StepExecution` so that each reads in a screen:

- `prepare`: check out the source (writable) and the inputs (read-only), make the output
  folders, write `context.json` for `Run.get_context()`.
- `launch`: hand the bound step to the runner; capture stdout and stderr to files (and to
  whoever watches), and turn what the step says on its channel into ledger events while
  it runs. `step.started` is recorded once the process exists, with its pid.
- `record`: store the logs, then either `step.canceled`, `step.failed`, or snapshot the
  outputs and record `step.completed`; then copy outputs to datastore destinations and
  register outputs as datasets where the pipeline asked for it.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import deque
from pathlib import Path

from canalis.executor import nospace, outputs, paths, registry
from canalis.executor.bind import BoundStep, WorkLayout
from canalis.executor.channel import ENV_VAR, ChannelReader, write_reply
from canalis.executor.errors import ExecutorError
from canalis.executor.locks import writing
from canalis.executor.logcapture import StepLog
from canalis.executor.outcome import Outcome, StepResult
from canalis.executor.publish import publish_tree
from canalis.executor.step_requests import REQUESTS, answer, input_datasets
from canalis.executor.stepenv import prepare_environment
from canalis.executor.stepprofile import StepClock
from canalis.ledger import events as ev
from canalis.ledger.status import StepStatus
from canalis.ledger.redact import mask_strings, mask_values

STDERR_TAIL_LINES = 20
POLL_SECONDS = 0.25


class StepExecution:
    def __init__(self, run, bound: BoundStep, step_run_id: str, clock: StepClock | None = None):
        self.run, self.bound, self.step_run_id = run, bound, step_run_id
        self.clock = clock or StepClock(bound.spec.name)
        self.spec = bound.spec
        self.layout = WorkLayout(Path(run.scratch) / run.run_id / step_run_id)
        self.logs: dict[str, StepLog] = {}
        # on a Dask target: what the step says (metrics, tags, artifacts) waits here until its
        # attempt has ended, so that an attempt whose worker was lost adds nothing (docs/dask.md)
        self._held: list | None = None

    def _phase(self, doing: str) -> None:
        """Say what the executor is doing for this step (named in the error if space runs out)."""
        self.run.phase[self.step_run_id] = doing

    def execute(self) -> StepResult:
        self.prepare()
        return self.record(self.launch())

    # -- prepare ---------------------------------------------------------------------------
    def prepare(self) -> None:
        lay, store, name = self.layout, self.run.store, self.spec.name
        if lay.root.exists():
            shutil.rmtree(lay.root)
        self._phase("checking out its source snapshot")
        ahead = self.run.take_prepared(self.spec.source_tree)
        if ahead is not None:  # made while the previous step ran: its source, empty outputs/ and logs
            os.rename(ahead, lay.root)
        else:
            store.checkout(self.spec.source_tree, lay.src, readonly=False)
        self.clock.mark("checkout_source")
        for i in self.bound.inputs:
            paths.check_component(i.name, f"input name of step {name!r}")
            self._phase(f"checking out its input {i.name!r}")
            store.checkout(i.tree, lay.input(i.name), readonly=True)
        self.clock.mark("checkout_inputs")
        self._phase("preparing its working folder")
        (lay.root / "outputs").mkdir(parents=True, exist_ok=True)
        for o in self.spec.outputs:  # an output that is not a folder in advance: the step makes a folder or writes a file
            paths.check_component(o.name, f"output name of step {name!r}")
            if o.folder:
                lay.output(o.name).mkdir()
        lay.context.write_text(json.dumps(self._context(), indent=1))
        self.clock.mark("workdir")

    def _context(self) -> dict:
        run, lay = self.run, self.layout
        files = run.input_files(self.spec)
        return {
            "run_id": run.run_id,
            "step_run_id": self.step_run_id,
            "step_name": self.spec.name,
            "experiment": run.experiment,
            "workspace": str(run.workspace_root) if run.workspace_root else None,
            "objects": str(run.store.root) if hasattr(run.store, "root") else None,
            # so that files the step puts (run.upload_file, models) follow the workspace's setting
            "chunk_compression": getattr(run.store, "chunk_compression", None),
            "channel": str(lay.channel),
            "replies": str(lay.replies),
            "inputs": {i.name: {"path": str(lay.input(i.name)), "kind": i.kind, "mode": i.mode, "options": i.options,
                                "file": files.get(i.name)}
                       for i in self.bound.inputs},
            "outputs": {o.name: str(lay.output(o.name)) for o in self.spec.outputs},
        }

    # -- launch ----------------------------------------------------------------------------
    def launch(self) -> Outcome:
        run, lay, bound, sid = self.run, self.layout, self.bound, self.step_run_id
        env = {**run.base_env(), **bound.environment(lay), ENV_VAR: str(lay.context), "PYTHONUNBUFFERED": "1"}
        logs = self.logs = {s: StepLog(lay.log(s)) for s in ("stdout", "stderr")}
        stderr_tail: deque = deque(maxlen=STDERR_TAIL_LINES)

        def on_line(stream, data: bytes):  # whole lines, or pieces of a very long one (bounded)
            if stream == "build":  # the environment's build output: in the step's stderr, not in its error
                logs["stderr"].write(data)
                if run.on_line:
                    run.on_line(self.spec.name, "stderr", data.decode(errors="replace"))
                return
            data = mask_values(data, run.masks.get(sid, ()))
            if stream == "stderr":
                stderr_tail.append(data.decode(errors="replace"))
            logs[stream].write(data)  # a write error (full disk) is kept: the output is still read to the end
            if run.on_line:
                run.on_line(self.spec.name, stream, data.decode(errors="replace"))

        reader = ChannelReader(lay.channel)
        finished = threading.Event()
        poller = threading.Thread(target=self._poll_channel, args=(reader, finished), daemon=True)

        unrecorded = []  # what the environment has left to record (`step.environment`), until recorded

        def on_start(pid):  # the process exists: record it (with its pid), then read what it says
            clock.mark("spawn")
            with writing(run.locks_dir):  # the key document and the packages blob, then the events naming them
                run.store.put_bytes(bound.document)
                environment = unrecorded.pop()() if unrecorded else []
                run.ledger.append_many([*environment, ev.StepStarted(
                    run_id=run.run_id, step_run_id=self.step_run_id, step_name=self.spec.name, reuse_key=bound.key,
                    attempt=1, pid=pid, inputs=sorted([i.name, i.tree] for i in bound.inputs))])
            clock.mark("step_started")
            poller.start()
            run.sweep()  # completed steps' folders go while this process runs
            run.prepare_ahead(self.spec.source_tree)  # and the next step's folder is made

        clock = self.clock
        clock.mark("logs_open")
        t0 = time.time()
        launch_error = None
        try:
            self._phase("making its environment ready")
            interp = prepare_environment(run, self.spec.environment, sid, self.spec.name,
                                         lambda line: on_line("build", (line.rstrip("\n") + "\n").encode()), defer=True)
            if interp.pending is not None:  # recorded with step.started, in one transaction
                unrecorded.append(interp.pending)
            clock.mark("environment")
            self._phase("starting its process")
            env = {**env, **interp.env}  # a materialised environment's PYTHONPATH replaces the executor's
            dask = run.dask_runner(self.spec.compute_target)
            runner = dask or (run.docker_runner() if interp.docker is not None else run.runner)
            extra = interp.docker or {}
            if dask is not None:  # a container, if any, is started by the worker (runners/dask.py)
                extra = {"on_placed": self._placed, "on_lost": self._lost,
                         "source": (str(run.store.root), self.spec.source_tree), "docker": interp.docker}
                self._held = []
            code = runner.run(bound, lay, env=env, on_line=on_line, on_start=on_start, python=interp.python, **extra)
            clock.mark("process")
        except ExecutorError as e:
            code, launch_error = None, str(e)
        finally:
            for log in logs.values():
                log.close()
        if unrecorded:  # the process never started: what the step was to run with is recorded all the same
            with writing(run.locks_dir):
                run.ledger.append_many(unrecorded.pop()())
        duration = round(time.time() - t0, 6)
        finished.set()
        if poller.ident is not None:
            poller.join()
        self._ingest(reader)  # what the step said last, and anything a failed poll left
        if self._held:  # the last attempt's records, now that it has ended
            run.ledger.append_many(self._held)
            self._held.clear()

        clock.mark("channel")
        log_errors = [log.error for log in logs.values() if log.error is not None]
        if not log_errors:
            try:
                for log in logs.values():  # secrets learned late, or split between two pieces of output
                    log.remask(run.masks.get(sid, ()))
            except OSError as e:
                log_errors.append(e)
        # the tail quoted in an error is masked with every secret the step read, also those learned late
        tail = tuple(mask_values("".join(stderr_tail), run.masks.pop(sid, ())).splitlines()[-STDERR_TAIL_LINES:])
        clock.mark("logs_close")
        return Outcome(code, launch_error, duration, tail, tuple(log_errors))

    def _placed(self, placed: dict) -> None:
        """An attempt of this step began on a Dask worker (executor/runners/dask.py)."""
        run = self.run
        run.ledger.append(ev.StepPlaced(
            run_id=run.run_id, step_run_id=self.step_run_id, step_name=self.spec.name, attempt=int(placed["attempt"]),
            worker=str(placed["worker"]), worker_name=placed.get("worker_name"), host=placed.get("host"),
            pid=placed.get("pid")))

    def _lost(self, placed: dict, error: str, retrying: bool) -> None:
        """The Dask worker of an attempt of this step was lost."""
        run = self.run
        run.ledger.append(ev.StepAttemptInterrupted(
            run_id=run.run_id, step_run_id=self.step_run_id, step_name=self.spec.name, attempt=int(placed["attempt"]),
            worker=str(placed["worker"]), error=error, retrying=retrying))

    def _poll_channel(self, reader: ChannelReader, finished: threading.Event) -> None:
        while not finished.wait(POLL_SECONDS):
            try:
                self._ingest(reader)
            except Exception:  # noqa: BLE001 - unacknowledged messages are retried by the final
                return  # ingest after the step exits, which fails the step if the ledger still refuses them

    def _ingest(self, reader: ChannelReader) -> None:
        run, sid = self.run, self.step_run_id
        events = []
        for i, m in enumerate(reader.read_new()):
            m = mask_strings(m, run.masks.get(sid, ()))
            op = m.get("op")
            target = None if m.get("target") == "parent" else sid
            if op in REQUESTS:  # answered in order: what the step said before it is recorded first
                if events and self._held is not None:
                    self._held.extend(events)
                elif events:
                    run.ledger.append_many(events)
                events = []
                reader.ack(i)
                write_reply(self.layout.replies, m.get("reply"), answer(self, m))
                reader.ack(i + 1)
            elif op == "metric":
                events.append(ev.MetricLogged(run_id=run.run_id, step_run_id=target, name=str(m["name"]),
                                              kind=m.get("kind", "scalar"), value=m.get("value"),
                                              description=m.get("description"), by_step_run_id=sid))
            elif op == "tag":
                events.append(ev.RunTagged(run_id=run.run_id, step_run_id=target, tags=dict(m.get("tags", {}))))
            elif op == "secrets" and run.secret_values is not None:
                known = run.masks.get(sid, frozenset())  # replaced, not mutated: log threads read it
                run.masks[sid] = known | frozenset(run.secret_values(m.get("names") or []))
            elif op == "attempt" and self._held is not None:  # a Dask attempt starts: earlier ones were lost
                self._held.clear()
                events = []
            elif op == "artifact":
                paths.check_relative(str(m["name"]), "artifact name", "the step run's files")
                events.append(ev.ArtifactUploaded(run_id=run.run_id, step_run_id=sid, name=str(m["name"]),
                                                  digest=m["digest"], size=int(m["size"])))
        if events and self._held is not None:
            self._held.extend(events)
        elif events:
            run.ledger.append_many(events)
        reader.ack()

    # -- record ----------------------------------------------------------------------------
    def record(self, outcome: Outcome) -> StepResult:
        run, lay, spec, key = self.run, self.layout, self.spec, self.bound.key
        common = dict(run_id=run.run_id, step_run_id=self.step_run_id, step_name=spec.name, reuse_key=key)
        failed = outcome.exit_code != 0 and not run.canceled
        if failed:
            self._note_outside_cause(outcome)
        if outcome.log_errors and spec.name not in run.outside and not run.canceled:
            self._phase("writing its logs")
            raise outcome.log_errors[0]  # its log is incomplete: recorded as a failure (no space) rather than stored
        self._phase("storing its logs in the store")
        with writing(run.locks_dir):  # objects written here are in the ledger before gc may sweep
            # the logs, the outputs' blobs and their trees go into one write set, made durable
            # together (one pack: one fsync of it, one of its folder) before the event naming them
            with run.store.together() as objects:
                # logs the disk had no room for are incomplete: not stored (the error keeps the last lines)
                stored = not outcome.log_errors
                stdout = self.logs["stdout"].store(objects) if stored else None
                stderr = self.logs["stderr"].store(objects) if stored else None
                self.clock.mark("store_logs")
                end = "canceled" if outcome.exit_code != 0 and run.canceled else "failed" if failed else "completed"
                trees = {}
                for o in spec.outputs if end == "completed" else ():
                    self._phase(f"storing its output {o.name!r} in the store")
                    trees[o.name] = outputs.snapshot(objects, lay.output(o.name), o.name)
                self._phase("storing its logs and outputs in the store")
            self.clock.mark("snapshot_outputs")
            logs = dict(stdout=stdout, stderr=stderr, exit_code=outcome.exit_code, duration_s=outcome.duration_s)
            if end == "canceled":
                run.ledger.append(ev.StepCanceled(**common, reason=run.cancel_reason, **logs))
                shutil.rmtree(lay.root, ignore_errors=True)
                return StepResult(StepStatus.Canceled)
            if end == "failed":
                run.record_failure(ev.StepFailed(**common, error=self._failure(outcome), **logs), lay.root)
                return StepResult(StepStatus.Failed)  # the working folder stays for inspection
            run.ledger.append(ev.StepCompleted(**common, outputs=trees, allow_reuse=spec.allow_reuse, **logs))
            self.clock.mark("step_completed")
        if run.publish:
            self._phase("copying its outputs to their datastore destinations")
            self._deliver(trees)
            self.clock.mark("deliver")
        run.discard_folder(lay.root)
        self.clock.mark("cleanup")
        return StepResult(StepStatus.Completed, trees)

    def _note_outside_cause(self, outcome: Outcome) -> None:
        """A step that failed for a cause outside its code (it said there is no space left, or a
        signal canalis did not send killed it) makes its run resumable (executor/nospace.py)."""
        said = [line.strip() for line in outcome.stderr_tail if nospace.says_no_space([line])]
        killed = nospace.killed_from_outside(outcome.exit_code)
        if said:
            self.run.outside[self.spec.name] = f"no space left on device in step {self.spec.name!r}: {said[-1]}"
        elif killed:
            self.run.outside[self.spec.name] = (f"step {self.spec.name!r} was killed by {killed}, "
                                                "a signal canalis did not send")

    def _failure(self, outcome: Outcome) -> str:
        if outcome.launch_error:
            error = outcome.launch_error
        else:
            tail = outcome.stderr_tail
            error = f"step {self.spec.name!r} exited with code {outcome.exit_code}" + (":\n" + "\n".join(tail) if tail else "")
        if self.spec.name in self.run.outside:
            error = f"{self.run.outside[self.spec.name]}\n{error}"
        return error

    def _deliver(self, trees: dict[str, str]) -> None:
        """Copy outputs to their datastore destinations; register outputs as datasets."""
        run = self.run
        for o in self.spec.outputs:
            if o.destination:
                self._publish(o, trees[o.name])
            if o.register:
                registry.register(
                    run.ledger, "dataset", o.register["name"], trees[o.name],
                    lineage=registry.Lineage(run_id=run.run_id, step_run_id=self.step_run_id, output=o.name,
                                             datasets=tuple(input_datasets(self.spec))),
                    description=o.register.get("description"), tags=o.register.get("tags") or {},
                    kind=o.kind, options=o.options,
                )

    def _publish(self, out, tree: str) -> None:
        run, dest = self.run, out.destination
        what, label = f"destination of output {out.name!r}", f"datastore {dest['datastore']!r}"
        rel = paths.check_relative(paths.expand_destination(dest["path"], self.step_run_id, out.name), what, label)
        publish_tree(run.store, tree, dest["root"], rel, what, label)
        run.ledger.append(ev.OutputPublished(run_id=run.run_id, step_run_id=self.step_run_id, output=out.name,
                                             tree=tree, datastore=dest["datastore"], path=rel))

