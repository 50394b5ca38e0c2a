"""`pocketbert finetune qa|cls`: training improves the model, the teacher term works, bad inputs fail cleanly."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.core.squad import read_squad, squad_metrics
from pocketbert.distill.evaluate import qa_scores
from pocketbert.distill.finetune import hidden_loss, hidden_pairs, kd_loss, qa_losses

CONTEXTS = [
    ("Paris is the capital of France. It lies on the Seine.", [("What is the capital of France?", "Paris"),
                                                                ("Which river runs through Paris?", "Seine")]),
    ("The cat sat on the red mat while the dog slept in the garden.", [("Where did the dog sleep?", "in the garden"),
                                                                        ("What color was the mat?", "red")]),
    ("Marie Curie won the Nobel Prize in 1903 and again in 1911.", [("When did Curie first win the prize?", "1903"),
                                                                     ("Who won the Nobel Prize?", "Marie Curie")]),
    ("Water boils at 100 degrees Celsius at sea level.", [("At what temperature does water boil?", "100 degrees Celsius"),
                                                          ("What boils at 100 degrees?", "Water")]),
]


def write_squad(path: Path, contexts=CONTEXTS) -> Path:
    paragraphs = []
    for i, (ctx, qas) in enumerate(contexts):
        paragraphs.append({"context": ctx, "qas": [
            {"id": f"q{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}
            for j, (q, a) in enumerate(qas)]})
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}))
    return path


def write_tsv(path: Path, rows, header="sentence\tlabel") -> Path:
    path.write_text(header + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


SST = [("a wonderful , moving film", 1), ("dull and lifeless", 0), ("great fun from start to end", 1),
       ("a boring mess", 0), ("brilliant acting", 1), ("awful script", 0), ("truly delightful", 1), ("tedious", 0)]


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_finetune_qa_improves_f1_and_writes_a_qa_dir(tiny_models, tmp_path):
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.core.models import load_tokenizer

    student = tiny_models("distilbert", "mlm", layers=2)  # an MLM dir gets a new QA head
    data = write_squad(tmp_path / "squad.json")
    examples = read_squad(data)
    before_model = AutoModelForQuestionAnswering.from_pretrained(student)
    torch.manual_seed(0)
    before = qa_scores(before_model, load_tokenizer(student), examples, max_len=64, doc_stride=16)
    out = tmp_path / "qa"
    res = run(["finetune", "qa", "--model", str(student), "--train", str(data), "--eval", str(data), "--out", str(out),
               "--max-len", "64", "--doc-stride", "16", "--epochs", "60", "--batch-size", "8", "--lr", "3e-3",
               "--warmup", "0"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["eval_f1"] > before["f1"] + 20, (before, results)
    assert results["train_steps"] == 60
    assert json.loads((out / "config.json").read_text())["architectures"] == ["DistilBertForQuestionAnswering"]
    assert (out / "vocab.txt").is_file()  # the model-dir contract: apps and converters read vocab.txt
    answers = json.loads((out / "eval_predictions.json").read_text())  # each question's answer, as HF's run_qa saves
    assert sorted(answers) == sorted(ex.id for ex in examples)
    assert squad_metrics(examples, answers)["f1"] == pytest.approx(results["eval_f1"])
    again = run(["evaluate", "qa", "--model", str(out), "--data", str(data), "--max-len", "64", "--doc-stride", "16",
                 "--out", str(tmp_path / "r.json")])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "r.json").read_text())["f1"] == pytest.approx(results["eval_f1"])


def test_kd_term_is_zero_for_identical_models_and_present_otherwise(tiny_models, tmp_path):
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.qa import make_features

    path = tiny_models("bert", "qa")
    student = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    teacher = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    other = AutoModelForQuestionAnswering.from_pretrained(tiny_models("distilbert", "qa")).eval()
    feats = make_features(load_tokenizer(path), "Who?", "Marie Curie won twice.", max_len=32)
    batch = {k: torch.from_numpy(getattr(feats, k)) for k in ("input_ids", "attention_mask", "token_type_ids")}
    batch.update(start_positions=torch.tensor([3]), end_positions=torch.tensor([4]))
    with torch.no_grad():
        s_out = student(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
        t_out = teacher(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
        o_out = other(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    ce, kd = qa_losses(s_out, batch, t_out, temperature=2.0)
    assert kd.item() == 0.0 and ce.item() > 0
    _, kd_other = qa_losses(s_out, batch, o_out, temperature=2.0)
    assert kd_other.item() > 0
    assert qa_losses(s_out, batch, None)[1] is None
    # KL * T^2 against a hand computation
    s, t = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([[0.0, 3.0, 1.0]])
    p = torch.softmax(t / 2, -1)
    expected = (p * (p.log() - torch.log_softmax(s / 2, -1))).sum() * 4
    assert kd_loss(s, t, 2.0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_finetune_with_teacher_records_the_kd_loss(tiny_models, tmp_path):
    teacher = tiny_models("bert", "qa")
    data = write_squad(tmp_path / "squad.json")
    out = tmp_path / "kd"
    res = run(["finetune", "qa", "--model", str(tiny_models("distilbert", "mlm", layers=2)), "--train", str(data),
               "--out", str(out), "--teacher", str(teacher), "--max-steps", "2", "--batch-size", "4", "--max-len", "64",
               "--doc-stride", "16", "--alpha-kd", "0.5"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["train_kd_loss"] > 0 and results["alpha_kd"] == 0.5 and results["train_steps"] == 2


def test_hidden_pairs_map_each_student_layer_to_the_end_of_its_teacher_block():
    assert hidden_pairs(6, 3) == [(2, 1), (4, 2), (6, 3)]
    assert hidden_pairs(12, 6) == [(2, 1), (4, 2), (6, 3), (8, 4), (10, 5), (12, 6)]
    assert hidden_pairs(6, 2) == [(3, 1), (6, 2)]
    assert hidden_pairs(4, 4) == [(1, 1), (2, 2), (3, 3), (4, 4)]


def _qa_batch(path, question="Who won?", context="Marie Curie won twice, in 1903 and in 1911.", max_len=32):
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.qa import make_features

    feats = make_features(load_tokenizer(path), question, context, max_len=max_len)
    return {k: torch.from_numpy(getattr(feats, k)) for k in ("input_ids", "attention_mask")}


def test_hidden_loss_is_zero_for_identical_states_and_ignores_padding(tiny_models):
    from transformers import AutoModelForQuestionAnswering

    path = tiny_models("distilbert", "qa", layers=2)
    model = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    other = AutoModelForQuestionAnswering.from_pretrained(tiny_models("bert", "qa", layers=4)).eval()
    batch = _qa_batch(path)
    assert int(batch["attention_mask"].sum()) < batch["attention_mask"].numel()  # the window has padding
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
        o_out = other(**batch, output_hidden_states=True)
    assert hidden_loss(out, out, batch, hidden_pairs(2, 2)).item() == pytest.approx(0.0, abs=1e-6)
    differ = hidden_loss(out, o_out, batch, hidden_pairs(4, 2))
    assert differ.item() > 0.05
    pad = ~batch["attention_mask"].bool()  # (1, seq)
    noisy = [h.clone() for h in o_out.hidden_states]
    for h in noisy:
        h[pad] = torch.randn_like(h[pad]) * 100  # garbage at padded positions only
    o_noisy = type(o_out)(hidden_states=tuple(noisy))
    assert hidden_loss(out, o_noisy, batch, hidden_pairs(4, 2)).item() == pytest.approx(differ.item(), rel=1e-6)


def test_alpha_hidden_pulls_the_students_hidden_states_towards_the_teachers(tiny_models, tmp_path):
    from transformers import AutoModelForQuestionAnswering

    teacher = tiny_models("bert", "qa", layers=4)
    student = tiny_models("distilbert", "qa", layers=2)
    data = write_squad(tmp_path / "squad.json")
    distance = {}
    for alpha in ("0", "5"):
        out = tmp_path / f"hid-{alpha}"
        res = run(["finetune", "qa", "--model", str(student), "--teacher", str(teacher), "--train", str(data),
                   "--out", str(out), "--max-steps", "30", "--batch-size", "8", "--max-len", "64", "--doc-stride", "16",
                   "--lr", "3e-3", "--warmup", "0", "--alpha-hidden", alpha])
        assert res.exit_code == 0, res.output
        results = json.loads((out / "eval_results.json").read_text())
        assert results["alpha_hidden"] == float(alpha)
        if alpha != "0":
            assert results["hidden_pairs"] == [[2, 1], [4, 2]] and results["train_hidden_loss"] > 0
        else:
            assert "train_hidden_loss" not in results
        s = AutoModelForQuestionAnswering.from_pretrained(out).eval()
        t = AutoModelForQuestionAnswering.from_pretrained(teacher).eval()
        batch = _qa_batch(student, *CONTEXTS[0][1][0][:1], CONTEXTS[0][0], max_len=64)
        with torch.no_grad():
            distance[alpha] = hidden_loss(s(**batch, output_hidden_states=True), t(**batch, output_hidden_states=True),
                                          batch, hidden_pairs(4, 2)).item()
    assert distance["5"] < distance["0"] * 0.7, distance


@pytest.mark.parametrize("extra, needle", [
    (["--alpha-hidden", "1"], "pass --teacher"),
    (["--alpha-hidden", "1", "--teacher", "WIDE"], "same hidden size"),
])
def test_alpha_hidden_needs_a_teacher_of_the_same_width(tiny_models, tmp_path, extra, needle):
    data = write_squad(tmp_path / "squad.json")
    wide = tiny_models("bert", "qa", layers=2, hidden_size=64)
    extra = [str(wide) if a == "WIDE" else a for a in extra]
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["finetune", "qa", "--model", str(tiny_models("distilbert", "qa", layers=2)),
                                   "--train", str(data), "--out", str(out), "--max-steps", "1", *extra])
    assert res.exit_code == 1 and needle in res.output and "Traceback" not in res.output, res.output
    assert not out.exists()


def test_finetune_cls_trains_and_reports_accuracy(tiny_models, tmp_path):
    tsv = write_tsv(tmp_path / "train.tsv", SST)
    out = tmp_path / "cls"
    res = run(["finetune", "cls", "--model", str(tiny_models("bert", "mlm", layers=2)), "--train", str(tsv),
               "--eval", str(tsv), "--out", str(out), "--epochs", "30", "--batch-size", "8", "--lr", "3e-3",
               "--max-len", "16", "--warmup", "0"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["eval_accuracy"] >= 0.875 and "eval_f1" in results and results["num_labels"] == 2
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]


def _bad_squad(tmp_path, kind):
    p = tmp_path / f"{kind}.json"
    good = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is big.", "qas": [
        {"id": "1", "question": "What is big?", "answers": [{"text": "Paris", "answer_start": 0}]}]}]}]}
    if kind == "empty":
        p.write_text("")
    elif kind == "missing_key":
        del good["data"][0]["paragraphs"][0]["qas"][0]["question"]
        p.write_text(json.dumps(good))
    elif kind == "start_outside":
        good["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 99
        p.write_text(json.dumps(good))
    elif kind == "text_mismatch":
        good["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
        p.write_text(json.dumps(good))
    return p


@pytest.mark.parametrize("kind, needle", [("empty", "empty"), ("missing_key", "'question'"),
                                          ("start_outside", "outside"), ("text_mismatch", "not at answer_start")])
def test_bad_squad_is_one_line_error_and_no_output(tiny_models, tmp_path, kind, needle):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["finetune", "qa", "--model", str(tiny_models("bert", "mlm", layers=2)),
                                   "--train", str(_bad_squad(tmp_path, kind)), "--out", str(out)])
    assert res.exit_code == 1 and needle in res.output
    assert res.output.strip().count("\n") == 0 and not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_bad_cls_inputs_and_wrong_heads(tiny_models, tmp_path):
    mlm = str(tiny_models("bert", "mlm", layers=2))
    out = tmp_path / "out"
    cases = [
        (["finetune", "cls", "--model", mlm, "--train", str(write_tsv(tmp_path / "a.tsv", [("good", "pos")]))], "not an integer"),
        (["finetune", "cls", "--model", mlm, "--train", str(write_tsv(tmp_path / "e.tsv", [], header=""))], "empty"),
        (["finetune", "cls", "--model", str(tiny_models("bert", "qa")), "--train", str(write_tsv(tmp_path / "b.tsv", SST))],
         "qa model"),
        (["finetune", "qa", "--model", str(tiny_models("bert", "cls")), "--train", str(write_squad(tmp_path / "s.json"))],
         "cls model"),
        (["evaluate", "qa", "--model", mlm, "--data", str(write_squad(tmp_path / "s2.json"))], "no question-answering head"),
    ]
    no_tok = tmp_path / "notok"
    no_tok.mkdir()
    (no_tok / "config.json").write_text((Path(mlm) / "config.json").read_text())
    cases.append((["finetune", "cls", "--model", str(no_tok), "--train", str(tmp_path / "b.tsv")], "no tokenizer files"))
    for args, needle in cases:
        extra = ["--out", str(out)] if args[0] == "finetune" else []
        res = CliRunner().invoke(cli, args + extra)
        assert res.exit_code == 1 and needle in res.output, (args, res.output)
        assert res.output.strip().count("\n") == 0 and not out.exists()


def test_finetune_never_decays_distilbert_layer_norms():
    """Drift bug of issue 13: finetune decayed DistilBERT's sa_layer_norm / output_layer_norm weights.

    With a zero-gradient loss, AdamW's only update is weight decay: decayed weights shrink, exempt ones stay put.
    """
    from transformers import DistilBertForSequenceClassification

    from pocketbert.distill.finetune import TrainConfig, train_loop
    from tiny import tiny_config

    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(tiny_config("distilbert", 2))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tensors = {"input_ids": torch.randint(5, 100, (4, 8)), "attention_mask": torch.ones(4, 8, dtype=torch.long),
               "labels": torch.zeros(4, dtype=torch.long)}

    def zero_loss(out, batch, t_out, temperature):
        return out.logits.sum() * 0.0, None  # gradients exactly 0

    train_loop(model, tensors, TrainConfig(max_steps=2, lr=0.1, warmup=0.0, weight_decay=0.5, device="cpu"), zero_loss)
    after = dict(model.named_parameters())
    norms = [n for n in before if ("sa_layer_norm" in n or "output_layer_norm" in n) and n.endswith("weight")]
    assert len(norms) == 4  # 2 layers x (sa_layer_norm, output_layer_norm)
    for n in norms:
        assert torch.equal(after[n], before[n]), f"{n} was weight-decayed"
    q = "distilbert.transformer.layer.0.attention.q_lin.weight"
    assert not torch.equal(after[q], before[q])  # decay does apply to ordinary weights


def test_length_grouped_batches_cover_every_row_once_with_little_padding():
    """Each epoch visits every row exactly once; grouped batches pad far less than random ones; seeded = repeatable."""
    from pocketbert.distill.finetune import GROUP_BATCHES, epoch_batches

    gen_lengths = torch.Generator().manual_seed(1)
    lengths = torch.randint(10, 257, (16 * GROUP_BATCHES * 2,), generator=gen_lengths)  # (n,)

    def padding(batches):  # padded tokens when each batch is cut to its longest row (trim_padding)
        return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in batches)

    grouped = epoch_batches(lengths, 16, torch.Generator().manual_seed(0), group_by_length=True)
    plain = epoch_batches(lengths, 16, torch.Generator().manual_seed(0), group_by_length=False)
    for batches in (grouped, plain):
        assert sorted(torch.cat(batches).tolist()) == list(range(len(lengths)))
    assert padding(grouped) < padding(plain) / 5
    # The batch order is shuffled: the longest batch is not always first (lengths would otherwise arrive sorted).
    maxima = [int(lengths[b].max()) for b in grouped]
    assert maxima != sorted(maxima, reverse=True)
    again = epoch_batches(lengths, 16, torch.Generator().manual_seed(0), group_by_length=True)
    assert all(torch.equal(a, b) for a, b in zip(grouped, again))


def test_finetune_without_a_terminal_prints_plain_progress_lines(tiny_models, tmp_path, capfd):
    """In a log file tqdm is off; the loop still says step / total, loss, s/step and ETA (here: the last step)."""
    from pocketbert.distill.finetune import TrainConfig, finetune_qa

    student = tiny_models("bert", "mlm")
    squad = write_squad(tmp_path / "train.json")
    finetune_qa(str(student), squad, None, tmp_path / "qa", TrainConfig(max_steps=3, batch_size=4, device="cpu"),
                max_len=64, doc_stride=16)
    err = capfd.readouterr().err
    assert "finetune qa: step 3/3, loss " in err and "s/step, ETA" in err


def test_cached_teacher_logits_train_the_same_student_with_one_teacher_pass(tiny_models, tmp_path):
    """The teacher's logits computed once (cache_teacher) give the same losses and weights as a teacher forward per
    step, and the teacher runs over the data once instead of once per epoch."""
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.model_io import forward_inputs
    from pocketbert.distill.finetune import (TrainConfig, cached_outputs, qa_train_features, teacher_logits,
                                             train_loop, trim_padding)

    teacher_dir, student_dir = tiny_models("bert", "qa", layers=4), tiny_models("distilbert", "qa", layers=2)
    tensors = qa_train_features(load_tokenizer(student_dir), read_squad(write_squad(tmp_path / "s.json")), 64, 16, 32)
    n = len(tensors["input_ids"])
    runs = {}
    for cache in (True, False):
        teacher = AutoModelForQuestionAnswering.from_pretrained(teacher_dir)
        calls = []
        teacher.register_forward_hook(lambda mod, args, kwargs_out: calls.append(1))
        student = AutoModelForQuestionAnswering.from_pretrained(student_dir)
        cfg = TrainConfig(epochs=3, lr=1e-3, warmup=0, batch_size=4, device="cpu", cache_teacher=cache)
        torch.manual_seed(0)  # the student's dropout draws the same masks in both runs
        stats = train_loop(student, tensors, cfg, qa_losses, teacher)
        runs[cache] = (stats, {k: v.detach().clone() for k, v in student.state_dict().items()}, len(calls))
    (cached, w_cached, calls_cached), (online, w_online, calls_online) = runs[True], runs[False]
    batches = -(-n // 4)
    assert calls_cached == batches and calls_online == 3 * batches
    assert cached["train_steps"] == online["train_steps"] == 3 * batches
    assert cached["train_kd_loss"] == pytest.approx(online["train_kd_loss"], rel=1e-4)
    assert cached["train_loss"] == pytest.approx(online["train_loss"], rel=1e-4)
    for name, w in w_cached.items():  # float-order noise only (Adam amplifies it on near-zero gradients a little)
        torch.testing.assert_close(w, w_online[name], atol=1e-3, rtol=1e-3)
    # What the cache stands for: per row, the teacher's logits of a batch cut to any length >= the row's own.
    teacher = AutoModelForQuestionAnswering.from_pretrained(teacher_dir).eval()
    cache = teacher_logits(teacher, tensors, 3, "cpu", "t")
    idx = torch.tensor([0, 5, 2])
    batch = trim_padding({k: v[idx] for k, v in tensors.items()})
    seq = batch["input_ids"].shape[1]
    assert seq < tensors["input_ids"].shape[1]  # the cut is real
    with torch.no_grad():
        online = teacher(**forward_inputs(teacher, batch))
    got = cached_outputs(cache, idx, seq, "cpu")
    torch.testing.assert_close(got.start_logits, online.start_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.end_logits, online.end_logits, atol=1e-5, rtol=1e-5)


def test_attention_dropout_override_sets_the_attention_modules_only(tiny_models):
    """set_attention_dropout reaches every attention of BERT and DistilBERT, leaves the other dropouts and the saved
    config alone, and refuses a model it cannot reach (rather than training with the model's own value silently)."""
    from torch import nn
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.core.errors import PocketbertError
    from pocketbert.distill.training import set_attention_dropout

    for arch, layers in (("bert", 4), ("distilbert", 2)):
        model = AutoModelForQuestionAnswering.from_pretrained(tiny_models(arch, "qa", layers=layers))
        before = model.config.to_dict()
        assert set_attention_dropout(model, 0.0) == layers
        attention = [m.dropout.p for m in model.modules() if "Attention" in type(m).__name__
                     and isinstance(getattr(m, "dropout", None), nn.Dropout)]
        others = [m.p for name, m in model.named_modules() if isinstance(m, nn.Dropout)
                  and "attention.dropout" not in name and "attention.self.dropout" not in name]
        assert attention == [0.0] * layers and others and all(p > 0 for p in others), (arch, attention, others)
        assert model.config.to_dict() == before
    with pytest.raises(PocketbertError, match="no attention module"):
        set_attention_dropout(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)), 0.0)


def test_bf16_training_keeps_fp32_weights_and_records_what_ran(tiny_models, tmp_path, monkeypatch):
    """precision bf16 trains (finite losses, fp32 weights that moved) and says so; "auto" follows the hardware
    probe; the cached teacher logits carry no autograd graph (a graph there breaks the second step's backward)."""
    from transformers import AutoModelForQuestionAnswering

    from pocketbert.core.errors import PocketbertError
    from pocketbert.core.models import load_tokenizer
    from pocketbert.distill import training
    from pocketbert.distill.finetune import TrainConfig, qa_train_features, teacher_logits, train_loop

    teacher_dir, student_dir = tiny_models("bert", "qa", layers=4), tiny_models("distilbert", "qa", layers=2)
    tensors = qa_train_features(load_tokenizer(student_dir), read_squad(write_squad(tmp_path / "s.json")), 64, 16, 32)
    teacher = AutoModelForQuestionAnswering.from_pretrained(teacher_dir).eval()
    cache = teacher_logits(teacher, tensors, 4, "cpu", "t", precision="bf16")
    assert all(v.dtype == torch.float32 and not v.requires_grad for v in cache.values())
    for requested, native, ran in (("bf16", False, "bf16"), ("auto", True, "bf16"), ("auto", False, "fp32")):
        monkeypatch.setattr(training, "native_bf16", lambda device, native=native: native)
        student = AutoModelForQuestionAnswering.from_pretrained(student_dir)
        start = {k: v.clone() for k, v in student.state_dict().items()}
        stats = train_loop(student, tensors, TrainConfig(max_steps=4, lr=1e-3, warmup=0, batch_size=4, device="cpu",
                                                         precision=requested, attention_dropout=0.0), qa_losses, teacher)
        assert stats["train_precision"] == ran and stats["train_attention_dropout"] == 0.0
        assert torch.isfinite(torch.tensor([stats["train_loss"], stats["train_kd_loss"]])).all()
        weights = student.state_dict()
        assert all(v.dtype == start[k].dtype for k, v in weights.items())
        assert any(not torch.equal(v, start[k]) for k, v in weights.items())
    with pytest.raises(PocketbertError, match="fp16"):
        training.resolve_precision("fp16", torch.device("cpu"))


def test_finetune_cli_takes_the_precision_and_attention_dropout_and_records_them(tiny_models, tmp_path):
    data = write_squad(tmp_path / "squad.json")
    out = tmp_path / "qa"
    res = run(["finetune", "qa", "--model", str(tiny_models("distilbert", "qa", layers=2)), "--train", str(data),
               "--out", str(out), "--max-steps", "2", "--batch-size", "4", "--max-len", "64", "--doc-stride", "16",
               "--precision", "bf16", "--attention-dropout", "0"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["train_precision"] == "bf16" and results["train_attention_dropout"] == 0.0
    assert json.loads((out / "config.json").read_text())["attention_dropout"] == 0.1  # the model's own, kept
    bad = CliRunner().invoke(cli, ["finetune", "qa", "--model", "x", "--train", str(data), "--out", str(tmp_path / "b"),
                                   "--precision", "fp16"])
    assert bad.exit_code == 2 and "fp16" in bad.output and not (tmp_path / "b").exists()
