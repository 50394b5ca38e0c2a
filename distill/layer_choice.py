"""`init-student --layers auto`: pick which teacher layers to copy by how well the copy agrees with the teacher.

Why: the copied-layer init decides most of what a short distillation can reach. For all-MiniLM-L6-v2 (6 layers)
the 3-layer students [0,2,4] and [0,3,5] differ by 0.10 STS-B Spearman before any training (0.738 vs 0.842),
and the every-other-layer default is the worse one: a student that drops the teacher's last layer leaves its
output space. Agreement is measured without labels, on text (the held-out slice of a prepared dir, or the
embedded English corpus): the mean cosine between the student's and the teacher's mean-pooled sentence vectors,
the quantity a sentence-embedding user reads and the one the sentence recipe trains. Each candidate costs one
student forward over the sample, so every map is tried when there are few, and a structured set otherwise.

A teacher fine-tuned for SQuAD is judged on its task output instead (score_maps_qa): the copy keeps the teacher's
span head, and what task distillation will pull together is the start/end distributions, so candidates are ranked
by their KL from the teacher's on SQuAD windows (questions and contexts only). Caution, measured on MiniLM SQuAD
teachers: the top maps lie within a few hundredths of a nat, and the winner need not train well: for one teacher
0,4,5 ranked first (2.270 vs 2.327 nats for 0,2,4), and from another teacher one epoch of the same distillation
reached F1 19.6 from 0,4,5 against 51.7 from 0,2,4. `qa-models` therefore copies every other layer by default.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from pocketbert.distill.data import PreparedData
from pocketbert.distill.validation import agreement_sums, holdout_split

# Try every layer map when there are at most this many (6 choose 3 = 20); otherwise the structured set below.
MAX_EXHAUSTIVE = 100
# Sequences scored per candidate: enough for a stable mean, a few seconds per candidate on a CPU.
SAMPLE_SEQUENCES = 256
SAMPLE_BATCH = 64
# A prepared dir's sample is its 1% held-out slice: inside any larger --holdout too (one fixed permutation). Dirs of
# at most SMALL_DATA sequences are too small to split and are sampled whole.
SAMPLE_SHARE = 0.01
SMALL_DATA = 64


# SQuAD teachers: windows scored per candidate, cut like the apps' longest signature, batched by length.
QA_SAMPLE_MAX_LEN = 384
QA_SAMPLE_DOC_STRIDE = 128


@dataclass
class Candidate:
    layers: list[int]
    pooled_cos: float
    token_cos: float
    metric = "pooled_cos"  # what the ranking sorts by (descending)

    def scores(self) -> dict[str, float]:
        return {"pooled_cos": self.pooled_cos, "token_cos": self.token_cos}


@dataclass
class QACandidate:
    """Agreement of a copied student's span head with a SQuAD teacher's over the same windows."""

    layers: list[int]
    qa_kl: float     # mean KL(teacher || student) of the start and end distributions over real tokens (lower: closer)
    qa_top1: float   # share of windows whose argmax start (and, separately, end) token is the teacher's
    metric = "qa_kl"  # sorted ascending

    def scores(self) -> dict[str, float]:
        return {"qa_kl": self.qa_kl, "qa_top1": self.qa_top1}


def candidate_maps(n_teacher: int, n_student: int) -> list[list[int]]:
    """Every increasing map when few, else strided maps (each offset) plus the same maps ending on the last layer."""
    if n_student > n_teacher:
        raise ValueError("student deeper than teacher")
    if math.comb(n_teacher, n_student) <= MAX_EXHAUSTIVE:
        return [list(c) for c in itertools.combinations(range(n_teacher), n_student)]
    maps: list[list[int]] = []
    for start in range(n_teacher - n_student + 1):
        # n_student points spread evenly over [start, n_teacher - 1] (first and last included)
        pts = np.linspace(start, n_teacher - 1, n_student).round().astype(int).tolist()
        if len(set(pts)) == n_student:
            maps.append(pts)
        stride = [start + 2 * i for i in range(n_student) if start + 2 * i < n_teacher]
        if len(stride) == n_student:
            maps.append(stride)
            maps.append(stride[:-1] + [n_teacher - 1] if stride[-1] != n_teacher - 1 else stride)
    if n_teacher == 12 and n_student == 6:
        maps.append([0, 2, 4, 7, 9, 11])  # the released DistilBERT's map
    unique = sorted({tuple(m) for m in maps if sorted(set(m)) == m})
    return [list(m) for m in unique]


@torch.no_grad()
def score_maps(teacher, info, batches: list[tuple[torch.Tensor, torch.Tensor]], n_student: int, *, build_student,
               encoder_of, progress=None) -> list[Candidate]:
    """Agreement of each candidate copy with the teacher on `batches` of (input_ids, attention_mask), best first.

    build_student(teacher, info, layers) and encoder_of(model) come from student_init, which calls this module
    (passed in rather than imported back, so the two modules form no import cycle).
    """
    encoder = encoder_of(teacher).eval()
    t_out = [encoder(input_ids=ids, attention_mask=attn).last_hidden_state.float() for ids, attn in batches]
    maps = candidate_maps(info.n_layers, n_student)
    scored = []
    for i, layers in enumerate(maps):
        student = build_student(teacher, info, layers).eval()
        sums = [agreement_sums(student.distilbert(input_ids=ids, attention_mask=attn).last_hidden_state, t_hidden, attn)
                for (ids, attn), t_hidden in zip(batches, t_out)]  # per batch: (tok cos sum, tokens, pooled sum, seqs)
        tok, n_tok, pooled, n_seq = (sum(col) for col in zip(*sums))
        scored.append(Candidate(layers, pooled / max(n_seq, 1), tok / max(n_tok, 1)))
        if progress is not None:
            progress(i + 1, len(maps), scored[-1])
    return sorted(scored, key=lambda c: (-c.pooled_cos, -c.token_cos))


def _span_agreement(s_out, t_out, attn: torch.Tensor) -> tuple[float, float]:
    """(sum of KL, sum of top-1 matches) over the windows of one batch, start and end averaged."""
    real = attn.bool()  # (bs, seq)
    kl_sum = top1_sum = 0.0
    for name in ("start_logits", "end_logits"):
        s_logits = getattr(s_out, name).float().masked_fill(~real, float("-inf"))  # (bs, seq)
        t_logits = getattr(t_out, name).float().masked_fill(~real, float("-inf"))
        s_logp, t_logp = s_logits.log_softmax(-1), t_logits.log_softmax(-1)
        kl = (t_logp.exp() * (t_logp - s_logp)).masked_fill(~real, 0.0).sum(-1)  # (bs,)
        kl_sum += float(kl.sum()) / 2
        top1_sum += float((s_logits.argmax(-1) == t_logits.argmax(-1)).float().sum()) / 2
    return kl_sum, top1_sum


@torch.no_grad()
def score_maps_qa(teacher, info, batches: list[dict], n_student: int, *, build_student, progress=None) -> list[QACandidate]:
    """Each candidate copy (span head included) against the SQuAD teacher on `batches` of window inputs, best first."""
    from pocketbert.core.model_io import forward_inputs

    teacher.eval()
    t_out = [teacher(**forward_inputs(teacher, b)) for b in batches]
    n = sum(len(b["input_ids"]) for b in batches)
    scored = []
    maps = candidate_maps(info.n_layers, n_student)
    for i, layers in enumerate(maps):
        student = build_student(teacher, info, layers).eval()
        sums = [_span_agreement(student(**forward_inputs(student, b)), t, b["attention_mask"])
                for b, t in zip(batches, t_out)]
        kl, top1 = (sum(col) for col in zip(*sums))
        scored.append(QACandidate(layers, kl / max(n, 1), top1 / max(n, 1)))
        if progress is not None:
            progress(i + 1, len(maps), scored[-1])
    return sorted(scored, key=lambda c: (c.qa_kl, -c.qa_top1))


def squad_batches(tokenizer, squad_file, max_len: int = QA_SAMPLE_MAX_LEN,
                  doc_stride: int = QA_SAMPLE_DOC_STRIDE) -> list[dict]:
    """Up to SAMPLE_SEQUENCES windows of questions spread over a SQuAD file (inputs only: answers are not read),
    sorted by length and cut to each batch's longest window."""
    from pocketbert.core.qa import make_features
    from pocketbert.core.squad import read_squad

    examples = read_squad(squad_file)
    stride = max(1, len(examples) // SAMPLE_SEQUENCES)  # every article, not the first few
    rows = []
    for ex in examples[::stride]:
        f = make_features(tokenizer, ex.question, ex.context, max_len, doc_stride)
        rows += [{k: torch.as_tensor(np.asarray(getattr(f, k)[w])) for k in ("input_ids", "attention_mask",
                                                                             "token_type_ids")}
                 for w in range(f.n_windows)]
    rows = sorted(rows[:SAMPLE_SEQUENCES], key=lambda r: int(r["attention_mask"].sum()))
    out = []
    for lo in range(0, len(rows), SAMPLE_BATCH):
        group = rows[lo:lo + SAMPLE_BATCH]
        longest = max(int(r["attention_mask"].sum()) for r in group)
        out.append({k: torch.stack([r[k][:longest] for r in group]) for k in group[0]})  # (bs, longest)
    return out


def sample_batches(tokenizer, texts: list[str], max_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Up to SAMPLE_SEQUENCES texts as padded batches (sorted by length: little padding)."""
    texts = sorted(texts[:SAMPLE_SEQUENCES], key=len)
    out = []
    for lo in range(0, len(texts), SAMPLE_BATCH):
        enc = tokenizer(texts[lo:lo + SAMPLE_BATCH], truncation=True, max_length=max_len, padding=True,
                        return_tensors="pt")
        out.append((enc["input_ids"], enc["attention_mask"]))
    return out


def prepared_batches(data_dir, pad_id: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches from the held-out slice of a prepared dir (the sequences distillation will never train on)."""
    data = PreparedData(data_dir)
    _, held = holdout_split(len(data), SAMPLE_SHARE) if len(data) > SMALL_DATA else (None, np.arange(len(data)))
    held = held[:SAMPLE_SEQUENCES]
    held = held[np.argsort(data.lengths[held], kind="stable")]
    pad = int(data.meta.get("pad_token_id") or 0) if pad_id is None else pad_id
    return [data.collate([int(i) for i in held[lo:lo + SAMPLE_BATCH]], pad) for lo in range(0, len(held), SAMPLE_BATCH)]
