"""`bench pair`: teacher vs student built, converted (convert API), benched; ratio lines printed last."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from pocketbert import bench_pair as pair
from pocketbert.cli import cli
from pocketbert.core.results import read_records

TINY_BERT = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=512)
TINY_DISTIL = dict(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=512)


def test_public_architectures_are_the_papers():
    bert = pair.ARCHITECTURES["bert-base-uncased"][1]
    distil = pair.ARCHITECTURES["distilbert-base-uncased"][1]
    assert (bert["num_hidden_layers"], bert["hidden_size"], bert["intermediate_size"], bert["num_attention_heads"],
            bert["vocab_size"], bert["max_position_embeddings"]) == (12, 768, 3072, 12, 30522, 512)
    assert (distil["n_layers"], distil["dim"], distil["hidden_dim"], distil["n_heads"]) == (6, 768, 3072, 12)


def test_pair_random_weights_end_to_end(tmp_path, monkeypatch, capsys):
    # Same code path as bert-base / distilbert-base, with tiny widths so the test stays cheap.
    monkeypatch.setitem(pair.ARCHITECTURES, "bert-base", ("bert", TINY_BERT))
    monkeypatch.setitem(pair.ARCHITECTURES, "distilbert-base", ("distilbert", TINY_DISTIL))
    out = tmp_path / "pair"
    res = CliRunner().invoke(cli, ["bench", "pair", "--seq-len", "16,32", "--precision", "fp32", "--runtime", "onnx",
                                   "--runs", "3", "--warmup", "1", "--threads", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()[-4:]
    assert [re.sub(r": [0-9.]+( \(median of per-round ratios; IQR [0-9.-]+ over 3 rounds( UNSTABLE)?\))?$", "", ln)
            for ln in lines] == [
        "latency ratio (student/teacher) fp32 seq 16", "latency ratio (student/teacher) fp32 seq 32",
        "size ratio (student/teacher) fp32 seq 16", "size ratio (student/teacher) fp32 seq 32"]
    records = read_records([out / "results.jsonl"])
    assert {(r["model"]["name"], r["model"]["role"], r["model"]["weights"]) for r in records} == {
        ("bert-base", "teacher", "random"), ("distilbert-base", "student", "random")}
    by = {(r["model"]["role"], r["seq_len"]): r for r in records}
    size_ratio = by["student", 16]["model_size_bytes"] / by["teacher", 16]["model_size_bytes"]
    assert lines[2].endswith(f"{size_ratio:.3f}") and size_ratio < 1
    # The printed latency ratio is the median of the per-round ratios of the interleaved rounds.
    per_round = [s / t for s, t in zip(by["student", 32]["extra"]["round_p50_ms"], by["teacher", 32]["extra"]["round_p50_ms"])]
    assert len(per_round) == 3 and f": {sorted(per_round)[1]:.3f} (median" in lines[1]
    assert by["teacher", 16]["model"]["params"] > by["student", 16]["model"]["params"] > 0
    # A second run reuses the converted artifacts and starts a fresh results file.
    res = CliRunner().invoke(cli, ["bench", "pair", "--seq-len", "16,32", "--precision", "fp32", "--runtime", "onnx",
                                   "--runs", "2", "--warmup", "0", "--threads", "1", "--out", str(out)])
    assert res.exit_code == 0 and "converting" not in res.output
    assert len(read_records([out / "results.jsonl"])) == 4
