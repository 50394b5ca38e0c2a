"""`bench android` through a stand-in adb that replays recorded output, and `bench import` of logs and app JSON."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketbert.bench.android import bench_android
from pocketbert.bench.importer import import_files
from pocketbert.cli import cli
from pocketbert.core.errors import PocketbertError
from pocketbert.core.results import read_records

FIXTURES = Path(__file__).parent / "fixtures" / "bench"

# The stand-in adb: answers from a JSON replay table (first matching prefix wins) and logs every call.
FAKE_ADB = """#!{python}
import json, sys
table = json.load(open({table!r}))
args = sys.argv[1:]
if args[:1] == ["-s"]:
    args = args[2:]
with open({calls!r}, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
cmd = " ".join(args)
for prefix, reply in table:
    if cmd.startswith(prefix):
        if isinstance(reply, dict):
            sys.stderr.write(reply.get("stderr", ""))
            sys.exit(reply.get("rc", 1))
        sys.stdout.write(open(reply[5:]).read() if reply.startswith("file:") else reply)
        sys.exit(0)
sys.stdout.write("")
"""


def fake_adb(tmp_path: Path, monkeypatch, devices="List of devices attached\nR58M12345\tdevice\n\n", log=None):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    table = [
        ["devices", devices],
        ["shell getprop ro.product.model", "Pixel 7\n"],
        ["shell getprop ro.product.manufacturer", "Google\n"],
        ["shell getprop ro.soc.model", "GS201\n"],
        ["shell getprop ro.board.platform", "gs201\n"],
        ["shell getprop ro.build.version.release", "14\n"],
        ["shell nproc", "8\n"],
        ["shell cat /proc/meminfo", "MemTotal:        7823456 kB\nMemFree: 1 kB\n"],
        ["push", "1 file pushed, 0 skipped.\n"],
        ["shell /data/local/tmp/pocketbert/benchmark_model", "file:" + str(log or FIXTURES / "benchmark_model_xnnpack.log")],
        ["shell", ""],
    ]
    (tmp_path / "table.json").write_text(json.dumps(table))
    calls = tmp_path / "calls.jsonl"
    adb = bin_dir / "adb"
    adb.write_text(FAKE_ADB.format(python=sys.executable, table=str(tmp_path / "table.json"), calls=str(calls)))
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


@pytest.fixture
def artifact(tmp_path):
    """A .tflite artifact dir (the bytes are not run: the phone is simulated)."""
    import hashlib

    art = tmp_path / "distilbert-qa-int8"
    art.mkdir()
    data = b"TFL3" + b"\0" * 2000
    (art / "model.tflite").write_bytes(data)
    (art / "vocab.txt").write_text("[PAD]\n")
    (art / "manifest.json").write_text(json.dumps({
        "schema_version": 1, "format": "tflite", "model_file": "model.tflite", "task": "qa",
        "precision": "int8-dynamic", "seq_lens": [384], "source_architecture": "DistilBertForQuestionAnswering",
        "signatures": [{"name": "seq_384", "seq_len": 384, "file": "model.tflite"}],
        "file_size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}))
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF")
    return art, binary


def test_android_bench_with_stand_in_adb(tmp_path, monkeypatch, artifact):
    calls = fake_adb(tmp_path, monkeypatch)
    art, binary = artifact
    out = tmp_path / "results.jsonl"
    records = bench_android([art], binary, out, delegate="xnnpack", threads=[4], runs=50)
    assert read_records([out]) == records
    (rec,) = records
    assert rec["device"] == {"name": "Google Pixel 7", "kind": "android", "os": "Android 14", "soc": "GS201",
                             "cpu": "gs201", "cores": 8, "memory_bytes": 7823456 * 1024}
    assert rec["runtime"]["name"] == "tflite_benchmark_model" and rec["runtime"]["delegate"] == "xnnpack"
    assert rec["latency_ms"]["mean"] == 95.4321 and rec["latency_ms"]["runs"] == 50
    assert rec["precision"] == "int8-dynamic" and rec["seq_len"] == 384 and rec["threads"] == 4
    assert rec["model"]["name"] == "distilbert-qa-int8" and rec["model_size_bytes"] == 2004
    assert rec["peak_memory_bytes"] == int(110.25 * 2**20) and rec["init_ms"] == 45.012
    assert Path(rec["source_file"]).read_text().startswith("INFO: STARTING!")  # the raw log is kept
    sent = [json.loads(line) for line in calls.read_text().splitlines()]
    run = next(c for c in sent if any("--graph=" in a for a in c))
    assert run[:2] == ["-s", "R58M12345"]
    assert {"--num_threads=4", "--use_xnnpack=true", "--signature_to_run_for=seq_384", "--num_runs=50"} <= set(run)
    assert any(c[2:3] == ["push"] and c[3] == str(binary) for c in sent)


def test_adb_absent_or_without_device(tmp_path, monkeypatch, artifact):
    art, binary = artifact
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(PocketbertError, match="adb is not on PATH"):
        bench_android([art], binary, tmp_path / "r.jsonl")
    fake_adb(tmp_path, monkeypatch, devices="List of devices attached\n\n")
    with pytest.raises(PocketbertError, match="adb lists no device"):
        bench_android([art], binary, tmp_path / "r.jsonl")


def test_android_cli_reports_a_failed_run_in_one_line(tmp_path, monkeypatch, artifact):
    fake_adb(tmp_path, monkeypatch, log=FIXTURES / "not_a_benchmark.log")
    art, binary = artifact
    res = CliRunner().invoke(cli, ["bench", "android", str(art), "--benchmark-binary", str(binary),
                                   "--out", str(tmp_path / "r.jsonl")])
    assert res.exit_code == 1 and "is not benchmark_model output" in res.output
    errors = [ln for ln in res.output.replace("\r", "\n").splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == res.output.replace("\r", "\n").strip().splitlines()[-1]


def test_import_logs_and_app_json(tmp_path):
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(cli, ["bench", "import", str(FIXTURES / "benchmark_model_all_same.log"),
                                   "--device-name", "Galaxy S21", "--os", "Android 13", "--cores", "8",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    (log_rec,) = read_records([out])
    assert log_rec["device"]["name"] == "Galaxy S21" and log_rec["device"]["cores"] == 8
    assert log_rec["model"]["name"] == "bert-qa-fp32" and log_rec["precision"] == "fp32"  # from the graph path
    assert log_rec["seq_len"] == 128 and log_rec["runtime"]["delegate"] == "gpu" and log_rec["threads"] == 2
    assert log_rec["latency_ms"]["mean"] == 700.0 and log_rec["model_size_bytes"] == int(435.854 * 2**20)

    recs = import_files([FIXTURES / "app_results_ios.json"], out)
    assert [r["model"]["name"] for r in recs] == ["bert-base-qa-fp16", "distilbert-qa-fp16"]
    ios = recs[1]
    assert ios["device"]["kind"] == "ios" and ios["device"]["name"] == "iPhone 14 Pro"
    assert ios["runtime"] == {"name": "coreml", "version": "iOS 17.4", "delegate": None, "compute_units": "all"}
    assert ios["latency_ms"]["min"] == 15.0 and ios["latency_ms"]["max"] == 16.0 and ios["latency_ms"]["runs"] == 4
    assert ios["latency_ms"]["p50"] == 15.35 and ios["peak_memory_bytes"] == 140000000
    assert len(read_records([out])) == 3


def test_import_errors_are_one_line(tmp_path):
    out = tmp_path / "r.jsonl"
    with pytest.raises(PocketbertError, match="pass --device-name"):
        import_files([FIXTURES / "benchmark_model_xnnpack.log"], out)
    with pytest.raises(PocketbertError, match="is not benchmark_model output"):
        import_files([FIXTURES / "not_a_benchmark.log"], out, {"device_name": "x"})
    bad = tmp_path / "other.json"
    bad.write_text('{"runs": []}')
    with pytest.raises(PocketbertError, match="not a demo app results file"):
        import_files([bad], out)
    assert not out.exists()
