"""Click commands of this stage; the root CLI (pocketbert/cli.py) registers `COMMANDS` in this order.

`pocketbert convert android|ios|onnx|executorch` (and `convert <format>` for any other registered format) and
`pocketbert parity`. Heavy imports happen inside the commands.
"""
from __future__ import annotations

import click

from pocketbert.convert.specs import TASKS
from pocketbert.core import registry
from pocketbert.core.executorch_backend import DELEGATES as EXECUTORCH_DELEGATES  # light: executorch loads lazily
from pocketbert.core.registry import PARITY_SAMPLES as DEFAULT_N
from pocketbert.core.runtime import COREML_COMPUTE_UNITS

DEFAULT_SEQ_LEN = 384


def _common(fmt: str, default_precision: str):
    """Options every `convert` subcommand shares (model, task, lengths, precision, output, parity data)."""

    def deco(fn):
        options = [
            click.option("--model", "-m", required=True, help="Model dir, hub id, or `minilm` (the packaged teacher)."),
            click.option("--task", "-t", type=click.Choice(TASKS), default="qa", show_default=True,
                         help="Head to export: qa (start/end logits), cls (logits), embed (mean-pooled, L2-normalised), mlm."),
            click.option("--seq-len", "-s", "seq_lens", type=int, multiple=True, default=(DEFAULT_SEQ_LEN,),
                         show_default=True, help="Static sequence length; repeat for several (one signature / enumerated shape each)."),
            click.option("--precision", "-p", type=click.Choice(registry.FORMATS[fmt].precisions), default=default_precision,
                         show_default=True, help="Weight precision / quantization scheme."),
            click.option("--out", "-o", type=click.Path(), required=True, help="Artifact dir to create."),
            click.option("--force", is_flag=True, help="Replace --out if it exists."),
            click.option("--data", type=click.Path(), default=None,
                         help="Parity inputs: text file (one sentence a line), .tsv, or SQuAD JSON for qa. Default: embedded corpus."),
            click.option("-n", "n", type=click.IntRange(min=1), default=DEFAULT_N, show_default=True,
                         help="Parity examples per sequence length (x3 when the task agreement lands within two "
                              "standard errors of its bar, x9 when the pooled one still does)."),
        ]
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return deco


def _run(fmt: str, model, task, seq_lens, precision, out, force, data, n, **opts) -> None:
    from pathlib import Path

    from rich.console import Console

    from pocketbert.convert.api import convert_model
    from pocketbert.core.manifest import load_manifest

    console = Console(stderr=True)
    with console.status(f"converting {model} ({task}) to {fmt} {precision} at seq {', '.join(map(str, seq_lens))}"):
        out_dir = convert_model(fmt, model, task, list(seq_lens), precision, Path(out), force=force, data=data, n=n,
                                console=console, **opts)
    manifest = load_manifest(out_dir)
    p = manifest["parity"]
    agree = "n/a" if p["task_agreement"] is None else f"{p['task_agreement']:.1%}"
    click.echo(f"wrote {out_dir} ({manifest['model_file']}, {manifest['file_size_bytes'] / 1e6:.2f} MB); "
               f"parity {p['status']} on {p['runtime']} (n={p['n']}, task agreement {agree})")
    if p["status"] == "spec-only":
        click.echo(p["note"])


@click.group("convert")
def convert() -> None:
    """Convert a model dir to an on-device artifact dir (static shapes, quantized) with a parity gate.

    The artifact dir holds the model, vocab.txt, tokenizer files and manifest.json (parity results included);
    it is only written when parity passes.
    """


@convert.command("android")
@_common("tflite", "fp32")
@click.option("--calibration", type=click.Path(), default=None,
              help="Calibration text (one sentence a line, or SQuAD JSON for qa); required by int8-full.")
def android(model, task, seq_lens, precision, out, force, data, n, calibration) -> None:
    """LiteRT .tflite via litert-torch (no TensorFlow); one signature seq_<S> per --seq-len."""
    _run("tflite", model, task, seq_lens, precision, out, force, data, n, calibration=calibration)


@convert.command("ios")
@_common("coreml", "fp16")
@click.option("--compute-units", type=click.Choice(tuple(COREML_COMPUTE_UNITS)), default="all",
              show_default=True, help="Core ML compute units the model is configured for.")
@click.option("--min-ios", type=click.IntRange(min=16), default=16, show_default=True,
              help="Minimum iOS deployment target of the ML program (18+: several --seq-len share one package).")
def ios(model, task, seq_lens, precision, out, force, data, n, compute_units, min_ios) -> None:
    """Core ML ML program (.mlpackage): fp16 compute, weight compression; several --seq-len become enumerated shapes
    from --min-ios 18, else one model_seq_<S>.mlpackage per length."""
    _run("coreml", model, task, seq_lens, precision, out, force, data, n, compute_units=compute_units, min_ios=min_ios)


@convert.command("onnx")
@_common("onnx", "fp32")
def onnx(model, task, seq_lens, precision, out, force, data, n) -> None:
    """ONNX (torch.onnx, one static file per --seq-len); int8-dynamic via onnxruntime quantize_dynamic, int8-block via
    its MatMulNBits quantizer (int8 weights and activations per block of 32 channels)."""
    _run("onnx", model, task, seq_lens, precision, out, force, data, n)


@convert.command("executorch")
@_common("executorch", "fp32")
@click.option("--delegate", type=click.Choice(EXECUTORCH_DELEGATES), default=EXECUTORCH_DELEGATES[0],
              show_default=True, help="Backend the methods are lowered to: xnnpack (CPU, runs here) or coreml "
                                      "(exports here; runs on macOS / iOS only, so parity checks the spec elsewhere).")
def executorch(model, task, seq_lens, precision, out, force, data, n, delegate) -> None:
    """ExecuTorch .pte (torch.export + XNNPACK or Core ML delegate), one method seq_<S> per --seq-len in one file;
    int8 = XNNPACK quantizer, dynamic per-channel. Needs the extra: pip install 'pocketbert[executorch]'."""
    _run("executorch", model, task, seq_lens, precision, out, force, data, n, delegate=delegate)


# Formats with a command above (their own options); every other registered format gets a plain `convert <name>`.
FORMAT_COMMANDS = {"tflite": "android", "coreml": "ios", "onnx": "onnx", "executorch": "executorch"}


def _plain_command(fmt: str) -> None:
    record = registry.FORMATS[fmt]

    @convert.command(fmt, help=f"{fmt}: {record.layout}; precisions {', '.join(record.precisions)}.")
    @_common(fmt, record.precisions[0])
    def command(model, task, seq_lens, precision, out, force, data, n) -> None:
        _run(fmt, model, task, seq_lens, precision, out, force, data, n)


for _fmt in registry.FORMATS:
    if _fmt not in FORMAT_COMMANDS:
        _plain_command(_fmt)


@click.command("parity")
@click.argument("artifact_dir", type=click.Path())
@click.option("--model", "-m", default=None, help="PyTorch source to compare with (default: the manifest's source_model).")
@click.option("--data", type=click.Path(), default=None,
              help="Text file (one sentence a line), .tsv, or SQuAD JSON for qa. Default: the embedded corpus.")
@click.option("-n", "n", type=click.IntRange(min=1), default=DEFAULT_N, show_default=True, help="Examples per sequence length.")
def parity(artifact_dir, model, data, n) -> None:
    """Run an artifact and its PyTorch source on the same real inputs; exit 1 with a table when they disagree.

    Core ML on Linux: checks the spec (names, shapes, dtypes, quantized weights) and reports `spec-only`.
    """
    from rich.console import Console

    from pocketbert.convert.parity import ParityError, render, run_parity

    console = Console()
    report = run_parity(artifact_dir, model=model, data=data, n=n)
    render(report, f"parity of {artifact_dir}", console)
    if not report.ok:
        failed = [c for c, ok, _ in report.checks if not ok]
        raise ParityError(f"parity failed for {artifact_dir}: {'; '.join(failed)}")


COMMANDS: list[click.Command] = [convert, parity]
