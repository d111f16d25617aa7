"""`canalis show RUN --graph`: the pipeline's DAG drawn in the terminal.

Steps are drawn in the order they can run, each with a mark for its state and its state in
words; under each step, one edge per output another step reads, labelled with the data's
name (`── prepared ──▶ train, evaluate`), and `after` edges for steps that only wait for it.
"""
from __future__ import annotations

from canalis.step_states import MARKS, STYLES, StepState

LEGEND = "✓ completed or reused  ▶ running  · queued  ✗ failed or canceled  – skipped  ? abandoned"


def edges(states: list[StepState]) -> dict[str, list[tuple[str, list[str]]]]:
    """producer -> [(data name, [consumers])], and (None, [steps that only run after it])."""
    out: dict[str, dict] = {s.name: {} for s in states}
    for s in states:
        fed_by = set()
        for data, producer in s.inputs:
            out.setdefault(producer, {}).setdefault(data, []).append(s.name)
            fed_by.add(producer)
        for up in s.upstream:
            if up not in fed_by:
                out.setdefault(up, {}).setdefault(None, []).append(s.name)
    return {k: list(v.items()) for k, v in out.items()}


def render(states: list[StepState]) -> list[str]:
    """The drawing as rich markup lines."""
    from rich.markup import escape

    width = max((len(s.name) for s in states), default=0)
    outgoing = edges(states)
    lines = []
    for i, s in enumerate(states):
        style = STYLES.get(s.status, "")
        lines.append(f"[{style}]{MARKS.get(s.status, '?')} {escape(s.name.ljust(width))}[/]  {escape(s.label())}")
        out = outgoing.get(s.name, [])
        for j, (data, consumers) in enumerate(out):
            branch = "└" if j == len(out) - 1 else "├"
            label = f"── {data} ──▶ " if data is not None else "── (runs after it) ──▶ "
            lines.append(f"  {branch}{escape(label)}{escape(', '.join(consumers))}")
    return lines
