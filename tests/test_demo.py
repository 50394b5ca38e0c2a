"""`pocketbert demo` end to end (2 optimizer steps): every stage runs and hands the next one valid files."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.core.corpus import embedded_paragraphs
from pocketbert.core.results import read_records


@pytest.mark.slow
def test_demo_runs_every_stage_and_writes_a_report(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(embedded_paragraphs()[:200]) + "\n")
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--max-steps", "2", "--corpus", str(corpus)])
    assert result.exit_code == 0, result.output
    assert (out / "student" / "config.json").is_file() and (out / "student" / "vocab.txt").is_file()
    assert json.loads((out / "distill" / "train_summary.json").read_text())["steps"] == 2
    manifests = {d.name: json.loads((d / "manifest.json").read_text()) for d in (out / "artifacts").iterdir()}
    assert len(manifests) == 6  # student + teacher x (LiteRT fp32, LiteRT int8, Core ML fp16)
    for name, manifest in manifests.items():
        expected = "spec-only" if manifest["format"] == "coreml" else "passed"
        assert manifest["parity"]["status"] == expected, name
    records = read_records([out / "results.jsonl"])
    assert sorted((r["model"]["role"], r["precision"]) for r in records) == [
        ("student", "fp32"), ("student", "int8-dynamic"), ("teacher", "fp32"), ("teacher", "int8-dynamic")]
    student_fp32 = next(r for r in records if r["model"]["role"] == "student" and r["precision"] == "fp32")
    teacher_fp32 = next(r for r in records if r["model"]["role"] == "teacher" and r["precision"] == "fp32")
    assert student_fp32["model_size_bytes"] < teacher_fp32["model_size_bytes"]  # 3 of 6 layers
    assert (out / "report" / "index.html").is_file()
    assert "ratio" in result.output and str(out / "report" / "index.html") in result.output
