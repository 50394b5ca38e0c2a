"""What one distillation step asks of the models: the student's forward (one call, for DDP), the frozen teacher's,
and the q/k/v projections of their last attention layers (MiniLM loss terms)."""
from __future__ import annotations

import torch
from torch import nn

from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.student_init import _encoder


def student_head(student, hidden: torch.Tensor) -> torch.Tensor:
    """DistilBertForMaskedLM's MLM head applied to selected hidden states: (n, dim) -> (n, vocab)."""
    x = student.activation(student.vocab_transform(hidden))
    return student.vocab_projector(student.vocab_layer_norm(x))


class StudentStep(nn.Module):
    """What one micro-batch needs from the student, as one forward (so DDP sees a single call per step).

    The MLM head runs only on the positions that a logit loss looks at: with a 30K vocab, projecting every
    padded position is most of the cost of a small student.
    """

    def __init__(self, student) -> None:
        super().__init__()
        self.student = student

    def forward(self, input_ids, attention_mask, logit_mask=None):
        out = self.student.distilbert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        hidden = out.last_hidden_state  # (bs, seq, dim)
        logits = student_head(self.student, hidden[logit_mask]) if logit_mask is not None else None  # (n, vocab)
        return hidden, out.hidden_states, logits


class Teacher:
    """Frozen teacher: encoder outputs and, when it has an MLM head, logits at selected positions."""

    def __init__(self, model, info) -> None:
        self.model = model
        self.info = info
        self.encoder = _encoder(model)
        for p in model.parameters():
            p.requires_grad_(False)
        if next(model.parameters()).device.type == "cpu":
            use_onednn_linears(model)  # fp32 forward GEMMs ~1.4x faster on CPU, same precision (cpu_linear.py)

    @torch.no_grad()
    def __call__(self, input_ids, attention_mask, logit_mask, need_hidden_states: bool):
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=need_hidden_states)
        hidden = out.last_hidden_state  # (bs, seq, dim)
        logits = None
        if logit_mask is not None and self.info.has_mlm_head:
            sel = hidden[logit_mask]  # (n, dim)
            logits = self.model.cls(sel) if self.info.model_type == "bert" else student_head(self.model, sel)
        return hidden, out.hidden_states, logits

    def last_attention(self):
        layer = self.encoder.encoder.layer[-1].attention.self if self.info.model_type == "bert" \
            else self.encoder.transformer.layer[-1].attention
        names = ("query", "key", "value") if self.info.model_type == "bert" else ("q_lin", "k_lin", "v_lin")
        return [getattr(layer, n) for n in names]


class ProjectionCapture:
    """Forward hooks that keep the q/k/v projections of one attention layer (MiniLM losses)."""

    def __init__(self, modules) -> None:
        self.outputs: list[torch.Tensor | None] = [None] * len(modules)
        self.handles = [m.register_forward_hook(self._hook(i)) for i, m in enumerate(modules)]

    def _hook(self, i):
        def hook(_module, _inputs, output):
            self.outputs[i] = output  # (bs, seq, dim)
        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
