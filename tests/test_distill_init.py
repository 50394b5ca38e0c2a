"""init-student: the chosen teacher layers are copied exactly, and the result is a loadable DistilBERT."""
from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from pocketbert.cli import cli


def _load(path, head="mlm"):
    from transformers import AutoModel, AutoModelForMaskedLM

    return (AutoModelForMaskedLM if head == "mlm" else AutoModel).from_pretrained(str(path)).eval()


def _bert_layer_map(layer):
    return {
        "attention.q_lin": layer.attention.self.query, "attention.k_lin": layer.attention.self.key,
        "attention.v_lin": layer.attention.self.value, "attention.out_lin": layer.attention.output.dense,
        "sa_layer_norm": layer.attention.output.LayerNorm, "ffn.lin1": layer.intermediate.dense,
        "ffn.lin2": layer.output.dense, "output_layer_norm": layer.output.LayerNorm,
    }


def _init(teacher, out, layers):
    res = CliRunner().invoke(cli, ["init-student", "--teacher", str(teacher), "--out", str(out), "--layers", layers])
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.parametrize("head", ["mlm", "base"])
def test_bert_teacher_layers_copied_exactly(tiny_models, tmp_path, head):
    teacher_dir = tiny_models("bert", head, layers=4)
    res = _init(teacher_dir, tmp_path / "s", "1,3")
    teacher = _load(teacher_dir, head)
    student = _load(tmp_path / "s")  # AutoModelForMaskedLM loads it
    assert type(student).__name__ == "DistilBertForMaskedLM"
    assert student.config.n_layers == 2
    t_bert = teacher.bert if head == "mlm" else teacher
    for s_idx, t_idx in enumerate([1, 3]):
        s_layer = student.distilbert.transformer.layer[s_idx]
        for name, t_mod in _bert_layer_map(t_bert.encoder.layer[t_idx]).items():
            s_mod = s_layer.get_submodule(name)
            for p in ("weight", "bias"):
                assert torch.equal(getattr(s_mod, p), getattr(t_mod, p)), (s_idx, name, p)
    emb_t, emb_s = t_bert.embeddings, student.distilbert.embeddings
    assert torch.equal(emb_s.word_embeddings.weight, emb_t.word_embeddings.weight)
    # token type row 0 folded into the positions
    assert torch.equal(emb_s.position_embeddings.weight,
                       emb_t.position_embeddings.weight + emb_t.token_type_embeddings.weight[0])
    assert torch.equal(emb_s.LayerNorm.weight, emb_t.LayerNorm.weight)
    # projection tied to the word embeddings in both cases
    assert torch.equal(student.vocab_projector.weight, emb_t.word_embeddings.weight)
    if head == "mlm":
        pred = teacher.cls.predictions
        assert torch.equal(student.vocab_transform.weight, pred.transform.dense.weight)
        assert torch.equal(student.vocab_layer_norm.bias, pred.transform.LayerNorm.bias)
        assert torch.equal(student.vocab_projector.bias, pred.decoder.bias)
        assert "notice" not in res.output
    else:
        assert "soft-target loss" in res.output and "unavailable" in res.output
    assert (tmp_path / "s" / "vocab.txt").is_file()


def test_folded_embeddings_keep_teacher_function(tiny_models, tmp_path):
    """Copying all layers of a BERT teacher gives the same hidden states for single-segment input."""
    teacher_dir = tiny_models("bert", "mlm", layers=4)
    _init(teacher_dir, tmp_path / "s", "0,1,2,3")
    teacher, student = _load(teacher_dir), _load(tmp_path / "s")
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0]])
    with torch.no_grad():
        t = teacher(input_ids=ids, attention_mask=mask)
        s = student(input_ids=ids, attention_mask=mask)
    assert torch.allclose(t.logits[:, :7], s.logits[:, :7], atol=1e-4)


def test_distilbert_teacher_layers_copied_exactly(tiny_models, tmp_path):
    teacher_dir = tiny_models("distilbert", "mlm", layers=4)
    _init(teacher_dir, tmp_path / "s", "0,3")
    teacher, student = _load(teacher_dir), _load(tmp_path / "s")
    t_sd, s_sd = teacher.state_dict(), student.state_dict()
    for s_idx, t_idx in enumerate([0, 3]):
        keys = [k for k in t_sd if k.startswith(f"distilbert.transformer.layer.{t_idx}.")]
        assert keys
        for k in keys:
            sk = k.replace(f"layer.{t_idx}.", f"layer.{s_idx}.")
            assert torch.equal(s_sd[sk], t_sd[k]), k
    for k in ("distilbert.embeddings.position_embeddings.weight", "vocab_transform.weight", "vocab_projector.bias"):
        assert torch.equal(s_sd[k], t_sd[k]), k


def test_default_layers_every_other(tiny_models, tmp_path):
    teacher_dir = tiny_models("bert", "mlm", layers=4)
    res = CliRunner().invoke(cli, ["init-student", "--teacher", str(teacher_dir), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "[0, 2]" in res.output
    assert _load(tmp_path / "s").config.n_layers == 2


def test_squad_teacher_gives_a_qa_student_with_its_span_head(tiny_models, tmp_path):
    """Shrink and fine-tune: a fine-tuned QA teacher's layers AND span head are copied; all layers = same answers."""
    from transformers import AutoModelForQuestionAnswering

    teacher_dir = tiny_models("bert", "qa", layers=4)
    _init(teacher_dir, tmp_path / "s", "0,1,2,3")
    teacher = AutoModelForQuestionAnswering.from_pretrained(str(teacher_dir)).eval()
    student = AutoModelForQuestionAnswering.from_pretrained(str(tmp_path / "s")).eval()
    assert type(student).__name__ == "DistilBertForQuestionAnswering"
    assert torch.equal(student.qa_outputs.weight, teacher.qa_outputs.weight)
    ids = torch.tensor([[101, 2054, 2003, 102, 3000, 2003, 1996, 3007, 102, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
    with torch.no_grad():  # single-segment input: token type 0 everywhere, which the student folded in
        t = teacher(input_ids=ids, attention_mask=mask)
        s = student(input_ids=ids, attention_mask=mask)
    assert torch.allclose(t.start_logits[:, :9], s.start_logits[:, :9], atol=1e-4)
    assert torch.allclose(t.end_logits[:, :9], s.end_logits[:, :9], atol=1e-4)
