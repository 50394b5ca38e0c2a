"""Accuracy of what ships: run a converted artifact the way the phone apps do and score it.

QA follows the apps step by step (ios_demo QAPipeline, android_demo QaPipeline): tokenize once, pick the
smallest signature S whose window holds `[CLS] q [SEP] c [SEP]` (else the largest, with overlapping windows),
run every window, decode with `best_span`. The PyTorch source model is run on the very same windows, so
"agreement" isolates what conversion and quantization changed. cls and sts (embed artifacts) pick S the same way
for each text (truncating only at the largest S).

Torch-free at import: the source comparison imports torch only when it runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pocketbert.core.errors import PocketbertError
from pocketbert.core.qa import Answer, Features, best_span, choose_seq_len, encode_pair, pair_features
from pocketbert.core.runtime import Artifact, is_artifact_dir, load_artifact

# Which evaluate subcommand reads which artifact task (sts scores the embeddings of an `embed` artifact).
EVAL_TASK_OF_ARTIFACT = {"qa": "qa", "cls": "cls", "sts": "embed"}
# The accuracy metric a results record carries per task (the others stay in `extra`).
RECORD_METRIC = {"qa": "f1", "cls": "accuracy", "sts": "spearman"}
QA_OUTPUTS = ["start_logits", "end_logits"]


@dataclass
class AppAnswer:
    """One answer as an app shows it: the span, the length and windows used, and where the time went."""

    answer: Answer
    seq_len: int
    features: Features
    tokenize_ms: float
    model_ms: float
    decode_ms: float

    @property
    def windows(self) -> int:
        return self.features.n_windows


def input_names(manifest: dict) -> list[str]:
    return [t["name"] for t in manifest["inputs"]]


def answer_question(artifact: Artifact, tokenizer, question: str, context: str) -> AppAnswer:
    """Question + context -> answer on the artifact, exactly as the apps do (module docstring)."""
    tok = artifact.manifest["tokenizer"]
    t0 = time.perf_counter()
    pair = encode_pair(tokenizer, question, context, tok["max_query_len"])
    seq_len = choose_seq_len(artifact.seq_lens, pair)
    feats = pair_features(tokenizer, pair, seq_len, tok["doc_stride"])
    t1 = time.perf_counter()
    out = artifact.run(seq_len, feats.model_inputs(input_names(artifact.manifest)))  # {name: (windows, S)}
    t2 = time.perf_counter()
    answer = best_span(feats, out["start_logits"], out["end_logits"], max_answer_len=tok["max_answer_len"])
    t3 = time.perf_counter()
    return AppAnswer(answer, seq_len, feats, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)


def open_qa_artifact(artifact_dir, threads: int | None = None, compute_units: str = "all") -> Artifact:
    """Load an artifact that must be a QA model (one clear line otherwise)."""
    artifact = _load(artifact_dir, threads, compute_units)
    if artifact.task != "qa":
        raise PocketbertError(f"artifact {artifact_dir} is a {artifact.task} model, not question answering; "
                              "pass an artifact converted with --task qa")
    return artifact


def _load(artifact_dir, threads, compute_units) -> Artifact:
    if not Path(artifact_dir).exists():
        raise PocketbertError(f"{artifact_dir} does not exist; pass an artifact dir written by `pocketbert convert`")
    if not is_artifact_dir(artifact_dir):
        raise PocketbertError(f"{artifact_dir} is not an artifact dir (no manifest.json); "
                              "pass a dir written by `pocketbert convert`")
    return load_artifact(artifact_dir, threads=threads, compute_units=compute_units)


def _share(counts: dict[int, int]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {f"seq_{s}": round(c / total, 6) for s, c in sorted(counts.items())}


def _latency(samples_ms: list[float]) -> dict:
    arr = np.asarray(samples_ms, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 4), "mean": round(float(arr.mean()), 4), "n": int(arr.size)}


# ---------------------------------------------------------------------------------------------------------------- QA
def _eval_qa(artifact: Artifact, tokenizer, data: Path, limit, source_model, progress: bool) -> tuple[dict, list[float]]:
    from tqdm.auto import tqdm

    from pocketbert.core.squad import read_squad, squad_metrics

    examples = read_squad(data, limit)
    windows: dict[int, int] = {}
    questions: dict[int, int] = {}
    preds, src_preds, same, model_ms = {}, {}, [], []
    for ex in tqdm(examples, desc=f"evaluate {artifact.path.name}", unit="q", disable=None if progress else True, leave=False):
        got = answer_question(artifact, tokenizer, ex.question, ex.context)
        preds[ex.id] = got.answer.text
        windows[got.seq_len] = windows.get(got.seq_len, 0) + got.windows
        questions[got.seq_len] = questions.get(got.seq_len, 0) + 1
        model_ms += [got.model_ms / got.windows] * got.windows
        if source_model is not None:
            ref = source_model.run(got.seq_len, got.features.model_inputs(input_names(artifact.manifest)), QA_OUTPUTS)
            b = best_span(got.features, ref["start_logits"], ref["end_logits"],
                          max_answer_len=artifact.manifest["tokenizer"]["max_answer_len"])
            src_preds[ex.id] = b.text
            a = got.answer
            same.append((a.window, a.start_token, a.end_token) == (b.window, b.start_token, b.end_token))
    out = {**squad_metrics(examples, preds), "windows": sum(windows.values()),
           "windows_per_signature": {f"seq_{s}": c for s, c in sorted(windows.items())},
           "window_share": _share(windows), "questions_per_signature": {f"seq_{s}": c for s, c in sorted(questions.items())},
           "model_ms_per_window": _latency(model_ms), "predictions": preds}
    if source_model is not None:
        out["source_scores"] = squad_metrics(examples, src_preds)
        out["agreement"] = float(np.mean(same))
    return out, model_ms


# --------------------------------------------------------------------------------------------------- cls and sts
def _encode_texts(artifact: Artifact, tokenizer, texts: list[tuple[str, ...]]) -> dict[int, tuple[list[int], dict]]:
    """Group texts by the smallest S that holds all their tokens (else the largest, truncated): {S: (rows, feeds)}."""
    names = input_names(artifact.manifest)
    lens = artifact.seq_lens
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(texts):
        needed = len(tokenizer(*t, truncation=False)["input_ids"])  # with [CLS]/[SEP]
        s = next((s for s in lens if s >= needed), lens[-1])
        groups.setdefault(s, []).append(i)
    out = {}
    for s, rows in sorted(groups.items()):
        firsts = [texts[i][0] for i in rows]
        seconds = [texts[i][1] for i in rows] if len(texts[rows[0]]) > 1 else None
        enc = tokenizer(firsts, seconds, truncation=True, max_length=s, padding="max_length", return_token_type_ids=True)
        out[s] = (rows, {k: np.asarray(enc[k], dtype=np.int64) for k in names})  # (rows, S) each
    return out


def _run_groups(runner, groups, name: str, n: int, timings: list[float] | None = None) -> np.ndarray:
    """Run every group through `runner` and put the `name` output back in text order: (n, ...)."""
    result = None
    for s, (rows, feeds) in groups.items():
        t0 = time.perf_counter()
        got = runner.run(s, feeds, [name])[name]  # (rows, ...)
        if timings is not None:
            timings += [(time.perf_counter() - t0) * 1e3 / len(rows)] * len(rows)
        if result is None:
            result = np.zeros((n, *got.shape[1:]), dtype=np.float32)
        result[rows] = got
    return result


def _eval_cls(artifact: Artifact, tokenizer, data: Path, limit, source_model, progress: bool) -> tuple[dict, list[float]]:
    from pocketbert.core.datasets_io import read_cls_tsv

    rows = read_cls_tsv(data, limit)
    n_labels = next(o["shape"][-1] for o in artifact.manifest["outputs"] if o["name"] == "logits")
    if rows.num_labels > n_labels:
        raise PocketbertError(f"{data} has label {rows.num_labels - 1} but artifact {artifact.path} knows {n_labels} labels")
    groups = _encode_texts(artifact, tokenizer, rows.texts)
    model_ms: list[float] = []
    pred = _run_groups(artifact, groups, "logits", len(rows.labels), model_ms).argmax(-1)  # (n,)
    gold = np.asarray(rows.labels)
    out = {"accuracy": float((pred == gold).mean()), "n": len(gold), **_group_stats(groups),
           "model_ms_per_window": _latency(model_ms)}
    if source_model is not None:
        ref = _run_groups(source_model, groups, "logits", len(gold)).argmax(-1)
        out["source_scores"] = {"accuracy": float((ref == gold).mean())}
        out["agreement"] = float((ref == pred).mean())
    return out, model_ms


def _group_stats(groups) -> dict:
    counts = {s: len(rows) for s, (rows, _) in groups.items()}
    return {"windows": sum(counts.values()), "windows_per_signature": {f"seq_{s}": c for s, c in sorted(counts.items())},
            "window_share": _share(counts)}


def _cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)  # (n, hidden)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)  # (n,)


def _eval_sts(artifact: Artifact, tokenizer, data: Path, limit, source_model, progress: bool) -> tuple[dict, list[float]]:
    from scipy.stats import spearmanr

    from pocketbert.core.datasets_io import read_sts

    sts = read_sts(data, limit)
    sentences = [(p[0],) for p in sts.pairs] + [(p[1],) for p in sts.pairs]
    groups = _encode_texts(artifact, tokenizer, sentences)
    model_ms: list[float] = []
    emb = _run_groups(artifact, groups, "embeddings", len(sentences), model_ms)  # (2n, hidden)
    n = len(sts.pairs)
    gold = np.asarray(sts.scores)
    out = {"spearman": float(spearmanr(_cosine_rows(emb[:n], emb[n:]), gold).statistic), "n": n,
           **_group_stats(groups), "model_ms_per_window": _latency(model_ms)}
    if source_model is not None:
        ref = _run_groups(source_model, groups, "embeddings", len(sentences))
        out["source_scores"] = {"spearman": float(spearmanr(_cosine_rows(ref[:n], ref[n:]), gold).statistic)}
        cos = _cosine_rows(emb, ref)
        out["agreement"] = float(cos.mean())  # mean cosine(artifact, source) over every sentence embedding
        out["agreement_min_cosine"] = float(cos.min())
    return out, model_ms


EVALUATORS = {"qa": _eval_qa, "cls": _eval_cls, "sts": _eval_sts}


def evaluate_artifact(artifact_dir, task: str, data, *, limit: int | None = None, source: str | None = None,
                      compare: bool = True, threads: int | None = None, compute_units: str = "all",
                      device: str = "cpu", batch_size: int = 32, progress: bool = True,
                      results: Path | None = None, predictions: bool = False) -> dict:
    """Score an artifact dir on `data` with the apps' windows; compare with its PyTorch source unless `compare=False`.

    task: qa (SQuAD JSON: EM/F1), cls (GLUE-style TSV: accuracy), sts (STS-B file, embed artifact: Spearman).
    source: PyTorch model dir/hub id overriding the manifest's `source_model`. threads: runtime threads (None =
    the runtime's default). results: a results JSONL (CONTRACTS.md §6) to append one accuracy record to.
    predictions: also return qa's {question id: answer text} (the official SQuAD predictions format).
    Returns a JSON-ready dict: the scores, `agreement` with the source and `source_scores`, windows per signature.
    """
    if task not in EVALUATORS:
        raise PocketbertError(f"cannot evaluate task {task!r} on an artifact; choose one of {', '.join(EVALUATORS)}")
    data = Path(data)
    if not data.is_file():
        raise PocketbertError(f"--data {data} does not exist; pass the evaluation file")
    if results is not None:  # before the run, not after it: only a new file or a results JSONL (core/outputs.py)
        from pocketbert.core.results import check_results_out

        check_results_out(Path(results), inputs=[artifact_dir, data])
    artifact = _load(artifact_dir, threads, compute_units)
    want = EVAL_TASK_OF_ARTIFACT[task]
    if artifact.task != want:
        raise PocketbertError(f"artifact {artifact_dir} is a {artifact.task} model; `evaluate {task}` needs a {want} "
                              f"artifact (convert with --task {want})")
    tokenizer = artifact.tokenizer()
    source_model, source_name = None, None
    if compare:
        from pocketbert.core.model_io import TorchTaskModel

        source_name = source or artifact.manifest["source_model"]
        source_model = TorchTaskModel(source_name, artifact.task, device=device, batch_size=batch_size)
    t0 = time.perf_counter()
    scores, model_ms = EVALUATORS[task](artifact, tokenizer, data, limit, source_model, progress)
    preds = scores.pop("predictions", None)
    m = artifact.manifest
    out = {"task": task, "model": str(artifact_dir), "data": str(data), "format": m["format"],
           "precision": m["precision"], "runtime": artifact.backend.runtime, "threads": threads,
           "seq_lens": artifact.seq_lens, "source_model": source_name, **scores,
           "wall_s": round(time.perf_counter() - t0, 3)}
    if results is not None:
        from pocketbert.core.results import append_record

        append_record(Path(results), accuracy_record(artifact, out, model_ms))
    if predictions and preds is not None:
        out["predictions"] = preds
    return out


def accuracy_record(artifact: Artifact, scores: dict, model_ms: list[float]) -> dict:
    """A results record (CONTRACTS.md §6) carrying the artifact's accuracy, so `report` can join it with latency.

    seq_len is the artifact's largest length; latency_ms summarizes the model time per window measured while
    evaluating (mixed lengths: see extra.window_share); the full scores ride in `extra.evaluation`.
    """
    from pocketbert.core.device_info import host_device, load_average
    from pocketbert.core.manifest import artifact_size
    from pocketbert.core.results import SCHEMA_VERSION, latency_summary, now_iso

    m = artifact.manifest
    metric = RECORD_METRIC[scores["task"]]
    parity = m.get("parity") or {}
    outs = [o for o in (parity.get("outputs") or {}).values() if isinstance(o, dict)]
    return {
        "schema_version": SCHEMA_VERSION, "timestamp": now_iso(), "device": host_device(),
        "runtime": {"name": artifact.backend.runtime, "version": artifact.backend.version,
                    "delegate": artifact.backend.delegate, "compute_units": getattr(artifact.backend, "compute_units", None)},
        "threads": scores.get("threads"),
        "model": {"name": artifact.path.name, "role": None, "architecture": m.get("source_architecture"),
                  "task": m["task"], "params": m.get("params"), "source": m.get("source_model"), "weights": None},
        "precision": m["precision"], "seq_len": max(artifact.seq_lens), "batch": 1,
        "latency_ms": latency_summary(model_ms), "init_ms": None, "first_inference_ms": None,
        "peak_memory_bytes": None, "model_size_bytes": artifact_size(artifact.path / m["model_file"]),
        "accuracy": {"metric": metric, "value": float(scores[metric])},
        "source_file": str(artifact.path / m["model_file"]),
        "parity": {"status": parity["status"], "max_abs": max((o["max_abs"] for o in outs), default=None),
                   "cosine": min((o["cosine"] for o in outs), default=None)} if parity.get("status") else None,
        "extra": {"kind": "accuracy", "evaluation": scores, "window_share": scores.get("window_share"),
                  "load_average": load_average()},
    }
