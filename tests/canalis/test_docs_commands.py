"""Every `canalis` command the README and docs/ show runs as written on the workspace
`canalis quickstart` makes, through a shell, the way a reader would type it.

Commands are the lines of fenced blocks that start with `canalis ` (or `$ canalis `), plus
the `cd` lines among them; blocks fenced as ```python (code) or ```text (a transcript of
another project's run, shown for its output) are not shell; a trailing `# comment` is the reader's, not the shell's. Each page
runs in order, on a copy of the quickstart workspace, from the quickstart's project folder
(the README's block says `cd canalis-demo/project` itself). docs/cli.md is the generated
reference (tests/canalis/test_cli_docs.py), and docs/store-format.md's worked example is
run and checked byte for byte by tests/store/test_format_doc.py.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")
                               if p.name not in ("cli.md", "store-format.md"))]
#: what a page's commands need beyond the quickstart, as the page itself says
PRELUDE = {"docs/audit.md": ["canalis submit pipeline.py -e quickstart --param n_estimators=20 -q"]}


def commands(page: str) -> list[str]:
    out, fenced, shell = [], False, False
    for line in (ROOT / page).read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text.startswith("```"):
            fenced = not fenced
            shell = fenced and text[3:].strip() not in ("python", "text")
            continue
        if not shell:
            continue
        text = text[2:] if text.startswith("$ ") else text
        if text.startswith(("canalis ", "cd ")):
            out.append(re.sub(r"\s+#\s.*$", "", text).strip())
    return out


def test_the_pages_show_commands_at_all():
    assert len(commands("README.md")) >= 9 and len(commands("docs/audit.md")) >= 6


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    base = tmp_path_factory.mktemp("docs") / "canalis-demo"
    out = subprocess.run([sys.executable, "-m", "canalis", "quickstart", str(base), "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "canalis").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m canalis "$@"\n')
    (bin_dir / "canalis").chmod(0o755)
    return base, bin_dir


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if commands(p)])
def test_every_command_of_the_page_runs_as_written(quickstart, tmp_path, page):
    base, bin_dir = quickstart
    demo = tmp_path / "canalis-demo"
    shutil.copytree(base, demo, symlinks=True)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CANALIS_PLAIN": "1"}
    env.pop("CANALIS_WORKSPACE", None)
    cwd = demo / "project"
    for command in PRELUDE.get(page, []) + commands(page):
        if command.startswith("cd "):
            target = command[3:].strip()
            cwd = (tmp_path / target) if target.startswith("canalis-demo") else (cwd / target)
            assert cwd.is_dir(), f"{page}: {command}: no folder {cwd}"
            continue
        out = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"{page}: `{command}` exited {out.returncode}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        assert "Traceback" not in out.stderr, f"{page}: `{command}`:\n{out.stderr}"
        if page == "docs/audit.md" and command == "canalis why latest train":
            assert "parameter n_estimators: 100 -> 20" in out.stdout  # what the page shows it saying


@pytest.mark.slow
def test_python_pipeline_py_in_the_quickstart_project_submits(quickstart, tmp_path):
    base, _ = quickstart
    demo = tmp_path / "canalis-demo"
    shutil.copytree(base, demo, symlinks=True)
    before = subprocess.run([sys.executable, "-m", "canalis", "runs", "--json", "--all"], cwd=demo, capture_output=True,
                            text=True, timeout=120)
    out = subprocess.run([sys.executable, "pipeline.py"], cwd=demo / "project", capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    after = subprocess.run([sys.executable, "-m", "canalis", "runs", "--json", "--all"], cwd=demo, capture_output=True,
                           text=True, timeout=120)
    import json

    new = [r for r in json.loads(after.stdout) if r["run_id"] not in {x["run_id"] for x in json.loads(before.stdout)}]
    assert len(new) == 1 and new[0]["experiment"] == "quickstart" and new[0]["status"] == "Completed"
    assert f"Run {new[0]['run_id']}: Completed" in out.stdout
