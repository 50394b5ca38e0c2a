"""PyTorch -> .tflite through litert-torch (no TensorFlow): one signature `seq_<S>` per static length.

The signatures share one weight buffer, so several lengths cost little more than one; the app picks the
smallest S that fits its input.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from pocketbert.convert import quantize
from pocketbert.convert.parity_inputs import build_batch
from pocketbert.convert.specs import signature_name
from pocketbert.convert.wrappers import NamedOutputs, SourceModel, TaskWrapper, sample_inputs

MODEL_FILE = "model.tflite"


@contextlib.contextmanager
def quiet_converter():
    """litert-torch and absl print per-pass progress to stdout/stderr; keep the CLI's own progress readable."""
    absl = logging.getLogger("absl")
    old = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        absl.setLevel(old)


def export_tflite(source: SourceModel, seq_lens: list[int], path: Path) -> Path:
    """Write a float32 .tflite with inputs named like the HF model (int32) and named float32 outputs."""
    import litert_torch

    module = NamedOutputs(TaskWrapper(source)).eval()
    converter = litert_torch.Converter()
    for seq_len in sorted(seq_lens):
        # sample_kwargs (not args) so the signature inputs are named input_ids/attention_mask/..., not args_0
        kwargs = dict(zip(source.inputs, sample_inputs(source, seq_len)))
        converter.signature(signature_name(seq_len), module, sample_kwargs=kwargs)
    with quiet_converter():
        edge = converter.convert()
        edge.export(str(path))
    return Path(path)


def export(source: SourceModel, tokenizer, seq_lens: list[int], precision: str, out_dir: Path, calibration,
           opts: dict) -> tuple[str, list[dict], dict | None]:
    """The format's entry (registry.FORMATS["tflite"].export): float export, then the precision's quantization
    (int8-full calibrates on real inputs of each length); returns (model_file, signatures, quantization)."""
    if precision == "fp32":
        export_tflite(source, seq_lens, out_dir / MODEL_FILE)
        qinfo = None
    else:
        float_path = export_tflite(source, seq_lens, out_dir / ".float.tflite")
        calib = None
        if precision == "int8-full":
            calib = {}
            for s in seq_lens:
                batch = build_batch(tokenizer, source.task, source.inputs, s, data=calibration,
                                    n=quantize.CALIBRATION_EXAMPLES)
                calib[signature_name(s)] = [{k: v[i:i + 1] for k, v in batch.feeds.items()}
                                            for i in range(batch.n_rows)]
        qinfo = quantize.quantize_tflite(float_path, precision, out_dir / MODEL_FILE, calib)
        float_path.unlink()
    sigs = [{"name": signature_name(s), "seq_len": s, "file": MODEL_FILE} for s in sorted(seq_lens)]
    return MODEL_FILE, sigs, qinfo
