"""Guards of a distillation run dir: what `--force` may replace, and what `--resume` may change.

The trainer calls these before any model is trained, so a refusal writes nothing and deletes nothing.
"""
from __future__ import annotations

from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.outputs import Marker, check_not_an_input, check_output_dir

# Settings that do not change the training trajectory: a resumed run with other values is still the same run.
RESUME_FREE_KEYS = frozenset({"max_minutes", "log_every", "checkpoint_every", "keep_checkpoints", "tensorboard",
                              "progress_every_s"})


def check_run_dir(out: Path, resume: bool, force: bool, marker: Marker, inputs=(), final_dir: Path | None = None) -> None:
    """A new run: the --force rule of pocketbert.core.outputs; a resumed run: OUT must not be or hold an input.

    `final_dir` (API only: the demo puts the student outside the run dir) must not be or hold an input either.
    """
    if resume:
        check_not_an_input(out, inputs, replacing=False)
    else:
        check_output_dir(out, force, marker, inputs,
                         exists_hint="pass --resume to continue the run in it" if marker.found_in(out) else "")
    if final_dir is not None:
        check_not_an_input(Path(final_dir), inputs, replacing=Path(final_dir).is_dir())


def config_changes(old: dict, new: dict, show=repr) -> list[str]:
    """`key old -> new` for every setting that differs, keys sorted (the same words the config file uses); values
    are compared as they are and written by `show` (finetune_resume shortens its SHA-256 values for the message)."""
    keys = sorted(set(old) | set(new))
    return [f"{k} {show(old.get(k))} -> {show(new.get(k))}" for k in keys if old.get(k) != new.get(k)]


def check_resume_config(old: dict | None, new: dict, allow_change: bool, say) -> None:
    """A resume continues the run bit for bit only with the checkpoint's settings: refuse others unless allowed.

    Changes of RESUME_FREE_KEYS (time budget, logging, checkpoint cadence) are logged and always allowed.
    """
    if old is None:  # checkpoints written before the config was stored in them
        say("notice: the checkpoint carries no config; cannot check that the settings are unchanged")
        return
    changes = config_changes(old, new)
    free = [c for c in changes if c.split(" ", 1)[0] in RESUME_FREE_KEYS]
    fixed = [c for c in changes if c not in free]
    if fixed and not allow_change:
        raise PocketbertError(f"--resume with changed settings ({'; '.join(fixed)}) would not continue the run bit for "
                              "bit; resume with the run's settings (OUT/config.yaml) or pass --allow-config-change")
    for change in free + fixed:
        say(f"notice: resumed with a changed setting: {change}")
