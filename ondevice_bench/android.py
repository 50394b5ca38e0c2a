"""`pocketbert bench android`: TFLite's benchmark_model on a phone through adb, parsed into results records.

The live path needs a phone; the tests drive it with a stand-in `adb` that replays recorded output.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import SCHEMA_VERSION, append_record, check_results_out, now_iso

from pocketbert.bench.adb import Adb
from pocketbert.bench.artifacts import Target, load_target
from pocketbert.core.manifest import artifact_size
from pocketbert.bench.benchmark_log import BenchmarkLog, latency_block, parse_benchmark_log

REMOTE_DIR = "/data/local/tmp/pocketbert"
DELEGATE_FLAGS = {
    "cpu": ["--use_xnnpack=false"],
    "xnnpack": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
}
DEFAULT_THREADS = (4,)
DEFAULT_RUNS = 50


def android_device(adb: Adb) -> dict:
    """The `device` block from getprop / nproc / meminfo."""
    model = adb.getprop("ro.product.model") or adb.serial
    maker = adb.getprop("ro.product.manufacturer")
    soc = adb.getprop("ro.soc.model") or adb.getprop("ro.board.platform")
    release = adb.getprop("ro.build.version.release")
    cores = None
    nproc = adb.shell("nproc").strip()
    if nproc.isdigit():
        cores = int(nproc)
    else:
        cpuinfo = adb.shell("cat", "/proc/cpuinfo")
        cores = sum(1 for ln in cpuinfo.splitlines() if ln.startswith("processor")) or None
    memory = None
    for line in adb.shell("cat", "/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    name = f"{maker} {model}" if maker and not model.lower().startswith(maker.lower()) else model
    return {"name": name, "kind": "android", "os": f"Android {release}" if release else None, "soc": soc,
            "cpu": adb.getprop("ro.board.platform"), "cores": cores, "memory_bytes": memory}


def record_from_log(log: BenchmarkLog, device: dict, model: dict, precision: str, seq_len: int,
                    threads: int | None, source_file: str | None, model_size_bytes: int | None,
                    runtime_version: str | None = None, delegate: str | None = None, parity=None) -> dict:
    """One results record from a parsed benchmark_model log (shared by `bench android` and `bench import`)."""
    size = model_size_bytes
    if size is None and log.model_size_mb is not None:
        size = int(log.model_size_mb * 1024 * 1024)
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": now_iso(),
        "device": device,
        "runtime": {"name": "tflite_benchmark_model", "version": runtime_version,
                    "delegate": delegate or log.delegate, "compute_units": None},
        "threads": threads or log.threads,
        "model": model,
        "precision": precision,
        "seq_len": seq_len,
        "batch": 1,
        "latency_ms": latency_block(log.inference),
        "init_ms": round(log.init_ms, 3) if log.init_ms is not None else None,
        "first_inference_ms": round(log.first_inference_ms, 3) if log.first_inference_ms is not None else None,
        "peak_memory_bytes": log.peak_memory_bytes,
        "model_size_bytes": size,
        "accuracy": None,
        "source_file": source_file,
        "parity": parity,
        "extra": {"memory_init_mb": log.memory_init_mb, "memory_overall_mb": log.memory_overall_mb,
                  "signature": log.signature, "graph": log.graph},
    }


def model_block(target: Target) -> dict:
    return {"name": target.name, "role": None, "architecture": target.architecture, "task": target.task,
            "params": target.params, "source": target.source, "weights": None}


def bench_android(paths, benchmark_binary: Path, out: Path, serial: str | None = None, delegate: str = "xnnpack",
                  threads=DEFAULT_THREADS, runs: int = DEFAULT_RUNS, adb_path: str | None = None,
                  logs_dir: Path | None = None, runtime_version: str | None = None) -> list[dict]:
    """Push each .tflite artifact and benchmark_model, run every (signature, threads), append records to `out`."""
    from tqdm import tqdm

    if delegate not in DELEGATE_FLAGS:
        raise PocketbertError(f"unknown delegate {delegate}; choose one of {', '.join(DELEGATE_FLAGS)}")
    check_results_out(Path(out), inputs=[*paths, benchmark_binary])
    binary = Path(benchmark_binary)
    if not binary.is_file():
        raise PocketbertError(f"benchmark binary {binary} does not exist; build or download TFLite's "
                              "android_arm64 benchmark_model and pass its path")
    adb = Adb(adb_path, serial)  # cheap checks first: no phone, no need to hash big models
    targets = [load_target(Path(p), []) for p in paths]
    for t in targets:
        if t.kind != "tflite":
            raise PocketbertError(f"{t.path} is a {t.kind} artifact; `bench android` runs .tflite artifacts")
    device = android_device(adb)
    logs_dir = Path(logs_dir) if logs_dir else Path(out).with_suffix(".logs")
    logs_dir.mkdir(parents=True, exist_ok=True)
    remote_bin = f"{REMOTE_DIR}/benchmark_model"
    adb.shell("mkdir", "-p", REMOTE_DIR)
    adb.push(binary, remote_bin)
    adb.shell("chmod", "755", remote_bin)
    jobs = [(t, s, n) for t in targets for s in t.seq_lens for n in threads]
    records = []
    pushed: set[str] = set()
    for target, seq_len, n in tqdm(jobs, desc=f"bench {device['name']}", unit="run", file=sys.stderr, disable=None):
        local = target.model_file(seq_len)
        remote = f"{REMOTE_DIR}/{target.name}-{local.name}"
        if remote not in pushed:
            adb.push(local, remote)
            pushed.add(remote)
        cmd = [remote_bin, f"--graph={remote}", f"--num_threads={n}", *DELEGATE_FLAGS[delegate],
               f"--num_runs={runs}", "--report_peak_memory_footprint=true"]
        if target.signature(seq_len):
            cmd.append(f"--signature_to_run_for={target.signature(seq_len)}")
        text = adb.shell(*cmd)
        log_file = logs_dir / f"{target.name}-seq{seq_len}-t{n}-{delegate}.log"
        log_file.write_text(text)
        log = parse_benchmark_log(text, source=f"benchmark_model on {device['name']} ({log_file})")
        record = record_from_log(log, device, model_block(target), target.precision, seq_len, n, str(log_file),
                                 artifact_size(local), runtime_version, delegate, target.parity())
        append_record(out, record)
        records.append(record)
    adb.shell("rm", "-rf", REMOTE_DIR)
    return records
