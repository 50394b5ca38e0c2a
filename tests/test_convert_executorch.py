"""`pocketbert convert executorch`: one .pte with a seq_<S> method per length, fp32 and int8, parity through
ExecuTorch's Python runtime, and `bench host` on the artifact. Skipped where the optional extra is absent, except the
tests named `..._without_extra` (the one-line error a user without the extra gets, and what the CLI and `bench pair`
check before any export), which run everywhere."""
from __future__ import annotations

import json
import platform

import pytest

from convert_helpers import HEAD, converted

from pocketbert.core.errors import PocketbertError


@pytest.fixture(autouse=True)
def executorch_installed(request):
    if "without_extra" not in request.node.name:
        pytest.importorskip("executorch", reason="ExecuTorch is an optional extra: pip install 'pocketbert[executorch]'")


MULTI_SEQ = (32, 64)
# Tiny models are mostly their float32 embedding table (30522 x 32), which the XNNPACK quantizer leaves alone:
# int8 shrinks only the encoder's linears, so the file may not grow and does not shrink much.
INT8_MAX_SIZE_RATIO = 1.0


def _methods(pte) -> set[str]:
    from executorch.runtime import Runtime

    return Runtime.get().load_program(pte).method_names


def test_fp32_multi_length_artifact_passes_parity(tmp_path_factory, tiny_models):
    from pocketbert.core.manifest import load_manifest

    model = tiny_models("bert", HEAD["qa"], layers=2)
    art = converted(tmp_path_factory, model, "executorch", "qa", "fp32", seq_lens=MULTI_SEQ)
    m = load_manifest(art)
    assert m["format"] == "executorch" and m["model_file"] == "model.pte" and m["seq_lens"] == list(MULTI_SEQ)
    assert [(s["name"], s["file"]) for s in m["signatures"]] == [("seq_32", "model.pte"), ("seq_64", "model.pte")]
    assert m["versions"]["executorch"] and m["quantization"] == {"delegate": "xnnpack"}
    p = m["parity"]
    assert p["status"] == "passed" and p["runtime"] == "executorch" and p["task_agreement"] >= 0.99
    for st in p["outputs"].values():
        assert st["max_abs"] < 1e-4 * max(1.0, st["ref_max_abs"])
    assert _methods(art / "model.pte") == {"seq_32", "seq_64", "input_names", "output_names", "delegate"}


@pytest.mark.parametrize("task,arch", [("qa", "distilbert"), ("embed", "bert")])
def test_int8_passes_parity_and_is_quantized(tmp_path_factory, tiny_models, task, arch):
    from pocketbert.core.manifest import load_manifest

    model = tiny_models(arch, HEAD[task], layers=2)
    m = load_manifest(converted(tmp_path_factory, model, "executorch", task, "int8"))
    p = m["parity"]
    assert p["status"] == "passed" and p["task_agreement"] >= 0.97
    assert "dynamic int8" in m["quantization"]["scheme"]
    for st in p["outputs"].values():
        assert 0 < st["max_abs"] and st["cosine"] > 0.95  # really quantized, still the same model
    fp32 = load_manifest(converted(tmp_path_factory, model, "executorch", task, "fp32"))
    assert fp32["parity"]["status"] == "passed"
    assert m["file_size_bytes"] <= INT8_MAX_SIZE_RATIO * fp32["file_size_bytes"]


def test_runtime_layer_names_outputs_and_rejects_a_truncated_file(tmp_path_factory, tiny_models, tmp_path):
    import numpy as np

    from pocketbert.core.runtime import load_artifact, open_model

    art = converted(tmp_path_factory, tiny_models("bert", HEAD["qa"], layers=2), "executorch", "qa", "fp32",
                    seq_lens=MULTI_SEQ)
    artifact = load_artifact(art, threads=1)
    feeds = {k: np.ones((3, 32), dtype=np.int32) for k in ("input_ids", "attention_mask", "token_type_ids")}
    out = artifact.run(32, feeds)
    assert set(out) == {"start_logits", "end_logits"} and out["start_logits"].shape == (3, 32)
    bad = tmp_path / "model.pte"
    bad.write_bytes((art / "model.pte").read_bytes()[:1000])
    with pytest.raises(PocketbertError, match="truncated or not a .pte"):
        open_model("executorch", {32: bad})


def test_bench_host_runs_the_pte(tmp_path_factory, tiny_models, tmp_path):
    from pocketbert.bench.host import bench_host
    from pocketbert.core.results import validate_record

    art = converted(tmp_path_factory, tiny_models("bert", HEAD["qa"], layers=2), "executorch", "qa", "fp32",
                    seq_lens=MULTI_SEQ)
    records = bench_host([art], threads=[1], runs=3, warmup=1, out=tmp_path / "r.jsonl", progress=False)
    assert [(r["runtime"]["name"], r["seq_len"]) for r in records] == [("executorch", 32), ("executorch", 64)]
    manifest = json.loads((art / "manifest.json").read_text())
    for rec in records:
        validate_record(rec)
        assert rec["runtime"]["delegate"] == "xnnpack" and rec["runtime"]["version"]
        assert rec["extra"]["signature"] in ("seq_32", "seq_64") and rec["parity"]["status"] == "passed"
        assert rec["model_size_bytes"] == manifest["file_size_bytes"]  # one file, every method
        assert 0 < rec["latency_ms"]["min"] <= rec["latency_ms"]["p50"]


@pytest.mark.skipif(platform.system() == "Darwin", reason="on macOS the Core ML delegate runs: numeric parity")
def test_coreml_delegate_exports_here_with_a_spec_only_gate_and_bench_skips_it(tmp_path_factory, tiny_models,
                                                                                 tmp_path):
    from pocketbert.bench.host import bench_host
    from pocketbert.core.manifest import load_manifest
    from pocketbert.core.runtime import open_model

    art = converted(tmp_path_factory, tiny_models("bert", HEAD["qa"], layers=2), "executorch", "qa", "fp32",
                    seq_lens=MULTI_SEQ, delegate="coreml")
    m = load_manifest(art)
    assert m["quantization"]["delegate"] == "coreml" and m["quantization"]["compute_precision"] == "float32"
    p = m["parity"]
    assert p["status"] == "spec-only" and p["runtime"] == "executorch-spec" and "macOS" in p["note"]
    assert _methods(art / "model.pte") >= {"seq_32", "seq_64", "delegate"}
    assert bench_host([art], threads=[1], runs=1, warmup=0, out=tmp_path / "r.jsonl", progress=False) == []
    with pytest.raises(PocketbertError, match="Core ML delegate, which runs only on macOS"):
        open_model("executorch", {32: art / "model.pte"}).bind(32, {})


@pytest.mark.parametrize("precision,opts,message", [
    ("int8-dynamic", {}, "not valid for executorch; choose one of fp32, int8"),
    ("int8", {"delegate": "coreml"}, "with --delegate coreml use fp32"),
    ("fp32", {"delegate": "vulkan"}, "--delegate 'vulkan'; choose one of xnnpack, coreml"),
])
def test_bad_arguments_are_one_line_before_any_export(tiny_models, tmp_path, precision, opts, message):
    from pocketbert.convert.api import convert_model

    with pytest.raises(PocketbertError, match=message):
        convert_model("executorch", tiny_models("bert", HEAD["qa"], layers=2), "qa", [32], precision,
                      tmp_path / "out", **opts)
    assert not (tmp_path / "out").exists()


def test_without_extra_convert_says_how_to_install(tiny_models, tmp_path, monkeypatch):
    import importlib.util

    from pocketbert.convert.api import convert_model

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "executorch" else real(name, *a))
    with pytest.raises(PocketbertError, match=r"pip install 'pocketbert\[executorch\]'"):
        convert_model("executorch", tiny_models("bert", HEAD["qa"], layers=2), "qa", [32], "fp32", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_has_a_convert_executorch_command_with_a_delegate_option_without_extra():
    from click.testing import CliRunner

    from pocketbert.cli import cli

    res = CliRunner().invoke(cli, ["convert", "executorch", "--help"])
    assert res.exit_code == 0, res.output
    assert "--delegate" in res.output and "xnnpack" in res.output and "fp32|int8" in res.output


def test_bench_pair_refuses_a_precision_executorch_lacks_before_building_without_extra(tmp_path):
    from pocketbert.bench_pair import bench_pair

    with pytest.raises(PocketbertError, match="int8-dynamic is not valid for --runtime executorch; choose from fp32, int8"):
        bench_pair("bert-base", "distilbert-base", [32], ["fp32", "int8-dynamic"], "executorch", tmp_path / "pair")
    assert not (tmp_path / "pair").exists()


def test_registry_record_and_manifest_enum_know_executorch_without_extra():
    from pocketbert.core import registry
    from pocketbert.core.manifest import manifest_schema
    from pocketbert.core.results import RUNTIME_NAMES

    rec = registry.FORMATS["executorch"]
    assert rec.precisions == ("fp32", "int8") and rec.runtime == "executorch" and "executorch" in RUNTIME_NAMES
    assert "executorch" in manifest_schema()["properties"]["format"]["enum"]
