"""Distillation settings: one dataclass, filled from defaults < YAML file < command-line overrides.

Defaults are the released DistilBERT recipe. Unknown keys are errors (a typo must not silently fall back to a
default), and the resolved config is written into the run dir, never mutated afterwards: derived values
(accumulation steps, total steps) live in the trainer, not here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.distill.loss_terms import ALPHA_PREFIX, LOSS_TERMS, alpha_fields

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# `finetune`'s (training.resolve_precision): fp32, or bf16 autocast (fp32 weights, optimizer and losses); "auto" picks
# bf16 only where the device multiplies bf16 in hardware (training.native_bf16), and the run records which ran.
FINETUNE_PRECISIONS = ("auto", "fp32", "bf16")
# Held-out metrics that can pick OUT/best (names of distill/validation.py's METRICS, plus auto).
BEST_METRICS = ("auto", "token_cos", "pooled_cos", "mlm_top1", "mlm_kl", "sts")


@dataclass
class DistillConfig:
    # Loss weights (DistilBERT: ce 5.0, mlm 2.0, cos 1.0; mse on logits optional) and temperature.
    temperature: float = 2.0
    alpha_ce: float = 5.0
    alpha_mlm: float = 2.0
    alpha_cos: float = 1.0
    alpha_mse: float = 0.0          # MSE between student and teacher MLM logits (needs a teacher MLM head)
    # Beyond the paper (off by default).
    alpha_hidden_mse: float = 0.0   # MSE on hidden-state pairs below
    hidden_mse_pairs: list = field(default_factory=list)  # [[teacher_layer, student_layer], ...]; 0 = embeddings
    alpha_attn: float = 0.0         # MiniLM self-attention distribution transfer (last layers)
    alpha_value: float = 0.0        # MiniLM value-relation transfer (last layers)
    alpha_pooled_cos: float = 0.0   # 1 - cos of mean-pooled sentence vectors (sentence-embedding teachers)
    alpha_pooled_relation: float = 0.0  # MSE of in-batch sentence cosine matrices (sentence-embedding teachers)
    freeze_embeddings: bool = False  # keep word/position embeddings fixed (small, narrow corpora: avoids drift of
                                     # only the tokens the corpus happens to contain)
    student_dropout: float | None = None  # override the student's dropout during training (null: its config's)
    restrict_ce_to_mask: bool = False  # soft targets on masked positions only (default: every real token)
    # Masking.
    mlm_mask_prop: float = 0.15
    word_mask: float = 0.8
    word_keep: float = 0.1
    word_rand: float = 0.1
    mlm_smoothing: float = 0.7
    # Batching and optimization.
    batch_size: int = 5             # sequences per device per micro-batch
    effective_batch: int = 4000     # sequences per optimizer step (all devices, accumulation included)
    group_by_length: bool = True
    n_epochs: int = 3
    max_steps: int | None = None    # optimizer steps; overrides n_epochs when set
    max_minutes: float | None = None  # wall-clock budget for training (stops at the next optimizer step)
    learning_rate: float = 5e-4
    adam_betas: list = field(default_factory=lambda: [0.9, 0.98])
    adam_epsilon: float = 1e-6
    weight_decay: float = 0.0
    warmup_prop: float = 0.05
    max_grad_norm: float = 5.0
    precision: str = "auto"         # auto: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU
    seed: int = 56
    # Logging and checkpoints.
    log_every: int = 10             # optimizer steps between log lines
    checkpoint_every: int = 500     # optimizer steps between checkpoints (and one at the end)
    keep_checkpoints: int = 2
    tensorboard: bool = True
    progress_every_s: float = 30.0  # wall seconds between progress lines inside an optimizer step (distill/progress.py)
    # Held-out validation (distill/validation.py): a fixed share of the prepared sequences never trained on
    # (ignored when --eval-data names another prepared dir), scored every eval_every optimizer steps (null: at
    # each checkpoint); the best step by best_metric (auto: mlm_top1 with soft targets, else pooled_cos) is kept
    # as OUT/best.
    holdout: float = 0.01
    eval_every: int | None = None
    best_metric: str = "auto"

    def validate(self) -> "DistillConfig":
        if self.temperature <= 0:
            raise PocketbertError(f"temperature must be > 0, got {self.temperature}")
        for name in alpha_fields():  # one per row of distill/loss_terms.LOSS_TERMS
            if getattr(self, name) < 0:
                raise PocketbertError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.mlm_mask_prop < 1:
            raise PocketbertError(f"mlm_mask_prop must be in [0, 1), got {self.mlm_mask_prop}")
        split = (self.word_mask, self.word_keep, self.word_rand)
        if min(split) < 0 or abs(sum(split) - 1.0) > 1e-6:
            raise PocketbertError(f"word_mask + word_keep + word_rand must sum to 1, got {split}")
        if self.batch_size < 1 or self.effective_batch < 1:
            raise PocketbertError("batch_size and effective_batch must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise PocketbertError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.precision not in PRECISIONS:
            raise PocketbertError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0 <= self.holdout < 0.5:
            raise PocketbertError(f"holdout must be a share of the data in [0, 0.5), got {self.holdout}")
        if self.progress_every_s < 0:
            raise PocketbertError(f"progress_every_s must be >= 0 seconds, got {self.progress_every_s}")
        if self.eval_every is not None and self.eval_every < 1:
            raise PocketbertError(f"eval_every must be >= 1 optimizer steps (or null), got {self.eval_every}")
        if self.best_metric not in BEST_METRICS:
            raise PocketbertError(f"best_metric must be one of {', '.join(BEST_METRICS)}, got {self.best_metric!r}")
        if len(self.adam_betas) != 2:
            raise PocketbertError(f"adam_betas must be two numbers, got {self.adam_betas}")
        for pair in self.hidden_mse_pairs:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, int) for x in pair)):
                raise PocketbertError(f"hidden_mse_pairs entries must be [teacher_layer, student_layer], got {pair!r}")
        if self.alpha_hidden_mse > 0 and not self.hidden_mse_pairs:
            raise PocketbertError("alpha_hidden_mse > 0 needs hidden_mse_pairs, e.g. [[2, 1], [4, 2], [6, 3]]")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _coerce(name: str, value):
    """Type-check one override against the dataclass field (YAML gives ints for floats, strings for None)."""
    fields = {f.name: f for f in dataclasses.fields(DistillConfig)}
    if name.startswith(ALPHA_PREFIX) and name not in fields:
        raise PocketbertError(f"unknown distillation setting {name!r}: there is no loss term "
                              f"{name[len(ALPHA_PREFIX):]!r}; loss terms: {', '.join(LOSS_TERMS)} (weights alpha_<term>)")
    if name not in fields:
        known = ", ".join(sorted(fields))
        raise PocketbertError(f"unknown distillation setting {name!r}; known settings: {known}")
    default = getattr(DistillConfig(), name)
    if value is None:
        return None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise PocketbertError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, float) or name in ("max_minutes", "student_dropout"):
        if name == "holdout" and isinstance(value, str):
            value = _share(name, value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PocketbertError(f"{name} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, int) or name in ("max_steps", "eval_every"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise PocketbertError(f"{name} must be an integer, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            raise PocketbertError(f"{name} must be a list, got {value!r}")
        return value
    return value


def _share(name: str, text: str) -> float:
    """'1%' or '0.01' -> 0.01 (a share given on the command line or in YAML as a string)."""
    try:
        return float(text[:-1]) / 100.0 if text.strip().endswith("%") else float(text)
    except ValueError:
        raise PocketbertError(f"{name} {text!r} is not a share like 1% or 0.01") from None


def load_config(path: Path | None = None, overrides: dict | None = None) -> DistillConfig:
    """Defaults, then the YAML file's keys, then `overrides` (flags); validated."""
    import yaml

    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise PocketbertError(f"config file {path} does not exist; see configs/distilbert.yaml for the format")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise PocketbertError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(loaded, dict):
            raise PocketbertError(f"config file {path} must be a mapping of setting: value")
        values.update(loaded)
    values.update({k: v for k, v in (overrides or {}).items()})
    kwargs = {k: _coerce(k, v) for k, v in values.items()}
    return DistillConfig(**kwargs).validate()


def parse_set_options(items: tuple[str, ...]) -> dict:
    """--set key=value pairs; values are parsed as YAML (numbers, true/false, lists like [[2,1],[4,2]])."""
    import yaml

    out = {}
    for item in items:
        if "=" not in item:
            raise PocketbertError(f"--set {item!r} must look like key=value, e.g. --set alpha_cos=2.0")
        key, raw = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(raw)
    return out


def _check_loss_fields() -> None:
    """Every loss-term row has its alpha field and every alpha field has a row (a mismatch fails at import)."""
    declared = {f.name for f in dataclasses.fields(DistillConfig) if f.name.startswith(ALPHA_PREFIX)}
    rows = set(alpha_fields())
    if declared != rows:
        raise TypeError(f"DistillConfig alpha fields {sorted(declared ^ rows)} have no row in "
                        "distill/loss_terms.LOSS_TERMS (or a row has no field)")


_check_loss_fields()
