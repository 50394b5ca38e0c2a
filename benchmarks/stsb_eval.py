"""STS-B dev Spearman of mean-pooled sentence embeddings (no fine-tuning), for any number of model dirs.

    .venv/bin/python benchmarks/stsb_eval.py minilm build/demo/init build/demo/student

A loop over `pocketbert evaluate sts` (pocketbert.distill.evaluate.evaluate_sts): each model embeds both
sentences (masked mean of the last hidden states, as all-MiniLM-L6-v2 does), the cosine of the pair is the
prediction, and Spearman's rank correlation against the gold scores is the metric.
Data: ../shared/data/stsb/sts-dev.csv (or $POCKETBERT_STSB).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb" / "sts-dev.csv"


def main() -> None:
    from pocketbert.distill.evaluate import evaluate_sts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("POCKETBERT_STSB", DEFAULT_DATA)))
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"STS-B dev not found at {args.data}")
    for m in args.models:
        rho = evaluate_sts(m, args.data, device="cpu")["spearman"]
        print(f"{m}\tSTS-B dev Spearman (mean pooling) = {rho:.4f}", flush=True)


if __name__ == "__main__":
    main()
