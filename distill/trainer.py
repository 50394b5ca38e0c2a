"""`pocketbert distill`: the DistilBERT training loop (triple loss, dynamic masking, accumulation, DDP, resume).

The loop is written so that a resumed run is the uninterrupted run: checkpoints are taken only at optimizer-step
boundaries, the data order is a pure function of (seed, epoch, position), and every RNG is saved and restored.
Under DDP (torchrun / accelerate launch; gloo on CPU) all ranks run the same number of micro-batches, gradients
are synchronized on the last micro-batch of each accumulation only, and rank 0 alone writes files.
"""
from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pocketbert.core.errors import PocketbertError
from pocketbert.distill.config import DistillConfig
from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.training import choose_precision, linear_warmup_decay  # noqa: F401 (used by distill())
from pocketbert.distill.training import param_groups as _param_groups
from pocketbert.distill.training import seed_everything as _seed_everything

RUN_CONFIG = "config.yaml"
RUN_INFO = "run.json"
SUMMARY = "train_summary.json"
FINAL_DIR = "final"
BEST_DIR = "best"
BEST_INFO = "best.json"


class TrainingInterrupted(RuntimeError):
    """Raised by the injected stop (tests, `--stop-after-step`): the run dies as if killed after a checkpoint."""


# --------------------------------------------------------------------------------------------- distributed
@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed() -> Dist:
    """Join the process group when launched by torchrun / accelerate (WORLD_SIZE > 1): nccl on GPU, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    return Dist(rank, world, local_rank, device)


def _barrier(dist: Dist) -> None:
    if dist.enabled:
        torch.distributed.barrier()


# --------------------------------------------------------------------------------------------- model plumbing
def _student_head(student, hidden: torch.Tensor) -> torch.Tensor:
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
        logits = _student_head(self.student, hidden[logit_mask]) if logit_mask is not None else None  # (n, vocab)
        return hidden, out.hidden_states, logits


class Teacher:
    """Frozen teacher: encoder outputs and, when it has an MLM head, logits at selected positions."""

    def __init__(self, model, info) -> None:
        from pocketbert.distill.student_init import _encoder

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
            logits = self.model.cls(sel) if self.info.model_type == "bert" else _student_head(self.model, sel)
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


# --------------------------------------------------------------------------------------------- setup helpers
def code_version() -> dict:
    """pocketbert's version and, when the code is a git checkout, `git describe` (never required)."""
    from pocketbert import __version__

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
    from pocketbert.core.models import load_config

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
    from pocketbert.core.outputs import Marker
    from pocketbert.distill.run_dir import check_run_dir

    check_run_dir(out, resume, force, Marker("distill", RUN_INFO, ("code_version", "teacher")), inputs, final_dir)


# --------------------------------------------------------------------------------------------- main entry
def distill(teacher_name: str, student_dir: str, data_dir: Path, out: Path, config: DistillConfig,
            resume: bool = False, force: bool = False, final_dir: Path | None = None, allow_config_change: bool = False,
            stop_after_step: int | None = None, echo=print, eval_data: Path | None = None,
            eval_sts: Path | None = None) -> dict:
    """Run (or resume) a distillation; returns the summary also written to OUT/train_summary.json.

    eval_data: a prepared dir scored instead of the held-out slice of `data_dir`; eval_sts: an STS-B style file
    scored as an extra held-out probe (distill/validation.py).
    """
    import yaml
    from transformers import AutoModelForMaskedLM

    from pocketbert.core.atomic import atomic_output_dir, write_json
    from pocketbert.core.models import load_config, load_tokenizer, resolve_model
    from pocketbert.distill import checkpoint as ckpt
    from pocketbert.distill import losses
    from pocketbert.distill.data import GroupedBatchSampler, PreparedData
    from pocketbert.distill.masking import Masker, token_weights
    from pocketbert.distill.progress import StepProgress
    from pocketbert.distill.run_dir import check_resume_config
    from pocketbert.distill.run_log import RunLog
    from pocketbert.core.models import save_tokenizer
    from pocketbert.distill.student_init import load_teacher, teacher_info
    from pocketbert.distill import validation as val

    out = Path(out)
    final_dir = Path(final_dir) if final_dir is not None else out / FINAL_DIR
    # ---- validate every input before anything is written
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
    _prepare_run_dir(out, resume, force, inputs=(teacher_name, student_dir, data_dir), final_dir=final_dir)
    notices = []
    cfg = DistillConfig(**config.to_dict())  # private copy: the caller's config is never mutated
    if not info.has_mlm_head:
        for name in ("alpha_ce", "alpha_mse"):
            if getattr(cfg, name) > 0:
                notices.append(f"notice: the teacher {teacher_name} has no MLM head, so there are no soft targets: "
                               f"{name} {getattr(cfg, name)} -> 0")
                setattr(cfg, name, 0.0)

    dist = setup_distributed()
    say = echo if dist.is_main else (lambda *_a, **_k: None)
    for n in notices:
        say(n)
    device = dist.device
    if not resume and force and dist.is_main and out.is_dir():
        shutil.rmtree(out)
    if resume and not ckpt.list_checkpoints(out):
        raise PocketbertError(f"--resume: no checkpoint in {out / ckpt.CHECKPOINT_DIR}; start without --resume")
    _barrier(dist)

    # ---- models
    _seed_everything(cfg.seed)
    teacher = Teacher(load_teacher(teacher_name, info).to(device), info)
    student = AutoModelForMaskedLM.from_pretrained(resolve_model(student_dir)).to(device)
    student.train()
    if device.type == "cpu":
        use_onednn_linears(student)
    uses_logits = cfg.alpha_ce > 0 or cfg.alpha_mlm > 0 or cfg.alpha_mse > 0
    if not uses_logits:  # the head takes no gradient; keep it as initialized (tied projection stays trained)
        for mod in (student.vocab_transform, student.vocab_layer_norm):
            mod.requires_grad_(False)
        student.vocab_projector.bias.requires_grad_(False)
    if cfg.student_dropout is not None:
        for mod in student.modules():
            if isinstance(mod, nn.Dropout):
                mod.p = cfg.student_dropout
    if cfg.freeze_embeddings:
        student.distilbert.embeddings.requires_grad_(False)
    step_module: nn.Module = StudentStep(student)
    if dist.enabled:
        step_module = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None)
    minilm = cfg.alpha_attn > 0 or cfg.alpha_value > 0
    if minilm:
        t_cap = ProjectionCapture(teacher.last_attention())
        a = student.distilbert.transformer.layer[-1].attention
        s_cap = ProjectionCapture([a.q_lin, a.k_lin, a.v_lin])

    # ---- data, masking, optimization
    pad_id = int(data.meta["pad_token_id"] if data.meta.get("pad_token_id") is not None else 0)
    masker = Masker(token_weights(data.counts(), data.meta["special_ids"], cfg.mlm_smoothing),
                    mask_token_id=int(data.meta["mask_token_id"]), vocab_size=info.vocab_size,
                    mask_prop=cfg.mlm_mask_prop,
                    pred_probs=(cfg.word_mask, cfg.word_keep, cfg.word_rand))
    sampler = GroupedBatchSampler(data.lengths, cfg.batch_size, cfg.seed, dist.rank, dist.world_size,
                                  cfg.group_by_length, indices=train_idx)
    accum = max(1, math.ceil(cfg.effective_batch / (cfg.batch_size * dist.world_size)))
    steps_per_epoch = max(1, math.ceil(sampler.batches_per_epoch() / accum))
    total_steps = cfg.max_steps if cfg.max_steps is not None else cfg.n_epochs * steps_per_epoch
    warmup = math.ceil(cfg.warmup_prop * total_steps)
    # fused: one kernel over all parameters instead of a dozen foreach passes (~3x faster on CPU, same update rule)
    optimizer = torch.optim.AdamW(_param_groups(student, cfg.weight_decay), lr=cfg.learning_rate,
                                  betas=tuple(cfg.adam_betas), eps=cfg.adam_epsilon, fused=device.type == "cpu")
    scheduler = linear_warmup_decay(optimizer, warmup, total_steps)
    amp_dtype, use_scaler = choose_precision(cfg.precision, device)
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype is not None else nullcontext

    tokenizer = load_tokenizer(student_dir)  # saved with OUT/best and OUT/final; embeds the STS probe
    validator = None
    if len(val_idx):
        say(f"held-out validation: {len(val_idx)} sequences of {eval_data or data_dir} never trained on"
            + (f", STS probe {eval_sts}" if eval_sts else ""))
        validator = val.Validator(val_data, val_idx, teacher, pad_id, masker if uses_logits else None,
                                  sts_file=eval_sts, tokenizer=tokenizer,
                                  device=device)
    best_metric = val.resolve_best_metric(cfg.best_metric, info.has_mlm_head, uses_logits, eval_sts is not None)
    val_state = val.ValidationState(best_metric)
    eval_every = cfg.eval_every or cfg.checkpoint_every

    step, epoch = 0, 0
    if resume:
        state = ckpt.load_latest(out, map_location=device, notice=say)
        check_resume_config(state.get("config"), cfg.to_dict(), allow_config_change, say)
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        sampler.load_state_dict(state["sampler"])
        if "validation" in state:
            val_state = val.ValidationState.from_dict(state["validation"])
        step, epoch = int(state["step"]), int(state["sampler"]["epoch"])
        rng = state["rng"]["per_rank"][dist.rank] if "per_rank" in state["rng"] else state["rng"]
        ckpt.set_rng_state(rng)
        say(f"resumed from step {step} (epoch {epoch}, batch {sampler.state.position})")
    else:
        torch.manual_seed(cfg.seed + dist.rank)  # masking/dropout differ per rank; the data split already does
        random.seed(cfg.seed + dist.rank)
        np.random.seed((cfg.seed + dist.rank) % 2**32)
    sampler.set_epoch(epoch)

    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_CONFIG).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=True))
        write_json(out / RUN_INFO, {
            "code_version": code_version(), "teacher": str(teacher_name), "student_init": str(student_dir),
            "data": str(data_dir), "world_size": dist.world_size, "device": str(device),
            "precision": str(amp_dtype) if amp_dtype else "fp32", "accumulation_steps": accum,
            "effective_batch": accum * cfg.batch_size * dist.world_size, "steps_per_epoch": steps_per_epoch,
            "total_steps": total_steps, "warmup_steps": warmup, "teacher_has_mlm_head": info.has_mlm_head,
            "notices": notices, "data_sequences": len(data), "data_tokens": data.meta["n_tokens"],
            "train_sequences": len(train_idx), "heldout_sequences": len(val_idx),
            "eval_data": str(eval_data) if eval_data else None, "eval_sts": str(eval_sts) if eval_sts else None,
            "best_metric": best_metric,
        })
    log = RunLog(out, dist.is_main, cfg.tensorboard, resume_step=step if resume else None, echo=say)
    say(f"distilling {teacher_name} -> {student_dir}: {total_steps} steps x {accum} micro-batches of "
        f"{cfg.batch_size} x {dist.world_size} rank(s), {str(amp_dtype) if amp_dtype else 'fp32'} on {device}")

    need_t_hidden = bool(cfg.hidden_mse_pairs) and cfg.alpha_hidden_mse > 0
    term_names = ("ce", "mlm", "cos", "mse", "hidden_mse", "attn", "value", "pooled_cos", "pooled_relation")
    sums = torch.zeros(len(term_names) + 2, dtype=torch.float64)  # terms, total, tokens
    started = time.perf_counter()
    window_start, window_tokens, window_steps = started, 0.0, 0
    deadline = started + cfg.max_minutes * 60 if cfg.max_minutes else None
    stop_reason = "max_steps" if cfg.max_steps is not None else "epochs"

    clock = {"deadline": deadline, "validation_s": 0.0}

    def validate(at_step: int) -> None:
        """Score the student on the held-out set; keep OUT/best when it is the best so far (rank 0 writes).

        Its time is not training time: the --minutes deadline moves by it, so a budget buys the same number of
        training steps with or without validation.
        """
        if validator is None:
            return
        t0 = time.perf_counter()
        metrics = validator.evaluate(student, head=lambda h: _student_head(student, h))
        better = val.is_better(best_metric, metrics[best_metric], val_state.best_value)
        val_state.history.append({"step": at_step, **metrics})
        if better:
            val_state.best_value, val_state.best_step = metrics[best_metric], at_step
            if dist.is_main:
                with atomic_output_dir(out / BEST_DIR, force=True) as tmp:
                    student.save_pretrained(tmp)
                    save_tokenizer(tokenizer, tmp)
                    write_json(tmp / BEST_INFO, {"step": at_step, "metric": best_metric, "metrics": metrics})
        log.log_validation(at_step, metrics, better)
        spent = time.perf_counter() - t0
        clock["validation_s"] += spent
        if clock["deadline"] is not None:
            clock["deadline"] += spent

    if step == 0:
        validate(0)  # the copied-layer init: the bar every later step must clear

    def micro_batch(indices) -> tuple[torch.Tensor, dict, int]:
        ids, attn = data.collate(list(indices), pad_id)  # (bs, seq)
        ids, attn = ids.to(device), attn.to(device)
        masked, labels = masker(ids, attn)
        keep = attn.bool()
        if (cfg.alpha_ce > 0 and not cfg.restrict_ce_to_mask) or cfg.alpha_mse > 0:
            logit_mask = keep
        elif cfg.alpha_ce > 0 or cfg.alpha_mlm > 0:
            logit_mask = labels != -100
        else:
            logit_mask = None
        with autocast():
            t_hidden, t_states, t_logits = teacher(masked, attn, logit_mask, need_t_hidden)
            s_hidden, s_states, s_logits = step_module(masked, attn, logit_mask)
        terms: dict[str, torch.Tensor] = {}
        if logit_mask is not None:
            labels_sel = labels[logit_mask]  # (n,)
            ce_sel = labels_sel != -100 if cfg.restrict_ce_to_mask else torch.ones_like(labels_sel, dtype=torch.bool)
            if cfg.alpha_ce > 0:  # with MLM: both from one fused pass over the (n, vocab) logits
                terms["ce"], mlm = losses.soft_target_kl_and_mlm(
                    s_logits, t_logits, ce_sel, labels_sel if cfg.alpha_mlm > 0 else None, cfg.temperature)
            if cfg.alpha_mse > 0:
                terms["mse"] = losses.mse_loss(s_logits, t_logits, ce_sel)
            if cfg.alpha_mlm > 0:
                terms["mlm"] = mlm if cfg.alpha_ce > 0 else losses.mlm_loss(s_logits, labels_sel)
        if cfg.alpha_cos > 0:
            terms["cos"] = losses.cosine_loss(s_hidden, t_hidden, keep)
        if need_t_hidden:
            pair_losses = [losses.mse_loss(s_states[s], t_states[t], keep) for t, s in cfg.hidden_mse_pairs]
            terms["hidden_mse"] = torch.stack(pair_losses).mean()
        if cfg.alpha_attn > 0:
            terms["attn"] = losses.attention_relation_loss(
                (s_cap.outputs[0], s_cap.outputs[1]), (t_cap.outputs[0], t_cap.outputs[1]), attn, info.n_heads)
        if cfg.alpha_value > 0:
            terms["value"] = losses.value_relation_loss(s_cap.outputs[2], t_cap.outputs[2], attn, info.n_heads)
        if cfg.alpha_pooled_cos > 0:
            terms["pooled_cos"] = losses.pooled_cosine_loss(s_hidden, t_hidden, attn)
        if cfg.alpha_pooled_relation > 0:
            terms["pooled_relation"] = losses.pooled_relation_loss(s_hidden, t_hidden, attn)
        total = sum(getattr(cfg, f"alpha_{k}") * v for k, v in terms.items())
        return total, terms, int(attn.sum())

    progress = StepProgress(accum, total_steps - step, say, interval_s=cfg.progress_every_s)
    try:
        while step < total_steps:
            for micro in range(accum):
                indices = sampler.next_batch()
                while indices is None:  # epoch finished: next epoch's shuffle (set_epoch every epoch)
                    epoch += 1
                    sampler.set_epoch(epoch)
                    indices = sampler.next_batch()
                sync = not dist.enabled or micro == accum - 1
                ctx = nullcontext() if sync else step_module.no_sync()
                with ctx:
                    total, terms, n_tok = micro_batch(indices)
                    loss = total / accum
                    (scaler.scale(loss) if scaler is not None else loss).backward()
                for i, name in enumerate(term_names):
                    if name in terms:
                        sums[i] += float(terms[name].detach()) / accum
                sums[-2] += float(total.detach()) / accum
                sums[-1] += n_tok
                progress.micro_batch_done(step, micro, n_tok)
            if scaler is not None:
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.max_grad_norm)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            window_steps += 1

            if step % cfg.log_every == 0 or step == total_steps:
                agg = sums.clone()
                if dist.enabled:
                    torch.distributed.all_reduce(agg)
                    agg[:-1] /= dist.world_size  # mean of loss terms, sum of tokens
                now = time.perf_counter()
                row = {"step": step, "epoch": epoch, "lr": scheduler.get_last_lr()[0],
                       "loss": float(agg[-2]) / window_steps, "tokens_per_s": float(agg[-1]) / max(now - window_start, 1e-9),
                       "elapsed_s": round(now - started, 2)}
                for i, name in enumerate(term_names):
                    if getattr(cfg, f"alpha_{name}") > 0:
                        row[f"loss_{name}"] = float(agg[i]) / window_steps
                log.log(row)
                progress.printed()
                sums.zero_()
                window_start, window_steps = now, 0

            out_of_time = clock["deadline"] is not None and time.perf_counter() >= clock["deadline"]
            if dist.enabled:
                flag = torch.tensor([1.0 if out_of_time else 0.0])
                torch.distributed.broadcast(flag, src=0)  # every rank stops at the same step
                out_of_time = bool(flag.item())
            if step % eval_every == 0 or step == total_steps or out_of_time:
                validate(step)
            if step % cfg.checkpoint_every == 0 or step == total_steps or out_of_time:
                _save(ckpt, out, step, student, optimizer, scheduler, scaler, sampler, cfg, dist, val_state)
            if stop_after_step is not None and step >= stop_after_step:
                raise TrainingInterrupted(f"injected stop after step {step}")
            if out_of_time:
                stop_reason = "max_minutes"
                break
    finally:
        log.close()
        if minilm:
            t_cap.remove()
            s_cap.remove()

    # ---- finish: ranks agree?, final model, summary
    agree, max_diff = True, 0.0
    if dist.enabled:
        flat = torch.cat([p.detach().float().flatten() for p in student.parameters()])
        hi, lo = flat.clone(), flat.clone()
        torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
        torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
        max_diff = float((hi - lo).abs().max())
        agree = max_diff == 0.0
    summary = {"steps": step, "total_steps": total_steps, "stop_reason": stop_reason, "epoch": epoch,
               "train_seconds": round(time.perf_counter() - started, 2),
               "validation_seconds": round(clock["validation_s"], 2), "world_size": dist.world_size,
               "ranks_agree": agree, "ranks_max_param_diff": max_diff, "final_model": str(final_dir),
               "run_dir": str(out), "notices": notices, "validation": _validation_summary(val_state, out)}
    if dist.is_main:
        student.eval()
        with atomic_output_dir(final_dir, force=True) as tmp:
            student.save_pretrained(tmp)
            save_tokenizer(tokenizer, tmp)
        write_json(out / SUMMARY, summary)
        say(f"final student: {final_dir}")
    _barrier(dist)
    return summary


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
    _barrier(dist)
