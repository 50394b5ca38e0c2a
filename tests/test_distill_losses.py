"""Loss functions against hand-computed values, and masking statistics (tolerances, never float equality)."""
from __future__ import annotations

import math

import numpy as np
import torch

from pocketbert.distill import losses
from pocketbert.distill.masking import Masker, token_weights


def test_soft_target_kl_matches_hand_computation():
    s = torch.tensor([[[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]]])  # (1, 2, 3)
    t = torch.tensor([[[2.0, 1.0, 0.0], [9.0, 9.0, 9.0]]])
    mask = torch.tensor([[True, False]])
    T = 2.0
    p = np.exp(np.array([2.0, 1.0, 0.0]) / T); p /= p.sum()
    q = np.exp(np.array([1.0, 2.0, 0.5]) / T); q /= q.sum()
    expected = float((p * np.log(p / q)).sum()) * T**2
    assert math.isclose(float(losses.soft_target_kl(s, t, mask, T)), expected, rel_tol=1e-5)
    # identical distributions -> 0
    assert float(losses.soft_target_kl(t, t, mask, T)) < 1e-6


def test_cosine_loss_hand_cases():
    s = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [5.0, 5.0]]])
    t = torch.tensor([[[0.0, 1.0], [2.0, 2.0], [-1.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])
    # orthogonal -> 1, parallel -> 0; mean over the 2 selected = 0.5
    assert math.isclose(float(losses.cosine_loss(s, t, mask)), 0.5, abs_tol=1e-6)


def test_mse_and_mlm_loss():
    s = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    t = torch.tensor([[[0.0, 0.0], [100.0, 100.0]]])
    assert math.isclose(float(losses.mse_loss(s, t, torch.tensor([[True, False]]))), 2.5, abs_tol=1e-6)
    logits = torch.tensor([[0.0, math.log(3.0)], [5.0, 5.0]])  # (2, vocab=2)
    labels = torch.tensor([1, -100])
    assert math.isclose(float(losses.mlm_loss(logits, labels)), -math.log(3 / 4), rel_tol=1e-5)


def test_attention_relation_losses_zero_for_identical_and_positive_otherwise():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 5, 8) for _ in range(3))
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    assert float(losses.attention_relation_loss((q, k), (q, k), mask, 2)) < 1e-6
    assert float(losses.value_relation_loss(v, v, mask, 2)) < 1e-6
    assert float(losses.attention_relation_loss((q, k), (k, q), mask, 2)) > 1e-3
    assert float(losses.value_relation_loss(v, q, mask, 2)) > 1e-3


def _masker(vocab=50, counts=None, special=(0, 1, 2, 3)):
    counts = np.full(vocab, 100) if counts is None else counts
    return Masker(token_weights(counts, list(special)), mask_token_id=3, vocab_size=vocab)


def test_masking_proportions_80_10_10():
    torch.manual_seed(0)
    vocab = 50
    m = _masker(vocab)
    ids = torch.randint(4, vocab, (64, 128))
    attn = torch.ones_like(ids)
    attn[:, 100:] = 0
    totals = np.zeros(3)
    for _ in range(20):
        masked, labels = m(ids, attn)
        sel = labels != -100
        assert not sel[:, 100:].any()  # never in padding
        n_real = int(attn.sum())
        assert int(sel.sum()) == math.ceil(0.15 * n_real)
        assert torch.equal(labels[sel], ids[sel])
        is_mask = masked[sel] == 3
        kept = masked[sel] == ids[sel]
        totals += [int(is_mask.sum()), int(kept.sum()), int((~is_mask & ~kept).sum())]
    frac = totals / totals.sum()
    # random replacements that hit the same token count as "kept": expect ~0.8 / 0.1 + 0.1/46 / 0.1
    assert abs(frac[0] - 0.8) < 0.01
    assert abs(frac[1] - 0.1) < 0.01
    assert abs(frac[2] - 0.1) < 0.01


def test_masking_smoothing_prefers_rare_tokens_and_skips_specials():
    torch.manual_seed(0)
    vocab = 10
    counts = np.array([0, 0, 0, 0, 10000, 10, 10, 10, 10, 10])  # id 4 is 1000x more frequent
    m = _masker(vocab, counts)
    ids = torch.tensor([[1, 4, 4, 4, 4, 5, 5, 5, 5, 2]] * 200)  # [CLS]-like 1 and [SEP]-like 2 are special
    attn = torch.ones_like(ids)
    picked = torch.zeros(vocab)
    for _ in range(20):
        _, labels = m(ids, attn)
        sel = labels[labels != -100]
        picked += torch.bincount(sel, minlength=vocab).float()
    assert picked[1] == 0 and picked[2] == 0
    # weight ratio per token (10000/10)^0.7 ~ 126: rare id 5 is picked far more often than frequent id 4
    ratio = float(picked[5] / picked[4].clamp(min=1))
    assert ratio > 20, ratio


def test_pooled_losses_zero_for_identical_and_positive_otherwise():
    torch.manual_seed(0)
    h = torch.randn(4, 6, 8)
    other = torch.randn(4, 6, 8)
    mask = torch.ones(4, 6, dtype=torch.long)
    mask[0, 4:] = 0
    assert float(losses.pooled_cosine_loss(h, h, mask)) < 1e-6
    assert float(losses.pooled_relation_loss(h, h, mask)) < 1e-10
    assert float(losses.pooled_cosine_loss(h, other, mask)) > 0.1
    assert float(losses.pooled_relation_loss(h, other, mask)) > 1e-3
    # padding does not count: changing padded positions changes nothing
    h2 = h.clone()
    h2[0, 4:] = 100.0
    assert float(losses.pooled_cosine_loss(h2, h, mask)) < 1e-6
