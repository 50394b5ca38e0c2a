"""Converted artifacts shared by the tests/test_convert_*.py files (conversion is the slow part: do each once).

A plain module-level cache (not a fixture) so every test module reuses the same artifact per argument set.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

_CACHE: dict[tuple, Path] = {}

# Task -> head of the tiny model fixture.
HEAD = {"qa": "qa", "cls": "cls", "embed": "base", "mlm": "mlm"}
# QA at 32 tokens leaves ~20 context tokens, where a random model's span scores are near-ties; 64 is realistic.
QA_SEQ = 64
TEXT_SEQ = 32
# Parity examples in tests: the CLI default (1 miss in 64 is the most the 97% bar allows).
TEST_N = 64


def converted(tmp_path_factory, model_dir: Path, fmt: str, task: str, precision: str, seq_lens=None, **opts) -> Path:
    """convert_model(...) once per argument set; returns the artifact dir."""
    from pocketbert.convert.api import convert_model

    seq_lens = tuple(seq_lens or ((QA_SEQ,) if task == "qa" else (TEXT_SEQ,)))
    key = (str(model_dir), fmt, task, precision, seq_lens, tuple(sorted(opts.items())))
    if key not in _CACHE:
        out = tmp_path_factory.mktemp(f"art-{fmt}-{task}-{precision}") / "artifact"
        _CACHE[key] = convert_model(fmt, model_dir, task, list(seq_lens), precision, out, n=opts.pop("n", TEST_N), **opts)
    return _CACHE[key]
