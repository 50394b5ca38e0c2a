"""The committed golden vectors are deterministic, up to date and self-consistent (the Swift/Java cores trust them)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from pocketbert.core.golden import CASES, QUESTION_DECOY_LOGIT, case_tokenizer
from pocketbert.core.models import load_tokenizer
from pocketbert.core.qa import Features, best_span
from pocketbert.distill.task_cli import golden

GOLDEN = Path(__file__).parent / "golden"

REQUIRED_COVERAGE = {"accents_unicode", "punctuation", "numbers", "many_wordpieces", "unknown_words",
                     "long_context_windows", "empty_question", "context_shorter_than_question", "cased_no_lowercase"}


def load_cases() -> list[dict]:
    index = json.loads((GOLDEN / "index.json").read_text())
    return [json.loads((GOLDEN / f"{name}.json").read_text()) for name in index["cases"]]


def test_regenerated_golden_is_byte_identical(tmp_path):
    out = tmp_path / "golden"
    result = CliRunner().invoke(golden, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    committed = sorted(p.name for p in GOLDEN.iterdir())
    assert sorted(p.name for p in out.iterdir()) == committed
    for name in committed:
        assert (out / name).read_bytes() == (GOLDEN / name).read_bytes(), f"{name} is stale: run `make golden`"
    again = CliRunner().invoke(golden, ["--out", str(out)])
    assert again.exit_code != 0 and "--force" in again.output


def test_index_and_coverage():
    index = json.loads((GOLDEN / "index.json").read_text())
    assert index["schema_version"] == 1 and index["vocab"] == "vocab.txt"
    assert REQUIRED_COVERAGE <= set(index["cases"])
    assert len((GOLDEN / "vocab.txt").read_text(encoding="utf-8").splitlines()) == 30522
    cases = load_cases()
    assert any(not c["lowercase"] for c in cases)
    assert any(len(c.get("windows", [])) >= 3 for c in cases)
    assert {c["expect_error"] for c in cases} >= {None, "empty_question", "empty_context"}


def test_uncased_case_tokenizer_equals_the_packaged_tokenizer():
    packaged = load_tokenizer("minilm")
    for case in CASES:
        if case.lowercase and case.strip_accents is None:
            ours = case_tokenizer(GOLDEN / "vocab.txt", case)
            for text in (case.question, case.context):
                assert ours(text, add_special_tokens=False)["input_ids"] == packaged(text, add_special_tokens=False)["input_ids"]


def test_expected_answers_decode_from_the_files_alone():
    """Rebuild features from the JSON only and decode: the answer must be the stored one, inside the context,
    never the louder decoy planted on a question token."""
    for case in load_cases():
        if case["expect_error"]:
            continue
        windows = case["windows"]
        feats = Features(
            input_ids=np.array([w["input_ids"] for w in windows]),
            attention_mask=np.array([w["attention_mask"] for w in windows]),
            token_type_ids=np.array([w["token_type_ids"] for w in windows]),
            offsets=[[tuple(o) if o is not None else None for o in w["offsets"]] for w in windows],
            context=case["context"],
        )
        start = np.array(case["start_logits"])
        assert start.max() == QUESTION_DECOY_LOGIT and start[:, 1].max() == QUESTION_DECOY_LOGIT
        ans = best_span(feats, start, case["end_logits"], max_answer_len=case["max_answer_len"], top_k=case["top_k"])
        exp = case["expected_answer"]
        assert (ans.text, ans.start_char, ans.end_char, ans.window, ans.start_token, ans.end_token) == (
            exp["text"], exp["start_char"], exp["end_char"], exp["window"], exp["start_token"], exp["end_token"])
        assert math.isclose(ans.score, exp["score"], abs_tol=1e-5)
        w = windows[exp["window"]]
        assert w["context_start"] <= exp["start_token"] <= exp["end_token"] < w["context_end"]
        assert case["context"][exp["start_char"] : exp["end_char"]] == exp["text"]
        assert len(case["question_ids"]) <= case["max_query_len"]
        for w in windows:  # window positions agree with context token indices
            n = w["context_end"] - w["context_start"]
            assert w["input_ids"][w["context_start"] : w["context_end"]] == \
                case["context_ids"][w["doc_token_start"] : w["doc_token_start"] + n]
