"""Distillation throughput, utilization, where the time goes, and `prepare` memory (prints numbers, not a test).

    make bench-distill          # = .venv/bin/python benchmarks/bench_distill.py [--rounds 8] [--quick]

Setup (issue 10): all-MiniLM-L6-v2 given an MLM head (tied to its embeddings, so all three DistilBERT losses 5/2/1
are computed) -> a 3-layer student (teacher layers 0,2,4), batch 32, fp32, reference corpus = WikiText-2 valid +
SST-2 train sentences (mean ~28 tokens). Tokens are counted from the batches' attention masks, never from bars.
1. In one process: the fp32 matmul peak (a large torch.mm, same threads), the FLOPs of one distillation step
   (torch.utils.flop_counter.FlopCounterMode), utilization = FLOPs/token x tokens/s / peak, a time split
   (teacher fwd / student fwd / student bwd / vocab projections + KL / optimizer), and the step before the
   speed work (oneDNN linears, fused vocab losses, fused AdamW; copied below as `PlainStep`) against today's,
   INTERLEAVED round by round on the same batches: the median ratio and its spread.
2. Tokens/s of `pocketbert distill` itself (its own log.csv counters) on the reference corpus and on full
   128-token WikiText-2 chunks.
3. Peak RSS of `pocketbert prepare` on the corpus x1 and x10 (memory must stay flat). (2 and 3: not with --quick.)
The original HF script measured ~175 tokens/s on this setup and box (DESIGN.md, "Reference points"; its progress
bar counts every iteration twice, so the 420 once read from it was wrong). The CPU may be shared: the load
average is printed, and utilization (both sides slowed alike) is the load-robust number.
Data: ../shared/data (or $POCKETBERT_SHARED_DATA).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POCKETBERT_SHARED_DATA", REPO.parent / "shared" / "data"))
PB = str(Path(sys.executable).parent / "pocketbert")
ORIGINAL_TOKENS_PER_S = 175.0    # the original HF script on this setup and 2-core box (DESIGN.md); context only
STEPS = 12                       # optimizer steps timed per corpus (the first 2 are warm-up and not counted)
WARMUP_STEPS = 2
REPEAT = 10
BATCH = 32
ALPHA = {"ce": 5.0, "mlm": 2.0, "cos": 1.0}
TEMPERATURE = 2.0
MATMUL_N = 2048                  # square fp32 torch.mm that defines the peak (large enough to be compute-bound)
ROUNDS = 8                       # interleaved (plain, today's) rounds; the first is warm-up and not counted


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
        rows = [r for r in csv.DictReader(fh) if r.get("loss")]  # optimizer steps (validation rows have no loss)
    # tokens of a step = its tokens/s x its duration; steps before WARMUP_STEPS are not counted
    tokens = seconds = 0.0
    for prev, row in zip(rows[WARMUP_STEPS - 1:], rows[WARMUP_STEPS:]):
        dt = float(row["elapsed_s"]) - float(prev["elapsed_s"])
        tokens += float(row["tokens_per_s"]) * dt
        seconds += dt
    return tokens / seconds


# ------------------------------------------------------------------------------------ in-process step analysis
def matmul_peak_flops(n: int = MATMUL_N, repeats: int = 5) -> float:
    """fp32 FLOP/s of a large square torch.mm in this process (same threads as the step), median of `repeats`."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def _plain_kl(s, t, T):
    """L_ce as computed before the speed work: F.kl_div over full-tensor log-softmaxes (copied, not imported)."""
    import torch.nn.functional as F

    s, t = s.float() / T, t.float() / T  # (n, vocab)
    kl = F.kl_div(F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1), reduction="sum", log_target=True)
    return kl / max(float(s.shape[0]), 1.0) * T**2


class PlainStep:
    """One distillation micro-batch + optimizer step as it ran before the speed work (the comparison baseline).

    Same losses as today (KL on every real token, MLM CE on masked ones, cosine on hidden states), computed with
    stock nn.Linear (MKL), unfused vocab losses and foreach AdamW.
    """

    fast = False

    def __init__(self, teacher_dir: Path, student_dir: Path) -> None:
        import torch
        from transformers import AutoModelForMaskedLM, BertForMaskedLM

        self.teacher = BertForMaskedLM.from_pretrained(str(teacher_dir)).eval()
        self.teacher.requires_grad_(False)
        self.student = AutoModelForMaskedLM.from_pretrained(str(student_dir)).train()
        self.optimizer = self._optimizer(torch)

    def _optimizer(self, torch):
        from pocketbert.distill.training import param_groups as _param_groups

        return torch.optim.AdamW(_param_groups(self.student, 0.0), lr=5e-4, betas=(0.9, 0.98), eps=1e-6)

    def teacher_forward(self, masked, attn, keep):
        import torch

        with torch.no_grad():
            hidden = self.teacher.bert(input_ids=masked, attention_mask=attn).last_hidden_state  # (bs, seq, dim)
            return hidden, self.teacher.cls(hidden[keep])  # (n, vocab)

    def vocab_losses(self, s_logits, t_logits, labels_sel):
        from pocketbert.distill import losses

        return _plain_kl(s_logits, t_logits, TEMPERATURE), losses.mlm_loss(s_logits, labels_sel)

    def __call__(self, masked, attn, labels, timer=None):
        """Forward, backward and optimizer step; `timer(part)` (optional) is called at each part's end."""
        import torch

        from pocketbert.distill import losses
        from pocketbert.distill.step_models import student_head as _student_head

        mark = timer or (lambda _part: None)
        keep = attn.bool()
        t_hidden, t_logits = self.teacher_forward(masked, attn, keep)
        mark("teacher fwd (encoder + vocab projection)")
        s_hidden = self.student.distilbert(input_ids=masked, attention_mask=attn).last_hidden_state  # (bs, seq, dim)
        mark("student fwd (encoder)")
        head_in = s_hidden.detach().requires_grad_()  # splits backward into head+losses and encoder parts
        s_logits = _student_head(self.student, head_in[keep])  # (n, vocab)
        ce, mlm = self.vocab_losses(s_logits, t_logits, labels[keep])
        cos = losses.cosine_loss(head_in, t_hidden, keep)
        total = ALPHA["ce"] * ce + ALPHA["mlm"] * mlm + ALPHA["cos"] * cos
        total.backward()
        mark("student vocab projection + KL/CE/cos, fwd + bwd")
        s_hidden.backward(head_in.grad)
        mark("student bwd (encoder + embeddings)")
        torch.nn.utils.clip_grad_norm_(self.student.parameters(), 5.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        mark("optimizer (clip + AdamW)")
        return float(total.detach())


class FastStep(PlainStep):
    """Today's step: the trainer's Teacher and cpu_linear (oneDNN forward GEMMs), the fused vocab losses, fused AdamW."""

    fast = True

    def __init__(self, teacher_dir: Path, student_dir: Path) -> None:
        from pocketbert.core.models import load_config
        from pocketbert.distill.cpu_linear import use_onednn_linears
        from pocketbert.distill.student_init import teacher_info
        from pocketbert.distill.step_models import Teacher

        super().__init__(teacher_dir, student_dir)
        self.wrapped = Teacher(self.teacher, teacher_info(load_config(str(teacher_dir))))  # switches its linears
        use_onednn_linears(self.student)

    def _optimizer(self, torch):
        from pocketbert.distill.training import param_groups as _param_groups

        return torch.optim.AdamW(_param_groups(self.student, 0.0), lr=5e-4, betas=(0.9, 0.98), eps=1e-6, fused=True)

    def teacher_forward(self, masked, attn, keep):
        hidden, _, logits = self.wrapped(masked, attn, keep, need_hidden_states=False)
        return hidden, logits

    def vocab_losses(self, s_logits, t_logits, labels_sel):
        import torch

        from pocketbert.distill import losses

        every = torch.ones(len(labels_sel), dtype=torch.bool)
        return losses.soft_target_kl_and_mlm(s_logits, t_logits, every, labels_sel, TEMPERATURE)


def _batches(data_dir: Path, n: int):
    """n (masked ids, attention mask, labels) batches of BATCH sequences, masked once (both sides see the same)."""
    import torch

    from pocketbert.distill.data import GroupedBatchSampler, PreparedData
    from pocketbert.distill.masking import Masker, token_weights

    data = PreparedData(data_dir)
    masker = Masker(token_weights(data.counts(), data.meta["special_ids"]), mask_token_id=int(data.meta["mask_token_id"]),
                    vocab_size=int(data.meta["vocab_size"]))
    sampler = GroupedBatchSampler(data.lengths, BATCH, seed=56)
    torch.manual_seed(56)
    out = []
    for _ in range(n):
        ids, attn = data.collate(list(sampler.next_batch()), 0)  # (bs, seq)
        masked, labels = masker(ids, attn)
        out.append((masked, attn, labels))
    return out


def step_flops(step: PlainStep, batch) -> float:
    """FLOPs of one forward + backward of the plain step (FlopCounterMode sees stock aten matmuls; both steps
    compute the same products, and the optimizer's elementwise work is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step(*batch)
    return float(counter.get_total_flops())


def analyse_step(teacher: Path, student: Path, data: Path, rounds: int) -> dict:
    """Interleaved plain vs today's step on the same batches, FLOPs, utilization and today's time split."""
    import torch

    peak = matmul_peak_flops()
    print(f"fp32 matmul peak (torch.mm {MATMUL_N}^2, {torch.get_num_threads()} threads): {peak / 1e9:.1f} GFLOP/s")
    batches = _batches(data, rounds)
    plain, fast = PlainStep(teacher, student), FastStep(teacher, student)
    flops = step_flops(PlainStep(teacher, student), batches[0])
    tokens0 = int(batches[0][1].sum())
    print(f"one step on {tokens0} tokens (batch {BATCH}): {flops / 1e9:.1f} GFLOP "
          f"({flops / tokens0 / 1e6:.0f} MFLOP/token) counted by FlopCounterMode")

    times = {"plain": [], "fast": []}
    split: dict[str, list[float]] = {}
    tokens = []
    for r, batch in enumerate(batches):
        order = (plain, fast) if r % 2 == 0 else (fast, plain)  # alternate who goes first: drift cancels
        for step in order:
            marks = []
            start = time.perf_counter()
            step(*batch, timer=(lambda part, m=marks: m.append((part, time.perf_counter()))) if step.fast else None)
            elapsed = time.perf_counter() - start
            if r == 0:
                continue  # warm-up round
            times["fast" if step.fast else "plain"].append(elapsed)
            prev = start
            for part, t in marks:
                split.setdefault(part, []).append(t - prev)
                prev = t
        if r:
            tokens.append(int(batch[1].sum()))
    ratios = sorted(p / f for p, f in zip(times["plain"], times["fast"]))  # same tokens: time ratio = speed ratio
    res = {}
    for name in ("plain", "fast"):
        tps = sum(tokens) / sum(times[name])
        res[name] = tps
        util = flops / tokens0 * tps / peak
        label = "before the speed work (PlainStep)" if name == "plain" else "today (trainer's Teacher, cpu_linear, fused losses, fused AdamW)"
        print(f"  {label}: {tps:.0f} tokens/s, utilization {100 * util:.0f}% of the matmul peak")
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else ratios * 3
    print(f"  today / before, {len(ratios)} interleaved rounds: median {statistics.median(ratios):.2f}x "
          f"(quartiles {q[0]:.2f}-{q[2]:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    total = sum(statistics.median(v) for v in split.values())
    print("  where today's step goes (median per round):")
    for part, v in split.items():
        print(f"    {part:<50s} {1e3 * statistics.median(v):6.0f} ms  {100 * statistics.median(v) / total:3.0f}%")
    res["util"] = flops / tokens0 * res["fast"] / peak
    return res


def setup_models(tmp: Path) -> tuple[Path, Path, Path]:
    """(teacher with MLM head, 3-layer student, prepared reference corpus) under tmp."""
    teacher = teacher_with_mlm_head(tmp / "teacher-mlm")
    student = tmp / "student"
    subprocess.run([PB, "init-student", "--teacher", str(teacher), "--out", str(student), "--layers", "0,2,4"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = tmp / "data-x1"
    if not data.is_dir():
        subprocess.run([PB, "prepare", "--corpus", str(write_reference_corpus(tmp / "corpus-x1.txt")), "--tokenizer",
                        "minilm", "--out", str(data), "--max-len", "128"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return teacher, student, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds of the step comparison")
    parser.add_argument("--quick", action="store_true", help="only the in-process analysis (no prepare RSS, no CLI runs)")
    args = parser.parse_args()
    if not (DATA / "wikitext-2" / "valid.txt").is_file():
        raise SystemExit(f"shared data not found at {DATA}")
    import torch

    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average before: {os.getloadavg()[0]:.2f} (other processes share this CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.quick:  # ---- prepare memory: x1 vs x10
            one = write_reference_corpus(tmp / "corpus-x1.txt")
            ten = write_reference_corpus(tmp / "corpus-x10.txt", REPEAT)
            results = {}
            for name, corpus in (("x1", one), ("x10", ten)):
                secs, rss = peak_rss([PB, "prepare", "--corpus", str(corpus), "--tokenizer", "minilm",
                                      "--out", str(tmp / f"data-{name}"), "--max-len", "128"])
                results[name] = (secs, rss, corpus.stat().st_size)
                print(f"prepare {name}: {corpus.stat().st_size / 1e6:.1f} MB text in {secs:.1f} s, "
                      f"peak RSS {rss / 2**20:.0f} MiB")
            r = results["x10"][1] / results["x1"][1]
            print(f"prepare peak RSS x10 / x1 = {r:.2f} (flat = ~1.0; corpus is {REPEAT}x larger)")
        teacher, student, data = setup_models(tmp)

        print(f"distillation step, batch {BATCH}, ce/mlm/cos 5/2/1, fp32, reference corpus (WikiText-2 + SST-2):")
        analyse_step(teacher, student, data, args.rounds + 1)
        if not args.quick:  # ---- `pocketbert distill` itself, its own counters
            wiki = tmp / "wiki.txt"
            wiki.write_text((DATA / "wikitext-2" / "valid.txt").read_text(encoding="utf-8"), encoding="utf-8")
            subprocess.run([PB, "prepare", "--corpus", str(wiki), "--tokenizer", "minilm", "--out",
                            str(tmp / "data-wiki128"), "--max-len", "128"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for label, prepared in (("reference corpus (WikiText-2 + SST-2, short sentences)", data),
                                    ("seq 128 (WikiText-2 128-token chunks)", tmp / "data-wiki128")):
                tps = throughput(teacher, student, prepared, tmp / f"run-{prepared.name}")
                print(f"pocketbert distill, batch {BATCH}, ce/mlm/cos 5/2/1, fp32, {label}: {tps:.0f} tokens/s "
                      f"(the original script: ~{ORIGINAL_TOKENS_PER_S:.0f} on the reference corpus, DESIGN.md)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
