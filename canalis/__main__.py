"""`python -m canalis` is the `canalis` command."""
from canalis.cli import main

main()
