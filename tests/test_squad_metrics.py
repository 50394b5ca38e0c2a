"""SQuAD v1.1 EM/F1 exactly as the official evaluate-v1.1.py defines them, on hand-checked cases."""
from __future__ import annotations

import json

import pytest

from pocketbert.core.errors import PocketbertError
from pocketbert.core.squad import QAExample, exact_match_score, f1_score, normalize_answer, read_squad, squad_metrics


@pytest.mark.parametrize("raw, norm", [
    ("The Eiffel Tower", "eiffel tower"),          # lower-case, article removed
    ("  an   apple, a pear!  ", "apple pear"),      # punctuation, articles, whitespace folded
    ("theory of the atom", "theory of atom"),      # 'the' inside a word is kept ('theory')
    ("U.S.A.", "usa"),
    ("Anne's café", "annes café"),                  # apostrophe is punctuation; accents stay
    ("A-B", "ab"),                                  # hyphen removed without a space (official order)
])
def test_normalisation(raw, norm):
    assert normalize_answer(raw) == norm


def test_exact_match_and_f1_by_hand():
    assert exact_match_score("the Denver Broncos", "Denver Broncos.")
    assert not exact_match_score("Denver", "Denver Broncos")
    # pred {denver}, gold {denver, broncos}: P=1, R=1/2 -> F1 = 2/3
    assert f1_score("Denver", "Denver Broncos") == pytest.approx(2 / 3)
    # repeated tokens count by multiplicity: pred {a:x2... } -> "cat cat" vs "cat": common 1, P=1/2, R=1 -> 2/3
    assert f1_score("cat cat", "the cat") == pytest.approx(2 / 3)
    assert f1_score("dog", "cat") == 0.0
    assert f1_score("the", "a") == 0.0            # both normalise to nothing: no common tokens -> 0 (official)


def test_max_over_gold_answers_and_percentages():
    examples = [QAExample("1", "q", "c", ["Denver Broncos", "Broncos"]), QAExample("2", "q", "c", ["Santa Clara"]),
                QAExample("3", "q", "c", ["Levi's Stadium"])]
    preds = {"1": "the Broncos", "2": "Clara, California"}  # 3 unanswered -> 0, as officially
    scores = squad_metrics(examples, preds)
    assert scores["exact_match"] == pytest.approx(100 / 3)
    # q2: pred {clara, california}, gold {santa, clara}: P=R=1/2 -> F1 1/2
    assert scores["f1"] == pytest.approx(100 * (1 + 0.5 + 0) / 3)
    assert scores["n"] == 3


def test_reader_keeps_all_answers_and_validates(tmp_path):
    ctx = "Café in Zürich 🙂 opened in 1901."
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": [
        {"id": "a", "question": "When?", "answers": [{"text": "1901", "answer_start": ctx.index("1901")},
                                                     {"text": "in 1901", "answer_start": ctx.index("in 1901")}]}]}]}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    (ex,) = read_squad(path)
    assert ex.answers == ["1901", "in 1901"] and ex.context[ex.answer_starts[0]:].startswith("1901")
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
    path.write_text(json.dumps(data))
    with pytest.raises(PocketbertError, match="not at answer_start"):
        read_squad(path)
    path.write_text("{not json")
    with pytest.raises(PocketbertError, match="not valid JSON"):
        read_squad(path)


def test_the_share_interval_brackets_the_share_and_narrows_with_more_questions():
    from pocketbert.core.squad import f1_share_interval, question_f1

    def questions(n):
        return [QAExample(id=f"q{i}", question="?", context="x", answers=[f"answer {i}"]) for i in range(n)]

    def answers(exs, right_every):  # right on every `right_every`-th question, wrong elsewhere
        return {ex.id: (ex.answers[0] if i % right_every == 0 else "nothing") for i, ex in enumerate(exs)}

    few, many = questions(40), questions(4000)
    assert question_f1(few[:3], {"q0": "answer 0", "q1": "answer"}) == [1.0, pytest.approx(2 / 3), 0.0]
    widths = []
    for exs in (few, many):
        teacher, student = answers(exs, 1), answers(exs, 2)  # the student answers half of what the teacher does
        lo, hi = f1_share_interval(exs, student, teacher)
        assert lo < 0.5 < hi and 0.3 < lo and hi < 0.7
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 5  # ~1/sqrt(100) as wide
    assert f1_share_interval(few, answers(few, 1), answers(few, 1)) == (1.0, 1.0)  # the same answers: exactly 1
