"""Masked copies of the training windows, for task distillation with soft targets.

Why: a task-distilled student sees only the teacher's answers on the few thousand training windows, and on those it
stops improving after a few epochs (qa-models: ten CPU epochs did not beat six on the dev split) — it has learnt
the teacher on these inputs, not around them. Tang et al. 2019 ("Distilling task-specific knowledge from BERT into
simple neural networks") and TinyBERT (Jiao et al. 2020) add perturbed copies of the training inputs and let the
teacher label them; the student then matches the teacher's distributions on more, and more varied, inputs. The
perturbation here is Tang et al.'s masking: each word of the question and the context is replaced by [MASK] with
probability p, whole words at once (a word's WordPiece continuations, `##...`, go with it). A copy keeps its
window's labels, so the hard-label term (alpha_kd < 1) still has a target, though a masked answer makes it noisy;
with pure soft targets (alpha_kd = 1) only the teacher's view of the copy counts. Copies are made once, before
training, from the run's seed, so the teacher's logits of every row can still be cached and a resumed run sees the
very same rows (their digest is part of the run's fingerprint).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pocketbert.core.errors import PocketbertError

if TYPE_CHECKING:
    import torch

# Tang et al.'s masking probability is 0.1; BERT's MLM masks 15% of tokens. The default sits at BERT's rate.
DEFAULT_MASK_PROB = 0.15
# WordPiece marks a word's continuation pieces with this prefix; tokenizers without it mask token by token.
CONTINUATION_PREFIX = "##"


def recorded_settings(copies: int, mask_prob: float) -> dict:
    """The masked-copy settings worth recording (eval_results.json, a resume fingerprint): none without copies, where
    the mask rate changes nothing, so results and checkpoints from before copies existed read as "no copies"."""
    return {"augment_copies": copies, "augment_mask": mask_prob} if copies else {}


def check_augment(copies: int, mask_prob: float, teacher: str | None) -> None:
    """Copies need a teacher to label them and a probability in (0, 1]: one clear line otherwise."""
    if copies < 0:
        raise PocketbertError(f"--augment-copies {copies}: must be 0 (off) or more")
    if copies and not teacher:
        raise PocketbertError("--augment-copies needs --teacher: the masked copies are labelled by the teacher's "
                              "distributions; add --teacher or drop --augment-copies")
    if copies and not 0 < mask_prob <= 1:
        raise PocketbertError(f"--augment-mask {mask_prob}: must be in (0, 1]")


def continuation_table(tokenizer) -> torch.Tensor:
    """(vocab,) bool: True for the ids of word-continuation pieces (WordPiece `##...`)."""
    import torch  # here, not at the top: the CLI reads DEFAULT_MASK_PROB without loading torch

    vocab = tokenizer.get_vocab()
    table = torch.zeros(max(vocab.values()) + 1, dtype=torch.bool)
    for token, idx in vocab.items():
        if token.startswith(CONTINUATION_PREFIX):
            table[idx] = True
    return table


def masked_copy(input_ids: torch.Tensor, attention_mask: torch.Tensor, special: torch.Tensor,
                continuation: torch.Tensor, mask_id: int, mask_prob: float, gen: torch.Generator) -> torch.Tensor:
    """One masked copy of (n, seq) input_ids: each whole word of the real, non-special tokens -> [MASK] with p.

    special: ids never masked ([CLS], [SEP], padding); continuation: continuation_table().
    """
    import torch

    n, seq = input_ids.shape
    maskable = attention_mask.bool() & ~torch.isin(input_ids, special)  # (n, seq)
    is_cont = continuation[input_ids.clamp(max=len(continuation) - 1)] & maskable  # (n, seq)
    starts = maskable & ~is_cont  # (n, seq): first piece of each word
    chosen = starts & (torch.rand((n, seq), generator=gen) < mask_prob)  # (n, seq): the word starts drawn
    positions = torch.arange(seq).expand(n, seq)  # (n, seq)
    # (n, seq): where each piece's word starts (the latest start at or before it; 0, never a start, before the first)
    word_start = torch.where(starts, positions, 0).cummax(dim=1).values
    hit = torch.gather(chosen, 1, word_start) & maskable  # (n, seq): every piece of a chosen word
    return torch.where(hit, torch.full_like(input_ids, mask_id), input_ids)


def with_masked_copies(tensors: dict[str, torch.Tensor], tokenizer, copies: int, mask_prob: float,
                       seed: int) -> dict[str, torch.Tensor]:
    """The training rows followed by `copies` masked copies of all of them: {name: ((1 + copies) * n, ...)}.

    Every tensor but input_ids (attention, types, labels) is repeated as is; deterministic given `seed`.
    """
    import torch

    if not copies:
        return tensors
    if tokenizer.mask_token_id is None:
        raise PocketbertError("--augment-copies needs a tokenizer with a mask token ([MASK]); this one has none")
    special = torch.tensor(sorted({i for i in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
                                   if i is not None}), dtype=tensors["input_ids"].dtype)
    continuation = continuation_table(tokenizer)
    gen = torch.Generator().manual_seed(seed)
    ids = [tensors["input_ids"]] + [masked_copy(tensors["input_ids"], tensors["attention_mask"], special, continuation,
                                                tokenizer.mask_token_id, mask_prob, gen) for _ in range(copies)]
    out = {k: v.repeat(1 + copies, *([1] * (v.dim() - 1))) for k, v in tensors.items() if k != "input_ids"}
    out["input_ids"] = torch.cat(ids)  # (n * (1 + copies), seq)
    return out
