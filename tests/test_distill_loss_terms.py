"""The loss-term table (distill/loss_terms.py) drives config validation, the log columns and the step's total."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest
import torch

from pocketbert.core.errors import PocketbertError
from pocketbert.distill import loss_terms, losses
from pocketbert.distill.config import DistillConfig, load_config
from pocketbert.distill.run_log import FIELDS


def _inputs(bs=2, seq=5, dim=8, vocab=11, heads=2) -> dict:
    """Random step inputs of the shapes the trainer feeds (every key any row reads)."""
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    attn = torch.ones(bs, seq, dtype=torch.long)
    attn[0, -2:] = 0
    keep = attn.bool()
    n = int(keep.sum())
    labels = torch.full((n,), -100)
    labels[::3] = torch.randint(0, vocab, (len(labels[::3]),), generator=g)
    states = lambda: tuple(r(bs, seq, dim) for _ in range(3))  # noqa: E731
    return {"s_logits": r(n, vocab), "t_logits": r(n, vocab), "labels": labels, "soft_mask": torch.ones(n, dtype=torch.bool),
            "temperature": 2.0, "s_hidden": r(bs, seq, dim), "t_hidden": r(bs, seq, dim), "keep": keep,
            "attention_mask": attn, "s_states": states(), "t_states": states(), "hidden_pairs": [[2, 1], [1, 0]],
            "s_qk": (r(bs, seq, dim), r(bs, seq, dim)), "t_qk": (r(bs, seq, dim), r(bs, seq, dim)),
            "s_v": r(bs, seq, dim), "t_v": r(bs, seq, dim), "n_heads": heads}


def test_every_alpha_field_is_a_row_and_every_row_a_log_column():
    alphas = {f.name for f in dataclasses.fields(DistillConfig) if f.name.startswith("alpha_")}
    assert alphas == set(loss_terms.alpha_fields())
    assert {t.column for t in loss_terms.LOSS_TERMS.values()} <= set(FIELDS)


@pytest.mark.parametrize("name", list(loss_terms.LOSS_TERMS))
def test_validation_rejects_a_negative_weight_of_every_row(name):
    with pytest.raises(PocketbertError, match=f"alpha_{name} must be >= 0"):
        load_config(overrides={f"alpha_{name}": -1.0})


def test_misspelled_alpha_is_one_error_naming_the_terms():
    with pytest.raises(PocketbertError) as exc:
        load_config(overrides={"alpha_cosine": 1.0})
    text = str(exc.value)
    assert "alpha_cosine" in text and "'cosine'" in text and "\n" not in text
    assert all(name in text for name in loss_terms.LOSS_TERMS)


def test_total_is_sum_of_alpha_times_each_active_term():
    cfg = DistillConfig(alpha_ce=5.0, alpha_mlm=2.0, alpha_cos=1.0, alpha_mse=0.5, alpha_hidden_mse=0.25,
                        hidden_mse_pairs=[[2, 1], [1, 0]], alpha_attn=3.0, alpha_value=0.0, alpha_pooled_cos=1.5,
                        alpha_pooled_relation=0.75).validate()
    active = loss_terms.active_terms(cfg)
    assert [t.name for t in active] == ["ce", "mse", "mlm", "cos", "hidden_mse", "attn", "pooled_cos", "pooled_relation"]
    inputs = _inputs()
    terms = loss_terms.compute(active, inputs)
    assert list(terms) == [t.name for t in active]  # value (alpha 0) is never computed
    # each term is its row's pure function of the named inputs (ce and mlm came from the fused pass)
    for t in active:
        alone = t.fn(*[inputs[k] for k in t.inputs])
        assert math.isclose(float(terms[t.name]), float(alone), rel_tol=1e-5, abs_tol=1e-7), t.name
    expected = sum(getattr(cfg, t.alpha) * float(terms[t.name]) for t in active)
    assert math.isclose(float(loss_terms.weighted_total(terms, cfg)), expected, rel_tol=1e-6)


def test_a_new_row_is_validated_computed_and_weighed_without_other_edits(monkeypatch):
    """What `add a loss term` promises: a function + a row (+ the alpha) and the loss machinery uses it."""
    row = loss_terms.LossTerm("l1_hidden", lambda s, t: (s - t).abs().mean(), ("s_hidden", "t_hidden"))
    monkeypatch.setitem(loss_terms.LOSS_TERMS, row.name, row)
    cfg = SimpleNamespace(**{f: 0.0 for f in loss_terms.alpha_fields()})
    cfg.alpha_l1_hidden, cfg.alpha_cos = 2.0, 1.0
    active = loss_terms.active_terms(cfg)
    assert [t.name for t in active] == ["cos", "l1_hidden"]
    inputs = _inputs()
    terms = loss_terms.compute(active, inputs)
    l1 = float((inputs["s_hidden"] - inputs["t_hidden"]).abs().mean())
    assert math.isclose(float(terms["l1_hidden"]), l1, rel_tol=1e-6)
    assert math.isclose(float(loss_terms.weighted_total(terms, cfg)), float(terms["cos"]) + 2 * l1, rel_tol=1e-6)
    assert loss_terms.logit_positions(active, False) is None  # no row reads logits: the MLM head is skipped


def test_logit_positions_follow_the_rows_that_read_logits():
    rows = loss_terms.LOSS_TERMS
    assert loss_terms.logit_positions([rows["ce"]], False) == "real"
    assert loss_terms.logit_positions([rows["ce"]], True) == "masked"  # restrict_ce_to_mask
    assert loss_terms.logit_positions([rows["mlm"], rows["cos"]], False) == "masked"
    assert loss_terms.logit_positions([rows["ce"], rows["mse"]], True) == "real"  # mse reads every real token
    assert loss_terms.logit_positions([rows["cos"], rows["attn"]], False) is None


def test_a_missing_step_input_names_the_term():
    inputs = _inputs()
    del inputs["t_hidden"]
    with pytest.raises(KeyError, match="cos needs step inputs t_hidden"):
        loss_terms.compute([loss_terms.LOSS_TERMS["cos"]], inputs)


def test_hidden_states_mse_is_the_mean_over_pairs():
    s, t = (torch.zeros(1, 2, 2), torch.ones(1, 2, 2)), (torch.ones(1, 2, 2), torch.full((1, 2, 2), 3.0))
    mask = torch.tensor([[True, False]])
    # pair [teacher 1, student 0]: (0-3)^2 = 9; pair [0, 1]: (1-1)^2 = 0 -> mean 4.5
    assert math.isclose(float(losses.hidden_states_mse(s, t, mask, [[1, 0], [0, 1]])), 4.5, abs_tol=1e-6)


def test_finetune_kd_is_the_soft_target_loss_with_the_textbook_value_and_gradient():
    """finetune's KD term reuses losses.soft_target_kl: equal to batchmean KL(teacher_T || student_T) * T^2."""
    import torch.nn.functional as F

    from pocketbert.distill.finetune import kd_loss

    g = torch.Generator().manual_seed(1)
    s = (3 * torch.randn(4, 64, generator=g)).requires_grad_()  # (bs, seq) start logits
    t = 3 * torch.randn(4, 64, generator=g)
    ours = kd_loss(s, t, 2.0)
    (g_ours,) = torch.autograd.grad(ours, s)
    ref = F.kl_div(F.log_softmax(s / 2, -1), F.log_softmax(t / 2, -1), log_target=True, reduction="batchmean") * 4
    (g_ref,) = torch.autograd.grad(ref, s)
    assert math.isclose(float(ours.detach()), float(ref.detach()), rel_tol=1e-6)
    assert torch.allclose(g_ours, g_ref, atol=1e-6)


def test_a_row_reading_logits_must_say_where():
    with pytest.raises(ValueError, match="logits_at"):
        loss_terms.LossTerm("kl2", losses.soft_target_kl, ("s_logits", "t_logits", "soft_mask", "temperature"))
    with pytest.raises(ValueError, match="logits_at"):
        loss_terms.LossTerm("cos2", losses.cosine_loss, ("s_hidden", "t_hidden", "keep"), "real")
