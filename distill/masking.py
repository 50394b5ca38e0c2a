"""Dynamic masking for the MLM and soft-target losses, drawn anew for every batch (RoBERTa/DistilBERT style).

Which tokens get masked is smoothed by corpus frequency: a token is picked with weight count^-smoothing
(DistilBERT: 0.7), so frequent tokens ("the", ",") are masked less often than their share and rare ones more.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

MLM_SMOOTHING = 0.7
MASK_PROP = 0.15
# Share of the selected tokens replaced by [MASK], kept as they are, replaced by a random token.
PRED_MASK, PRED_KEEP, PRED_RAND = 0.8, 0.1, 0.1
IGNORE_INDEX = -100


def token_weights(counts: np.ndarray, special_ids: list[int], smoothing: float = MLM_SMOOTHING) -> torch.Tensor:
    """Selection weight per vocab id: max(count, 1)^-smoothing, 0 for special tokens (never masked)."""
    weights = np.maximum(counts.astype(np.float64), 1.0) ** (-smoothing)
    weights[np.asarray(special_ids, dtype=np.int64)] = 0.0
    return torch.from_numpy(weights.astype(np.float32))  # (vocab,)


@dataclass
class Masker:
    weights: torch.Tensor  # (vocab,)
    mask_token_id: int
    vocab_size: int
    mask_prop: float = MASK_PROP
    pred_probs: tuple[float, float, float] = (PRED_MASK, PRED_KEEP, PRED_RAND)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (masked input ids, labels with -100 at unselected positions).

        Exactly ceil(mask_prop * n_real_tokens) positions are drawn without replacement (capped by the number of
        maskable positions), weighted by the smoothed frequency of the token there.
        """
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        if self.mask_prop <= 0:
            return input_ids, labels
        w = self.weights.to(input_ids.device)[input_ids] * attention_mask.to(torch.float32)  # (bs, seq)
        flat = w.flatten()  # (bs*seq,)
        n_maskable = int((flat > 0).sum())
        n_tgt = min(math.ceil(self.mask_prop * int(attention_mask.sum())), n_maskable)
        if n_tgt == 0:
            return input_ids, labels
        picked = torch.multinomial(flat / flat.sum(), n_tgt, replacement=False, generator=generator)  # (n_tgt,)
        pred_mask = torch.zeros_like(flat, dtype=torch.bool)
        pred_mask[picked] = True
        pred_mask = pred_mask.view_as(input_ids)  # (bs, seq)
        labels[pred_mask] = input_ids[pred_mask]

        selected = input_ids[pred_mask]  # (n_tgt,)
        probs = torch.tensor(self.pred_probs, dtype=torch.float32, device=input_ids.device)
        action = torch.multinomial(probs, n_tgt, replacement=True, generator=generator)  # 0 mask, 1 keep, 2 rand
        random_ids = torch.randint(0, self.vocab_size, (n_tgt,), device=input_ids.device, generator=generator)
        replaced = torch.where(action == 0, torch.full_like(selected, self.mask_token_id),
                               torch.where(action == 2, random_ids, selected))
        masked = input_ids.clone()
        masked[pred_mask] = replaced
        return masked, labels
