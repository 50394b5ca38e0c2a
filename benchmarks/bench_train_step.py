"""One QA training step of MiniLM-sized models in fp32 / bf16 autocast, with and without attention dropout.

Why: `qa-models` picks its CPU fine-tuning precision and attention dropout for speed (qa_models.CPU_PROFILE); this
measures what each choice buys on the host at hand. The variants are timed in interleaved rounds (fp32, bf16, ...,
then again), since on a shared box the speed drifts within minutes; the report is the median per-round ratio to the
fp32 step with dropout, and its range. The step is finetune.train_loop's: the forward under
finetune.autocast_for, soft-target losses on fp32 logits (finetune.float32_outputs), backward, gradient clipping,
AdamW, with the oneDNN linears that train_loop installs on CPU. Random weights with the packaged MiniLM's shapes
(speed does not depend on the values).

    python benchmarks/bench_train_step.py --layers 3 --layers 6 --threads 2 --rounds 5
"""
from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

import torch
from transformers import AutoConfig, AutoModelForQuestionAnswering

from pocketbert.core.models import resolve_model
from pocketbert.distill.cpu_linear import use_onednn_linears
from pocketbert.distill.finetune import autocast_for, float32_outputs, qa_losses
from pocketbert.distill.training import native_bf16, set_attention_dropout

# (name, precision, attention dropout: None = the model's own 0.1)
VARIANTS = (("fp32", "fp32", None), ("bf16", "bf16", None), ("fp32, no attn dropout", "fp32", 0.0),
            ("bf16, no attn dropout", "bf16", 0.0))
STEPS_PER_ROUND = 2
TEMPERATURE = 4.0  # the CPU profile's


def make_model(path: str, layers: int, attention_dropout: float | None):
    cfg = AutoConfig.from_pretrained(path, num_hidden_layers=layers)
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_config(cfg).train()
    use_onednn_linears(model)
    if attention_dropout is not None:
        set_attention_dropout(model, attention_dropout)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-5)


def train_step(model, optim, precision: str, batch: dict, teacher) -> None:
    with autocast_for(precision, torch.device("cpu")):
        out = model(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
    _, kd = qa_losses(float32_outputs(out), batch, teacher, TEMPERATURE)
    kd.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optim.step()
    optim.zero_grad(set_to_none=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, action="append", help="encoder layers (3: the student, 6: the teacher)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=230, help="tokens per window (a typical trimmed batch of seq-256 windows)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = resolve_model("minilm")
    gen = torch.Generator().manual_seed(0)
    b, n = args.batch, args.seq
    batch = {"input_ids": torch.randint(1000, 30000, (b, n), generator=gen),  # (b, n)
             "attention_mask": torch.ones(b, n, dtype=torch.long), "token_type_ids": torch.zeros(b, n, dtype=torch.long),
             "start_positions": torch.randint(0, n, (b,), generator=gen), "end_positions": torch.randint(0, n, (b,), generator=gen)}
    teacher = SimpleNamespace(start_logits=torch.randn(b, n, generator=gen), end_logits=torch.randn(b, n, generator=gen))
    print(f"native bf16 on this CPU: {native_bf16(torch.device('cpu'))}; {args.threads} threads; batch {b} x {n}")
    for layers in args.layers or [3]:
        models = {name: (*make_model(path, layers, drop), precision) for name, precision, drop in VARIANTS}
        for model, optim, precision in models.values():  # warm-up: first-call allocations and kernel choice
            train_step(model, optim, precision, batch, teacher)
        times = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, (model, optim, precision) in models.items():
                t0 = time.perf_counter()
                for _ in range(STEPS_PER_ROUND):
                    train_step(model, optim, precision, batch, teacher)
                times[name].append((time.perf_counter() - t0) / STEPS_PER_ROUND)
        base = times["fp32"]
        print(f"{layers} layers ({args.rounds} interleaved rounds of {STEPS_PER_ROUND} steps):")
        for name, t in times.items():
            ratios = sorted(x / y for x, y in zip(t, base))
            print(f"  {name:<24} {statistics.median(t):6.3f} s/step   x{statistics.median(ratios):.3f} of fp32 "
                  f"(range {ratios[0]:.3f}-{ratios[-1]:.3f})")


if __name__ == "__main__":
    main()
