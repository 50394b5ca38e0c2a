"""int8-hadamard's block size: error and latency of dynamic int8 with and without Hadamard rotations.

    python benchmarks/bench_hadamard.py [--model minilm] [--sentences 200] [--rounds 5] [--threads 1]

Converts MODEL's embed head to a fp32 LiteRT file at seq 128 (parity-gated, as `pocketbert convert` does), then
re-quantizes it with `int8-dynamic` and with Hadamard rotations in blocks of 16 / 32 / 64 / 128 / unlimited
(`quantize.dynamic_int8_hadamard`). Error: 1 - cosine between each file's embedding and the fp32 file's, over the
first N STS-B dev sentences (../shared/data). Latency: every file timed in the same rounds, one after the other,
on the same sentences; the median over rounds of each file's time / int8-dynamic's time, with its spread (min-max
of the per-round ratios). Writes only under --work (default build/bench-hadamard).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
SEQ = 128
BLOCKS = (16, 32, 64, 128, None)  # None: the largest power of two dividing each width (384 -> 128, 1536 -> 512)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", type=Path, default=REPO / "build" / "bench-hadamard")
    a = ap.parse_args()

    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import recipe

    from pocketbert.convert import quantize
    from pocketbert.convert.api import convert_model
    from pocketbert.core.models import load_tokenizer

    a.work.mkdir(parents=True, exist_ok=True)
    fp32_dir = a.work / "fp32"
    if not (fp32_dir / "model.tflite").is_file():
        convert_model("tflite", a.model, "embed", [SEQ], "fp32", fp32_dir, force=True, n=16)
    fp32 = fp32_dir / "model.tflite"
    files = {"fp32": fp32}
    recipes = {"int8-dynamic": recipe.dynamic_wi8_afp32(),
               **{f"hadamard-{b or 'max'}": quantize.dynamic_int8_hadamard(b or 1 << 30) for b in BLOCKS}}
    for name, rcp in recipes.items():
        files[name] = a.work / f"{name}.tflite"
        quantize.apply_tflite_recipe(fp32, rcp, files[name])

    tok = load_tokenizer(a.model)
    lines = (DATA / "stsb" / "sts-dev.csv").read_text(encoding="utf-8").splitlines()[:a.sentences]
    feeds = []
    for line in lines:
        enc = tok(line.split("\t")[5], padding="max_length", max_length=SEQ, truncation=True, return_tensors="np")
        feeds.append({k: enc[k].astype(np.int32) for k in ("input_ids", "attention_mask", "token_type_ids")})
    runners = {name: Interpreter(model_path=str(p), num_threads=a.threads).get_signature_runner(f"seq_{SEQ}")
               for name, p in files.items()}

    def embed(name):  # (N, hidden) embeddings and seconds per sentence
        t0 = time.perf_counter()
        out = np.concatenate([runners[name](**f)["embeddings"] for f in feeds])
        return out, (time.perf_counter() - t0) / len(feeds)

    ref = embed("fp32")[0]
    err = {}
    times: dict[str, list[float]] = {name: [] for name in files}
    for r in range(a.rounds):
        for name in files:
            e, t = embed(name)
            times[name].append(t)
            if r == 0:  # the files are deterministic: one round gives the error
                cos = (e * ref).sum(1) / np.linalg.norm(e, axis=1) / np.linalg.norm(ref, axis=1)
                err[name] = float(1 - cos.mean())
    print(f"{a.model} embed, seq {SEQ}, {len(feeds)} STS-B dev sentences, {a.rounds} interleaved rounds, "
          f"{a.threads} thread(s)")
    print(f"{'file':<16} {'MB':>6} {'1-cos':>9} {'ms':>7} {'time / int8-dynamic (median [min-max])':>40}")
    for name, path in files.items():
        ratios = [t / d for t, d in zip(times[name], times["int8-dynamic"])]
        print(f"{name:<16} {path.stat().st_size / 1e6:6.1f} {err[name]:9.2e} {statistics.median(times[name]) * 1e3:7.1f} "
              f"{statistics.median(ratios):>22.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")


if __name__ == "__main__":
    main()
