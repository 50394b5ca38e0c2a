"""One model, one sequence length, one thread count, in a fresh process: `python -m pocketbert.bench.worker < spec.json`.

A fresh process per measurement means peak RSS belongs to that model alone (ru_maxrss never goes down, so two
models in one process would report the larger one twice). It prints exactly one line starting with RESULT_PREFIX:
the timings as JSON, or {"error": "..."}.
"""
from __future__ import annotations

import json
import resource
import sys
import time

from pocketbert.core import registry
from pocketbert.core.runtime import backend_class

RESULT_PREFIX = "POCKETBERT_WORKER_RESULT "


def peak_rss_bytes() -> int:
    """Peak resident set size of this process.

    Linux: VmHWM of /proc/self/status, because ru_maxrss survives execve and would report the PARENT's peak
    when the parent (pytest, `bench pair` after converting BERT) was bigger than the model. Elsewhere ru_maxrss
    (KiB on Linux, bytes on macOS).
    """
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def measure(spec: dict) -> dict:
    """Load (timed), first inference (timed), warm up, then time `runs` inferences one by one."""
    from pocketbert.bench import runtimes

    features = spec["features"]
    kind, path, threads = spec["kind"], spec["path"], int(spec["threads"])
    import numpy  # noqa: F401  (imported before the baseline so it is not counted as model memory)

    if kind in registry.FORMATS:  # e.g. ExecuTorch's bindings import torch: not the model's memory either
        backend_class(kind).preload()

    rss_before = current_rss_bytes()
    t0 = time.perf_counter()
    if kind in registry.FORMATS:  # any artifact format: core.runtime picks its backend from the registry
        loaded = runtimes.load_artifact_file(kind, path, int(spec["seq_len"]), threads, features)
    elif kind == "pytorch":
        loaded = runtimes.load_pytorch(path, spec.get("task") or "embed", threads, features)
    else:
        raise ValueError(f"unknown model kind {kind}")
    init_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    loaded.run()
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(int(spec["warmup"])):
        loaded.run()
    samples = []
    for _ in range(int(spec["runs"])):
        t0 = time.perf_counter_ns()
        loaded.run()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return {
        "runtime": loaded.runtime, "version": loaded.version, "delegate": loaded.delegate,
        "init_ms": round(init_ms, 3), "first_inference_ms": round(first_ms, 3), "samples_ms": samples,
        "peak_rss_bytes": peak_rss_bytes(), "rss_before_load_bytes": rss_before,
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    try:
        result = measure(spec)
        code = 0
    except Exception as exc:  # the parent turns this into one PocketbertError line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        result = {"error": f"{type(exc).__name__}: {first}"[:500]}
        code = 1
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
