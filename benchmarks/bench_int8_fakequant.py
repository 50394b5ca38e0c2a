"""Which weights' int8 rounding changes a QA model's answers? PyTorch fake quantization, no converter involved.

    python benchmarks/bench_int8_fakequant.py --model build/qa-models-e6/models/student \
        --data build/qa-models-e6/data/eval.json [--variant linears --variant ffn-out ...]

Each variant rounds one group of the model's weights to symmetric min-max int8 and back (what ai-edge-quantizer's
`weight_only_wi8_afp32` stores: one scale per output channel of a Linear, one per row of the word-embedding table;
`linears-block32`: one scale per output channel and block of 32 input channels, as onnxruntime's int8-block) and
leaves every activation fp32, then answers every question of --data (windows of 384, stride 128) and prints the share
of questions whose answer span is the unrounded model's. Why: LiteRT's weight-only int8 file of the SQuAD pair
loses as many spans as its dynamic int8 file (README "SQuAD"), so the weights, not the activations, are what to fix,
and this says which ones without a conversion per guess. One thread; ~1 min per variant for the 3-layer student.
Writes nothing.
"""
from __future__ import annotations

import argparse
import re
import sys
import time

import numpy as np

from pocketbert.core.errors import PocketbertError

INT8_MAX = 127
BLOCK = 32
MAX_LEN, DOC_STRIDE = 384, 128
# Module-name patterns per group of linears, for BERT and DistilBERT.
GROUPS = {
    "qkv": r"\.(q_lin|k_lin|v_lin|self\.query|self\.key|self\.value)$",
    "attn-out": r"\.(out_lin|attention\.output\.dense)$",
    "ffn-in": r"\.(lin1|intermediate\.dense)$",
    "ffn-out": r"(\.lin2|(?<!attention)\.output\.dense)$",
    "span-head": r"qa_outputs$",
}
VARIANTS = ("linears", "linears-block32", *GROUPS, "word-embeddings")


def round_rows(w):
    """w (out, in) -> the same rounded to int8 with one scale per row (symmetric min-max), back in float."""
    import torch

    scale = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / INT8_MAX  # (out, 1)
    return torch.round(w / scale).clamp(-INT8_MAX, INT8_MAX) * scale


def round_blocks(w, block: int = BLOCK):
    """w (out, in) -> rounded with one scale per row and block of `block` input channels."""
    out_dim, in_dim = w.shape
    return round_rows(w.reshape(out_dim * (in_dim // block), block)).reshape(out_dim, in_dim)


def linears(model, group: str | None):
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and (group is None or re.search(GROUPS[group], name)):
            yield module


def apply(model, variant: str) -> int:
    """Round the variant's weights in place; returns how many tensors it rounded."""
    if variant == "word-embeddings":
        emb = model.base_model.embeddings.word_embeddings.weight  # (vocab, hidden)
        emb.copy_(round_rows(emb))
        return 1
    rounder = round_blocks if variant == "linears-block32" else round_rows
    mods = list(linears(model, None if variant.startswith("linears") else variant))
    for m in mods:
        m.weight.copy_(rounder(m.weight))
    return len(mods)


def spans(model, tokenizer, examples) -> list[tuple[int, int]]:
    from pocketbert.core.qa import answer_question

    return [(a.start_char, a.end_char) for a in
            (answer_question(model, tokenizer, ex.question, ex.context, max_len=MAX_LEN, doc_stride=DOC_STRIDE)
             for ex in examples)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a PyTorch QA model dir")
    ap.add_argument("--data", required=True, help="SQuAD JSON whose questions are answered")
    ap.add_argument("--variant", action="append", choices=VARIANTS, help="default: all")
    a = ap.parse_args()
    try:
        import torch
        from transformers import AutoModelForQuestionAnswering

        from pocketbert.core.models import load_tokenizer
        from pocketbert.core.squad import read_squad

        torch.set_num_threads(1)
        examples = read_squad(a.data)
        tokenizer = load_tokenizer(a.model)
        load = lambda: AutoModelForQuestionAnswering.from_pretrained(a.model).eval()  # noqa: E731
        with torch.no_grad():
            reference = spans(load(), tokenizer, examples)
            for variant in a.variant or VARIANTS:
                started, model = time.perf_counter(), load()
                rounded = apply(model, variant)
                same = np.mean([x == y for x, y in zip(spans(model, tokenizer, examples), reference)])
                print(f"{variant:<16} {rounded:3d} tensors int8  same span {same:.1%} of {len(examples)}  "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    except (PocketbertError, OSError) as exc:
        sys.exit(f"Error: {exc}")


if __name__ == "__main__":
    main()
