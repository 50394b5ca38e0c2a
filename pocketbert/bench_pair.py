"""`pocketbert bench pair`: the paper's comparison in one command — build teacher and student, convert, bench, ratios.

An orchestrator beside pipeline.py (it calls the convert and bench stages; stages never call each other). Its
click command is added to the bench stage's `bench` group by pocketbert/cli.py (`GROUP_COMMANDS`).
Public architectures come from the registry (no network): random weights are enough to measure latency, size and
memory, and the records say `model.weights = "random"` so nobody reads accuracy into them.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from pocketbert.bench.cli import _ints  # the bench stage's comma-list parser, so `bench *` options read alike
from pocketbert.core.errors import PocketbertError
from pocketbert.core.registry import PUBLIC_ARCHITECTURES as ARCHITECTURES
from pocketbert.core.registry import FORMATS, TASKS
from pocketbert.core.results import check_results_out

# --runtime value -> export format (the host can time these; executorch needs the `pocketbert[executorch]` extra).
RUNTIME_FORMATS = {"tflite": "tflite", "onnx": "onnx", "executorch": "executorch"}
# Parity of random-weight models only proves the conversion; a few inputs are enough.
PAIR_PARITY_N = 4
BUILT_MARKER = "pocketbert_pair.json"


def _params_of(model_dir: Path) -> int | None:
    """Parameter count from safetensors headers (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    files = list(model_dir.glob("*.safetensors"))
    for f in files:
        with safe_open(str(f), framework="pt") as fh:
            for key in fh.keys():
                n = 1
                for d in fh.get_slice(key).get_shape():
                    n *= d
                total += n
    return total or None


def build_model(spec: str, task: str, dest: Path) -> tuple[Path, str, str]:
    """(model dir, weights kind, architecture) for a named public architecture (random) or a model dir (its weights)."""
    if spec.lower() in ARCHITECTURES:
        marker = dest / BUILT_MARKER
        model_type, cfg = ARCHITECTURES[spec.lower()]
        if marker.is_file() and json.loads(marker.read_text()) == {"spec": spec.lower(), "task": task}:
            arch = json.loads((dest / "config.json").read_text())["architectures"][0]
            return dest, "random", arch
        import torch
        import transformers
        from transformers import AutoTokenizer, BertConfig, DistilBertConfig

        from pocketbert.core.atomic import atomic_output_dir
        from pocketbert.core.models import packaged_teacher_dir
        from pocketbert.core.outputs import Marker, check_output_dir

        # rebuilt when the spec or task changed, but only over a dir this command built (or an empty one)
        check_output_dir(dest, True, Marker("bench pair", BUILT_MARKER, ("spec", "task")))

        print(f"building {spec} ({task}) with random weights", file=sys.stderr)
        torch.manual_seed(0)
        config = (BertConfig if model_type == "bert" else DistilBertConfig)(**cfg)
        model = getattr(transformers, TASKS[task].auto_class).from_config(config).eval()
        with atomic_output_dir(dest, force=True) as tmp:
            model.save_pretrained(tmp)
            # The packaged teacher's tokenizer has the same uncased 30522-word vocab as bert-base-uncased.
            AutoTokenizer.from_pretrained(str(packaged_teacher_dir())).save_pretrained(tmp)
            (tmp / BUILT_MARKER).write_text(json.dumps({"spec": spec.lower(), "task": task}))
        return dest, "random", type(model).__name__
    path = Path(spec)
    if not (path / "config.json").is_file():
        raise PocketbertError(f"{spec} is neither a known architecture ({', '.join(ARCHITECTURES)}) nor a model dir "
                              "with config.json")
    arch = (json.loads((path / "config.json").read_text()).get("architectures") or [None])[0]
    return path, "trained", arch


def bench_pair(teacher: str, student: str, seq_lens: list[int], precisions: list[str], runtime: str, out: Path,
               task: str = "qa", threads: int | None = None, runs: int = 20, warmup: int = 3,
               force: bool = False, rounds: int | None = None) -> list[dict]:
    """Build, convert (reusing artifacts already in `out` unless `force`), bench; print the ratio lines last.

    Teacher and student are timed in interleaved rounds (bench_host's `rounds`, default 5); the latency ratio
    printed is the median of the per-round ratios with its interquartile range, flagged UNSTABLE when wider than
    report.UNSTABLE_RATIO_SPREAD of the median.
    """
    from pocketbert.bench.host import bench_host
    from pocketbert.bench.report import ratio_rows, spread_text

    if runtime not in RUNTIME_FORMATS:
        raise PocketbertError(f"--runtime must be one of {', '.join(RUNTIME_FORMATS)}")
    valid = FORMATS[RUNTIME_FORMATS[runtime]].precisions
    bad = [p for p in precisions if p not in valid]
    if bad:  # before building BERT-base, not after
        raise PocketbertError(f"--precision {', '.join(bad)} is not valid for --runtime {runtime}; "
                              f"choose from {', '.join(valid)}")
    from pocketbert.convert.api import convert_model
    out = Path(out)
    results = out / "results.jsonl"
    check_results_out(results, inputs=[teacher, student])  # it is replaced below: only an earlier results file
    out.mkdir(parents=True, exist_ok=True)
    threads = threads or min(4, os.cpu_count() or 1)
    models = {}
    for role, spec in (("teacher", teacher), ("student", student)):
        name = Path(spec).name if Path(spec).is_dir() else spec.lower()
        path, weights, arch = build_model(spec, task, out / "models" / f"{role}-{name}")
        models[role] = {"name": name, "path": path, "weights": weights, "architecture": arch,
                        "params": _params_of(path)}
    if results.exists():
        results.unlink()  # this command's results are of this run only; `report` can merge several files
    records: list[dict] = []
    # Convert and bench one precision at a time: a later precision failing its parity gate keeps earlier results.
    for precision in precisions:
        artifacts, overrides = [], {}
        for role in ("teacher", "student"):
            m = models[role]
            dest = out / "artifacts" / f"{role}-{m['name']}-{task}-{runtime}-{precision}"
            manifest = dest / "manifest.json"
            if force or not manifest.is_file() or json.loads(manifest.read_text()).get("seq_lens") != list(seq_lens):
                print(f"converting {m['name']} -> {runtime} {precision} seq {seq_lens}", file=sys.stderr)
                convert_model(RUNTIME_FORMATS[runtime], str(m["path"]), task, list(seq_lens), precision, dest,
                              force=True, n=PAIR_PARITY_N)
            artifacts.append(dest)
            overrides[str(dest)] = {"model": {"name": m["name"], "role": role, "weights": m["weights"],
                                              "architecture": m["architecture"], "params": m["params"],
                                              "source": str(m["path"])}}
        records += bench_host(artifacts, threads=[threads], runs=runs, warmup=warmup, out=results,
                              seq_lens=seq_lens, overrides=overrides, rounds=rounds)
    rows = ratio_rows(records)
    print(f"results: {results}")
    for row in rows:
        print(f"latency ratio (student/teacher) {row['precision']} seq {row['seq_len']}: {row['latency_ratio']:.3f} "
              f"(median of per-round ratios; {spread_text(row)})")
    for row in rows:
        print(f"size ratio (student/teacher) {row['precision']} seq {row['seq_len']}: {row['size_ratio']:.3f}")
    return records


@click.command("pair")
@click.option("--teacher", default="bert-base", show_default=True, help="bert-base | bert-base-uncased | model dir")
@click.option("--student", default="distilbert-base", show_default=True, help="distilbert-base | model dir")
@click.option("--seq-len", default="128,384", show_default=True)
@click.option("--precision", default="fp32,int8-dynamic", show_default=True)
@click.option("--runtime", type=click.Choice(list(RUNTIME_FORMATS)), default="tflite", show_default=True,
              help="tflite | onnx | executorch (executorch precisions: fp32,int8; needs the [executorch] extra)")
@click.option("--task", type=click.Choice(["qa", "cls", "embed", "mlm"]), default="qa", show_default=True)
@click.option("--threads", type=int, default=None, help="threads [default: min(4, cores)]")
@click.option("--runs", default=20, show_default=True)
@click.option("--warmup", default=3, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="interleaved teacher/student rounds (fresh process each); --runs is split over them")
@click.option("--force", is_flag=True, help="re-convert even when artifacts in --out match")
@click.option("--out", default=Path("build/bench-pair"), show_default=True, type=click.Path(path_type=Path))
def pair_cmd(teacher, student, seq_len, precision, runtime, task, threads, runs, warmup, rounds, force, out):
    """Teacher vs student: build (random weights for named architectures), convert, bench, print ratios."""
    precisions = [p.strip() for p in precision.split(",") if p.strip()]
    bench_pair(teacher, student, _ints(seq_len, "--seq-len"), precisions, runtime, out, task=task, threads=threads,
               runs=runs, warmup=warmup, force=force, rounds=rounds)


# Commands pocketbert/cli.py adds to a stage's click group: {group name: [commands]}.
GROUP_COMMANDS: dict[str, list[click.Command]] = {"bench": [pair_cmd]}
