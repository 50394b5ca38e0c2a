"""Distillation losses as pure functions of tensors (no model, no config), so each can be checked by hand.

Conventions: `mask` is a boolean (bs, seq) of the positions a loss looks at; every loss is a mean over those
positions (or over pairs of them), so its scale does not depend on the batch's padding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# Guards divisions by the number of selected positions in an empty batch.
MIN_COUNT = 1.0


def soft_target_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """KL(teacher_T || student_T) * T^2, averaged over selected positions (Hinton et al.; DistilBERT's L_ce).

    The T^2 factor keeps the gradient scale independent of T, so alpha_ce means the same at any temperature.
    """
    s = student_logits[mask].float() / temperature  # (n, vocab)
    t = teacher_logits[mask].float() / temperature  # (n, vocab)
    n = max(float(s.shape[0]), MIN_COUNT)
    kl = F.kl_div(F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1), reduction="sum", log_target=True)
    return kl / n * temperature**2


def mlm_loss(student_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the masked positions (labels -100 elsewhere); 0 when nothing is masked."""
    selected = labels != -100
    if not bool(selected.any()):
        return student_logits.sum() * 0.0
    return F.cross_entropy(student_logits[selected].float(), labels[selected])  # (n, vocab) vs (n,)


def cosine_loss(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (1 - cos) between student and teacher vectors at selected positions (CosineEmbeddingLoss, y=1)."""
    s = student_hidden[mask].float()  # (n, dim)
    t = teacher_hidden[mask].float()  # (n, dim)
    if s.shape[0] == 0:
        return student_hidden.sum() * 0.0
    return (1.0 - F.cosine_similarity(s, t, dim=-1)).mean()


def mse_loss(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over selected positions and features (logits or hidden states)."""
    s = student[mask].float()
    t = teacher[mask].float()
    if s.numel() == 0:
        return student.sum() * 0.0
    return F.mse_loss(s, t, reduction="mean")


def pooled_cosine_loss(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor,
                       attention_mask: torch.Tensor) -> torch.Tensor:
    """1 - cos between mean-pooled sentence vectors: aims the student at what sentence-embedding users read."""
    from pocketbert.core.pooling import mean_pool

    s = mean_pool(student_hidden.float(), attention_mask, normalize=False)  # (bs, dim)
    t = mean_pool(teacher_hidden.float(), attention_mask, normalize=False)  # (bs, dim)
    return (1.0 - F.cosine_similarity(s, t, dim=-1)).mean()


def pooled_relation_loss(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor,
                         attention_mask: torch.Tensor) -> torch.Tensor:
    """MSE between the in-batch cosine-similarity matrices of student and teacher sentence vectors.

    What sentence-similarity users read is how texts rank against each other, not the vectors themselves;
    this transfers that structure directly (a sentence-level analogue of MiniLM's relation losses).
    """
    from pocketbert.core.pooling import mean_pool

    s = mean_pool(student_hidden.float(), attention_mask)  # (bs, dim), L2-normalized
    t = mean_pool(teacher_hidden.float(), attention_mask)  # (bs, dim)
    return F.mse_loss(s @ s.T, t @ t.T)  # (bs, bs) vs (bs, bs)


def _relation_kl(student_rel: torch.Tensor, teacher_rel: torch.Tensor, key_mask: torch.Tensor,
                 query_mask: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) between row-softmaxed relations, averaged over heads and real query rows."""
    neg = torch.finfo(torch.float32).min
    keep = key_mask[:, None, None, :]  # (bs, 1, 1, seq)
    s_log = F.log_softmax(student_rel.float().masked_fill(~keep, neg), dim=-1)  # (bs, h, seq, seq)
    t_log = F.log_softmax(teacher_rel.float().masked_fill(~keep, neg), dim=-1)
    per = (t_log.exp() * (t_log - s_log)).masked_fill(~keep, 0.0).sum(-1)  # (bs, h, seq)
    rows = query_mask[:, None, :].expand_as(per)
    return per[rows].mean() if bool(rows.any()) else per.sum() * 0.0


def _split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    bs, seq, dim = x.shape
    return x.view(bs, seq, n_heads, dim // n_heads).transpose(1, 2)  # (bs, h, seq, d_head)


def attention_relation_loss(student_qk: tuple[torch.Tensor, torch.Tensor], teacher_qk: tuple[torch.Tensor, torch.Tensor],
                            attention_mask: torch.Tensor, n_heads: int) -> torch.Tensor:
    """MiniLM self-attention distribution transfer: KL between the teacher's and the student's attention maps.

    Inputs are the (bs, seq, dim) query and key projections of one layer of each model; the maps are recomputed
    here so the loss does not depend on the attention kernel (sdpa returns no probabilities).
    """
    keep = attention_mask.bool()
    rels = []
    for q, k in (student_qk, teacher_qk):
        qh, kh = _split_heads(q, n_heads), _split_heads(k, n_heads)  # (bs, h, seq, d)
        rels.append(qh @ kh.transpose(-1, -2) / qh.shape[-1] ** 0.5)  # (bs, h, seq, seq)
    return _relation_kl(rels[0], rels[1], keep, keep)


def value_relation_loss(student_v: torch.Tensor, teacher_v: torch.Tensor, attention_mask: torch.Tensor,
                        n_heads: int) -> torch.Tensor:
    """MiniLM value-relation transfer: KL between softmax(V V^T / sqrt(d)) of teacher and student."""
    keep = attention_mask.bool()
    rels = []
    for v in (student_v, teacher_v):
        vh = _split_heads(v, n_heads)  # (bs, h, seq, d)
        rels.append(vh @ vh.transpose(-1, -2) / vh.shape[-1] ** 0.5)  # (bs, h, seq, seq)
    return _relation_kl(rels[0], rels[1], keep, keep)
