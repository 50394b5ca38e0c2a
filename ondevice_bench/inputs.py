"""Benchmark inputs: real English tokenized and padded to the static length, the same for every runtime."""
from __future__ import annotations

from pathlib import Path

from pocketbert.core.errors import PocketbertError

# The first sentence plays the question, the following ones the context: a QA window filled with real tokens.
CONTEXT_SENTENCES = 40


def load_bench_tokenizer(vocab_dir: Path, manifest: dict | None):
    """A fast BERT tokenizer from the artifact's vocab.txt (lowercasing per its manifest) or a model dir's files."""
    from transformers import BertTokenizerFast

    from pocketbert.core.models import load_tokenizer

    vocab = Path(vocab_dir) / ((manifest or {}).get("tokenizer") or {}).get("vocab_file", "vocab.txt")
    if manifest is not None:
        if not vocab.is_file():
            raise PocketbertError(f"artifact {vocab_dir} has no {vocab.name}; re-run `pocketbert convert`")
        lower = ((manifest.get("tokenizer") or {}).get("lowercase", True))
        return BertTokenizerFast(vocab_file=str(vocab), do_lower_case=bool(lower))
    return load_tokenizer(vocab_dir)


def bench_features(tokenizer, seq_len: int) -> dict[str, list[int]]:
    """input_ids / attention_mask / token_type_ids of one (question, context) pair, padded to `seq_len`."""
    from pocketbert.core.corpus import embedded_sentences

    sents = embedded_sentences(limit=CONTEXT_SENTENCES + 1)
    enc = tokenizer(sents[0], " ".join(sents[1:]), truncation="longest_first", max_length=seq_len,
                    padding="max_length", return_token_type_ids=True)
    return {k: list(enc[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
