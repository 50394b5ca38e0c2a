"""Where a command may write: the one rule that keeps pocketbert from destroying a user's files.

Every command that writes a directory leaves a marker file it owns in it (prepare: meta.json, init-student:
student_init.json, distill: run.json, convert: manifest.json, finetune: eval_results.json, golden: index.json,
report: .pocketbert-report, demo: demo.json). `--force` replaces only an empty dir or one carrying THAT
command's marker, and never a dir that is, contains or is inside one of the command's inputs. Anything else is
one `Error:` line naming the path. Commands call `check_output_dir` before any work, so a refusal costs nothing
and leaves nothing behind; the Python API functions call it too, so the rule holds outside the CLI.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from pocketbert.core.errors import PocketbertError


@dataclass(frozen=True)
class Marker:
    """The file by which a command recognizes a dir it wrote itself (and may therefore replace)."""

    command: str                 # as typed after `pocketbert`, for messages: "convert", "init-student"
    file: str                    # "manifest.json"
    keys: tuple[str, ...] = ()   # keys the JSON must carry: a user's own meta.json is not ours

    def found_in(self, folder: Path) -> bool:
        path = Path(folder) / self.file
        if not path.is_file():
            return False
        if not self.keys:
            return True
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
            return False
        return isinstance(data, dict) and all(k in data for k in self.keys)


def _is_nonempty_dir(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _existing_inputs(inputs: Iterable) -> list[tuple[str, Path]]:
    """(as given, resolved path) of the inputs that are local paths; hub ids and `hf:` corpora are skipped."""
    found = []
    for given in inputs:
        if given is None:
            continue
        path = Path(str(given)).expanduser()
        if path.exists():
            found.append((str(given), path.resolve()))
    return found


def check_not_an_input(out: Path, inputs: Iterable, replacing: bool) -> None:
    """`out` is not an input and does not hold one; when it would be replaced, it is not inside one either."""
    real = Path(out).expanduser().resolve()
    for given, path in _existing_inputs(inputs):
        if real == path:
            raise PocketbertError(f"--out {out} is the input {given}; writing there would destroy it; choose another --out")
        if real in path.parents:
            raise PocketbertError(f"--out {out} contains the input {given}; writing there would destroy it; "
                                  "choose another --out")
        if replacing and path in real.parents:
            raise PocketbertError(f"--out {out} is inside the input {given}; pocketbert never replaces a dir inside "
                                  "its inputs; choose an --out outside it")


def _check_not_cwd(out: Path) -> None:
    """Replacing the current dir (or one above it) would pull the ground from under the shell; `prepare --out .`."""
    real, cwd = Path(out).expanduser().resolve(), Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise PocketbertError(f"--out {out} is the current directory{' (or above it)' if real != cwd else ''}; "
                              "pass a new subdirectory, e.g. --out out")


def check_output_dir(out: Path, force: bool, marker: Marker, inputs: Iterable = (), exists_hint: str = "") -> bool:
    """Raise unless `out` may be written; return True when an existing dir of ours will be replaced.

    `inputs`: every path the command reads (model dirs, data files, corpora); `exists_hint` is appended to the
    "already exists" error (distill adds "pass --resume to continue it").
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PocketbertError(f"--out {out} is an existing file, not a directory; choose another --out")
    _check_not_cwd(out)
    replacing = _is_nonempty_dir(out)
    check_not_an_input(out, inputs, replacing)
    if not replacing:
        return False
    ours = marker.found_in(out)
    if not ours:
        raise PocketbertError(
            f"output dir {out} is not empty and was not written by `pocketbert {marker.command}` (no {marker.file}); "
            f"{'--force replaces only such dirs or empty ones; ' if force else ''}"
            "choose another --out or empty it yourself")
    if not force:
        raise PocketbertError(f"output dir {out} already exists; {exists_hint + ', ' if exists_hint else ''}"
                              "pass --force to replace it, or choose another --out")
    return True


def check_output_file(out: Path, is_ours: Callable[[Path], bool], what: str, inputs: Iterable = ()) -> None:
    """A file output (`evaluate --out`, results JSONL): new, or an earlier file of the same kind; never an input.

    `what` names the kind for the error, e.g. "an `evaluate` results JSON".
    """
    out = Path(out)
    if out.is_dir():
        raise PocketbertError(f"--out {out} is a directory; pass a file path, e.g. {out / 'results.json'}")
    if out.parent.exists() and not out.parent.is_dir():
        raise PocketbertError(f"--out {out}: {out.parent} is a file, not a directory; choose another --out")
    check_not_an_input(out, inputs, replacing=False)
    if out.exists() and not is_ours(out):
        raise PocketbertError(f"--out {out} exists and is not {what}; pocketbert does not overwrite or append to "
                              "other files; choose another --out")
