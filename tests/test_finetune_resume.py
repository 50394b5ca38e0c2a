"""`pocketbert finetune --resume`: a killed fine-tuning continues bit for bit, and no run's checkpoints are mixed up."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from safetensors.torch import load_file

from pocketbert.cli import cli
from pocketbert.distill.finetune import TrainConfig, finetune_qa
from pocketbert.distill.finetune_resume import RESUME_IF_SAME, training_dir
from test_finetune import write_squad


def run(args):
    return CliRunner().invoke(cli, args)


@pytest.fixture
def pair(tiny_models, tmp_path):
    """A QA teacher, a 2-layer student and a SQuAD file; `args(out, *more)` is a KD fine-tuning of 4 epochs."""
    teacher, student = tiny_models("bert", "qa"), tiny_models("distilbert", "mlm", layers=2)
    data = write_squad(tmp_path / "squad.json")

    def args(out, *more):
        return ["finetune", "qa", "--model", str(student), "--teacher", str(teacher), "--train", str(data),
                "--out", str(out), "--epochs", "4", "--max-len", "64", "--doc-stride", "16", "--lr", "1e-3",
                "--checkpoint-every", "1", *more]
    return args


def same_weights(a, b) -> bool:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return wa.keys() == wb.keys() and all(wa[k].equal(wb[k]) for k in wa)


@pytest.mark.parametrize("batching", [("--batch-size", "4"), ("--batch-size", "2", "--grad-accum", "2")])
def test_a_killed_finetune_resumes_to_the_uninterrupted_result(pair, tmp_path, batching):
    whole = run(pair(tmp_path / "whole", *batching))
    assert whole.exit_code == 0, whole.output
    killed = run(pair(tmp_path / "cut", *batching, "--stop-after-step", "3"))  # inside the 2nd of 4 epochs
    assert killed.exit_code == 3 and "continue with --resume" in killed.output
    assert not (tmp_path / "cut").exists()  # the model dir is written only at the end
    assert sorted(p.name for p in (training_dir(tmp_path / "cut") / "checkpoints").iterdir()) == [
        "step-00000002.pt", "step-00000003.pt"]  # the newest two
    resumed = run(pair(tmp_path / "cut", *batching, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    assert "resumed at step 3/8" in resumed.output
    assert same_weights(tmp_path / "whole", tmp_path / "cut")
    a, b = (json.loads((tmp_path / d / "eval_results.json").read_text()) for d in ("whole", "cut"))
    assert a["train_steps"] == b["train_steps"] == 8 and a["train_loss"] == b["train_loss"]
    assert not training_dir(tmp_path / "cut").exists()  # removed once the model dir is written


def test_checkpoints_are_not_dropped_or_mixed_with_another_run(pair, tmp_path):
    out = tmp_path / "qa"
    assert run(pair(out, "--stop-after-step", "2")).exit_code == 3
    fresh = run(pair(out))  # an interrupted run's checkpoints are not thrown away silently
    assert fresh.exit_code == 1 and "pass --resume to continue it, or --force to start over" in fresh.output
    changed = run(pair(out, "--resume", "--temperature", "3"))
    assert changed.exit_code == 1 and "temperature 2.0 -> 3.0" in changed.output
    assert len(changed.output.strip().splitlines()) == 1 and not out.exists()
    both = run(pair(out, "--resume", "--force"))
    assert both.exit_code == 2 and "pass one of them" in both.output
    over = run(pair(out, "--force"))  # starts over: the result is a plain uninterrupted run's
    assert over.exit_code == 0 and "resumed" not in over.output, over.output
    assert run(pair(tmp_path / "ref")).exit_code == 0
    assert same_weights(out, tmp_path / "ref")
    nothing = run(pair(tmp_path / "new", "--resume"))
    assert nothing.exit_code == 1 and "no checkpoint" in nothing.output


def test_the_mask_rate_without_copies_does_not_stop_a_resume(pair, tmp_path):
    """Masked copies change the run; the mask rate alone does not, nor does a checkpoint that recorded it."""
    out = tmp_path / "qa"
    assert run(pair(out, "--stop-after-step", "2")).exit_code == 3
    info = training_dir(out) / "training.json"
    saved = json.loads(info.read_text())
    assert not {"augment_copies", "augment_mask"} & set(saved["fingerprint"]["settings"])  # no copies: none recorded
    saved["fingerprint"]["settings"].update(augment_copies=0, augment_mask=0.15)  # as checkpoints of 2026-12-04 kept it
    info.write_text(json.dumps(saved))
    copies = run(pair(out, "--resume", "--augment-copies", "1"))
    assert copies.exit_code == 1 and "augment_copies None -> 1" in copies.output, copies.output
    resumed = run(pair(out, "--resume", "--augment-mask", "0.3"))
    assert resumed.exit_code == 0 and "resumed at step 2/4" in resumed.output, resumed.output
    assert run(pair(tmp_path / "ref")).exit_code == 0
    assert same_weights(out, tmp_path / "ref")


def test_a_dir_named_like_the_training_dir_that_is_not_ours_is_never_touched(pair, tmp_path):
    out = tmp_path / "qa"
    foreign = training_dir(out)
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    for extra in ((), ("--force",)):
        res = run(pair(out, *extra))
        assert res.exit_code == 1 and "was not written by `pocketbert finetune`" in res.output
    assert (foreign / "notes.txt").read_text() == "mine" and not out.exists()


def test_qa_models_steps_continue_only_their_own_run(tiny_models, tmp_path, capfd):
    """resume="if-same" (what qa-models uses): another run's checkpoints are replaced, with a notice."""
    teacher, student = tiny_models("bert", "qa"), tiny_models("distilbert", "mlm", layers=2)
    data = write_squad(tmp_path / "squad.json")

    def tune(out, lr, **kw):
        cfg = TrainConfig(epochs=2, lr=lr, batch_size=4, checkpoint_every=1, device="cpu")
        return finetune_qa(str(student), data, None, out, cfg, teacher=str(teacher), max_len=64, doc_stride=16,
                           resume=RESUME_IF_SAME, **kw)

    from pocketbert.distill.finetune_resume import FinetuneInterrupted

    with pytest.raises(FinetuneInterrupted):
        tune(tmp_path / "qa", 1e-3, stop_after_step=1)
    tune(tmp_path / "qa", 2e-3)  # the settings changed: starts over
    assert "are of another run (lr 0.001 -> 0.002); starting over" in capfd.readouterr().err
    tune(tmp_path / "ref", 2e-3)
    assert same_weights(tmp_path / "qa", tmp_path / "ref")
    with pytest.raises(FinetuneInterrupted):
        tune(tmp_path / "again", 2e-3, stop_after_step=2)
    tune(tmp_path / "again", 2e-3)  # the same run: continued
    assert "resumed at step 2/4" in capfd.readouterr().err
    assert same_weights(tmp_path / "again", tmp_path / "ref")
