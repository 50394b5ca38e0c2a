"""Click commands of this stage; the root CLI (pocketbert/cli.py) registers `COMMANDS` in this order."""
from __future__ import annotations

from pathlib import Path

import click

from pocketbert.core.errors import PocketbertError


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise PocketbertError(f"{what} must be comma-separated integers, got {text!r}") from exc
    if not values or min(values) < 1:
        raise PocketbertError(f"{what} must list positive integers, got {text!r}")
    return values


@click.group("bench")
def bench() -> None:
    """Measure models: on this host, on an Android phone via adb, or import results measured elsewhere."""


@bench.command("host")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--threads", default="1,2,4", show_default=True, help="comma-separated thread counts")
@click.option("--runs", default=50, show_default=True, help="timed inferences per measurement")
@click.option("--warmup", default=5, show_default=True, help="untimed inferences before timing")
@click.option("--seq-len", default=None, help="only these lengths (artifacts); lengths for model dirs [default: 384]")
@click.option("--out", default=Path("results.jsonl"), show_default=True, type=click.Path(path_type=Path),
              help="results JSONL, appended to")
@click.option("--rounds", type=click.IntRange(min=1), default=None,
              help="interleaved rounds A,B,B,A,... (fresh process each); --runs is split over them "
                   "[default: 5 with several models, else 1]")
def host_cmd(paths, threads, runs, warmup, seq_len, out, rounds):
    """Run artifact dirs (.tflite via LiteRT+XNNPACK, .onnx via onnxruntime) or model dirs (PyTorch) here.

    Each (model, seq len, threads) runs in a fresh process so its peak RSS is its own.
    """
    from pocketbert.bench.host import bench_host

    records = bench_host(paths, threads=_ints(threads, "--threads"), runs=runs, warmup=warmup, out=out,
                         seq_lens=_ints(seq_len, "--seq-len") if seq_len else None, rounds=rounds)
    click.echo(f"{len(records)} record(s) appended to {out}")


@bench.command("android")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--benchmark-binary", required=True, type=click.Path(path_type=Path),
              help="TFLite's benchmark_model built for the phone (android_arm64)")
@click.option("--serial", default=None, help="adb serial when several devices are connected")
@click.option("--adb", "adb_path", default=None, help="adb executable [default: adb on PATH]")
@click.option("--delegate", type=click.Choice(["cpu", "xnnpack", "gpu", "nnapi"]), default="xnnpack", show_default=True)
@click.option("--threads", default="4", show_default=True)
@click.option("--runs", default=50, show_default=True)
@click.option("--runtime-version", default=None, help="LiteRT version benchmark_model was built from (for the report)")
@click.option("--out", default=Path("results.jsonl"), show_default=True, type=click.Path(path_type=Path))
def android_cmd(paths, benchmark_binary, serial, adb_path, delegate, threads, runs, runtime_version, out):
    """Push .tflite artifacts and benchmark_model to a phone via adb, run them, record the results."""
    from pocketbert.bench.android import bench_android

    records = bench_android(paths, benchmark_binary, out, serial=serial, delegate=delegate,
                            threads=_ints(threads, "--threads"), runs=runs, adb_path=adb_path,
                            runtime_version=runtime_version)
    click.echo(f"{len(records)} record(s) from {records[0]['device']['name'] if records else 'the phone'} appended to {out}")


@bench.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--device-name", default=None, help="device of benchmark_model logs (app JSON names its own)")
@click.option("--device-kind", type=click.Choice(["android", "ios", "host"]), default="android", show_default=True)
@click.option("--os", "os_", default=None, help="e.g. 'Android 14'")
@click.option("--soc", default=None)
@click.option("--cores", type=int, default=None)
@click.option("--artifact", type=click.Path(path_type=Path), default=None,
              help="artifact dir the log measured (model name, precision, size, parity from its manifest)")
@click.option("--model-name", default=None)
@click.option("--precision", default=None)
@click.option("--seq-len", type=int, default=None, help="when the log names no seq_<S> signature")
@click.option("--task", default=None)
@click.option("--threads", type=int, default=None)
@click.option("--delegate", default=None)
@click.option("--runtime-version", default=None)
@click.option("--out", default=Path("results.jsonl"), show_default=True, type=click.Path(path_type=Path))
def import_cmd(files, device_name, device_kind, os_, soc, cores, artifact, model_name, precision, seq_len, task,
               threads, delegate, runtime_version, out):
    """Import saved benchmark_model logs and the demo apps' results JSON into a results file."""
    from pocketbert.bench.importer import import_files

    facts = {"device_name": device_name, "device_kind": device_kind, "os": os_, "soc": soc, "cores": cores,
             "artifact": artifact, "model_name": model_name, "precision": precision, "seq_len": seq_len,
             "task": task, "threads": threads, "delegate": delegate, "runtime_version": runtime_version}
    records = import_files(files, out, facts)
    click.echo(f"{len(records)} record(s) appended to {out}")


@click.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", default=Path("build/report"), show_default=True, type=click.Path(path_type=Path),
              help="report dir (an earlier report there is replaced when it holds only the report's files)")
@click.option("--force", is_flag=True, help="replace an earlier report dir even when other files were added to it")
def report_cmd(results, out, force):
    """One page per device + a summary (Markdown and self-contained HTML with PNG charts) from results JSONL."""
    from pocketbert.bench.report import write_report

    index = write_report(results, out, force=force)
    click.echo(f"report: {index}")


COMMANDS: list[click.Command] = [bench, report_cmd]
