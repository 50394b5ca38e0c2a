"""PyTorch -> Core ML ML program (.mlpackage) via torch.jit.trace + coremltools, with enumerated shapes.

Several --seq-len become EnumeratedShapes (the Neural Engine can run each; a RangeDim would push Core ML to
the GPU/CPU) from iOS 18; below iOS 18 coremltools allows enumerated shapes on one input only, so each length
gets its own `model_seq_<S>.mlpackage` (`coreml_layout`) and the app loads the smallest that fits.
Compute is fp16 unless --precision fp32; int8 / palettization compress weights afterwards.
coremltools 9.0 is tested up to torch 2.7; the one incompatibility we hit with torch 2.14 (a 1-element array
given to `int()`) is patched only while converting (`scalar_cast_patch`).
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path

import numpy as np

from pocketbert.convert.coreml_spec import check_coreml_spec as check_spec  # noqa: F401  (off macOS, see below)
from pocketbert.convert.specs import signature_name
from pocketbert.core.errors import PocketbertError
from pocketbert.core.runtime import coreml_compute_unit, import_coremltools  # noqa: F401  (re-exported)

DEFAULT_MIN_IOS = 16

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


# Below iOS 18 an ML program may have only one input with EnumeratedShapes (coremltools rule).
COREML_MULTI_SHAPE_MIN_IOS = 18
SINGLE_PACKAGE = "model.mlpackage"


def coreml_file_name(seq_len: int) -> str:
    return f"model_seq_{seq_len}.mlpackage"


def coreml_layout(seq_lens: list[int], min_ios: int) -> dict[str, list[int]]:
    """{package file: its sequence lengths}: one package with enumerated shapes when the target allows it
    (one length, or iOS >= 18), else one static-shape package per length (iOS 16/17 apps still get buckets)."""
    seq_lens = sorted(seq_lens)
    if len(seq_lens) == 1 or min_ios >= COREML_MULTI_SHAPE_MIN_IOS:
        return {SINGLE_PACKAGE: seq_lens}
    return {coreml_file_name(s): [s] for s in seq_lens}


def export_coreml(source, seq_lens: list[int], precision: str, path: Path, compute_units: str = "all",
                  min_ios: int = 16) -> dict | None:
    """Convert, compress (int8/palettize), fill metadata, save one .mlpackage holding every length in `seq_lens`
    (enumerated shapes when several); returns the quantization info. `coreml_layout` decides the files."""
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
    units = coreml_compute_unit(ct, compute_units)
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


def export(source, tokenizer, seq_lens: list[int], precision: str, out_dir: Path, calibration,
           opts: dict) -> tuple[str, list[dict], dict | None]:
    """The format's entry (registry.FORMATS["coreml"].export): one package, or one per length below iOS 18;
    the quantization block records the compute units and deployment target the apps load it with.

    Where Core ML cannot predict (Linux), parity checks the spec instead: `check_spec` above is that check.
    """
    min_ios = int(opts.get("min_ios", DEFAULT_MIN_IOS))
    units = opts.get("compute_units", "all")
    sigs, qinfo = [], None
    for file, lens in coreml_layout(seq_lens, min_ios).items():
        qinfo = export_coreml(source, lens, precision, out_dir / file, compute_units=units, min_ios=min_ios)
        sigs += [{"name": signature_name(s), "seq_len": s, "file": file} for s in lens]
    qinfo = {**(qinfo or {}), "compute_units": units, "minimum_deployment_target": f"iOS{min_ios}"}
    return sigs[-1]["file"], sigs, qinfo
