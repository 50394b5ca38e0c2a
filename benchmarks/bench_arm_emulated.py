"""LiteRT artifacts answered by ARM's int8 kernels: the phone's XNNPACK code path, run on this x86 box under qemu.

Why: an int8 file's parity verdict depends on the CPU's int8 kernels (x86 without VNNI sums u8 x s8 pairs with
vpmaddubsw, which can saturate; README "The int8 verdicts depend on the CPU"), and the phones run ARM's. qemu-user
emulates an ARM CPU instruction for instruction (integer and IEEE float semantics exact), and XNNPACK picks its
kernels from the emulated CPU's features (getauxval HWCAP), so `--cpu cortex-a76` runs the dot-product (SDOT)
kernels of a 2019+ phone core, `cortex-a53` the plain NEON ones of older/little cores, `max` those with i8mm and SVE.
Only the speed is not the phone's (emulation is tens of times slower): this measures answers, never latency.

Setup once (Debian/Ubuntu x86-64, root; PyPI and the Debian archive reachable):

    sh benchmarks/arm_emulation_setup.sh build/arm      # static qemu-aarch64 + aarch64 Python 3.11 + LiteRT wheels

Then, per artifact dir (LiteRT), the apps' windows and decoder (pocketbert.core.artifact_eval) with the model run
by an aarch64 Python worker (benchmarks/arm_litert_worker.py) under `qemu-aarch64 -cpu CPU`:

    python benchmarks/bench_arm_emulated.py build/qa-models/artifacts/student-tflite-int8-hadamard \
        --data build/qa-models/data/eval.json --arm-root build/arm --cpu cortex-a76 --out build/arm/results.json

Prints, per artifact and CPU, EM/F1, same-span agreement with the PyTorch source (`evaluate_artifact`'s own) and
with the same file run natively here. `--out` keeps every result (re-runs skip what is there: emulation is slow).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from pocketbert.core import artifact_eval
from pocketbert.core.atomic import write_json
from pocketbert.core.backend import Backend, Outputs, prepare_feeds, signature_name
from pocketbert.core.errors import PocketbertError
from pocketbert.core.runtime import Artifact, load_artifact

WORKER = Path(__file__).with_name("arm_litert_worker.py")
QEMU = "bin/qemu-aarch64"           # inside --arm-root (QEMU >= 8.1: see the setup script)
ARM_PYTHON = "usr/bin/python3.11"  # inside --arm-root
ARM_SITE = "site"                  # unpacked aarch64 wheels inside --arm-root
DEFAULT_CPUS = ("cortex-a76",)
HOST = "host"                      # --cpu host: the same file run natively here, for comparison


class EmulatedLiteRT(Backend):
    """A LiteRT file run by the aarch64 worker under qemu; inputs named and typed as the x86 interpreter reads them."""

    runtime = "litert"
    delegate = "xnnpack"

    def __init__(self, native: Backend, arm_root: Path, cpu: str, threads: int) -> None:
        # `native`: the x86 TFLiteBackend of the same file, for its path and its signatures' input names and dtypes
        interpreter = native.interpreter
        self.inputs = {sig: interpreter.get_signature_runner(sig).get_input_details()
                       for sig in interpreter.get_signature_list()}
        env = {**os.environ, "PYTHONPATH": str(arm_root / ARM_SITE), "PYTHONNOUSERSITE": "1"}
        cmd = [str(arm_root / QEMU), "-cpu", cpu, "-L", str(arm_root), str(arm_root / ARM_PYTHON), str(WORKER),
               str(native.path), str(threads)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        sig = signature_name(seq_len)
        details = self.inputs[sig]
        feeds = prepare_feeds(list(details), {n: d["dtype"] for n, d in details.items()}, row)  # each (1, S)
        return lambda: self._call(sig, feeds)

    def _call(self, sig: str, feeds: dict[str, np.ndarray]) -> Outputs:
        buf = io.BytesIO()
        np.savez(buf, __signature__=np.asarray(sig), **feeds)
        data = buf.getvalue()
        self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
        self.proc.stdin.flush()
        head = self.proc.stdout.read(8)
        if len(head) < 8:
            raise PocketbertError(f"the emulated ARM worker died (exit {self.proc.poll()}); run it by hand to see why: "
                                  f"ARM_ROOT/{QEMU} -L ARM_ROOT ARM_ROOT/{ARM_PYTHON} {WORKER} FILE 1")
        (size,) = struct.unpack("<Q", head)
        got = np.load(io.BytesIO(self.proc.stdout.read(size)))
        return {k: got[k] for k in got.files}

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def load_litert(artifact_dir, threads: int) -> Artifact:
    """The artifact loaded natively (its TFLiteBackend serves the emulated one's file and input details); one line
    for any other format."""
    art = load_artifact(artifact_dir, threads=threads)
    if art.manifest["format"] != "tflite":
        raise PocketbertError(f"{artifact_dir} is a {art.manifest['format']} artifact; the ARM worker runs LiteRT files")
    return art


def evaluate(artifact_dir: Path, data: Path, cpu: str, arm_root: Path, source: str | None, threads: int,
             limit: int | None) -> dict:
    """`evaluate_artifact` with the artifact's model run on the emulated `cpu` (or natively for HOST)."""
    backend = None
    real_load = artifact_eval._load

    def emulated_load(path, threads_, compute_units) -> Artifact:
        nonlocal backend
        art = load_litert(path, threads)
        backend = EmulatedLiteRT(art.backend, arm_root, cpu, threads)
        return Artifact(art.path, art.manifest, backend)

    if cpu != HOST:
        artifact_eval._load = emulated_load
    try:
        return artifact_eval.evaluate_artifact(artifact_dir, "qa", data, limit=limit, source=source, threads=threads,
                                               progress=sys.stderr.isatty(), predictions=True)
    finally:
        artifact_eval._load = real_load
        if backend is not None:
            backend.close()


def logits_sample(artifact_dir: Path, data: Path, cpus: list[str], arm_root: Path, n: int, seq_len: int,
                  threads: int) -> dict:
    """The parity gate's first sample at one length (`n` questions, parity_inputs.build_batch) run natively and on
    each emulated CPU: per run, same span as PyTorch (per question, as the gate counts), mean/max |logit - PyTorch's|
    over all windows, and max |logit - this host's|.
    Cheaper than `evaluate` by the number of questions, and the logit errors show a kernel difference that a few
    dozen answers cannot."""
    from pocketbert.convert.parity import output_stats, task_agreement, thresholds_for
    from pocketbert.convert.parity_inputs import build_batch
    from pocketbert.convert.wrappers import load_source, torch_outputs
    from pocketbert.core.models import load_tokenizer

    art = load_litert(artifact_dir, threads)
    m, tok = art.manifest, art.manifest["tokenizer"]
    source, tokenizer = load_source(m["source_model"], "qa"), load_tokenizer(m["source_model"])
    batch = build_batch(tokenizer, "qa", source.inputs, seq_len, data=data, n=n,
                        qa_window=(tok["max_query_len"], tok["doc_stride"]))
    ref = torch_outputs(source, batch.feeds)  # {name: (windows, S)}
    names = list(ref)
    outs = {HOST: art.backend.run(seq_len, batch.feeds, names)}
    for cpu in cpus:
        backend = EmulatedLiteRT(art.backend, arm_root, cpu, threads)
        started = time.perf_counter()
        try:
            outs[cpu] = backend.run(seq_len, batch.feeds, names)
        finally:
            backend.close()
        print(f"  {cpu}: {batch.feeds['input_ids'].shape[0]} windows in {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
    th = thresholds_for("qa", m["precision"])
    report = {}
    for cpu, got in outs.items():
        stats = [output_stats(got[k], ref[k]) for k in names]
        report[cpu] = {"questions": batch.n_examples, "windows": int(batch.feeds["input_ids"].shape[0]),
                       "same_span": float(np.mean(task_agreement("qa", batch, got, ref, th))),
                       "mean_abs_vs_pytorch": float(np.mean([st["mean_abs"] for st in stats])),
                       "max_abs_vs_pytorch": float(max(st["max_abs"] for st in stats)),
                       "max_abs_vs_host": float(max(np.abs(got[k] - outs[HOST][k]).max() for k in names))}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifacts", nargs="+", type=Path, help="LiteRT QA artifact dirs")
    ap.add_argument("--data", required=True, type=Path, help="SQuAD JSON to answer (e.g. qa-models' data/eval.json)")
    ap.add_argument("--arm-root", required=True, type=Path, help="dir made by benchmarks/arm_emulation_setup.sh")
    ap.add_argument("--cpu", action="append", help=f"qemu CPU model, repeatable (default {DEFAULT_CPUS[0]}); "
                                                   f"`{HOST}` runs the file natively here")
    ap.add_argument("--source", help="PyTorch model to compare with (default: the manifest's source_model)")
    ap.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    ap.add_argument("--sample", type=int, help="instead of answering --data: the parity gate's first sample of N "
                                               "questions at --seq-len, logits compared (logits_sample)")
    ap.add_argument("--seq-len", type=int, default=128, help="the signature --sample runs (default 128)")
    ap.add_argument("--limit", type=int, help="only the first N questions (a quick look; not kept in --out)")
    ap.add_argument("--out", type=Path, help="results JSON (kept between runs: finished pairs are skipped)")
    a = ap.parse_args()
    cpus = a.cpu or list(DEFAULT_CPUS)
    if any(c != HOST for c in cpus) and not (a.arm_root / ARM_PYTHON).is_file():
        sys.exit(f"Error: {a.arm_root} has no aarch64 Python; run `sh benchmarks/arm_emulation_setup.sh {a.arm_root}`")
    try:
        results = json.loads(a.out.read_text()) if a.out and a.out.exists() else {}
    except (OSError, ValueError):
        results = None
    if not isinstance(results, dict) or any("@" not in key for key in results):  # never overwrite another file
        sys.exit(f"Error: --out {a.out} exists and is not this benchmark's results; pass a new path")
    try:
        if a.sample:
            for art in a.artifacts:
                key = f"{art.name}@sample{a.sample}x{a.seq_len}"
                got = results.get(key) or {}
                todo = [c for c in cpus if c != HOST and c not in got]
                if todo or not got:
                    got = {**got, **logits_sample(art, a.data, todo, a.arm_root, a.sample, a.seq_len, a.threads)}
                    results[key] = got
                    if a.out:
                        write_json(a.out, results)
                for cpu, r in got.items():
                    print(f"{art.name} on {cpu}: same span {r['same_span']:.1%} of {r['questions']} questions "
                          f"({r['windows']} windows, seq {a.seq_len}); |logit - PyTorch| mean "
                          f"{r['mean_abs_vs_pytorch']:.4f} max {r['max_abs_vs_pytorch']:.3f}; max |logit - host| "
                          f"{r['max_abs_vs_host']:.4f}", flush=True)
            return
        for art in a.artifacts:
            for cpu in [HOST] + [c for c in cpus if c != HOST]:  # the native run first: the others compare with it
                key = f"{art.name}@{cpu}"
                if key not in results:
                    started = time.perf_counter()
                    res = evaluate(art, a.data, cpu, a.arm_root, a.source, a.threads, a.limit)
                    results[key] = {"artifact": str(art), "cpu": cpu, "exact_match": res["exact_match"],
                                    "f1": res["f1"], "same_span_vs_pytorch": res.get("agreement"),
                                    "source_f1": (res.get("source_scores") or {}).get("f1"), "n": len(res["predictions"]),
                                    "predictions": res["predictions"], "wall_s": round(time.perf_counter() - started, 1)}
                    if a.out and a.limit is None:
                        write_json(a.out, results)
                r, host = results[key], results[f"{art.name}@{HOST}"]
                same_text = np.mean([r["predictions"][q] == host["predictions"][q] for q in host["predictions"]])
                print(f"{art.name} on {cpu}: EM {r['exact_match']:.2f} F1 {r['f1']:.2f} (PyTorch {r['source_f1']:.2f}); "
                      f"same span as PyTorch {r['same_span_vs_pytorch']:.2%}; same answer text as this host's run "
                      f"{same_text:.2%} of {r['n']} ({r['wall_s']:.0f} s)", flush=True)
    except PocketbertError as exc:
        sys.exit(f"Error: {exc}")


if __name__ == "__main__":
    main()
