"""Click commands of this stage; the root CLI (pocketbert/cli.py) registers `COMMANDS` in this order."""
from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
