"""docs/guarantees.md names the tests that check each promise: every one it names exists."""
from __future__ import annotations

import fnmatch
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "guarantees.md"


def test_every_test_the_guarantees_name_exists():
    text = DOC.read_text(encoding="utf-8")
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::([\w*]+))?", text)
    assert len(refs) > 20
    for path, name in refs:
        file = ROOT / path
        assert file.is_file(), f"docs/guarantees.md names {path}, which does not exist"
        if name:
            defined = re.findall(r"^def (test_\w+)", file.read_text(encoding="utf-8"), re.M)
            assert fnmatch.filter(defined, name), f"docs/guarantees.md names {path}::{name}, which is not defined there"
