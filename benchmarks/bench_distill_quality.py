"""pocketbert's sentence recipe vs sentence-transformers' distillation: same teacher, init, sentences and budgets.

    .venv/bin/pip install -e '.[bench]'            # sentence-transformers + datasets, for the peer only
    .venv/bin/python benchmarks/bench_distill_quality.py [--budgets 5,15,30] [--out build/bench-distill-quality]

1. Sentences: the corpora the issue allows (WikiText-2 valid, SST-2 train sentences, STS-B *train* sentences
   without their scores, SQuAD part-1 contexts split into sentences), deduplicated, shuffled with a fixed seed,
   prepared by `pocketbert prepare --unit sentence`. STS-B dev is never trained on.
2. Init: `pocketbert init-student --layers auto` (chosen by held-out agreement with the teacher, no labels).
   Both recipes start from this same directory.
3. Both recipes run AT THE SAME TIME, one thread each, so a shared CPU slows both alike:
   - pocketbert: `pocketbert distill --config configs/sentence.yaml`, stopped at each budget by `--minutes`
     and continued with `--resume` (bit for bit), its OUT/final copied at each budget;
   - peer: benchmarks/peer_st_distill.py (sentence-transformers' MSE-on-embeddings recipe), same sentences minus
     the same held-out share, saving the student at each budget.
4. Every saved student is scored on STS-B dev (Spearman of cosine, mean pooling); the table and a PNG curve are
   written to OUT (results.json, quality.png). Budgets are wall-clock minutes of training, model loading excluded.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
PB = str(Path(sys.executable).parent / "pocketbert")
CONFIG = REPO / "configs" / "sentence.yaml"
MAX_LEN = 64  # sentences; longer ones are truncated (STS-B sentences are ~10-30 tokens)
MIN_WORDS = 4
THREADS_PER_RUN = 1


def write_sentences(path: Path) -> int:
    """The allowed corpora as one sentence per line (scores and labels dropped)."""
    from pocketbert.core.corpus import split_sentences

    out: list[str] = []
    for line in (DATA / "wikitext-2" / "valid.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("="):
            out += split_sentences(line.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", "."))
    with open(DATA / "sst2" / "train.tsv", encoding="utf-8") as fh:
        out += [r[0] for r in list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:] if r]
    for line in (DATA / "stsb" / "sts-train.csv").read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        out += cols[5:7]
    squad = json.loads((DATA / "squad" / "dev-v1.1-part1.json").read_text(encoding="utf-8"))
    for article in squad["data"]:
        for para in article["paragraphs"]:
            out += split_sentences(para["context"])
    sentences = list(dict.fromkeys(s.strip() for s in out if len(s.split()) >= MIN_WORDS))
    random.Random(0).shuffle(sentences)
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return len(sentences)


def run(cmd: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env)


def pocketbert_budgets(out: Path, data: Path, init: Path, budgets: list[float], env: dict) -> None:
    """distill for budgets[0] minutes, copy final; --resume for the difference to the next budget; ..."""
    run_dir = out / "pocketbert" / "run"
    done = 0.0
    for b in budgets:
        cmd = [PB, "distill", "--teacher", "minilm", "--student", str(init), "--data", str(data), "--out", str(run_dir),
               "--config", str(CONFIG), "--minutes", f"{b - done:g}", "--set", "tensorboard=false"]
        cmd += ["--resume"] if done else []
        proc = run(cmd, out / "pocketbert.log", env)
        if proc.wait() != 0:
            raise SystemExit(f"pocketbert distill failed; see {out / 'pocketbert.log'}")
        shutil.copytree(run_dir / "final", out / "pocketbert" / f"min-{b:g}", dirs_exist_ok=True)
        done = b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="5,15,30", help="wall-clock minutes, increasing")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench-distill-quality")
    ap.add_argument("--skip-peer", action="store_true")
    args = ap.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    if not (DATA / "stsb" / "sts-dev.csv").is_file():
        raise SystemExit(f"shared data not found at {DATA}")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS_PER_RUN), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    n = write_sentences(out / "sentences.txt")
    print(f"{n} sentences -> {out / 'sentences.txt'}", flush=True)
    subprocess.run([PB, "prepare", "--corpus", str(out / "sentences.txt"), "--tokenizer", "minilm", "--out",
                    str(out / "data"), "--unit", "sentence", "--max-len", str(MAX_LEN)], check=True, env=env)
    init = out / "init"
    if not (init / "student_init.json").is_file():
        subprocess.run([PB, "init-student", "--teacher", "minilm", "--out", str(init), "--layers", "auto",
                        "--sample-data", str(out / "data")], check=True, env={**env, "OMP_NUM_THREADS": "2"})
    layers = json.loads((init / "student_init.json").read_text())["student_layers_from_teacher"]
    print(f"init: teacher layers {layers}; both recipes start here. Budgets {budgets} min, "
          f"{THREADS_PER_RUN} thread each, run side by side (load average {os.getloadavg()[0]:.1f})", flush=True)
    for stale in ("pocketbert", "peer"):
        shutil.rmtree(out / stale, ignore_errors=True)
    started = time.time()
    peer = None
    if not args.skip_peer:
        peer = run([sys.executable, str(REPO / "benchmarks" / "peer_st_distill.py"), "--init", str(init), "--data",
                    str(out / "data"), "--budgets", args.budgets, "--out", str(out / "peer"),
                    "--threads", str(THREADS_PER_RUN)], out / "peer.log", env)
    pocketbert_budgets(out, out / "data", init, budgets, env)
    if peer is not None and peer.wait() != 0:
        raise SystemExit(f"peer failed; see {out / 'peer.log'}")
    print(f"training done in {(time.time() - started) / 60:.1f} min wall; scoring on STS-B dev", flush=True)

    from pocketbert.distill.evaluate import evaluate_sts

    sts = DATA / "stsb" / "sts-dev.csv"
    score = lambda m: evaluate_sts(str(m), sts, device="cpu")["spearman"]  # noqa: E731
    results = {"teacher": score("minilm"), "init": score(init), "layers": layers, "budgets": budgets,
               "pocketbert": {}, "peer": {}, "load_average_end": os.getloadavg()[0]}
    for b in budgets:
        results["pocketbert"][f"{b:g}"] = score(out / "pocketbert" / f"min-{b:g}")
        if peer is not None:
            results["peer"][f"{b:g}"] = score(out / "peer" / f"min-{b:g}")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    t = results["teacher"]
    print(f"STS-B dev Spearman: teacher {t:.4f}, copied init {results['init']:.4f} ({results['init'] / t:.1%})")
    print(f"{'budget':>8} {'pocketbert':>11} {'share':>7} {'peer (sentence-transformers)':>30} {'share':>7}  ahead")
    for b in budgets:
        k = f"{b:g}"
        pb, pr = results["pocketbert"][k], results["peer"].get(k)
        pr_s = f"{pr:>30.4f} {pr / t:>7.1%}" if pr is not None else f"{'-':>30} {'-':>7}"
        ahead = "" if pr is None else ("pocketbert" if pb > pr else "peer")
        print(f"{k + ' min':>8} {pb:>11.4f} {pb / t:>7.1%} {pr_s}  {ahead}")
    plot(results, out / "quality.png")
    print(f"results: {out / 'results.json'}, curve: {out / 'quality.png'}")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [0.0] + results["budgets"]
    for name, label in (("pocketbert", "pocketbert (configs/sentence.yaml)"), ("peer", "sentence-transformers MSE")):
        if results[name]:
            ax.plot(xs, [results["init"]] + [results[name][f"{b:g}"] for b in results["budgets"]], marker="o", label=label)
    ax.axhline(results["teacher"], color="gray", linestyle="--", label="teacher (6 layers)")
    ax.axhline(0.97 * results["teacher"], color="gray", linestyle=":", label="97% of the teacher")
    ax.set_xlabel("training wall-clock minutes (1 CPU thread each, side by side)")
    ax.set_ylabel("STS-B dev Spearman")
    ax.set_title(f"3-layer student (teacher layers {results['layers']}) of all-MiniLM-L6-v2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
