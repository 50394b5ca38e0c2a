"""PyTorch -> ExecuTorch `.pte` (torch.export + XNNPACK or Core ML delegate): one method `seq_<S>` per static length,
one file. The format's export module (registry.FORMATS["executorch"].export); its backend is
pocketbert/core/executorch_backend.py.

Why ExecuTorch: it is PyTorch's own on-device runtime, and the same `.pte` runs on iOS and Android, so the bench can
set it beside LiteRT, Core ML and ONNX Runtime for the same model (issue 15).

Shape of the artifact: the task wrapper (convert/wrappers.py, the graph every other format converts: int32 inputs,
a precomputed additive mask, named outputs) is exported once per length with `torch.export`, all programs are
lowered together by `to_edge_transform_and_lower` with the XNNPACK partitioner, and serialized into ONE `.pte`
whose methods are named `seq_<S>` like the LiteRT signatures, plus three constant methods `input_names`,
`output_names` and `delegate` (tensors in a .pte are unnamed; these make the file describe itself). The delegate
stores weights as named data keyed by content, so the methods share one copy of them (a second length costs
kilobytes, measured on a tiny BERT with XNNPACK: 4.08 MB for one method, 4.11 MB for two).

int8: the XNNPACK quantizer through torchao's PT2E flow (prepare_pt2e -> calibrate -> convert_pt2e), dynamic and
per-channel: int8 weights per output channel, activations quantized at run time. That is ExecuTorch's own recipe
for BERT-like models (its mobilebert and ViT examples) and the same scheme as the LiteRT / ONNX `int8-dynamic`
artifacts, so the three runtimes are compared on like terms. Embedding tables stay float32 (the XNNPACK quantizer
annotates linear/matmul, not gathers), so embedding-heavy models shrink less than their encoder does.

`--delegate coreml` lowers to ExecuTorch's Core ML delegate instead (it exports on Linux: coremltools 9.0 builds
the ML program; compute precision float32 for `fp32`, iOS 16 target like `convert ios`). Only macOS can run it,
so on Linux the parity gate checks the .pte's spec instead (`check_pte_spec`, status `spec-only`), as it does for
`.mlpackage` files (`check_spec` below, which convert/parity.py finds by name).

executorch, torchao and torch are imported inside the functions: `pocketbert --help` and machines without the
`pocketbert[executorch]` extra never load them, and `check_args` (run by convert/api.check_args before any model
load) says in one line that the extra is missing.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

from pocketbert.convert.specs import signature_name
from pocketbert.core.errors import PocketbertError
from pocketbert.core.executorch_backend import (
    DELEGATE_METHOD,
    DELEGATES,  # `--delegate`: XNNPACK (CPU, every phone; runs here) or Core ML (Apple only; run on macOS / iOS)
    NAME_METHODS,
    SCALAR_TYPES,
    constant_strings,
    load_program,
    manifest_delegate,
    require_executorch,
)
from pocketbert.core.parity_report import ParityReport

PTE_FILE = "model.pte"
# Core ML delegate deployment target: the same default as `convert ios` (convert/api.DEFAULT_MIN_IOS).
COREML_MIN_IOS = 16
# Tasks whose outputs have a sequence axis (axis 1; CONTRACTS.md §2): qa (1, S) x2, mlm (1, S, V).
PER_TOKEN_TASKS = ("qa", "mlm")
SPEC_ONLY_NOTE = ("the Core ML delegate cannot run on this OS: the .pte spec was checked (methods, input/output "
                  "names, dtypes, shapes, size); numeric parity needs macOS, where the executorch wheel links the "
                  "Core ML backend (run `pocketbert parity` there)")
# Real rows (from convert/parity_inputs.py) run through the prepared int8 model per length. Dynamic activation
# observers record nothing, but the PT2E flow is prepare -> run -> convert, and running real rows keeps it honest
# (a static scheme would need exactly this); a handful is enough and costs well under a second per length.
CALIBRATION_ROWS = 8
INT8_QUANTIZATION = {
    "scheme": "dynamic int8 (per-channel int8 weights, activations quantized at run time); embeddings float32",
    "tool": "executorch XNNPACKQuantizer + torchao prepare_pt2e/convert_pt2e",
    "config": "get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)",
}
# Loggers of torch.export / executorch that print per-pass chatter at WARNING on every export.
QUIET_LOGGERS = ("torch._export", "torch.export", "executorch", "torch.utils._pytree")


def check_args(precision: str, opts: dict) -> None:
    """Checks that need no model load (convert/api.check_args calls this hook): the delegate/precision pair exists
    and the optional extra is installed."""
    delegate = opts.get("delegate") or DELEGATES[0]
    if delegate not in DELEGATES:
        raise PocketbertError(f"--delegate {delegate!r}; choose one of {', '.join(DELEGATES)}")
    if delegate == "coreml" and precision != "fp32":
        raise PocketbertError(f"--precision {precision} is XNNPACK's int8 quantizer; with --delegate coreml use fp32 "
                              "(or `pocketbert convert ios` for Core ML weight compression)")
    require_executorch()


@contextlib.contextmanager
def quiet_export():
    """torch.export and the ExecuTorch passes warn about internals (deprecated pytree registrations, experimental
    APIs) on every call; keep the CLI's status line readable. Real failures still raise."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _calibration_rows(source, tokenizer, seq_len: int) -> list[tuple]:
    """CALIBRATION_ROWS real windows at `seq_len` as the wrapper's positional int32 args, each (1, S)."""
    import torch

    from pocketbert.convert.parity_inputs import build_batch

    batch = build_batch(tokenizer, source.task, source.inputs, seq_len, n=CALIBRATION_ROWS)
    rows = min(CALIBRATION_ROWS, batch.n_rows)
    return [tuple(torch.from_numpy(batch.feeds[k][i:i + 1]) for k in source.inputs) for i in range(rows)]  # (1, S)


def _quantize_int8(exported, args: tuple, calibration: list[tuple]):
    """An exported fp32 program -> a re-exported program with XNNPACK dynamic int8 quantize/dequantize nodes."""
    import torch
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    prepared = prepare_pt2e(exported.module(), quantizer)
    for row in calibration:
        prepared(*row)
    converted = convert_pt2e(prepared)
    return torch.export.export(converted, args, strict=False)


def _partitioner(delegate: str):
    """The partitioner that lowers supported subgraphs to `delegate` (the rest runs on ExecuTorch's portable ops)."""
    if delegate == "xnnpack":
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        return XnnpackPartitioner()
    from executorch.backends.apple.coreml.compiler import CoreMLBackend
    from executorch.backends.apple.coreml.partition import CoreMLPartitioner

    from pocketbert.core.runtime import import_coremltools  # coremltools 9.0 comes with the extra on Linux / macOS

    ct = import_coremltools()
    specs = CoreMLBackend.generate_compile_specs(
        compute_unit=ct.ComputeUnit.ALL, minimum_deployment_target=getattr(ct.target, f"iOS{COREML_MIN_IOS}"),
        compute_precision=ct.precision.FLOAT32)  # `fp32` means fp32 (the delegate's default is float16)
    return CoreMLPartitioner(compile_specs=specs)


def export(source, tokenizer, seq_lens: list[int], precision: str, out_dir: Path, calibration,
           opts: dict) -> tuple[str, list[dict], dict]:
    """The format's entry: write `out_dir/model.pte` with one `--delegate`-lowered method per length; returns
    (model_file, signatures, quantization). The quantization block always names the delegate (readers of the
    manifest need it to know whether this host can run the file). `calibration` is unused: int8 is dynamic."""
    delegate = opts.get("delegate") or DELEGATES[0]
    check_args(precision, opts)
    import torch
    from executorch.exir import to_edge_transform_and_lower

    from pocketbert.convert.wrappers import TaskWrapper, sample_inputs

    wrapper = TaskWrapper(source).eval()
    programs = {}
    with quiet_export(), torch.no_grad():
        for seq_len in sorted(seq_lens):
            args = sample_inputs(source, seq_len)  # (1, S) int32 each
            # strict=False: trace through the Hugging Face module as Python runs it (the recommended mode for
            # models with config-driven control flow); shapes are static by design, so no dynamic_shapes.
            exported = torch.export.export(wrapper, args, strict=False)
            if precision == "int8":
                exported = _quantize_int8(exported, args, _calibration_rows(source, tokenizer, seq_len))
            programs[signature_name(seq_len)] = exported
        # Constant methods name the unnamed tensors and the delegate (read back by core.executorch_backend, and by
        # apps).
        constants = dict(zip(NAME_METHODS, (list(source.inputs), list(source.outputs))))
        constants[DELEGATE_METHOD] = delegate
        edge = to_edge_transform_and_lower(programs, partitioner=[_partitioner(delegate)], constant_methods=constants)
        program = edge.to_executorch()
    path = Path(out_dir) / PTE_FILE
    path.write_bytes(program.buffer)
    sigs = [{"name": signature_name(s), "seq_len": s, "file": PTE_FILE} for s in sorted(seq_lens)]
    qinfo = {"delegate": delegate}
    if precision == "int8":
        qinfo.update(INT8_QUANTIZATION, calibration_rows_per_length=CALIBRATION_ROWS)
    if delegate == "coreml":
        qinfo.update(compute_precision="float32", minimum_deployment_target=f"iOS{COREML_MIN_IOS}")
    return PTE_FILE, sigs, qinfo


def check_spec(artifact_dir: Path, manifest: dict) -> ParityReport:
    """Parity where the .pte's delegate cannot run (Core ML off macOS): what the file promises, checked without
    running it: one `seq_<S>` method per manifest length, the name methods, int32 (1, S) inputs, float32 outputs
    of the manifest's shapes, the delegate, and the size."""
    import numpy as np

    from pocketbert.core.manifest import artifact_size

    require_executorch()  # a missing extra is one line, not a failed check

    report = ParityReport(status="spec-only", runtime="executorch-spec", n=0, note=SPEC_ONLY_NOTE,
                          thresholds={"checks": "methods, names, int32 inputs, float32 outputs, shapes, size"})
    path = Path(artifact_dir) / manifest["model_file"]
    checks = report.checks
    try:
        program = load_program(path)
    except PocketbertError as exc:
        checks.append(("load .pte", False, str(exc)[:120]))
        report.status = "failed"
        return report
    in_names, out_names = (constant_strings(program, m) or [] for m in NAME_METHODS)
    want_in, want_out = [t["name"] for t in manifest["inputs"]], [t["name"] for t in manifest["outputs"]]
    checks.append(("input names", in_names == want_in, ", ".join(map(str, in_names)) or "none"))
    checks.append(("output names", out_names == want_out, ", ".join(map(str, out_names)) or "none"))
    got = constant_strings(program, DELEGATE_METHOD) or ["none"]
    checks.append(("delegate", got == [manifest_delegate(manifest)], str(got[0])))
    for seq_len in manifest["seq_lens"]:
        name = signature_name(seq_len)
        if name not in program.method_names:
            checks.append((f"method {name}", False, "missing"))
            continue
        meta = program.metadata(name)
        ins = [meta.input_tensor_meta(i) for i in range(meta.num_inputs())]
        outs = [meta.output_tensor_meta(i) for i in range(meta.num_outputs())]
        ok_in = len(ins) == len(want_in) and all(
            SCALAR_TYPES.get(int(t.dtype())) is np.int32 and list(t.sizes()) == [1, seq_len] for t in ins)
        # manifest output shapes are given at the largest length; per-token outputs (qa, mlm: axis 1) scale with S
        want_shapes = [[1, seq_len, *t["shape"][2:]] if manifest["task"] in PER_TOKEN_TASKS else t["shape"]
                       for t in manifest["outputs"]]
        ok_out = len(outs) == len(want_out) and all(
            SCALAR_TYPES.get(int(t.dtype())) is np.float32 and list(t.sizes()) == w for t, w in zip(outs, want_shapes))
        checks.append((f"method {name} inputs", ok_in, ", ".join(str(list(t.sizes())) for t in ins)))
        checks.append((f"method {name} outputs", ok_out, ", ".join(str(list(t.sizes())) for t in outs)))
    size = artifact_size(path)
    checks.append(("size", size == manifest["file_size_bytes"], f"{size / 1e6:.2f} MB"))
    if not all(ok for _, ok, _ in checks):
        report.status = "failed"
    return report
