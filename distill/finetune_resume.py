"""Checkpoints of `finetune qa|cls` so that a killed fine-tuning continues where it stopped, bit for bit.

Why: `make qa-models` fine-tunes a teacher for ~30 minutes and a student for ~35 on a 2-core box; a closed session
lost the whole step. The output model dir is written atomically at the end, so the training state lives beside it,
in `OUT.training/` (checkpoints/step-NNNNNNNN.pt, the format and atomic writes of distill/checkpoint.py, read with
`torch.load(weights_only=True)`), and is removed once OUT is written.

A checkpoint holds the model, optimizer and schedule states, the sampler position (the shuffling generator's state
at the start of the epoch and the batches already taken from it), the loss sums and every RNG state, taken right
after an optimizer step. It also holds the run's fingerprint: the training settings and SHA-256 digests of the
training tensors and of the starting weights of the model and the teacher, so a resume with other data, another
model or other settings is refused instead of silently training a mix of two runs. The teacher's logits cache is
recomputed on resume (deterministic for a given thread count, like the training itself).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import torch

from pocketbert.core.atomic import write_json
from pocketbert.core.errors import PocketbertError
from pocketbert.distill import checkpoint as ckpt
from pocketbert.distill.augment import recorded_settings
from pocketbert.distill.run_dir import config_changes

TRAINING_SUFFIX = ".training"
INFO_FILE = "training.json"  # the marker by which a training dir is recognized as ours (and may be removed)
# TrainConfig fields that do not change the trajectory: a resume may differ in them.
RESUME_FREE_FIELDS = frozenset({"limit_eval", "device", "checkpoint_every", "checkpoint_minutes"})
AUGMENT_FIELDS = ("augment_copies", "augment_mask")  # recorded only where copies are made (augment.recorded_settings)
KEEP_CHECKPOINTS = 2  # the newest may be truncated by a kill while it is written; the one before it is whole

# resume modes of finetune_qa / finetune_cls
FRESH, RESUME, RESUME_IF_SAME = "fresh", "resume", "if-same"


class FinetuneInterrupted(RuntimeError):
    """Raised by the injected stop (tests, `--stop-after-step`): the run dies as if killed after a checkpoint."""


def training_dir(out: Path) -> Path:
    """Where OUT's training state lives while OUT is being trained: OUT.training beside it."""
    out = Path(out)
    return out.with_name(out.name + TRAINING_SUFFIX)


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else t.numpy().tobytes())
    return h.hexdigest()


def _settings(settings: dict) -> dict:
    """A fingerprint's settings with the masked-copy fields as augment.recorded_settings keeps them, so that a
    checkpoint written before copies existed, or with another mask rate but no copies, is still this run."""
    kept = {k: v for k, v in settings.items() if k not in AUGMENT_FIELDS}
    return {**kept, **recorded_settings(settings.get("augment_copies", 0), settings.get("augment_mask"))}


def fingerprint(cfg, task: str, tensors: dict, model, teacher, lengths: dict) -> dict:
    """What makes two fine-tunings the same run (JSON-able). `lengths`: max_len / doc_stride / max_query_len."""
    settings = _settings({k: v for k, v in dataclasses.asdict(cfg).items() if k not in RESUME_FREE_FIELDS})
    return {"task": task, "settings": settings, **lengths, "train_tensors": _digest(tensors),
            "model_weights": _digest(model.state_dict()),
            "teacher_weights": _digest(teacher.state_dict()) if teacher is not None else None}


def changes(old: dict, new: dict) -> list[str]:
    """`key old -> new` for every differing entry (settings flattened), for the refusal message."""
    flat = lambda d: {**{k: v for k, v in d.items() if k != "settings"}, **d.get("settings", {})}  # noqa: E731
    short = lambda v: repr((v[:12] + "...") if isinstance(v, str) and len(v) == 64 else v)  # noqa: E731
    return config_changes(flat(old), flat(new), show=short)


def is_ours(folder: Path) -> bool:
    path = Path(folder) / INFO_FILE
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")).get("fingerprint"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def checkpoint_step(folder: Path) -> int | None:
    """The newest checkpoint's step in a training dir, or None when it holds none."""
    found = ckpt.list_checkpoints(folder)
    return int(ckpt.PATTERN.match(found[-1].name).group(1)) if found else None


def prepare(out: Path, mode: str, force: bool) -> bool:
    """Before any work: may OUT's training dir be used? Returns whether to resume (mode RESUME_IF_SAME decides later).

    Without --resume an earlier interrupted run's checkpoints are not thrown away silently: refused unless --force
    (which removes them, as it replaces OUT). A dir of that name that pocketbert did not write is never touched.
    """
    folder = training_dir(out)
    if folder.exists() and not is_ours(folder):
        raise PocketbertError(f"{folder} exists and was not written by `pocketbert finetune` (no {INFO_FILE}); it is "
                              "where the training checkpoints of --out go: move it away or choose another --out")
    step = checkpoint_step(folder) if folder.exists() else None
    if mode == RESUME:
        if step is None:
            raise PocketbertError(f"--resume: no checkpoint in {folder / ckpt.CHECKPOINT_DIR}; start without --resume")
        return True
    if mode == FRESH and step is not None and not force:
        raise PocketbertError(f"{folder} holds the checkpoint of an interrupted run of this --out (step {step}): "
                              "pass --resume to continue it, or --force to start over")
    return mode == RESUME_IF_SAME and step is not None


class RunCheckpoints:
    """OUT's training dir for this run: an earlier run's removed now, the dir itself made at the first checkpoint
    (a run shorter than the checkpoint interval leaves nothing behind)."""

    def __init__(self, out: Path, fp: dict, resumed: bool):
        self.folder, self.fp, self.made = training_dir(out), fp, resumed
        if not resumed and self.folder.exists():  # prepare() refused it unless it is ours and may go
            shutil.rmtree(self.folder)

    def save(self, step: int, state: dict) -> None:
        if not self.made:
            self.folder.mkdir(parents=True)
            write_json(self.folder / INFO_FILE, {"fingerprint": self.fp})
            self.made = True
        ckpt.save_checkpoint(self.folder, step, state, KEEP_CHECKPOINTS)


def load(out: Path, fp: dict, strict: bool, say) -> dict | None:
    """The newest readable checkpoint of OUT's run if it is this run; otherwise refuse (strict) or None."""
    folder = training_dir(out)
    old = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))["fingerprint"]
    old = {**old, "settings": _settings(old.get("settings", {}))}  # those written on 2026-12-04 kept both fields
    diff = changes(old, fp)
    if diff:
        if strict:
            raise PocketbertError(f"--resume with changed settings or inputs ({'; '.join(diff)}) would not continue the "
                                  "run bit for bit; resume with the run's settings, or start over with --force")
        say(f"notice: the checkpoints in {folder} are of another run ({'; '.join(diff)}); starting over")
        return None
    try:
        return ckpt.load_latest(folder, notice=say)
    except PocketbertError as exc:  # every checkpoint truncated: refused on --resume, a fresh start otherwise
        if strict:
            raise
        say(f"notice: {exc}; starting over")
        return None


def finish(out: Path) -> None:
    """OUT is written: its training state is no longer needed."""
    folder = training_dir(out)
    if folder.exists() and is_ours(folder):
        shutil.rmtree(folder)
