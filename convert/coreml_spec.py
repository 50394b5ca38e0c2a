"""Core ML parity where Core ML cannot run (Linux): check the saved spec instead of the numbers.

What a Linux box can still prove about an .mlpackage: the input/output names, int32 inputs with the
promised static or enumerated shapes, an ML program whose compressed weights really are compressed
(constexpr dequantize / LUT ops present) and finite, and the size. Numeric parity needs macOS
(`MLModel.predict`), and the report says so with status `spec-only`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pocketbert.core.parity_report import ParityReport

# MIL ops that hold compressed weights and expand them at load time, per precision.
QUANTIZED_OPS = {
    "int8": ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"),
    "palettize4": ("constexpr_lut_to_dense",),
    "palettize6": ("constexpr_lut_to_dense",),
}
WEIGHTS_SUBDIR = Path("Data") / "com.apple.CoreML" / "weights"
SPEC_ONLY_NOTE = ("Core ML cannot run on this OS: the spec was checked (names, dtypes, shapes, compressed weights, "
                  "size); numeric parity needs macOS (run `pocketbert parity` there)")


def _shapes(feature) -> list[tuple[int, ...]]:
    arr = feature.type.multiArrayType
    which = arr.WhichOneof("ShapeFlexibility")
    if which == "enumeratedShapes":
        return [tuple(s.shape) for s in arr.enumeratedShapes.shapes]
    return [tuple(arr.shape)]


def load_program(package: Path):
    """The PyMIL program of a saved .mlpackage (weights read from its blob file), or None if unreadable."""
    from pocketbert.core.runtime import import_coremltools

    ct = import_coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as milproto_load

    spec = ct.utils.load_spec(str(package))
    return spec, milproto_load(spec, spec.specificationVersion, file_weights_dir=str(package / WEIGHTS_SUBDIR))


def op_types(spec) -> list[str]:
    ops = []
    for func in spec.mlProgram.functions.values():
        for block in func.block_specializations.values():
            ops += [op.type for op in block.operations]
    return ops


def check_coreml_spec(artifact_dir: Path, manifest: dict) -> ParityReport:
    """Spec checks of every package the manifest's signatures name (one, or one per length below iOS 18)."""
    from pocketbert.core.manifest import artifact_size

    report = ParityReport(status="spec-only", runtime="coreml-spec", n=0, note=SPEC_ONLY_NOTE,
                          thresholds={"checks": "names, int32 inputs, shapes, compressed weights, size"})
    lens_by_file: dict[str, list[int]] = {}
    for sig in manifest["signatures"]:
        lens_by_file.setdefault(sig["file"], []).append(sig["seq_len"])
    for file, lens in lens_by_file.items():
        prefix = f"{file}: " if len(lens_by_file) > 1 else ""
        _check_package(Path(artifact_dir) / file, manifest, sorted((1, s) for s in lens), prefix, report.checks)
    package = Path(artifact_dir) / manifest["model_file"]
    if package.exists():
        size = artifact_size(package)
        report.checks.append(("size", size == manifest["file_size_bytes"], f"{size / 1e6:.2f} MB"))
    if not all(ok for _, ok, _ in report.checks):
        report.status = "failed"
    return report


def _check_package(package: Path, manifest: dict, want_shapes: list[tuple[int, int]], prefix: str,
                   checks: list) -> None:
    from coremltools.proto import FeatureTypes_pb2

    try:
        spec, program = load_program(package)
    except Exception as exc:  # protobuf / file errors from a truncated package
        checks.append((f"{prefix}load .mlpackage", False,
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"))
        return
    checks.append((f"{prefix}ML program", spec.WhichOneof("Type") == "mlProgram", spec.WhichOneof("Type") or "none"))

    want_in = [t["name"] for t in manifest["inputs"]]
    got_in = [f.name for f in spec.description.input]
    checks.append((f"{prefix}input names", got_in == want_in, ", ".join(got_in)))
    for f in spec.description.input:
        is_int32 = f.type.multiArrayType.dataType == FeatureTypes_pb2.ArrayFeatureType.INT32
        checks.append((f"{prefix}{f.name} dtype", is_int32, "int32" if is_int32 else str(f.type.multiArrayType.dataType)))
        shapes = sorted(_shapes(f))
        checks.append((f"{prefix}{f.name} shapes", shapes == want_shapes, ", ".join(map(str, shapes))))
    want_out = [t["name"] for t in manifest["outputs"]]
    got_out = [f.name for f in spec.description.output]
    checks.append((f"{prefix}output names", got_out == want_out, ", ".join(got_out)))
    for f in spec.description.output:
        is_f32 = f.type.multiArrayType.dataType == FeatureTypes_pb2.ArrayFeatureType.FLOAT32
        checks.append((f"{prefix}{f.name} dtype", is_f32, "float32" if is_f32 else str(f.type.multiArrayType.dataType)))

    types = op_types(spec)
    wanted = QUANTIZED_OPS.get(manifest["precision"])
    if wanted:
        n_q = sum(t in wanted for t in types)
        checks.append((f"{prefix}weights compressed", n_q > 0, f"{n_q} {'/'.join(wanted)} ops"))
    bad = []
    for func in program.functions.values():
        for op in func.operations:
            if op.op_type.startswith("constexpr_") or op.op_type == "const":
                val = getattr(op.outputs[0], "val", None) if op.op_type == "const" else None
                arrays = [val] if val is not None else [getattr(v, "val", None) for v in op.inputs.values()]
                for arr in arrays:
                    if isinstance(arr, np.ndarray) and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                        bad.append(op.name)
    checks.append((f"{prefix}weights finite", not bad, "no NaN/inf" if not bad else f"NaN/inf in {', '.join(bad[:3])}"))
