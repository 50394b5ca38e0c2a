"""What the reference cache saves: the second artifact of one model gated and scored with the first's PyTorch
outputs remembered (pocketbert.core.reference_cache) vs computed again, in one process.

    python benchmarks/bench_reference_cache.py build/qa-models-e6/artifacts/teacher-tflite-int8-mixed \
        build/qa-models-e6/artifacts/teacher-onnx-int8-block --data build/qa-models-e6/data/eval.json

A and B must be artifacts of the same model with the same signatures (as `qa-models` makes them). Prints each
time and B's verdict and scores both ways (they must be equal). One run each: on a shared box repeat it.
Writes nothing.
"""
from __future__ import annotations

import argparse
import sys
import time

from pocketbert.convert.parity import run_parity
from pocketbert.core import reference_cache
from pocketbert.core.artifact_eval import evaluate_artifact
from pocketbert.core.errors import PocketbertError


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="first artifact dir (fills the cache)")
    ap.add_argument("b", help="second artifact dir of the same model")
    ap.add_argument("--data", required=True, help="SQuAD JSON: the gate's questions and the scored questions")
    a = ap.parse_args()
    try:
        for what, run in (("gate", lambda d: run_parity(d, data=a.data)),
                          ("scoring", lambda d: evaluate_artifact(d, "qa", a.data, progress=False))):
            reference_cache.clear()
            first, _ = timed(lambda: run(a.a))
            cached, got = timed(lambda: run(a.b))
            reference_cache.clear()
            fresh, again = timed(lambda: run(a.b))
            show = (lambda r: f"{r.status}, agreement {r.task_agreement:.4f} of {r.n}") if what == "gate" else (
                lambda r: f"F1 {r['f1']:.2f}, same span {r['agreement']:.4f}")
            print(f"{what}: A {first:.1f} s; B with A's reference {cached:.1f} s ({show(got)}); "
                  f"B computing it again {fresh:.1f} s ({show(again)})", flush=True)
    except PocketbertError as exc:
        sys.exit(f"Error: {exc}")


if __name__ == "__main__":
    main()
