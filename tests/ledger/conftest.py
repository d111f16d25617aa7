from __future__ import annotations

import pytest

from canalis.ledger import Ledger


@pytest.fixture
def led(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    yield ledger
    ledger.close()

