"""Distillation losses as pure functions of tensors (no model, no config), so each can be checked by hand.

Conventions: `mask` is a boolean (bs, seq) of the positions a loss looks at; every loss is a mean over those
positions (or over pairs of them), so its scale does not depend on the batch's padding.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# Guards divisions by the number of selected positions in an empty batch.
MIN_COUNT = 1.0
# Rows of (n, vocab) logits handled at once by the fused soft-target loss: 32 x 30522 fp32 = 3.9 MB per temporary,
# so the few temporaries of one chunk stay in the CPU's last-level cache instead of streaming (n, vocab) tensors
# through memory once per elementwise op.
VOCAB_CHUNK_ROWS = 32


def soft_target_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """KL(teacher_T || student_T) * T^2, averaged over selected positions (Hinton et al.; DistilBERT's L_ce).

    The T^2 factor keeps the gradient scale independent of T, so alpha_ce means the same at any temperature.
    """
    kl, _ = soft_target_kl_and_mlm(student_logits, teacher_logits, mask, None, temperature)
    return kl


def soft_target_kl_and_mlm(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor,
                           labels: torch.Tensor | None, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(soft_target_kl, mlm_loss) of the same student logits in one fused pass over the vocabulary.

    Same values as the two losses computed apart (up to float rounding), but the (n, vocab) work is done in
    row chunks that stay in cache and the gradient is formed in the forward pass (softmax minus target), so
    autograd never keeps log-softmax outputs or scatters index gradients into fresh (n, vocab) zeros: on a
    2-core CPU this is ~3x faster than the unfused losses, which were most of a small student's step.
    mask selects the KL positions (any shape matching the logits' leading dims); labels (same leading dims,
    -100 = not masked) give the MLM targets, or None for no MLM term (returned as 0).
    """
    vocab = student_logits.shape[-1]
    s = student_logits.reshape(-1, vocab)  # (n_all, vocab)
    t = teacher_logits.reshape(-1, vocab)  # (n_all, vocab)
    flat_mask = mask.reshape(-1).bool()
    kl_rows = None if bool(flat_mask.all()) else flat_mask.nonzero().flatten()  # None = every row
    if labels is None:
        mlm_rows, targets = s.new_zeros(0, dtype=torch.long), s.new_zeros(0, dtype=torch.long)
    else:
        flat_labels = labels.reshape(-1)
        mlm_rows = (flat_labels != -100).nonzero().flatten()  # (m,)
        targets = flat_labels[mlm_rows]  # (m,)
    kl, mlm = _FusedSoftTargetMLM.apply(s, t, kl_rows, mlm_rows, targets, float(temperature))
    return kl.to(student_logits.dtype), mlm.to(student_logits.dtype)


class _FusedSoftTargetMLM(torch.autograd.Function):
    """Forward computes both losses and their gradients w.r.t. the student logits; backward only scales them.

    d KL_T / d s = (softmax(s/T) - softmax(t/T)) / T per row; d CE / d s = softmax(s) - onehot(label).
    """

    @staticmethod
    def forward(ctx, s, t, kl_rows, mlm_rows, targets, temperature):
        n_all, vocab = s.shape
        rows = kl_rows  # None = every row, in contiguous chunks
        n_kl = n_all if kl_rows is None else int(kl_rows.numel())
        grad_kl = torch.empty((n_all, vocab), dtype=torch.float32, device=s.device) if kl_rows is None \
            else torch.zeros((n_all, vocab), dtype=torch.float32, device=s.device)
        kl = torch.zeros((), dtype=torch.float32, device=s.device)
        for i in range(0, n_kl, VOCAB_CHUNK_ROWS):
            if rows is None:
                sc, tc = s[i:i + VOCAB_CHUNK_ROWS], t[i:i + VOCAB_CHUNK_ROWS]  # (c, vocab) views
            else:
                idx = rows[i:i + VOCAB_CHUNK_ROWS]
                sc, tc = s[idx], t[idx]
            log_s = torch.log_softmax(sc.float() / temperature, dim=-1)  # (c, vocab)
            log_t = torch.log_softmax(tc.float() / temperature, dim=-1)
            p_t = log_t.exp()
            kl += (p_t * (log_t - log_s)).sum()
            if rows is None:
                torch.sub(log_s.exp_(), p_t, out=grad_kl[i:i + VOCAB_CHUNK_ROWS])
            else:
                grad_kl.index_copy_(0, idx, log_s.exp_() - p_t)
        m = int(mlm_rows.numel())
        grad_mlm = torch.zeros((m, vocab), dtype=torch.float32, device=s.device)
        mlm = torch.zeros((), dtype=torch.float32, device=s.device)
        for i in range(0, m, VOCAB_CHUNK_ROWS):
            idx, tgt = mlm_rows[i:i + VOCAB_CHUNK_ROWS], targets[i:i + VOCAB_CHUNK_ROWS]
            log_p = torch.log_softmax(s[idx].float(), dim=-1)  # (c, vocab)
            mlm -= log_p.gather(1, tgt[:, None]).sum()
            g = grad_mlm[i:i + VOCAB_CHUNK_ROWS]
            torch.exp(log_p, out=g)
            g[torch.arange(len(idx), device=s.device), tgt] -= 1.0
        ctx.save_for_backward(grad_kl, grad_mlm, mlm_rows)
        ctx.scale_kl = temperature / max(float(n_kl), MIN_COUNT)  # T^2 * (1/T) / n
        ctx.scale_mlm = 1.0 / max(float(m), MIN_COUNT)
        ctx.logits_dtype = s.dtype
        return kl / max(float(n_kl), MIN_COUNT) * temperature**2, mlm / max(float(m), MIN_COUNT)

    @staticmethod
    def backward(ctx, g_kl, g_mlm):
        grad_kl, grad_mlm, mlm_rows = ctx.saved_tensors
        grad = grad_kl * (g_kl * ctx.scale_kl)  # (n_all, vocab)
        if mlm_rows.numel():
            grad.index_add_(0, mlm_rows, grad_mlm * (g_mlm * ctx.scale_mlm))
        return grad.to(ctx.logits_dtype), None, None, None, None, None


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


def hidden_states_mse(student_states, teacher_states, mask: torch.Tensor, pairs) -> torch.Tensor:
    """Mean over [teacher_layer, student_layer] pairs of the MSE between those hidden states (0 = embeddings)."""
    per_pair = [mse_loss(student_states[s], teacher_states[t], mask) for t, s in pairs]  # each over (n, dim)
    return torch.stack(per_pair).mean()
