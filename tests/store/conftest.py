from __future__ import annotations

import pytest

from canalis.store import LocalStore


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")
