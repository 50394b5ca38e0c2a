"""Masked copies of the training windows (`finetune --augment-copies`): whole words masked, nothing else touched."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.core.models import load_tokenizer
from pocketbert.core.squad import read_squad
from pocketbert.distill.augment import continuation_table, with_masked_copies
from pocketbert.distill.finetune import qa_train_features
from test_finetune import write_squad

# Long words split into several WordPiece pieces, so whole-word masking is exercised.
WORDY = [("Photosynthesis converts sunlight into chemical energy inside chloroplasts of unbelievably green leaves.",
          [("What converts sunlight into chemical energy?", "Photosynthesis"),
           ("Where does photosynthesis happen?", "inside chloroplasts")]),
         ("Thermodynamics describes irreversibility, entropy and the microscopic interpretation of heat.",
          [("What does thermodynamics describe?", "irreversibility, entropy")])]


@pytest.fixture
def rows(tiny_models, tmp_path):
    model = tiny_models("bert", "qa", layers=2)
    tok = load_tokenizer(model)
    tensors = qa_train_features(tok, read_squad(write_squad(tmp_path / "s.json", WORDY)), 48, 16, 32)
    return tok, tensors


def test_copies_mask_whole_words_and_keep_everything_else(rows):
    tok, tensors = rows
    n = len(tensors["input_ids"])
    out = with_masked_copies(tensors, tok, copies=3, mask_prob=0.5, seed=7)
    assert {k: v.shape[0] for k, v in out.items()} == {k: 4 * n for k in tensors}
    torch.testing.assert_close(out["input_ids"][:n], tensors["input_ids"])  # the originals come first, untouched
    for name in ("attention_mask", "token_type_ids", "start_positions", "end_positions"):
        torch.testing.assert_close(out[name], tensors[name].repeat(4, *([1] * (tensors[name].dim() - 1))))
    original = tensors["input_ids"].repeat(3, 1)  # (3n, seq)
    copies = out["input_ids"][n:]
    changed = copies != original
    assert (copies[changed] == tok.mask_token_id).all()
    special = torch.isin(original, torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id]))
    assert not (changed & special).any()  # [CLS], [SEP] and padding are never masked
    cont = continuation_table(tok)[original] & ~special  # (3n, seq) continuation pieces
    assert cont.any(), "the data must have words of several pieces"
    # a continuation piece is masked exactly when the piece before it (same word) is
    prev_changed = torch.cat([torch.zeros_like(changed[:, :1]), changed[:, :-1]], dim=1)
    assert torch.equal(changed[cont], prev_changed[cont])
    starts = ~cont & ~special & out["attention_mask"][n:].bool()
    rate = changed[starts].float().mean().item()
    assert 0.35 < rate < 0.65, rate  # words masked at about the asked rate
    assert not torch.equal(copies[:n], copies[n:2 * n])  # each copy draws its own words
    again = with_masked_copies(tensors, tok, copies=3, mask_prob=0.5, seed=7)
    assert torch.equal(again["input_ids"], out["input_ids"])  # reproducible from the seed (a resume sees the same rows)
    assert not torch.equal(with_masked_copies(tensors, tok, 3, 0.5, seed=8)["input_ids"], out["input_ids"])
    assert with_masked_copies(tensors, tok, copies=0, mask_prob=0.5, seed=7) is tensors


def test_finetune_trains_on_the_copies_with_the_teachers_labels(tiny_models, tmp_path):
    data = write_squad(tmp_path / "s.json", WORDY)
    args = ["finetune", "qa", "--model", str(tiny_models("distilbert", "qa", layers=2)), "--teacher",
            str(tiny_models("bert", "qa", layers=2)), "--train", str(data), "--epochs", "1", "--batch-size", "2",
            "--max-len", "48", "--doc-stride", "16", "--alpha-kd", "1"]
    plain = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "plain")], catch_exceptions=False)
    res = CliRunner().invoke(cli, [*args, "--augment-copies", "2", "--augment-mask", "0.3", "--out",
                                   str(tmp_path / "aug")], catch_exceptions=False)
    assert plain.exit_code == 0 and res.exit_code == 0, plain.output + res.output
    before = json.loads((tmp_path / "plain" / "eval_results.json").read_text())
    after = json.loads((tmp_path / "aug" / "eval_results.json").read_text())
    assert after["train_features"] == 3 * before["train_features"]  # an epoch covers the copies too
    assert after["train_steps"] == -(-after["train_features"] // 2)
    assert (after["augment_copies"], after["augment_mask"]) == (2, 0.3) and "augment_copies" not in before
    assert after["train_kd_loss"] > 0


def test_copies_without_a_teacher_are_one_line_and_no_output(tiny_models, tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["finetune", "qa", "--model", str(tiny_models("distilbert", "qa", layers=2)),
                                   "--train", str(write_squad(tmp_path / "s.json")), "--out", str(out),
                                   "--max-steps", "1", "--augment-copies", "1"])
    assert res.exit_code == 1 and "--augment-copies needs --teacher" in res.output and "Traceback" not in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and not out.exists()


def test_classification_distills_on_masked_copies_too(tiny_models, tmp_path):
    from test_finetune import SST, write_tsv

    tsv = write_tsv(tmp_path / "train.tsv", SST)
    teacher = tmp_path / "teacher"
    base = ["finetune", "cls", "--train", str(tsv), "--batch-size", "4", "--max-len", "16"]
    assert CliRunner().invoke(cli, [*base, "--model", str(tiny_models("bert", "mlm", layers=2)), "--out", str(teacher),
                                    "--max-steps", "1"]).exit_code == 0
    out = tmp_path / "student"
    res = CliRunner().invoke(cli, [*base, "--model", str(tiny_models("bert", "mlm", layers=1)), "--teacher",
                                   str(teacher), "--augment-copies", "1", "--epochs", "1", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["train_features"] == 2 * len(SST) and results["augment_copies"] == 1
