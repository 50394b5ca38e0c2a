"""`pocketbert convert ios`: Core ML ML programs; on Linux the spec is what can be proven (names, shapes, dtypes,
compressed weights, metadata) and parity says `spec-only`; on macOS parity runs MLModel.predict."""
from __future__ import annotations

import platform

import numpy as np
import pytest

from convert_helpers import HEAD, converted


MODELS = {"qa": "bert", "cls": "distilbert", "embed": "bert"}
WIDE = dict(hidden_size=128, intermediate_size=512)
INT8_MAX_RATIO = 0.30
FP16_MAX_RATIO = 0.55
ON_MAC = platform.system() == "Darwin"


def ct_spec(package):
    import coremltools as ct

    return ct.utils.load_spec(str(package))


def _spec(art):
    return ct_spec(art / "model.mlpackage")


@pytest.mark.parametrize("task", ["qa", "cls", "embed"])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_ios_spec_has_promised_interface(tmp_path_factory, tiny_models, task, precision):
    from coremltools.proto import FeatureTypes_pb2 as ft

    from pocketbert.convert.coreml_spec import op_types
    from pocketbert.core.manifest import artifact_sha256, load_manifest

    art = converted(tmp_path_factory, tiny_models(MODELS[task], HEAD[task], layers=2), "coreml", task, precision)
    m = load_manifest(art)
    assert m["sha256"] == artifact_sha256(art / "model.mlpackage")
    assert m["file_size_bytes"] == sum(f.stat().st_size for f in (art / "model.mlpackage").rglob("*") if f.is_file())
    assert m["parity"]["status"] == ("passed" if ON_MAC else "spec-only")
    if not ON_MAC:
        assert "macOS" in m["parity"]["note"]
    spec = _spec(art)
    assert spec.WhichOneof("Type") == "mlProgram"
    assert [i.name for i in spec.description.input] == [t["name"] for t in m["inputs"]]
    for i in spec.description.input:
        assert i.type.multiArrayType.dataType == ft.ArrayFeatureType.INT32
        assert list(i.type.multiArrayType.shape) == [1, m["seq_lens"][0]]
    assert [o.name for o in spec.description.output] == [t["name"] for t in m["outputs"]]
    assert all(o.type.multiArrayType.dataType == ft.ArrayFeatureType.FLOAT32 for o in spec.description.output)
    quant_ops = [t for t in op_types(spec) if t in ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale")]
    assert bool(quant_ops) == (precision == "int8")
    meta = spec.description.metadata
    assert meta.author == "pocketbert" and meta.license and task in meta.shortDescription
    assert meta.userDefined["pocketbert_version"] and meta.userDefined["source_model"]
    assert all(i.shortDescription for i in spec.description.input)
    assert all(o.shortDescription for o in spec.description.output)


def test_ios_enumerated_shapes_for_several_lengths(tmp_path_factory, tiny_models):
    art = converted(tmp_path_factory, tiny_models("bert", "qa", layers=2), "coreml", "qa", "fp16",
                    seq_lens=(64, 128), min_ios=18)
    for i in _spec(art).description.input:
        arr = i.type.multiArrayType
        assert arr.WhichOneof("ShapeFlexibility") == "enumeratedShapes"
        assert sorted(tuple(s.shape) for s in arr.enumeratedShapes.shapes) == [(1, 64), (1, 128)]


def test_ios_one_package_per_length_below_ios18(tmp_path_factory, tmp_path, tiny_models):
    """iOS 16/17 cannot take enumerated shapes on every input: each length gets its own static package, and the
    manifest's signatures say which file serves which length (the app loads the smallest that fits)."""
    import shutil

    from click.testing import CliRunner

    from pocketbert.cli import cli
    from pocketbert.convert.coreml_spec import check_coreml_spec
    from pocketbert.core.manifest import artifact_sha256, load_manifest

    art = converted(tmp_path_factory, tiny_models("bert", "qa", layers=2), "coreml", "qa", "fp16",
                    seq_lens=(128, 64))
    m = load_manifest(art)
    assert m["seq_lens"] == [64, 128]
    assert [(s["seq_len"], s["file"]) for s in m["signatures"]] == [
        (64, "model_seq_64.mlpackage"), (128, "model_seq_128.mlpackage")]
    assert m["model_file"] == "model_seq_128.mlpackage" and not (art / "model.mlpackage").exists()
    assert m["sha256"] == artifact_sha256(art / m["model_file"])
    assert m["quantization"]["minimum_deployment_target"] == "iOS16"
    for sig in m["signatures"]:
        for i in ct_spec(art / sig["file"]).description.input:
            arr = i.type.multiArrayType
            assert arr.WhichOneof("ShapeFlexibility") is None
            assert list(arr.shape) == [1, sig["seq_len"]]
    report = check_coreml_spec(art, m)
    assert report.status == "spec-only", report.checks
    assert any(name.startswith("model_seq_64.mlpackage: ") for name, _, _ in report.checks)

    broken = tmp_path / "broken"
    shutil.copytree(art, broken)
    shutil.rmtree(broken / "model_seq_64.mlpackage")
    res = CliRunner().invoke(cli, ["parity", str(broken)])
    assert res.exit_code != 0 and "model_seq_64.mlpackage is missing" in res.output


@pytest.mark.parametrize("precision,op", [("palettize4", "constexpr_lut_to_dense")])
def test_ios_compression_is_real_and_finite(tmp_path_factory, tiny_models, precision, op):
    from pocketbert.convert.coreml_spec import load_program, op_types
    from pocketbert.core.manifest import load_manifest

    model = tiny_models("bert", "cls", layers=2, **WIDE)
    art = converted(tmp_path_factory, model, "coreml", "cls", precision)
    spec, program = load_program(art / "model.mlpackage")
    assert op in op_types(spec)
    # The palettes (LUTs) that expand into weights are finite numbers.
    luts = [v.val for f in program.functions.values() for o in f.operations if o.op_type == op
            for v in o.inputs.values() if isinstance(getattr(v, "val", None), np.ndarray) and v.val.dtype.kind == "f"]
    assert luts and all(np.isfinite(x).all() for x in luts)
    sizes = {p: load_manifest(converted(tmp_path_factory, model, "coreml", "cls", p))["file_size_bytes"]
             for p in ("fp32", "fp16", "int8", precision)}
    assert sizes["fp16"] <= FP16_MAX_RATIO * sizes["fp32"], sizes
    assert sizes["int8"] <= INT8_MAX_RATIO * sizes["fp32"], sizes
    assert sizes[precision] < sizes["int8"], sizes
