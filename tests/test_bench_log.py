"""benchmark_model output parser: every line variant of benchmark_model.cc / stats_calculator.h."""
from __future__ import annotations

from pathlib import Path

import pytest

from pocketbert.bench.benchmark_log import parse_benchmark_log
from pocketbert.core.errors import PocketbertError

FIXTURES = Path(__file__).parent / "fixtures" / "bench"


def parse(name):
    return parse_benchmark_log((FIXTURES / name).read_text(), source=name)


def test_xnnpack_log_with_memory_lines():
    log = parse("benchmark_model_xnnpack.log")
    inf = log.inference
    assert (inf.count, inf.min, inf.max, inf.avg, inf.std) == (50, 94.0, 99.0, 95.4321, 1.234)
    assert log.warmup.count == 6 and log.warmup.first == 123.456
    assert (log.init_ms, log.first_inference_ms, log.warmup_avg_ms, log.inference_avg_ms) == \
        (45.012, 123.456, 101.234, 95.4321)
    assert (log.memory_init_mb, log.memory_overall_mb, log.peak_memory_mb) == (82.1875, 101.5, 110.25)
    assert log.peak_memory_bytes == int(110.25 * 1024 * 1024)
    assert log.threads == 4 and log.signature == "seq_384" and log.delegate == "xnnpack"
    assert log.graph.endswith("distilbert-qa-int8/model.tflite") and log.model_size_mb == 67.7061


def test_all_same_variant_and_no_memory_lines():
    log = parse("benchmark_model_all_same.log")
    inf = log.inference
    assert inf.all_same and (inf.count, inf.min, inf.max, inf.avg, inf.std) == (5, 700.0, 700.0, 700.0, 0.0)
    assert log.warmup.count == 1 and log.warmup.curr == 812.345  # `count=1 curr=X` (no "(all same)")
    assert log.peak_memory_bytes is None and log.memory_overall_mb is None
    assert log.delegate == "gpu" and log.threads == 2 and log.signature == "seq_128"
    assert log.init_ms == 1520.33


def test_older_log_peak_memory_line_and_nnapi():
    log = parse("benchmark_model_old_memory.log")
    assert log.inference.count == 20 and log.inference.std == 3.1005
    assert (log.memory_init_mb, log.memory_overall_mb, log.peak_memory_mb) == (440.2, 470.8, None)
    assert log.peak_memory_bytes == int(470.8 * 1024 * 1024)  # falls back to the `overall` footprint
    assert log.delegate == "nnapi" and log.threads == 1 and log.signature is None


def test_session_line_when_timings_line_missing():
    text = "INFO: Initialized session in 12.5ms.\nINFO: count=3 first=10 curr=9 min=9 max=10 avg=9.5 std=0.5\n"
    log = parse_benchmark_log(text)
    assert log.init_ms == 12.5 and log.first_inference_ms is None and log.inference.avg == 0.0095


@pytest.mark.parametrize("name, match", [
    ("not_a_benchmark.log", "is not benchmark_model output"),
    ("benchmark_model_failed.log", "benchmark_model failed: .*Could not open"),
])
def test_non_benchmark_logs_are_one_line_errors(name, match):
    with pytest.raises(PocketbertError, match=match) as err:
        parse(name)
    assert "\n" not in err.value.message
