"""Ids made without `uuid`, and the interpreter's identity read without `platform`: the same
text as those modules give, so run ids, step run ids and reuse keys keep their format."""
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


def test_identity_is_platform_s():
    assert freeze.python_version() == platform.python_version()
    assert freeze.python_implementation() == platform.python_implementation()
    assert freeze.identity()["python"] == platform.python_version()


versions = st.builds(lambda parts, tail: ".".join(map(str, parts)) + tail,
                     st.lists(st.integers(0, 40), min_size=2, max_size=3),
                     st.sampled_from(["", "a1", "b2", "rc1", "+", "a7+"]))


@given(versions, st.sampled_from([" (main, May  9 2026, 07:35:25) [GCC 12.2.0]",
                                  " (tags/v3.12.0:0fb18b0, Oct  2 2023, 13:03:39) [MSC v.1935 64 bit (AMD64)]"]))
def test_python_version_reads_sys_version_as_platform_does(version, rest):
    text = version + rest
    assert freeze.python_version(text) == platform._sys_version(text)[1]


def test_freeze_still_runs_as_a_program():
    import subprocess

    out = subprocess.run([sys.executable, freeze.__file__], capture_output=True, text=True, check=True).stdout
    _, found = freeze.parse(out)
    assert found == {"python": platform.python_version(), "implementation": platform.python_implementation(),
                     "platform": __import__("sysconfig").get_platform()}
