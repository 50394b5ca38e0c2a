"""Parse the text output of TFLite's `benchmark_model` (tensorflow/lite/tools/benchmark/benchmark_model.cc,
benchmark_tflite_model.cc; statistics lines from tensorflow/core/util/stats_calculator.h).

Variants handled, all seen in the wild: lines with or without the `INFO: ` prefix; `count=N first=… curr=… min=…
max=… avg=… std=…`; `count=N curr=X(all same)` / `count=1 curr=X` (StatsCalculator prints only the newest value
when every sample is equal); the optional memory lines (`Memory footprint delta from the start of the tool (MB):
init=… overall=…`, `Overall peak memory footprint (MB) via periodic monitoring: …`, and the older
`Peak memory footprint (MB): init=… overall=…`). Times in the log are microseconds; results are milliseconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pocketbert.core.errors import PocketbertError

US_PER_MS = 1000.0
BYTES_PER_MB = 1024 * 1024  # benchmark_model divides kilobytes by 1024

_PREFIX = re.compile(r"^(?:[A-Z]+:\s+)?")  # INFO: / WARNING: / ERROR:
_NUM = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_STATS_FULL = re.compile(rf"count={_NUM}\s+first={_NUM}\s+curr={_NUM}\s+min={_NUM}\s+max={_NUM}\s+avg={_NUM}\s+std={_NUM}")
_STATS_SAME = re.compile(rf"count={_NUM}\s+curr={_NUM}(\(all same\))?\s*$")
_TIMINGS = re.compile(rf"Inference timings in us:\s*Init:\s*{_NUM},\s*First inference:\s*{_NUM},"
                      rf"\s*Warmup \(avg\):\s*{_NUM},\s*Inference \(avg\):\s*{_NUM}")
_SESSION = re.compile(rf"Initialized session in\s*{_NUM}\s*ms")
_MEM_DELTA = re.compile(rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\):\s*init={_NUM}\s+overall={_NUM}")
_MEM_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring:\s*{_NUM}")
_MODEL_SIZE = re.compile(rf"The input model file size \(MB\):\s*{_NUM}")
_PARAM = re.compile(r"^([A-Za-z#][^:\[\]]*):\s*\[(.*)\]\s*$")
_NOT_BENCH = "is not benchmark_model output"


@dataclass
class Stats:
    """One StatsCalculator line, in milliseconds."""

    count: int
    first: float
    curr: float
    min: float
    max: float
    avg: float
    std: float
    all_same: bool = False


@dataclass
class BenchmarkLog:
    inference: Stats
    warmup: Stats | None = None
    init_ms: float | None = None
    first_inference_ms: float | None = None
    warmup_avg_ms: float | None = None
    inference_avg_ms: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    peak_memory_mb: float | None = None
    model_size_mb: float | None = None
    params: dict[str, str] = field(default_factory=dict)  # "Graph", "Num threads", "Signature to run", …
    delegate: str = "cpu"

    @property
    def threads(self) -> int | None:
        for key in ("#threads used for CPU inference", "Num threads", "num_threads"):
            value = self.params.get(key, "")
            if value.strip().lstrip("-").isdigit() and int(value) > 0:
                return int(value)
        return None

    @property
    def graph(self) -> str | None:
        return self.params.get("Graph")

    @property
    def signature(self) -> str | None:
        return self.params.get("Signature to run") or None

    @property
    def peak_memory_bytes(self) -> int | None:
        """Peak footprint (periodic monitor) when printed, else the older `overall` footprint line."""
        mb = self.peak_memory_mb if self.peak_memory_mb is not None else self.memory_overall_mb
        return int(mb * BYTES_PER_MB) if mb is not None and mb > 0 else None


def _stats(line: str) -> Stats | None:
    m = _STATS_FULL.search(line)
    if m:
        count, first, curr, lo, hi, avg, std = (float(x) for x in m.groups())
        return Stats(int(count), first / US_PER_MS, curr / US_PER_MS, lo / US_PER_MS, hi / US_PER_MS,
                     avg / US_PER_MS, std / US_PER_MS)
    m = _STATS_SAME.search(line)
    if m:
        count, curr = int(float(m.group(1))), float(m.group(2)) / US_PER_MS
        return Stats(count, curr, curr, curr, curr, curr, 0.0, all_same=True)
    return None


def _delegate(params: dict[str, str], text: str) -> str:
    on = {k.lower(): v.strip() in ("1", "true") for k, v in params.items()}
    if on.get("use gpu") or "Explicitly applied GPU delegate" in text:
        return "gpu"
    if on.get("use nnapi") or "Explicitly applied NNAPI delegate" in text:
        return "nnapi"
    if on.get("use xnnpack") or "XNNPACK delegate" in text:
        return "xnnpack"
    return "cpu"


def parse_benchmark_log(text: str, source: str = "log") -> BenchmarkLog:
    """Parse one run's output; anything without inference statistics is an error naming `source`."""
    stats: list[Stats] = []
    found: dict[str, float | tuple] = {}
    params: dict[str, str] = {}
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw.strip())
        if not line:
            continue
        if (s := _stats(line)) is not None:
            stats.append(s)
        elif m := _TIMINGS.search(line):
            found["timings"] = tuple(float(x) / US_PER_MS for x in m.groups())
        elif m := _SESSION.search(line):
            found["session_ms"] = float(m.group(1))
        elif m := _MEM_DELTA.search(line):
            found["mem"] = (float(m.group(1)), float(m.group(2)))
        elif m := _MEM_PEAK.search(line):
            found["peak"] = float(m.group(1))
        elif m := _MODEL_SIZE.search(line):
            found["size"] = float(m.group(1))
        elif m := _PARAM.match(line):
            params.setdefault(m.group(1).strip(), m.group(2).strip())
    if "Failed to" in text and not stats:
        first_error = next((ln.strip() for ln in text.splitlines() if "Failed" in ln or "ERROR" in ln), "")
        raise PocketbertError(f"{source}: benchmark_model failed: {first_error}")
    if not stats:
        raise PocketbertError(f"{source} {_NOT_BENCH}: no `count=… avg=…` statistics line found; "
                              "pass the full text printed by TFLite's benchmark_model")
    log = BenchmarkLog(inference=stats[-1], warmup=stats[-2] if len(stats) > 1 else None, params=params)
    if "timings" in found:
        log.init_ms, log.first_inference_ms, log.warmup_avg_ms, log.inference_avg_ms = found["timings"]
    elif "session_ms" in found:
        log.init_ms = found["session_ms"]
    if log.first_inference_ms is None and log.warmup is not None:
        log.first_inference_ms = log.warmup.first
    if "mem" in found:
        log.memory_init_mb, log.memory_overall_mb = found["mem"]
    log.peak_memory_mb = found.get("peak")
    if log.peak_memory_mb is not None and log.peak_memory_mb < 0:  # -1 / -1e-06 when monitoring was off
        log.peak_memory_mb = None
    log.model_size_mb = found.get("size")
    log.delegate = _delegate(params, text)
    return log


def latency_block(stats: Stats) -> dict:
    """`latency_ms` of a results record; benchmark_model has no percentiles, so p50/p90 are null."""
    return {"min": round(stats.min, 4), "p50": None, "p90": None, "max": round(stats.max, 4),
            "mean": round(stats.avg, 4), "std": round(stats.std, 4), "runs": max(stats.count, 1)}
