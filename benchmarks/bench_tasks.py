"""Teacher vs student on SST-2, SQuAD and STS-B: task scores, retention ratio, with and without a KD teacher.

    .venv/bin/python benchmarks/bench_tasks.py                       # CPU-sized defaults (~30-40 min on 2 cores)
    .venv/bin/python benchmarks/bench_tasks.py --full --device cuda  # all 20 SQuAD articles, 20k SST-2, 2 epochs

Teacher = the packaged all-MiniLM-L6-v2 (`minilm`). Student = --student (a distilled DistilBERT dir, e.g.
build/demo/student); when none is given, `pocketbert init-student --teacher minilm --layers 0,2,4` is built
(layers copied, not distilled) and the results say so. Splits (no overlap):
  SST-2: train = the first --sst2-train rows of sst2/train.tsv, eval = the last --sst2-eval rows.
  SQuAD: train = articles 1-20 of dev-v1.1-part1.json (first --squad-train questions), eval = articles 21-24.
  STS-B: dev, no fine-tuning (mean pooling), as the sentence-transformers teacher is used.
Writes OUT/results.json and prints a table; every step's wall time is recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
SQUAD_TRAIN_ARTICLES = 20
SQUAD_EVAL_ARTICLES = 4


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench-tasks")
    ap.add_argument("--student", default=None, help="student dir (default: init-student copy of minilm layers 0,2,4)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sst2-train", type=int, default=2000)
    ap.add_argument("--sst2-eval", type=int, default=872)
    ap.add_argument("--sst2-max-len", type=int, default=64)
    ap.add_argument("--squad-train", type=int, default=1000, help="questions from the 20 training articles")
    ap.add_argument("--squad-eval", type=int, default=400, help="questions from the 4 evaluation articles")
    ap.add_argument("--qa-max-len", type=int, default=256)
    ap.add_argument("--qa-doc-stride", type=int, default=96)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--full", action="store_true", help="GPU size: all SQuAD train/eval questions, 20k SST-2, 2 epochs")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: sts,sst2,squad")
    args = ap.parse_args(argv)
    if args.full:
        args.sst2_train, args.squad_train, args.squad_eval, args.epochs, args.qa_max_len, args.qa_doc_stride = (
            20000, 0, 0, 2.0, 384, 128)
    return args


def timed(results: dict, key: str, fn):
    t0 = time.perf_counter()
    out = fn()
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    results[key] = out
    print(f"[bench-tasks] {key}: {json.dumps(out)}", flush=True)
    partial = Path(results["config"]["out"]) / "results.partial.json"  # survives an interrupted run
    partial.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from pocketbert.core.datasets_io import read_cls_tsv
    from pocketbert.core.squad import write_squad_subset
    from pocketbert.distill.evaluate import evaluate_sts
    from pocketbert.distill.finetune import TrainConfig, finetune_cls, finetune_qa

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    results: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    t_start = time.perf_counter()

    student = args.student
    if student is None:
        from click.testing import CliRunner

        from pocketbert.cli import cli

        student = str(out / "student-init")
        if not (Path(student) / "config.json").is_file():
            res = CliRunner().invoke(cli, ["init-student", "--teacher", "minilm", "--out", student, "--layers", "0,2,4",
                                           "--force"], catch_exceptions=False)
            if res.exit_code != 0:
                print(res.output, file=sys.stderr)
                return 1
        results["student_note"] = "init-student copy of minilm layers 0,2,4 (not distilled)"
    results["student"] = student
    teacher = "minilm"

    if "sts" not in skip:
        sts = DATA / "stsb" / "sts-dev.csv"
        for role, model in (("teacher", teacher), ("student", student)):
            timed(results, f"sts_{role}", lambda m=model: evaluate_sts(m, sts, device=args.device))

    base = dict(lr=args.lr, epochs=args.epochs, batch_size=args.batch_size, warmup=0.1, seed=42, device=args.device)
    if "sst2" not in skip:
        rows = (DATA / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()
        header, body = rows[0], rows[1:]
        (out / "sst2-train.tsv").write_text("\n".join([header, *body[: args.sst2_train]]) + "\n")
        (out / "sst2-eval.tsv").write_text("\n".join([header, *body[-args.sst2_eval :]]) + "\n")
        read_cls_tsv(out / "sst2-eval.tsv")
        cfg = TrainConfig(**base)
        kw = dict(max_len=args.sst2_max_len, force=True)
        tr, ev = out / "sst2-train.tsv", out / "sst2-eval.tsv"
        timed(results, "sst2_teacher", lambda: finetune_cls(teacher, tr, ev, out / "sst2-teacher", cfg, **kw))
        timed(results, "sst2_student", lambda: finetune_cls(student, tr, ev, out / "sst2-student", cfg, **kw))
        timed(results, "sst2_student_kd", lambda: finetune_cls(student, tr, ev, out / "sst2-student-kd", cfg,
                                                               teacher=str(out / "sst2-teacher"), **kw))
    if "squad" not in skip:
        src = DATA / "squad" / "dev-v1.1-part1.json"
        tr = write_squad_subset(src, out / "squad-train.json", 0, SQUAD_TRAIN_ARTICLES)
        ev = write_squad_subset(src, out / "squad-eval.json", SQUAD_TRAIN_ARTICLES, SQUAD_EVAL_ARTICLES)
        cfg = TrainConfig(**base, limit_train=args.squad_train or None, limit_eval=args.squad_eval or None)
        kw = dict(max_len=args.qa_max_len, doc_stride=args.qa_doc_stride, force=True)
        timed(results, "squad_teacher", lambda: finetune_qa(teacher, tr, ev, out / "squad-teacher", cfg, **kw))
        timed(results, "squad_student", lambda: finetune_qa(student, tr, ev, out / "squad-student", cfg, **kw))
        timed(results, "squad_student_kd", lambda: finetune_qa(student, tr, ev, out / "squad-student-kd", cfg,
                                                               teacher=str(out / "squad-teacher"), **kw))
    results["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    summary = summarize(results)
    results["summary"] = summary
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print_table(summary)
    print(f"[bench-tasks] wrote {out / 'results.json'} in {results['total_wall_s']} s")
    return 0


def summarize(results: dict) -> list[dict]:
    """One row per (task, metric): teacher, student, student+KD and the retention ratios (student / teacher)."""
    rows = []
    specs = [("sts", "spearman", "sts_{}"), ("sst2", "eval_accuracy", "{}"), ("squad", "eval_exact_match", "{}"),
             ("squad", "eval_f1", "{}")]
    for task, metric, _ in specs:
        t = results.get(f"{task}_teacher", {}).get(metric)
        s = results.get(f"{task}_student", {}).get(metric)
        kd = results.get(f"{task}_student_kd", {}).get(metric)
        if t is None or s is None:
            continue
        rows.append({"task": task, "metric": metric, "teacher": t, "student": s, "student_kd": kd,
                     "retention": s / t if t else None, "retention_kd": kd / t if (kd is not None and t) else None})
    return rows


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="teacher (MiniLM-L6) vs 3-layer student")
    for col in ("task", "metric", "teacher", "student", "student+KD", "retention", "retention+KD"):
        table.add_column(col)
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    for r in rows:
        table.add_row(r["task"], r["metric"], fmt(r["teacher"]), fmt(r["student"]), fmt(r["student_kd"]),
                      fmt(r["retention"]), fmt(r["retention_kd"]))
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
