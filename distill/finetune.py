"""Task fine-tuning (SQuAD-style QA, GLUE-style classification) with an optional distillation teacher.

Loss (DistilBERT's task-specific distillation): (1 - alpha_kd) * CE(labels) + alpha_kd * KL(teacher/T || student/T) * T^2,
with KL = sum p_teacher * (log p_teacher - log p_student), computed from log-softmaxes on both sides so it is
exactly 0 when the two models produce the same logits. QA averages the start and end terms.
With `alpha_hidden > 0` the student's hidden states are also pulled towards the teacher's (+ alpha_hidden * mean
over mapped layers of 1 - cos, per real token; TinyBERT's intermediate-layer task distillation, with DistilBERT's
cosine instead of MSE: scale-free, so one weight means the same for models of any width or hidden-state norm). A student
copied from the teacher's layers carries the teacher's task head, and that head reads the last hidden state: the
term keeps what the head reads close to what it was trained on.
Everything that can be wrong with the inputs is checked before the first step, and the output dir is written
atomically, so a bad input never leaves a half-trained model behind.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pocketbert.core.atomic import atomic_output_dir, write_json
from pocketbert.core.errors import PocketbertError
from pocketbert.core.model_io import CLS_HEAD, INPUT_NAMES, QA_HEAD, cls_tensors, forward_inputs, pick_device
from pocketbert.core.models import load_config, load_model, load_tokenizer, save_tokenizer
from pocketbert.core.outputs import Marker, check_output_dir
from pocketbert.core.qa import DEFAULT_DOC_STRIDE, DEFAULT_MAX_LEN, DEFAULT_MAX_QUERY_LEN, make_features
from pocketbert.core.squad import QAExample, read_squad, squad_metrics
from pocketbert.distill import checkpoint as ckpt
from pocketbert.distill import augment, finetune_resume, losses
from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.progress import duration
from pocketbert.distill.training import (linear_warmup_decay, param_groups, resolve_precision, seed_everything,
                                         set_attention_dropout)

OTHER_HEADS = {"qa": CLS_HEAD, "cls": QA_HEAD}
# Length grouping: each run of this many batches is sorted by length before it is cut into batches, so a batch's
# windows have similar lengths and dynamic padding (trim_padding) removes most of the padding; the batch order is
# shuffled again afterwards, so the model still sees lengths in random order. (DistilBERT's group_by_size idea.)
GROUP_BATCHES = 50
# Teacher outputs that have one value per token (cut to the batch's length with its inputs); others are per row.
PER_TOKEN_OUTPUTS = frozenset({"start_logits", "end_logits"})
TEACHER_OUTPUTS = ("start_logits", "end_logits", "logits")
# Without a terminal (logs, CI, `make qa-models > run.log`) tqdm is off; a plain line this often says where we are.
LOG_EVERY_S = 60.0
# Every fine-tuned dir carries its results; `--force` replaces only such dirs (pocketbert.core.outputs).
MARKER = Marker("finetune", "eval_results.json", ("task", "train_examples"))
# QA with --eval: each eval question's answer text by id (Hugging Face run_qa.py's eval_predictions.json), so two
# models' answers can be compared question by question (qa-models' interval of the student's share).
PREDICTIONS_FILE = "eval_predictions.json"


@dataclass
class TrainConfig:
    epochs: float = 2.0
    lr: float = 5e-5
    warmup: float = 0.1
    batch_size: int = 16
    grad_accum: int = 1
    max_steps: int | None = None
    seed: int = 42
    weight_decay: float = 0.01
    alpha_kd: float = 0.5
    temperature: float = 2.0
    limit_train: int | None = None
    limit_eval: int | None = None
    device: str = "auto"
    group_by_length: bool = True
    alpha_hidden: float = 0.0       # weight of the hidden-state cosine term (needs a teacher of the same width)
    # The teacher's logits of every training row computed once before the first step instead of once per step per
    # epoch (the teacher is frozen and in eval mode, so they are the same each epoch): ~40% of a 3-layer student's
    # step is the 6-layer teacher's forward. Off with the hidden-state term, which needs the teacher's hidden states.
    cache_teacher: bool = True
    # Training checkpoints in OUT.training/ (finetune_resume.py) for --resume: every N optimizer steps, or with
    # checkpoint_every 0 after every checkpoint_minutes of training (a step's cost varies ~3x between models, so
    # time is the default); both 0: none. They do not change the trajectory, so a resume may change them.
    checkpoint_every: int = 0
    checkpoint_minutes: float = 10.0
    # With a teacher: this many masked copies of every training row join the data (distill/augment.py), labelled by
    # the teacher's distributions; an epoch is then (1 + copies) x the rows. 0: off.
    augment_copies: int = 0
    augment_mask: float = augment.DEFAULT_MASK_PROB  # probability that a word of a copy is replaced by [MASK]
    # "fp32", "bf16" (autocast: the forwards in bf16; weights, optimizer and losses stay fp32) or "auto" (bf16 where
    # the device multiplies it in hardware, training.native_bf16); the results record which ran.
    precision: str = "fp32"
    # Dropout on the attention probabilities while training (None: the model's own, 0.1 for BERT). 0 lets CPU
    # attention use its fused kernel (training.set_attention_dropout); the saved config keeps the model's value.
    attention_dropout: float | None = None

    @classmethod
    def from_kwargs(cls, kw: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kw.items() if k in names})


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher/T || student/T) * T^2 averaged over the batch rows; exactly 0 for identical logits.

    The distillation soft-target loss itself (losses.soft_target_kl) over every row of (bs, n) logits.
    """
    every_row = torch.ones(student_logits.shape[:-1], dtype=torch.bool, device=student_logits.device)  # (bs,)
    return losses.soft_target_kl(student_logits, teacher_logits, every_row, temperature)


def qa_losses(student_out, batch: dict, teacher_out=None, temperature: float = 2.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(CE, KD) for a QA batch: start/end cross-entropy and, with a teacher, start/end distillation (means)."""
    ce = (F.cross_entropy(student_out.start_logits, batch["start_positions"])
          + F.cross_entropy(student_out.end_logits, batch["end_positions"])) / 2
    if teacher_out is None:
        return ce, None
    kd = (kd_loss(student_out.start_logits, teacher_out.start_logits, temperature)
          + kd_loss(student_out.end_logits, teacher_out.end_logits, temperature)) / 2
    return ce, kd


def hidden_pairs(n_teacher_layers: int, n_student_layers: int) -> list[tuple[int, int]]:
    """[(teacher_state, student_state)]: student layer k stands for the teacher's block ending at k * T / S.

    Indices into `hidden_states` (0 = embeddings, k = output of layer k); the last student layer always maps to the
    teacher's last, whose output the (copied) task head was trained to read. 6 -> 3 layers: (2, 1), (4, 2), (6, 3).
    """
    return [(round(k * n_teacher_layers / n_student_layers), k) for k in range(1, n_student_layers + 1)]


def hidden_loss(student_out, teacher_out, batch: dict, pairs: list[tuple[int, int]]) -> torch.Tensor:
    """Mean over `pairs` of (1 - cos) between student and teacher hidden states at real (unpadded) tokens."""
    keep = batch["attention_mask"].bool()  # (bs, seq)
    per_pair = [losses.cosine_loss(student_out.hidden_states[s], teacher_out.hidden_states[t], keep)  # (bs, seq, dim)
                for t, s in pairs]
    return torch.stack(per_pair).mean()


def check_hidden_distillation(cfg: "TrainConfig", student: str, teacher: str | None) -> None:
    """--alpha-hidden needs a teacher, a student no deeper than it, and the same hidden width (cosine per token)."""
    if cfg.alpha_hidden <= 0:
        return
    if not teacher:
        raise PocketbertError("--alpha-hidden distills hidden states from a teacher; pass --teacher or drop --alpha-hidden")
    s_cfg, t_cfg = load_config(student), load_config(teacher)
    if s_cfg.hidden_size != t_cfg.hidden_size:
        raise PocketbertError(f"--alpha-hidden needs student and teacher of the same hidden size; the student has "
                              f"{s_cfg.hidden_size}, the teacher {t_cfg.hidden_size}: use --alpha-hidden 0")
    if s_cfg.num_hidden_layers > t_cfg.num_hidden_layers:
        raise PocketbertError(f"--alpha-hidden maps student layers onto teacher layers; the student has "
                              f"{s_cfg.num_hidden_layers}, more than the teacher's {t_cfg.num_hidden_layers}")


def cls_losses(student_out, batch: dict, teacher_out=None, temperature: float = 2.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    ce = F.cross_entropy(student_out.logits, batch["labels"])
    if teacher_out is None:
        return ce, None
    return ce, kd_loss(student_out.logits, teacher_out.logits, temperature)


def check_max_len(max_len: int, *models: str | None) -> None:
    """--max-len fits every model's position table (checked before tokenizing, not as an index error mid-step)."""
    if max_len < 8:
        raise PocketbertError(f"--max-len {max_len} is too short for real input; use at least 8")
    for m in filter(None, models):
        max_pos = getattr(load_config(m), "max_position_embeddings", None)
        if max_pos is not None and max_len > max_pos:
            raise PocketbertError(f"--max-len {max_len} is larger than {m}'s max_position_embeddings ({max_pos}); "
                                  f"use at most {max_pos}")


def check_head(model: str, task: str, role: str = "model") -> None:
    """A classifier given to `finetune qa` (or a QA model to `finetune cls`) is an error, not a silent new head."""
    archs = getattr(load_config(model), "architectures", None) or []
    wrong = OTHER_HEADS[task]
    if any(a.endswith(wrong) for a in archs):
        other = "cls" if task == "qa" else "qa"
        raise PocketbertError(
            f"{role} {model} is a {other} model ({archs[0]}), not usable for {task}; pass a base, masked-LM or {task} model")


def check_teacher(teacher: str, task: str, student_tok) -> None:
    """The teacher must already be a fine-tuned model of the same task and share the student's vocabulary."""
    head = QA_HEAD if task == "qa" else CLS_HEAD
    archs = getattr(load_config(teacher), "architectures", None) or []
    if not any(a.endswith(head) for a in archs):
        raise PocketbertError(f"teacher {teacher} is not a fine-tuned {task} model ({archs or 'no architectures'}); "
                              f"fine-tune it first with `pocketbert finetune {task}`")
    if load_tokenizer(teacher).get_vocab() != student_tok.get_vocab():
        raise PocketbertError(f"teacher {teacher} has a different vocabulary from the student; distill between models "
                              "that share a tokenizer")


# ---------------------------------------------------------------------------------------------------------------- QA
def qa_train_features(tokenizer, examples: list[QAExample], max_len: int, doc_stride: int, max_query_len: int) -> dict:
    """run_qa-style training windows: start/end token of the (first) answer, or [CLS] (0) when it is not inside."""
    rows = {k: [] for k in (*INPUT_NAMES, "start_positions", "end_positions")}
    for ex in examples:
        feats = make_features(tokenizer, ex.question, ex.context, max_len, doc_stride, max_query_len)
        a_start = ex.answer_starts[0]
        a_end = a_start + len(ex.answers[0])
        for w in range(feats.n_windows):
            cs, ce = feats.context_start[w], feats.context_end[w]
            offs = feats.offsets[w]
            start_pos = end_pos = 0
            if offs[cs][0] <= a_start and offs[ce - 1][1] >= a_end:
                start_pos = max(p for p in range(cs, ce) if offs[p][0] <= a_start)
                end_pos = min(p for p in range(cs, ce) if offs[p][1] >= a_end)
            for k in INPUT_NAMES:
                rows[k].append(getattr(feats, k)[w])
            rows["start_positions"].append(start_pos)
            rows["end_positions"].append(end_pos)
    return {k: torch.as_tensor(np.stack(v) if k in INPUT_NAMES else np.array(v)) for k, v in rows.items()}


def trim_padding(batch: dict) -> dict:
    """Dynamic padding: cut the (bs, seq) inputs to the longest real sequence of this batch.

    Windows are padded to max_len when built; most SQuAD windows are far shorter, and attention/FFN cost grows
    with the padded length, so a batch of 120-token windows at max_len 256 would pay twice for nothing. Padding is
    always at the end (core.qa windows), so labels (positions inside the context) stay valid.
    """
    if "attention_mask" not in batch:
        return batch
    longest = max(1, int(batch["attention_mask"].sum(1).max()))
    return {k: v[:, :longest] if k in INPUT_NAMES else v for k, v in batch.items()}  # (bs, seq) -> (bs, longest)


def epoch_batches(lengths: torch.Tensor, batch_size: int, gen: torch.Generator, group_by_length: bool) -> list[torch.Tensor]:
    """One epoch's batches of row indices: a random permutation, optionally grouped by length (GROUP_BATCHES).

    lengths: (n,) real tokens per row. Deterministic given the generator's state, like distill's sampler.
    """
    perm = torch.randperm(len(lengths), generator=gen)  # (n,)
    if not group_by_length:
        return list(perm.split(batch_size))
    batches: list[torch.Tensor] = []
    for chunk in perm.split(batch_size * GROUP_BATCHES):
        chunk = chunk[torch.argsort(lengths[chunk], descending=True, stable=True)]  # longest first in this group
        batches.extend(chunk.split(batch_size))
    order = torch.randperm(len(batches), generator=gen)
    return [batches[i] for i in order]


def autocast_for(precision: str, device):
    """The forward pass's context for a resolved precision: bf16 autocast, or nothing for fp32."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


def float32_outputs(out):
    """A model output with its floating tensors (and tuples of them: hidden states) in fp32, so that the losses are
    computed in fp32 after a bf16 forward (a bf16 log-softmax over 256 positions loses the soft targets' tails).
    Anything else (None, the cached teacher outputs, already fp32) is returned as it is (a Hugging Face ModelOutput
    is a dict; the cache's namespace is not)."""
    if not isinstance(out, dict):
        return out
    to32 = lambda v: v.float() if torch.is_tensor(v) and v.is_floating_point() else v  # noqa: E731
    for key, value in list(out.items()):
        out[key] = tuple(map(to32, value)) if isinstance(value, tuple) else to32(value)
    return out


@torch.no_grad()
def teacher_logits(teacher, tensors: dict, batch_size: int, device, desc: str,
                   precision: str = "fp32") -> dict[str, torch.Tensor]:
    """The teacher's TEACHER_OUTPUTS for every row, at the full padded length, on the CPU: {name: (n, ...)}.

    Full length, not cut per batch: a row's per-token logits at padded positions enter the start/end softmax of any
    training batch longer than the row, and they depend on the row (its real tokens are attended to), so they are
    computed once for every position up to max_len. Padded keys get a zero attention weight, so the logits at each
    position equal those of the same row in a shorter cut (up to float summation order).
    """
    from tqdm.auto import tqdm

    n = len(next(iter(tensors.values())))
    parts: dict[str, list[torch.Tensor]] = {}
    for start in tqdm(range(0, n, batch_size), desc=f"{desc}: teacher logits", unit="batch", disable=None):
        batch = {k: v[start:start + batch_size].to(device) for k, v in tensors.items()}
        with autocast_for(precision, device):
            out = teacher(**forward_inputs(teacher, batch))
        for name in TEACHER_OUTPUTS:
            value = getattr(out, name, None)
            if value is not None:
                parts.setdefault(name, []).append(value.float().cpu())  # (bs, seq) or (bs, labels)
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def cached_outputs(cache: dict[str, torch.Tensor], idx: torch.Tensor, seq: int, device):
    """The cached teacher outputs of rows `idx`, per-token ones cut to the batch's `seq` (trim_padding's cut)."""
    from types import SimpleNamespace

    return SimpleNamespace(**{name: (v[idx, :seq] if name in PER_TOKEN_OUTPUTS else v[idx]).to(device)
                              for name, v in cache.items()})


def teacher_outputs(teacher, cache: dict[str, torch.Tensor] | None, idx: torch.Tensor, batch: dict, device,
                    hidden_states: bool = False):
    """The teacher's outputs for a (cut) batch of rows `idx`: from the cache when there is one, else a forward."""
    if cache is not None:
        return cached_outputs(cache, idx, batch["input_ids"].shape[1], device)
    with torch.no_grad():
        return teacher(**forward_inputs(teacher, batch), output_hidden_states=hidden_states)


def _checkpoint_due(cfg: TrainConfig, step: int, since_s: float, last: bool) -> bool:
    if last:
        return False  # OUT itself is written next
    if cfg.checkpoint_every:
        return step % cfg.checkpoint_every == 0
    return cfg.checkpoint_minutes > 0 and since_s >= cfg.checkpoint_minutes * 60


def train_loop(model, tensors: dict, cfg: TrainConfig, loss_fn, teacher=None, desc: str = "finetune",
               checkpoints=None, resume_state: dict | None = None, stop_after_step: int | None = None) -> dict:
    """AdamW + linear warmup/decay over shuffled batches, grad accumulation, max_steps; returns training stats.

    With `checkpoints` (finetune_resume.RunCheckpoints) the state is checkpointed after optimizer steps
    (TrainConfig.checkpoint_every / checkpoint_minutes); `resume_state` (a checkpoint of the same run,
    finetune_resume.load) continues it so that the result equals the uninterrupted run's. `stop_after_step` (tests)
    dies after that step's checkpoint.
    """
    from tqdm.auto import tqdm

    device = pick_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    model.to(device).train()
    if cfg.attention_dropout is not None:
        set_attention_dropout(model, cfg.attention_dropout)
    if teacher is not None:
        teacher.to(device).eval()
    if device.type == "cpu":  # fp32 forward GEMMs through oneDNN: ~1.4x on CPU, same weights and files (cpu_linear.py)
        for m in (model, teacher):
            if m is not None:
                use_onednn_linears(m)
    n = len(next(iter(tensors.values())))
    batches_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = max(1, math.ceil(batches_per_epoch * cfg.epochs / cfg.grad_accum))
    if cfg.max_steps:  # as in HF's Trainer, max_steps overrides epochs
        total_steps = cfg.max_steps
    optim = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    sched = linear_warmup_decay(optim, int(cfg.warmup * total_steps), total_steps, first_step_at_zero=True)
    gen = torch.Generator().manual_seed(cfg.seed)
    step = micro = counted = 0
    sums = {"loss": 0.0, "ce": 0.0, "kd": 0.0, "hidden": 0.0}
    epoch_gen, taken = gen.get_state(), 0  # the sampler position: generator state at the epoch's start, batches taken
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optim.load_state_dict(resume_state["optimizer"])
        sched.load_state_dict(resume_state["scheduler"])
        epoch_gen, taken = resume_state["sampler"]["epoch_generator"], int(resume_state["sampler"]["taken"])
        step = int(resume_state["step"])
        micro = step * cfg.grad_accum  # a checkpoint is taken right after an optimizer step
        counted = int(resume_state["counted"])
        sums = {k: float(v) for k, v in resume_state["sums"].items()}
    use_hidden = teacher is not None and cfg.alpha_hidden > 0
    pairs = hidden_pairs(teacher.config.num_hidden_layers, model.config.num_hidden_layers) if use_hidden else []
    cache = None
    # Worth it only when a row is seen more than once (a row's logits cost a full-length forward once).
    passes = total_steps * cfg.grad_accum / batches_per_epoch
    if teacher is not None and cfg.cache_teacher and not use_hidden and passes > 1:
        t0 = time.perf_counter()
        cache = teacher_logits(teacher, tensors, cfg.batch_size, device, desc, precision)
        if sys.stderr is not None and not sys.stderr.isatty():
            print(f"{desc}: teacher logits of {n} rows computed once in {duration(time.perf_counter() - t0)}",
                  file=sys.stderr, flush=True)
    if resume_state is not None:  # after the cache: its forwards draw no random numbers, but keep the order anyway
        ckpt.set_rng_state(resume_state["rng"])
        print(f"{desc}: resumed at step {step}/{total_steps}", file=sys.stderr, flush=True)
    bar = tqdm(total=total_steps, initial=step, desc=desc, unit="step", disable=None)
    started = last_line = last_ckpt = time.perf_counter()
    first_step = step
    lengths = tensors["attention_mask"].sum(1) if "attention_mask" in tensors else torch.ones(n)  # (n,)
    while step < total_steps:
        gen.set_state(epoch_gen)
        batches = epoch_batches(lengths, cfg.batch_size, gen, cfg.group_by_length)
        for idx in batches[taken:]:
            taken += 1
            batch = trim_padding({k: v[idx] for k, v in tensors.items()})
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast_for(precision, device):  # forwards only: losses and backward in fp32 (float32_outputs)
                out = model(**forward_inputs(model, batch), output_hidden_states=use_hidden)
                t_out = None if teacher is None else teacher_outputs(teacher, cache, idx, batch, device, use_hidden)
            out, t_out = float32_outputs(out), float32_outputs(t_out)
            ce, kd = loss_fn(out, batch, t_out, cfg.temperature)
            loss = ce if kd is None else (1 - cfg.alpha_kd) * ce + cfg.alpha_kd * kd
            if use_hidden:
                hid = hidden_loss(out, t_out, batch, pairs)
                loss = loss + cfg.alpha_hidden * hid
                sums["hidden"] += hid.item()
            (loss / cfg.grad_accum).backward()
            sums["loss"] += loss.item()
            sums["ce"] += ce.item()
            sums["kd"] += kd.item() if kd is not None else 0.0
            counted += 1
            micro += 1
            if micro % cfg.grad_accum == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                optim.zero_grad(set_to_none=True)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{sums['loss'] / counted:.3f}")
                now = time.perf_counter()
                if checkpoints is not None and _checkpoint_due(cfg, step, now - last_ckpt, step >= total_steps):
                    checkpoints.save(step, {
                        "model": model.state_dict(), "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                        "sampler": {"epoch_generator": epoch_gen, "taken": taken}, "counted": counted, "sums": sums})
                    last_ckpt = now
                if stop_after_step is not None and step == stop_after_step:
                    raise finetune_resume.FinetuneInterrupted(f"stopped after step {step} as asked")
                if bar.disable and (now - last_line >= LOG_EVERY_S or step == total_steps):
                    per_step = (now - started) / (step - first_step)
                    print(f"{desc}: step {step}/{total_steps}, loss {sums['loss'] / counted:.3f}, "
                          f"{per_step:.2f} s/step, ETA {duration(per_step * (total_steps - step))}",
                          file=sys.stderr, flush=True)
                    last_line = now
                if step >= total_steps:
                    break
        else:  # the epoch is used up: the next one starts from the generator's state now
            epoch_gen, taken = gen.get_state(), 0
    bar.close()
    model.eval()
    stats = {"train_steps": step, "train_features": n, "train_loss": sums["loss"] / max(counted, 1),
             "train_ce_loss": sums["ce"] / max(counted, 1), "train_precision": precision,
             "train_attention_dropout": cfg.attention_dropout}
    if teacher is not None:
        stats["train_kd_loss"] = sums["kd"] / max(counted, 1)
    if use_hidden:
        stats["train_hidden_loss"] = sums["hidden"] / max(counted, 1)
        stats["hidden_pairs"] = [list(p) for p in pairs]
    return stats


def _train(out: Path, cfg: TrainConfig, task: str, tensors: dict, student, t_model, loss_fn, lengths: dict,
           resume: str, resuming: bool, stop_after_step: int | None) -> dict:
    """train_loop with OUT's checkpoints: continued from the newest when `resuming` and it is this run.

    "auto" precision is resolved first, so the fingerprint says what runs: a checkpoint taken in bf16 is not
    continued in fp32 on another machine."""
    cfg = dataclasses.replace(cfg, precision=resolve_precision(cfg.precision, pick_device(cfg.device)))
    fp = finetune_resume.fingerprint(cfg, task, tensors, student, t_model, lengths)
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    state = finetune_resume.load(out, fp, strict=resume == finetune_resume.RESUME, say=say) if resuming else None
    checkpoints = finetune_resume.RunCheckpoints(out, fp, resumed=state is not None)
    return train_loop(student, tensors, cfg, loss_fn, t_model, desc=f"finetune {task}", checkpoints=checkpoints,
                      resume_state=state, stop_after_step=stop_after_step)


def finetune_qa(model: str, train_file: Path, eval_file: Path | None, out: Path, cfg: TrainConfig,
                teacher: str | None = None, force: bool = False, max_len: int = DEFAULT_MAX_LEN,
                doc_stride: int = DEFAULT_DOC_STRIDE, max_query_len: int = DEFAULT_MAX_QUERY_LEN,
                resume: str = "fresh", stop_after_step: int | None = None) -> dict:
    """Fine-tune `model` on SQuAD JSON; save an AutoModelForQuestionAnswering dir + eval_results.json to `out`.

    resume: "fresh" (an interrupted run's checkpoints refused unless force), "resume" (continue them; another run's
    refused) or "if-same" (continue them when they are this run's, else start over: qa-models' steps).
    """
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.distill.evaluate import qa_predictions

    replacing = check_output_dir(Path(out), force, MARKER, inputs=[model, teacher, train_file, eval_file])
    resuming = finetune_resume.prepare(Path(out), resume, force)
    check_max_len(max_len, model, teacher)
    train = read_squad(train_file, cfg.limit_train)
    dev = read_squad(eval_file, cfg.limit_eval) if eval_file else None
    tokenizer = load_tokenizer(model)
    check_head(model, "qa")
    if teacher:
        check_teacher(teacher, "qa", tokenizer)
    check_hidden_distillation(cfg, model, teacher)
    augment.check_augment(cfg.augment_copies, cfg.augment_mask, teacher)
    seed_everything(cfg.seed)
    tensors = qa_train_features(tokenizer, train, max_len, doc_stride, max_query_len)
    tensors = augment.with_masked_copies(tensors, tokenizer, cfg.augment_copies, cfg.augment_mask, cfg.seed)
    student = load_model(AutoModelForQuestionAnswering, model)
    t_model = load_model(AutoModelForQuestionAnswering, teacher, what="teacher") if teacher else None
    with atomic_output_dir(Path(out), force=replacing) as tmp:
        results = {"task": "qa", "model": str(model), "teacher": teacher, "alpha_kd": cfg.alpha_kd if teacher else 0.0,
                   "alpha_hidden": cfg.alpha_hidden if teacher else 0.0, "temperature": cfg.temperature,
                   "train_examples": len(train),
                   **augment.recorded_settings(cfg.augment_copies, cfg.augment_mask)}
        results.update(_train(Path(out), cfg, "qa", tensors, student, t_model, qa_losses,
                              {"max_len": max_len, "doc_stride": doc_stride, "max_query_len": max_query_len},
                              resume, resuming, stop_after_step))
        if dev is not None:
            predictions = qa_predictions(student, tokenizer, dev, max_len=max_len, doc_stride=doc_stride,
                                         max_query_len=max_query_len, device=pick_device(cfg.device))
            results.update({f"eval_{k}": v for k, v in squad_metrics(dev, predictions).items()})
            write_json(tmp / PREDICTIONS_FILE, predictions)
        student.to("cpu").save_pretrained(tmp)
        save_tokenizer(tokenizer, tmp)
        write_json(tmp / MARKER.file, results)
    finetune_resume.finish(Path(out))
    return results


# --------------------------------------------------------------------------------------------------------------- cls
def finetune_cls(model: str, train_file: Path, eval_file: Path | None, out: Path, cfg: TrainConfig,
                 teacher: str | None = None, force: bool = False, max_len: int = 128, resume: str = "fresh",
                 stop_after_step: int | None = None) -> dict:
    """Fine-tune `model` on a GLUE-style TSV; save an AutoModelForSequenceClassification dir + eval_results.json.

    resume: as finetune_qa's.
    """
    from transformers import AutoModelForSequenceClassification

    from pocketbert.core.datasets_io import read_cls_tsv
    from pocketbert.distill.evaluate import cls_scores

    replacing = check_output_dir(Path(out), force, MARKER, inputs=[model, teacher, train_file, eval_file])
    resuming = finetune_resume.prepare(Path(out), resume, force)
    check_max_len(max_len, model, teacher)
    train = read_cls_tsv(train_file, cfg.limit_train)
    dev = read_cls_tsv(eval_file, cfg.limit_eval) if eval_file else None
    num_labels = max(train.num_labels, dev.num_labels if dev else 0, 2)
    tokenizer = load_tokenizer(model)
    check_head(model, "cls")
    config = load_config(model)
    if any(a.endswith(CLS_HEAD) for a in (config.architectures or [])) and config.num_labels != num_labels:
        raise PocketbertError(f"model {model} classifies {config.num_labels} labels but the data has {num_labels}; "
                              "start from a base or masked-LM model")
    if teacher:
        check_teacher(teacher, "cls", tokenizer)
        if load_config(teacher).num_labels != num_labels:
            raise PocketbertError(f"teacher {teacher} has {load_config(teacher).num_labels} labels, the data {num_labels}")
    check_hidden_distillation(cfg, model, teacher)
    augment.check_augment(cfg.augment_copies, cfg.augment_mask, teacher)
    seed_everything(cfg.seed)
    tensors = cls_tensors(tokenizer, train.texts, max_len)
    tensors["labels"] = torch.tensor(train.labels)
    tensors = augment.with_masked_copies(tensors, tokenizer, cfg.augment_copies, cfg.augment_mask, cfg.seed)
    student = load_model(AutoModelForSequenceClassification, model, num_labels=num_labels)
    t_model = load_model(AutoModelForSequenceClassification, teacher, what="teacher") if teacher else None
    with atomic_output_dir(Path(out), force=replacing) as tmp:
        results = {"task": "cls", "model": str(model), "teacher": teacher, "alpha_kd": cfg.alpha_kd if teacher else 0.0,
                   "alpha_hidden": cfg.alpha_hidden if teacher else 0.0, "temperature": cfg.temperature,
                   "train_examples": len(train.labels), "num_labels": num_labels,
                   **augment.recorded_settings(cfg.augment_copies, cfg.augment_mask)}
        results.update(_train(Path(out), cfg, "cls", tensors, student, t_model, cls_losses, {"max_len": max_len},
                              resume, resuming, stop_after_step))
        if dev is not None:
            results.update({f"eval_{k}": v for k, v in cls_scores(student, tokenizer, dev, max_len=max_len,
                                                                  device=pick_device(cfg.device)).items()})
        student.to("cpu").save_pretrained(tmp)
        save_tokenizer(tokenizer, tmp)
        write_json(tmp / MARKER.file, results)
    finetune_resume.finish(Path(out))
    return results
