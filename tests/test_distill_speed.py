"""The faster distillation step computes what the plain one did, and long steps report their progress.

Speed itself is measured by `make bench-distill`, never asserted here (no time limits in tests).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pocketbert.distill import cpu_linear, losses
from pocketbert.distill.progress import StepProgress
from test_distill_train import _distill, workdir  # noqa: F401  (module fixture: prepared data + tiny models)


def _plain_kl(s, t, mask, T):
    """The unfused L_ce as first written: F.kl_div over log-softmaxes of the selected rows."""
    s, t = s[mask].float() / T, t[mask].float() / T
    return F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), reduction="sum", log_target=True) / max(len(s), 1) * T**2


@pytest.mark.parametrize("restrict", [False, True])
def test_fused_soft_target_and_mlm_equal_the_plain_losses_and_gradients(restrict):
    torch.manual_seed(0)
    n, vocab = 3 * losses.VOCAB_CHUNK_ROWS + 5, 97  # several chunks and a ragged last one
    s, t = torch.randn(n, vocab) * 3, torch.randn(n, vocab) * 3
    labels = torch.full((n,), -100)
    picked = torch.randperm(n)[:17]
    labels[picked] = torch.randint(0, vocab, (17,))
    mask = labels != -100 if restrict else torch.ones(n, dtype=torch.bool)

    s_ref = s.clone().requires_grad_()
    kl_ref, mlm_ref = _plain_kl(s_ref, t, mask, 2.0), F.cross_entropy(s_ref[labels != -100], labels[labels != -100])
    (5 * kl_ref + 2 * mlm_ref).backward()
    s_new = s.clone().requires_grad_()
    kl, mlm = losses.soft_target_kl_and_mlm(s_new, t, mask, labels, 2.0)
    (5 * kl + 2 * mlm).backward()

    assert torch.allclose(kl, kl_ref, rtol=1e-5) and torch.allclose(mlm, mlm_ref, rtol=1e-5)
    assert torch.allclose(s_new.grad, s_ref.grad, rtol=1e-4, atol=1e-7)


def test_fused_loss_without_masked_positions_is_zero_mlm():
    s, t = torch.randn(4, 11, requires_grad=True), torch.randn(4, 11)
    kl, mlm = losses.soft_target_kl_and_mlm(s, t, torch.ones(4, dtype=torch.bool), torch.full((4,), -100), 2.0)
    (kl + mlm).backward()
    assert float(mlm.detach()) == 0.0 and torch.isfinite(s.grad).all()


def test_onednn_linear_matches_nn_linear_forward_and_backward():
    if not cpu_linear.available():
        pytest.skip("this PyTorch build has no oneDNN linear")
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(16, 24), nn.GELU(), nn.Linear(24, 8))
    fast = nn.Sequential(nn.Linear(16, 24), nn.GELU(), nn.Linear(24, 8))
    fast.load_state_dict(ref.state_dict())
    assert cpu_linear.use_onednn_linears(fast) == 2
    assert set(fast.state_dict()) == set(ref.state_dict())
    x = torch.randn(3, 5, 16)  # (bs, seq, in): leading dims are kept
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_ref, y_fast = ref(x_ref), fast(x_fast)
    assert y_fast.shape == (3, 5, 8) and torch.allclose(y_fast, y_ref, rtol=1e-5, atol=1e-6)
    y_ref.square().sum().backward()
    y_fast.square().sum().backward()
    assert torch.allclose(x_fast.grad, x_ref.grad, rtol=1e-5, atol=1e-6)
    for p_fast, p_ref in zip(fast.parameters(), ref.parameters()):
        assert torch.allclose(p_fast.grad, p_ref.grad, rtol=1e-5, atol=1e-6)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_estimates_at_start_then_prints_on_the_wall_clock_only():
    clock, lines = _Clock(), []
    progress = StepProgress(accum=800, steps_left=3, say=lines.append, interval_s=30.0, clock=clock)
    for micro in range(40):  # 2 s per micro-batch: a line every 15 micro-batches, never one per micro-batch
        clock.now += 2.0
        progress.micro_batch_done(step=0, micro=micro, n_tokens=100)
    assert lines[0].startswith("timing: 3 micro-batch(es) in 6.0 s -> one optimizer step ~ 26.7 min; 3 steps ~ 80.0 min")
    inside = lines[1:]
    assert len(inside) == 2  # at 30 s and 60 s of wall time
    assert inside[0] == "step 1 micro-batch 15/800: 50 tokens/s, step ETA 26.2 min, run ETA 79.5 min"


def test_distill_with_accumulation_prints_progress_lines(workdir, tmp_path):  # noqa: F811
    res = _distill(workdir, tmp_path / "run", "--max-steps", "2", "--batch-size", "4", "--effective-batch", "12",
                   "--set", "progress_every_s=0")
    assert res.exit_code == 0, res.output
    out = res.output.splitlines()
    assert sum(line.startswith("timing: ") and "one optimizer step ~" in line for line in out) == 1
    progress = [line for line in out if " micro-batch " in line and "tokens/s" in line]
    # accumulation 3: micro-batches 1/3 and 2/3 of each of the 2 steps (the last one of a step is its log row)
    assert [line.split(":")[0] for line in progress] == ["step 1 micro-batch 1/3", "step 1 micro-batch 2/3",
                                                         "step 2 micro-batch 1/3", "step 2 micro-batch 2/3"]
