"""`store/protocol.py` names the interface the rest of canalis uses: LocalStore satisfies it,
and nothing outside store/ (but the `canalis store` commands) calls a store method it lacks."""
from __future__ import annotations

import ast
import pathlib

from canalis.store import LocalStore
from canalis.store.protocol import Store

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCAL_ONLY = {"stored_size", "stats"}  # layout facts the `canalis store` commands show


def _store_calls(py: pathlib.Path) -> set[str]:
    """Methods called on names that hold a store: `store.x(...)`, `self.store.x(...)`, `st.x(...)`."""
    calls = set()
    for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if name == "store" or (name == "st" and "store_cmds" in py.name):
                calls.add(node.func.attr)
    return calls


def test_local_store_satisfies_the_protocol(tmp_path):
    assert isinstance(LocalStore(tmp_path / "objects"), Store)


def test_executor_and_face_call_only_what_the_protocol_names():
    protocol = {n for n in Store.__dict__ if not n.startswith("_")}
    for folder in ("executor", "canalis"):
        for py in (ROOT / folder).rglob("*.py"):
            allowed = protocol | (LOCAL_ONLY if py.name == "store_cmds.py" else set())
            extra = _store_calls(py) - allowed - {"root"}
            # Datastore objects are also called "store" in the face; their methods are not the store's
            extra -= {"command", "register_local", "rstrip", "upload", "upload_files", "path", "download", "as_mount",
                      "as_download"}
            assert not extra, f"{py.relative_to(ROOT)} calls store method(s) {sorted(extra)} not in store/protocol.py"
