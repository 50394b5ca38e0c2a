"""Which ops make dynamic int8 change answers? Re-quantize a fp32 LiteRT QA artifact with recipes that keep one
group of ops fp32, or that rotate every linear's input by Hadamard blocks of a given size, and run the parity gate
on each (the sweeps behind `--precision int8-mixed` and `int8-hadamard`'s block size, README).

    python benchmarks/bench_int8_sensitivity.py build/qa-models/artifacts/teacher-tflite-fp32 \
        --data build/qa-models/data/eval.json [--variant ffn-float --variant hadamard-32 ...]

The gate's windows come from --data. The training articles do not discriminate: the model fits them, so its spans
have wide margins (the SQuAD teacher's all-int8 file: 100% same span on train.json vs 95.3% on eval.json), which is
why int8-hadamard's block size was first chosen on an embedding model (benchmarks/bench_hadamard.py) and later
measured on the dev split's models (trained on articles 1-16, windows of articles 17-20: README "SQuAD"). The gate's
192 windows are a coarse measure on trained QA models; score each variant dir on every question with `pocketbert
evaluate qa --model DIR --data ... --source MODEL` and compare two of them with benchmarks/bench_int8_paired.py.

Writes nothing outside --work (default build/int8-sensitivity/<artifact>); prints size and same-span agreement.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from pocketbert.convert import quantize
from pocketbert.convert.parity import run_parity
from pocketbert.core.manifest import artifact_sha256
from pocketbert.core.registry import PARITY_SAMPLES

LINEAR = r"torch\.nn\.modules\.linear\.Linear_"
# Scope regexes (torch module paths in litert-torch's tensor names) for BERT and DistilBERT.
VARIANTS = {
    "all-int8": None,
    "ffn-out-float": rf"(BertOutput_output/{LINEAR}dense|FFN_ffn/{LINEAR}lin2)",
    "ffn-in-float": rf"(BertIntermediate_intermediate/{LINEAR}dense|FFN_ffn/{LINEAR}lin1)",
    "ffn-float": quantize.TFLITE_FLOAT_FFN_REGEX,
    "qa-head-float": rf"{LINEAR}qa_outputs",
    # DistilBERT's attention module is MultiHeadSelfAttention in older transformers, DistilBertSelfAttention now.
    "attn-out-float": rf"(BertSelfOutput_output/{LINEAR}dense|(MultiHead|DistilBert)SelfAttention_attention/{LINEAR}out_lin)",
    "attention-float": (rf"(BertSelfAttention_self/{LINEAR}(query|key|value)|BertSelfOutput_output/{LINEAR}dense"
                        rf"|(MultiHead|DistilBert)SelfAttention_attention/{LINEAR}(q_lin|k_lin|v_lin|out_lin))"),
    "embedding-float": r"torch\.nn\.modules\.sparse\.Embedding_word_embeddings",
}
# Every op int8, inputs rotated by Hadamard blocks of this many channels (quantize.dynamic_int8_hadamard).
HADAMARD_BLOCKS = {f"hadamard-{b}": b for b in (16, 32, 64, 128)}
# The same with the word-embedding table stored float16 (weight-only, dequantized at load) instead of int8.
EMB_FP16_HADAMARD = {f"emb-fp16-hadamard-{b}": b for b in (32, 64)}
# Every op int8 with Hadamard blocks of 32, except the FFN output linears (1536 inputs), or both FFN linears, rotated
# by blocks of 128: in PyTorch fake quantization of the SQuAD pair their per-channel weight rounding changed the most
# spans (student FFN output 2.7%, teacher FFN input 1.7% / output 1.4%; every other group <= 1.0%; README "SQuAD").
WIDER_FFN_ROTATION = {"hadamard-32-ffn-out-128": (32, 128, "ffn-out-float"), "hadamard-32-ffn-128": (32, 128, "ffn-float"),
                      "hadamard-32-attn-128": (32, 128, "attention-float")}
# Weight-only int8 (every weight int8 per channel, dequantized for fp32 compute: no activation is quantized), alone
# or with the word-embedding table fp32: what the weights' rounding alone costs, and which weights.
WEIGHT_ONLY = {"weight-only": None, "weight-only-embedding-float": VARIANTS["embedding-float"]}
# int8-mixed's float FFN with every other linear rotated by Hadamard blocks of 32 (the two recipes that each kept
# 97.6% of the student's spans remove different errors: the FFN's weight rounding, the attention's outlier channels),
# optionally with the word-embedding table float16 (its int8 rounding alone changed 0.6% of either model's spans).
HYBRID = {"hadamard-32-ffn-float": (32, False), "hadamard-32-ffn-float-emb-fp16": (32, True)}
ALL_VARIANTS = [*VARIANTS, *HADAMARD_BLOCKS, *EMB_FP16_HADAMARD, *WEIGHT_ONLY, *WIDER_FFN_ROTATION, *HYBRID]


def variant_recipe(name: str):
    from ai_edge_quantizer import recipe

    if name in HADAMARD_BLOCKS:
        return quantize.dynamic_int8_hadamard(HADAMARD_BLOCKS[name])
    if name in WIDER_FFN_ROTATION:
        block, wider_block, scope = WIDER_FFN_ROTATION[name]
        wider = quantize.dynamic_int8_hadamard(wider_block)
        return quantize.dynamic_int8_hadamard(block) + [{**entry, "regex": VARIANTS[scope]} for entry in wider]
    if name in WEIGHT_ONLY:
        keep = WEIGHT_ONLY[name]
        return quantize.keeping_float(recipe.weight_only_wi8_afp32(), keep) if keep else recipe.weight_only_wi8_afp32()
    if name in HYBRID:
        block, embedding_fp16 = HYBRID[name]
        emb = [{**quantize.TFLITE_FP16_RECIPE[0], "regex": VARIANTS["embedding-float"]}] if embedding_fp16 else []
        return quantize.keeping_float(quantize.dynamic_int8_hadamard(block), VARIANTS["ffn-float"]) + emb
    if name in EMB_FP16_HADAMARD:
        return quantize.dynamic_int8_hadamard(EMB_FP16_HADAMARD[name]) + [
            {**quantize.TFLITE_FP16_RECIPE[0], "regex": VARIANTS["embedding-float"]}]
    return quantize.dynamic_int8_keeping_float(VARIANTS[name]) if VARIANTS[name] else recipe.dynamic_wi8_afp32()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact", type=Path, help="a fp32 LiteRT QA artifact dir")
    ap.add_argument("--data", type=Path, required=True, help="SQuAD JSON the gate draws its windows from")
    ap.add_argument("--variant", action="append", choices=ALL_VARIANTS, help="default: all")
    ap.add_argument("--n", type=int, default=PARITY_SAMPLES, help="questions per sequence length")
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path("build/int8-sensitivity") / a.artifact.name
    for name in a.variant or ALL_VARIANTS:
        dest = work / name
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(a.artifact, dest)
        rcp = variant_recipe(name)
        t0 = time.perf_counter()
        quantize.apply_tflite_recipe(a.artifact / "model.tflite", rcp, dest / "model.tflite")
        m = json.loads((dest / "manifest.json").read_text())
        m.update(precision="int8-weight" if name in WEIGHT_ONLY else "int8-dynamic",
                 file_size_bytes=(dest / "model.tflite").stat().st_size, sha256=artifact_sha256(dest / "model.tflite"))
        (dest / "manifest.json").write_text(json.dumps(m, indent=2))
        rep = run_parity(dest, data=a.data, n=a.n)
        print(f"{name:<16} {m['file_size_bytes'] / 1e6:7.1f} MB  same span {rep.task_agreement:.1%} of {rep.n}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
