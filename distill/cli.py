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
@click.option("--unit", type=click.Choice(["chunk", "sentence"]), default="chunk", show_default=True,
              help="chunk: documents cut into --max-len pieces (MLM pre-training); sentence: one sequence per "
                   "sentence (sentence-embedding teachers, configs/sentence.yaml).")
@click.option("--min-tokens", type=int, default=None,
              help="Drop sequences of this many tokens or fewer, specials included (default 11 for chunks, 5 for "
                   "sentences).")
@click.option("--force", is_flag=True, help="Rebuild even when the output is up to date.")
def prepare_cmd(corpus, more_corpus, tokenizer, out, max_len, doc_boundary, unit, min_tokens, force):
    """Tokenize a corpus into a memory-mapped token array for distillation (no-op when up to date)."""
    from pocketbert.distill.prepare import prepare

    res = prepare([*corpus, *more_corpus], tokenizer, out, max_len=max_len, doc_boundary=doc_boundary, force=force,
                  unit=unit, min_tokens=min_tokens)
    for line in res.warnings:
        click.echo(line, err=True)
    m = res.meta
    state = "up to date (same inputs, tokenizer and settings); nothing to do" if res.skipped else "written"
    click.echo(f"{out}: {state}: {m['n_sequences']} sequences, {m['n_tokens']} tokens from {m['n_documents']} documents "
               f"(longest {m['longest']}, dropped {m['dropped_short']} short / {m['dropped_unk']} mostly-[UNK] chunks)")


@click.command("init-student")
@click.option("--teacher", required=True, help="Teacher: model dir, hub id or `minilm` (BERT or DistilBERT).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output model dir.")
@click.option("--layers", default=None,
              help="Teacher layers to copy, e.g. 0,2,4,7,9,11 (the released DistilBERT's choice for 12 layers), or "
                   "`auto`: try the maps and keep the copy that agrees best with the teacher on held-out text. "
                   "Default: every other layer from 0.")
@click.option("--n-layers", type=int, default=None, help="With --layers auto: student depth (default: half the teacher's).")
@click.option("--sample-data", type=click.Path(path_type=Path), default=None,
              help="With --layers auto: a prepared dir whose held-out slice is the text to agree on "
                   "(default: the embedded English corpus); for a SQuAD teacher, a SQuAD JSON file whose windows "
                   "the copy's start/end distributions are compared on (answers are not read).")
@click.option("--dim", type=int, default=None, help="Student width; must equal the teacher's (default: the teacher's).")
@click.option("--force", is_flag=True, help="Replace an existing student dir (one written by init-student).")
def init_student_cmd(teacher, out, layers, n_layers, sample_data, dim, force):
    """Build a DistilBERT student from a teacher by copying embeddings, chosen layers and the MLM (or SQuAD) head.

    Example: pocketbert init-student --teacher build/qa-models/models/teacher --out build/student-qa --layers auto
    --sample-data build/qa-models/data/train.json
    """
    from pocketbert.distill.student_init import init_student

    s = init_student(teacher, out, layers, dim=dim, force=force, n_layers=n_layers, sample_data=sample_data,
                     echo=click.echo)
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
@click.option("--holdout", default=None, metavar="SHARE",
              help="Share of DATA held out of training and scored against the teacher (e.g. 1%% or 0.01; 0 = none). "
                   "Default from the config: 1%%.")
@click.option("--eval-data", type=click.Path(path_type=Path), default=None,
              help="Score on this prepared dir instead of a held-out slice of DATA.")
@click.option("--eval-sts", type=click.Path(path_type=Path), default=None,
              help="Also score STS-B Spearman on this file (tab-separated STS Benchmark rows) at each validation.")
@click.option("--resume", is_flag=True, help="Continue the run in OUT from its latest checkpoint.")
@click.option("--allow-config-change", is_flag=True,
              help="With --resume: accept settings that differ from the run's (logged; no longer bit for bit).")
@click.option("--force", is_flag=True, help="Delete an earlier run in OUT (a dir with run.json) and start over.")
@click.option("--stop-after-step", type=int, default=None, hidden=True,
              help="Testing: die right after step N (after its checkpoint), as if killed.")
def distill_cmd(teacher, student, data, out, config_path, max_steps, minutes, batch_size, effective_batch, lr,
                precision, seed, sets, holdout, eval_data, eval_sts, resume, allow_config_change, force, stop_after_step):
    """Distill TEACHER into STUDENT on prepared DATA (triple loss; torchrun/accelerate launch for multi-GPU)."""
    from pocketbert.distill.config import load_config, parse_set_options
    from pocketbert.distill.trainer import TrainingInterrupted, distill

    flags = {"max_steps": max_steps, "max_minutes": minutes, "batch_size": batch_size,
             "effective_batch": effective_batch, "learning_rate": lr, "precision": precision, "seed": seed,
             "holdout": holdout}  # "1%" or "0.01": parsed with the config (distill/config.py)
    overrides = {**parse_set_options(sets), **{k: v for k, v in flags.items() if v is not None}}
    cfg = load_config(config_path, overrides)
    try:
        summary = distill(teacher, student, data, out, cfg, resume=resume, force=force,
                          allow_config_change=allow_config_change, stop_after_step=stop_after_step, echo=click.echo,
                          eval_data=eval_data, eval_sts=eval_sts)
    except TrainingInterrupted as exc:
        click.echo(f"interrupted: {exc}; continue with --resume", err=True)
        raise SystemExit(3) from exc
    if int(os.environ.get("RANK", "0")) != 0:
        return
    click.echo(f"done: {summary['steps']} steps ({summary['stop_reason']}), final model {summary['final_model']}")
    for line in validation_lines(summary.get("validation")):
        click.echo(line)


def validation_lines(v: dict | None) -> list[str]:
    """The held-out table: init (copied layers) vs best vs final, and where the best model is."""
    if not v:
        return ["held-out validation: off (--holdout 0 and no --eval-data)"]
    metrics = [k for k in v["init"] if k != "step"] if v.get("init") else [k for k in v["final"] if k != "step"]
    rows = [("init (step 0)", v.get("init")), (f"best (step {v['best_step']})", v.get("best")),
            (f"final (step {v['final']['step']})", v.get("final"))]
    out = [f"held-out agreement with the teacher (best by {v['metric']}; kept in {v['best_dir']}):",
           "  " + f"{'':<18}" + "".join(f"{m:>12}" for m in metrics)]
    for name, row in rows:
        if row:
            out.append("  " + f"{name:<18}" + "".join(f"{row.get(m, float('nan')):>12.4f}" for m in metrics))
    return out


DISTILL_COMMANDS: list[click.Command] = [prepare_cmd, init_student_cmd, distill_cmd]

COMMANDS: list[click.Command] = [*DISTILL_COMMANDS, *TASK_COMMANDS]
