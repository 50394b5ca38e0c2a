"""Student step time of task distillation with the teacher's logits cached vs a teacher forward per step.

    python benchmarks/bench_kd_cache.py --teacher build/qa-models/models/teacher \
        --student build/qa-models/models/student-init --train build/qa-models/data/train.json

Interleaved rounds (cached, online, cached, online ...) of --steps optimizer steps each, on the same batches and a
fresh student per round, so a noisy box slows both alike; prints per-round s/step, the median ratio cached/online
with its interquartile range, and the one-off cost of computing the cache (a full-length teacher pass over every
training window). Nothing is written.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pocketbert.bench.report import ratio_spread
from pocketbert.core.model_io import forward_inputs
from pocketbert.core.models import load_model, load_tokenizer
from pocketbert.core.quiet import quiet_third_party
from pocketbert.core.squad import read_squad
from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.finetune import (TrainConfig, epoch_batches, qa_losses, qa_train_features, teacher_logits,
                                         teacher_outputs, trim_padding)


def timed_steps(student, teacher, tensors: dict, batches: list, cfg: TrainConfig, cache) -> float:
    """Seconds per optimizer step over `batches` (forward, loss, backward, AdamW), with or without the cache."""
    optim = torch.optim.AdamW(student.parameters(), lr=cfg.lr)
    start = time.perf_counter()
    for idx in batches:
        batch = trim_padding({k: v[idx] for k, v in tensors.items()})
        out = student(**forward_inputs(student, batch))
        t_out = teacher_outputs(teacher, cache, idx, batch, "cpu")
        ce, kd = qa_losses(out, batch, t_out, cfg.temperature)
        ((1 - cfg.alpha_kd) * ce + cfg.alpha_kd * kd).backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    quiet_third_party()  # before transformers is imported: no load-report bars in logs
    from transformers import AutoModelForQuestionAnswering

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--student", required=True)
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--doc-stride", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10, help="optimizer steps per round")
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()

    cfg = TrainConfig(batch_size=args.batch_size, lr=2e-4)
    tensors = qa_train_features(load_tokenizer(args.student), read_squad(args.train), args.max_len, args.doc_stride, 64)
    teacher = load_model(AutoModelForQuestionAnswering, args.teacher).eval()
    use_onednn_linears(teacher)
    t0 = time.perf_counter()
    cache = teacher_logits(teacher, tensors, args.batch_size, "cpu", "bench")
    cache_s = time.perf_counter() - t0
    lengths = tensors["attention_mask"].sum(1)  # (n,)
    batches = epoch_batches(lengths, args.batch_size, torch.Generator().manual_seed(0), True)[:args.steps]
    rows = []
    for r in range(args.rounds):
        per = {}
        for mode in ("cached", "online"):
            student = load_model(AutoModelForQuestionAnswering, args.student).train()
            use_onednn_linears(student)
            per[mode] = timed_steps(student, teacher, tensors, batches, cfg, cache if mode == "cached" else None)
        rows.append(per)
        print(f"round {r + 1}: cached {per['cached']:.3f} s/step, online {per['online']:.3f} s/step, "
              f"ratio {per['cached'] / per['online']:.3f}", flush=True)
    spread = ratio_spread([p["cached"] / p["online"] for p in rows])
    lo, hi = spread["iqr"]
    n = len(tensors["input_ids"])
    print(f"median ratio cached/online {spread['median']:.3f} [IQR {lo:.3f}-{hi:.3f}]"
          f"{' UNSTABLE' if spread['unstable'] else ''} over {len(rows)} rounds "
          f"x {len(batches)} steps; cache of {n} windows computed in {cache_s:.1f} s "
          f"({cache_s / (n / args.batch_size):.3f} s per batch of {args.batch_size})")


if __name__ == "__main__":
    main()
