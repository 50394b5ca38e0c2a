"""`pocketbert bench import`: saved benchmark_model logs and the demo apps' JSON (CONTRACTS.md §7) -> records.

Phones measured elsewhere (a colleague's device farm, the apps' own Benchmark screen) join the same reports.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.registry import PRECISION_ORDER
from pocketbert.core.results import SCHEMA_VERSION, append_records, check_results_out, latency_summary, now_iso

from pocketbert.bench.android import model_block, record_from_log
from pocketbert.bench.artifacts import load_target
from pocketbert.bench.benchmark_log import parse_benchmark_log

APP_KEY = "pocketbert_app_results"
APP_KINDS = {"ios_demo": "ios", "android_demo": "android"}
# Longest name first, so "int8-dynamic" in a file name is not read as "int8".
PRECISION_WORDS = tuple(sorted(PRECISION_ORDER, key=len, reverse=True))


def guess_precision(name: str) -> str | None:
    low = name.lower()
    return next((p for p in PRECISION_WORDS if p in low), None)


def app_records(data: dict, source: str) -> list[dict]:
    """Records from one app results JSON."""
    if data.get(APP_KEY) != 1:
        raise PocketbertError(f"{source}: unsupported {APP_KEY} version {data.get(APP_KEY)!r}; this pocketbert reads 1")
    app = data.get("app")
    if app not in APP_KINDS:
        raise PocketbertError(f"{source}: app must be one of {', '.join(APP_KINDS)}, got {app!r}")
    dev = data.get("device") or {}
    device = {"name": dev.get("name") or dev.get("model") or "unknown phone", "kind": APP_KINDS[app],
              "os": dev.get("os"), "soc": dev.get("soc"), "cpu": dev.get("model"), "cores": dev.get("cores"),
              "memory_bytes": dev.get("memory_bytes")}
    records = []
    runs = data.get("runs") or []
    if not isinstance(runs, list):
        raise PocketbertError(f"{source}: runs must be a list of run objects (CONTRACTS.md §7)")
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise PocketbertError(f"{source}: runs[{i}] is not an object (CONTRACTS.md §7)")
        missing = [k for k in ("model", "precision", "seq_len", "runtime", "latencies_ms") if k not in run]
        if missing or not run.get("latencies_ms"):
            raise PocketbertError(f"{source}: runs[{i}] lacks {', '.join(missing) or 'latencies_ms values'} (CONTRACTS.md §7)")
        samples = run["latencies_ms"]
        bad = next((x for x in samples if not _is_ms(x)), None) if isinstance(samples, list) else samples
        if bad is not None or not isinstance(samples, list):
            raise PocketbertError(f"{source}: runs[{i}].latencies_ms must be a list of milliseconds (numbers >= 0), "
                                  f"found {bad!r} (CONTRACTS.md §7)")
        if isinstance(run["seq_len"], bool) or not isinstance(run["seq_len"], int) or run["seq_len"] < 1:
            raise PocketbertError(f"{source}: runs[{i}].seq_len must be a positive integer, got {run['seq_len']!r}")
        records.append({
            "schema_version": SCHEMA_VERSION,
            "timestamp": now_iso(),
            "device": device,
            "runtime": {"name": run["runtime"], "version": run.get("runtime_version"),
                        "delegate": run.get("delegate"), "compute_units": run.get("compute_units")},
            "threads": run.get("threads"),
            "model": {"name": run["model"], "role": None, "architecture": None, "task": run.get("task"),
                      "params": None, "source": None, "weights": None},
            "precision": run["precision"],
            "seq_len": int(run["seq_len"]),
            "batch": 1,
            "latency_ms": latency_summary([float(x) for x in samples]),
            "init_ms": run.get("init_ms"),
            "first_inference_ms": run.get("first_inference_ms"),
            "peak_memory_bytes": run.get("peak_memory_bytes"),
            "model_size_bytes": run.get("model_size_bytes"),
            "accuracy": None,
            "source_file": source,
            "parity": None,
            "extra": {"artifact_sha256": run.get("artifact_sha256"), "app": app},
        })
    if not records:
        raise PocketbertError(f"{source}: no runs in the app results; run the benchmark in the app first")
    return records


def _is_ms(x) -> bool:
    """A latency in milliseconds as the apps write it: a finite JSON number >= 0 (not a string, not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def log_record(text: str, source: str, facts: dict) -> dict:
    """A record from one benchmark_model log plus the facts the log cannot tell (device, model, precision)."""
    log = parse_benchmark_log(text, source=source)
    target = load_target(Path(facts["artifact"]), []) if facts.get("artifact") else None
    graph = log.graph or ""
    graph_name = Path(graph).stem if graph else Path(source).stem
    if graph and Path(graph).stem == "model":  # …/<artifact-name>/model.tflite
        graph_name = Path(graph).parent.name or graph_name
    model = model_block(target) if target else {"name": graph_name, "role": None, "architecture": None,
                                                 "task": None, "params": None, "source": None, "weights": None}
    if facts.get("model_name"):
        model["name"] = facts["model_name"]
    if facts.get("task"):
        model["task"] = facts["task"]
    sig = re.fullmatch(r"seq_(\d+)", log.signature or "")
    seq_len = facts.get("seq_len") or (int(sig.group(1)) if sig else None)
    if seq_len is None and target and len(target.seq_lens) == 1:
        seq_len = target.seq_lens[0]
    if seq_len is None:
        raise PocketbertError(f"{source}: the log names no seq_<S> signature; pass --seq-len")
    precision = facts.get("precision") or (target.precision if target else None) or guess_precision(graph or source)
    if precision is None:
        raise PocketbertError(f"{source}: cannot tell the precision from the log; pass --precision (e.g. fp32, int8-dynamic)")
    if not facts.get("device_name"):
        raise PocketbertError(f"{source}: a benchmark_model log does not name its device; pass --device-name")
    device = {"name": facts["device_name"], "kind": facts.get("device_kind") or "android", "os": facts.get("os"),
              "soc": facts.get("soc"), "cpu": facts.get("cpu"), "cores": facts.get("cores"),
              "memory_bytes": facts.get("memory_bytes")}
    size = None
    if target:
        from pocketbert.core.manifest import artifact_size

        size = artifact_size(target.model_file(seq_len))
    return record_from_log(log, device, model, precision, int(seq_len), facts.get("threads"), source, size,
                           facts.get("runtime_version"), facts.get("delegate"), target.parity() if target else None)


def import_files(files, out: Path, facts: dict | None = None) -> list[dict]:
    """Import every file (app JSON or benchmark_model log), then append all records to `out`: all or nothing."""
    check_results_out(Path(out), inputs=files)
    records = []
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise PocketbertError(f"{path} does not exist; pass saved benchmark_model logs or app results JSON")
        text = path.read_text(errors="replace")
        data = None
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PocketbertError(f"{path} looks like JSON but does not parse ({exc.msg})") from exc
        if isinstance(data, dict) and APP_KEY in data:
            new = app_records(data, str(path))
        elif data is not None:
            raise PocketbertError(f"{path} is JSON without {APP_KEY!r}; it is not a demo app results file")
        else:
            new = [log_record(text, str(path), facts or {})]
        records += new
    append_records(out, records)
    return records
