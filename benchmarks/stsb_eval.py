"""STS-B dev Spearman of mean-pooled sentence embeddings (no fine-tuning), for any number of model dirs.

    .venv/bin/python benchmarks/stsb_eval.py minilm build/demo/init build/demo/student

Each model embeds both sentences (masked mean of the last hidden states, as all-MiniLM-L6-v2 does), the cosine
of the pair is the prediction, and Spearman's rank correlation against the gold scores is the metric.
Data: ../shared/data/stsb/sts-dev.csv (tab-separated: genre, file, year, id, score, sentence1, sentence2).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb" / "sts-dev.csv"
BATCH = 64


def read_stsb(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    s1, s2, gold = [], [], []
    with open(path, encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            gold.append(float(row[4]))
            s1.append(row[5])
            s2.append(row[6])
    return s1, s2, np.asarray(gold)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of average ranks (ties share their mean rank)."""
    def ranks(x):
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):  # average ties
            idx = x == v
            if idx.sum() > 1:
                r[idx] = r[idx].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def embed(model, tokenizer, sentences: list[str]):
    import torch

    from pocketbert.core.pooling import mean_pool

    out = []
    with torch.no_grad():
        for i in range(0, len(sentences), BATCH):
            enc = tokenizer(sentences[i:i + BATCH], padding=True, truncation=True, max_length=128, return_tensors="pt")
            enc.pop("token_type_ids", None) if model.config.model_type == "distilbert" else None
            hidden = model(**enc).last_hidden_state  # (bs, seq, dim)
            out.append(mean_pool(hidden, enc["attention_mask"]))  # (bs, dim), L2-normalized
    return torch.cat(out)


def stsb_spearman(model_name: str, data: Path = DEFAULT_DATA) -> float:
    from transformers import AutoModel

    from pocketbert.core.models import load_tokenizer, resolve_model

    s1, s2, gold = read_stsb(data)
    model = AutoModel.from_pretrained(resolve_model(model_name)).eval()
    tok = load_tokenizer(model_name)
    e1, e2 = embed(model, tok, s1), embed(model, tok, s2)
    cos = (e1 * e2).sum(-1).numpy()
    return spearman(cos, gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("POCKETBERT_STSB", DEFAULT_DATA)))
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"STS-B dev not found at {args.data}")
    for m in args.models:
        print(f"{m}\tSTS-B dev Spearman (mean pooling) = {stsb_spearman(m, args.data):.4f}", flush=True)


if __name__ == "__main__":
    main()
