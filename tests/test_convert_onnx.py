"""`pocketbert convert onnx`: the host reference artifact, fp32 and dynamic int8, with parity numbers."""
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
