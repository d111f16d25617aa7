"""The words for reuse decisions, shared by `canalis why` and the dry run (`canalis submit
--dry-run`, `canalis plan`, `Pipeline.validate()`): what differs in a step's reuse key, and
the plan as a dry run prints it."""
from __future__ import annotations


def _short(digest) -> str:
    return digest[:12] if digest else ""


def describe_difference(d: dict) -> str:
    """One part of a reuse key that differs (executor/why.py `diff_key_documents`), in words."""
    files = d.get("files")
    listed = ""
    if files:
        parts = [f"{k} {', '.join(v)}" for k, v in files.items() if v]
        listed = f" ({'; '.join(parts)})" if parts else ""
    if d["part"] == "parameter":
        return f"parameter {d['name']}: {d['before']!r} -> {d['after']!r}"
    if d["part"] == "input":
        return f"input {d['name']}: {d['change']}{listed}"
    if d["part"] == "source":
        return f"source snapshot changed{listed}"
    if d["part"] == "hash_path":
        return f"hash_paths entry {d['name']} changed"
    if d["part"] == "environment":
        return f"environment changed ({_short(d['before'])} -> {_short(d['after'])})"
    if d["part"] == "env":
        return f"environment variable {d['name']}: {d['before']!r} -> {d['after']!r}"
    if d["part"] == "key_version":
        return f"{d['change']} (key format {d['before']} -> {d['after']})"
    return f"{d['part']}: {d['before']!r} -> {d['after']!r}"


def to_json(result: dict) -> dict:
    """A dry run's result as `--json` prints it (the plan itself is not repeated)."""
    return {"dry_run": True, "parameters": result["parameters"], "steps": result["steps"],
            "would_run": [s["step"] for s in result["steps"] if s["decision"] != "reuse"],
            "snapshots": result["snapshots"], "ledger_written": False}


def lines(result: dict) -> list[str]:
    """The dry run as text: one line per step, the reason under each step that would run."""
    steps = result["steps"]
    width = max((len(s["step"]) for s in steps), default=0)
    out = []
    if result["parameters"]:
        out.append("parameters: " + ", ".join(f"{k}={v!r}" for k, v in result["parameters"].items()))
    for s in steps:
        if s["decision"] == "reuse":
            out.append(f"  {s['step'].ljust(width)}  would be reused from run {s['reused_run_id']} "
                       f"(step run {s['reused_from']})")
            continue
        verb = "would run" if s["decision"] == "run" else "would wait"
        out.append(f"  {s['step'].ljust(width)}  {verb}: {s['reason']}")
        for d in s["differences"]:
            out.append(f"  {' ' * width}    {describe_difference(d)}")
    run = [s for s in steps if s["decision"] == "run"]
    depends = [s for s in steps if s["decision"] == "depends"]
    reused = len(steps) - len(run) - len(depends)
    out.append(f"{len(run)} step(s) would run, {reused} would be reused"
               + (f", {len(depends)} decided when they start" if depends else "") + ".")
    out.append(f"Dry run: nothing ran and nothing was written to the ledger; the {len(result['snapshots'])} snapshot(s) "
               "the plan needs were stored in the store (no run names them, so `canalis gc` removes them after its "
               "grace period).")
    return out
