"""Sentence embeddings the way sentence-transformers' all-MiniLM-L6-v2 makes them: masked mean, then L2 norm."""
from __future__ import annotations

import torch

# Guards the division for an all-padding row.
MIN_TOKEN_COUNT = 1e-9


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """Average the hidden states of real tokens (padding excluded), optionally L2-normalized."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (bs, seq, 1)
    summed = (hidden * mask).sum(dim=1)  # (bs, dim)
    counts = mask.sum(dim=1).clamp(min=MIN_TOKEN_COUNT)  # (bs, 1)
    pooled = summed / counts  # (bs, dim)
    return torch.nn.functional.normalize(pooled, p=2, dim=-1) if normalize else pooled
