"""Distillation throughput and `prepare` memory (not a test: prints numbers and ratios measured in one run).

    make bench-distill          # = .venv/bin/python benchmarks/bench_distill.py

1. Tokens/s of a full distillation step (teacher forward + student forward/backward + optimizer), through
   `pocketbert distill` itself: all-MiniLM-L6-v2 given an MLM head (tied to its embeddings, so all three
   DistilBERT losses 5/2/1 are computed) -> a 3-layer student (teacher layers 0,2,4), batch 32, fp32, on
   (a) full 128-token chunks of WikiText-2 valid and (b) the reference corpus (WikiText-2 valid + SST-2
   sentences, mean ~28 tokens), to compare with the original HF script's ~420 tokens/s on (b).
2. Peak RSS of `pocketbert prepare` on that corpus x1 and x10 (written to a temp dir): memory must stay flat.
Data: ../shared/data (or $POCKETBERT_SHARED_DATA). The CPU may be shared: the load average is printed.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
PB = str(Path(sys.executable).parent / "pocketbert")
REFERENCE_TOKENS_PER_S = 420.0   # original HF distillation example, same teacher/student/batch (DESIGN.md)
STEPS = 12                       # optimizer steps timed per corpus (the first 2 are warm-up and not counted)
WARMUP_STEPS = 2
REPEAT = 10


def write_reference_corpus(path: Path, repeat: int = 1) -> Path:
    """WikiText-2 valid lines + SST-2 train sentences, one document per line, `repeat` times."""
    wiki = [l.strip() for l in (DATA / "wikitext-2" / "valid.txt").read_text(encoding="utf-8").splitlines() if l.strip()]
    with open(DATA / "sst2" / "train.tsv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    sst = [r[0].strip() for r in rows[1:] if r and r[0].strip()]
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(repeat):
            for line in (*wiki, *sst):
                out.write(line + "\n")
    return path


def peak_rss(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS bytes of the process tree), polled every 20 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return time.perf_counter() - start, peak


def teacher_with_mlm_head(out: Path) -> Path:
    """all-MiniLM-L6-v2 as a BertForMaskedLM (head transform fresh, decoder tied to the word embeddings)."""
    import torch
    from transformers import AutoTokenizer, BertForMaskedLM

    from pocketbert.core.models import packaged_teacher_dir

    torch.manual_seed(0)
    model = BertForMaskedLM.from_pretrained(str(packaged_teacher_dir()))
    model.config.architectures = ["BertForMaskedLM"]
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(str(packaged_teacher_dir())).save_pretrained(out)
    return out


def throughput(teacher: Path, student: Path, data: Path, run: Path) -> float:
    cmd = [PB, "distill", "--teacher", str(teacher), "--student", str(student), "--data", str(data), "--out", str(run),
           "--max-steps", str(STEPS), "--batch-size", "32", "--effective-batch", "32", "--precision", "fp32",
           "--set", "log_every=1", "--set", "tensorboard=false", "--set", f"checkpoint_every={STEPS * 10}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(run / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    # tokens of a step = its tokens/s x its duration; steps before WARMUP_STEPS are not counted
    tokens = seconds = 0.0
    for prev, row in zip(rows[WARMUP_STEPS - 1:], rows[WARMUP_STEPS:]):
        dt = float(row["elapsed_s"]) - float(prev["elapsed_s"])
        tokens += float(row["tokens_per_s"]) * dt
        seconds += dt
    return tokens / seconds


def main() -> None:
    if not (DATA / "wikitext-2" / "valid.txt").is_file():
        raise SystemExit(f"shared data not found at {DATA}")
    import torch

    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average before: {os.getloadavg()[0]:.2f} (other processes share this CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # ---- prepare memory: x1 vs x10
        one = write_reference_corpus(tmp / "corpus-x1.txt")
        ten = write_reference_corpus(tmp / "corpus-x10.txt", REPEAT)
        results = {}
        for name, corpus in (("x1", one), ("x10", ten)):
            secs, rss = peak_rss([PB, "prepare", "--corpus", str(corpus), "--tokenizer", "minilm",
                                  "--out", str(tmp / f"data-{name}"), "--max-len", "128"])
            results[name] = (secs, rss, corpus.stat().st_size)
            print(f"prepare {name}: {corpus.stat().st_size / 1e6:.1f} MB text in {secs:.1f} s, peak RSS {rss / 2**20:.0f} MiB")
        r = results["x10"][1] / results["x1"][1]
        print(f"prepare peak RSS x10 / x1 = {r:.2f} (flat = ~1.0; corpus is {REPEAT}x larger)")

        # ---- throughput
        teacher = teacher_with_mlm_head(tmp / "teacher-mlm")
        student = tmp / "student"
        subprocess.run([PB, "init-student", "--teacher", str(teacher), "--out", str(student), "--layers", "0,2,4"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wiki = tmp / "wiki.txt"
        wiki.write_text((DATA / "wikitext-2" / "valid.txt").read_text(encoding="utf-8"), encoding="utf-8")
        subprocess.run([PB, "prepare", "--corpus", str(wiki), "--tokenizer", "minilm", "--out", str(tmp / "data-wiki128"),
                        "--max-len", "128"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for label, data in (("seq 128 (WikiText-2 128-token chunks)", tmp / "data-wiki128"),
                            ("reference corpus (WikiText-2 + SST-2, short sentences)", tmp / "data-x1")):
            tps = throughput(teacher, student, data, tmp / f"run-{data.name}")
            print(f"distill step, batch 32, ce/mlm/cos 5/2/1, {label}: {tps:.0f} tokens/s "
                  f"= {tps / REFERENCE_TOKENS_PER_S:.2f}x the original script's {REFERENCE_TOKENS_PER_S:.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
