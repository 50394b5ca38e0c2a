"""Student recipes of `qa-models` compared on a dev split that the reported articles never enter.

    python benchmarks/bench_qa_recipe.py --out build/qa-recipe --arm 0.5,2,4 --arm 1,1,4 --arm 1,2,4 --arm 1,4,4
    python benchmarks/bench_qa_recipe.py --out build/qa-recipe --arm 1,4,4 --arm 1,4,6   # 4 vs 6 student epochs
    python benchmarks/bench_qa_recipe.py --device cuda --out build/qa-recipe-cuda --arm 0.5,2 --arm 1,4,6
    python benchmarks/bench_qa_recipe.py --out build/qa-recipe --arm 1,4,6 --arm 1,4,2,2   # 2 masked copies, same steps
    python benchmarks/bench_qa_recipe.py --out build/qa-recipe --arm 1,4,6 --arm 1,4,6,0,1e-4   # student lr 1e-4

A teacher is fine-tuned on SQuAD articles 1-16 only (the profile's teacher recipe: `--device cpu` the CPU profile,
`cuda` the GPU one, as `qa-models --device` picks them), its 3-layer copy is made (`init-student` with qa-models'
layer map: every other layer), and each arm (alpha_kd,temperature[,epochs[,copies[,lr]]]) task-distills that copy
with the profile's student recipe (its epochs, masked copies (`finetune --augment-copies`) and learning rate, unless
the arm names them),
scored on articles 17-20; articles 21-24, which
`make qa-models` reports on, are never read. On CPU, arms run `--parallel` at a time with one thread each (side by
side, so a noisy box slows them alike); on a GPU one at a time. Every
model dir is kept: a re-run skips the teacher, the copy and every finished arm (an interrupted arm starts over).
Prints EM/F1 per arm and its share of the teacher's F1, with paired-bootstrap intervals over the dev questions
when the models saved their answers (the share's, and each arm's F1 ratio to the first arm with answers: an arm
is better than that one only when the interval lies above 1); writes OUT/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from pocketbert.core.atomic import write_json
from pocketbert.core.errors import PocketbertError
from pocketbert.core.squad import SHARE_LEVEL, SHARE_MIN_QUESTIONS, f1_share_interval, read_squad, write_squad_subset
from pocketbert.distill.finetune import PREDICTIONS_FILE
from pocketbert.qa_models import DEFAULT_DATA, PROFILES, STUDENT_LAYERS

DEV_TRAIN_ARTICLES = 16  # articles 1-16 train the teacher and the students ...
DEV_EVAL_ARTICLES = 4    # ... 17-20 score them
# Arms trained at this learning rate have no -lr in their dir name: every arm before the rate became an arm setting
# ran at it (the CPU profile's student lr), and their dirs keep their names.
UNNAMED_LR = 2e-4


def pocketbert(*args: str, log: Path | None = None, threads: int | None = None) -> subprocess.Popen:
    """The `pocketbert` CLI next to this interpreter, as a user would run it (output to `log` when given)."""
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {}))
    exe = Path(sys.executable).with_name("pocketbert")
    if log is None:
        return subprocess.Popen([str(exe), *args], env=env)
    with open(log, "w") as out:  # the child holds its own copy of the file; ours closes once it has started
        return subprocess.Popen([str(exe), *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def finished(model_dir: Path) -> dict | None:
    path = model_dir / "eval_results.json"
    return json.loads(path.read_text()) if path.is_file() else None


def saved_answers(model_dir: Path) -> dict | None:
    """The eval answers `finetune qa` saved with the model (finetune.PREDICTIONS_FILE), if it did."""
    path = model_dir / PREDICTIONS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def wait_ok(proc: subprocess.Popen, what: str) -> None:
    if proc.wait() != 0:
        sys.exit(f"{what} failed (exit {proc.returncode}); see its log")


def arm(text: str) -> tuple[float, float, float | None, int | None, float | None]:
    """ALPHA_KD,T[,EPOCHS[,COPIES[,LR]]] -> (alpha_kd, temperature, epochs, masked copies, learning rate; None: the
    profile's), checked as `finetune qa` checks them."""
    try:
        numbers = [float(x) for x in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3, 4, 5):
        raise argparse.ArgumentTypeError(f"{text!r} is not ALPHA_KD,T[,EPOCHS[,COPIES[,LR]]] (e.g. 1,4 or 1,4,6 or "
                                         "1,4,2,2 or 1,4,6,0,1e-4)")
    a, t, epochs, copies, lr = (*numbers, None, None, None)[:5]
    if not (0 <= a <= 1 and t > 0 and (epochs is None or epochs > 0)
            and (copies is None or (copies >= 0 and copies == int(copies))) and (lr is None or lr > 0)):
        raise argparse.ArgumentTypeError(f"{text!r}: ALPHA_KD must be in [0, 1], T, EPOCHS and LR > 0, COPIES a "
                                         "whole number >= 0")
    return a, t, epochs, None if copies is None else int(copies), lr


def arm_name(a: float, t: float, epochs: float, copies: int, mask: float, lr: float) -> str:
    """student-a1-T4-e6 (-aug2-m0.15 with masked copies at that mask rate, -lr0.0001 at a rate other than UNNAMED_LR):
    every setting in the name, so a changed profile default never reuses another arm's dir."""
    return (f"student-a{a:g}-T{t:g}-e{epochs:g}" + (f"-aug{copies}-m{mask:g}" if copies else "")
            + (f"-lr{lr:g}" if lr != UNNAMED_LR else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("build/qa-recipe"))
    ap.add_argument("--arm", action="append", required=True, metavar="ALPHA_KD,T[,EPOCHS[,COPIES[,LR]]]", type=arm,
                    help="a student recipe: soft-target weight, temperature and optionally epochs, masked copies "
                         "of the training windows and learning rate, e.g. 1,4 or 1,4,6 or 1,4,2,2 or 1,4,6,0,1e-4 "
                         "(repeat)")
    ap.add_argument("--parallel", type=int, default=2, help="arms trained at a time, one thread each (CPU only)")
    ap.add_argument("--device", choices=sorted(PROFILES), default="cpu",
                    help="cpu: the CPU profile, arms side by side; cuda: the GPU profile (seq 384), one arm at a time")
    ap.add_argument("--teacher", default="minilm", help="the model the dev teacher is fine-tuned from")
    args = ap.parse_args()
    p, out = PROFILES[args.device], args.out
    arms = [(a, t, e or p.epochs_of("student"), p.augment_copies if c is None else c, p.augment_mask,
             lr or p.lr_student) for a, t, e, c, lr in args.arm]
    gpu = args.device == "cuda"
    parallel, threads = (1, None) if gpu else (args.parallel, 1)  # one GPU: arms take turns on it
    train, dev = out / "train16.json", out / "dev4.json"
    try:
        write_squad_subset(args.data, train, 0, DEV_TRAIN_ARTICLES)
        write_squad_subset(args.data, dev, DEV_TRAIN_ARTICLES, DEV_EVAL_ARTICLES)
    except PocketbertError as exc:  # missing or too-short --data: one line, before any training
        sys.exit(f"Error: {exc}")
    common = ["--train", str(train), "--eval", str(dev), "--batch-size",
              str(p.batch_size), "--max-len", str(p.max_len), "--doc-stride", str(p.doc_stride), "--device", args.device]
    teacher, init = out / "teacher16", out / "init16"
    if not finished(teacher):
        print(f"fine-tuning the dev teacher -> {teacher} (log {out / 'teacher16.log'})", flush=True)
        wait_ok(pocketbert("finetune", "qa", "--model", args.teacher, *common, "--epochs", f"{p.epochs:g}", "--lr",
                           f"{p.lr_teacher:g}", "--out", str(teacher), "--force", log=out / "teacher16.log"),
                "the teacher's fine-tuning")
    if not (init / "config.json").is_file():
        layers = [] if STUDENT_LAYERS is None else ["--layers", STUDENT_LAYERS, "--sample-data", str(train)]
        wait_ok(pocketbert("init-student", "--teacher", str(teacher), "--out", str(init), *layers, "--force",
                           log=out / "init16.log"), "init-student")  # qa-models' map
    todo = [r for r in arms if not finished(out / arm_name(*r))]
    for start in range(0, len(todo), parallel):
        running = []
        for a, t, epochs, copies, mask, lr in todo[start : start + parallel]:
            name = arm_name(a, t, epochs, copies, mask, lr)
            print(f"training {name} (log {out / (name + '.log')})", flush=True)
            running.append((name, pocketbert("finetune", "qa", "--model", str(init), "--teacher", str(teacher),
                                             *common, "--epochs", f"{epochs:g}", "--lr",
                                             f"{lr:g}", "--alpha-kd", f"{a:g}", "--temperature", f"{t:g}",
                                             "--augment-copies", str(copies),
                                             "--augment-mask", f"{mask:g}",
                                             "--out", str(out / name), "--force", log=out / f"{name}.log",
                                             threads=threads)))
        for name, proc in running:
            wait_ok(proc, name)
    t_res = finished(teacher)
    examples, first = read_squad(dev), None
    rows = []
    t_answers = saved_answers(teacher)
    for a, t, e, c, m, lr in arms:
        name = arm_name(a, t, e, c, m, lr)
        if not (r := finished(out / name)):
            continue
        row = {"alpha_kd": a, "temperature": t, "epochs": e, "augment_copies": c, "lr": lr,
               **{k: r[k] for k in ("eval_exact_match", "eval_f1", "eval_n")},
               "share_of_teacher_f1": r["eval_f1"] / t_res["eval_f1"]}
        if (answers := saved_answers(out / name)) and t_answers and len(examples) >= SHARE_MIN_QUESTIONS:
            row["share_interval"] = f1_share_interval(examples, answers, t_answers)
            first = first or (name, r["eval_f1"], answers)  # the arm the later ones are compared with
            if first[0] != name:  # paired: both students answer the same resampled questions
                row["compared_with"] = first[0]
                row["f1_ratio"] = r["eval_f1"] / first[1]
                row["f1_ratio_interval"] = f1_share_interval(examples, answers, first[2])
        rows.append(row)
    write_json(out / "results.json", {"teacher": {k: t_res[k] for k in ("eval_exact_match", "eval_f1", "eval_n")},
                                      "students": rows, "interval_level": SHARE_LEVEL})
    print(f"teacher (articles 1-{DEV_TRAIN_ARTICLES}): EM {t_res['eval_exact_match']:.2f}  F1 {t_res['eval_f1']:.2f}"
          f"  ({t_res['eval_n']} dev questions)")
    for r in rows:
        share = f"{100 * r['share_of_teacher_f1']:.1f}% of the teacher"
        if "share_interval" in r:
            share += " [{:.1f}-{:.1f}]".format(*(100 * x for x in r["share_interval"]))
        if "f1_ratio" in r:
            share += "; F1 x{:.3f} [{:.3f}-{:.3f}] of {}'s".format(r["f1_ratio"], *r["f1_ratio_interval"],
                                                                r["compared_with"])
        copies = f" + {r['augment_copies']} masked copies" if r["augment_copies"] else ""
        print(f"  alpha_kd {r['alpha_kd']:g}  T {r['temperature']:g}  {r['epochs']:g} epochs{copies}  lr {r['lr']:g}: "
              f"EM "
              f"{r['eval_exact_match']:.2f}  F1 {r['eval_f1']:.2f}  ({share})")
    if len(examples) < SHARE_MIN_QUESTIONS:  # a small custom --data: resampled shares run off to absurd bounds
        print(f"[no intervals: {len(examples)} dev questions, fewer than {SHARE_MIN_QUESTIONS}]")
    if any("share_interval" in r for r in rows):
        print(f"[brackets: {SHARE_LEVEL:.0%} intervals over resampled dev questions, paired; arms without saved "
              "answers have none]")


if __name__ == "__main__":
    main()
