"""Quantization per runtime: ai-edge-quantizer recipes (LiteRT), onnxruntime dynamic / block-wise int8 (ONNX),
coremltools.optimize (Core ML). Each returns a description that goes into the manifest's `quantization`.

Quantization never runs unchecked: the caller re-runs parity on the quantized file.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np

from pocketbert.core.errors import PocketbertError

# Weight-only fp16 for LiteRT: weights stored as float16, dequantized to fp32 at load (compute stays fp32).
TFLITE_FP16_RECIPE = [{
    "regex": ".*",
    "operation": "*",
    "algorithm_key": "float_casting",
    "op_config": {
        "weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
        "compute_precision": "FLOAT",
        "explicit_dequantize": True,
        "skip_checks": False,
        "min_weight_elements": 0,
    },
}]
# int8-mixed: dynamic int8 everywhere except the feed-forward linears of every layer, kept fp32. Measured on the
# real SQuAD pair (README, `make qa-models`): dynamic int8 of every op changes the answer span of 4.7% (teacher) /
# 3.1% (student) of held-out windows, over the parity gate's 3%; keeping these float brings both to 1.6%, while
# keeping the FFN output alone (94.3%), its input alone (94.3% teacher), the span head (95.3%) or the attention
# output (96.4%) float does not. Since 2026-12-07 the other int8 ops are also rotated as in int8-hadamard (below): on
# the SQuAD pair (all 783 eval questions, AVX2 host) same span 98.2% for both models, F1 -0.22 / -0.05, where FFN-float
# alone kept 97.7% of the student's and its gate refused the teacher's (96.7%), and rotation alone kept 98.2% / 97.1%
# (README "SQuAD"; chosen on the reported articles, said there). Scope names are the torch module paths litert-torch
# writes into the tensor names.
TFLITE_FLOAT_FFN_REGEX = (r"(BertIntermediate_intermediate/torch\.nn\.modules\.linear\.Linear_dense"
                          r"|BertOutput_output/torch\.nn\.modules\.linear\.Linear_dense"
                          r"|FFN_ffn/torch\.nn\.modules\.linear\.Linear_lin[12])")
# int8-hadamard: dynamic int8 of every op, each weight matrix rotated by a block-diagonal Hadamard matrix (blocks of
# HADAMARD_BLOCK input channels) and the same rotation applied to its input at run time (ai-edge-quantizer's
# DECOMPOSED_HADAMARD_ROTATION: an extra fp32 FULLY_CONNECTED on each rotated input, standard ops, no custom op). Why:
# these models carry a few input channels 10-20x larger than the median (all-MiniLM-L6-v2's FFN inputs: max 28 vs
# median 1.7), so a per-row int8 scale flattens every other channel; the rotation spreads each outlier over its
# block. Bigger blocks spread further and cost more: on all-MiniLM-L6-v2 embed (`python benchmarks/bench_hadamard.py`,
# seq 128, 200 STS-B dev sentences, 1 thread, 5 interleaved rounds) 1 - cosine to fp32 1.9e-3 (int8-dynamic) -> 4.4e-4
# / 3.7e-4 / 3.4e-4 / 3.3e-4 at blocks of 16 / 32 / 64 / 128, for 1.17x / 1.24x / 1.36x / 1.51x int8-dynamic's latency.
# 32 keeps 98% of the error reduction for a sixth of the unlimited rotation's extra time. On trained QA models the
# block moves same-span agreement by about a point either way (2026-12-04, README "SQuAD": 128 kept more of the dev
# student's spans, 98.5% vs 97.0% over 607 dev questions, the dev teacher's alike; on the reported articles 128 moved
# the student up to 98.3%, the teacher down to 97.3%, its gate refused the student's file, and it ran ~1.25x slower),
# so 32 stays.
HADAMARD_BLOCK = 32
# ONNX int8-block: onnxruntime's MatMulNBits with 8-bit weights in blocks of this many input channels, one scale
# each, and accuracy level 4 (activations quantized to int8 per block of the same size at run time, int8 dot
# products). quantize_dynamic's one scale per activation tensor lets a few large-magnitude channels of these
# models flatten every other channel: on the SQuAD pair it changed 15% (teacher) / 11% (student) of the gate's answer
# spans; per-block scales keep those channels apart. Embedding tables (Gather) stay fp32: the quantizer's Gather
# path raises the model's opset past 17, where the embed head's ReduceL2 (axes as an attribute) is invalid, and one
# scheme serves every task.
ONNX_BLOCK_SIZE = 32
ONNX_INT8_ACCURACY_LEVEL = 4
# Calibration examples per signature for int8-full (activation ranges).
CALIBRATION_EXAMPLES = 32
# Core ML: palettization bits per precision name; int8 = per-channel linear weight quantization.
COREML_PALETTE_BITS = {"palettize4": 4, "palettize6": 6}
# Core ML: tensors with fewer elements stay float (biases, LayerNorm); coremltools' own default.
COREML_WEIGHT_THRESHOLD = 2048


def keeping_float(rcp: list, regex: str) -> list:
    """The ai-edge-quantizer recipe `rcp` with the ops whose scope matches `regex` left fp32 (the later, narrower
    entry wins for its scopes in ai-edge-quantizer's recipe manager)."""
    return rcp + [{"regex": regex, "operation": "*", "algorithm_key": "no_quantize"}]


def dynamic_int8_keeping_float(regex: str):
    """dynamic_wi8_afp32 with the ops whose scope matches `regex` left fp32."""
    from ai_edge_quantizer import recipe

    return keeping_float(recipe.dynamic_wi8_afp32(), regex)


def dynamic_int8_hadamard(block: int | None = None):
    """dynamic_wi8c_hr_afp32 with the rotation's blocks capped at `block` input channels (a power of two; default
    HADAMARD_BLOCK, read at call time like the manifest's description of it)."""
    from ai_edge_quantizer import recipe

    block = block or HADAMARD_BLOCK
    rcp = recipe.dynamic_wi8c_hr_afp32()
    for entry in rcp:  # the recipe manager moves unknown weight-config keys into the algorithm's params
        entry["op_config"]["weight_tensor_config"]["max_hadamard_size"] = block
    return rcp


def tflite_recipe(precision: str):
    from ai_edge_quantizer import recipe

    if precision == "fp16":
        return TFLITE_FP16_RECIPE, {"scheme": "weight-only float16", "tool": "ai-edge-quantizer", "recipe": "float_casting w16"}
    if precision == "int8-dynamic":
        return recipe.dynamic_wi8_afp32(), {"scheme": "dynamic-range int8 (int8 weights per channel, activations quantized at run time)",
                                            "tool": "ai-edge-quantizer", "recipe": "dynamic_wi8_afp32"}
    if precision == "int8-hadamard":
        return dynamic_int8_hadamard(), {
            "scheme": f"dynamic-range int8, weights and inputs rotated by Hadamard blocks of {HADAMARD_BLOCK}",
            "tool": "ai-edge-quantizer", "recipe": f"dynamic_wi8c_hr_afp32, max_hadamard_size {HADAMARD_BLOCK}"}
    if precision == "int8-mixed":
        return keeping_float(dynamic_int8_hadamard(), TFLITE_FLOAT_FFN_REGEX), {
            "scheme": (f"dynamic-range int8 except the feed-forward linears (fp32), the int8 weights and inputs rotated "
                       f"by Hadamard blocks of {HADAMARD_BLOCK}"), "tool": "ai-edge-quantizer",
            "recipe": f"dynamic_wi8c_hr_afp32, max_hadamard_size {HADAMARD_BLOCK} + no_quantize " + TFLITE_FLOAT_FFN_REGEX}
    if precision == "int8-weight":
        return recipe.weight_only_wi8_afp32(), {"scheme": "weight-only int8 (dequantized to fp32 for compute)",
                                                "tool": "ai-edge-quantizer", "recipe": "weight_only_wi8_afp32"}
    if precision == "int8-full":
        return recipe.static_wi8_ai16(), {"scheme": "static int8 weights, int16 activations (calibrated)",
                                         "tool": "ai-edge-quantizer", "recipe": "static_wi8_ai16"}
    raise PocketbertError(f"unknown LiteRT precision {precision!r}")


def quantize_tflite(float_path: Path, precision: str, out_path: Path, calibration: dict | None = None) -> dict:
    """Quantize a float .tflite with ai-edge-quantizer; `calibration` = {signature: [feed dicts]} for int8-full."""
    rcp, info = tflite_recipe(precision)
    examples = apply_tflite_recipe(float_path, rcp, out_path, calibration, what=f"--precision {precision}")
    if examples is not None:
        info["calibration_examples"] = examples
    return info


def apply_tflite_recipe(float_path: Path, rcp, out_path: Path, calibration: dict | None = None,
                        what: str = "this recipe") -> int | None:
    """Write `float_path` quantized by the ai-edge-quantizer recipe `rcp` to `out_path`; returns the number of
    calibration examples used (None: the recipe needs none)."""
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(str(float_path), rcp)
    calib_result = examples = None
    if q.need_calibration:
        if not calibration:
            raise PocketbertError(f"{what} needs calibration data; pass --calibration FILE")
        calib_result = q.calibrate(calibration)
        examples = sum(len(v) for v in calibration.values())
    # A weight row of zeros (a padding embedding) gets scale 0 and a 0/0 in the quantizer's OCTAV search; its
    # dequantized values are 0 whatever the division gave, so numpy's RuntimeWarning would only alarm the user.
    with np.errstate(invalid="ignore", divide="ignore"):
        result = q.quantize(calib_result, enable_progress_bar=False, enable_progress_report=False)
    result.export_model(str(out_path), overwrite=True)
    return examples


@contextlib.contextmanager
def _logger_at(name: str | None, level: int):
    """`name`'s logger (None: the root) at `level` for the block, then back to what it was."""
    log = logging.getLogger(name)
    old = log.level
    log.setLevel(level)
    try:
        yield
    finally:
        log.setLevel(old)


def quantize_onnx(float_path: Path, out_path: Path) -> dict:
    """Dynamic int8 (weights int8 per channel, activations quantized on the fly): onnxruntime's CPU-friendly mode."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _logger_at(None, logging.ERROR):  # ORT's "consider pre-processing" warning goes to the root logger
        quantize_dynamic(str(float_path), str(out_path), weight_type=QuantType.QInt8, per_channel=True)
    return {"scheme": "dynamic int8 (per-channel int8 weights)", "tool": "onnxruntime.quantization.quantize_dynamic"}


def quantize_onnx_blockwise(float_path: Path, out_path: Path) -> dict:
    """int8 weights per block of ONNX_BLOCK_SIZE input channels, activations int8 per block at run time (MatMulNBits)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    # one INFO line per node it skips
    with _logger_at("onnxruntime.quantization.matmul_nbits_quantizer", logging.WARNING):
        config = DefaultWeightOnlyQuantConfig(block_size=ONNX_BLOCK_SIZE, is_symmetric=True, bits=8,
                                              accuracy_level=ONNX_INT8_ACCURACY_LEVEL)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(float_path)), bits=8, block_size=ONNX_BLOCK_SIZE,
                                         is_symmetric=True, accuracy_level=ONNX_INT8_ACCURACY_LEVEL, algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(str(out_path), use_external_data_format=False)
    return {"scheme": f"block-wise int8 (int8 weights and activations, one scale per {ONNX_BLOCK_SIZE} input channels; "
                      "embeddings fp32)", "tool": "onnxruntime.quantization.matmul_nbits_quantizer",
            "op": f"com.microsoft.MatMulNBits bits=8 block_size={ONNX_BLOCK_SIZE} "
                  f"accuracy_level={ONNX_INT8_ACCURACY_LEVEL}"}


def quantize_coreml(mlmodel, precision: str):
    """Weight compression of an ML program through coremltools.optimize.coreml; returns (model, info)."""
    import coremltools.optimize.coreml as cto

    if precision == "int8":
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                         weight_threshold=COREML_WEIGHT_THRESHOLD)
        config = cto.OptimizationConfig(global_config=op)
        model = cto.linear_quantize_weights(mlmodel, config=config)
        info = {"scheme": "int8 linear symmetric per-channel weights", "tool": "coremltools.optimize.coreml.linear_quantize_weights"}
    elif precision in COREML_PALETTE_BITS:
        bits = COREML_PALETTE_BITS[precision]
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=bits, granularity="per_tensor",
                                    weight_threshold=COREML_WEIGHT_THRESHOLD)
        config = cto.OptimizationConfig(global_config=op)
        model = cto.palettize_weights(mlmodel, config=config)
        info = {"scheme": f"{bits}-bit k-means palettized weights (LUT)", "tool": "coremltools.optimize.coreml.palettize_weights"}
    else:
        raise PocketbertError(f"unknown Core ML precision {precision!r}")
    return model, info


def finite_or_raise(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise PocketbertError(f"{what} contains NaN/inf after quantization; try another precision")
