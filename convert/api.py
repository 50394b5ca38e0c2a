"""convert_model(): model dir -> artifact dir (model file, vocab.txt, tokenizer files, manifest.json) with a parity gate.

Everything is written into a temporary sibling dir; only when parity passes does it become `out`
(atomic_output_dir), so a failed conversion leaves nothing behind that an app could pick up.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import time
from pathlib import Path

from pocketbert.convert.specs import input_specs, output_specs
from pocketbert.core import registry
from pocketbert.core.device_info import package_version
from pocketbert.core.errors import PocketbertError
from pocketbert.core.registry import PARITY_SAMPLES as DEFAULT_PARITY_N
from pocketbert.core.manifest import MANIFEST_NAME
from pocketbert.core.outputs import Marker
from pocketbert.core.quiet import native_stderr_captured
from pocketbert.core.runtime import COREML_COMPUTE_UNITS
from pocketbert.core.models import write_vocab_txt

# Tokenizer files copied next to the model so the app and `parity` need nothing else.
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
VERSIONED_PACKAGES = ("pocketbert", "torch", "transformers", "litert-torch", "ai-edge-quantizer", "ai-edge-litert",
                      "coremltools", "onnx", "onnxruntime", "executorch", "torchao")
# An artifact dir is recognized by its manifest; `--force` replaces only such dirs (pocketbert.core.outputs).
MARKER = Marker("convert", MANIFEST_NAME, ("format", "model_file"))


def versions() -> dict:
    return {pkg.replace("-", "_"): package_version(pkg) for pkg in VERSIONED_PACKAGES}


def check_args(fmt: str, task: str, seq_lens: list[int], precision: str, calibration=None, **opts) -> str:
    """Validate everything that needs no model load; returns the canonical format name."""
    aliases = registry.format_aliases()
    if fmt not in aliases:
        raise PocketbertError(f"unknown format {fmt!r}; choose one of {', '.join(aliases)}")
    fmt = aliases[fmt]
    valid = registry.FORMATS[fmt].precisions
    if precision not in valid:
        raise PocketbertError(f"--precision {precision!r} is not valid for {fmt}; choose one of {', '.join(valid)}")
    if precision == "int8-full":
        if calibration is None:
            raise PocketbertError("--precision int8-full needs --calibration FILE (text, one sentence a line, or SQuAD JSON for qa)")
        if not Path(calibration).is_file():
            raise PocketbertError(f"--calibration {calibration} does not exist; pass a text file or SQuAD JSON")
    elif calibration is not None:
        raise PocketbertError(f"--calibration is only used by --precision int8-full (got {precision})")
    units = opts.get("compute_units", "all")
    if units not in COREML_COMPUTE_UNITS:
        raise PocketbertError(f"--compute-units {units!r}; choose one of {', '.join(COREML_COMPUTE_UNITS)}")
    if len(set(seq_lens)) != len(seq_lens):
        raise PocketbertError(f"--seq-len given twice ({', '.join(map(str, seq_lens))}); pass each length once")
    check = export_hook(fmt, "check_args")
    if check is not None:  # the format's own options and optional extras, still before any model load
        check(precision, opts)
    return fmt


def export_hook(fmt: str, name: str):
    """An optional function of the format's export module (`check_args(precision, opts)`: argument checks that need
    no model, e.g. a missing optional extra), or None where the module defines none."""
    module = registry.FORMATS[fmt].export.partition(":")[0]
    try:
        return registry.load_entry(f"{module}:{name}")
    except AttributeError:
        return None


def tokenizer_block(tokenizer, model_path: str, seq_lens: list[int]) -> dict:
    """The artifact's tokenizer settings (CONTRACTS.md §3/§5), read from tokenizer_config.json where present."""
    import json

    from pocketbert.convert.parity_inputs import qa_settings
    from pocketbert.core.qa import DEFAULT_MAX_ANSWER_LEN

    cfg = {}
    cfg_path = Path(model_path) / "tokenizer_config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text())
    # What the fast tokenizer really does is its BertNormalizer; tokenizer_config.json is the fallback.
    norm = json.loads(tokenizer.backend_tokenizer.to_str()).get("normalizer") or {}
    if norm.get("type") == "BertNormalizer":
        cfg = {**cfg, "do_lower_case": norm.get("lowercase", True), "strip_accents": norm.get("strip_accents"),
               "tokenize_chinese_chars": norm.get("handle_chinese_chars", True)}
    lowercase = bool(cfg.get("do_lower_case", getattr(tokenizer, "do_lower_case", True)))
    strip = cfg.get("strip_accents", None)
    max_query_len, doc_stride = qa_settings(seq_lens)
    return {
        "vocab_file": "vocab.txt",
        "lowercase": lowercase,
        "strip_accents": None if strip is None else bool(strip),
        "tokenize_chinese_chars": bool(cfg.get("tokenize_chinese_chars", True)),
        "max_query_len": max_query_len,
        "doc_stride": doc_stride,
        "max_answer_len": DEFAULT_MAX_ANSWER_LEN,
        "special_ids": {
            "pad": tokenizer.pad_token_id, "unk": tokenizer.unk_token_id, "cls": tokenizer.cls_token_id,
            "sep": tokenizer.sep_token_id, "mask": tokenizer.mask_token_id,
        },
    }


def write_tokenizer(tokenizer, model_path: str, out: Path) -> None:
    """vocab.txt (+ the HF tokenizer files) into the artifact dir; vocab.txt is rebuilt from ids if absent."""
    src = Path(model_path)
    for name in TOKENIZER_FILES:
        if src.is_dir() and (src / name).is_file():
            shutil.copy2(src / name, out / name)
    write_vocab_txt(tokenizer, out)


def labels_of(config, task: str) -> list[str] | None:
    if task != "cls":
        return None
    id2label = getattr(config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(int(config.num_labels))]


def build_manifest(fmt: str, source, tokenizer, seq_lens: list[int], precision: str, quantization: dict | None,
                   model_file: str, signatures: list[dict], out: Path) -> dict:
    from pocketbert.core.manifest import SCHEMA_VERSION, artifact_sha256, artifact_size

    cfg = source.config
    smax = max(seq_lens)
    num_labels = int(getattr(cfg, "num_labels", 2))
    return {
        "schema_version": SCHEMA_VERSION,
        "format": fmt,
        "model_file": model_file,
        "source_model": source.path if not Path(source.path).exists() else str(Path(source.path).resolve()),
        "source_architecture": source.architecture,
        "model_type": source.model_type,
        "task": source.task,
        "precision": precision,
        "quantization": quantization,
        "seq_lens": sorted(seq_lens),
        "signatures": signatures,
        "inputs": [s.as_dict() for s in input_specs(source.model_type, smax)],
        "outputs": [s.as_dict() for s in output_specs(source.task, smax, int(cfg.hidden_size), num_labels,
                                                      int(cfg.vocab_size))],
        "tokenizer": tokenizer_block(tokenizer, source.path, seq_lens),
        "labels": labels_of(cfg, source.task),
        "file_size_bytes": artifact_size(out / model_file),
        "sha256": artifact_sha256(out / model_file),
        "versions": versions(),
        "parity": {"status": "failed", "runtime": "none", "n": 0, "outputs": {}, "task_agreement": None,
                   "thresholds": {}, "note": "parity not run yet"},
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _export(fmt: str, source, tokenizer, seq_lens: list[int], precision: str, tmp: Path, calibration, opts):
    """Write the model file(s) into tmp with the export module the registry names for `fmt` (imported here: the
    converters are heavy optional packages); returns (model_file, signatures, quantization info)."""
    export = registry.load_entry(registry.FORMATS[fmt].export)
    return export(source, tokenizer, seq_lens, precision, tmp, calibration, opts)


def convert_model(fmt: str, model: str | Path, task: str, seq_lens: list[int], precision: str, out: Path,
                  force: bool = False, data=None, n: int = DEFAULT_PARITY_N, calibration=None, console=None,
                  **opts) -> Path:
    """Convert `model` for `task` to `fmt` (a registry.FORMATS name or alias: android|tflite, ios|coreml, onnx,
    executorch) at static `seq_lens`; returns `out`.

    Raises PocketbertError on bad input and ParityError (no dir left) when the artifact disagrees with PyTorch.
    """
    from pocketbert.convert.parity import ParityError, render, run_parity
    from pocketbert.convert.wrappers import check_source, load_source
    from pocketbert.core.atomic import atomic_output_dir, write_json
    from pocketbert.core.manifest import validate_manifest
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.outputs import check_output_dir

    seq_lens = list(seq_lens)
    fmt = check_args(fmt, task, seq_lens, precision, calibration, **opts)
    out = Path(out)
    force = check_output_dir(out, force, MARKER, inputs=[model, data, calibration])
    check_source(model, task, seq_lens)
    tokenizer = load_tokenizer(model)
    source = load_source(model, task)
    with atomic_output_dir(out, force=force) as tmp:
        started = time.perf_counter()
        with native_stderr_captured():  # converter / quantizer chatter; replayed if the export fails
            model_file, sigs, qinfo = _export(fmt, source, tokenizer, seq_lens, precision, tmp, calibration, opts)
        export_s = time.perf_counter() - started
        write_tokenizer(tokenizer, source.path, tmp)
        manifest = build_manifest(fmt, source, tokenizer, seq_lens, precision, qinfo, model_file, sigs, tmp)
        started = time.perf_counter()
        with native_stderr_captured():  # the runtime's "Created ... delegate" lines
            report = run_parity(tmp, data=data, n=n, source=source, tokenizer=tokenizer, manifest=manifest)
        manifest["parity"] = report.as_manifest()
        manifest["timings_s"] = {"export": round(export_s, 2), "parity": round(time.perf_counter() - started, 2)}
        validate_manifest(manifest, tmp / "manifest.json")
        if not report.ok:
            render(report, f"parity of {fmt} {precision} vs {source.name}", console)
            failed = [c for c, ok, _ in report.checks if not ok]
            hint = "try a higher precision" if precision not in ("fp32", "fp16") else "please report this model"
            raise ParityError(
                f"parity failed ({'; '.join(failed)}): the {fmt} {precision} artifact answers differently from "
                f"{source.name}; nothing was written to {out} ({hint})",
                report=report, manifest=manifest,
            )
        write_json(tmp / "manifest.json", manifest)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the artifact is meant to be copied and shared
    return out
