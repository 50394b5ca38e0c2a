"""Conversion benchmark: time, artifact size and parity per format/precision (`make bench-convert`).

Part 1, architecture cost: BERT-base and DistilBERT-base QA (the public checkpoints' configs, random weights,
seq 384): export time, parity time, size per precision and the parity verdict. Random weights make a harsh
test for reduced precisions (no trained margin between the best span and the next), so a failed gate here is
information, not a crash: the row records it.
Part 2, real weights: the packaged all-MiniLM-L6-v2 (task embed) and its 3-layer student (teacher layers
0,2,4; build/demo/student when present) on 256 real sentences (STS-B dev from ../shared/data when present,
else the embedded corpus): parity per precision.

Prints a table and writes build/bench-convert/results.json. CPU only; run it alone (shared 2-core box).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from pocketbert.bench_pair import build_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench-convert"
SEQ_LEN = 384
EMBED_SEQ_LEN = 128
# Parity examples for the random base models at seq 384 (each is a full BERT-base forward on a shared CPU).
BASE_PARITY_N = 16
REAL_PARITY_N = 256
STUDENT_LAYERS = "0,2,4"

BASE_RUNS = [("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "int8-dynamic"), ("onnx", "fp32"),
             ("onnx", "int8-dynamic"), ("coreml", "fp16"), ("coreml", "int8"), ("coreml", "palettize4")]
REAL_RUNS = [("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "int8-dynamic"), ("tflite", "int8-weight"),
             ("onnx", "fp32"), ("onnx", "int8-dynamic"), ("coreml", "fp16"), ("coreml", "int8"),
             ("coreml", "palettize6"), ("coreml", "palettize4")]


def student_dir() -> Path:
    demo = REPO / "build" / "demo" / "student"
    if (demo / "config.json").is_file():
        return demo
    out = OUT / "models" / "minilm-student"
    if not (out / "config.json").is_file():
        from pocketbert.distill.student_init import init_student

        init_student("minilm", out, STUDENT_LAYERS, force=True)
    return out


def one(model, label: str, fmt: str, task: str, precision: str, seq: int, n: int, data, fp32_size: dict) -> dict:
    from pocketbert.convert.api import convert_model
    from pocketbert.convert.parity import ParityError

    row = {"model": label, "format": fmt, "task": task, "precision": precision, "seq_len": seq, "n": n}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        started = time.perf_counter()
        try:
            art = convert_model(fmt, model, task, [seq], precision, Path(tmp) / "a", n=n, data=data)
            manifest = json.loads((art / "manifest.json").read_text())
        except ParityError as exc:
            manifest = exc.manifest
        row["total_s"] = round(time.perf_counter() - started, 1)
    p = manifest["parity"]
    row.update(size_mb=round(manifest["file_size_bytes"] / 1e6, 2), status=p["status"],
               agreement=p["task_agreement"], export_s=manifest.get("timings_s", {}).get("export"),
               parity_s=manifest.get("timings_s", {}).get("parity"),
               max_abs={k: v["max_abs"] for k, v in p["outputs"].items()},
               cosine={k: round(v["cosine"], 6) for k, v in p["outputs"].items()})
    if precision == "fp32":
        fp32_size[(label, fmt)] = row["size_mb"]
    ref = fp32_size.get((label, fmt)) or fp32_size.get((label, "tflite"))
    row["size_vs_fp32"] = round(row["size_mb"] / ref, 3) if ref else None
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict]) -> str:
    head = "| model | format | precision | export s | parity s | size MB | vs fp32 | parity | task agreement | max abs diff |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        agree = "n/a" if r["agreement"] is None else f"{r['agreement']:.1%}"
        mx = max(r["max_abs"].values()) if r["max_abs"] else None
        lines.append(f"| {r['model']} | {r['format']} | {r['precision']} | {r['export_s']} | {r['parity_s']} | "
                     f"{r['size_mb']} | {r['size_vs_fp32']} | {r['status']} (n={r['n']}) | {agree} | "
                     f"{'-' if mx is None else f'{mx:.2g}'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-base", action="store_true", help="only the real MiniLM teacher/student part")
    ap.add_argument("--skip-real", action="store_true", help="only the BERT-base / DistilBERT-base part")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    sizes: dict = {}
    if not args.skip_base:
        for arch in ("distilbert-base", "bert-base"):
            # Random weights with the public checkpoint's config (the same builder as `bench pair`).
            model = build_model(arch, "qa", OUT / "models" / arch)[0]
            for fmt, precision in BASE_RUNS:
                rows.append(one(model, f"{arch} (random)", fmt, "qa", precision, SEQ_LEN, BASE_PARITY_N, None, sizes))
    if not args.skip_real:
        sts = REPO.parent / "shared" / "data" / "stsb" / "sts-dev.csv"
        data = sts if sts.is_file() else None
        for label, model in (("all-MiniLM-L6-v2", "minilm"), ("MiniLM student L0,2,4", student_dir())):
            for fmt, precision in REAL_RUNS:
                rows.append(one(model, label, fmt, "embed", precision, EMBED_SEQ_LEN, REAL_PARITY_N, data, sizes))
    result = {"host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": sys.version.split()[0]},
              "seq_len_qa": SEQ_LEN, "seq_len_embed": EMBED_SEQ_LEN, "rows": rows}
    (OUT / "results.json").write_text(json.dumps(result, indent=2))
    print(table(rows))
    print(f"wrote {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
