"""Bad input to `convert` and `parity`: one `Error:` line naming the problem, exit 1, nothing written."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from convert_helpers import converted


def _run(args):
    from pocketbert.cli import cli

    res = CliRunner().invoke(cli, args)
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    return res, lines


def _assert_one_line_error(res, lines, *needles):
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture(scope="module")
def qa_model(tiny_models):
    return tiny_models("distilbert", "qa", layers=2)


@pytest.mark.parametrize("extra,needles", [
    (["--seq-len", "1024"], ["max_position_embeddings", "512"]),
    (["--seq-len", "0"], ["positive integer"]),
    (["--seq-len", "-5"], ["positive integer"]),
    (["--seq-len", "abc"], ["not a valid integer"]),
    (["--precision", "int4"], ["fp32", "int8-dynamic", "int8-full"]),
    (["--precision", "int8-full"], ["--calibration"]),
    (["--task", "mlm"], ["no mlm head", "ForMaskedLM"]),
])
def test_bad_convert_arguments(tmp_path, qa_model, extra, needles):
    out = tmp_path / "out"
    args = ["convert", "android", "--model", str(qa_model), "--task", "qa", "--out", str(out)]
    res, lines = _run(args + extra)
    _assert_one_line_error(res, lines, *needles)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unsupported_architecture(tmp_path):
    from transformers import GPT2Config

    model = tmp_path / "gpt2"
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(model)
    res, lines = _run(["convert", "onnx", "--model", str(model), "--task", "embed", "--out", str(tmp_path / "o")])
    _assert_one_line_error(res, lines, "gpt2", "bert, distilbert")
    assert not (tmp_path / "o").exists()


def test_missing_model_dir(tmp_path):
    res, lines = _run(["convert", "onnx", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    _assert_one_line_error(res, lines, "does not exist")


def test_existing_out_needs_force(tmp_path, qa_model):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    for force in ([], ["--force"]):  # not a convert output: even --force must not replace it
        res, lines = _run(["convert", "onnx", "--model", str(qa_model), "--seq-len", "64", "--out", str(out), *force])
        _assert_one_line_error(res, lines, "not written by `pocketbert convert`")
        assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_truncated_or_missing_model_file_in_parity(tmp_path_factory, tmp_path, qa_model, fmt):
    art = converted(tmp_path_factory, qa_model, fmt, "qa", "fp32")
    manifest = json.loads((art / "manifest.json").read_text())
    broken = tmp_path / "truncated"
    shutil.copytree(art, broken)
    model_file = broken / manifest["model_file"]
    model_file.write_bytes(model_file.read_bytes()[: manifest["file_size_bytes"] // 3])
    res, lines = _run(["parity", str(broken)])
    _assert_one_line_error(res, lines, "truncated")

    missing = tmp_path / "missing"
    shutil.copytree(art, missing)
    (missing / manifest["model_file"]).unlink()
    res, lines = _run(["parity", str(missing)])
    _assert_one_line_error(res, lines, "missing")


def test_parity_on_a_dir_without_manifest(tmp_path):
    res, lines = _run(["parity", str(tmp_path)])
    _assert_one_line_error(res, lines, "manifest.json")
