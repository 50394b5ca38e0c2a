"""Load one model for the bench worker and return a zero-argument callable that runs one batch-1 inference.

Artifacts go through the core runtime layer (`pocketbert.core.runtime`), the same code parity and
`evaluate --model ARTIFACT_DIR` run, so the timed call is the call whose answers were checked. Only the
PyTorch baseline (a model dir, not an artifact) is loaded here. Runs inside the worker process only, so each
runtime's memory is measured alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pocketbert.core.runtime import FEATURE_KEYS, open_model


@dataclass
class Loaded:
    run: Callable[[], object]
    runtime: str
    version: str | None
    delegate: str | None


def load_artifact_file(kind: str, path: str, seq_len: int, threads: int, features: dict[str, list[int]]) -> Loaded:
    """A .tflite (signature `seq_<seq_len>`), .onnx or .mlpackage file bound to one window of `features`."""
    backend = open_model(kind, {seq_len: Path(path)}, threads)
    row = {k: np.asarray([v]) for k, v in features.items()}  # (1, seq)
    return Loaded(backend.bind(seq_len, row), backend.runtime, backend.version, backend.delegate)


def load_pytorch(path: str, task: str, threads: int, features) -> Loaded:
    """PyTorch eager, fp32, the baseline a converted model is compared with."""
    import inspect

    import torch
    import transformers

    from pocketbert.core.model_io import TASK_AUTO_CLASS

    torch.set_num_threads(threads)
    model = getattr(transformers, TASK_AUTO_CLASS.get(task, "AutoModel")).from_pretrained(path).eval()
    accepted = set(inspect.signature(model.forward).parameters)
    feeds = {k: torch.tensor([v], dtype=torch.long) for k, v in features.items() if k in accepted and k in FEATURE_KEYS}  # (1, seq)

    def run():
        with torch.inference_mode():
            return model(**feeds)

    return Loaded(run, "pytorch", torch.__version__, None)
