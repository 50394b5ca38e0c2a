"""Golden QA vectors shared with the Swift (QACore) and Java (qa-core) re-implementations (CONTRACTS.md §4).

Every case pins the tokenizer settings, the question/context, the expected tokens/ids/offsets (from Hugging
Face's fast BERT tokenizer), the windows (from `pocketbert.core.qa.make_features`), seeded logits and the answer
`best_span` decodes from them. The logits hold a planted answer span inside the context and a *higher* planted
peak on a question token (and on padding), so a decoder that forgets to mask non-context positions fails.
Files are deterministic: fixed seeds, logits rounded to 4 decimals, JSON with sorted keys.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketbert.core.atomic import atomic_output_dir, write_json
from pocketbert.core.outputs import Marker, check_output_dir
from pocketbert.core.qa import QAInputError, best_span, make_features

SCHEMA_VERSION = 1
VOCAB_FILE = "vocab.txt"
# The golden dir's index; `golden --force` replaces only a dir that carries it (pocketbert.core.outputs).
MARKER = Marker("golden", "index.json", ("cases", "schema_version"))
LOGIT_DECIMALS = 4
# Planted logits: the answer peak, and decoys on a question token / padding that must be ignored.
ANSWER_LOGIT = 8.0
QUESTION_DECOY_LOGIT = 12.0
PADDING_DECOY_LOGIT = 11.0


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    question: str
    context: str
    seed: int
    max_seq_len: int = 128
    doc_stride: int = 32
    max_query_len: int = 64
    max_answer_len: int = 30
    top_k: int = 20
    lowercase: bool = True
    strip_accents: bool | None = None
    tokenize_chinese_chars: bool = True
    # Where to plant the answer: (window, offset of the first answer token among the window's context tokens, length).
    plant: tuple[int, int, int] = (0, 2, 2)


LONG_CONTEXT = (
    "Tesla was born in 1856 in Smiljan, in the Austrian Empire. He studied engineering and physics in the 1870s "
    "without receiving a degree. In 1884 he emigrated to the United States, where he worked for a short time at "
    "the Edison Machine Works in New York City before he struck out on his own. With the help of partners he set "
    "up laboratories and companies in New York to develop a range of electrical devices. His alternating current "
    "induction motor and related patents were licensed by George Westinghouse, earning Tesla a considerable "
    "amount of money. After 1900 he tried to build a wireless power station at Wardenclyffe, which failed."
)

CASES: tuple[Case, ...] = (
    Case("accents_unicode", "accents (é, ü, ñ), ß, CJK characters (split one per token) and an emoji ([UNK])",
         "Where did Zoë drink her café?",
         "Zoë drank a café crème in Zürich; her friend Iñaki ate Straße food, 寿司 and 東京 ramen 🍜 later.", 11,
         plant=(0, 4, 3)),
    Case("punctuation", "punctuation glued to words, quotes, dashes, brackets and ellipses",
         "What did she say?",
         "She said: \"Hello, world!\" (twice) -- then... 'bye'; [done] {ok} a/b, x-y & z? yes!", 12, plant=(0, 3, 4)),
    Case("numbers", "integers, decimals, thousands separators, ordinals and dates",
         "How many people live there?",
         "In 2021, about 1,234,567 people (3.5% more) lived there; the 42nd census was on 12/31/2020.", 13,
         plant=(0, 4, 5)),
    Case("many_wordpieces", "long and rare words split into many ## word pieces",
         "What is the longest word?",
         "Antidisestablishmentarianism and pneumonoultramicroscopicsilicovolcanoconiosis are famously long; "
         "unbelievably, hyperparameterization is too.", 14, plant=(0, 0, 8)),
    Case("unknown_words", "characters missing from the vocab and a word over 100 characters become [UNK]",
         "What is unknown?",
         "Symbols ☃ and 𝔘 are odd, and " + "x" * 101 + " is too long; ok.", 15, plant=(0, 1, 3)),
    Case("whitespace_control", "tabs, newlines, non-breaking and zero-width spaces, control characters",
         "Which city?",
         "  The\tcity\nof\u00a0Paris\u200b is\u0007 lovely\r\n in  spring.  ", 16, plant=(0, 1, 4)),
    Case("long_context_windows", "a context several windows long (max_seq_len 64, doc_stride 16); answer in window 2",
         "Who licensed the induction motor patents?", LONG_CONTEXT, 17, max_seq_len=64, doc_stride=16,
         plant=(2, 10, 2)),
    Case("long_question_truncated", "a question longer than max_query_len (16 here) is cut to its first 16 tokens",
         "Tell me, after considering every single one of the many details given in the text below, where exactly "
         "did the meeting take place?",
         "The meeting took place in the old town hall of Bruges.", 18, max_query_len=16, plant=(0, 6, 4)),
    Case("context_shorter_than_question", "a one-word context after a long question",
         "What is the single word that is written in the very short passage given here?", "Serendipity.", 19,
         plant=(0, 0, 1)),
    Case("cased_no_lowercase", "lowercase=false on the uncased vocab: capitalised words become [UNK] or pieces, "
         "accents are kept", "Who wrote Hamlet?", "William Shakespeare wrote Hamlet around 1600; café.", 20,
         lowercase=False, plant=(0, 0, 2)),
    Case("lowercase_keep_accents", "lowercase=true with strip_accents=false: accents survive lowercasing",
         "Where is the café?", "The Café Société is near the Musée d'Orsay.", 21, strip_accents=False,
         plant=(0, 1, 2)),
    Case("empty_question", "a whitespace-only question is an error", "   ", "Some context.", 22),
    Case("empty_context", "a whitespace-only context is an error", "Why?", " \n\t ", 23),
)


def packaged_vocab_path() -> Path:
    from pocketbert.core.models import packaged_teacher_dir

    return packaged_teacher_dir() / VOCAB_FILE


def case_tokenizer(vocab_path: Path, case: Case):
    """A fast BERT tokenizer over the vocab with the case's normalisation settings."""
    from transformers import BertTokenizer

    vocab = {}
    for i, line in enumerate(Path(vocab_path).read_text(encoding="utf-8").split("\n")):
        if line and line not in vocab:
            vocab[line] = i
    return BertTokenizer(vocab=vocab, do_lower_case=case.lowercase, strip_accents=case.strip_accents,
                         tokenize_chinese_chars=case.tokenize_chinese_chars)


def planted_logits(case: Case, feats) -> tuple[np.ndarray, np.ndarray]:
    """Seeded noise, the planted answer span, and louder decoys outside the context."""
    rng = np.random.default_rng(case.seed)
    shape = (feats.n_windows, case.max_seq_len)  # (n_windows, max_seq_len)
    start = rng.normal(0.0, 1.0, shape)
    end = rng.normal(0.0, 1.0, shape)
    window, first, length = case.plant
    cs, ce = feats.context_start[window], feats.context_end[window]
    s = min(cs + first, ce - 1)
    e = min(s + length - 1, ce - 1)
    start[window, s] = ANSWER_LOGIT
    end[window, e] = ANSWER_LOGIT
    for w in range(feats.n_windows):
        start[w, 1] = end[w, 1] = QUESTION_DECOY_LOGIT  # first question token
        if feats.attention_mask[w, -1] == 0:  # the last position is padding
            start[w, -1] = end[w, -1] = PADDING_DECOY_LOGIT
    return np.round(start, LOGIT_DECIMALS), np.round(end, LOGIT_DECIMALS)


def build_case(case: Case, vocab_path: Path) -> dict:
    """The JSON object of one golden case (CONTRACTS.md §4)."""
    out = {
        "name": case.name, "description": case.description, "vocab": VOCAB_FILE,
        "lowercase": case.lowercase, "strip_accents": case.strip_accents,
        "tokenize_chinese_chars": case.tokenize_chinese_chars, "max_seq_len": case.max_seq_len,
        "doc_stride": case.doc_stride, "max_query_len": case.max_query_len, "max_answer_len": case.max_answer_len,
        "top_k": case.top_k, "question": case.question, "context": case.context, "expect_error": None,
    }
    tok = case_tokenizer(vocab_path, case)
    try:
        feats = make_features(tok, case.question, case.context, max_len=case.max_seq_len,
                              doc_stride=case.doc_stride, max_query_len=case.max_query_len)
    except QAInputError as err:
        out["expect_error"] = err.code
        return out
    start, end = planted_logits(case, feats)
    answer = best_span(feats, start, end, max_answer_len=case.max_answer_len, top_k=case.top_k)
    windows = []
    for w in range(feats.n_windows):
        windows.append({
            "input_ids": feats.input_ids[w].tolist(), "attention_mask": feats.attention_mask[w].tolist(),
            "token_type_ids": feats.token_type_ids[w].tolist(), "context_start": feats.context_start[w],
            "context_end": feats.context_end[w], "doc_token_start": feats.doc_token_start[w],
            "offsets": [list(o) if o is not None else None for o in feats.offsets[w]],
        })
    out.update({
        "question_tokens": feats.question_tokens, "question_ids": feats.question_ids,
        "context_tokens": feats.context_tokens, "context_ids": feats.context_ids,
        "context_offsets": [list(o) for o in feats.context_offsets], "windows": windows,
        "start_logits": start.tolist(), "end_logits": end.tolist(),
        "expected_answer": {"text": answer.text, "start_char": answer.start_char, "end_char": answer.end_char,
                            "window": answer.window, "start_token": answer.start_token,
                            "end_token": answer.end_token, "score": answer.score},
    })
    return out


def write_golden(out: Path, force: bool = False) -> list[str]:
    """Write vocab.txt, index.json and one <case>.json per case to `out` atomically; return the case names."""
    force = check_output_dir(Path(out), force, MARKER)
    vocab = packaged_vocab_path()
    with atomic_output_dir(Path(out), force=force) as tmp:
        shutil.copyfile(vocab, tmp / VOCAB_FILE)
        for case in CASES:
            write_json(tmp / f"{case.name}.json", build_case(case, vocab))
        write_json(tmp / MARKER.file, {"schema_version": SCHEMA_VERSION, "vocab": VOCAB_FILE,
                                        "cases": [c.name for c in CASES]})
    return [c.name for c in CASES]
