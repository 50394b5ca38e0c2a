"""`pocketbert convert onnx`: the host reference artifact, fp32, dynamic int8 and block-wise int8, with parity numbers."""
from __future__ import annotations

import pytest

from convert_helpers import HEAD, converted


MODELS = {"qa": "distilbert", "cls": "bert", "embed": "distilbert"}
INT8_MAX_RATIO = 0.30


@pytest.mark.parametrize("task", ["qa", "cls", "embed"])
@pytest.mark.parametrize("precision", ["fp32", "int8-dynamic"])
def test_onnx_converts_with_passing_parity(tmp_path_factory, tiny_models, task, precision):
    import onnxruntime as ort

    from pocketbert.core.manifest import load_manifest

    model = tiny_models(MODELS[task], HEAD[task], layers=2)
    art = converted(tmp_path_factory, model, "onnx", task, precision)
    m = load_manifest(art)
    p = m["parity"]
    assert p["status"] == "passed" and p["runtime"] == "onnxruntime" and p["task_agreement"] >= 0.97
    for st in p["outputs"].values():
        if precision == "fp32":
            assert st["max_abs"] < 1e-4 * max(1.0, st["ref_max_abs"])
        else:
            assert 0 < st["max_abs"] and st["cosine"] > 0.95
    sess = ort.InferenceSession(str(art / m["model_file"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [t["name"] for t in m["inputs"]]
    assert all(i.type == "tensor(int32)" and i.shape == t["shape"] for i, t in zip(sess.get_inputs(), m["inputs"]))
    assert [o.name for o in sess.get_outputs()] == [t["name"] for t in m["outputs"]]
    if precision != "fp32":
        fp32 = load_manifest(converted(tmp_path_factory, model, "onnx", task, "fp32"))
        assert m["file_size_bytes"] <= INT8_MAX_RATIO * fp32["file_size_bytes"]


@pytest.mark.parametrize("task", ["qa", "embed"])
def test_onnx_int8_block_quantizes_every_linear_and_stays_closer_than_int8_dynamic(tmp_path_factory, tiny_models, task):
    """int8-block: each weight MatMul becomes MatMulNBits (8 bits, blocks of 32); its answers are closer to fp32 than
    quantize_dynamic's per-tensor activations (why it exists); embedding tables stay fp32."""
    import onnx

    from pocketbert.convert.quantize import ONNX_BLOCK_SIZE
    from pocketbert.core.manifest import load_manifest

    model = tiny_models(MODELS[task], HEAD[task], layers=2)
    art = converted(tmp_path_factory, model, "onnx", task, "int8-block")
    m = load_manifest(art)
    assert m["parity"]["status"] == "passed" and m["precision"] == "int8-block"
    graph = onnx.load(str(art / m["model_file"])).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    weights = {i.name for i in graph.initializer}
    assert not [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]  # none left float
    # 2 layers x (q, k, v, attention out, FFN in, FFN out) + the head (qa: span head; embed: none)
    assert len(nbits) >= 2 * 6
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nbits[0].attribute}
    assert attrs["bits"] == 8 and attrs["block_size"] == ONNX_BLOCK_SIZE and attrs["accuracy_level"] == 4
    assert any(n.op_type == "Gather" for n in graph.node)  # embeddings looked up in fp32
    dynamic = load_manifest(converted(tmp_path_factory, model, "onnx", task, "int8-dynamic"))
    for name, st in m["parity"]["outputs"].items():
        assert 0 < st["max_abs"] < dynamic["parity"]["outputs"][name]["max_abs"], (name, st, dynamic["parity"])
