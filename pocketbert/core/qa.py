"""Extractive QA pre/post-processing: question + context -> windows, logits -> best character span.

This module is the reference that the Swift (ios_demo/QACore) and Java (android_demo/qa-core) cores
re-implement, and the golden vectors in tests/golden are written from it. It uses numpy only (no torch).

Window rule (the same one Hugging Face's QA pipeline gets from
``tokenizer(question, context, truncation="only_second", max_length=max_len, stride=doc_stride,
return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")``; tests/test_qa.py
proves that the windows built here are identical to that call):

* ``q`` = the question's WordPiece tokens (no special tokens), truncated to the first ``max_query_len``.
* ``c`` = the context's WordPiece tokens (no special tokens), ``n = len(c)``.
* ``cap = max_len - len(q) - 3`` context tokens fit in a window (``[CLS] q [SEP] ... [SEP]``).
  ``cap < 1`` is an error; so is ``cap <= doc_stride`` when the context needs more than one window
  (the windows could not advance; HF's tokenizer refuses it too).
* Windows start at ``0, step, 2*step, ...`` with ``step = cap - doc_stride`` and hold ``c[start:min(start+cap, n)]``;
  the first window whose end reaches ``n`` is the last one. So consecutive windows overlap by ``doc_stride``
  tokens (HF's ``stride`` is the overlap, not the step).
* Window layout: ``[CLS] q [SEP] c[start:end] [SEP]`` then [PAD] (id 0) up to ``max_len``;
  token_type_ids 0 for ``[CLS] q [SEP]``, 1 for the context tokens and their [SEP], 0 for padding;
  attention_mask 1 for every real token.

Decoding (per window, see ``best_span``): positions that are not context tokens get logit -10000; softmax over
start and end logits separately; the ``top_k`` best starts x ``top_k`` best ends (stable order: ties go to the
lower position) are paired with ``start <= end`` and ``end - start + 1 <= max_answer_len``, both positions being
context tokens; score = p_start * p_end. The best score over all windows wins; exact ties go to the earlier
window, then the earlier start, then the earlier end. The answer is
``context[offsets[start][0] : offsets[end][1]]`` (Unicode code-point offsets, half-open).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pocketbert.core.errors import PocketbertError

DEFAULT_MAX_LEN = 384
DEFAULT_DOC_STRIDE = 128
DEFAULT_MAX_QUERY_LEN = 64
DEFAULT_MAX_ANSWER_LEN = 30
DEFAULT_TOP_K = 20
# Logit given to positions that cannot hold the answer (question, special tokens, padding), as in HF's pipeline.
MASKED_LOGIT = -10000.0
# Special tokens around the question and the context: [CLS] q [SEP] c [SEP].
N_SPECIAL_TOKENS = 3

EMPTY_QUESTION = "empty_question"
EMPTY_CONTEXT = "empty_context"


class QAInputError(PocketbertError):
    """An unusable question or context; `code` is the golden-vector `expect_error` name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Features:
    """The model inputs of one question/context pair, one row per window."""

    input_ids: np.ndarray  # (n_windows, max_len) int64
    attention_mask: np.ndarray  # (n_windows, max_len) int64
    token_type_ids: np.ndarray  # (n_windows, max_len) int64
    offsets: list[list[tuple[int, int] | None]]  # per window, per position; None outside the context
    context: str
    question_ids: list[int] = field(default_factory=list)  # after max_query_len truncation
    question_tokens: list[str] = field(default_factory=list)
    context_ids: list[int] = field(default_factory=list)
    context_tokens: list[str] = field(default_factory=list)
    context_offsets: list[tuple[int, int]] = field(default_factory=list)
    context_start: list[int] = field(default_factory=list)  # per window: position of its first context token
    context_end: list[int] = field(default_factory=list)  # per window: position after its last context token
    doc_token_start: list[int] = field(default_factory=list)  # per window: index into context_tokens

    @property
    def n_windows(self) -> int:
        return int(self.input_ids.shape[0])

    def model_inputs(self, names=("input_ids", "attention_mask", "token_type_ids")) -> dict[str, np.ndarray]:
        """The arrays a model takes, restricted to `names` (DistilBERT takes no token_type_ids)."""
        return {name: getattr(self, name) for name in names}


@dataclass
class Answer:
    text: str
    start_char: int
    end_char: int
    score: float
    window: int
    start_token: int
    end_token: int


def tokenize_with_offsets(tokenizer, text: str) -> tuple[list[int], list[str], list[tuple[int, int]]]:
    """WordPiece ids, tokens and code-point offsets of `text` without special tokens (fast tokenizer)."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    ids = list(enc["input_ids"])
    offsets = [(int(s), int(e)) for s, e in enc["offset_mapping"]]
    return ids, tokenizer.convert_ids_to_tokens(ids), offsets


def window_starts(n_context: int, cap: int, doc_stride: int) -> list[int]:
    """Token index of each window's first context token (the rule in the module docstring)."""
    if cap < 1:
        raise PocketbertError(
            f"max_len leaves no room for context tokens after the question; raise max_len or lower max_query_len"
        )
    if n_context > cap and cap <= doc_stride:
        raise PocketbertError(
            f"max_len leaves {cap} context tokens per window, not more than doc_stride={doc_stride}; "
            "raise max_len or lower doc_stride / max_query_len"
        )
    step = cap - doc_stride
    starts = [0]
    while starts[-1] + cap < n_context:
        starts.append(starts[-1] + step)
    return starts


@dataclass
class EncodedPair:
    """A question and a context tokenized once (question truncated to max_query_len); windows come later, for
    whichever sequence length the model takes (the apps' EncodedPair / QaFeatures.Tokenized)."""

    context: str
    question_ids: list[int]
    question_tokens: list[str]
    context_ids: list[int]
    context_tokens: list[str]
    context_offsets: list[tuple[int, int]]

    @property
    def single_window_length(self) -> int:
        """Positions needed to hold everything in one window: [CLS] q [SEP] c [SEP]."""
        return len(self.question_ids) + len(self.context_ids) + N_SPECIAL_TOKENS


def encode_pair(tokenizer, question: str, context: str, max_query_len: int = DEFAULT_MAX_QUERY_LEN) -> EncodedPair:
    """Tokenize a (question, context) pair; empty inputs fail as the golden `expect_error` cases say."""
    if not question or not question.strip():
        raise QAInputError(EMPTY_QUESTION, "the question is empty; pass a question with words in it")
    if not context or not context.strip():
        raise QAInputError(EMPTY_CONTEXT, "the context is empty; pass a passage to search for the answer")
    q_ids, q_tokens, _ = tokenize_with_offsets(tokenizer, question)
    if not q_ids:
        raise QAInputError(EMPTY_QUESTION, "the question has no tokens; pass a question with words in it")
    c_ids, c_tokens, c_offsets = tokenize_with_offsets(tokenizer, context)
    if not c_ids:
        raise QAInputError(EMPTY_CONTEXT, "the context has no tokens; pass a passage to search for the answer")
    return EncodedPair(context, q_ids[:max_query_len], q_tokens[:max_query_len], c_ids, c_tokens, c_offsets)


def choose_seq_len(seq_lens, pair: EncodedPair) -> int:
    """The apps' rule (QAModel.sequenceLength / QaPipeline.chooseSeqLen): the smallest length that holds the
    question and the whole context in one window, else the largest (the context is then split into windows)."""
    lens = sorted(int(s) for s in seq_lens if int(s) > 0)
    if not lens:
        raise PocketbertError("the model lists no sequence lengths; re-run `pocketbert convert`")
    return next((s for s in lens if s >= pair.single_window_length), lens[-1])


def make_features(
    tokenizer,
    question: str,
    context: str,
    max_len: int = DEFAULT_MAX_LEN,
    doc_stride: int = DEFAULT_DOC_STRIDE,
    max_query_len: int = DEFAULT_MAX_QUERY_LEN,
) -> Features:
    """Split a (question, context) pair into padded windows over the context (rule: module docstring)."""
    return pair_features(tokenizer, encode_pair(tokenizer, question, context, max_query_len), max_len, doc_stride)


def pair_features(tokenizer, pair: EncodedPair, max_len: int, doc_stride: int = DEFAULT_DOC_STRIDE) -> Features:
    """The padded windows of an encoded pair for a model with `max_len` positions."""
    q_ids, q_tokens = pair.question_ids, pair.question_tokens
    c_ids, c_tokens, c_offsets = pair.context_ids, pair.context_tokens, pair.context_offsets
    context = pair.context
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    cap = max_len - len(q_ids) - N_SPECIAL_TOKENS
    starts = window_starts(len(c_ids), cap, doc_stride)
    n_win = len(starts)
    input_ids = np.full((n_win, max_len), pad_id, dtype=np.int64)  # (n_windows, max_len)
    attention = np.zeros((n_win, max_len), dtype=np.int64)
    types = np.zeros((n_win, max_len), dtype=np.int64)
    feats = Features(input_ids, attention, types, [], context, q_ids, q_tokens, c_ids, c_tokens, c_offsets)
    head = [cls_id, *q_ids, sep_id]
    for w, start in enumerate(starts):
        end = min(start + cap, len(c_ids))
        row = head + c_ids[start:end] + [sep_id]
        input_ids[w, : len(row)] = row
        attention[w, : len(row)] = 1
        types[w, len(head) : len(row)] = 1
        offsets: list[tuple[int, int] | None] = [None] * max_len
        offsets[len(head) : len(head) + end - start] = c_offsets[start:end]
        feats.offsets.append(offsets)
        feats.context_start.append(len(head))
        feats.context_end.append(len(head) + end - start)
        feats.doc_token_start.append(start)
    return feats


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def window_candidates(
    start_logits: np.ndarray, end_logits: np.ndarray, context_mask: np.ndarray, max_answer_len: int, top_k: int
) -> list[tuple[float, int, int]]:
    """(score, start, end) of every allowed pair among the top_k starts x top_k ends of one window."""
    start_p = _softmax(np.where(context_mask, start_logits.astype(np.float64), MASKED_LOGIT))  # (max_len,)
    end_p = _softmax(np.where(context_mask, end_logits.astype(np.float64), MASKED_LOGIT))
    top_starts = np.argsort(-start_p, kind="stable")[:top_k]
    top_ends = np.argsort(-end_p, kind="stable")[:top_k]
    out = []
    for s in top_starts:
        if not context_mask[s]:
            continue
        for e in top_ends:
            if context_mask[e] and s <= e and e - s + 1 <= max_answer_len:
                out.append((float(start_p[s] * end_p[e]), int(s), int(e)))
    return out


def best_span(
    feats: Features,
    start_logits,
    end_logits,
    max_answer_len: int = DEFAULT_MAX_ANSWER_LEN,
    top_k: int = DEFAULT_TOP_K,
) -> Answer:
    """The highest-scoring answer span over all windows (rule and tie-breaks: module docstring).

    Returns an empty answer (window -1, score 0) only when no top_k x top_k pair satisfies the constraints.
    """
    start_logits = np.asarray(start_logits, dtype=np.float64).reshape(feats.n_windows, -1)  # (n_windows, max_len)
    end_logits = np.asarray(end_logits, dtype=np.float64).reshape(feats.n_windows, -1)
    best: tuple[float, int, int, int] | None = None  # (score, window, start, end)
    for w in range(feats.n_windows):
        mask = np.array([o is not None for o in feats.offsets[w]])  # (max_len,)
        for score, s, e in window_candidates(start_logits[w], end_logits[w], mask, max_answer_len, top_k):
            key = (score, -w, -s, -e)
            if best is None or key > (best[0], -best[1], -best[2], -best[3]):
                best = (score, w, s, e)
    if best is None:
        return Answer("", 0, 0, 0.0, -1, -1, -1)
    score, w, s, e = best
    start_char, end_char = feats.offsets[w][s][0], feats.offsets[w][e][1]
    return Answer(feats.context[start_char:end_char], start_char, end_char, score, w, s, e)


def answer_question(model, tokenizer, question: str, context: str, **kwargs) -> Answer:
    """Run a torch QA model over every window and decode (convenience for evaluation and demos)."""
    import torch

    feat_kw = {k: kwargs.pop(k) for k in ("max_len", "doc_stride", "max_query_len") if k in kwargs}
    feats = make_features(tokenizer, question, context, **feat_kw)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in feats.model_inputs(names).items()})
    return best_span(feats, out.start_logits.float().numpy(), out.end_logits.float().numpy(), **kwargs)
