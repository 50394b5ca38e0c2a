"""The table of distillation loss terms: name -> pure loss function, the step inputs it reads, its alpha field.

Config validation (distill/config.py), the log columns (distill/run_log.py) and the step's total loss
(distill/trainer.py) all come from `LOSS_TERMS`, so a term's name is spelled once. Adding a loss term is one pure
function in distill/losses.py, one `LossTerm` row here and its `alpha_<name>` field in `DistillConfig`.

Step inputs (what `StepInputs` holds; the trainer fills only what the active terms read):
  s_logits, t_logits   (n, vocab) MLM logits of student / teacher at the selected positions (`logit_positions`)
  labels               (n,) MLM labels at those positions (-100 = not masked)
  soft_mask            (n,) bool: positions the soft-target terms read (all, or masked only: restrict_ce_to_mask)
  temperature          float: the soft-target temperature
  s_hidden, t_hidden   (bs, seq, dim) last hidden states; keep (bs, seq) bool real tokens; attention_mask (bs, seq)
  s_states, t_states   every layer's hidden states (0 = embeddings); hidden_pairs [[teacher, student], ...]
  s_qk, t_qk           ((bs, seq, dim) query, (bs, seq, dim) key) of the last attention layer; s_v, t_v its values
  n_heads              int: attention heads used to split the MiniLM relations
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from pocketbert.distill import losses

ALPHA_PREFIX = "alpha_"
COLUMN_PREFIX = "loss_"
# Inputs that only exist where the MLM head ran: a term reading one needs logits (and a teacher with an MLM head
# when it reads t_logits).
LOGIT_INPUTS = frozenset({"s_logits", "t_logits", "labels", "soft_mask"})
# Where a term's logits are read: every real token, the masked positions only, or "soft" = every real token unless
# restrict_ce_to_mask (then the masked positions).
LOGITS_AT = ("real", "masked", "soft")

StepInputs = Mapping[str, object]


@dataclass(frozen=True)
class LossTerm:
    """One row: `fn(*[inputs[k] for k in self.inputs])` is the term; `alpha_<name>` in the config weighs it."""

    name: str
    fn: Callable[..., torch.Tensor]
    inputs: tuple[str, ...]
    logits_at: str | None = None  # one of LOGITS_AT for terms that read logits

    def __post_init__(self) -> None:
        """A row that reads logits must say where (the MLM head runs only there), and only such a row may."""
        reads_logits = bool(set(self.inputs) & LOGIT_INPUTS)
        if self.logits_at not in (None, *LOGITS_AT) or (self.logits_at is not None) != reads_logits:
            raise ValueError(f"loss term {self.name}: logits_at={self.logits_at!r} but it reads "
                             f"{', '.join(self.inputs)}; logit readers need logits_at in {LOGITS_AT}, others None")

    @property
    def alpha(self) -> str:
        return ALPHA_PREFIX + self.name

    @property
    def column(self) -> str:
        return COLUMN_PREFIX + self.name

    @property
    def needs_teacher_logits(self) -> bool:
        return "t_logits" in self.inputs


# Order = the order the total is summed in (kept from the first trainer, so totals are bit-identical) and the
# log-column order.
LOSS_TERMS: dict[str, LossTerm] = {
    t.name: t for t in (
        LossTerm("ce", losses.soft_target_kl, ("s_logits", "t_logits", "soft_mask", "temperature"), "soft"),
        LossTerm("mse", losses.mse_loss, ("s_logits", "t_logits", "soft_mask"), "real"),
        LossTerm("mlm", losses.mlm_loss, ("s_logits", "labels"), "masked"),
        LossTerm("cos", losses.cosine_loss, ("s_hidden", "t_hidden", "keep")),
        LossTerm("hidden_mse", losses.hidden_states_mse, ("s_states", "t_states", "keep", "hidden_pairs")),
        LossTerm("attn", losses.attention_relation_loss, ("s_qk", "t_qk", "attention_mask", "n_heads")),
        LossTerm("value", losses.value_relation_loss, ("s_v", "t_v", "attention_mask", "n_heads")),
        LossTerm("pooled_cos", losses.pooled_cosine_loss, ("s_hidden", "t_hidden", "attention_mask")),
        LossTerm("pooled_relation", losses.pooled_relation_loss, ("s_hidden", "t_hidden", "attention_mask")),
    )
}


@dataclass(frozen=True)
class FusedTerms:
    """Terms computed together in one pass when all of them are on (same values as apart, one (n, vocab) sweep)."""

    names: tuple[str, ...]
    fn: Callable[..., tuple[torch.Tensor, ...]]
    inputs: tuple[str, ...]


FUSED_TERMS = (
    FusedTerms(("ce", "mlm"), losses.soft_target_kl_and_mlm,
               ("s_logits", "t_logits", "soft_mask", "labels", "temperature")),
)


def alpha_fields() -> tuple[str, ...]:
    return tuple(t.alpha for t in LOSS_TERMS.values())


def active_terms(cfg) -> list[LossTerm]:
    """The rows whose alpha is > 0, in table order."""
    return [t for t in LOSS_TERMS.values() if getattr(cfg, t.alpha) > 0]


def needed_inputs(terms) -> set[str]:
    return {k for t in terms for k in t.inputs}


def logit_positions(terms, restrict_soft_to_mask: bool) -> str | None:
    """Which positions the MLM head must run on for these terms: "real" tokens, "masked" ones, or None (no head)."""
    wanted = {t.logits_at for t in terms if t.logits_at is not None}
    if "real" in wanted or ("soft" in wanted and not restrict_soft_to_mask):
        return "real"
    return "masked" if wanted else None


def compute(terms, inputs: StepInputs) -> dict[str, torch.Tensor]:
    """{name: loss} of the given rows, fused groups in one pass; a missing input is a trainer bug, named."""
    names = {t.name for t in terms}
    out: dict[str, torch.Tensor] = {}
    for group in FUSED_TERMS:
        if set(group.names) <= names:
            out.update(zip(group.names, group.fn(*_take(inputs, group.inputs, "+".join(group.names)))))
    for t in terms:
        if t.name not in out:
            out[t.name] = t.fn(*_take(inputs, t.inputs, t.name))
    return {t.name: out[t.name] for t in terms}  # table order: the total is summed in it


def weighted_total(terms: Mapping[str, torch.Tensor], cfg) -> torch.Tensor:
    """sum over terms of alpha_<name> * term (in the order given)."""
    return sum(getattr(cfg, LOSS_TERMS[name].alpha) * value for name, value in terms.items())


def _take(inputs: StepInputs, keys: tuple[str, ...], who: str) -> list:
    missing = [k for k in keys if inputs.get(k) is None]
    if missing:
        raise KeyError(f"loss term {who} needs step inputs {', '.join(missing)}, which the step did not provide")
    return [inputs[k] for k in keys]
