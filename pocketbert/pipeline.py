"""`pocketbert demo`: the whole pipeline on the embedded default, offline, in minutes on a laptop CPU."""
from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
