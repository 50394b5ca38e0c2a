"""PyTorch task models as the stages feed them: which head a task loads, which inputs a forward takes, the device.

Fine-tuning, evaluation, the bench's PyTorch baseline and evaluation of artifacts against their source all use
these, so "the source model's answer" means the same thing everywhere. torch and transformers are imported
inside the functions: importing this module stays cheap for the CLI.
"""
from __future__ import annotations

import inspect
from typing import Mapping

import numpy as np

from pocketbert.core.models import resolve_model
from pocketbert.core.reference_cache import model_key, reference
from pocketbert.core.registry import TASKS, task_auto_classes

# Architecture-name suffixes that identify a task head in config.architectures.
QA_HEAD = TASKS["qa"].head_suffix
CLS_HEAD = TASKS["cls"].head_suffix
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Task -> transformers Auto class of its head (CONTRACTS.md §2).
TASK_AUTO_CLASS = task_auto_classes()


def pick_device(name: str):
    """`auto` = CUDA when present, else CPU; any other name is passed to torch.device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def forward_inputs(model, batch: dict) -> dict:
    """The subset of model inputs the model's forward accepts (DistilBERT takes no token_type_ids)."""
    accepted = inspect.signature(model.forward).parameters
    return {k: batch[k] for k in INPUT_NAMES if k in batch and k in accepted}


def cls_tensors(tokenizer, texts: list[tuple[str, ...]], max_len: int) -> dict:
    """One or two texts per row -> (n, max_len) tensors padded to max_len."""
    first = [t[0] for t in texts]
    second = [t[1] for t in texts] if len(texts[0]) > 1 else None
    enc = tokenizer(first, second, truncation=True, max_length=max_len, padding="max_length", return_tensors="pt")
    return {k: enc[k] for k in INPUT_NAMES if k in enc}


class TorchTaskModel:
    """A PyTorch model dir behind the artifact runners' interface: (n, S) numpy feeds -> contract outputs.

    Outputs carry the artifact names (start_logits/end_logits, logits, embeddings = masked mean, L2-normalized),
    so an artifact and its source can be compared output by output on the same windows.
    """

    runtime = "pytorch"

    def __init__(self, model: str, task: str, device: str = "cpu", batch_size: int = 32) -> None:
        import transformers

        from pocketbert.core.models import load_model

        self.task = task
        self.batch_size = batch_size
        self.device = pick_device(device)
        cls = getattr(transformers, TASK_AUTO_CLASS[task])
        # The reference cache's key, taken before the weights are read (None: a hub id, not cached).
        self.files = model_key(resolve_model(model))
        self.model = load_model(cls, model).to(self.device).eval()

    def run(self, seq_len: int, feeds: Mapping[str, np.ndarray], names: list[str] | None = None) -> dict[str, np.ndarray]:
        """Outputs for (n, S) feeds; computed once per model files and feeds in this process (core.reference_cache:
        the evaluations of several artifacts of one model run it on the same windows)."""
        out = reference(f"task-model:{self.task}:{self.batch_size}:{self.device}", self.files, feeds,
                        lambda: self._run(feeds))
        return {k: v for k, v in out.items() if names is None or k in names}

    def _run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        from pocketbert.core.pooling import mean_pool

        n = next(iter(feeds.values())).shape[0]
        parts: dict[str, list[np.ndarray]] = {}
        with torch.inference_mode():
            for lo in range(0, n, self.batch_size):
                batch = {k: torch.as_tensor(np.asarray(v[lo : lo + self.batch_size]), dtype=torch.long).to(self.device)
                         for k, v in feeds.items()}  # (bs, S)
                out = self.model(**forward_inputs(self.model, batch))
                if self.task == "qa":
                    got = {"start_logits": out.start_logits, "end_logits": out.end_logits}  # (bs, S) each
                elif self.task == "embed":
                    got = {"embeddings": mean_pool(out.last_hidden_state, batch["attention_mask"])}  # (bs, hidden)
                else:
                    got = {"logits": out.logits}  # (bs, labels) or (bs, S, vocab)
                for k, v in got.items():
                    parts.setdefault(k, []).append(v.float().cpu().numpy())
        return {k: np.concatenate(v) for k, v in parts.items()}
