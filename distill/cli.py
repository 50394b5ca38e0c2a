"""Click commands of stage 1; the root CLI registers `COMMANDS` in this order.

Distillation commands (prepare, init-student, distill) live here; task commands (finetune, evaluate,
golden) live in task_cli.py so the two halves of the stage can change independently.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from pocketbert.distill.task_cli import COMMANDS as TASK_COMMANDS

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "distilbert.yaml"


@click.command("prepare")
@click.option("--corpus", "corpus", multiple=True, required=True,
              help="Text file(s), one document per line (or see --doc-boundary); also hf:NAME[:CONFIG]:SPLIT. "
                   "Repeat the option or list several paths after it.")
@click.argument("more_corpus", nargs=-1, type=click.Path())
@click.option("--tokenizer", required=True, help="Model dir, hub id or `minilm` whose fast tokenizer to use.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output dir for the prepared data.")
@click.option("--max-len", default=512, show_default=True, help="Longest chunk in tokens, [CLS] and [SEP] included.")
@click.option("--doc-boundary", type=click.Choice(["line", "blank"]), default="line", show_default=True,
              help="line: one document per line; blank: documents are blank-line separated paragraphs.")
@click.option("--force", is_flag=True, help="Rebuild even when the output is up to date / replace a foreign dir.")
def prepare_cmd(corpus, more_corpus, tokenizer, out, max_len, doc_boundary, force):
    """Tokenize a corpus into a memory-mapped token array for distillation (no-op when up to date)."""
    from pocketbert.distill.prepare import prepare

    res = prepare([*corpus, *more_corpus], tokenizer, out, max_len=max_len, doc_boundary=doc_boundary, force=force)
    m = res.meta
    state = "up to date (same inputs, tokenizer and settings); nothing to do" if res.skipped else "written"
    click.echo(f"{out}: {state}: {m['n_sequences']} sequences, {m['n_tokens']} tokens from {m['n_documents']} documents "
               f"(longest {m['longest']}, dropped {m['dropped_short']} short / {m['dropped_unk']} mostly-[UNK] chunks)")


@click.command("init-student")
@click.option("--teacher", required=True, help="Teacher: model dir, hub id or `minilm` (BERT or DistilBERT).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output model dir.")
@click.option("--layers", default=None,
              help="Teacher layers to copy, e.g. 0,2,4,7,9,11 (the released DistilBERT's choice for 12 layers). "
                   "Default: every other layer from 0.")
@click.option("--dim", type=int, default=None, help="Student width; must equal the teacher's (default: the teacher's).")
@click.option("--force", is_flag=True, help="Replace an existing output dir.")
def init_student_cmd(teacher, out, layers, dim, force):
    """Build a DistilBERT student from a teacher by copying embeddings, chosen layers and the MLM head."""
    from pocketbert.distill.student_init import init_student

    s = init_student(teacher, out, layers, dim=dim, force=force)
    click.echo(f"student {out}: {len(s['student_layers_from_teacher'])} layers copied from teacher layers "
               f"{s['student_layers_from_teacher']} of {s['teacher_layers']}, {s['params'] / 1e6:.1f}M params "
               f"(teacher {s['teacher_params'] / 1e6:.1f}M)")
    if not s["mlm_head_copied"]:
        click.echo("notice: the teacher has no MLM head: the student's MLM projection is tied to the copied word "
                   "embeddings, its transform is freshly initialized, and the soft-target loss (alpha_ce) is "
                   "unavailable when distilling from this teacher")


@click.command("distill")
@click.option("--teacher", required=True, help="Teacher: model dir, hub id or `minilm`.")
@click.option("--student", required=True, help="Student dir made by `pocketbert init-student`.")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Dir made by `pocketbert prepare`.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Run dir: config, logs, checkpoints; the final model goes to OUT/final.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=str(DEFAULT_CONFIG), show_default=True,
              help="YAML of distillation settings (released DistilBERT recipe).")
@click.option("--max-steps", type=int, default=None, help="Optimizer steps (overrides n_epochs).")
@click.option("--minutes", type=float, default=None, help="Wall-clock budget; stops at the next optimizer step.")
@click.option("--batch-size", type=int, default=None, help="Sequences per device per micro-batch.")
@click.option("--effective-batch", type=int, default=None, help="Sequences per optimizer step (accumulation).")
@click.option("--lr", type=float, default=None, help="Peak learning rate.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None)
@click.option("--seed", type=int, default=None)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override any config key, e.g. --set alpha_cos=2 --set 'hidden_mse_pairs=[[2,1],[4,2]]'.")
@click.option("--resume", is_flag=True, help="Continue the run in OUT from its latest checkpoint.")
@click.option("--force", is_flag=True, help="Delete an existing run in OUT and start over.")
@click.option("--stop-after-step", type=int, default=None, hidden=True,
              help="Testing: die right after step N (after its checkpoint), as if killed.")
def distill_cmd(teacher, student, data, out, config_path, max_steps, minutes, batch_size, effective_batch, lr,
                precision, seed, sets, resume, force, stop_after_step):
    """Distill TEACHER into STUDENT on prepared DATA (triple loss; torchrun/accelerate launch for multi-GPU)."""
    from pocketbert.distill.config import load_config, parse_set_options
    from pocketbert.distill.trainer import TrainingInterrupted, distill

    flags = {"max_steps": max_steps, "max_minutes": minutes, "batch_size": batch_size,
             "effective_batch": effective_batch, "learning_rate": lr, "precision": precision, "seed": seed}
    overrides = {**parse_set_options(sets), **{k: v for k, v in flags.items() if v is not None}}
    cfg = load_config(config_path, overrides)
    try:
        summary = distill(teacher, student, data, out, cfg, resume=resume, force=force,
                          stop_after_step=stop_after_step, echo=click.echo)
    except TrainingInterrupted as exc:
        click.echo(f"interrupted: {exc}; continue with --resume", err=True)
        raise SystemExit(3) from exc
    if int(os.environ.get("RANK", "0")) != 0:
        return
    click.echo(f"done: {summary['steps']} steps ({summary['stop_reason']}), final model {summary['final_model']}")


DISTILL_COMMANDS: list[click.Command] = [prepare_cmd, init_student_cmd, distill_cmd]

COMMANDS: list[click.Command] = [*DISTILL_COMMANDS, *TASK_COMMANDS]
