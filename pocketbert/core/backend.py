"""What every runtime backend shares: the `Backend` interface and how one window's features become its feeds.

A format's runtime module (named by its `registry.FormatRecord.backend`) subclasses `Backend`; core/runtime.py
picks the class from the registry and never names a format itself. Torch-free and backend-free, so a runtime
module can import this without importing any other runtime.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from pocketbert.core.errors import PocketbertError

# Feature names of CONTRACTS.md §2, in the order the converters take them.
FEATURE_KEYS = ("input_ids", "attention_mask", "token_type_ids")
SIGNATURE_PREFIX = "seq_"

Outputs = dict[str, np.ndarray]


def signature_name(seq_len: int) -> str:
    """The LiteRT signature (and the apps' name) of one static sequence length."""
    return f"{SIGNATURE_PREFIX}{seq_len}"


def first_line(exc: Exception) -> str:
    """The first line of an exception's message (runtimes raise multi-line native errors)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def match_inputs(names: list[str]) -> dict[str, str]:
    """Runtime input name -> feature key: by substring (runtimes may prefix names), else by position."""
    if len(names) > len(FEATURE_KEYS):
        raise PocketbertError(f"the model expects {len(names)} inputs ({', '.join(names)}); pocketbert feeds at most 3")
    mapping = {name: next((k for k in FEATURE_KEYS if k in name), None) for name in names}
    if any(v is None for v in mapping.values()):
        mapping = dict(zip(names, FEATURE_KEYS))
    return mapping


def prepare_feeds(names: list[str], dtypes: Mapping[str, type], row: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Feeds of one window under the runtime's names and dtypes, each (1, S)."""
    mapping = match_inputs(names)
    missing = [mapping[n] for n in names if mapping[n] not in row]
    if missing:
        raise PocketbertError(f"the model needs {', '.join(missing)} but the features have only {', '.join(row)}")
    return {n: np.asarray(row[mapping[n]], dtype=dtypes[n]).reshape(1, -1) for n in names}  # (1, S)


class Backend:
    """One loaded model file (or set of files): bind one window, or run many.

    A subclass implements `open` (construct from the artifact's files) and `bind`; `run` has a default.
    `can_run_here` is False where the runtime does not exist (Core ML off macOS): parity then checks the spec.
    `unavailable_here(manifest)` says the same of one artifact (an ExecuTorch .pte lowered to Core ML runs only on
    macOS, one lowered to XNNPACK everywhere); parity and the host bench ask it. `preload` imports the runtime in the
    bench worker before its memory baseline, for runtimes whose import is not the model's memory.
    """

    runtime = ""
    delegate: str | None = None
    version: str | None = None
    unavailable = "its runtime does not run on this machine"  # said when can_run_here() is False

    @classmethod
    def open(cls, files: Mapping[int, "object"], threads: int | None = None, compute_units: str = "all") -> "Backend":
        """A backend for {seq_len: path} (a one-file format gets the same path for every length)."""
        raise NotImplementedError

    @classmethod
    def can_run_here(cls) -> bool:
        return True

    @classmethod
    def unavailable_here(cls, manifest: dict | None = None) -> str | None:
        """Why this artifact cannot run on this machine, or None when it can (default: `can_run_here`)."""
        return None if cls.can_run_here() else cls.unavailable

    @classmethod
    def preload(cls) -> None:
        """Import what the runtime needs before the bench worker measures its baseline RSS (default: nothing)."""

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        raise NotImplementedError

    def run(self, seq_len: int, feeds: Mapping[str, np.ndarray], names: list[str] | None = None) -> Outputs:
        """(n, S) feeds -> {name: (n, ...) float32}, one window at a time."""
        n = next(iter(feeds.values())).shape[0]
        rows = [self.bind(seq_len, {k: v[i : i + 1] for k, v in feeds.items()})() for i in range(n)]
        names = names or list(rows[0])
        return {k: np.concatenate([np.asarray(r[k], dtype=np.float32) for r in rows]) for k in names}
