"""docs/cli.md is generated from the commands and must not drift from them."""
from pathlib import Path

from canalis.cli.docgen import render


def test_cli_reference_matches_the_commands():
    doc = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    assert doc.read_text(encoding="utf-8") == render(), "regenerate with: python -m canalis.cli.docgen > docs/cli.md"
