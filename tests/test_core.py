"""The common core: model resolution, atomic outputs, embedded corpus, CLI listing."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pocketbert.cli import cli
from pocketbert.core.atomic import atomic_output_dir, write_json
from pocketbert.core.corpus import embedded_paragraphs, embedded_sentences
from pocketbert.core.errors import PocketbertError
from pocketbert.core.models import load_tokenizer, model_slug, packaged_teacher_dir, resolve_model


def test_packaged_alias_resolves_to_real_weights():
    path = resolve_model("all-MiniLM-L6-v2")
    assert path == str(packaged_teacher_dir())
    assert json.loads((packaged_teacher_dir() / "config.json").read_text())["num_hidden_layers"] == 6


def test_missing_local_dir_is_one_line_error(tmp_path):
    with pytest.raises(PocketbertError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PocketbertError, match="no config.json"):
        resolve_model(tmp_path / "empty")


def test_hub_id_passes_through_and_slug_is_path_safe():
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"
    assert "/" not in model_slug("google/bert_uncased_L-2_H-128_A-2")


def test_model_dir_without_tokenizer_is_an_error(tiny_models, tmp_path):
    import shutil

    src = tiny_models("bert", "mlm", layers=2)
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(src / name, bare / name)
    with pytest.raises(PocketbertError, match="no tokenizer files"):
        load_tokenizer(bare)
    assert load_tokenizer(src).is_fast


def test_atomic_output_dir_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "artifact"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_atomic_output_dir_refuses_existing_without_force(tmp_path):
    out = tmp_path / "artifact"
    with atomic_output_dir(out) as tmp:
        write_json(tmp / "manifest.json", {"a": 1})
    with pytest.raises(PocketbertError, match="--force"):
        with atomic_output_dir(out):
            pass
    with atomic_output_dir(out, force=True) as tmp:
        write_json(tmp / "manifest.json", {"a": 2})
    assert json.loads((out / "manifest.json").read_text()) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact"]


def test_embedded_corpus_is_real_english_prose():
    paragraphs = embedded_paragraphs()
    assert len(paragraphs) > 500
    words = sum(len(p.split()) for p in paragraphs)
    assert words > 30_000
    assert paragraphs == embedded_paragraphs()  # deterministic order
    assert all(len(s.split()) >= 6 for s in embedded_sentences(limit=50))


def test_help_lists_every_stage():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for heading in ("Stage 1", "Stage 2", "Stage 3"):
        assert heading in result.output


def test_save_tokenizer_writes_vocab_txt_in_id_order(tmp_path):
    from pocketbert.core.models import save_tokenizer

    tok = load_tokenizer("minilm")
    save_tokenizer(tok, tmp_path)
    lines = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == tok.vocab_size
    assert [lines[i] for i in tok("hello world")["input_ids"]] == ["[CLS]", "hello", "world", "[SEP]"]


def test_native_stderr_is_held_back_and_replayed_on_failure(capfd):
    """Converter chatter written straight to fd 2 is hidden on success and shown when the block fails."""
    import os

    import pytest

    from pocketbert.core.quiet import native_stderr_captured

    with native_stderr_captured():
        os.write(2, b"I0000 native chatter\n")
    assert "native chatter" not in capfd.readouterr().err
    with pytest.raises(RuntimeError):
        with native_stderr_captured():
            os.write(2, b"F0000 the real reason\n")
            raise RuntimeError("export failed")
    assert "the real reason" in capfd.readouterr().err


def test_reference_outputs_are_computed_once_per_model_files_and_inputs(tmp_path):
    """The PyTorch reference is reused for the same model files and inputs, recomputed when the model's files
    change (a re-trained model in the same dir is never served stale) or the inputs differ, and comes back
    read-only; a hub id (no local files) is never cached."""
    import numpy as np
    import pytest

    from pocketbert.core import reference_cache as rc

    rc.clear()
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights-1")
    calls = []

    def compute():
        calls.append(1)
        return {"start_logits": np.arange(4, dtype=np.float32)}

    feeds = {"input_ids": np.array([[1, 2, 3, 4]], dtype=np.int32)}
    first = rc.reference("parity:qa", rc.model_key(model), feeds, compute)
    again = rc.reference("parity:qa", rc.model_key(model), {"input_ids": feeds["input_ids"].copy()}, compute)
    assert len(calls) == 1 and again is first
    with pytest.raises(ValueError):
        first["start_logits"][0] = 9.0  # read-only: a caller cannot corrupt the next caller's reference
    rc.reference("parity:qa", rc.model_key(model), {"input_ids": feeds["input_ids"] + 1}, compute)
    assert len(calls) == 2
    (model / "model.safetensors").write_bytes(b"weights-two")  # re-trained into the same dir
    rc.reference("parity:qa", rc.model_key(model), feeds, compute)
    assert len(calls) == 3
    rc.reference("parity:qa", rc.model_key("some-org/some-model"), feeds, compute)
    rc.reference("parity:qa", rc.model_key("some-org/some-model"), feeds, compute)
    assert len(calls) == 5
    rc.clear()
