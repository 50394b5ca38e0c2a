"""`pocketbert bench host`: measure artifacts (and PyTorch source models) on this machine, one fresh process each."""
from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import SCHEMA_VERSION, append_record, check_results_out, latency_summary, now_iso

from pocketbert.bench.artifacts import SKIP_SUFFIX, Target, load_target
from pocketbert.core.manifest import artifact_size
from pocketbert.core.runtime import backend_class
from pocketbert.bench.device_info import host_device, load_average
from pocketbert.bench.worker import RESULT_PREFIX

DEFAULT_THREADS = (1, 2, 4)
DEFAULT_RUNS = 50
DEFAULT_WARMUP = 5
DEFAULT_MODEL_SEQ_LENS = (384,)  # sequence lengths for PyTorch model dirs (artifacts carry their own)
WORKER_TIMEOUT_S = 3600
# Rounds of A, B, A, B ... when several models are measured: DESIGN.md saw one pair's ratio move from 0.47 to
# 0.998 between back-to-back runs on this shared box; the median of per-round ratios is what survives that.
DEFAULT_ROUNDS = 5


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


def merge_rounds(results: list[dict]) -> dict:
    """One worker result from several rounds: all samples, median load/first-run times, the highest peak RSS."""
    if len(results) == 1:
        return results[0]
    return {**results[0],
            "samples_ms": [x for r in results for x in r["samples_ms"]],
            "init_ms": round(statistics.median(r["init_ms"] for r in results), 3),
            "first_inference_ms": round(statistics.median(r["first_inference_ms"] for r in results), 3),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in results),
            "rss_before_load_bytes": min(r["rss_before_load_bytes"] for r in results)}


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
               verify_hash: bool = True, progress: bool = True, rounds: int | None = None) -> list[dict]:
    """Measure every (path, seq_len, threads); append each record to `out` as soon as it exists; return them.

    `seq_lens` limits artifacts to those lengths (and sets them for model dirs); `overrides` maps a path (str) to
    {"model": {...}, "precision": ...} so callers such as `bench pair` can say teacher/student and random weights.
    `rounds` (default DEFAULT_ROUNDS when several models are measured, else 1) interleaves the models of each
    (seq_len, threads) setting; `runs` timed inferences per model are split over the rounds (ceil(runs / rounds)
    each) and each record keeps its per-round p50s in `extra.round_p50_ms` for the report's per-round ratios.
    """
    from tqdm import tqdm

    from pocketbert.bench.inputs import bench_features, load_bench_tokenizer

    if runs < 1 or warmup < 0 or not threads or min(threads) < 1:
        raise PocketbertError("--runs must be >= 1, --warmup >= 0 and --threads a list of positive integers")
    check_results_out(Path(out), inputs=paths)  # before the first measurement, not after the last
    targets = [load_target(Path(p), list(seq_lens or DEFAULT_MODEL_SEQ_LENS), verify_hash) for p in paths]
    jobs = []  # (target, seq_len, threads) in the caller's model order
    for target in targets:
        if target.kind.endswith(SKIP_SUFFIX):
            reason = backend_class(target.kind[: -len(SKIP_SUFFIX)]).unavailable_here(target.manifest)
            _say(f"skip {target.path}: {reason} (this is {host_device()['os']})")
            continue
        lens = [s for s in target.seq_lens if not seq_lens or s in seq_lens]
        if not lens:
            raise PocketbertError(f"{target.path} has sequence lengths {target.seq_lens}, none of {list(seq_lens)}")
        jobs += [(target, s, t) for s in lens for t in threads]
    n_models = len({str(t.path) for t, _, _ in jobs})
    rounds = min(runs, rounds if rounds is not None else (DEFAULT_ROUNDS if n_models > 1 else 1))
    if rounds < 1:
        raise PocketbertError("--rounds must be >= 1")
    per_round = math.ceil(runs / rounds)
    # One setting = (seq_len, threads): its models are timed in alternating rounds, A B | B A | A B ... (ABBA
    # order cancels a steady drift between neighbours), each run in a fresh worker, so a load burst on the shared
    # host hits both models of a round instead of one model's whole measurement.
    settings: dict[tuple[int, int], list] = {}
    for target, seq_len, n_threads in jobs:
        settings.setdefault((seq_len, n_threads), []).append(target)
    records: list[dict] = []
    tokenizers: dict[str, object] = {}

    def finish(target, seq_len: int, n_threads: int, rounds_done: list[dict], interleave_id: str | None) -> None:
        record = make_record(target, seq_len, n_threads, merge_rounds(rounds_done),
                             (overrides or {}).get(str(target.path)))
        if interleave_id is not None:
            record["extra"]["interleave"] = {"id": interleave_id, "rounds": rounds, "runs_per_round": per_round,
                                             "models": len(settings[(seq_len, n_threads)]), "order": "ABBA"}
            record["extra"]["round_p50_ms"] = [latency_summary(r["samples_ms"])["p50"] for r in rounds_done]
        append_record(out, record)
        records.append(record)
        lat = record["latency_ms"]
        bar.write(f"{record['model']['name']} {record['precision']} seq {seq_len} threads {n_threads} "
                  f"({record['runtime']['name']}): p50 {lat['p50']:.2f} ms over {len(rounds_done)} round(s), "
                  f"peak RSS {record['peak_memory_bytes'] / 2**20:.0f} MiB", file=sys.stderr)

    total = sum(len(ts) for ts in settings.values()) * rounds
    bar = tqdm(total=total, desc="bench host", unit="run", disable=None if progress else True, file=sys.stderr)
    for (seq_len, n_threads), group in settings.items():
        interleave_id = uuid.uuid4().hex[:12]
        results: dict[str, list[dict]] = {str(t.path): [] for t in group}
        for r in range(rounds):
            for target in (group if r % 2 == 0 else group[::-1]):
                bar.set_postfix_str(f"{target.name} seq {seq_len} x{n_threads} round {r + 1}/{rounds}")
                key = str(target.vocab_dir)
                if key not in tokenizers:
                    tokenizers[key] = load_bench_tokenizer(target.vocab_dir, target.manifest)
                spec = {"kind": target.kind, "path": str(target.model_file(seq_len)),
                        "signature": target.signature(seq_len), "task": target.task, "seq_len": seq_len,
                        "threads": n_threads, "runs": per_round, "warmup": warmup,
                        "features": bench_features(tokenizers[key], seq_len)}
                results[str(target.path)].append(run_worker(spec))
                bar.update(1)
                if rounds == 1:  # nothing to interleave: write each record the moment it is measured
                    finish(target, seq_len, n_threads, results[str(target.path)], None)
        if rounds > 1:  # a setting's records are written as soon as all its rounds are done
            for target in group:
                finish(target, seq_len, n_threads, results[str(target.path)], interleave_id)
    bar.close()
    return records
