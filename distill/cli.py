"""Click commands of stage 1; the root CLI registers `COMMANDS` in this order.

Distillation commands (prepare, init-student, distill) live here; task commands (finetune, evaluate,
golden) live in task_cli.py so the two halves of the stage can change independently.
"""
from __future__ import annotations

import click

from pocketbert.distill.task_cli import COMMANDS as TASK_COMMANDS

DISTILL_COMMANDS: list[click.Command] = []

COMMANDS: list[click.Command] = [*DISTILL_COMMANDS, *TASK_COMMANDS]
