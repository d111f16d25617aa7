"""Store format versions in a workspace's config: format 1 (loose blobs only) is read and
raised to 2 in place; an unknown format is refused with a message naming it."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from canalis import layout as _layout
from canalis.cli import main
from canalis.errors import WorkspaceError
from canalis.store import FORMAT_VERSION


def test_a_format_1_workspace_is_upgraded_and_keeps_its_blobs(tmp_path):
    lay = _layout.init(tmp_path / "ws")
    store = lay.open_store()
    digest = store.put_bytes(b"written by a format 1 store: loose blobs only")
    cfg = lay.read_config()
    cfg["store"]["format"] = 1
    lay.write_config(cfg)
    again = lay.open_store()
    assert json.loads(lay.config_path.read_text())["store"]["format"] == FORMAT_VERSION == 3
    assert again.get_bytes(digest, verify=True) == b"written by a format 1 store: loose blobs only"


def test_an_unknown_store_format_is_refused(tmp_path):
    lay = _layout.init(tmp_path / "ws")
    cfg = lay.read_config()
    cfg["store"]["format"] = 99
    lay.write_config(cfg)
    with pytest.raises(WorkspaceError, match="store format 99"):
        lay.open_store()
    res = CliRunner().invoke(main, ["store", "stats", "--workspace", str(tmp_path / "ws")])
    assert res.exit_code == 1 and "store format 99" in res.output
    assert json.loads(lay.config_path.read_text())["store"]["format"] == 99  # nothing rewritten
