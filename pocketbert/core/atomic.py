"""Write outputs to a temporary sibling and rename, so a crash or a bad input never leaves half an artifact."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from pocketbert.core.errors import PocketbertError

# A sibling `.NAME.tmp-XXXX` is an output being written, `.NAME.old-PID` the output it is replacing.
TMP_TAG, OLD_TAG = ".tmp-", ".old-"


@contextlib.contextmanager
def atomic_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary dir next to `out`; on success it replaces `out`, on any exception it is removed.

    Whether `out` may be replaced is decided before any work by `pocketbert.core.outputs.check_output_dir`
    (the --force rule); `force` here only confirms that decision, and a dir that filled up in between is refused.
    """
    out = Path(os.path.abspath(out))  # "." or "x/.." has no name to put a sibling next to
    if out.exists() and not out.is_dir():
        raise PocketbertError(f"output path {out} exists and is not a directory; choose another --out")
    if not force and out.is_dir() and any(out.iterdir()):
        raise PocketbertError(f"output dir {out} already exists; pass --force to replace it or choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_TAG}", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}{OLD_TAG}{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator:
    """Open a temporary file beside `path`; it becomes `path` only when the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_TAG}", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj, indent: int = 2) -> None:
    """Atomically write `obj` as JSON (sorted keys keep files diffable and golden files deterministic)."""
    with atomic_file(path) as fh:
        json.dump(obj, fh, indent=indent, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def leftover_temporaries(parent: Path) -> list[Path]:
    """The temporaries of atomic_output_dir / atomic_file in `parent`: an exception removes them, but a killed process
    (SIGKILL, a closed session) leaves them. Only the caller knows whether no other process is writing them."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    return sorted(d for d in parent.iterdir() if d.name.startswith(".") and (TMP_TAG in d.name or OLD_TAG in d.name))
