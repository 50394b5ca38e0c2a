"""Load a model in one runtime and return a callable that runs one batch, plus the runtime's name and version.

Runs inside the worker process only, so each runtime's memory is measured alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pocketbert.core.errors import PocketbertError

FEATURE_KEYS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class Loaded:
    run: Callable[[], object]
    runtime: str
    version: str | None
    delegate: str | None


def _match_inputs(names: list[str], features: dict[str, list[int]]) -> dict[str, str]:
    """Runtime input name -> feature key: by substring (litert/onnx may prefix names), else by position."""
    mapping = {}
    for name in names:
        key = next((k for k in FEATURE_KEYS if k in name), None)
        mapping[name] = key
    if any(v is None for v in mapping.values()):
        mapping = dict(zip(names, FEATURE_KEYS))
    if len(names) > len(FEATURE_KEYS):
        raise PocketbertError(f"the model expects {len(names)} inputs ({', '.join(names)}); pocketbert feeds at most 3")
    return mapping


def _feed(names, dtypes, features) -> dict[str, np.ndarray]:
    mapping = _match_inputs(list(names), features)
    return {n: np.asarray([features[mapping[n]]], dtype=dtypes[n]) for n in names}  # (1, seq)


def load_tflite(path: str, signature: str | None, threads: int, features) -> Loaded:
    """LiteRT interpreter (XNNPACK applied by default) and one signature runner."""
    from ai_edge_litert.interpreter import Interpreter

    from pocketbert.bench.device_info import package_version

    interp = Interpreter(model_path=path, num_threads=threads)
    sigs = interp.get_signature_list()
    if signature not in sigs:
        if signature is None and len(sigs) == 1:
            signature = next(iter(sigs))
        else:
            raise PocketbertError(f"{path} has no signature {signature}; it has {', '.join(sigs) or 'none'}")
    runner = interp.get_signature_runner(signature)
    details = runner.get_input_details()
    feeds = _feed(list(details), {n: d["dtype"] for n, d in details.items()}, features)
    return Loaded(lambda: runner(**feeds), "litert", package_version("ai-edge-litert"), "xnnpack")


def load_onnx(path: str, threads: int, features) -> Loaded:
    """onnxruntime CPU session with intra-op threads fixed (inter-op 1: one graph, batch 1)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    onnx_types = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}
    inputs = sess.get_inputs()
    feeds = _feed([i.name for i in inputs], {i.name: onnx_types.get(i.type, np.int64) for i in inputs}, features)
    return Loaded(lambda: sess.run(None, feeds), "onnxruntime", ort.__version__, "cpu")


def load_pytorch(path: str, task: str, threads: int, features) -> Loaded:
    """PyTorch eager, fp32, the baseline a converted model is compared with."""
    import torch
    import transformers

    torch.set_num_threads(threads)
    head = {"qa": "AutoModelForQuestionAnswering", "cls": "AutoModelForSequenceClassification",
            "mlm": "AutoModelForMaskedLM"}.get(task, "AutoModel")
    model = getattr(transformers, head).from_pretrained(path).eval()
    import inspect

    accepted = set(inspect.signature(model.forward).parameters)
    feeds = {k: torch.tensor([v], dtype=torch.long) for k, v in features.items() if k in accepted}  # (1, seq)

    def run():
        with torch.inference_mode():
            return model(**feeds)

    return Loaded(run, "pytorch", torch.__version__, None)


def load_coreml(path: str, features) -> Loaded:  # pragma: no cover - macOS only
    """Core ML prediction (macOS only; elsewhere the host bench skips Core ML artifacts with a message)."""
    import coremltools as ct

    model = ct.models.MLModel(path)
    names = [i.name for i in model.get_spec().description.input]
    feeds = _feed(names, {n: np.int32 for n in names}, features)
    return Loaded(lambda: model.predict(feeds), "coreml", ct.__version__, None)
