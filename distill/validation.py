"""Held-out validation inside `pocketbert distill`: how close is the student to its teacher on text it never saw?

Why: a falling training loss does not say the student got better (the demo's student once scored below its own
copied-layer init on STS-B while its loss fell). So a slice of the prepared data is held out of training
(`holdout`, default 1%) or another prepared dir is named (`--eval-data`), and every `eval_every` optimizer steps
the student is scored against the teacher on it:
  token_cos   mean cosine of last hidden states over real tokens
  pooled_cos  mean cosine of mean-pooled sentence vectors (what sentence-embedding users read)
  mlm_top1    share of masked positions where the student's top-1 word is the teacher's (teacher with an MLM head)
  mlm_kl      KL(teacher || student) of the word distributions at those positions (T = 1)
  sts         optional probe: Spearman of cosine vs gold scores on an STS-B file (`--eval-sts`)
Teacher outputs of the held-out set are computed once (the set is fixed and unmasked, or masked with a fixed
seed), so a validation pass costs one student forward over a few hundred sequences.
The best step by `best_metric` is kept as OUT/best next to OUT/final; its state travels in checkpoints, so a
resumed run keeps the same best.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pocketbert.core.errors import PocketbertError
from pocketbert.core.pooling import mean_pool

# Held-out size: a share of the prepared sequences, within these bounds (enough for a stable mean, small enough
# that a validation pass takes seconds on a CPU).
MIN_HOLDOUT = 16
MAX_HOLDOUT = 2048
EVAL_BATCH = 64
# Fixed seed of the held-out split and of the held-out masking: independent of the training seed, so changing the
# seed of a run never moves sequences between training and validation.
HOLDOUT_SEED = 20191002  # DistilBERT's arXiv date
# Metrics where lower is better; every other metric is better when higher.
LOWER_IS_BETTER = {"mlm_kl"}
METRICS = ("token_cos", "pooled_cos", "mlm_top1", "mlm_kl", "sts")
# The STS probe embeds sentences as `pocketbert evaluate sts` does (same length cap).
STS_MAX_LEN = 128


def holdout_split(n_sequences: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices): a fixed random `fraction` of the sequences, clamped to the bounds above.

    The split depends only on the number of sequences and the fraction, never on the run's seed.
    """
    if fraction <= 0:
        return np.arange(n_sequences), np.zeros(0, dtype=np.int64)
    n_hold = int(min(MAX_HOLDOUT, max(MIN_HOLDOUT, round(fraction * n_sequences))))
    if n_hold >= n_sequences:
        raise PocketbertError(
            f"the prepared data has only {n_sequences} sequences: too few to hold out {n_hold} for validation; "
            "prepare more text, pass --eval-data DIR, or --holdout 0 to train without validation")
    perm = np.random.default_rng(HOLDOUT_SEED).permutation(n_sequences)  # (n,)
    return np.sort(perm[n_hold:]), np.sort(perm[:n_hold])


def resolve_best_metric(requested: str, teacher_has_mlm_head: bool, uses_logits: bool, has_sts: bool) -> str:
    """`auto`: MLM top-1 agreement when the run learns the teacher's word distributions, else pooled cosine."""
    if requested == "auto":
        return "mlm_top1" if teacher_has_mlm_head and uses_logits else "pooled_cos"
    if requested in ("mlm_top1", "mlm_kl") and not teacher_has_mlm_head:
        raise PocketbertError(f"best_metric {requested} needs a teacher with an MLM head; use pooled_cos or token_cos")
    if requested == "sts" and not has_sts:
        raise PocketbertError("best_metric sts needs --eval-sts FILE (an STS-B style file with gold scores)")
    return requested


def agreement_sums(s_hidden: torch.Tensor, t_hidden: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
    """(sum of per-token cosines, real tokens, sum of pooled-vector cosines, sequences) of one batch.

    Sums, not means, so callers can average over many batches exactly. Inputs are (bs, seq, dim) last hidden states.
    """
    s_hidden, t_hidden = s_hidden.float(), t_hidden.float()
    keep = attention_mask.bool()  # (bs, seq)
    tok = float(F.cosine_similarity(s_hidden[keep], t_hidden[keep], dim=-1).sum())
    s_pool = mean_pool(s_hidden, attention_mask, normalize=False)  # (bs, dim)
    t_pool = mean_pool(t_hidden, attention_mask, normalize=False)
    pooled = float(F.cosine_similarity(s_pool, t_pool, dim=-1).sum())
    return tok, int(keep.sum()), pooled, s_hidden.shape[0]


def is_better(metric: str, new: float, old: float | None) -> bool:
    if old is None or math.isnan(old):
        return not math.isnan(new)
    return new < old if metric in LOWER_IS_BETTER else new > old


@dataclass
class ValidationState:
    """What a resumed run must remember: the best so far and every validation row (also in log.csv)."""
    best_metric: str
    best_value: float | None = None
    best_step: int | None = None
    history: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"best_metric": self.best_metric, "best_value": self.best_value, "best_step": self.best_step,
                "history": self.history}

    @classmethod
    def from_dict(cls, d: dict) -> "ValidationState":
        return cls(d["best_metric"], d.get("best_value"), d.get("best_step"), list(d.get("history", [])))


class Validator:
    """Scores a student against the teacher's cached outputs on fixed held-out batches."""

    def __init__(self, data, indices: np.ndarray, teacher, pad_id: int, masker=None, sts_file: Path | None = None,
                 tokenizer=None, device=torch.device("cpu")) -> None:
        self.device = device
        self.batches: list[dict] = []
        order = np.asarray(indices)[np.argsort(data.lengths[indices], kind="stable")]  # length-sorted: little padding
        gen = torch.Generator().manual_seed(HOLDOUT_SEED)
        use_mlm = masker is not None and teacher.info.has_mlm_head
        for lo in range(0, len(order), EVAL_BATCH):
            ids, attn = data.collate([int(i) for i in order[lo:lo + EVAL_BATCH]], pad_id)  # (bs, seq)
            ids, attn = ids.to(device), attn.to(device)
            with torch.inference_mode():
                hidden, _, _ = teacher(ids, attn, None, False)  # (bs, seq, dim)
                batch = {"ids": ids, "attn": attn, "t_hidden": hidden.float().clone()}
                if use_mlm:
                    masked, labels = masker(ids.cpu(), attn.cpu(), generator=gen)
                    masked, sel = masked.to(device), (labels != -100).to(device)  # (bs, seq)
                    _, _, logits = teacher(masked, attn, sel, False)  # (n, vocab)
                    batch.update(masked=masked, sel=sel, t_logp=F.log_softmax(logits.float(), -1).clone())
            self.batches.append(batch)
        self.n_sequences = len(order)
        self.sts = None
        if sts_file is not None:
            from pocketbert.core.datasets_io import read_sts

            sts = read_sts(Path(sts_file), None)
            if tokenizer is None:
                raise PocketbertError("--eval-sts needs the student's tokenizer")
            self.sts = (sts, tokenizer)

    @torch.no_grad()
    def evaluate(self, student, head=None) -> dict:
        """Metrics of `student` (a DistilBertForMaskedLM; `head` maps hidden -> logits) on the held-out set."""
        was_training = student.training
        student.eval()
        tok_sum = pooled_sum = top1_hits = kl_sum = 0.0
        n_tok = n_seq = n_sel = 0
        for b in self.batches:
            s_hidden = student.distilbert(input_ids=b["ids"], attention_mask=b["attn"]).last_hidden_state
            sums = agreement_sums(s_hidden, b["t_hidden"], b["attn"])
            tok_sum, n_tok = tok_sum + sums[0], n_tok + sums[1]
            pooled_sum, n_seq = pooled_sum + sums[2], n_seq + sums[3]
            if "masked" in b and head is not None:
                h = student.distilbert(input_ids=b["masked"], attention_mask=b["attn"]).last_hidden_state
                s_logp = F.log_softmax(head(h[b["sel"]]).float(), -1)  # (n, vocab)
                top1_hits += float((s_logp.argmax(-1) == b["t_logp"].argmax(-1)).sum())
                kl_sum += float(F.kl_div(s_logp, b["t_logp"], reduction="sum", log_target=True))
                n_sel += s_logp.shape[0]
        metrics = {"token_cos": tok_sum / max(n_tok, 1), "pooled_cos": pooled_sum / max(n_seq, 1)}
        if n_sel:
            metrics.update(mlm_top1=top1_hits / n_sel, mlm_kl=kl_sum / n_sel)
        if self.sts is not None:
            metrics["sts"] = self._sts(student)
        student.train(was_training)
        return metrics

    def _sts(self, student) -> float:
        from pocketbert.distill.evaluate import sts_spearman

        sts, tokenizer = self.sts
        return sts_spearman(student.distilbert, tokenizer, sts, EVAL_BATCH * 2, STS_MAX_LEN, self.device)
