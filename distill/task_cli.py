"""Task commands of stage 1 (finetune, evaluate, golden).

Heavy imports (torch, transformers) happen inside the commands so `pocketbert --help` stays instant.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import click

from pocketbert.core import qa as qa_defaults
from pocketbert.distill.augment import DEFAULT_MASK_PROB
from pocketbert.distill.config import FINETUNE_PRECISIONS

# Text length for cls / sts on model dirs (artifacts carry their own lengths).
DEFAULT_TEXT_MAX_LEN = 128
TEACHER_HELP = "task model (same task, same vocab) whose start/end or class distributions the student also matches"


def _common_train_options(fn):
    """Training options shared by `finetune qa` and `finetune cls`."""
    options = [
        click.option("--model", required=True, help="student: model dir, hub id or `minilm` (an MLM/base dir gets a new head)"),
        click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="output model dir (written atomically)"),
        click.option("--force", is_flag=True, help="replace --out if it exists"),
        click.option("--teacher", default=None, help=TEACHER_HELP),
        click.option("--alpha-kd", default=0.5, show_default=True, type=click.FloatRange(0, 1),
                     help="weight of the distillation term: (1-a)*CE + a*KL*T^2"),
        click.option("--alpha-hidden", default=0.0, show_default=True, type=click.FloatRange(min=0),
                     help="with --teacher: + this weight x (1 - cos) between mapped hidden states (student layer k ~ "
                          "teacher layer k*T/S)"),
        click.option("--temperature", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True)),
        click.option("--augment-copies", default=0, show_default=True, type=click.IntRange(min=0),
                     help="with --teacher: add N copies of every training row with words masked (--augment-mask), "
                          "labelled by the teacher's distributions; an epoch covers them all"),
        click.option("--augment-mask", default=DEFAULT_MASK_PROB, show_default=True,
                     type=click.FloatRange(0, 1, min_open=True),
                     help="probability that a word of a masked copy becomes [MASK]"),
        click.option("--epochs", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True)),
        click.option("--lr", default=5e-5, show_default=True, type=float),
        click.option("--warmup", default=0.1, show_default=True, type=click.FloatRange(0, 1), help="warmup fraction of steps"),
        click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1)),
        click.option("--grad-accum", default=1, show_default=True, type=click.IntRange(min=1), help="gradient accumulation steps"),
        click.option("--max-steps", default=None, type=click.IntRange(min=1), help="train this many optimizer steps (overrides --epochs)"),
        click.option("--seed", default=42, show_default=True, type=int),
        click.option("--weight-decay", default=0.01, show_default=True, type=float),
        click.option("--limit-train", default=None, type=click.IntRange(min=1), help="use only the first N training examples"),
        click.option("--limit-eval", default=None, type=click.IntRange(min=1), help="evaluate only the first N examples"),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, mps"),
        click.option("--precision", default="fp32", show_default=True, type=click.Choice(FINETUNE_PRECISIONS),
                     help="bf16: autocast forwards (weights, optimizer and losses stay fp32); auto: bf16 where the "
                          "device has bf16 instructions (AVX512-BF16 / AMX CPUs, bf16 GPUs), else fp32"),
        click.option("--attention-dropout", default=None, type=click.FloatRange(0, 1, max_open=True),
                     help="dropout on attention probabilities while training [the model's own]; 0 lets CPU "
                          "attention use its fused kernel (faster)"),
        click.option("--resume", is_flag=True, help="continue the interrupted run of this --out from its newest "
                                                    "checkpoint (in OUT.training/), bit for bit"),
        click.option("--checkpoint-every", default=0, show_default=True, type=click.IntRange(min=0),
                     help="checkpoint every N optimizer steps (0: by time, --checkpoint-minutes)"),
        click.option("--checkpoint-minutes", default=10.0, show_default=True, type=click.FloatRange(min=0),
                     help="with --checkpoint-every 0: checkpoint after this many minutes of training (0: never)"),
        click.option("--stop-after-step", type=click.IntRange(min=1), default=None, hidden=True,
                     help="testing: die right after step N (after its checkpoint), as if killed"),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def _resume_mode(kw: dict) -> str:
    from pocketbert.distill.finetune_resume import FRESH, RESUME

    if kw["resume"] and kw["force"]:
        raise click.UsageError("--resume continues a run and --force starts it over: pass one of them")
    return RESUME if kw["resume"] else FRESH


@contextlib.contextmanager
def _interruptible():
    """The injected stop (--stop-after-step) ends like a kill after a checkpoint: one line and exit status 3."""
    from pocketbert.distill.finetune_resume import FinetuneInterrupted

    try:
        yield
    except FinetuneInterrupted as exc:
        click.echo(f"interrupted: {exc}; continue with --resume", err=True)
        raise SystemExit(3) from exc


@click.group("finetune")
def finetune() -> None:
    """Fine-tune a (distilled) model for extractive QA or sentence (pair) classification."""


@finetune.command("qa")
@_common_train_options
@click.option("--train", "train_file", required=True, type=click.Path(path_type=Path), help="SQuAD v1.1 JSON")
@click.option("--eval", "eval_file", default=None, type=click.Path(path_type=Path), help="SQuAD v1.1 JSON (EM/F1 at the end)")
@click.option("--max-len", default=qa_defaults.DEFAULT_MAX_LEN, show_default=True, type=int)
@click.option("--doc-stride", default=qa_defaults.DEFAULT_DOC_STRIDE, show_default=True, type=int)
@click.option("--max-query-len", default=qa_defaults.DEFAULT_MAX_QUERY_LEN, show_default=True, type=int)
def finetune_qa_cmd(**kw) -> None:
    """SQuAD-format JSON in, AutoModelForQuestionAnswering dir out (+ eval_results.json).

    Example: pocketbert finetune qa --model build/demo/student --train train.json --eval dev.json --out build/qa
    """
    from pocketbert.distill.finetune import TrainConfig, finetune_qa

    cfg = TrainConfig.from_kwargs(kw)
    with _interruptible():
        results = finetune_qa(kw["model"], kw["train_file"], kw["eval_file"], kw["out"], cfg, teacher=kw["teacher"],
                              force=kw["force"], max_len=kw["max_len"], doc_stride=kw["doc_stride"],
                              max_query_len=kw["max_query_len"], resume=_resume_mode(kw),
                              stop_after_step=kw["stop_after_step"])
    _print_results(f"finetune qa -> {kw['out']}", results)


@finetune.command("cls")
@_common_train_options
@click.option("--train", "train_file", required=True, type=click.Path(path_type=Path), help="TSV with a header: sentence[, sentence2], label")
@click.option("--eval", "eval_file", default=None, type=click.Path(path_type=Path), help="TSV like --train (accuracy/F1 at the end)")
@click.option("--max-len", default=128, show_default=True, type=int)
def finetune_cls_cmd(**kw) -> None:
    """Sentence or sentence-pair classification from GLUE-style TSV (e.g. SST-2).

    Example: pocketbert finetune cls --model minilm --train sst2/train.tsv --eval dev.tsv --out build/sst2
    """
    from pocketbert.distill.finetune import TrainConfig, finetune_cls

    cfg = TrainConfig.from_kwargs(kw)
    with _interruptible():
        results = finetune_cls(kw["model"], kw["train_file"], kw["eval_file"], kw["out"], cfg, teacher=kw["teacher"],
                               force=kw["force"], max_len=kw["max_len"], resume=_resume_mode(kw),
                               stop_after_step=kw["stop_after_step"])
    _print_results(f"finetune cls -> {kw['out']}", results)


@click.group("evaluate")
def evaluate() -> None:
    """Score a model: SQuAD EM/F1 (qa), accuracy (cls), STS-B Spearman (sts), masked-LM accuracy (mlm).

    qa, cls and sts also take a converted artifact dir as --model: it runs on this machine with the apps' windows
    and signature choice, next to its PyTorch source (agreement).
    """


def _is_eval_results(path: Path) -> bool:
    """An earlier `evaluate --out` file (JSON object with task and model), which a new run may overwrite."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"task", "model"} <= data.keys()


def _check_eval_out(ctx, param, value: Path | None) -> Path | None:
    """Checked while parsing, i.e. before the model is loaded: a bad --out must not cost a whole evaluation."""
    from pocketbert.core.outputs import check_output_file

    if value is not None:
        check_output_file(value, _is_eval_results, "an `evaluate` results JSON")
    return value


def _eval_options(fn):
    fn = click.option("--out", "out", default=None, type=click.Path(path_type=Path), callback=_check_eval_out,
                      help="write the results as JSON here (a new file, or an earlier evaluate results JSON)")(fn)
    fn = click.option("--limit", default=None, type=click.IntRange(min=1), help="use only the first N examples")(fn)
    fn = click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1))(fn)
    fn = click.option("--data", required=True, type=click.Path(path_type=Path), help="input data file")(fn)
    fn = click.option("--model", required=True, help="model dir, hub id or `minilm`")(fn)
    return fn


def _artifact_options(fn):
    """Options for `--model ARTIFACT_DIR` (a converted model run as the apps run it)."""
    fn = click.option("--results", default=None, type=click.Path(path_type=Path),
                      help="artifact only: append an accuracy record to this results JSONL (for `pocketbert report`)")(fn)
    fn = click.option("--threads", default=None, type=click.IntRange(min=1),
                      help="artifact only: runtime threads (default: the runtime's own)")(fn)
    fn = click.option("--no-compare", is_flag=True, help="artifact only: skip running the PyTorch source model")(fn)
    fn = click.option("--source", default=None,
                      help="artifact only: PyTorch model to compare with (default: the manifest's source_model)")(fn)
    return fn


def _evaluate_artifact(task: str, model: str, data: Path, limit, out, batch_size, source, no_compare, threads,
                       results, **model_only) -> bool:
    """Run `evaluate TASK` on an artifact dir; False when `model` is not one (the PyTorch path then runs)."""
    from pocketbert.core.runtime import is_artifact_dir

    if not is_artifact_dir(model):
        given = [name for name, value in (("--source", source), ("--no-compare", no_compare), ("--threads", threads),
                                          ("--results", results)) if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} apply to artifact dirs (with manifest.json); {model} is not one")
        return False
    given = [f"--{k.replace('_', '-')}" for k, v in model_only.items() if v is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)}: an artifact carries its own lengths and windows (manifest.json); "
                               "drop the option")
    for flag, path in (("--out", out), ("--results", results)):
        if path is not None and Path(path).is_dir():
            raise click.UsageError(f"{flag} {path} is a directory; pass a file path")
    from pocketbert.core.artifact_eval import evaluate_artifact

    res = evaluate_artifact(model, task, data, limit=limit, source=source, compare=not no_compare, threads=threads,
                            batch_size=batch_size, results=results)
    _finish(f"evaluate {task}: {model} ({res['format']} {res['precision']})", _flatten(res), out, full=res)
    if results is not None:
        click.echo(f"appended an accuracy record to {results}")
    return True


def _flatten(results: dict, prefix: str = "") -> dict:
    """Nested dicts (windows per signature, source scores) as `a.b` rows for the table."""
    flat = {}
    for key, value in results.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class EvalTask:
    """One `evaluate <task>` that runs on a model dir (distill/evaluate.py's `evaluate_<task>`) or an artifact dir.

    lengths: the model-dir-only length options (name -> default); an artifact carries its own in the manifest.
    """

    task: str
    help: str
    lengths: dict


# Smallest accepted window length / stride: a window needs [CLS] q [SEP] c [SEP] with room for context.
LENGTH_FLOOR = {"max_len": 8, "doc_stride": 1}
EVAL_TASKS = (
    EvalTask("qa", "SQuAD v1.1 EM/F1 of a QA model dir, or of an artifact dir run as the apps run it (+ agreement with "
             "its source).\n\nExample: pocketbert evaluate qa --model build/android/student-qa-int8 --data dev.json "
             "--out build/eval.json",
             {"max_len": qa_defaults.DEFAULT_MAX_LEN, "doc_stride": qa_defaults.DEFAULT_DOC_STRIDE}),
    EvalTask("cls", "Accuracy (and F1 for binary labels) of a classifier (model dir or artifact dir) on a GLUE-style TSV.",
             {"max_len": DEFAULT_TEXT_MAX_LEN}),
    EvalTask("sts", "Spearman correlation of mean-pooled embedding cosine with STS-B gold scores (model dir, or embed "
             "artifact).", {"max_len": DEFAULT_TEXT_MAX_LEN}),
)


def _eval_command(spec: EvalTask) -> None:
    """`evaluate <task>`: the artifact path when --model is an artifact dir, else distill/evaluate's evaluator."""

    def command(model, data, batch_size, limit, out, source, no_compare, threads, results, **lengths) -> None:
        if _evaluate_artifact(spec.task, model, data, limit, out, batch_size, source, no_compare, threads, results,
                              **lengths):
            return
        from pocketbert.distill import evaluate as evaluators

        run = getattr(evaluators, f"evaluate_{spec.task}")
        filled = {k: v if v is not None else spec.lengths[k] for k, v in lengths.items()}
        _finish(f"evaluate {spec.task}: {model}", run(model, data, batch_size=batch_size, limit=limit, **filled), out)

    for name in reversed(list(spec.lengths)):
        # A length below the floor is a click usage error (one line), not a silent fallback to the default.
        command = click.option(f"--{name.replace('_', '-')}", default=None, type=click.IntRange(min=LENGTH_FLOOR[name]),
                               help=f"model dirs only [default: {spec.lengths[name]}]")(command)
    command = _artifact_options(command)
    command = _eval_options(command)
    evaluate.command(spec.task, help=spec.help)(command)


for _spec in EVAL_TASKS:
    _eval_command(_spec)


@evaluate.command("mlm")
@_eval_options
@click.option("--teacher", default=None, help="MLM model whose top-1 predictions the model is compared with")
@click.option("--max-len", default=128, show_default=True, type=int)
@click.option("--mask-prob", default=0.15, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--seed", default=0, show_default=True, type=int)
def evaluate_mlm_cmd(model, data, batch_size, limit, out, teacher, max_len, mask_prob, seed) -> None:
    """Masked-LM accuracy and perplexity on held-out text (one document per line), optional teacher agreement."""
    from pocketbert.distill.evaluate import evaluate_mlm

    _finish(f"evaluate mlm: {model}", evaluate_mlm(model, data, teacher=teacher, batch_size=batch_size, limit=limit,
                                                   max_len=max_len, mask_prob=mask_prob, seed=seed), out)


@click.command("golden")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="golden dir (tests/golden in the repo)")
@click.option("--force", is_flag=True, help="replace --out if it exists")
def golden(out: Path, force: bool) -> None:
    """Write the QA golden vectors (CONTRACTS.md §4) shared with the Swift and Java cores."""
    from pocketbert.core.golden import write_golden

    names = write_golden(out, force=force)
    click.echo(f"wrote {len(names)} golden cases and vocab.txt to {out}")


def _print_results(title: str, results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in sorted(results.items()):
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _finish(title: str, results: dict, out: Path | None, full: dict | None = None) -> None:
    """Print the table; write `full` (default: the printed results) as JSON to `out`."""
    from pocketbert.core.atomic import write_json

    _print_results(title, results)
    if out is not None:
        write_json(Path(out), full if full is not None else results)
        click.echo(f"wrote {out}")


COMMANDS: list[click.Command] = [finetune, evaluate, golden]
