"""Do two quantized QA artifacts keep different shares of their fp32 file's answers, beyond the noise of the questions?

    python benchmarks/bench_int8_paired.py --data build/qa-recipe/dev4.json --reference build/hadamard-dev/M-fp32 \
        build/hadamard-dev/M/hadamard-32 build/hadamard-dev/M/hadamard-128

Runs the reference (a fp32 artifact of the same model) and each of A and B on every question of --data the way the
apps run them (`evaluate_artifact`, one thread), counts per question whether A / B gave the reference's answer, and
prints both shares and B - A with a paired bootstrap interval over the questions (2000 resamples). Why paired: on a
trained QA model both files flip mostly the same near-tie questions, so two unpaired shares a point apart say little.
Writes nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from pocketbert.core.artifact_eval import evaluate_artifact
from pocketbert.core.errors import PocketbertError
from pocketbert.core.squad import SHARE_LEVEL, SHARE_RESAMPLES

SEED = 0


def answers(artifact: Path, data: Path) -> dict[str, str]:
    """{question id: answer text} of `artifact` run as the apps run it."""
    return evaluate_artifact(artifact, "qa", data, compare=False, threads=1, progress=False,
                             predictions=True)["predictions"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="SQuAD JSON, e.g. a dev split's held-out articles")
    ap.add_argument("--reference", type=Path, required=True, help="the fp32 artifact dir of the same model")
    ap.add_argument("a", type=Path, help="quantized artifact dir A")
    ap.add_argument("b", type=Path, help="quantized artifact dir B")
    args = ap.parse_args()
    try:
        ref = answers(args.reference, args.data)
        ids = sorted(ref)
        a, b = (np.array([got[i] == ref[i] for i in ids], dtype=float)  # (questions,) 1 = the reference's answer
                for got in (answers(args.a, args.data), answers(args.b, args.data)))
    except PocketbertError as exc:  # a missing artifact dir or data file, a non-QA artifact: one line
        sys.exit(f"Error: {exc}")
    rows = np.random.default_rng(SEED).integers(0, len(ids), (SHARE_RESAMPLES, len(ids)))  # (resamples, questions)
    diff = b[rows].mean(axis=1) - a[rows].mean(axis=1)
    lo, hi = np.quantile(diff, [(1 - SHARE_LEVEL) / 2, (1 + SHARE_LEVEL) / 2])
    print(f"{len(ids)} questions; same answer as {args.reference}: A {a.mean():.1%} ({args.a}), B {b.mean():.1%} "
          f"({args.b}); B - A {b.mean() - a.mean():+.1%} [{lo:+.1%}, {hi:+.1%}] ({SHARE_LEVEL:.0%}, paired); "
          f"{int((a != b).sum())} questions answered differently by A and B")


if __name__ == "__main__":
    main()
