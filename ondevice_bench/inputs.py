"""Benchmark inputs: real English tokenized and padded to the static length, the same for every runtime."""
from __future__ import annotations

from pathlib import Path


# The first sentence plays the question, the following ones the context: a QA window filled with real tokens.
CONTEXT_SENTENCES = 40


def load_bench_tokenizer(vocab_dir: Path, manifest: dict | None):
    """The artifact's tokenizer as the apps build it (core runtime), or a model dir's own tokenizer."""
    from pocketbert.core.models import load_tokenizer
    from pocketbert.core.runtime import artifact_tokenizer

    if manifest is not None:
        return artifact_tokenizer(vocab_dir, manifest)
    return load_tokenizer(vocab_dir)


def bench_features(tokenizer, seq_len: int) -> dict[str, list[int]]:
    """input_ids / attention_mask / token_type_ids of one (question, context) pair, padded to `seq_len`."""
    from pocketbert.core.corpus import embedded_sentences

    sents = embedded_sentences(limit=CONTEXT_SENTENCES + 1)
    enc = tokenizer(sents[0], " ".join(sents[1:]), truncation="longest_first", max_length=seq_len,
                    padding="max_length", return_token_type_ids=True)
    return {k: list(enc[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
