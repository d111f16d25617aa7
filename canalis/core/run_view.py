"""What a wait on a run shows (`canalis submit`, `resume`, `reproduce`,
`wait_for_completion(show_output=True)`): one of two views of the same information.

- `LiveView`, on a terminal: a view redrawn in place (rich's Live) with one line per step and
  its state (queued, running with its elapsed time, reused from which run, completed, failed),
  the run's progress (n of m steps ended), and below them the last lines the steps printed.
- `PlainView`, when the output is not a terminal (or with `--plain`, or CANALIS_PLAIN=1): one
  line per change of a step's state (`== train: running`), and every line the steps print,
  after `[step] `, as it comes.

Both end with the run's status, each step's, and for a failed step its last lines of stderr
and where its whole log is.
"""
from __future__ import annotations

import os
import sys
from collections import deque

from canalis.core.run_logs import LinePrefixer
from canalis.ledger.status import StepStatus

#: states of a step that ran (a plain view says `running` before them)
RAN = (StepStatus.Completed, StepStatus.Failed)

PLAIN_ENV = "CANALIS_PLAIN"
#: lines of step output the live view keeps below the steps
TAIL_LINES = 12


def wants_plain(stream=None) -> bool:
    """Whether to print line by line: not a terminal, TERM=dumb, or CANALIS_PLAIN=1."""
    stream = stream or sys.stdout
    if os.environ.get(PLAIN_ENV, "").strip() not in ("", "0"):
        return True
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return not tty or os.environ.get("TERM") == "dumb"


def make_view(plain: bool | None = None):
    return PlainView() if (wants_plain() if plain is None else plain) else LiveView()


class _View:
    def __init__(self):
        self._prefixers: dict[tuple, LinePrefixer] = {}

    def expect(self, states) -> None:
        """The states read before a poll of the logs (`update` gets them after it)."""

    def _text(self, row, stream, data: bytes) -> str:
        key = (row.step_run_id, stream)
        if key not in self._prefixers:
            self._prefixers[key] = LinePrefixer(f"[{row.step_name}] ")
        return self._prefixers[key].feed(data)

    def _rest(self):
        """What is left of each stream at the end: an incomplete UTF-8 sequence, a missing newline."""
        for (_, stream), prefixer in self._prefixers.items():
            rest = prefixer.feed(b"", final=True)
            if rest or not prefixer.at_line_start:
                prefixer.at_line_start = True
                yield stream, rest + ("" if rest.endswith("\n") else "\n")


class PlainView(_View):
    """Line by line, for pipes and logs."""

    def __init__(self):
        super().__init__()
        self._said: dict[str, str] = {}
        self._coming: list = []

    def expect(self, states) -> None:
        """The states read before this poll of the logs: a step printing for the first time
        is said to run after the end of each step before it that these show ended."""
        self._coming = list(states)

    def update(self, states) -> None:
        for s in states:
            self._say(s)

    def _say(self, s) -> None:
        if s.status in RAN:  # started and ended between two looks: it ran all the same
            self._say_running(s.name)
        label = s.label()
        shown = label if not label.startswith("running ") else "running"  # not once per elapsed second
        if self._said.get(s.name) != shown and s.status != "Queued":
            self._said[s.name] = shown
            self._line(f"== {s.name}: {shown}")

    def _say_running(self, name: str, reused: bool = False) -> None:
        """Before a step's first lines: `== name: running` (or, for a reused step, the line
        saying where from), unless its state was said already; before that, the end of each
        earlier step that has ended."""
        if name in self._said:
            return
        for s in self._coming:
            if s.name == name:
                if reused:
                    self._say(s)
                break
            if s.ended and s.status != "Queued":
                self._say(s)
        if not reused:
            self._said[name] = "running"
            self._line(f"== {name}: running")

    def _line(self, text: str) -> None:
        """A state line, on a line of its own: a step's line still open is ended first (what
        the step prints next on it comes on a new line, with its prefix)."""
        for (_, stream), prefixer in self._prefixers.items():
            if not prefixer.at_line_start:
                prefixer.at_line_start = True
                out = sys.stderr if stream == "stderr" else sys.stdout
                out.write("\n")
                out.flush()
        print(text, flush=True)

    def output(self, row, stream, data: bytes) -> None:
        self._say_running(row.step_name, reused=row.status == StepStatus.Reused)  # then its lines
        text = self._text(row, stream, data)
        if text:
            out = sys.stderr if stream == "stderr" else sys.stdout
            out.write(text)
            out.flush()

    def stop(self) -> None:
        for stream, rest in self._rest():
            out = sys.stderr if stream == "stderr" else sys.stdout
            out.write(rest)
            out.flush()


class LiveView(_View):
    """Redrawn in place on a terminal (rich's Live), a few times a second."""

    def __init__(self):
        from rich.console import Console
        from rich.live import Live

        super().__init__()
        self.console = Console(highlight=False)
        self._states = []
        self._tail: deque = deque(maxlen=TAIL_LINES)
        self._partial: dict[tuple, str] = {}
        self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def _render(self):
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        from canalis.step_states import MARKS, STYLES, progress

        steps = Table.grid(padding=(0, 1))
        for s in self._states:
            steps.add_row(Text(MARKS.get(s.status, "?"), style=STYLES.get(s.status, "")), Text(s.name, style="bold"),
                          Text(s.label(), style=STYLES.get(s.status, "")))
        done, total = progress(self._states)
        parts = [steps, Text(f"{done} of {total} steps ended", style="dim")]
        lines = list(self._tail) + [(err, t) for (_, stream), (err, t) in self._partial.items() if t]
        if lines:
            parts.append(Text("─" * 20 + " output " + "─" * 20, style="dim"))
            parts.extend(Text.from_markup(f"[red]{escape(t)}[/]") if err else Text(t) for err, t in lines[-TAIL_LINES:])
        return Group(*parts)

    def update(self, states) -> None:
        self._states = list(states)
        self._live.update(self._render())

    def output(self, row, stream, data: bytes) -> None:
        text = self._text(row, stream, data)
        key, err = (row.step_run_id, stream), stream == "stderr"
        text = self._partial.pop(key, (err, ""))[1] + text
        *whole, last = text.split("\n")
        for line in whole:
            self._tail.append((err, line))
        self._partial[key] = (err, last)
        self._live.update(self._render())

    def stop(self) -> None:
        list(self._rest())  # (partial last lines are shown already)
        self._live.update(self._render())
        self._live.stop()
