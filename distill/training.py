"""Training helpers shared by `distill` (trainer.py) and `finetune` (finetune.py): one copy of each rule.

Two copies of the AdamW no-decay filter had drifted (finetune decayed DistilBERT's `sa_layer_norm` /
`output_layer_norm` weights, which distillation exempts), so seeding, the precision choice, the parameter groups
and the learning-rate schedule live here and both loops import them. The device is `core.model_io.pick_device`
(evaluation needs it too).
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from pocketbert.core.errors import PocketbertError
from pocketbert.distill.config import FINETUNE_PRECISIONS

# Parameter-name markers of normalization weights: BERT spells them `LayerNorm`, DistilBERT `sa_layer_norm`,
# `output_layer_norm` and `vocab_layer_norm`. Neither biases nor these get weight decay (as BERT and DistilBERT did).
NO_DECAY_MARKERS = ("LayerNorm", "layer_norm")


def seed_everything(seed: int) -> None:
    """Python, NumPy and torch RNGs from one seed (NumPy takes 32 bits)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def choose_precision(requested: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a grad scaler). auto: bf16 where the GPU has it, else fp16 on GPU, fp32 on CPU."""
    if requested == "fp32" or (requested == "auto" and device.type != "cuda"):
        return None, False
    if requested == "fp16" and device.type != "cuda":
        raise PocketbertError("precision fp16 needs a CUDA device; use bf16 or fp32 on CPU")
    if requested == "bf16" or (requested == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16, False
    return torch.float16, True


def native_bf16(device: torch.device) -> bool:
    """Whether `device` multiplies bf16 in hardware: CUDA GPUs with bf16, CPUs with AVX512-BF16 or AMX.

    Why it matters: bf16 autocast on such a CPU (Zen 4) makes a MiniLM training step take x0.75-0.78 the time
    (oneDNN's bf16 GEMMs; benchmarks/bench_train_step.py); without those instructions bf16 is emulated and expected
    to be slower than fp32 (not measured here), so "auto" keeps fp32 there.
    """
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    probes = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(probe() for probe in probes if probe is not None)


def resolve_precision(requested: str, device: torch.device) -> str:
    """fine-tuning's precision as it will run: "fp32" or "bf16" ("auto": bf16 where native_bf16, else fp32)."""
    if requested not in FINETUNE_PRECISIONS:
        raise PocketbertError(f"precision {requested!r} is not one of {', '.join(FINETUNE_PRECISIONS)}")
    if requested == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return requested


def set_attention_dropout(model: nn.Module, p: float) -> int:
    """Set the dropout on the attention probabilities of every attention module of `model` to `p`; returns how many.

    Only the modules change (the config, and so the saved model, keep their own value). Why: with p > 0 PyTorch's
    scaled_dot_product_attention on CPU cannot use its fused kernel and materializes the (batch, heads, seq, seq)
    scores plus a Bernoulli mask of that size; with p = 0 a MiniLM training step in fp32 takes x0.67 the time
    (benchmarks/bench_train_step.py).
    Hugging Face's BERT / DistilBERT attentions read `self.dropout.p` at each forward.
    """
    if not 0.0 <= p < 1.0:
        raise PocketbertError(f"attention dropout {p} is not in [0, 1)")
    n = 0
    for module in model.modules():
        if "Attention" in type(module).__name__ and isinstance(getattr(module, "dropout", None), nn.Dropout):
            module.dropout.p = p
            n += 1
    if n == 0:
        raise PocketbertError(f"{type(model).__name__} has no attention module with a `dropout` layer to set; run "
                              "without an attention dropout override (the model's own is used)")
    return n


def decays(name: str) -> bool:
    """Whether AdamW's weight decay applies to the parameter called `name`."""
    return not (name.endswith("bias") or any(m in name for m in NO_DECAY_MARKERS))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: `weight_decay` for weights, 0 for biases and normalization weights; frozen parameters left out."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (decay if decays(name) else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def linear_warmup_decay(optimizer, warmup_steps: int, total_steps: int, first_step_at_zero: bool = False):
    """Linear warmup to the peak lr over `warmup_steps`, then linear decay to 0 at `total_steps`.

    Distillation's first step already runs at peak/warmup_steps; `first_step_at_zero` starts at lr 0 instead, as
    Hugging Face's get_linear_schedule_with_warmup (which fine-tuning has always used) does.
    """
    offset = 0 if first_step_at_zero else 1

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + offset) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
