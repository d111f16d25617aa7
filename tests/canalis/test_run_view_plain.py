"""The plain view (pipes, logs, `--plain`) says each step's lines between the line saying it
runs and the line saying how it ended, even when a step started, printed and ended between
two looks at the run."""
import types

from canalis.core.run_view import PlainView
from canalis.ledger.status import StepStatus
from canalis.step_states import QUEUED, StepState


def row(name, status=StepStatus.Completed):
    return types.SimpleNamespace(step_name=name, step_run_id=f"sr-{name}", status=status)


def lines(capsys):
    return capsys.readouterr().out.splitlines()


def test_a_step_that_ran_between_two_looks_is_said_to_run_before_its_lines_and_its_end(capsys):
    view = PlainView()
    first = [StepState("prep", StepStatus.Running, "sr-prep", 0.1), StepState("train", QUEUED, upstream=("prep",))]
    view.expect(first)
    view.output(row("prep", StepStatus.Running), "stdout", b"waiting\n")
    view.update(first)
    assert lines(capsys) == ["== prep: running", "[prep] waiting"]

    # prep ended, train started, printed and ended, all before the next look
    ended = [StepState("prep", StepStatus.Completed, "sr-prep", 0.6),
             StepState("train", StepStatus.Completed, "sr-train", 0.0)]
    view.expect(ended)
    view.output(row("prep"), "stdout", b"passed\n")
    view.output(row("train"), "stdout", b"training\n")
    view.update(ended)
    view.stop()
    assert lines(capsys) == ["[prep] passed", "== prep: completed in 0.6 s", "== train: running",
                             "[train] training", "== train: completed in 0.0 s"]


def test_a_step_that_printed_nothing_is_still_said_to_have_run(capsys):
    view = PlainView()
    states = [StepState("only", StepStatus.Completed, "sr-only", 1.0)]
    view.expect(states)
    view.update(states)
    assert lines(capsys) == ["== only: running", "== only: completed in 1.0 s"]


def test_a_reused_step_is_not_said_to_run(capsys):
    view = PlainView()
    states = [StepState("prep", StepStatus.Reused, "sr-prep", None, reused_run_id="r1")]
    view.expect(states)
    view.update(states)
    assert lines(capsys) == ["== prep: reused from r1"]


def test_a_state_line_never_continues_a_steps_open_line(capsys):
    view = PlainView()
    running = [StepState("talk", StepStatus.Running, "sr-talk", 0.1)]
    view.expect(running)
    view.output(row("talk", StepStatus.Running), "stdout", b"line 1\nno newline yet")
    view.update(running)
    ended = [StepState("talk", StepStatus.Completed, "sr-talk", 0.2)]
    view.expect(ended)
    view.output(row("talk"), "stdout", b", still none")
    view.update(ended)
    view.stop()
    assert lines(capsys) == ["== talk: running", "[talk] line 1", "[talk] no newline yet, still none",
                             "== talk: completed in 0.2 s"]


def test_a_reused_steps_lines_come_after_the_line_saying_where_from(capsys):
    view = PlainView()
    states = [StepState("prep", StepStatus.Reused, "sr-prep", None, reused_run_id="r1"),
              StepState("train", StepStatus.Reused, "sr-train", None, reused_run_id="r1")]
    view.expect(states)
    view.output(row("prep", StepStatus.Reused), "stdout", b"prepared\n")
    view.output(row("train", StepStatus.Reused), "stdout", b"trained\n")
    view.update(states)
    assert lines(capsys) == ["== prep: reused from r1", "[prep] prepared", "== train: reused from r1", "[train] trained"]
