"""Task wrappers that give every converter the same graph: int32 inputs, named float32 outputs, a precomputed mask.

Why a wrapper rather than the Hugging Face module itself:
- apps feed int32 (LiteRT and Core ML have no useful int64 path), so the cast to int64 lives in the graph;
- transformers 5 builds its attention mask with ops (`new_ones`, data-dependent checks) that coremltools 9.0
  cannot convert; a ready (bs, 1, 1, seq) additive float mask is returned as-is by its mask builder;
- outputs get stable names (start_logits, end_logits, logits, embeddings) instead of ModelOutput fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from pocketbert.convert.specs import (
    SUPPORTED_MODEL_TYPES,
    TASK_HEAD_SUFFIX,
    TASKS,
    input_names,
    output_names,
)
from pocketbert.core.errors import PocketbertError
from pocketbert.core.models import load_config, resolve_model
from pocketbert.core.pooling import mean_pool
from pocketbert.core.reference_cache import model_key

# Added to attention scores of padding positions. exp(-1e4) is exactly 0 in fp32 and the value stays finite
# in fp16 (torch.finfo(float32).min would become -inf there and NaN after softmax of a fully masked row).
MASK_NEGATIVE = -1.0e4

AUTO_CLASS = {
    "qa": "AutoModelForQuestionAnswering",
    "cls": "AutoModelForSequenceClassification",
    "embed": "AutoModel",
    "mlm": "AutoModelForMaskedLM",
}


@dataclass
class SourceModel:
    """The PyTorch source of a conversion: the HF model, its config and where it came from."""

    name: str  # what the user passed (hub id, path or alias)
    path: str  # resolved path or hub id
    task: str
    model: torch.nn.Module
    config: object
    # The reference cache's key (core.reference_cache.model_key), taken when the weights were read, so outputs are
    # filed under the files this model came from even if the dir changes later; None: a hub id, not cached.
    files: tuple | None = None

    @property
    def model_type(self) -> str:
        return self.config.model_type

    @property
    def architecture(self) -> str:
        archs = getattr(self.config, "architectures", None) or [type(self.model).__name__]
        return archs[0]

    @property
    def inputs(self) -> list[str]:
        return input_names(self.model_type)

    @property
    def outputs(self) -> list[str]:
        return output_names(self.task)


def check_source(model: str | Path, task: str, seq_lens: list[int]):
    """Validate model/task/seq lens before any heavy work; returns the config. One-line errors."""
    if task not in TASKS:
        raise PocketbertError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    config = load_config(model)
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise PocketbertError(
            f"model {model} has architecture {model_type!r}; pocketbert converts {', '.join(SUPPORTED_MODEL_TYPES)} models"
        )
    suffix = TASK_HEAD_SUFFIX[task]
    archs = getattr(config, "architectures", None) or []
    if suffix is not None and not any(a.endswith(suffix) for a in archs):
        raise PocketbertError(
            f"model {model} has no {task} head (config architectures: {archs or 'none'}); "
            f"task {task} needs a *{suffix} checkpoint (fine-tune one with `pocketbert finetune`)"
        )
    max_pos = int(getattr(config, "max_position_embeddings", 512))
    if not seq_lens:
        raise PocketbertError("no --seq-len given; pass at least one, e.g. --seq-len 384")
    for s in seq_lens:
        if not isinstance(s, int) or isinstance(s, bool) or s <= 0:
            raise PocketbertError(f"--seq-len {s!r} is not a positive integer")
        if s > max_pos:
            raise PocketbertError(
                f"--seq-len {s} is larger than the model's max_position_embeddings ({max_pos}); use at most {max_pos}"
            )
        if s < 8:
            raise PocketbertError(f"--seq-len {s} is too short for real input; use at least 8")
    return config


def load_source(model: str | Path, task: str) -> SourceModel:
    """Load the PyTorch model for `task` in eval mode with eager attention (a plain, traceable graph)."""
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the CLI shows its own status line
    path = resolve_model(model)
    config = check_source(model, task, [8])
    cls = getattr(transformers, AUTO_CLASS[task])
    # A base model loaded from an MLM/QA checkpoint drops the head: expected for `embed`, so no load report
    # there; for head tasks the report stays visible (it is how a user learns a head is freshly initialized).
    verbosity = hf_logging.get_verbosity()
    if task == "embed":
        hf_logging.set_verbosity_error()
    files = model_key(path)  # before reading the weights: a dir rewritten meanwhile is never filed as the old one
    try:
        hf = cls.from_pretrained(path, attn_implementation="eager")
    except (OSError, ValueError) as exc:
        raise PocketbertError(f"cannot load {model} for task {task}: {str(exc).splitlines()[0]}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    hf.eval()
    return SourceModel(name=str(model), path=path, task=task, model=hf, config=config, files=files)


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(bs, seq) 0/1 mask -> (bs, 1, 1, seq) additive mask: 0 for tokens, MASK_NEGATIVE for padding."""
    keep = attention_mask.to(dtype)[:, None, None, :]  # (bs, 1, 1, seq)
    return (1.0 - keep) * MASK_NEGATIVE


class TaskWrapper(torch.nn.Module):
    """forward(input_ids, attention_mask[, token_type_ids]) as int32 -> tuple of float32 outputs."""

    def __init__(self, source: SourceModel) -> None:
        super().__init__()
        self.model = source.model
        self.task = source.task
        self.with_token_types = SUPPORTED_MODEL_TYPES[source.model_type]
        self.input_names = source.inputs
        self.output_names = source.outputs

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids.to(torch.int64), "attention_mask": additive_mask(attention_mask)}
        if self.with_token_types:
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            kwargs["token_type_ids"] = token_type_ids.to(torch.int64)
        out = self.model(**kwargs)
        if self.task == "qa":
            return out.start_logits, out.end_logits  # (bs, seq) each
        if self.task in ("cls", "mlm"):
            return (out.logits,)  # (bs, labels) / (bs, seq, vocab)
        # embed: masked mean over real tokens, L2-normalised, as sentence-transformers does
        return (mean_pool(out.last_hidden_state, attention_mask.to(torch.float32)),)  # (bs, hidden)


class NamedOutputs(torch.nn.Module):
    """Return the wrapper's outputs as a dict so converters that name outputs by dict key (litert-torch) do."""

    def __init__(self, wrapper: TaskWrapper) -> None:
        super().__init__()
        self.wrapper = wrapper

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        outs = self.wrapper(input_ids, attention_mask, token_type_ids)
        return dict(zip(self.wrapper.output_names, outs))


def sample_inputs(source: SourceModel, seq_len: int) -> tuple[torch.Tensor, ...]:
    """Realistic (1, seq) int32 sample inputs: CLS, some tokens, SEP, padding (no all-zero mask)."""
    ids = torch.zeros((1, seq_len), dtype=torch.int32)
    n = max(2, seq_len // 2)
    ids[0, :n] = 1000 + torch.arange(n, dtype=torch.int32)
    ids[0, 0], ids[0, n - 1] = 101, 102
    mask = (ids != 0).to(torch.int32)
    args = [ids, mask]
    if SUPPORTED_MODEL_TYPES[source.model_type]:
        args.append(torch.zeros((1, seq_len), dtype=torch.int32))
    return tuple(args)


def torch_outputs(source: SourceModel, feeds: dict) -> dict:
    """The reference: the Hugging Face model called the ordinary way (int64 ids, 2D mask, its own mask
    builder), NOT through the wrapper, so a wrapper bug shows up as a parity failure. Computed once per model
    files and inputs in a process (`core.reference_cache`: the gates of several artifacts of one model share it)."""
    from pocketbert.core.reference_cache import reference

    return reference(f"parity:{source.task}", source.files, {n: feeds[n] for n in source.inputs},
                     lambda: _torch_outputs(source, feeds))


def _torch_outputs(source: SourceModel, feeds: dict) -> dict:
    import numpy as np

    kwargs = {n: torch.as_tensor(np.asarray(feeds[n], dtype=np.int64)) for n in source.inputs}
    with torch.inference_mode():
        out = source.model(**kwargs)
    if source.task == "qa":
        outs = (out.start_logits, out.end_logits)
    elif source.task in ("cls", "mlm"):
        outs = (out.logits,)
    else:
        outs = (mean_pool(out.last_hidden_state, kwargs["attention_mask"]),)
    return {n: o.float().numpy() for n, o in zip(source.outputs, outs)}
