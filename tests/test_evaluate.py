"""`pocketbert evaluate {qa,cls,sts,mlm}`: metrics computed on the right things, JSON written, clear errors."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.core.datasets_io import read_cls_tsv, read_sts

STS_ROWS = [
    ("main-captions", "MSRvid", "2012test", "0001", "5.000", "A man is playing a guitar.", "A man is playing a guitar."),
    ("main-captions", "MSRvid", "2012test", "0002", "3.800", 'A "young" child rides a horse.', "A child rides a horse."),
    ("main-news", "headlines", "2013", "0003", "0.200", "Stocks fell sharply today.", "The cat sleeps on the sofa."),
    ("main-news", "headlines", "2013", "0004", "1.000", "The weather is nice.", "Markets closed higher."),
]


def write_sts(path):
    path.write_text("".join("\t".join(r) + "\n" for r in STS_ROWS))
    return path


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_sts_reader_keeps_quotes_and_columns(tmp_path):
    sts = read_sts(write_sts(tmp_path / "sts.csv"))
    assert sts.scores == [5.0, 3.8, 0.2, 1.0]
    assert sts.pairs[1][0] == 'A "young" child rides a horse.'


def test_cls_reader_pairs_and_labels(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_text('sentence1\tsentence2\tlabel\nHe said "hi\tShe left\t1\nA\tB\t0\n')
    data = read_cls_tsv(p)
    assert data.texts == [('He said "hi', "She left"), ("A", "B")] and data.labels == [1, 0] and data.num_labels == 2


def test_evaluate_sts_uses_mean_pooled_cosine(tiny_models, tmp_path):
    """Identical sentences have cosine 1 and must rank first: Spearman matches a direct computation."""
    import numpy as np
    import torch
    from scipy.stats import spearmanr
    from transformers import AutoModel

    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.pooling import mean_pool

    model = tiny_models("bert", "mlm", layers=2)
    out = tmp_path / "sts.json"
    res = run(["evaluate", "sts", "--model", str(model), "--data", str(write_sts(tmp_path / "sts.csv")), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    net, tok = AutoModel.from_pretrained(model).eval(), load_tokenizer(model)
    cos = []
    for row in STS_ROWS:
        embs = []
        for s in row[5:7]:
            enc = tok(s, return_tensors="pt")
            with torch.no_grad():
                embs.append(mean_pool(net(**enc).last_hidden_state, enc["attention_mask"])[0])
        cos.append(float(embs[0] @ embs[1]))
    assert cos[0] == pytest.approx(1.0, abs=1e-5)
    assert got["spearman"] == pytest.approx(spearmanr(cos, [float(r[4]) for r in STS_ROWS]).statistic, abs=1e-6)
    assert got["n"] == 4 and np.isfinite(got["spearman"])


def test_evaluate_mlm_accuracy_and_teacher_agreement(tiny_models, tmp_path):
    text = tmp_path / "held_out.txt"
    text.write_text("\n".join(["the quick brown fox jumps over the lazy dog"] * 6 + ["paris is the capital of france"] * 6))
    model = str(tiny_models("distilbert", "mlm", layers=2))
    out = tmp_path / "mlm.json"
    res = run(["evaluate", "mlm", "--model", model, "--data", str(text), "--teacher", model, "--out", str(out),
               "--mask-prob", "0.3"])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["teacher_top1_agreement"] == 1.0  # a model agrees with itself
    assert 0.0 <= got["accuracy"] <= 1.0 and got["perplexity"] > 1.0 and got["masked_tokens"] > 0
    other = run(["evaluate", "mlm", "--model", model, "--data", str(text), "--teacher",
                 str(tiny_models("bert", "mlm", layers=2)), "--mask-prob", "0.3"])
    assert other.exit_code == 0


def test_evaluate_cls_accuracy_on_a_trained_classifier(tiny_models, tmp_path):
    rows = "sentence\tlabel\n" + "".join(f"good movie {i}\t1\nbad movie {i}\t0\n" for i in range(4))
    tsv = tmp_path / "d.tsv"
    tsv.write_text(rows)
    model = tiny_models("bert", "cls")
    out = tmp_path / "cls.json"
    res = run(["evaluate", "cls", "--model", str(model), "--data", str(tsv), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["n"] == 8 and got["accuracy"] in {i / 8 for i in range(9)} and "f1" in got


@pytest.mark.parametrize("task, head, msg", [("mlm", "qa", "no masked-LM head"), ("cls", "qa", "no classification head")])
def test_evaluate_wrong_head_is_one_line_error(tiny_models, tmp_path, task, head, msg):
    data = tmp_path / "d.txt"
    data.write_text("sentence\tlabel\nhello\t1\n")
    res = CliRunner().invoke(cli, ["evaluate", task, "--model", str(tiny_models("bert", head)), "--data", str(data)])
    assert res.exit_code == 1 and msg in res.output and res.output.strip().count("\n") == 0


def test_evaluate_sts_on_shared_data_teacher(shared_data, tmp_path):
    """The packaged teacher's STS-B dev Spearman (0.867 on all 1500 pairs) on the first 200: pooling is right."""
    out = tmp_path / "sts.json"
    res = CliRunner().invoke(cli, ["evaluate", "sts", "--model", "minilm", "--data", str(shared_data / "stsb" / "sts-dev.csv"),
                                   "--limit", "200", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["spearman"] > 0.75
