"""PyTorch reference outputs remembered within one process, keyed by the model's weight files and the exact inputs.

Why: `qa-models` gates and then scores every artifact of a model against that same model on the same windows (the
parity gate's questions, the apps' windows of every eval question), and the PyTorch forward is most of that time:
for the SQuAD teacher's gate, 16.6 s of 23 s (LiteRT int8 6.4 s; 64 questions x 3 lengths, 281 windows). Five
runnable artifacts per model recomputed it five times. The key holds each weight file's size and modification time
(a model re-trained into the same dir gets new files, so it is never served stale) and a hash of every input array;
outputs come back read-only, so a caller that would modify them fails loudly instead of corrupting later answers.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

# Outputs kept at most (bytes); the oldest are dropped first. The SQuAD teacher's gate and scoring outputs of one
# run take ~10 MB.
MAX_BYTES = 256 * 2**20
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".json")

_cache: OrderedDict[tuple, dict[str, np.ndarray]] = OrderedDict()
_bytes = 0


def model_key(path: str | Path) -> tuple | None:
    """(dir, (file, size, mtime_ns) of each weight/config file) of a local model dir; None: not a local dir (a hub
    id is not cached: nothing on disk says whether it changed)."""
    path = Path(path)
    if not path.is_dir():
        return None
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
    return (str(path.resolve()), tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))


def _inputs_key(feeds: Mapping[str, np.ndarray]) -> tuple:
    parts = []
    for name in sorted(feeds):
        arr = np.ascontiguousarray(feeds[name])
        parts.append((name, arr.shape, str(arr.dtype), hashlib.blake2b(arr.tobytes(), digest_size=16).hexdigest()))
    return tuple(parts)


def reference(kind: str, model: tuple | None, feeds: Mapping[str, np.ndarray],
              compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """`compute()`'s outputs for these feeds, computed once per (kind, model, feeds); `kind` names the caller's
    way of running the model (batch size, attention implementation), whose floats may differ in the last bits."""
    global _bytes
    if model is None:
        return compute()
    key = (kind, model, _inputs_key(feeds))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    out = compute()
    for arr in out.values():
        arr.flags.writeable = False
    _cache[key] = out
    _bytes += sum(a.nbytes for a in out.values())
    while _bytes > MAX_BYTES and len(_cache) > 1:
        _, dropped = _cache.popitem(last=False)
        _bytes -= sum(a.nbytes for a in dropped.values())
    return out


def clear() -> None:
    global _bytes
    _cache.clear()
    _bytes = 0
