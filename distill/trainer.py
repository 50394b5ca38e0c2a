"""`pocketbert distill`: the DistilBERT training loop (triple loss, dynamic masking, accumulation, DDP, resume).

The loop is written so that a resumed run is the uninterrupted run: checkpoints are taken only at optimizer-step
boundaries, the data order is a pure function of (seed, epoch, position), and every RNG is saved and restored.
Under DDP (torchrun / accelerate launch; gloo on CPU) all ranks run the same number of micro-batches, gradients
are synchronized on the last micro-batch of each accumulation only, and rank 0 alone writes files.

`distill()` = `check_inputs` (nothing is written before every input is checked) + a `Distiller`, whose methods are
the run's named steps: setup_models / setup_optimization / setup_validation / load_checkpoint, then per optimizer
step `accumulate` (next_indices -> batch -> step_loss -> backward, x accum), optimizer_step, log_step, validate,
checkpoint; finish. Which loss terms run, and what each needs from the forwards, is the table in loss_terms.py.
"""
from __future__ import annotations

import math
import random
import shutil
import subprocess
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn
from transformers import AutoModelForMaskedLM

from pocketbert import __version__
from pocketbert.core.atomic import atomic_output_dir, write_json
from pocketbert.core.errors import PocketbertError
from pocketbert.core.models import load_config, load_tokenizer, resolve_model, save_tokenizer
from pocketbert.core.outputs import Marker
from pocketbert.distill import checkpoint as ckpt
from pocketbert.distill import loss_terms
from pocketbert.distill import validation as val
from pocketbert.distill.config import DistillConfig
from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.data import GroupedBatchSampler, PreparedData
from pocketbert.distill.distributed import barrier, setup_distributed
from pocketbert.distill.masking import Masker, token_weights
from pocketbert.distill.progress import StepProgress
from pocketbert.distill.run_dir import check_resume_config, check_run_dir
from pocketbert.distill.run_log import RunLog
from pocketbert.distill.step_models import ProjectionCapture, StudentStep, Teacher, student_head
from pocketbert.distill.student_init import load_teacher, teacher_info
from pocketbert.distill.training import choose_precision, linear_warmup_decay, param_groups, seed_everything

RUN_CONFIG = "config.yaml"
RUN_INFO = "run.json"
SUMMARY = "train_summary.json"
FINAL_DIR = "final"
BEST_DIR = "best"
BEST_INFO = "best.json"


class TrainingInterrupted(RuntimeError):
    """Raised by the injected stop (tests, `--stop-after-step`): the run dies as if killed after a checkpoint."""


# --------------------------------------------------------------------------------------------- setup helpers
def code_version() -> dict:
    """pocketbert's version and, when the code is a git checkout, `git describe` (never required)."""
    info = {"pocketbert": __version__, "torch": torch.__version__}
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        res = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        if res.returncode == 0 and res.stdout.strip():
            info["git"] = res.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _check_student(student_dir: str, info):
    """The student's config, checked against the teacher (DistilBERT, same vocab, not wider)."""
    cfg = load_config(student_dir)
    if getattr(cfg, "model_type", None) != "distilbert":
        raise PocketbertError(
            f"student {student_dir} is a {getattr(cfg, 'model_type', None)!r} model; pass a DistilBERT dir made by "
            "`pocketbert init-student`"
        )
    if cfg.vocab_size != info.vocab_size:
        raise PocketbertError(f"student vocab {cfg.vocab_size} differs from the teacher's {info.vocab_size}; "
                              "initialize the student from this teacher")
    if cfg.dim > info.hidden_size:
        raise PocketbertError(f"student width {cfg.dim} is wider than the teacher ({info.hidden_size})")
    return cfg


def _validate_pairs(pairs, n_teacher: int, n_student: int) -> None:
    for t, s in pairs:
        if not (0 <= t <= n_teacher and 0 <= s <= n_student):
            raise PocketbertError(
                f"hidden_mse_pairs entry [{t}, {s}] does not fit: teacher hidden states 0..{n_teacher}, "
                f"student 0..{n_student} (0 = embeddings)"
            )


def _prepare_run_dir(out: Path, resume: bool, force: bool, inputs=(), final_dir: Path | None = None) -> None:
    """--force replaces only a run dir (run.json) or an empty dir, never an input (pocketbert.core.outputs)."""
    check_run_dir(out, resume, force, Marker("distill", RUN_INFO, ("code_version", "teacher")), inputs, final_dir)


# --------------------------------------------------------------------------------------------- the run's inputs
@dataclass
class RunInputs:
    """Everything `distill()` checked before writing anything: data, teacher facts, the split, the private config."""

    teacher_name: str
    student_dir: str
    data_dir: Path | str
    data: PreparedData
    info: object  # student_init.TeacherInfo
    val_data: PreparedData
    train_idx: np.ndarray
    val_idx: np.ndarray
    cfg: DistillConfig
    notices: list[str]
    eval_data: Path | None
    eval_sts: Path | None


def check_inputs(teacher_name: str, student_dir: str, data_dir: Path, config: DistillConfig,
                 eval_data: Path | None, eval_sts: Path | None) -> RunInputs:
    """Validate every input before anything is written; returns them with a private copy of the config.

    A teacher without an MLM head has no soft targets: the terms that read teacher logits are switched off, with
    a notice (the loss-term table says which terms those are).
    """
    data = PreparedData(Path(data_dir))
    info = teacher_info(load_config(teacher_name))
    s_cfg = _check_student(student_dir, info)
    if data.meta["vocab_size"] != info.vocab_size:
        raise PocketbertError(f"data in {data_dir} was tokenized with a {data.meta['vocab_size']}-word vocab, the teacher "
                              f"has {info.vocab_size}; re-run prepare with the teacher's tokenizer")
    longest = int(data.meta["longest"])
    max_pos = min(info.max_position_embeddings, s_cfg.max_position_embeddings)  # read from configs, no table
    if longest > max_pos:
        raise PocketbertError(f"data has sequences of {longest} tokens but the models accept {max_pos}; "
                              f"re-run prepare with --max-len {max_pos}")
    _validate_pairs(config.hidden_mse_pairs, info.n_layers, s_cfg.n_layers)
    val_data = PreparedData(Path(eval_data)) if eval_data is not None else data
    if eval_data is not None and val_data.meta["vocab_size"] != info.vocab_size:
        raise PocketbertError(f"--eval-data {eval_data} was tokenized with another vocab; prepare it with the teacher's")
    if eval_sts is not None and not Path(eval_sts).is_file():
        raise PocketbertError(f"--eval-sts {eval_sts} is not a file; pass an STS-B style file (e.g. sts-dev.csv)")
    if eval_data is not None:
        train_idx, val_idx = np.arange(len(data)), np.arange(min(len(val_data), val.MAX_HOLDOUT))
    else:
        train_idx, val_idx = val.holdout_split(len(data), config.holdout)
    notices = []
    cfg = DistillConfig(**config.to_dict()).validate()  # private copy: the caller's config is never mutated
    if not info.has_mlm_head:
        for term in loss_terms.active_terms(cfg):
            if term.needs_teacher_logits:
                notices.append(f"notice: the teacher {teacher_name} has no MLM head, so there are no soft targets: "
                               f"{term.alpha} {getattr(cfg, term.alpha)} -> 0")
                setattr(cfg, term.alpha, 0.0)
    return RunInputs(str(teacher_name), str(student_dir), data_dir, data, info, val_data, train_idx, val_idx,
                     cfg, notices, eval_data, eval_sts)


# --------------------------------------------------------------------------------------------- the distiller
class Distiller:
    """One run, in named steps (as the original HF distiller's methods): setup (models, optimization, validation,
    resume), then per optimizer step `accum` x (batch -> step) and optimizer_step, log, validate, checkpoint."""

    def __init__(self, run: RunInputs, out: Path, final_dir: Path, resume: bool, force: bool,
                 allow_config_change: bool, stop_after_step: int | None, echo) -> None:
        self.run, self.cfg, self.info = run, run.cfg, run.info
        self.out, self.final_dir = out, final_dir
        self.stop_after_step = stop_after_step
        self.dist = setup_distributed()
        self.say = echo if self.dist.is_main else (lambda *_a, **_k: None)
        for n in run.notices:
            self.say(n)
        self.device = self.dist.device
        if not resume and force and self.dist.is_main and out.is_dir():
            shutil.rmtree(out)
        if resume and not ckpt.list_checkpoints(out):
            raise PocketbertError(f"--resume: no checkpoint in {out / ckpt.CHECKPOINT_DIR}; start without --resume")
        barrier(self.dist)
        self.terms = loss_terms.active_terms(self.cfg)
        needed = loss_terms.needed_inputs(self.terms)
        self.logits_at = loss_terms.logit_positions(self.terms, self.cfg.restrict_ce_to_mask)
        self.need_t_states = "t_states" in needed
        self.minilm = bool(needed & {"s_qk", "t_qk", "s_v", "t_v"})
        self.setup_models()
        self.setup_optimization()
        self.setup_validation()
        self.step, self.epoch = 0, 0
        if resume:
            self.load_checkpoint(allow_config_change)
        else:
            torch.manual_seed(self.cfg.seed + self.dist.rank)  # masking/dropout differ per rank; the data split already does
            random.seed(self.cfg.seed + self.dist.rank)
            np.random.seed((self.cfg.seed + self.dist.rank) % 2**32)
        self.sampler.set_epoch(self.epoch)
        self.write_run_info()
        self.log = RunLog(out, self.dist.is_main, self.cfg.tensorboard, resume_step=self.step if resume else None,
                          echo=self.say)
        self.say(f"distilling {run.teacher_name} -> {run.student_dir}: {self.total_steps} steps x {self.accum} "
                 f"micro-batches of {self.cfg.batch_size} x {self.dist.world_size} rank(s), {self.precision_name} on "
                 f"{self.device}")
        # Per log window: one running sum per loss term (table order), then the total, then tokens.
        self.sums = torch.zeros(len(loss_terms.LOSS_TERMS) + 2, dtype=torch.float64)
        self.started = time.perf_counter()
        self.window_start, self.window_steps = self.started, 0
        self.deadline = self.started + self.cfg.max_minutes * 60 if self.cfg.max_minutes else None
        self.validation_s = 0.0
        self.stop_reason = "max_steps" if self.cfg.max_steps is not None else "epochs"

    # ---- setup
    def setup_models(self) -> None:
        """Frozen teacher, trainable student (wrapped in DDP when distributed), q/k/v captures for MiniLM terms."""
        cfg, device = self.cfg, self.device
        seed_everything(cfg.seed)
        self.teacher = Teacher(load_teacher(self.run.teacher_name, self.info).to(device), self.info)
        student = AutoModelForMaskedLM.from_pretrained(resolve_model(self.run.student_dir)).to(device)
        student.train()
        if device.type == "cpu":
            use_onednn_linears(student)
        if self.logits_at is None:  # the head takes no gradient; keep it as initialized (tied projection stays trained)
            for mod in (student.vocab_transform, student.vocab_layer_norm):
                mod.requires_grad_(False)
            student.vocab_projector.bias.requires_grad_(False)
        if cfg.student_dropout is not None:
            for mod in student.modules():
                if isinstance(mod, nn.Dropout):
                    mod.p = cfg.student_dropout
        if cfg.freeze_embeddings:
            student.distilbert.embeddings.requires_grad_(False)
        self.student = student
        self.step_module: nn.Module = StudentStep(student)
        if self.dist.enabled:
            self.step_module = nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=[device.index] if device.type == "cuda" else None)
        self.t_cap = self.s_cap = None
        if self.minilm:
            self.t_cap = ProjectionCapture(self.teacher.last_attention())
            a = student.distilbert.transformer.layer[-1].attention
            self.s_cap = ProjectionCapture([a.q_lin, a.k_lin, a.v_lin])

    def setup_optimization(self) -> None:
        """Masking, the length-grouped sampler, accumulation, AdamW + warmup/decay, mixed precision."""
        cfg, data, dist, device = self.cfg, self.run.data, self.dist, self.device
        self.pad_id = int(data.meta["pad_token_id"] if data.meta.get("pad_token_id") is not None else 0)
        self.masker = Masker(token_weights(data.counts(), data.meta["special_ids"], cfg.mlm_smoothing),
                             mask_token_id=int(data.meta["mask_token_id"]), vocab_size=self.info.vocab_size,
                             mask_prop=cfg.mlm_mask_prop,
                             pred_probs=(cfg.word_mask, cfg.word_keep, cfg.word_rand))
        self.sampler = GroupedBatchSampler(data.lengths, cfg.batch_size, cfg.seed, dist.rank, dist.world_size,
                                           cfg.group_by_length, indices=self.run.train_idx)
        self.accum = max(1, math.ceil(cfg.effective_batch / (cfg.batch_size * dist.world_size)))
        self.steps_per_epoch = max(1, math.ceil(self.sampler.batches_per_epoch() / self.accum))
        self.total_steps = cfg.max_steps if cfg.max_steps is not None else cfg.n_epochs * self.steps_per_epoch
        self.warmup = math.ceil(cfg.warmup_prop * self.total_steps)
        # fused: one kernel over all parameters instead of a dozen foreach passes (~3x faster on CPU, same update rule)
        self.optimizer = torch.optim.AdamW(param_groups(self.student, cfg.weight_decay), lr=cfg.learning_rate,
                                           betas=tuple(cfg.adam_betas), eps=cfg.adam_epsilon,
                                           fused=device.type == "cpu")
        self.scheduler = linear_warmup_decay(self.optimizer, self.warmup, self.total_steps)
        amp_dtype, use_scaler = choose_precision(cfg.precision, device)
        self.precision_name = str(amp_dtype) if amp_dtype else "fp32"
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        self.autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype is not None else nullcontext

    def setup_validation(self) -> None:
        """The held-out scorer (None without a held-out set) and the metric that picks OUT/best."""
        run, cfg = self.run, self.cfg
        self.tokenizer = load_tokenizer(run.student_dir)  # saved with OUT/best and OUT/final; embeds the STS probe
        self.validator = None
        if len(run.val_idx):
            self.say(f"held-out validation: {len(run.val_idx)} sequences of {run.eval_data or run.data_dir} never "
                     "trained on" + (f", STS probe {run.eval_sts}" if run.eval_sts else ""))
            self.validator = val.Validator(run.val_data, run.val_idx, self.teacher, self.pad_id,
                                           self.masker if self.logits_at is not None else None,
                                           sts_file=run.eval_sts, tokenizer=self.tokenizer, device=self.device)
        self.best_metric = val.resolve_best_metric(cfg.best_metric, self.info.has_mlm_head, self.logits_at is not None,
                                                   run.eval_sts is not None)
        self.val_state = val.ValidationState(self.best_metric)
        self.eval_every = cfg.eval_every or cfg.checkpoint_every

    def load_checkpoint(self, allow_config_change: bool) -> None:
        """Resume: weights, optimizer, schedule, scaler, sampler position, validation history and this rank's RNG."""
        state = ckpt.load_latest(self.out, map_location=self.device, notice=self.say)
        check_resume_config(state.get("config"), self.cfg.to_dict(), allow_config_change, self.say)
        self.student.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.sampler.load_state_dict(state["sampler"])
        if "validation" in state:
            self.val_state = val.ValidationState.from_dict(state["validation"])
        self.step, self.epoch = int(state["step"]), int(state["sampler"]["epoch"])
        rng = state["rng"]["per_rank"][self.dist.rank] if "per_rank" in state["rng"] else state["rng"]
        ckpt.set_rng_state(rng)
        self.say(f"resumed from step {self.step} (epoch {self.epoch}, batch {self.sampler.state.position})")

    def write_run_info(self) -> None:
        """OUT/config.yaml (the resolved config) and OUT/run.json (code version, derived sizes), rank 0."""
        if not self.dist.is_main:
            return
        run, cfg, dist = self.run, self.cfg, self.dist
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / RUN_CONFIG).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=True))
        write_json(self.out / RUN_INFO, {
            "code_version": code_version(), "teacher": run.teacher_name, "student_init": run.student_dir,
            "data": str(run.data_dir), "world_size": dist.world_size, "device": str(self.device),
            "precision": self.precision_name, "accumulation_steps": self.accum,
            "effective_batch": self.accum * cfg.batch_size * dist.world_size, "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps, "warmup_steps": self.warmup, "teacher_has_mlm_head": self.info.has_mlm_head,
            "notices": run.notices, "data_sequences": len(run.data), "data_tokens": run.data.meta["n_tokens"],
            "train_sequences": len(run.train_idx), "heldout_sequences": len(run.val_idx),
            "eval_data": str(run.eval_data) if run.eval_data else None,
            "eval_sts": str(run.eval_sts) if run.eval_sts else None, "best_metric": self.best_metric,
        })

    # ---- one micro-batch
    def next_indices(self):
        """The next micro-batch's sequence indices; at an epoch's end, the next epoch's shuffle (set_epoch)."""
        indices = self.sampler.next_batch()
        while indices is None:
            self.epoch += 1
            self.sampler.set_epoch(self.epoch)
            indices = self.sampler.next_batch()
        return indices

    def batch(self, indices) -> dict:
        """Collate and mask one micro-batch; pick the positions the MLM head runs on (what the terms read)."""
        ids, attn = self.run.data.collate(list(indices), self.pad_id)  # (bs, seq)
        ids, attn = ids.to(self.device), attn.to(self.device)
        masked, labels = self.masker(ids, attn)  # (bs, seq), (bs, seq) with -100 where not masked
        keep = attn.bool()  # (bs, seq)
        if self.logits_at == "real":
            logit_mask = keep
        elif self.logits_at == "masked":
            logit_mask = labels != -100
        else:
            logit_mask = None
        return {"masked": masked, "attention_mask": attn, "labels": labels, "keep": keep, "logit_mask": logit_mask}

    def step_loss(self, b: dict) -> tuple[torch.Tensor, dict, int]:
        """Teacher and student forwards, then each active row of the loss-term table: (total, {term: loss}, tokens)."""
        cfg, attn, logit_mask = self.cfg, b["attention_mask"], b["logit_mask"]
        with self.autocast():
            t_hidden, t_states, t_logits = self.teacher(b["masked"], attn, logit_mask, self.need_t_states)
            s_hidden, s_states, s_logits = self.step_module(b["masked"], attn, logit_mask)  # (bs, seq, dim), (n, vocab)
        inputs = {"s_hidden": s_hidden, "t_hidden": t_hidden, "keep": b["keep"], "attention_mask": attn,
                  "s_states": s_states, "t_states": t_states, "hidden_pairs": cfg.hidden_mse_pairs,
                  "temperature": cfg.temperature, "n_heads": self.info.n_heads}
        if logit_mask is not None:
            labels_sel = b["labels"][logit_mask]  # (n,)
            soft_mask = labels_sel != -100 if cfg.restrict_ce_to_mask else torch.ones_like(labels_sel, dtype=torch.bool)
            inputs.update(s_logits=s_logits, t_logits=t_logits, labels=labels_sel, soft_mask=soft_mask)
        if self.minilm:
            (s_q, s_k, s_v), (t_q, t_k, t_v) = self.s_cap.outputs, self.t_cap.outputs  # each (bs, seq, dim)
            inputs.update(s_qk=(s_q, s_k), t_qk=(t_q, t_k), s_v=s_v, t_v=t_v)
        terms = loss_terms.compute(self.terms, inputs)
        return loss_terms.weighted_total(terms, cfg), terms, int(attn.sum())

    # ---- one optimizer step
    def accumulate(self, progress: StepProgress) -> None:
        """`accum` micro-batches of forward + backward; gradients sync (DDP) on the last one only."""
        for micro in range(self.accum):
            indices = self.next_indices()
            sync = not self.dist.enabled or micro == self.accum - 1
            with nullcontext() if sync else self.step_module.no_sync():
                total, terms, n_tok = self.step_loss(self.batch(indices))
                loss = total / self.accum
                (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            for i, name in enumerate(loss_terms.LOSS_TERMS):
                if name in terms:
                    self.sums[i] += float(terms[name].detach()) / self.accum
            self.sums[-2] += float(total.detach()) / self.accum
            self.sums[-1] += n_tok
            progress.micro_batch_done(self.step, micro, n_tok)

    def optimizer_step(self) -> None:
        """Unscale, clip, step, schedule; then the step count moves."""
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.student.parameters(), self.cfg.max_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.window_steps += 1

    def log_step(self, progress: StepProgress) -> None:
        """One log row of the window's means (ranks averaged): total, each active term's column, tokens/s."""
        agg = self.sums.clone()
        if self.dist.enabled:
            torch.distributed.all_reduce(agg)
            agg[:-1] /= self.dist.world_size  # mean of loss terms, sum of tokens
        now = time.perf_counter()
        row = {"step": self.step, "epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0],
               "loss": float(agg[-2]) / self.window_steps,
               "tokens_per_s": float(agg[-1]) / max(now - self.window_start, 1e-9),
               "elapsed_s": round(now - self.started, 2)}
        for i, term in enumerate(loss_terms.LOSS_TERMS.values()):
            if getattr(self.cfg, term.alpha) > 0:
                row[term.column] = float(agg[i]) / self.window_steps
        self.log.log(row)
        progress.printed()
        self.sums.zero_()
        self.window_start, self.window_steps = now, 0

    def out_of_time(self) -> bool:
        """Past the --minutes deadline (rank 0 decides, so every rank stops at the same step)."""
        late = self.deadline is not None and time.perf_counter() >= self.deadline
        if self.dist.enabled:
            flag = torch.tensor([1.0 if late else 0.0])
            torch.distributed.broadcast(flag, src=0)
            late = bool(flag.item())
        return late

    def validate(self, at_step: int) -> None:
        """Score the student on the held-out set; keep OUT/best when it is the best so far (rank 0 writes).

        Its time is not training time: the --minutes deadline moves by it, so a budget buys the same number of
        training steps with or without validation.
        """
        if self.validator is None:
            return
        t0 = time.perf_counter()
        student, best_metric, state = self.student, self.best_metric, self.val_state
        metrics = self.validator.evaluate(student, head=lambda h: student_head(student, h))
        better = val.is_better(best_metric, metrics[best_metric], state.best_value)
        state.history.append({"step": at_step, **metrics})
        if better:
            state.best_value, state.best_step = metrics[best_metric], at_step
            if self.dist.is_main:
                with atomic_output_dir(self.out / BEST_DIR, force=True) as tmp:
                    student.save_pretrained(tmp)
                    save_tokenizer(self.tokenizer, tmp)
                    write_json(tmp / BEST_INFO, {"step": at_step, "metric": best_metric, "metrics": metrics})
        self.log.log_validation(at_step, metrics, better)
        spent = time.perf_counter() - t0
        self.validation_s += spent
        if self.deadline is not None:
            self.deadline += spent

    def checkpoint(self) -> None:
        _save(ckpt, self.out, self.step, self.student, self.optimizer, self.scheduler, self.scaler, self.sampler,
              self.cfg, self.dist, self.val_state)

    # ---- the loop
    def train(self) -> None:
        """Steps until total_steps or the deadline: accumulate, optimizer step, then log / validate / checkpoint."""
        cfg = self.cfg
        if self.step == 0:
            self.validate(0)  # the copied-layer init: the bar every later step must clear
        progress = StepProgress(self.accum, self.total_steps - self.step, self.say, interval_s=cfg.progress_every_s)
        try:
            while self.step < self.total_steps:
                self.accumulate(progress)
                self.optimizer_step()
                last = self.step == self.total_steps
                if self.step % cfg.log_every == 0 or last:
                    self.log_step(progress)
                out_of_time = self.out_of_time()
                if self.step % self.eval_every == 0 or last or out_of_time:
                    self.validate(self.step)
                if self.step % cfg.checkpoint_every == 0 or last or out_of_time:
                    self.checkpoint()
                if self.stop_after_step is not None and self.step >= self.stop_after_step:
                    raise TrainingInterrupted(f"injected stop after step {self.step}")
                if out_of_time:
                    self.stop_reason = "max_minutes"
                    break
        finally:
            self.log.close()
            if self.minilm:
                self.t_cap.remove()
                self.s_cap.remove()

    def finish(self) -> dict:
        """Ranks agree?, the final model (OUT/final or final_dir), OUT/train_summary.json."""
        dist, student = self.dist, self.student
        agree, max_diff = True, 0.0
        if dist.enabled:
            flat = torch.cat([p.detach().float().flatten() for p in student.parameters()])  # (n_params,)
            hi, lo = flat.clone(), flat.clone()
            torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
            torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
            max_diff = float((hi - lo).abs().max())
            agree = max_diff == 0.0
        summary = {"steps": self.step, "total_steps": self.total_steps, "stop_reason": self.stop_reason,
                   "epoch": self.epoch, "train_seconds": round(time.perf_counter() - self.started, 2),
                   "validation_seconds": round(self.validation_s, 2), "world_size": dist.world_size,
                   "ranks_agree": agree, "ranks_max_param_diff": max_diff, "final_model": str(self.final_dir),
                   "run_dir": str(self.out), "notices": self.run.notices,
                   "validation": _validation_summary(self.val_state, self.out)}
        if dist.is_main:
            student.eval()
            with atomic_output_dir(self.final_dir, force=True) as tmp:
                student.save_pretrained(tmp)
                save_tokenizer(self.tokenizer, tmp)
            write_json(self.out / SUMMARY, summary)
            self.say(f"final student: {self.final_dir}")
        barrier(dist)
        return summary


# --------------------------------------------------------------------------------------------- main entry
def distill(teacher_name: str, student_dir: str, data_dir: Path, out: Path, config: DistillConfig,
            resume: bool = False, force: bool = False, final_dir: Path | None = None, allow_config_change: bool = False,
            stop_after_step: int | None = None, echo=print, eval_data: Path | None = None,
            eval_sts: Path | None = None) -> dict:
    """Run (or resume) a distillation; returns the summary also written to OUT/train_summary.json.

    eval_data: a prepared dir scored instead of the held-out slice of `data_dir`; eval_sts: an STS-B style file
    scored as an extra held-out probe (distill/validation.py).
    """
    out = Path(out)
    final_dir = Path(final_dir) if final_dir is not None else out / FINAL_DIR
    run = check_inputs(teacher_name, student_dir, data_dir, config, eval_data, eval_sts)
    _prepare_run_dir(out, resume, force, inputs=(teacher_name, student_dir, data_dir), final_dir=final_dir)
    distiller = Distiller(run, out, final_dir, resume, force, allow_config_change, stop_after_step, echo)
    distiller.train()
    return distiller.finish()


def _validation_summary(state, out: Path) -> dict | None:
    """init (step 0) / best / final held-out metrics for the summary and the demo's retention table."""
    if not state.history:
        return None
    by_step = {row["step"]: row for row in state.history}
    return {"metric": state.best_metric, "best_step": state.best_step, "best_dir": str(out / BEST_DIR),
            "init": by_step.get(0), "best": by_step.get(state.best_step), "final": state.history[-1]}


def _save(ckpt, out, step, student, optimizer, scheduler, scaler, sampler, cfg, dist, val_state=None) -> None:
    """Checkpoint on rank 0 with every rank's RNG state (gathered), so each rank resumes its own stream."""
    rng = ckpt.rng_state()
    if dist.enabled:
        gathered = [None] * dist.world_size
        torch.distributed.all_gather_object(gathered, rng)
        rng = {"per_rank": gathered}
    if dist.is_main:
        payload = {"model": student.state_dict(), "optimizer": optimizer.state_dict(),
                   "scheduler": scheduler.state_dict(), "sampler": sampler.state_dict(), "config": cfg.to_dict()}
        if val_state is not None:
            payload["validation"] = val_state.to_dict()
        if scaler is not None:
            payload["scaler"] = scaler.state_dict()
        ckpt.save_checkpoint(out, step, payload, cfg.keep_checkpoints, rng=rng)
    barrier(dist)
