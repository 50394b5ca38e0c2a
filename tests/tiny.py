"""Tiny random BERT-family models built from configs and saved through the real save_pretrained path.

They use the real uncased 30522-word vocabulary of the packaged teacher, so tokenization is real while
the weights stay under a few MB.
"""
from __future__ import annotations

from pathlib import Path

import torch

TINY = dict(hidden_size=32, num_attention_heads=4, intermediate_size=64, max_position_embeddings=512)

HEADS = {
    "base": "AutoModel",
    "mlm": "AutoModelForMaskedLM",
    "qa": "AutoModelForQuestionAnswering",
    "cls": "AutoModelForSequenceClassification",
}


def tiny_config(arch: str = "bert", layers: int = 4, **overrides):
    """A small BertConfig / DistilBertConfig with the real vocab size."""
    from transformers import BertConfig, DistilBertConfig

    if arch == "bert":
        return BertConfig(vocab_size=30522, num_hidden_layers=layers, **{**TINY, **overrides})
    if arch == "distilbert":
        return DistilBertConfig(
            vocab_size=30522, n_layers=layers, dim=TINY["hidden_size"], n_heads=TINY["num_attention_heads"],
            hidden_dim=TINY["intermediate_size"], max_position_embeddings=TINY["max_position_embeddings"],
            **overrides,
        )
    raise ValueError(arch)


def save_tiny(out: Path, arch: str = "bert", head: str = "mlm", layers: int = 4, seed: int = 0, **overrides) -> Path:
    """Build a random tiny model with `head`, save it and the packaged tokenizer to `out`, return `out`."""
    import transformers
    from transformers import AutoTokenizer

    from pocketbert.core.models import packaged_teacher_dir

    torch.manual_seed(seed)
    config = tiny_config(arch, layers, **overrides)
    if head == "cls":
        config.num_labels = overrides.get("num_labels", 2)
    model = getattr(transformers, HEADS[head]).from_config(config)
    model.eval()
    out = Path(out)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(str(packaged_teacher_dir())).save_pretrained(out)
    return out
