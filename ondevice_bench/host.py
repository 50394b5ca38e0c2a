"""`pocketbert bench host`: measure artifacts (and PyTorch source models) on this machine, one fresh process each."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import SCHEMA_VERSION, append_record, latency_summary, now_iso

from pocketbert.bench.artifacts import Target, load_target
from pocketbert.core.manifest import artifact_size
from pocketbert.bench.device_info import host_device, load_average
from pocketbert.bench.worker import RESULT_PREFIX

DEFAULT_THREADS = (1, 2, 4)
DEFAULT_RUNS = 50
DEFAULT_WARMUP = 5
DEFAULT_MODEL_SEQ_LENS = (384,)  # sequence lengths for PyTorch model dirs (artifacts carry their own)
WORKER_TIMEOUT_S = 3600


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def run_worker(spec: dict) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result (or raise with its error line)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "pocketbert.bench.worker"], input=json.dumps(spec),
                              capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PocketbertError(f"benchmarking {spec['path']} took over {WORKER_TIMEOUT_S} s; use fewer --runs") from exc
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise PocketbertError(f"benchmark worker for {spec['path']} died without a result: {tail}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    if "error" in result:
        raise PocketbertError(f"{spec['path']} (seq {spec['seq_len']}, {spec['threads']} threads) failed in "
                              f"{spec['kind']}: {result['error']} — a truncated or incompatible model; re-run `pocketbert convert`")
    return result


def make_record(target: Target, seq_len: int, threads: int, result: dict, overrides: dict | None = None) -> dict:
    """A results record (CONTRACTS.md §6) from one worker result."""
    model = {
        "name": target.name, "role": None, "architecture": target.architecture, "task": target.task,
        "params": target.params, "source": target.source, "weights": None,
    }
    model.update((overrides or {}).get("model", {}))
    model_file = target.model_file(seq_len)
    record = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": now_iso(),
        "device": host_device(),
        "runtime": {"name": result["runtime"], "version": result["version"], "delegate": result["delegate"],
                    "compute_units": None},
        "threads": threads,
        "model": model,
        "precision": (overrides or {}).get("precision", target.precision),
        "seq_len": seq_len,
        "batch": 1,
        "latency_ms": latency_summary(result["samples_ms"]),
        "init_ms": result["init_ms"],
        "first_inference_ms": result["first_inference_ms"],
        "peak_memory_bytes": result["peak_rss_bytes"],
        "model_size_bytes": artifact_size(model_file) if target.kind != "pytorch" else _weights_size(target.path),
        "accuracy": None,
        "source_file": str(model_file),
        "parity": target.parity(),
        "extra": {"rss_before_load_bytes": result["rss_before_load_bytes"], "load_average": load_average(),
                  "signature": target.signature(seq_len)},
    }
    return record


def _weights_size(model_dir: Path) -> int:
    files = list(model_dir.glob("*.safetensors")) or list(model_dir.glob("*.bin"))
    return sum(f.stat().st_size for f in files)


def bench_host(paths, threads=DEFAULT_THREADS, runs: int = DEFAULT_RUNS, warmup: int = DEFAULT_WARMUP,
               out: Path = Path("results.jsonl"), seq_lens=None, overrides: dict | None = None,
               verify_hash: bool = True, progress: bool = True) -> list[dict]:
    """Measure every (path, seq_len, threads); append each record to `out` as soon as it exists; return them.

    `seq_lens` limits artifacts to those lengths (and sets them for model dirs); `overrides` maps a path (str) to
    {"model": {...}, "precision": ...} so callers such as `bench pair` can say teacher/student and random weights.
    """
    from tqdm import tqdm

    from pocketbert.bench.inputs import bench_features, load_bench_tokenizer

    if runs < 1 or warmup < 0 or not threads or min(threads) < 1:
        raise PocketbertError("--runs must be >= 1, --warmup >= 0 and --threads a list of positive integers")
    targets = [load_target(Path(p), list(seq_lens or DEFAULT_MODEL_SEQ_LENS), verify_hash) for p in paths]
    jobs = []
    for target in targets:
        if target.kind == "coreml-skip":
            _say(f"skip {target.path}: Core ML runs only on macOS (this is {host_device()['os']})")
            continue
        lens = [s for s in target.seq_lens if not seq_lens or s in seq_lens]
        if not lens:
            raise PocketbertError(f"{target.path} has sequence lengths {target.seq_lens}, none of {list(seq_lens)}")
        jobs += [(target, s, t) for s in lens for t in threads]
    records: list[dict] = []
    tokenizers: dict[str, object] = {}
    bar = tqdm(jobs, desc="bench host", unit="model", disable=not progress, file=sys.stderr)
    for target, seq_len, n_threads in bar:
        bar.set_postfix_str(f"{target.name} seq {seq_len} x{n_threads}")
        key = str(target.vocab_dir)
        if key not in tokenizers:
            tokenizers[key] = load_bench_tokenizer(target.vocab_dir, target.manifest)
        spec = {"kind": target.kind, "path": str(target.model_file(seq_len)), "signature": target.signature(seq_len),
                "task": target.task, "seq_len": seq_len, "threads": n_threads, "runs": runs, "warmup": warmup,
                "features": bench_features(tokenizers[key], seq_len)}
        result = run_worker(spec)
        record = make_record(target, seq_len, n_threads, result, (overrides or {}).get(str(target.path)))
        append_record(out, record)
        records.append(record)
        lat = record["latency_ms"]
        bar.write(f"{record['model']['name']} {record['precision']} seq {seq_len} threads {n_threads} ({record['runtime']['name']}): "
                  f"p50 {lat['p50']:.2f} ms, peak RSS {record['peak_memory_bytes'] / 2**20:.0f} MiB", file=sys.stderr)
    return records
