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
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from canalis.executor import registry
from canalis.executor.bind import BoundStep, WorkLayout
from canalis.executor.channel import ENV_VAR, ChannelReader
from canalis.executor.errors import ExecutorError
from canalis.executor.locks import writing
from canalis.ledger import events as ev

STDERR_TAIL_LINES = 20
POLL_SECONDS = 0.25


@dataclass
class StepResult:
    status: str  # Completed | Reused | Failed | Skipped | Canceled
    outputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How the step's process ended: its exit code (None when it could not start)."""

    exit_code: int | None
    launch_error: str | None
    duration_s: float


class StepExecution:
    def __init__(self, run, bound: BoundStep, step_run_id: str):
        self.run, self.bound, self.step_run_id = run, bound, step_run_id
        self.spec = bound.spec
        self.layout = WorkLayout(Path(run.scratch) / run.run_id / step_run_id)

    def execute(self) -> StepResult:
        self.prepare()
        return self.record(self.launch())

    # -- prepare ---------------------------------------------------------------------------
    def prepare(self) -> None:
        lay, store = self.layout, self.run.store
        if lay.root.exists():
            shutil.rmtree(lay.root)
        store.checkout(self.spec.source_tree, lay.src, readonly=False)
        for i in self.bound.inputs:
            store.checkout(i.tree, lay.input(i.name), readonly=True)
        for o in self.spec.outputs:
            lay.output(o.name).mkdir(parents=True)
        lay.context.write_text(json.dumps(self._context(), indent=1))

    def _context(self) -> dict:
        run, lay = self.run, self.layout
        return {
            "run_id": run.run_id,
            "step_run_id": self.step_run_id,
            "step_name": self.spec.name,
            "experiment": run.experiment,
            "workspace": str(run.workspace_root) if run.workspace_root else None,
            "objects": str(run.store.root) if hasattr(run.store, "root") else None,
            "channel": str(lay.channel),
            "inputs": {i.name: {"path": str(lay.input(i.name)), "kind": i.kind, "mode": i.mode, "options": i.options}
                       for i in self.bound.inputs},
            "outputs": {o.name: str(lay.output(o.name)) for o in self.spec.outputs},
        }

    # -- launch ----------------------------------------------------------------------------
    def launch(self) -> Outcome:
        run, lay, bound = self.run, self.layout, self.bound
        env = {**run.base_env(), **bound.environment(), ENV_VAR: str(lay.context), "PYTHONUNBUFFERED": "1"}
        logs = {s: open(lay.log(s), "wb") for s in ("stdout", "stderr")}
        log_lock = threading.Lock()

        def on_line(stream, text):
            with log_lock:
                logs[stream].write(text.encode())
                logs[stream].flush()
            if run.on_line:
                run.on_line(self.spec.name, stream, text)

        reader = ChannelReader(lay.channel)
        finished = threading.Event()
        poller = threading.Thread(target=self._poll_channel, args=(reader, finished), daemon=True)

        def on_start(pid):  # the process exists: record it (with its pid), then read what it says
            with writing(run.locks_dir):
                run.store.put_bytes(bound.document)
                run.ledger.append(ev.StepStarted(
                    run_id=run.run_id, step_run_id=self.step_run_id, step_name=self.spec.name, reuse_key=bound.key,
                    attempt=1, pid=pid, inputs=sorted([i.name, i.tree] for i in bound.inputs)))
            poller.start()

        t0 = time.time()
        launch_error = None
        try:
            code = run.runner.run(bound, lay, env=env, on_line=on_line, on_start=on_start)
        except ExecutorError as e:
            code, launch_error = None, str(e)
        finally:
            for f in logs.values():
                f.close()
        duration = round(time.time() - t0, 6)
        finished.set()
        if poller.ident is not None:
            poller.join()
        self._ingest(reader)  # what the step said last, and anything a failed poll left
        return Outcome(code, launch_error, duration)

    def _poll_channel(self, reader: ChannelReader, finished: threading.Event) -> None:
        while not finished.wait(POLL_SECONDS):
            try:
                self._ingest(reader)
            except Exception:  # noqa: BLE001 - unacknowledged messages are retried by the final
                return  # ingest after the step exits, which fails the step if the ledger still refuses them

    def _ingest(self, reader: ChannelReader) -> None:
        run, sid = self.run, self.step_run_id
        events = []
        for m in reader.read_new():
            op = m.get("op")
            target = None if m.get("target") == "parent" else sid
            if op == "metric":
                events.append(ev.MetricLogged(run_id=run.run_id, step_run_id=target, name=str(m["name"]),
                                              kind=m.get("kind", "scalar"), value=m.get("value"),
                                              description=m.get("description")))
            elif op == "tag":
                events.append(ev.RunTagged(run_id=run.run_id, step_run_id=target, tags=dict(m.get("tags", {}))))
            elif op == "artifact":
                events.append(ev.ArtifactUploaded(run_id=run.run_id, step_run_id=sid, name=str(m["name"]),
                                                  digest=m["digest"], size=int(m["size"])))
        if events:
            run.ledger.append_many(events)
        reader.ack()

    # -- record ----------------------------------------------------------------------------
    def record(self, outcome: Outcome) -> StepResult:
        run, lay, spec, key = self.run, self.layout, self.spec, self.bound.key
        common = dict(run_id=run.run_id, step_run_id=self.step_run_id, step_name=spec.name, reuse_key=key)
        with writing(run.locks_dir):  # objects written here are in the ledger before gc may sweep
            stdout = run.store.put_file(lay.log("stdout"))
            stderr = run.store.put_file(lay.log("stderr"))
            logs = dict(stdout=stdout, stderr=stderr, exit_code=outcome.exit_code, duration_s=outcome.duration_s)
            if outcome.exit_code != 0 and run.canceled:
                run.ledger.append(ev.StepCanceled(**common, reason=run.cancel_reason, **logs))
                shutil.rmtree(lay.root, ignore_errors=True)
                return StepResult("Canceled")
            if outcome.exit_code != 0:
                run.ledger.append(ev.StepFailed(**common, error=self._failure(outcome), **logs))
                return StepResult("Failed")  # the working folder stays for inspection
            trees = {o.name: run.store.snapshot(lay.output(o.name), ignore=False, stat_cache=False).tree
                     for o in spec.outputs}
            run.ledger.append(ev.StepCompleted(**common, outputs=trees, allow_reuse=spec.allow_reuse, **logs))
        if run.publish:
            self._deliver(trees)
        shutil.rmtree(lay.root, ignore_errors=True)
        return StepResult("Completed", trees)

    def _failure(self, outcome: Outcome) -> str:
        if outcome.launch_error:
            return outcome.launch_error
        tail = self.layout.log("stderr").read_text(errors="replace").splitlines()[-STDERR_TAIL_LINES:]
        return f"step {self.spec.name!r} exited with code {outcome.exit_code}" + (":\n" + "\n".join(tail) if tail else "")

    def _deliver(self, trees: dict[str, str]) -> None:
        """Copy outputs to their datastore destinations; register outputs as datasets."""
        run = self.run
        for o in self.spec.outputs:
            if o.destination:
                self._publish(o, trees[o.name])
            if o.register:
                registry.register(
                    run.ledger, "dataset", o.register["name"], trees[o.name],
                    lineage=registry.Lineage(run_id=run.run_id, step_run_id=self.step_run_id, output=o.name),
                    description=o.register.get("description"), tags=o.register.get("tags") or {},
                    kind=o.kind, options=o.options,
                )

    def _publish(self, out, tree: str) -> None:
        run, dest = self.run, out.destination
        rel = dest["path"].replace("{run-id}", self.step_run_id).replace("{output-name}", out.name)
        target = Path(dest["root"]) / rel
        if target.exists() and any(target.iterdir()):
            tmp = target.parent / f".{target.name}.canalis-tmp-{uuid.uuid4().hex[:8]}"
            run.store.checkout(tree, tmp, readonly=False)
            shutil.copytree(tmp, target, dirs_exist_ok=True)
            shutil.rmtree(tmp)
        else:
            run.store.checkout(tree, target, readonly=False)
        run.ledger.append(ev.OutputPublished(run_id=run.run_id, step_run_id=self.step_run_id, output=out.name,
                                             tree=tree, datastore=dest["datastore"], path=rel))
