"""distill: the loss falls, a killed run resumes bit for bit, 2-process DDP on CPU agrees, bad input fails cleanly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from pocketbert.cli import cli
from pocketbert.distill.run_log import read_log

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
FAST = ["--set", "tensorboard=false", "--set", "log_every=1", "--precision", "fp32"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_models):
    """Prepared embedded corpus (short chunks keep steps cheap) + a 2-layer student of a tiny BERT MLM teacher."""
    from pocketbert.core.corpus import write_embedded_corpus

    root = tmp_path_factory.mktemp("distill")
    corpus = write_embedded_corpus(root / "corpus.txt")
    runner = CliRunner()
    res = runner.invoke(cli, ["prepare", "--corpus", str(corpus), "--tokenizer", "minilm", "--out", str(root / "data"),
                              "--max-len", "32"])
    assert res.exit_code == 0, res.output
    teacher = tiny_models("bert", "mlm", layers=4)
    res = runner.invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(root / "student")])
    assert res.exit_code == 0, res.output
    return {"root": root, "teacher": teacher, "student": root / "student", "data": root / "data"}


def _train_rows(path: Path) -> list[dict]:
    """log.csv rows of optimizer steps (validation rows carry only step + val_* columns)."""
    return [r for r in read_log(path) if r["loss"]]


def _val_rows(path: Path) -> list[dict]:
    return [r for r in read_log(path) if r["val_token_cos"]]


def _distill(w, out, *extra):
    return CliRunner().invoke(cli, ["distill", "--teacher", str(w["teacher"]), "--student", str(w["student"]),
                                    "--data", str(w["data"]), "--out", str(out), *FAST, *extra])


def test_short_run_total_loss_falls(workdir, tmp_path):
    res = _distill(workdir, tmp_path / "run", "--max-steps", "25", "--batch-size", "16", "--effective-batch", "16",
                   "--lr", "1e-2", "--set", "warmup_prop=0.0")
    assert res.exit_code == 0, res.output
    rows = _train_rows(tmp_path / "run" / "log.csv")
    assert len(rows) == 25
    first = sum(float(r["loss"]) for r in rows[:5]) / 5
    last = sum(float(r["loss"]) for r in rows[-5:]) / 5
    # a random 30K-vocab head starts at 2 * ln(30522) ~ 20.7 and falls steadily; batch noise is ~0.05
    assert last < first - 0.5, (first, last)
    for key in ("loss_ce", "loss_mlm", "loss_cos", "tokens_per_s", "lr"):
        assert rows[-1][key] != ""
    # the loss-term table drives the columns and the total: only the alpha > 0 terms are logged, and with one
    # micro-batch per step the logged total is 5 ce + 2 mlm + 1 cos (the default weights)
    assert all(rows[-1][k] == "" for k in ("loss_mse", "loss_hidden_mse", "loss_attn", "loss_pooled_cos"))
    for r in rows:
        weighted = 5.0 * float(r["loss_ce"]) + 2.0 * float(r["loss_mlm"]) + 1.0 * float(r["loss_cos"])
        assert abs(float(r["loss"]) - weighted) < 1e-5 * float(r["loss"]), r
    final = tmp_path / "run" / "final"
    from transformers import AutoModelForMaskedLM

    assert type(AutoModelForMaskedLM.from_pretrained(str(final))).__name__ == "DistilBertForMaskedLM"
    assert (final / "vocab.txt").is_file()
    run_info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_info["code_version"]["pocketbert"]
    assert (tmp_path / "run" / "config.yaml").is_file()


def test_resume_after_kill_is_bit_identical(workdir, tmp_path):
    common = ["--max-steps", "6", "--batch-size", "8", "--effective-batch", "16", "--set", "checkpoint_every=3",
              "--set", "eval_every=2"]
    res = _distill(workdir, tmp_path / "full", *common)
    assert res.exit_code == 0, res.output
    res = _distill(workdir, tmp_path / "cut", *common, "--stop-after-step", "3")
    assert res.exit_code == 3, res.output  # died after step 3's checkpoint, no final model
    assert not (tmp_path / "cut" / "final").exists()
    res = _distill(workdir, tmp_path / "cut", *common, "--resume")
    assert res.exit_code == 0, res.output
    assert "resumed from step 3" in res.output
    a = load_file(tmp_path / "full" / "final" / "model.safetensors")
    b = load_file(tmp_path / "cut" / "final" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the training actually changed the weights (the comparison is not trivially true)
    init = load_file(workdir["student"] / "model.safetensors")
    assert any(not torch.equal(a[k], init[k]) for k in init if k in a)
    # the resumed log has no duplicated steps
    assert [int(r["step"]) for r in _train_rows(tmp_path / "cut" / "log.csv")] == list(range(1, 7))
    # validation state survives the kill: same held-out rows, same best step, same best model
    assert _val_rows(tmp_path / "cut" / "log.csv") == _val_rows(tmp_path / "full" / "log.csv")
    assert [int(r["step"]) for r in _val_rows(tmp_path / "full" / "log.csv")] == [0, 2, 4, 6]
    full = json.loads((tmp_path / "full" / "train_summary.json").read_text())["validation"]
    cut = json.loads((tmp_path / "cut" / "train_summary.json").read_text())["validation"]
    assert full == {**cut, "best_dir": full["best_dir"]}
    assert load_file(tmp_path / "full" / "best" / "model.safetensors").keys() == a.keys()
    # checkpoints load with weights_only=True (no pickled code)
    ckpt = sorted((tmp_path / "full" / "checkpoints").glob("*.pt"))[-1]
    state = torch.load(ckpt, weights_only=True)
    assert {"model", "optimizer", "scheduler", "sampler", "rng"} <= state.keys()


@pytest.mark.slow
def test_ddp_two_processes_gloo_agree(workdir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [str(VENV_BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", "--no-python",
           str(VENV_BIN / "pocketbert"), "distill", "--teacher", str(workdir["teacher"]),
           "--student", str(workdir["student"]), "--data", str(workdir["data"]), "--out", str(tmp_path / "ddp"),
           *FAST, "--max-steps", "3", "--batch-size", "4", "--effective-batch", "16"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "ddp" / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3
    assert summary["ranks_agree"] is True and summary["ranks_max_param_diff"] == 0.0
    run = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert run["accumulation_steps"] == 2 and run["effective_batch"] == 16
    assert (tmp_path / "ddp" / "final" / "model.safetensors").is_file()


def _fails(args, out: Path):
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0
    assert res.output.strip().startswith("Error:"), res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert not out.exists()
    return res.output


def test_bad_inputs_one_line_errors_no_output(workdir, tiny_models, tmp_path):
    from transformers import GPT2Config

    out = tmp_path / "out"
    assert "does not exist" in _fails(["prepare", "--corpus", str(tmp_path / "nope.txt"), "--tokenizer", "minilm",
                                       "--out", str(out)], out)
    import importlib.util

    if importlib.util.find_spec("datasets") is None:
        assert "pip install pocketbert[hub]" in _fails(["prepare", "--corpus", "hf:wikitext:wikitext-2-raw-v1:train",
                                                        "--tokenizer", "minilm", "--out", str(out)], out)
    gpt = tmp_path / "gpt"
    GPT2Config(n_layer=2, n_embd=32, n_head=4).save_pretrained(gpt)
    assert "unsupported teacher architecture" in _fails(["init-student", "--teacher", str(gpt), "--out", str(out)], out)
    teacher = str(workdir["teacher"])
    assert "does not fit the teacher" in _fails(["init-student", "--teacher", teacher, "--out", str(out),
                                                 "--layers", "0,4"], out)
    assert "wider than the teacher" in _fails(["init-student", "--teacher", teacher, "--out", str(out),
                                               "--dim", "64"], out)
    assert "data dir" in _fails(["distill", "--teacher", teacher, "--student", str(workdir["student"]),
                                 "--data", str(tmp_path / "nodata"), "--out", str(out)], out)
    assert "unsupported teacher architecture" in _fails(
        ["distill", "--teacher", str(gpt), "--student", str(workdir["student"]), "--data", str(workdir["data"]),
         "--out", str(out)], out)
    assert "unknown distillation setting" in _fails(
        ["distill", "--teacher", teacher, "--student", str(workdir["student"]), "--data", str(workdir["data"]),
         "--out", str(out), "--set", "alpha_cosine=1"], out)


def test_headless_teacher_forces_alpha_ce_to_zero_with_notice(workdir, tiny_models, tmp_path):
    teacher = tiny_models("bert", "base", layers=4)
    runner = CliRunner()
    assert runner.invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(tmp_path / "s")]).exit_code == 0
    res = runner.invoke(cli, ["distill", "--teacher", str(teacher), "--student", str(tmp_path / "s"),
                              "--data", str(workdir["data"]), "--out", str(tmp_path / "run"), *FAST,
                              "--max-steps", "2", "--batch-size", "4", "--effective-batch", "4",
                              "--set", "alpha_hidden_mse=1.0", "--set", "hidden_mse_pairs=[[2,1],[4,2]]",
                              "--set", "alpha_attn=1.0", "--set", "alpha_value=1.0"])
    assert res.exit_code == 0, res.output
    assert "no MLM head" in res.output and "alpha_ce 5.0 -> 0" in res.output
    row = _train_rows(tmp_path / "run" / "log.csv")[-1]
    assert row["loss_ce"] == "" and float(row["loss_hidden_mse"]) > 0 and float(row["loss_attn"]) >= 0
    assert float(row["loss_value"]) >= 0 and float(row["loss_mlm"]) > 0


def test_holdout_is_never_trained_on_and_fixed(workdir):
    """The held-out slice depends only on the data, and no training batch of any epoch touches it."""
    from pocketbert.distill.data import GroupedBatchSampler, PreparedData
    from pocketbert.distill.validation import MIN_HOLDOUT, holdout_split

    data = PreparedData(workdir["data"])
    train, held = holdout_split(len(data), 0.05)
    assert len(held) >= MIN_HOLDOUT and len(train) + len(held) == len(data)
    again_train, again_held = holdout_split(len(data), 0.05)
    assert (held == again_held).all() and (train == again_train).all()
    held_set = set(held.tolist())
    for seed in (1, 2):
        sampler = GroupedBatchSampler(data.lengths, 8, seed, indices=train)
        seen = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            while (batch := sampler.next_batch()) is not None:
                seen.extend(batch.tolist())
        assert not held_set & set(seen)
        assert set(seen) == set(train.tolist())  # every training sequence is still used


def test_best_checkpoint_is_the_best_held_out_step(workdir, tmp_path):
    """OUT/best holds the step with the best held-out metric (here: lr so high that training can hurt)."""
    res = _distill(workdir, tmp_path / "run", "--max-steps", "6", "--batch-size", "8", "--effective-batch", "8",
                   "--lr", "5e-2", "--set", "warmup_prop=0.0", "--set", "eval_every=2", "--holdout", "10%",
                   "--set", "best_metric=token_cos")
    assert res.exit_code == 0, res.output
    vals = _val_rows(tmp_path / "run" / "log.csv")
    assert [int(r["step"]) for r in vals] == [0, 2, 4, 6]
    best_row = max(vals, key=lambda r: float(r["val_token_cos"]))
    info = json.loads((tmp_path / "run" / "best" / "best.json").read_text())
    assert info["step"] == int(best_row["step"]) and info["metric"] == "token_cos"
    summary = json.loads((tmp_path / "run" / "train_summary.json").read_text())["validation"]
    assert summary["best_step"] == info["step"] and summary["init"]["step"] == 0 and summary["final"]["step"] == 6
    assert "held-out agreement with the teacher" in res.output and "init (step 0)" in res.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["heldout_sequences"] + run["train_sequences"] == run["data_sequences"]
    # the best model is a loadable model dir and equals the final one exactly when the best step is the last
    from transformers import AutoModelForMaskedLM

    best = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "run" / "best"))
    final = load_file(tmp_path / "run" / "final" / "model.safetensors")
    same = all(torch.equal(v, final[k]) for k, v in best.state_dict().items() if k in final)
    assert same == (info["step"] == 6)
