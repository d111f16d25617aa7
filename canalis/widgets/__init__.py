"""`azureml.widgets` names: `RunDetails(run).show()`, a live view of a run's steps.

In a terminal it prints the run's steps as a table, and a line each time a step's status
changes, until the run ends (it returns then). In a Jupyter kernel it shows a small HTML
table that a background thread refreshes until the run ends; the cell returns at once, as
SDK v1's widget did. Both read the ledger (canalis/reports.py, what `canalis show` prints).
"""
from __future__ import annotations

import html
import sys
import threading
import time

from canalis.ledger.status import RunStatus

POLL_S = 0.5


class RunDetails:
    def __init__(self, run_instance):
        self.run = run_instance
        self._refresher = None  # the thread refreshing the Jupyter table, while the run goes on

    # -- what is shown ---------------------------------------------------------------------
    def _summary(self) -> dict:
        from canalis import reports

        parent = getattr(self.run, "parent", None)
        run = self.run if parent is None or not hasattr(self.run, "_step_run_id") else parent
        return reports.run_summary(run.experiment.workspace.ledger, run.id)

    @staticmethod
    def _rows(summary) -> list[tuple[str, str, str]]:
        out = []
        for s in summary["steps"]:
            how = f"reused from {s['reused_run_id']}" if s["reused"] else ""
            duration = "" if s["duration_s"] is None else f"{s['duration_s']:.1f} s"
            out.append((s["step"], str(s["status"]), " ".join(x for x in (duration, how) if x)))
        return out

    def get_widget_data(self) -> dict:
        """The run and its steps as shown (also what SDK v1 code reads from the widget)."""
        s = self._summary()
        return {"run_id": s["run_id"], "status": str(s["status"]),
                "steps": [{"name": n, "status": st, "detail": d} for n, st, d in self._rows(s)]}

    def _html(self, summary) -> str:
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(st)}</td><td>{html.escape(d)}</td></tr>"
                       for n, st, d in self._rows(summary))
        return (f"<div><b>run {html.escape(summary['run_id'])}</b>: {html.escape(str(summary['status']))}"
                f"<table><tr><th>step</th><th>status</th><th></th></tr>{rows}</table></div>")

    # -- showing it --------------------------------------------------------------------------
    def show(self):
        if _in_jupyter():
            return self._show_jupyter()
        return self._show_terminal(sys.stdout)

    def _show_terminal(self, out) -> str:
        seen: dict[str, str] = {}
        summary = self._summary()
        print(f"run {summary['run_id']} ({summary['experiment']})", file=out, flush=True)
        while True:
            for name, status, detail in self._rows(summary):
                if seen.get(name) != status:
                    seen[name] = status
                    print(f"  {name:<24} {status:<12} {detail}".rstrip(), file=out, flush=True)
            if summary["status"] in RunStatus.terminal() or summary["status"] == RunStatus.Orphaned:
                break
            time.sleep(POLL_S)
            summary = self._summary()
        print(f"run {summary['run_id']}: {summary['status']}", file=out, flush=True)
        return str(summary["status"])

    def _show_jupyter(self):
        from IPython.display import HTML, display

        handle = display(HTML(self._html(self._summary())), display_id=True)

        def refresh():
            while True:
                summary = self._summary()
                handle.update(HTML(self._html(summary)))
                if summary["status"] in RunStatus.terminal() or summary["status"] == RunStatus.Orphaned:
                    return
                time.sleep(POLL_S)

        self._refresher = threading.Thread(target=refresh, name="canalis-rundetails", daemon=True)
        self._refresher.start()


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


__all__ = ["RunDetails"]
