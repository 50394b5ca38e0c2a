"""Shared fixtures: tiny saved models (session-scoped: built once) and the optional ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiny import save_tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Factory: tiny_models(arch, head, layers=4) -> saved model dir, cached per argument set."""
    cache: dict[tuple, Path] = {}

    def make(arch: str = "bert", head: str = "mlm", layers: int = 4, **overrides) -> Path:
        key = (arch, head, layers, tuple(sorted(overrides.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"tiny-{arch}-{head}-{layers}")
            cache[key] = save_tiny(out, arch=arch, head=head, layers=layers, **overrides)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $POCKETBERT_SHARED_DATA); tests that need it skip cleanly when it is absent."""
    path = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path
