"""QA features and decoding agree with Hugging Face's question-answering pipeline.

transformers 5 removed `pipeline("question-answering")`, so the reference here is that pipeline's own recipe
rebuilt from HF parts: the tokenizer call it made (truncation="only_second", stride=doc_stride, overflowing
windows, offsets) and its decoding function `select_starts_ends` (kept verbatim in
transformers.pipelines.document_question_answering), with its p_mask (question and specials masked, [CLS] kept in
the softmax then zeroed), answers mapped with the token offsets (align_to_words=False) and the best score over
windows winning (stable sort: earlier window on ties).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pocketbert.core.errors import PocketbertError
from pocketbert.core.models import load_tokenizer
from pocketbert.core.qa import QAInputError, answer_question, best_span, make_features

CONTEXT = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under "
    "their leader Rollo, agreed to swear fealty to King Charles III of West Francia. Through generations of "
    "assimilation and mixing with the native Frankish and Roman-Gaulish populations, their descendants would "
    "gradually merge with the Carolingian-based cultures of West Francia. The distinct cultural and ethnic "
    "identity of the Normans emerged initially in the first half of the 10th century, and it continued to "
    "evolve over the succeeding centuries. Café société in Zürich — naïve façades, 東京 and emoji 🙂 too."
)
QUESTIONS = ["In what country is Normandy located?", "Who was the leader of the Norse raiders?",
             "When did the Norman identity emerge?", "Where is the café société?"]


@pytest.fixture(scope="module")
def tok(tiny_models):
    return load_tokenizer(tiny_models("bert", "qa"))


def hf_pipeline_answer(model, tokenizer, question, context, max_len, doc_stride, max_answer_len=30):
    """The transformers-4 QA pipeline's answer (top_k=1, fast tokenizer, align_to_words=False)."""
    from transformers.pipelines.document_question_answering import select_starts_ends

    enc = tokenizer(question, context, padding="max_length", truncation="only_second", max_length=max_len,
                    stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                    return_token_type_ids=True)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]
    with torch.no_grad():
        out = model(**{n: torch.tensor(enc[n]) for n in names})
    answers = []
    for w in range(len(enc["input_ids"])):
        p_mask = np.array([tok_seq != 1 for tok_seq in enc.sequence_ids(w)])
        p_mask[np.array(enc["input_ids"][w]) == tokenizer.cls_token_id] = 0
        starts, ends, scores, _ = select_starts_ends(
            out.start_logits[w : w + 1].numpy(), out.end_logits[w : w + 1].numpy(), p_mask,
            np.array(enc["attention_mask"][w]), top_k=1, max_answer_len=max_answer_len)
        for s, e, score in zip(starts, ends, scores):
            offsets = enc["offset_mapping"][w]
            answers.append((float(score), offsets[s][0], offsets[e][1]))
    best = sorted(answers, key=lambda a: a[0], reverse=True)[0]
    return context[best[1] : best[2]], best[1], best[2]


def test_windows_match_the_tokenizers_overflow_call(tok):
    """The documented window rule equals HF's `stride` overflow windows, ids, types, masks and offsets."""
    for max_len, stride in [(64, 16), (96, 32), (384, 128)]:
        for q in QUESTIONS:
            feats = make_features(tok, q, CONTEXT, max_len=max_len, doc_stride=stride)
            enc = tok(q, CONTEXT, padding="max_length", truncation="only_second", max_length=max_len, stride=stride,
                      return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
            assert feats.n_windows == len(enc["input_ids"])
            np.testing.assert_array_equal(feats.input_ids, np.array(enc["input_ids"]))
            np.testing.assert_array_equal(feats.token_type_ids, np.array(enc["token_type_ids"]))
            np.testing.assert_array_equal(feats.attention_mask, np.array(enc["attention_mask"]))
            for w in range(feats.n_windows):
                expected = [tuple(o) if sid == 1 else None for o, sid in zip(enc["offset_mapping"][w], enc.sequence_ids(w))]
                assert feats.offsets[w] == expected
    assert make_features(tok, QUESTIONS[0], CONTEXT, max_len=64, doc_stride=16).n_windows > 3


@pytest.mark.parametrize("arch", ["bert", "distilbert"])
def test_answers_match_hf_pipeline_recipe(tiny_models, arch):
    from transformers import AutoModelForQuestionAnswering

    path = tiny_models(arch, "qa")
    model = AutoModelForQuestionAnswering.from_pretrained(path).eval()
    tokenizer = load_tokenizer(path)
    n_multi = 0
    for max_len, stride in [(384, 128), (64, 16)]:
        for q in QUESTIONS:
            ours = answer_question(model, tokenizer, q, CONTEXT, max_len=max_len, doc_stride=stride, top_k=max_len)
            ref = hf_pipeline_answer(model, tokenizer, q, CONTEXT, max_len, stride)
            assert (ours.text, ours.start_char, ours.end_char) == ref
            assert CONTEXT[ours.start_char : ours.end_char] == ours.text and ours.text
            default_k = answer_question(model, tokenizer, q, CONTEXT, max_len=max_len, doc_stride=stride)
            assert (default_k.text, default_k.start_char) == (ours.text, ours.start_char)
            n_multi += ours.window > 0
    assert n_multi > 0, "the multi-window case never picked a later window; the test would not cover windows"


def test_decoding_ignores_question_tokens_and_respects_constraints(tok):
    feats = make_features(tok, "who is rollo?", CONTEXT, max_len=384, doc_stride=128)
    n, L = feats.n_windows, 384
    assert n == 1
    start = np.zeros((n, L))
    end = np.zeros((n, L))
    start[:, 1] = end[:, 1] = 50.0  # a question token: must be ignored
    cs, ce = feats.context_start[0], feats.context_end[0]
    start[0, cs + 5], end[0, cs + 3] = 20.0, 20.0  # end before start: not allowed
    start[0, cs + 10], end[0, cs + 12] = 10.0, 10.0
    ans = best_span(feats, start, end)
    assert (ans.window, ans.start_token, ans.end_token) == (0, cs + 5, cs + 12)
    assert ans.text == CONTEXT[feats.offsets[0][cs + 5][0] : feats.offsets[0][cs + 12][1]]
    short = best_span(feats, start, end, max_answer_len=3)  # span 5..12 too long now
    assert short.end_token - short.start_token + 1 <= 3
    assert cs <= short.start_token and short.end_token < ce


def test_ties_go_to_the_earlier_window(tok):
    feats = make_features(tok, "who?", CONTEXT, max_len=64, doc_stride=16)
    start = np.full((feats.n_windows, 64), -1000.0)
    for w in range(feats.n_windows):  # one certain token per window: every window scores exactly 1.0
        start[w, feats.context_start[w] + 2] = 0.0
    ans = best_span(feats, start, start.copy())
    assert ans.score == 1.0 and ans.window == 0 and ans.start_token == ans.end_token == feats.context_start[0] + 2


def test_question_is_truncated_to_max_query_len(tok):
    question = " ".join(["word"] * 100) + "?"
    feats = make_features(tok, question, CONTEXT, max_len=128, doc_stride=16, max_query_len=64)
    assert len(feats.question_ids) == 64
    assert feats.context_start[0] == 66  # [CLS] + 64 + [SEP]


@pytest.mark.parametrize("q, c, code", [("", CONTEXT, "empty_question"), ("  \n", CONTEXT, "empty_question"),
                                        ("who?", " \t", "empty_context"), ("who?", "", "empty_context")])
def test_empty_inputs_are_errors(tok, q, c, code):
    with pytest.raises(QAInputError) as err:
        make_features(tok, q, c)
    assert err.value.code == code and "\n" not in err.value.message


def test_window_too_small_is_a_clear_error(tok):
    with pytest.raises(PocketbertError, match="doc_stride"):
        make_features(tok, "who was the leader of them all?", CONTEXT, max_len=32, doc_stride=24)
