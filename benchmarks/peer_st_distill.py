"""The peer recipe for bench_distill_quality.py: sentence-transformers' model distillation (MSE on embeddings).

What sentence-transformers' examples/training/distillation/model_distillation.py does when the student is the
teacher with layers removed: student = Transformer + mean Pooling + Normalize, the teacher's embedding of each
training sentence as its target, `losses.MSELoss`, batch 64, AdamW lr 1e-4 after a warmup. It runs through
sentence-transformers' own trainer. One change for a fair wall-clock race: the example encodes every sentence
with the teacher before training starts (on this CPU that alone would take most of a 30-minute budget), so here
the teacher encodes each batch when it is trained on, as pocketbert's `distill` does; the loss is the same.
A callback saves the student when each wall-clock budget is reached (saving time is not counted) and stops after
the last one.

    python benchmarks/peer_st_distill.py --init DIR --data PREPARED_DIR --budgets 5,15,30 --out DIR

Needs the benchmark-only extra: pip install 'pocketbert[bench]' (sentence-transformers, datasets).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

BATCH = 64
LR = 1e-4
# The example warms up over 10% of one epoch of ~1M sentences; a wall-clock race has no epoch count, so the warmup
# is the one pocketbert's configs/sentence.yaml uses (2% of its 2000 planned steps), then the rate stays constant.
WARMUP_STEPS = 40
MAX_SEQ_LEN = 128


def training_sentences(data_dir: Path, holdout: float) -> list[str]:
    """The exact sequences pocketbert trains on (its held-out slice excluded), decoded back to text."""
    from pocketbert.core.models import load_tokenizer
    from pocketbert.distill.data import PreparedData
    from pocketbert.distill.validation import holdout_split

    data = PreparedData(data_dir)
    train, _ = holdout_split(len(data), holdout)
    tok = load_tokenizer("minilm")
    return tok.batch_decode([data[int(i)] for i in train], skip_special_tokens=True)


def main() -> None:
    import torch
    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments, losses, models)
    from transformers import TrainerCallback

    from pocketbert.core.models import packaged_teacher_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--budgets", default="5,15,30")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--holdout", type=float, default=0.05, help="pocketbert's held-out share, left out here too")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    budgets = [float(b) for b in args.budgets.split(",")]
    sentences = training_sentences(args.data, args.holdout)

    teacher = SentenceTransformer(str(packaged_teacher_dir()), device="cpu")
    word = models.Transformer(str(args.init), max_seq_length=MAX_SEQ_LEN)
    student = SentenceTransformer(modules=[word, models.Pooling(word.get_word_embedding_dimension(), "mean"),
                                           models.Normalize()], device="cpu")
    teacher.eval()

    class TeacherTargetMSE(losses.MSELoss):
        """losses.MSELoss with the teacher's embedding of the same batch as the label (computed here, no grad)."""

        def forward(self, sentence_features, labels=None):
            with torch.inference_mode():
                target = teacher(dict(sentence_features[0]))["sentence_embedding"]  # (bs, dim)
            return super().forward(sentence_features, target.clone())

    dataset = Dataset.from_dict({"sentence": sentences})
    started = time.perf_counter()
    paused = [0.0]
    log = []

    class Budgets(TrainerCallback):
        """Save the student at each budget (saving excluded from the clock); stop after the last."""

        def on_step_end(self, _args, state, control, **_kw):
            elapsed = (time.perf_counter() - started - paused[0]) / 60
            while budgets and elapsed >= budgets[0]:
                t0 = time.perf_counter()
                dest = args.out / f"min-{budgets[0]:g}"
                student.save(str(dest))
                log.append({"budget_min": budgets[0], "step": state.global_step, "elapsed_min": elapsed})
                print(f"peer: {budgets[0]:g} min -> {dest} (step {state.global_step})", flush=True)
                budgets.pop(0)
                paused[0] += time.perf_counter() - t0
            if not budgets:
                control.should_training_stop = True
            return control

    steps_per_epoch = -(-len(sentences) // BATCH)
    targs = SentenceTransformerTrainingArguments(
        output_dir=str(args.out / "trainer"), num_train_epochs=100, per_device_train_batch_size=BATCH,
        learning_rate=LR, warmup_steps=WARMUP_STEPS, lr_scheduler_type="constant_with_warmup",
        save_strategy="no", logging_steps=max(1, steps_per_epoch // 10), report_to=[], use_cpu=True,
        dataloader_num_workers=0, disable_tqdm=True, seed=56)
    trainer = SentenceTransformerTrainer(model=student, args=targs, train_dataset=dataset,
                                         loss=TeacherTargetMSE(student), callbacks=[Budgets()])
    trainer.train()
    (args.out / "peer_log.json").write_text(json.dumps({"sentences": len(sentences), "budgets": log}, indent=1))


if __name__ == "__main__":
    main()
