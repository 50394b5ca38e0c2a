"""Training checkpoints that resume bit for bit, written atomically and read without unpickling code.

A checkpoint holds the student, optimizer, scheduler (and fp16 scaler) states, the sampler position and every
RNG state (python, numpy, torch, cuda). Everything is stored as tensors / ints / strings / lists so that
`torch.load(weights_only=True)` can read it: a checkpoint from elsewhere cannot run code on load.
"""
from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import numpy as np
import torch

from pocketbert.core.atomic import atomic_file
from pocketbert.core.errors import PocketbertError

CHECKPOINT_DIR = "checkpoints"
PATTERN = re.compile(r"^step-(\d{8})\.pt$")
# What a resume reads from a checkpoint; one without them is treated as unreadable.
REQUIRED_KEYS = ("model", "optimizer", "scheduler", "sampler", "step", "rng")


def rng_state() -> dict:
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "python": {"version": py_version, "state": list(py_state), "gauss": py_gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if PATTERN.match(p.name))


def save_checkpoint(run_dir: Path, step: int, payload: dict, keep: int, rng: dict | None = None) -> Path:
    """Write step-NNNNNNNN.pt via tmp + rename, then drop all but the newest `keep` checkpoints."""
    path = checkpoint_path(run_dir, step)
    with atomic_file(path, "wb") as fh:
        torch.save({**payload, "step": step, "rng": rng if rng is not None else rng_state()}, fh)
    for old in list_checkpoints(run_dir)[:-max(keep, 1)]:
        old.unlink(missing_ok=True)
    return path


def load_latest(run_dir: Path, map_location="cpu", notice=print) -> dict:
    """The newest readable checkpoint: a truncated newest one (disk full, killed copy) falls back to the one
    before it (`keep_checkpoints` keeps two) with a notice; none readable is one line, not a traceback."""
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise PocketbertError(f"--resume: no checkpoint in {Path(run_dir) / CHECKPOINT_DIR}; start without --resume")
    for path in reversed(ckpts):
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
            if not missing:
                return state
            problem = f"it lacks {', '.join(missing)}"
        notice(f"notice: checkpoint {path} is unreadable ({problem}); trying the one before it")
    raise PocketbertError(f"--resume: no readable checkpoint in {Path(run_dir) / CHECKPOINT_DIR} (all {len(ckpts)} are "
                          "truncated or corrupt); start over with --force")
