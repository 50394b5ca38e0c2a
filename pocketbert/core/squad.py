"""SQuAD v1.1 JSON reading (validated) and the official EM/F1 metrics.

The metric functions reproduce the official `evaluate-v1.1.py` exactly (lower-case, drop punctuation, drop the
articles a/an/the, fold whitespace; F1 over bag-of-token overlap; max over the gold answers; percentages), so
numbers here are comparable with published SQuAD results.
"""
from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pocketbert.core.errors import PocketbertError

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


@dataclass
class QAExample:
    id: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)  # code-point offsets into `context`
    title: str = ""


def normalize_answer(text: str) -> str:
    """Official normalisation: lower, remove punctuation, remove articles, fold whitespace (in that order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, truth: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(truth)


def f1_score(prediction: str, truth: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(truth).split()
    common = Counter(pred_tokens) & Counter(truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def metric_max_over_ground_truths(metric_fn, prediction: str, truths: list[str]) -> float:
    return max(metric_fn(prediction, t) for t in truths)


def question_f1(examples: list[QAExample], predictions: dict[str, str]) -> list[float]:
    """Each question's F1 in [0, 1] (max over its gold answers; an unanswered question scores 0)."""
    return [metric_max_over_ground_truths(f1_score, predictions[ex.id], ex.answers) if ex.id in predictions else 0.0
            for ex in examples]


def squad_metrics(examples: list[QAExample], predictions: dict[str, str]) -> dict[str, float]:
    """{"exact_match", "f1"} in percent over `examples`; an unanswered question scores 0 (as officially)."""
    if not examples:
        raise PocketbertError("no questions to score; pass a SQuAD file with at least one question")
    em = sum(metric_max_over_ground_truths(exact_match_score, predictions[ex.id], ex.answers)
             for ex in examples if ex.id in predictions)
    f1 = sum(question_f1(examples, predictions))
    return {"exact_match": 100.0 * em / len(examples), "f1": 100.0 * f1 / len(examples), "n": len(examples)}


# Paired bootstrap of one model's share of another's F1 over questions: resamples and the interval's level.
SHARE_RESAMPLES = 2000
SHARE_LEVEL = 0.95
# Below this many questions a resample can hold only questions the denominator model missed entirely, and the
# interval runs off to absurd bounds (16 questions gave 0%-1.2e14%): no interval is reported then.
SHARE_MIN_QUESTIONS = 100


def f1_share_interval(examples: list[QAExample], numerator: dict[str, str], denominator: dict[str, str],
                      seed: int = 0) -> tuple[float, float]:
    """Percentile interval of F1(numerator) / F1(denominator) when the questions are drawn again (paired: both
    models answer the same resampled questions).

    Why: a student's share of its teacher's F1 on a few hundred questions moves by several points with which
    questions happen to be in the set (95% interval 86.2-93.2% around 89.7% on qa-models' 783, README); the interval
    says whether "90% of the teacher" is a property of the model or of the questions.
    """
    import numpy as np

    num = np.asarray(question_f1(examples, numerator))   # (n,)
    den = np.asarray(question_f1(examples, denominator))  # (n,)
    idx = np.random.default_rng(seed).integers(0, len(examples), size=(SHARE_RESAMPLES, len(examples)))  # (R, n)
    shares = num[idx].sum(1) / np.maximum(den[idx].sum(1), 1e-12)  # (R,)
    tail = (1 - SHARE_LEVEL) / 2
    lo, hi = np.quantile(shares, [tail, 1 - tail])
    return float(lo), float(hi)


def _require(obj, key: str, kind, where: str, path: Path):
    if not isinstance(obj, dict) or key not in obj:
        raise PocketbertError(f"{path}: {where} has no '{key}' key; expected SQuAD v1.1 JSON (data/paragraphs/qas/answers)")
    value = obj[key]
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        raise PocketbertError(f"{path}: {where}.{key} should be a {names}, got {type(value).__name__}")
    return value


def read_squad_data(path: Path) -> list[dict]:
    """The raw `data` list (articles) of a SQuAD JSON file, with one-line errors for unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise PocketbertError(f"SQuAD file {path} does not exist; pass a SQuAD v1.1 JSON file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise PocketbertError(f"SQuAD file {path} is empty; pass a SQuAD v1.1 JSON file")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PocketbertError(f"SQuAD file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return _require(obj, "data", list, "the top level", path)


def examples_from_data(data: list[dict], path: Path = Path("<squad>"), require_answers: bool = True) -> list[QAExample]:
    """Validated QAExamples: every answer must sit at its answer_start inside its context."""
    examples: list[QAExample] = []
    for a_i, article in enumerate(data):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p_i, para in enumerate(_require(article, "paragraphs", list, f"data[{a_i}]", path)):
            where = f"data[{a_i}].paragraphs[{p_i}]"
            context = _require(para, "context", str, where, path)
            for q_i, qa in enumerate(_require(para, "qas", list, where, path)):
                qwhere = f"{where}.qas[{q_i}]"
                qid = str(_require(qa, "id", (str, int), qwhere, path))
                question = _require(qa, "question", str, qwhere, path)
                answers = _require(qa, "answers", list, qwhere, path)
                if require_answers and not answers:
                    raise PocketbertError(f"{path}: question {qid} has no answers; SQuAD v1.1 needs at least one")
                texts, starts = [], []
                for ans in answers:
                    ans_text = _require(ans, "text", str, f"question {qid} answer", path)
                    start = _require(ans, "answer_start", int, f"question {qid} answer", path)
                    if not 0 <= start <= len(context) - len(ans_text):
                        raise PocketbertError(
                            f"{path}: question {qid}: answer_start {start} is outside its context "
                            f"({len(context)} characters); fix the answer_start")
                    if context[start : start + len(ans_text)] != ans_text:
                        raise PocketbertError(
                            f"{path}: question {qid}: answer text {ans_text[:40]!r} is not at answer_start {start} "
                            f"(found {context[start:start + len(ans_text)][:40]!r}); fix the answer_start")
                    texts.append(ans_text)
                    starts.append(start)
                examples.append(QAExample(qid, question, context, texts, starts, title))
    if not examples:
        raise PocketbertError(f"{path}: no questions found; pass a SQuAD v1.1 file with paragraphs and qas")
    return examples


def read_squad(path: Path, limit: int | None = None) -> list[QAExample]:
    """Read and validate a SQuAD v1.1 file (optionally only its first `limit` questions)."""
    examples = examples_from_data(read_squad_data(path), Path(path))
    return examples[:limit] if limit else examples


def write_squad_subset(src: Path, dst: Path, first: int, count: int) -> Path:
    """Write articles [first, first+count) of a SQuAD file as a new SQuAD file (benchmark train/eval splits)."""
    from pocketbert.core.atomic import write_json

    data = read_squad_data(src)
    if first + count > len(data):
        raise PocketbertError(f"{src} has {len(data)} articles, fewer than the {first + count} requested")
    write_json(Path(dst), {"version": "1.1", "data": data[first : first + count]}, indent=None)
    return Path(dst)
