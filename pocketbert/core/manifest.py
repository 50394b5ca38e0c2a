"""The artifact manifest (CONTRACTS.md §5): its JSON schema, hashing of model files, load and validate.

Conversion writes it, parity rewrites its `parity` block, bench and the apps read it. The schema is the
single place the keys are spelled; `validate_manifest` turns a schema violation into one line.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.registry import FORMATS, TASKS

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
HASH_CHUNK_BYTES = 1 << 20

_TENSOR = {
    "type": "object",
    "required": ["name", "dtype", "shape"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "dtype": {"type": "string", "enum": ["int32", "int64", "float16", "float32"]},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
    },
}
_OUTPUT_STATS = {
    "type": "object",
    "required": ["max_abs", "mean_abs", "cosine"],
    "properties": {
        "max_abs": {"type": "number", "minimum": 0},
        "mean_abs": {"type": "number", "minimum": 0},
        "cosine": {"type": "number"},
    },
}
_NULLABLE_STR = {"type": ["string", "null"]}

MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pocketbert artifact manifest",
    "type": "object",
    "required": [
        "schema_version", "format", "model_file", "source_model", "source_architecture", "model_type", "task",
        "precision", "quantization", "seq_lens", "signatures", "inputs", "outputs", "tokenizer", "labels",
        "file_size_bytes", "sha256", "versions", "parity", "created_at",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "format": {"enum": list(FORMATS)},
        "model_file": {"type": "string", "minLength": 1},
        "source_model": {"type": "string"},
        "source_architecture": {"type": "string"},
        "model_type": {"type": "string"},
        "task": {"enum": list(TASKS)},
        "precision": {"type": "string"},
        "quantization": {"type": ["object", "null"]},
        "seq_lens": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
        "signatures": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "seq_len", "file"],
                "properties": {
                    "name": {"type": "string"},
                    "seq_len": {"type": "integer", "minimum": 1},
                    "file": {"type": "string"},
                },
            },
        },
        "inputs": {"type": "array", "items": _TENSOR, "minItems": 2},
        "outputs": {"type": "array", "items": _TENSOR, "minItems": 1},
        "tokenizer": {
            "type": "object",
            "required": ["vocab_file", "lowercase", "strip_accents", "tokenize_chinese_chars", "max_query_len",
                         "doc_stride", "max_answer_len", "special_ids"],
            "properties": {
                "vocab_file": {"type": "string"},
                "lowercase": {"type": "boolean"},
                "strip_accents": {"type": ["boolean", "null"]},
                "tokenize_chinese_chars": {"type": "boolean"},
                "max_query_len": {"type": "integer"},
                "doc_stride": {"type": "integer"},
                "max_answer_len": {"type": "integer"},
                "special_ids": {"type": "object", "additionalProperties": {"type": ["integer", "null"]}},
            },
        },
        "labels": {"type": ["array", "null"], "items": {"type": "string"}},
        "file_size_bytes": {"type": "integer", "minimum": 1},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "versions": {"type": "object", "required": ["pocketbert"], "additionalProperties": _NULLABLE_STR},
        "parity": {
            "type": "object",
            "required": ["status", "runtime", "n", "outputs", "task_agreement", "thresholds", "note"],
            "properties": {
                "status": {"enum": ["passed", "failed", "spec-only"]},
                "runtime": {"type": "string"},
                "n": {"type": "integer", "minimum": 0},
                "outputs": {"type": "object", "additionalProperties": _OUTPUT_STATS},
                "task_agreement": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "thresholds": {"type": "object"},
                "note": {"type": "string"},
                # optional: the CPU a numeric gate ran on (int8 verdicts hold for its int8 kernels)
                "host": {"type": "object", "properties": {
                    "cpu": {"type": ["string", "null"]},
                    "cpu_int8_flags": {"type": ["array", "null"], "items": {"type": "string"}}}},
            },
        },
        "created_at": {"type": "string"},
    },
}


def manifest_schema() -> dict:
    """MANIFEST_SCHEMA with its format and task enums read from the registry now (a format registered after import,
    as a plugin or a test does, is a valid `format`)."""
    props = {**MANIFEST_SCHEMA["properties"], "format": {"enum": list(FORMATS)}, "task": {"enum": list(TASKS)}}
    return {**MANIFEST_SCHEMA, "properties": props}


def validate_manifest(manifest: dict, where: str | Path = "manifest") -> dict:
    """Check `manifest` against MANIFEST_SCHEMA; raise one line naming the first problem."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(manifest_schema())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        at = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise PocketbertError(f"{where}: invalid manifest at {at}: {err.message}; re-run `pocketbert convert`")
    return manifest


def load_manifest(artifact_dir: str | Path, validate: bool = True) -> dict:
    """Read and (by default) validate `<artifact_dir>/manifest.json`."""
    path = Path(artifact_dir) / MANIFEST_NAME
    if not Path(artifact_dir).is_dir():
        raise PocketbertError(f"artifact dir {artifact_dir} does not exist; pass a dir written by `pocketbert convert`")
    if not path.is_file():
        raise PocketbertError(f"{artifact_dir} has no {MANIFEST_NAME}; pass a dir written by `pocketbert convert`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PocketbertError(f"{path} is not valid JSON ({exc}); re-run `pocketbert convert`") from exc
    return validate_manifest(manifest, path) if validate else manifest


def _files_of(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def artifact_size(path: str | Path) -> int:
    """Bytes of a model file, or of every file inside a model dir (.mlpackage)."""
    return sum(p.stat().st_size for p in _files_of(Path(path)))


def artifact_sha256(path: str | Path) -> str:
    """sha256 of a model file; for a dir (.mlpackage), of each file's relative path then bytes, in sorted order.

    The one rule for both sides: convert writes it into the manifest, bench recomputes it to catch truncation.
    """
    path = Path(path)
    digest = hashlib.sha256()
    for f in _files_of(path):
        if path.is_dir():
            digest.update(f.relative_to(path).as_posix().encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()


def check_model_file(dir_: Path, manifest: dict, verify_hash: bool = True) -> None:
    """Missing or truncated model file -> one line: size first (cheap), then sha256 against the manifest.

    Bench and parity both call it: an artifact is checked the same way whoever reads it.
    """
    dir_ = Path(dir_)
    model = dir_ / manifest["model_file"]
    if not model.exists():
        raise PocketbertError(f"artifact {dir_}: model file {manifest['model_file']} is missing; re-run `pocketbert convert`")
    size = artifact_size(model)
    want = manifest.get("file_size_bytes")
    if want is not None and size != want:
        raise PocketbertError(
            f"artifact {dir_}: {manifest['model_file']} has {size} bytes but the manifest says {want} "
            "(truncated or replaced); copy it again or re-run `pocketbert convert`")
    if verify_hash and manifest.get("sha256") and artifact_sha256(model) != manifest["sha256"]:
        raise PocketbertError(
            f"artifact {dir_}: sha256 of {manifest['model_file']} does not match the manifest (corrupt or replaced); "
            "copy it again or re-run `pocketbert convert`")
    for sig in manifest.get("signatures") or []:
        f = sig.get("file")
        if f and not (dir_ / f).exists():
            raise PocketbertError(f"artifact {dir_}: signature file {f} is missing; re-run `pocketbert convert`")
