"""PyTorch -> ONNX (torch.onnx, static shapes), one file per sequence length: the host reference runtime."""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

from pocketbert.convert import quantize
from pocketbert.convert.specs import signature_name

# Opset with LayerNormalization and the attention ops onnxruntime fuses; supported by every current ORT.
ONNX_OPSET = 17


def onnx_file_name(seq_len: int) -> str:
    return f"model_seq_{seq_len}.onnx"


def export_onnx(source, seq_len: int, path: Path) -> Path:
    """Trace the task wrapper at (1, seq_len) int32 inputs; outputs keep the contract names."""
    import torch

    from pocketbert.convert.wrappers import TaskWrapper, sample_inputs

    wrapper = TaskWrapper(source).eval()
    args = sample_inputs(source, seq_len)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.inference_mode():
        warnings.simplefilter("ignore")
        # dynamo=False: the TorchScript exporter is deterministic and needs no onnxscript rewrite passes for
        # these plain encoder graphs; shapes are static by design (no dynamic_axes).
        torch.onnx.export(
            wrapper, args, str(path), input_names=source.inputs, output_names=source.outputs,
            opset_version=ONNX_OPSET, dynamo=False, do_constant_folding=True,
        )
    return Path(path)


def export(source, tokenizer, seq_lens: list[int], precision: str, out_dir: Path, calibration,
           opts: dict) -> tuple[str, list[dict], dict | None]:
    """The format's entry (registry.FORMATS["onnx"].export): one static file per length, int8-dynamic through
    onnxruntime's quantize_dynamic, int8-block through its MatMulNBits quantizer; returns (model_file, signatures,
    quantization)."""
    sigs, qinfo = [], None
    for s in sorted(seq_lens):
        name = onnx_file_name(s)
        if precision == "fp32":
            export_onnx(source, s, out_dir / name)
        else:
            float_path = export_onnx(source, s, out_dir / f".float-{name}")
            quantize_file = quantize.quantize_onnx_blockwise if precision == "int8-block" else quantize.quantize_onnx
            qinfo = quantize_file(float_path, out_dir / name)
            float_path.unlink()
        sigs.append({"name": signature_name(s), "seq_len": s, "file": name})
    return sigs[-1]["file"], sigs, qinfo
