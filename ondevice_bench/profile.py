"""Where the time of a BERT-family forward pass goes: embeddings / attention / FFN / head / rest.

`python -m pocketbert.bench.profile [--models bert-base,distilbert-base] [--seq-len 384] [--threads 2]` times
PyTorch eager with forward hooks (random weights, the same public shapes `bench pair` uses). It explains the
student/teacher latency ratio: only the encoder layers halve, embeddings and head cost the same in both.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

# (module-name test, category); first match wins. Names follow transformers' Bert* and DistilBert* modules.
CATEGORIES = (
    (lambda n: n.endswith(".embeddings"), "embedding"),  # not its word_/position_embeddings children
    # DistilBERT keeps each LayerNorm beside its block; BERT's sit inside attention.output / output.
    (lambda n: n.endswith(".attention") or n.endswith(".sa_layer_norm"), "attention"),
    (lambda n: n.endswith(".intermediate") or n.endswith(".ffn") or n.endswith(".output_layer_norm")
     or (n.endswith(".output") and ".attention." not in n), "ffn"),
    (lambda n: n.endswith("qa_outputs") or n.endswith("classifier") or n.endswith("vocab_projector"), "head"),
)
RUNS = 5


def profile(spec: str, seq_len: int, threads: int, runs: int = RUNS) -> dict[str, float]:
    """Mean ms per category over `runs` forward passes (after one warm-up)."""
    import torch
    import transformers
    from transformers import BertConfig, DistilBertConfig

    from pocketbert.core.registry import PUBLIC_ARCHITECTURES as ARCHITECTURES

    torch.set_num_threads(threads)
    model_type, cfg = ARCHITECTURES[spec]
    config = (BertConfig if model_type == "bert" else DistilBertConfig)(**cfg)
    model = transformers.AutoModelForQuestionAnswering.from_config(config).eval()
    spent: dict[str, float] = defaultdict(float)
    started: dict[str, float] = {}
    for name, module in model.named_modules():
        cat = next((c for test, c in CATEGORIES if test(name)), None)
        if cat is None:
            continue
        module.register_forward_pre_hook(lambda m, a, n=name: started.__setitem__(n, time.perf_counter()))
        module.register_forward_hook(lambda m, a, o, n=name, c=cat: spent.__setitem__(
            c, spent[c] + time.perf_counter() - started[n]))
    ids = torch.randint(1000, 30000, (1, seq_len))  # (1, seq)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
        spent.clear()
        t0 = time.perf_counter()
        for _ in range(runs):
            model(input_ids=ids, attention_mask=mask)
        total = time.perf_counter() - t0
    out = {c: 1e3 * v / runs for c, v in spent.items()}
    out["rest"] = 1e3 * total / runs - sum(out.values())
    out["total"] = 1e3 * total / runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bert-base,distilbert-base")
    parser.add_argument("--seq-len", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    cats = ("embedding", "attention", "ffn", "head", "rest", "total")
    rows = {m: profile(m, args.seq_len, args.threads, args.runs) for m in args.models.split(",")}
    print(f"PyTorch eager, seq {args.seq_len}, {args.threads} threads, mean ms over {args.runs} runs")
    print(f"{'model':<18}" + "".join(f"{c:>11}" for c in cats))
    for m, r in rows.items():
        print(f"{m:<18}" + "".join(f"{r.get(c, 0.0):>11.1f}" for c in cats))
    if len(rows) == 2:
        (a, ra), (b, rb) = rows.items()
        print("ratio " + f"{b}/{a}: " + ", ".join(f"{c} {rb.get(c, 0) / ra[c]:.2f}" for c in cats if ra.get(c)))


if __name__ == "__main__":
    main()
