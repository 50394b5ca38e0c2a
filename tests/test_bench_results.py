"""Results records: the schema accepts what the bench writes and rejects what a report could not trust."""
from __future__ import annotations

import copy
import json

import pytest

from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import append_record, latency_summary, read_records, record_errors, validate_record


def make_record(**changes) -> dict:
    rec = {
        "schema_version": 1, "timestamp": "2026-01-01T00:00:00+00:00",
        "device": {"name": "Pixel 7", "kind": "android", "os": "Android 14", "soc": "Tensor G2", "cpu": None,
                   "cores": 8, "memory_bytes": 8_000_000_000},
        "runtime": {"name": "tflite_benchmark_model", "version": None, "delegate": "xnnpack", "compute_units": None},
        "threads": 4,
        "model": {"name": "bert-base", "role": "teacher", "architecture": "BertForQuestionAnswering", "task": "qa",
                  "params": 108_000_000, "source": None, "weights": "random"},
        "precision": "fp32", "seq_len": 384, "batch": 1,
        "latency_ms": {"min": 90.0, "p50": None, "p90": None, "max": 99.0, "mean": 95.0, "std": 1.2, "runs": 50},
        "init_ms": 45.0, "first_inference_ms": 120.0, "peak_memory_bytes": 300_000_000,
        "model_size_bytes": 436_000_000, "accuracy": None, "source_file": None,
    }
    for path, value in changes.items():
        target = rec
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[k]
        if value is KeyError:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return rec


def test_valid_record_passes():
    assert validate_record(make_record()) and record_errors(make_record()) == []


@pytest.mark.parametrize("changes, where", [
    ({"device__kind": "laptop"}, "device.kind"),
    ({"runtime__name": "tensorflow"}, "runtime.name"),
    ({"latency_ms__runs": 0}, "latency_ms.runs"),
    ({"seq_len": "384"}, "seq_len"),
    ({"model__weights": "pretrained"}, "model.weights"),
    ({"latency_ms__mean": KeyError}, "latency_ms"),
    ({"peak_memory_bytes": -1}, "peak_memory_bytes"),
    ({"accuracy": {"metric": "f1"}}, "accuracy"),
    ({"latency_ms__min": 100.0}, "min=100.0 is larger than max"),
])
def test_invalid_records_fail(changes, where):
    with pytest.raises(PocketbertError, match=where.replace(".", r"\.")):
        validate_record(make_record(**changes))


def test_append_and_read_roundtrip_and_bad_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, make_record())
    append_record(path, make_record(precision="int8-dynamic"))
    assert [r["precision"] for r in read_records([path])] == ["fp32", "int8-dynamic"]
    with pytest.raises(PocketbertError):
        append_record(path, make_record(seq_len=0))
    assert len(read_records([path])) == 2  # the invalid record was not written
    bad = copy.deepcopy(make_record())
    bad["latency_ms"]["p50"] = 200.0
    with open(path, "a") as fh:
        fh.write(json.dumps(bad) + "\n")
    with pytest.raises(PocketbertError, match=r"r\.jsonl:3 "):
        read_records([path])


def test_latency_summary_orders_percentiles():
    s = latency_summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["min"], s["p50"], s["max"], s["mean"], s["runs"]) == (1.0, 3.0, 5.0, 3.0, 5)
    assert s["p50"] <= s["p90"] <= s["max"]
