"""LiteRT vs ONNX Runtime vs ExecuTorch on this host, same model, same inputs (`make bench-runtimes`).

Converts one model (default: the packaged all-MiniLM-L6-v2, task embed, seq 128) to LiteRT, ONNX and ExecuTorch at
fp32 and int8 through `convert_model` (each artifact passes its parity gate, or its row says why not), then times
every artifact that exists with `bench_host`, which interleaves them in rounds (ABBA order, a fresh worker process
per run) so a load burst on a shared box hits every runtime of a round instead of one runtime's whole measurement.
Prints one table: runtime, precision, size, p50, per-round p50s, and the latency ratio vs LiteRT fp32 as the median
of the per-round ratios (the number that survives a loaded box; the absolute ms do not).

int8 means each runtime's dynamic int8 scheme (per-channel int8 weights, activations quantized at run time):
LiteRT and ONNX `int8-dynamic`, ExecuTorch `int8` (XNNPACK quantizer), so the three are compared on like terms.
Artifacts already in --out with the same model, task, length and precision are reused (conversion is the slow part);
--force re-converts. ExecuTorch rows need the `pocketbert[executorch]` extra; without it they are listed as skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench-runtimes"
# (format, precision) in table order; the first is the reference every ratio is taken against.
RUNS = [("tflite", "fp32"), ("onnx", "fp32"), ("executorch", "fp32"),
        ("tflite", "int8-dynamic"), ("onnx", "int8-dynamic"), ("executorch", "int8")]
REFERENCE = RUNS[0]
# Parity inputs: STS-B dev sentences from ../shared/data when present (as `make bench-convert`), else the embedded
# corpus. 256 sentences: the embedded corpus's 64 made ONNX int8-dynamic MiniLM miss the 97% bar (93.8%, 60/64)
# where STS-B dev gave 99.2%; a gate decided by four sentences says more about the sample than the artifact.
STSB_DEV = REPO.parent / "shared" / "data" / "stsb" / "sts-dev.csv"
PARITY_N = 256
RUNTIME_LABEL = {"tflite": "LiteRT", "onnx": "ONNX Runtime", "executorch": "ExecuTorch"}


def artifact_dir(out: Path, model: str, task: str, fmt: str, precision: str) -> Path:
    return out / "artifacts" / f"{Path(model).name}-{task}-{fmt}-{precision}"


def up_to_date(dest: Path, model: str, task: str, seq_len: int, precision: str) -> bool:
    """An artifact in `dest` converted from the same model at the same length and precision (reused as is)."""
    path = dest / "manifest.json"
    if not path.is_file():
        return False
    from pocketbert.core.models import resolve_model

    m = json.loads(path.read_text())
    source = resolve_model(model)
    source = str(Path(source).resolve()) if Path(source).exists() else source  # as convert writes source_model
    return m.get("seq_lens") == [seq_len] and m.get("precision") == precision and m.get("task") == task \
        and m.get("source_model") == source


def convert_all(model: str, task: str, seq_len: int, out: Path, n: int, force: bool, data=None) -> dict[tuple, dict]:
    """(fmt, precision) -> {"dir": Path | None, "note": str}; a failure is a row, not a crash."""
    from pocketbert.convert.api import convert_model
    from pocketbert.core.errors import PocketbertError

    done = {}
    # the optional runtime last: the others are done (and kept) whatever happens to it
    for fmt, precision in sorted(RUNS, key=lambda r: r[0] == "executorch"):
        dest = artifact_dir(out, model, task, fmt, precision)
        if not force and up_to_date(dest, model, task, seq_len, precision):
            done[(fmt, precision)] = {"dir": dest, "note": "reused"}
            continue
        print(f"converting {model} ({task}) -> {fmt} {precision} seq {seq_len}", file=sys.stderr, flush=True)
        try:
            convert_model(fmt, model, task, [seq_len], precision, dest, force=True, n=n, data=data)
            done[(fmt, precision)] = {"dir": dest, "note": "converted"}
        except PocketbertError as exc:  # ParityError included; an absent extra is one line too
            print(f"  {fmt} {precision}: {exc}", file=sys.stderr)
            done[(fmt, precision)] = {"dir": None, "note": str(exc).splitlines()[0][:100]}
    return {run: done[run] for run in RUNS}


def round_ratio(rec: dict, ref: dict) -> float | None:
    """Median over rounds of p50(rec) / p50(ref) in the same round (None when not interleaved): the report's
    per-round ratios, so this table and `pocketbert report` agree."""
    from pocketbert.bench.report import ratio_spread, round_ratios

    ratios = round_ratios(ref, rec)
    return ratio_spread(ratios)["median"] if ratios else None


def table(done: dict, records: list[dict]) -> str:
    """A markdown table, one row per (format, precision), ratios vs REFERENCE."""
    by_dir = {Path(r["source_file"]).parent.resolve(): r for r in records}
    ref_dir = done[REFERENCE]["dir"]
    ref = by_dir.get(ref_dir.resolve()) if ref_dir else None
    lines = ["| runtime | precision | size MB | p50 ms | per-round p50 ms | p50 / LiteRT fp32 (median of rounds) "
             "| parity | export s |", "|---|---|---|---|---|---|---|---|"]
    for fmt, precision in RUNS:
        entry = done[(fmt, precision)]
        label = RUNTIME_LABEL[fmt]
        rec = by_dir.get(entry["dir"].resolve()) if entry["dir"] else None
        if rec is None:
            lines.append(f"| {label} | {precision} | - | - | - | - | not run: {entry['note']} | - |")
            continue
        manifest = json.loads((entry["dir"] / "manifest.json").read_text())
        p = manifest["parity"]
        agree = "" if p["task_agreement"] is None else f", agreement {p['task_agreement']:.1%}"
        cos = min((o["cosine"] for o in p["outputs"].values()), default=None)
        parity = f"{p['status']} (n={p['n']}{agree}" + ("" if cos is None else f", min cos {cos:.5f}") + ")"
        ratio = round_ratio(rec, ref) if ref else None
        rounds = ", ".join(f"{x:.1f}" for x in rec["extra"].get("round_p50_ms") or [])
        export_s = (manifest.get("timings_s") or {}).get("export")
        runtime = f"{label} {rec['runtime']['version']} / {rec['runtime']['delegate']}"
        lines.append(f"| {runtime} | {precision} | {manifest['file_size_bytes'] / 1e6:.2f} | "
                     f"{rec['latency_ms']['p50']:.1f} | {rounds} | {'-' if ratio is None else f'{ratio:.2f}'} | "
                     f"{parity} | {export_s if export_s is not None else '-'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm", help="model dir, hub id, or `minilm` (the packaged teacher)")
    ap.add_argument("--task", default="embed")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=30, help="timed runs per artifact, split over --rounds")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-n", type=int, default=PARITY_N, help="parity examples per artifact")
    ap.add_argument("--data", type=Path, default=STSB_DEV if STSB_DEV.is_file() else None,
                    help="parity inputs (default: STS-B dev from ../shared/data when present, else the embedded corpus)")
    ap.add_argument("--force", action="store_true", help="re-convert even when artifacts in --out match")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--convert-only", action="store_true", help="convert (or reuse) the artifacts, time nothing")
    args = ap.parse_args(argv)

    from pocketbert.bench.host import bench_host
    from pocketbert.bench.device_info import load_average

    done = convert_all(args.model, args.task, args.seq_len, args.out, args.n, args.force, args.data)
    dirs = [e["dir"] for e in done.values() if e["dir"] is not None]
    if args.convert_only:
        print("\n".join(f"{fmt} {p}: {e['note']}" for (fmt, p), e in done.items()))
        return 0
    if not dirs:
        print("nothing converted; see the lines above", file=sys.stderr)
        return 1
    results = args.out / "results.jsonl"
    if results.exists():
        results.unlink()  # this run's records only
    load_before = load_average()
    records = bench_host(dirs, threads=[args.threads], runs=args.runs, warmup=args.warmup, out=results,
                         seq_lens=[args.seq_len], rounds=args.rounds)
    text = (f"{args.model} task {args.task}, seq {args.seq_len}, {args.threads} threads, {args.runs} runs over "
            f"{args.rounds} interleaved rounds; parity on {args.data or 'the embedded corpus'} (n={args.n}); "
            f"load average before {load_before}, after {load_average()}\n\n"
            + table(done, records))
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    print(f"\nresults: {results}; table: {args.out / 'table.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
