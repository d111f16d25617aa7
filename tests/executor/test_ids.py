"""Ids made without `uuid`: the same text as `uuid4` gives, so run ids, step run ids and reuse
keys keep their format; and the user name read as `getpass` reads it."""
from __future__ import annotations

import platform
import re
import sys
import uuid

from hypothesis import given
from hypothesis import strategies as st

from canalis.executor import freeze
from canalis.executor.engine import new_run_id, new_step_run_id, user_name
from canalis.executor.ids import random_hex, uuid4_text


@given(st.binary(min_size=16, max_size=16))
def test_uuid4_text_is_uuid4s_text_of_the_same_bytes(raw):
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


def test_step_run_ids_are_random_version_4_uuids():
    ids = {new_step_run_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


@given(st.integers(min_value=1, max_value=40))
def test_random_hex_has_the_length_asked(chars):
    assert re.fullmatch(f"[0-9a-f]{{{chars}}}", random_hex(chars))


def test_run_ids_keep_their_format():
    assert re.fullmatch(r"exp_\d+_[0-9a-f]{8}", new_run_id("exp"))
    assert len({new_run_id("exp") for _ in range(100)}) == 100


def test_user_name_is_getpass_s(monkeypatch):
    import getpass

    assert user_name() == getpass.getuser()
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert user_name() == getpass.getuser()  # from the password database
    monkeypatch.setenv("USERNAME", "someone")
    assert user_name() == getpass.getuser() == "someone"


def test_freeze_still_runs_as_a_program():
    import subprocess

    out = subprocess.run([sys.executable, freeze.__file__], capture_output=True, text=True, check=True).stdout
    _, found = freeze.parse(out)
    assert found == {"python": platform.python_version(), "implementation": platform.python_implementation(),
                     "platform": __import__("sysconfig").get_platform()}
