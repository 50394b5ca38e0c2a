"""PyTorch -> Core ML ML program (.mlpackage) via torch.jit.trace + coremltools, with enumerated shapes.

Several --seq-len become EnumeratedShapes (the Neural Engine can run each; a RangeDim would push Core ML to
the GPU/CPU). Compute is fp16 unless --precision fp32; int8 / palettization compress weights afterwards.
coremltools 9.0 is tested up to torch 2.7; the one incompatibility we hit with torch 2.14 (a 1-element array
given to `int()`) is patched only while converting (`scalar_cast_patch`).
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import numpy as np

from pocketbert.core.errors import PocketbertError

AUTHOR = "pocketbert"
LICENSE_NOTE = "Same license as the source model"
INPUT_DESCRIPTIONS = {
    "input_ids": "WordPiece ids (int32), [CLS] ... [SEP] padded with [PAD]=0 to the static length",
    "attention_mask": "1 for real tokens, 0 for padding (int32)",
    "token_type_ids": "0 for [CLS] question [SEP], 1 for the context and its [SEP], 0 for padding (int32)",
}
OUTPUT_DESCRIPTIONS = {
    "start_logits": "Answer start score per position (mask non-context positions before softmax)",
    "end_logits": "Answer end score per position (mask non-context positions before softmax)",
    "logits": "Unnormalised class scores (cls) or vocabulary scores per position (mlm)",
    "embeddings": "Sentence embedding: mean over attention_mask, L2-normalised",
}


@contextlib.contextmanager
def scalar_cast_patch():
    """Treat size-1 constant arrays as scalars in coremltools' torch `_cast` (aten::Int / aten::Bool).

    torch >= 2.8 traces produce `int(tensor([n]))`; coremltools 9.0 calls `int(x.val)` on the (1,) array,
    which numpy 2 refuses ("only 0-dimensional arrays can be converted to Python scalars").
    """
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.frontend.torch import ops

    original = ops._cast

    def patched(context, node, dtype, dtype_name):
        x = ops._get_inputs(context, node, expected=1)[0]
        if x.can_be_folded_to_const() and isinstance(x.val, np.ndarray) and x.val.size == 1:
            context.add(mb.const(val=dtype(x.val.item()), name=node.name), node.name)
            return
        original(context, node, dtype, dtype_name)

    ops._cast = patched
    try:
        yield
    finally:
        ops._cast = original


def _trace(source, seq_len: int):
    import torch

    from pocketbert.convert.wrappers import TaskWrapper, sample_inputs

    wrapper = TaskWrapper(source).eval()
    args = sample_inputs(source, seq_len)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(wrapper, args, strict=False)


# coremltools logs "Failed to load _MLModelProxy" at import on Linux, where prediction is unavailable by design.
COREML_IMPORT_LOGGER = "coremltools"


def import_coremltools():
    """Import coremltools without its Linux-only import warnings (real conversion warnings still show)."""
    logger = logging.getLogger(COREML_IMPORT_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import coremltools
    finally:
        logger.setLevel(level)
    return coremltools


def export_coreml(source, seq_lens: list[int], precision: str, path: Path, compute_units: str = "all",
                  min_ios: int = 16) -> dict | None:
    """Convert, compress (int8/palettize), fill metadata, save .mlpackage; returns the quantization info."""
    ct = import_coremltools()

    from pocketbert import __version__
    from pocketbert.convert.quantize import quantize_coreml

    seq_lens = sorted(seq_lens)
    smax = seq_lens[-1]
    if len(seq_lens) > 1:
        shape = ct.EnumeratedShapes(shapes=[(1, s) for s in seq_lens], default=(1, smax))
    else:
        shape = (1, smax)
    inputs = [ct.TensorType(name=n, shape=shape, dtype=np.int32) for n in source.inputs]
    # float32 outputs even with fp16 compute: the manifest and both apps read float32 (Core ML adds one cast)
    outputs = [ct.TensorType(name=n, dtype=np.float32) for n in source.outputs]
    target = getattr(ct.target, f"iOS{min_ios}", None)
    if target is None:
        raise PocketbertError(f"--min-ios {min_ios} is not a deployment target coremltools {ct.__version__} knows")
    units = {"all": ct.ComputeUnit.ALL, "cpu_and_ne": ct.ComputeUnit.CPU_AND_NE,
             "cpu_and_gpu": ct.ComputeUnit.CPU_AND_GPU, "cpu_only": ct.ComputeUnit.CPU_ONLY}[compute_units]
    traced = _trace(source, smax)
    ct_logger = logging.getLogger("coremltools")
    old_level = ct_logger.level
    ct_logger.setLevel(logging.ERROR)
    try:
        with scalar_cast_patch(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlmodel = ct.convert(
                traced, inputs=inputs, outputs=outputs, convert_to="mlprogram",
                compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16,
                minimum_deployment_target=target, compute_units=units, skip_model_load=True,
            )
            info = None
            if precision in ("int8", "palettize4", "palettize6"):
                mlmodel, info = quantize_coreml(mlmodel, precision)
                check_quantized_weights(mlmodel)
            elif precision == "fp16":
                info = {"scheme": "float16 weights and compute", "tool": "coremltools compute_precision=FLOAT16"}
    finally:
        ct_logger.setLevel(old_level)
    mlmodel.author = AUTHOR
    mlmodel.license = LICENSE_NOTE
    mlmodel.short_description = (f"{source.architecture} ({source.task}) converted by pocketbert {__version__} "
                                 f"from {source.name}; precision {precision}; seq lens {', '.join(map(str, seq_lens))}")
    mlmodel.version = __version__
    mlmodel.user_defined_metadata.update({
        "source_model": str(source.name), "pocketbert_version": __version__, "task": source.task,
        "precision": precision, "seq_lens": ",".join(map(str, seq_lens)), "model_type": source.model_type,
    })
    for n in source.inputs:
        mlmodel.input_description[n] = INPUT_DESCRIPTIONS[n]
    for n in source.outputs:
        mlmodel.output_description[n] = OUTPUT_DESCRIPTIONS[n]
    mlmodel.save(str(path))
    return info


def check_quantized_weights(mlmodel) -> None:
    """DESIGN.md saw "invalid value encountered in cast" from linear_quantize_weights: refuse NaN/inf weights."""
    prog = getattr(mlmodel, "_mil_program", None)
    if prog is None:
        return
    for func in prog.functions.values():
        for op in func.operations:
            if not op.op_type.startswith("constexpr_"):
                continue
            for name, var in op.inputs.items():
                val = getattr(var, "val", None)
                if isinstance(val, np.ndarray) and val.dtype.kind == "f" and not np.all(np.isfinite(val)):
                    raise PocketbertError(
                        f"quantized Core ML weights of {op.name} ({name}) contain NaN/inf; use another --precision"
                    )
