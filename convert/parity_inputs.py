"""Real inputs for parity and calibration: text from a data file or the embedded pydoc corpus, tokenized and
padded to the artifact's static length.

Random token ids would hide the failures that matter (the collapsed int8 demos of DESIGN.md were fine on noise):
parity runs on real English. QA uses (question, context) pairs and the reference windowing of
`pocketbert.core.qa.make_features`, so the spans compared are the ones the apps would show.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pocketbert.core.errors import PocketbertError
from pocketbert.core.qa import DEFAULT_DOC_STRIDE, DEFAULT_MAX_QUERY_LEN
from pocketbert.core.registry import PARITY_SAMPLES

# Share of real tokens replaced by [MASK] for the mlm check (BERT's pre-training rate).
MLM_MASK_RATE = 0.15
# Question/stride budget as a share of the static length, so short test lengths (32, 64) still hold context.
QA_QUERY_SHARE = 4
QA_MAX_QUERY_LEN = DEFAULT_MAX_QUERY_LEN  # the usual window at 384 (core.qa); shorter lengths get less
QA_DOC_STRIDE = DEFAULT_DOC_STRIDE
# Words taken from a context sentence to build a question about it.
QA_QUESTION_WORDS = 6
SEED = 0
# The parity gate's re-check grows its sample this many times per round (convert/parity.py); the SQuAD samples of
# successive parts nest in a grid of this base so every round's questions stay spread over the file.
RECHECK_FACTOR = 3


@dataclass
class ParityBatch:
    """Inputs (n, seq) int32 per input name, plus what the task-level check needs to decode them."""

    feeds: dict[str, np.ndarray]
    n_examples: int  # texts or QA pairs (QA pairs may span several windows)
    qa_features: list = field(default_factory=list)  # per pair: core.qa.Features
    qa_rows: list[tuple[int, int]] = field(default_factory=list)  # per pair: [first, last) row in feeds
    mlm_positions: np.ndarray | None = None  # (n, seq) bool: masked positions

    @property
    def n_rows(self) -> int:
        return int(next(iter(self.feeds.values())).shape[0])


def read_texts(data: str | Path | None, n: int, part: int = 0) -> list[str]:
    """Sentences from `data` (.txt one per line, .tsv first column, STS .csv both sentences) or the embedded corpus;
    `part` k skips the k x n sentences of the parts before it (disjoint samples; fewer or none at the end)."""
    if part:
        return read_texts(data, n * (part + 1))[n * part:]
    if data is None:
        from pocketbert.core.corpus import embedded_sentences

        return embedded_sentences(limit=n)
    path = Path(data)
    if not path.is_file():
        raise PocketbertError(f"--data {path} does not exist; pass a text file (one sentence a line), .tsv or SQuAD .json")
    if path.suffix == ".json":
        return [q for q, _ in read_squad_pairs(path, n)]
    texts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            line = line.rstrip("\n")
            if path.suffix == ".tsv":
                line = line.split("\t")[0]
                if i == 0 and line.lower() == "sentence":
                    continue
            elif path.suffix == ".csv":
                cols = line.split("\t")
                candidates = cols[5:7] if len(cols) >= 7 else [line]
                texts.extend(c for c in candidates if len(c.split()) >= 3)
                continue
            if len(line.split()) >= 3:
                texts.append(line.strip())
            if len(texts) >= n:
                break
    if not texts:
        raise PocketbertError(f"--data {path} has no usable text lines (3+ words); pass a file of sentences")
    return texts[:n]


def grid_offset(part: int, step: int, base: int) -> int:
    """Where part k's grid starts inside one step of the sample's grid: step x the base-`base` radical inverse of k
    (0, 1/3, 2/3, then 1/9, 4/9, 7/9, 2/9, ... for base 3), so parts 0..base-1 split the step in thirds as before
    and each further round of `base`-fold growth fills the gaps between the earlier parts' points."""
    num, den = 0, 1
    while part:
        part, digit = divmod(part, base)
        num, den = num * base + digit, den * base
    return step * num // den


def read_squad_pairs(path: Path, n: int, part: int = 0, base: int = RECHECK_FACTOR) -> list[tuple[str, str]]:
    """n question/context pairs spread evenly over the file; `part` k takes the grid shifted by `grid_offset`, so
    parts are disjoint samples spread like the first (part 0 is the plain sample; [] when the file is too small
    for the part to be disjoint from the parts before it)."""
    try:
        squad = json.loads(Path(path).read_text())
        pairs = [
            (qa["question"], para["context"])
            for article in squad["data"]
            for para in article["paragraphs"]
            for qa in para["qas"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise PocketbertError(f"--data {path} is not SQuAD JSON (data/paragraphs/qas); pass a SQuAD v1.1 file") from exc
    # Spread over articles rather than taking n questions about the first paragraph.
    step = max(1, len(pairs) // max(n, 1))
    offset = grid_offset(part, step, base)
    if part and offset in {grid_offset(k, step, base) for k in range(part)}:  # too few pairs: no disjoint sample left
        return []
    return pairs[offset::step][:n]


def embedded_qa_pairs(n: int) -> list[tuple[str, str]]:
    """Question/context pairs built from the embedded corpus: a paragraph and a question about one of its sentences."""
    from pocketbert.core.corpus import embedded_paragraphs

    rng = np.random.default_rng(SEED)
    pairs: list[tuple[str, str]] = []
    for para in embedded_paragraphs():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", para) if len(s.split()) >= QA_QUESTION_WORDS + 2]
        if not sentences:
            continue
        words = sentences[int(rng.integers(len(sentences)))].rstrip(".!?").split()
        start = int(rng.integers(0, len(words) - QA_QUESTION_WORDS + 1))
        pairs.append((f"What does {' '.join(words[start:start + QA_QUESTION_WORDS])} mean?", para))
        if len(pairs) >= n:
            break
    return pairs


def qa_settings(seq_lens: list[int]) -> tuple[int, int]:
    """(max_query_len, doc_stride) of an artifact, sized for its LONGEST length.

    The apps split a context into windows only at the longest signature (core.qa.choose_seq_len picks a shorter
    one only when the question and the whole context fit in one window), so the stride and the question budget
    are those of that length: the usual (64, 128) at 384; a shorter artifact gives a quarter of S to the question
    and at most half the remaining context room to the stride (windows must advance).
    """
    smax = max(seq_lens)
    max_query_len = min(QA_MAX_QUERY_LEN, smax // QA_QUERY_SHARE)
    return max_query_len, _stride_for(smax, max_query_len, QA_DOC_STRIDE)


def _stride_for(seq_len: int, max_query_len: int, doc_stride: int) -> int:
    room = seq_len - max_query_len - 3  # context tokens per window: [CLS] q [SEP] c [SEP]
    return max(1, min(doc_stride, room // 2))


def window_at(seq_len: int, max_query_len: int, doc_stride: int) -> tuple[int, int]:
    """The artifact's window settings applied at one of its (possibly shorter) lengths, for parity inputs.

    The question keeps its budget while it leaves at least half the length to the context; the stride is capped
    so that windows still advance at this length (at 128 an artifact's (64, 128) becomes (64, 30)).
    """
    max_query_len = min(max_query_len, seq_len // 2)
    return max_query_len, _stride_for(seq_len, max_query_len, doc_stride)


def qa_batch(tokenizer, input_names: list[str], seq_len: int, data, n: int,
             max_query_len: int | None = None, doc_stride: int | None = None, part: int = 0,
             base: int = RECHECK_FACTOR) -> ParityBatch:
    from pocketbert.core.qa import make_features

    if data is not None and Path(data).suffix == ".json":
        pairs = read_squad_pairs(Path(data), n, part, base)
    elif data is not None:
        raise PocketbertError(f"--data {data}: QA parity needs SQuAD JSON (question/context pairs); pass a .json file")
    else:
        pairs = embedded_qa_pairs(n * (part + 1))[n * part:]
    if max_query_len is None or doc_stride is None:
        max_query_len, doc_stride = qa_settings([seq_len])
    else:
        max_query_len, doc_stride = window_at(seq_len, max_query_len, doc_stride)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in input_names}
    batch = ParityBatch(feeds={}, n_examples=len(pairs))
    first = 0
    for question, context in pairs:
        feats = make_features(tokenizer, question, context, max_len=seq_len, doc_stride=doc_stride,
                              max_query_len=max_query_len)
        for k in input_names:
            rows[k].append(getattr(feats, k))  # (n_windows, seq)
        batch.qa_features.append(feats)
        batch.qa_rows.append((first, first + feats.input_ids.shape[0]))
        first += feats.input_ids.shape[0]
    batch.feeds = {k: (np.concatenate(v) if v else np.zeros((0, seq_len))).astype(np.int32)
                   for k, v in rows.items()}  # (total_windows, seq)
    return batch


def text_batch(tokenizer, input_names: list[str], seq_len: int, task: str, data, n: int, part: int = 0) -> ParityBatch:
    texts = read_texts(data, n, part)
    if not texts:  # a later part of a small file: nothing left
        return ParityBatch(feeds={k: np.zeros((0, seq_len), np.int32) for k in input_names}, n_examples=0)
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=seq_len, return_tensors="np")
    feeds = {k: np.asarray(enc[k], dtype=np.int32) if k in enc else np.zeros_like(enc["input_ids"], dtype=np.int32)
             for k in input_names}  # (n, seq)
    batch = ParityBatch(feeds=feeds, n_examples=len(texts))
    if task == "mlm":
        rng = np.random.default_rng(SEED)
        ids = feeds["input_ids"]
        special = np.isin(ids, [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id])
        masked = (rng.random(ids.shape) < MLM_MASK_RATE) & ~special  # (n, seq)
        ids[masked] = tokenizer.mask_token_id
        batch.mlm_positions = masked
    return batch


def build_batch(tokenizer, task: str, input_names: list[str], seq_len: int, data=None, n: int = PARITY_SAMPLES,
                qa_window: tuple[int, int] | None = None, part: int = 0, base: int = RECHECK_FACTOR) -> ParityBatch:
    """The parity (or calibration) inputs for one static length; qa_window = (max_query_len, doc_stride).

    `part` k > 0: another n examples, disjoint from those of parts 0..k-1 (the parity gate's re-check; SQuAD parts
    nest in a grid of `base`); part 0 is the plain sample. A part the data cannot fill comes back with fewer
    examples, or none.
    """
    if n < 1:
        raise PocketbertError(f"-n {n}: parity needs at least one example")
    if task == "qa":
        return qa_batch(tokenizer, input_names, seq_len, data, n, *(qa_window or (None, None)), part=part, base=base)
    return text_batch(tokenizer, input_names, seq_len, task, data, n, part)
