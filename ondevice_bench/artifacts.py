"""What the bench is handed: a converted artifact dir (CONTRACTS.md §5) or a source model dir (PyTorch baseline).

Everything is checked before the first measurement, so a truncated download or a dir without a manifest is one
clear line up front instead of a runtime crash half-way through a long benchmark.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pocketbert.core import registry
from pocketbert.core.errors import PocketbertError
from pocketbert.core.manifest import MANIFEST_NAME as MANIFEST
from pocketbert.core.manifest import check_model_file
from pocketbert.core.runtime import backend_class

# Appended to a target's kind when its format's runtime does not run here (host bench lists it as skipped).
SKIP_SUFFIX = "-skip"


@dataclass
class Target:
    """One thing to benchmark: its kind (tflite|onnx|coreml|pytorch), files and model facts for the record."""

    kind: str
    path: Path
    name: str
    task: str | None
    precision: str
    seq_lens: list[int]
    signatures: dict[int, dict] = field(default_factory=dict)  # seq_len -> {"name", "file"}
    architecture: str | None = None
    source: str | None = None
    params: int | None = None
    manifest: dict | None = None
    vocab_dir: Path | None = None  # where a tokenizer (vocab.txt / tokenizer.json) lives

    def model_file(self, seq_len: int) -> Path:
        """The file the runtime loads for this sequence length (TFLite: one file, ONNX: maybe one per length)."""
        sig = self.signatures.get(seq_len) or {}
        return self.path / (sig.get("file") or self.manifest["model_file"]) if self.manifest else self.path

    def signature(self, seq_len: int) -> str | None:
        return (self.signatures.get(seq_len) or {}).get("name")

    def parity(self) -> dict | None:
        """Parity verdict for the record: status plus the worst max_abs and cosine over outputs."""
        parity = (self.manifest or {}).get("parity")
        if not isinstance(parity, dict) or "status" not in parity:
            return None
        outs = (parity.get("outputs") or {}).values()
        max_abs = [o["max_abs"] for o in outs if isinstance(o, dict) and o.get("max_abs") is not None]
        cos = [o["cosine"] for o in outs if isinstance(o, dict) and o.get("cosine") is not None]
        return {"status": str(parity["status"]), "max_abs": max(max_abs) if max_abs else None,
                "cosine": min(cos) if cos else None}


def _manifest(dir_: Path) -> dict:
    path = dir_ / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PocketbertError(f"{path} is not valid JSON ({exc.msg}); re-run `pocketbert convert` for this artifact") from exc
    missing = [k for k in ("format", "model_file", "seq_lens", "precision") if k not in manifest]
    if missing:
        raise PocketbertError(f"{path} lacks {', '.join(missing)}; it was not written by `pocketbert convert` (CONTRACTS.md §5)")
    if manifest["format"] not in registry.FORMATS:
        raise PocketbertError(f"{path}: unknown format {manifest['format']!r}; expected one of "
                              f"{', '.join(registry.FORMATS)}")
    return manifest


def _from_artifact(dir_: Path, verify_hash: bool) -> Target:
    manifest = _manifest(dir_)
    check_model_file(dir_, manifest, verify_hash)
    seq_lens = sorted(int(s) for s in manifest["seq_lens"])
    sigs = {int(s["seq_len"]): {"name": s.get("name"), "file": s.get("file")} for s in manifest.get("signatures") or []}
    for s in seq_lens:
        sigs.setdefault(s, {"name": f"seq_{s}", "file": None})
    return Target(
        kind=manifest["format"], path=dir_, name=dir_.name, task=manifest.get("task"),
        precision=str(manifest["precision"]), seq_lens=seq_lens, signatures=sigs,
        architecture=manifest.get("source_architecture") or manifest.get("model_type"),
        source=manifest.get("source_model"), params=manifest.get("params"), manifest=manifest, vocab_dir=dir_,
    )


def _from_model_dir(dir_: Path, seq_lens: list[int]) -> Target:
    from pocketbert.core.models import check_weights

    check_weights(dir_)  # a truncated model.safetensors: one line now, not a worker traceback later
    try:
        config = json.loads((dir_ / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PocketbertError(f"{dir_ / 'config.json'} is not valid JSON; re-save the model with save_pretrained") from exc
    archs = config.get("architectures") or []
    arch = archs[0] if archs else config.get("model_type")
    task = task_of_architecture(arch)
    return Target(kind="pytorch", path=dir_, name=dir_.name, task=task, precision="fp32", seq_lens=list(seq_lens),
                  architecture=arch, source=str(dir_), vocab_dir=dir_)


def task_of_architecture(arch: str | None) -> str:
    """The task a saved head serves (CONTRACTS.md §2), from its architecture class name."""
    arch = arch or ""
    for suffix, task in (("ForQuestionAnswering", "qa"), ("ForSequenceClassification", "cls"), ("ForMaskedLM", "mlm")):
        if arch.endswith(suffix):
            return task
    return "embed"


def load_target(path: Path, seq_lens_for_models: list[int], verify_hash: bool = True) -> Target:
    """Classify and check one command-line path."""
    path = Path(path)
    if not path.exists():
        raise PocketbertError(f"{path} does not exist; pass an artifact dir written by `pocketbert convert` or a model dir")
    if path.is_file():
        raise PocketbertError(f"{path} is a file; pass the artifact dir that holds manifest.json (or a model dir)")
    if (path / MANIFEST).is_file():
        target = _from_artifact(path, verify_hash)
        if target.kind in registry.FORMATS and backend_class(target.kind).unavailable_here(target.manifest):
            target.kind += SKIP_SUFFIX  # e.g. Core ML off macOS: listed, not timed
        return target
    if (path / "config.json").is_file():
        return _from_model_dir(path, seq_lens_for_models)
    raise PocketbertError(f"{path} has no manifest.json (not an artifact dir) and no config.json (not a model dir); "
                          "pass a dir written by `pocketbert convert`")
