"""One exception type for every user-facing failure.

Click prints a ClickException as a single `Error: ...` line and exits 1, which is the contract for bad
input: one line naming the problem and the fix, no traceback.
"""
from __future__ import annotations

import click


class PocketbertError(click.ClickException):
    """A problem with what the user handed us; the message says what and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # always one line
