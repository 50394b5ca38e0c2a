"""Host bench: tiny TFLite / ONNX artifacts and a PyTorch model dir measured in fresh worker processes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import read_records, validate_record

SEQ_LENS = [16, 32]


@pytest.fixture(scope="session")
def tiny_artifacts(tiny_models, tmp_path_factory):
    """{fmt: artifact dir} for a 2-layer tiny BERT QA model, converted by the convert stage's API."""
    from pocketbert.convert.api import convert_model

    model_dir = tiny_models("bert", "qa", layers=2)
    root = tmp_path_factory.mktemp("bench-artifacts")
    out = {fmt: Path(convert_model(fmt, str(model_dir), "qa", SEQ_LENS, "fp32", root / fmt, n=4))
           for fmt in ("tflite", "onnx")}
    out["model_dir"] = model_dir
    return out


@pytest.fixture(scope="session")
def host_records(tiny_artifacts, tmp_path_factory):
    from pocketbert.bench.host import bench_host

    results = tmp_path_factory.mktemp("bench-results") / "results.jsonl"
    records = bench_host([tiny_artifacts["tflite"], tiny_artifacts["onnx"]], threads=[1], runs=5, warmup=1,
                         out=results, progress=False)
    return records, results


def test_host_bench_records_are_sane(tiny_artifacts, host_records):
    records, results = host_records
    # Two models: interleaved per setting (5 rounds by default, --runs split over them), setting by setting.
    assert [(r["runtime"]["name"], r["seq_len"]) for r in records] == [
        ("litert", 16), ("onnxruntime", 16), ("litert", 32), ("onnxruntime", 32)]
    for seq in (16, 32):
        a, b = (r["extra"]["interleave"] for r in records if r["seq_len"] == seq)
        assert a == b and a["rounds"] == 5 and a["runs_per_round"] == 1 and a["order"] == "ABBA"
    assert records[0]["extra"]["interleave"]["id"] != records[2]["extra"]["interleave"]["id"]
    assert all(len(r["extra"]["round_p50_ms"]) == 5 for r in records)
    assert read_records([results]) == records  # each record was appended as it was measured
    for rec in records:
        validate_record(rec)
        lat = rec["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["max"] and lat["runs"] == 5
        assert rec["peak_memory_bytes"] > rec["extra"]["rss_before_load_bytes"] > 0
        assert rec["model_size_bytes"] == Path(rec["source_file"]).stat().st_size
        assert rec["init_ms"] > 0 and rec["first_inference_ms"] > 0
        assert rec["device"]["kind"] == "host" and rec["device"]["cores"] >= 1 and rec["threads"] == 1
        assert rec["model"]["task"] == "qa" and rec["precision"] == "fp32"
        assert rec["runtime"]["version"]
    tfl = [r for r in records if r["runtime"]["name"] == "litert"]
    assert {r["extra"]["signature"] for r in tfl} == {"seq_16", "seq_32"}
    manifest = json.loads((tiny_artifacts["tflite"] / "manifest.json").read_text())
    assert {r["model_size_bytes"] for r in tfl} == {manifest["file_size_bytes"]}  # one file, all signatures
    assert all(r["parity"]["status"] == "passed" for r in records)


def test_pytorch_baseline_from_model_dir(tiny_artifacts, tmp_path):
    from pocketbert.bench.host import bench_host

    (rec,) = bench_host([tiny_artifacts["model_dir"]], threads=[1], runs=3, warmup=0, out=tmp_path / "r.jsonl",
                        seq_lens=[16], progress=False)
    assert rec["runtime"]["name"] == "pytorch" and rec["model"]["task"] == "qa" and rec["seq_len"] == 16
    assert rec["model_size_bytes"] == (tiny_artifacts["model_dir"] / "model.safetensors").stat().st_size


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_manifest_is_one_line(tiny_artifacts, tmp_path):
    from pocketbert.bench.host import bench_host

    bad = _copy(tiny_artifacts["tflite"], tmp_path / "a")
    (bad / "manifest.json").unlink()
    with pytest.raises(PocketbertError, match="no manifest.json"):
        bench_host([bad], threads=[1], runs=1, warmup=0, out=tmp_path / "r.jsonl", progress=False)


def test_truncated_model_is_detected_and_earlier_results_are_kept(tiny_artifacts, tmp_path):
    from pocketbert.bench.host import bench_host

    bad = _copy(tiny_artifacts["tflite"], tmp_path / "a")
    manifest = json.loads((bad / "manifest.json").read_text())
    model = bad / manifest["model_file"]
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(PocketbertError, match="truncated") as err:
        bench_host([bad], threads=[1], runs=1, warmup=0, out=tmp_path / "r.jsonl", progress=False)
    assert "\n" not in err.value.message
    # Without size/sha in the manifest, the runtime's failure to load is the one line, and the record
    # measured before it stays in the results file.
    del manifest["file_size_bytes"], manifest["sha256"]
    (bad / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "partial.jsonl"
    with pytest.raises(PocketbertError, match="failed in tflite"):
        bench_host([tiny_artifacts["onnx"], bad], threads=[1], runs=1, warmup=0, seq_lens=[16], out=out,
                   progress=False)  # runs=1: one round, each record written the moment it is measured
    assert [r["runtime"]["name"] for r in read_records([out])] == ["onnxruntime"]
