"""fp32 Linear layers on CPU through oneDNN's GEMM instead of the default BLAS (a speed-up, same precision).

Why: PyTorch runs fp32 `F.linear` on CPU through MKL, which on this project's reference CPU (AMD EPYC, AVX-512)
reaches ~33 GFLOP/s for the vocabulary projection (n, 384) x (384, 30522) and ~24 GFLOP/s for the encoder's
(tokens, 384) x (384, 384), while oneDNN (shipped inside PyTorch) does the same fp32 products at ~47 GFLOP/s.
Only the forward product changes kernel; the backward products stay `torch.mm` (they were already fast), so
gradients are computed exactly as autograd's own `F.linear` backward does. Results match `F.linear` to fp32
rounding; anything that is not a plain fp32 CPU product (CUDA, autocast, other dtypes, no oneDNN) falls back to
`F.linear` unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# A fresh probe that disagrees with F.linear by more than this (relative) switches the fast path off for good.
PROBE_RTOL = 1e-4


def _onednn_linear(x2d: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x2d, weight, bias, "none", [None], "")  # (rows, out)


def _probe() -> bool:
    """True when this PyTorch build has the oneDNN op and it agrees with F.linear on a random product."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        gen = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(*shape, generator=gen) for shape in ((8, 16), (24, 16), (24,)))
        ref = F.linear(x, w, b)
        return bool(torch.allclose(_onednn_linear(x, w, b), ref, rtol=PROBE_RTOL, atol=PROBE_RTOL))
    except (RuntimeError, AttributeError):
        return False


_AVAILABLE: bool | None = None


def available() -> bool:
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = _probe()
    return _AVAILABLE


class _LinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        x2d = x.reshape(-1, x.shape[-1])  # (rows, in)
        ctx.save_for_backward(x2d, weight)
        ctx.has_bias = bias is not None
        ctx.x_shape = x.shape
        return _onednn_linear(x2d.contiguous(), weight, bias).view(*x.shape[:-1], weight.shape[0])  # (..., out)

    @staticmethod
    def backward(ctx, grad_out):
        x2d, weight = ctx.saved_tensors
        g = grad_out.reshape(-1, weight.shape[0])  # (rows, out)
        grad_x = (g @ weight).view(ctx.x_shape) if ctx.needs_input_grad[0] else None  # (..., in)
        grad_w = g.T @ x2d if ctx.needs_input_grad[1] else None  # (out, in)
        grad_b = g.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


class OneDnnLinear(nn.Linear):
    """nn.Linear with the oneDNN forward where it applies; same parameters, state dict and saved files."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and not torch.is_autocast_enabled("cpu") and x.numel() > 0 and available()):
            return _LinearFn.apply(x, self.weight, self.bias)
        return super().forward(x)


def use_onednn_linears(model: nn.Module) -> int:
    """Switch every plain nn.Linear of `model` (in place, weights and ties untouched) to OneDnnLinear.

    Returns how many were switched (0 when oneDNN is unavailable, so callers can say which kernel runs).
    """
    if not available():
        return 0
    n = 0
    for mod in model.modules():
        if type(mod) is nn.Linear:
            mod.__class__ = OneDnnLinear
            n += 1
    return n
