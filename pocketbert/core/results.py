"""Results JSONL (CONTRACTS.md §6): one measurement per line, the shape every bench path writes and the report reads.

Host benches, Android `benchmark_model` runs and the demo apps' JSON all become the same record, so a report can put
a laptop next to a phone. Records are validated when written AND when read: a report built from a malformed line
would silently compare the wrong numbers.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from pocketbert.core.errors import PocketbertError
from pocketbert.core.registry import FORMATS

SCHEMA_VERSION = 1

# Each format's runtime (the registry's), then the two that run no artifact: PyTorch and Android's benchmark_model.
RUNTIME_NAMES = (*dict.fromkeys(f.runtime for f in FORMATS.values()), "pytorch", "tflite_benchmark_model")
DEVICE_KINDS = ("host", "android", "ios")
ROLES = ("teacher", "student", None)
WEIGHTS = ("trained", "random", None)  # None: not known (e.g. a log imported from elsewhere)

_NUM = {"type": "number", "minimum": 0}
_NUM_OR_NULL = {"type": ["number", "null"], "minimum": 0}
_INT_OR_NULL = {"type": ["integer", "null"], "minimum": 0}
_STR_OR_NULL = {"type": ["string", "null"]}

RESULT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pocketbert benchmark record",
    "type": "object",
    "required": [
        "schema_version", "timestamp", "device", "runtime", "threads", "model", "precision", "seq_len", "batch",
        "latency_ms", "init_ms", "first_inference_ms", "peak_memory_bytes", "model_size_bytes", "accuracy",
        "source_file",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "timestamp": {"type": "string", "minLength": 10},
        "device": {
            "type": "object",
            "required": ["name", "kind", "os", "soc", "cpu", "cores", "memory_bytes"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "kind": {"enum": list(DEVICE_KINDS)},
                "os": _STR_OR_NULL,
                "soc": _STR_OR_NULL,
                "cpu": _STR_OR_NULL,
                "cores": {"type": ["integer", "null"], "minimum": 1},
                "memory_bytes": _INT_OR_NULL,
                "cpu_int8_flags": {"type": ["array", "null"], "items": {"type": "string"}},  # optional (hosts)
            },
        },
        "runtime": {
            "type": "object",
            "required": ["name", "version", "delegate", "compute_units"],
            "properties": {
                "name": {"enum": list(RUNTIME_NAMES)},
                "version": _STR_OR_NULL,
                "delegate": _STR_OR_NULL,
                "compute_units": _STR_OR_NULL,
            },
        },
        "threads": {"type": ["integer", "null"], "minimum": 1},
        "model": {
            "type": "object",
            "required": ["name", "role", "architecture", "task", "params", "source", "weights"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "role": {"enum": list(ROLES)},
                "architecture": _STR_OR_NULL,
                "task": _STR_OR_NULL,
                "params": _INT_OR_NULL,
                "source": _STR_OR_NULL,
                "weights": {"enum": list(WEIGHTS)},
            },
        },
        "precision": {"type": "string", "minLength": 1},
        "seq_len": {"type": "integer", "minimum": 1},
        "batch": {"type": "integer", "minimum": 1},
        "latency_ms": {
            "type": "object",
            "required": ["min", "p50", "p90", "mean", "std", "runs"],
            "properties": {
                # benchmark_model reports no percentiles: p50/p90 are null for its records.
                "min": _NUM, "p50": _NUM_OR_NULL, "p90": _NUM_OR_NULL, "mean": _NUM, "std": _NUM,
                "max": _NUM_OR_NULL,  # optional (not in the first contract draft)
                "runs": {"type": "integer", "minimum": 1},
            },
        },
        "init_ms": _NUM_OR_NULL,
        "first_inference_ms": _NUM_OR_NULL,
        "peak_memory_bytes": _INT_OR_NULL,
        "model_size_bytes": _INT_OR_NULL,
        "accuracy": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["metric", "value"],
                 "properties": {"metric": {"type": "string"}, "value": {"type": "number"}}},
            ],
        },
        "source_file": _STR_OR_NULL,
        # Optional: the artifact's parity verdict, copied from its manifest so reports show it next to speed.
        "parity": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["status"],
                 "properties": {"status": {"type": "string"}, "max_abs": _NUM_OR_NULL, "cosine": {"type": ["number", "null"]}}},
            ],
        },
        # Optional free-form facts (memory baseline, raw log values, load average) that no report relies on.
        "extra": {"type": "object"},
    },
}


def now_iso() -> str:
    """UTC timestamp with seconds, the form every record uses."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(RESULT_SCHEMA)


def record_errors(record: dict) -> list[str]:
    """Every problem with a record: schema violations, then orderings a real measurement always satisfies."""
    problems = []
    for err in sorted(_validator().iter_errors(record), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "<record>"
        problems.append(f"{where}: {err.message}")
    if problems:
        return problems
    lat = record["latency_ms"]
    chain = [("min", lat["min"]), ("p50", lat.get("p50")), ("p90", lat.get("p90")), ("max", lat.get("max"))]
    known = [(k, v) for k, v in chain if v is not None]
    # Tolerance for rounding of values written with limited decimals.
    for (k1, v1), (k2, v2) in zip(known, known[1:]):
        if v1 > v2 + 1e-6:
            problems.append(f"latency_ms: {k1}={v1} is larger than {k2}={v2}")
    if lat.get("max") is not None and not (lat["min"] - 1e-6 <= lat["mean"] <= lat["max"] + 1e-6):
        problems.append(f"latency_ms: mean={lat['mean']} is outside [min, max]")
    return problems


def validate_record(record: dict) -> dict:
    """Return the record unchanged, or raise PocketbertError naming the first problem (one line)."""
    problems = record_errors(record)
    if problems:
        name = (record.get("model") or {}).get("name", "?") if isinstance(record, dict) else "?"
        raise PocketbertError(f"invalid results record for model {name}: {problems[0]}")
    return record


def append_record(path: Path, record: dict) -> None:
    """Validate and append one record, flushed to disk at once, so results measured before a crash are kept."""
    append_records(path, [record])


def append_records(path: Path, records: list[dict]) -> None:
    """Validate every record, then append them all in one write: a bad record appends none (bench import)."""
    for record in records:
        validate_record(record)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def is_results_file(path: Path) -> bool:
    """True when every non-empty line of `path` is a results record (an empty file counts)."""
    try:
        read_records([path])
    except (PocketbertError, UnicodeDecodeError):
        return False
    return True


def check_results_out(path: Path, inputs=()) -> None:
    """Before any measurement: --out is a new file or a results JSONL, never a notes file or an input."""
    from pocketbert.core.outputs import check_output_file

    check_output_file(Path(path), is_results_file, "a results JSONL (one results record per line)", inputs)


def read_records(paths: Iterable[Path]) -> list[dict]:
    """All records of one or more JSONL files in file order; a bad line is an error naming file and line."""
    records: list[dict] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise PocketbertError(f"results file {path} does not exist; run `pocketbert bench …` first")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PocketbertError(f"{path}:{lineno} is not JSON ({exc.msg}); results files hold one JSON object per line") from exc
            problems = record_errors(record) if isinstance(record, dict) else ["not a JSON object"]
            if problems:
                raise PocketbertError(f"{path}:{lineno} is not a valid results record: {problems[0]}")
            records.append(record)
    return records


def latency_summary(samples_ms: list[float]) -> dict:
    """min/p50/p90/mean/std/max of latency samples (ms); percentiles by linear interpolation (numpy's default)."""
    import numpy as np

    if not samples_ms:
        raise PocketbertError("no latency samples to summarize; use at least one timed run")
    arr = np.asarray(samples_ms, dtype=np.float64)
    return {
        "min": round(float(arr.min()), 4),
        "p50": round(float(np.percentile(arr, 50)), 4),
        "p90": round(float(np.percentile(arr, 90)), 4),
        "max": round(float(arr.max()), 4),
        "mean": round(float(arr.mean()), 4),
        "std": round(float(arr.std()), 4),
        "runs": int(arr.size),
    }
