"""The sentence recipe's pieces: sentence-unit prepare, layer maps chosen by agreement, the demo's retention table."""
from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from pocketbert.cli import cli
from pocketbert.distill.data import PreparedData
from pocketbert.distill.layer_choice import candidate_maps


def test_prepare_sentence_unit_gives_one_sequence_per_sentence(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("The cat sat on the mat today. A dog barked at the mailman loudly. Yes.\n"
                      "Rain fell over the quiet harbor town. \"Quoted speech begins here,\" she said.\n")
    res = CliRunner().invoke(cli, ["prepare", "--corpus", str(corpus), "--tokenizer", "minilm", "--out",
                                   str(tmp_path / "d"), "--unit", "sentence", "--max-len", "32"])
    assert res.exit_code == 0, res.output
    data = PreparedData(tmp_path / "d")
    assert len(data) == 4  # "Yes." is a fragment (<= 5 tokens with [CLS]/[SEP]) and is dropped
    assert data.meta["dropped_short"] == 1 and data.meta["settings"]["unit"] == "sentence"
    from pocketbert.core.models import load_tokenizer

    first = load_tokenizer("minilm").decode(data[0], skip_special_tokens=True)
    assert first == "the cat sat on the mat today."
    # the chunk unit on the same text keeps whole lines (and its fingerprint differs)
    res = CliRunner().invoke(cli, ["prepare", "--corpus", str(corpus), "--tokenizer", "minilm", "--out",
                                   str(tmp_path / "c"), "--max-len", "32"])
    assert res.exit_code == 0, res.output
    assert len(PreparedData(tmp_path / "c")) == 2


def test_candidate_maps_exhaustive_when_few_structured_when_many():
    six = candidate_maps(6, 3)
    assert len(six) == 20 and [0, 4, 5] in six and [0, 2, 4] in six
    twelve = candidate_maps(12, 6)
    assert [0, 2, 4, 7, 9, 11] in twelve and [0, 2, 4, 6, 8, 10] in twelve
    assert 3 <= len(twelve) < 100
    for m in twelve:
        assert len(m) == 6 and m == sorted(set(m)) and 0 <= m[0] and m[-1] <= 11


def test_init_student_auto_keeps_the_best_agreeing_copy(tiny_models, tmp_path):
    teacher = tiny_models("bert", "mlm", layers=4)
    res = CliRunner().invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(tmp_path / "s"),
                                   "--layers", "auto"])
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "s" / "student_init.json").read_text())
    ranking = info["layer_choice"]["candidates"]
    assert len(ranking) == 6  # 4 choose 2, every one scored
    scores = [c["pooled_cos"] for c in ranking]
    assert scores == sorted(scores, reverse=True)
    assert info["student_layers_from_teacher"] == ranking[0]["layers"]
    assert "[6/6]" in res.output
    # the saved student is exactly the copy of the chosen layers
    res = CliRunner().invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(tmp_path / "e"),
                                   "--layers", ",".join(map(str, ranking[0]["layers"]))])
    assert res.exit_code == 0, res.output
    a, b = load_file(tmp_path / "s" / "model.safetensors"), load_file(tmp_path / "e" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_init_student_n_layers_needs_auto(tiny_models, tmp_path):
    teacher = tiny_models("bert", "mlm", layers=4)
    res = CliRunner().invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(tmp_path / "s"),
                                   "--layers", "0,2", "--n-layers", "2"])
    assert res.exit_code != 0 and "--n-layers goes with --layers auto" in res.output
    assert not (tmp_path / "s").exists()


def test_retention_table_says_plainly_when_distillation_did_not_help():
    from pocketbert.pipeline import retention_lines

    v = {"rows": {"teacher": {"pooled_cos": 1.0, "token_cos": 1.0, "sts": 0.8},
                  "init": {"pooled_cos": 0.7, "token_cos": 0.6, "sts": 0.7},
                  "student": {"pooled_cos": 0.7, "token_cos": 0.6, "sts": 0.7}},
         "best_step": 0, "student_beats_init": {"pooled_cos": False, "token_cos": False, "sts": False}}
    text = "\n".join(retention_lines(v))
    assert "IS the copied init" in text and "NOT above its copied init on STS-B" in text
    v["best_step"] = 40
    v["rows"]["student"] = {"pooled_cos": 0.9, "token_cos": 0.8, "sts": 0.76}
    v["student_beats_init"] = {"pooled_cos": True, "token_cos": True, "sts": True}
    text = "\n".join(retention_lines(v))
    assert "student (step 40)" in text and "95.0%" in text and "ABOVE its copied init on STS-B" in text
    assert np.isclose(0.76 / 0.8, 0.95)


def test_init_student_auto_on_a_squad_teacher_ranks_by_span_agreement(tiny_models, tmp_path):
    from test_qa_models import write_articles

    teacher = tiny_models("bert", "qa", layers=4)
    base = ["init-student", "--teacher", str(teacher), "--layers", "auto"]
    res = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "needs --sample-data SQUAD.json" in res.output and not (tmp_path / "x").exists()
    squad = write_articles(tmp_path / "squad.json")
    res = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "s"), "--sample-data", str(squad)])
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "s" / "student_init.json").read_text())
    assert info["qa_head_copied"] and info["layer_choice"]["metric"] == "qa_kl"
    ranking = info["layer_choice"]["candidates"]
    assert len(ranking) == 6 and [c["qa_kl"] for c in ranking] == sorted(c["qa_kl"] for c in ranking)
    assert info["student_layers_from_teacher"] == ranking[0]["layers"]
    assert ranking[-1]["qa_kl"] > 1e-4


def test_span_agreement_is_exact_for_a_full_copy_on_single_segment_windows(tiny_models, tmp_path):
    """The metric itself: a copy of every layer (span head included) gives KL 0 and the teacher's argmax when the
    windows carry no segment ids (the one input a DistilBERT student cannot see)."""
    from test_qa_models import write_articles

    from pocketbert.core.models import load_config, load_tokenizer
    from pocketbert.distill import layer_choice, student_init

    teacher_dir = tiny_models("bert", "qa", layers=4)
    info = student_init.teacher_info(load_config(str(teacher_dir)))
    teacher = student_init.load_teacher(str(teacher_dir), info)
    batches = layer_choice.squad_batches(load_tokenizer(str(teacher_dir)), write_articles(tmp_path / "squad.json"))
    for b in batches:
        b["token_type_ids"].zero_()
    (full,) = layer_choice.score_maps_qa(teacher, info, batches, 4, build_student=student_init.build_student)
    assert full.layers == [0, 1, 2, 3] and full.qa_kl < 1e-6 and full.qa_top1 == 1.0
    two = layer_choice.score_maps_qa(teacher, info, batches, 2, build_student=student_init.build_student)
    assert min(c.qa_kl for c in two) > 100 * full.qa_kl  # dropping layers moves the distributions; the copy does not
