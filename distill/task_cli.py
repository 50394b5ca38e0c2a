"""Task commands of stage 1 (finetune, evaluate, golden)."""
from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
