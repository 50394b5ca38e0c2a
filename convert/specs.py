"""Input/output specs per (architecture, task): the names, dtypes and shapes every converter and app agree on.

Kept free of torch imports so the CLI can validate arguments (and the manifest can be written) cheaply. The facts
(tasks, formats, precisions, model types) are the registry's (pocketbert/core/registry.py); this module shapes them.
"""
from __future__ import annotations

from dataclasses import dataclass

from pocketbert.core import registry
from pocketbert.core.runtime import signature_name  # noqa: F401  (re-exported: the one spelling of `seq_<S>`)

TASKS = tuple(registry.TASKS)

# model_type -> whether its embeddings take token_type_ids (DistilBERT has no segment embeddings).
SUPPORTED_MODEL_TYPES = registry.MODEL_TYPES

# The config.architectures suffix that proves a model dir carries the head a task needs; a missing head
# would be randomly initialised by from_pretrained and convert into a model that answers nonsense.
# None (embed): any BERT-family checkpoint has the encoder the embedding is pooled from.
TASK_HEAD_SUFFIX = {name: t.head_suffix for name, t in registry.TASKS.items()}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name
    shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


def input_names(model_type: str) -> list[str]:
    """Input names in the order the wrappers take them."""
    names = ["input_ids", "attention_mask"]
    if SUPPORTED_MODEL_TYPES.get(model_type):
        names.append("token_type_ids")
    return names


def output_names(task: str) -> list[str]:
    return list(registry.TASKS[task].outputs)


def input_specs(model_type: str, seq_len: int) -> list[TensorSpec]:
    return [TensorSpec(n, "int32", (1, seq_len)) for n in input_names(model_type)]


def output_specs(task: str, seq_len: int, hidden: int, num_labels: int, vocab_size: int) -> list[TensorSpec]:
    shapes = {
        "qa": [(1, seq_len), (1, seq_len)],
        "cls": [(1, num_labels)],
        "embed": [(1, hidden)],
        "mlm": [(1, seq_len, vocab_size)],
    }[task]
    return [TensorSpec(n, "float32", s) for n, s in zip(output_names(task), shapes)]

