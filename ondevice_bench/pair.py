"""`pocketbert bench pair`: the paper's comparison in one command — build teacher and student, convert, bench, ratios.

Public architectures are hard-coded (no network): random weights are enough to measure latency, size and
memory, and the records say `model.weights = "random"` so nobody reads accuracy into them.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pocketbert.core.errors import PocketbertError

# Public configs of bert-base-uncased and distilbert-base-uncased (shapes only; weights are not downloaded).
BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
DISTILBERT_BASE = dict(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                       max_position_embeddings=512)
ARCHITECTURES = {
    "bert-base": ("bert", BERT_BASE), "bert-base-uncased": ("bert", BERT_BASE),
    "distilbert-base": ("distilbert", DISTILBERT_BASE), "distilbert-base-uncased": ("distilbert", DISTILBERT_BASE),
}
HEADS = {"qa": "AutoModelForQuestionAnswering", "cls": "AutoModelForSequenceClassification",
         "embed": "AutoModel", "mlm": "AutoModelForMaskedLM"}
RUNTIME_FORMATS = {"tflite": "tflite", "onnx": "onnx"}
# Parity of random-weight models only proves the conversion; a few inputs are enough.
PAIR_PARITY_N = 4
BUILT_MARKER = "pocketbert_pair.json"


def _params_of(model_dir: Path) -> int | None:
    """Parameter count from safetensors headers (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    files = list(model_dir.glob("*.safetensors"))
    for f in files:
        with safe_open(str(f), framework="pt") as fh:
            for key in fh.keys():
                n = 1
                for d in fh.get_slice(key).get_shape():
                    n *= d
                total += n
    return total or None


def build_model(spec: str, task: str, dest: Path) -> tuple[Path, str, str]:
    """(model dir, weights kind, architecture) for a named public architecture (random) or a model dir (its weights)."""
    if spec.lower() in ARCHITECTURES:
        marker = dest / BUILT_MARKER
        model_type, cfg = ARCHITECTURES[spec.lower()]
        if marker.is_file() and json.loads(marker.read_text()) == {"spec": spec.lower(), "task": task}:
            arch = json.loads((dest / "config.json").read_text())["architectures"][0]
            return dest, "random", arch
        import torch
        import transformers
        from transformers import AutoTokenizer, BertConfig, DistilBertConfig

        from pocketbert.core.atomic import atomic_output_dir
        from pocketbert.core.models import packaged_teacher_dir

        print(f"building {spec} ({task}) with random weights", file=sys.stderr)
        torch.manual_seed(0)
        config = (BertConfig if model_type == "bert" else DistilBertConfig)(**cfg)
        model = getattr(transformers, HEADS[task]).from_config(config).eval()
        with atomic_output_dir(dest, force=True) as tmp:
            model.save_pretrained(tmp)
            # The packaged teacher's tokenizer has the same uncased 30522-word vocab as bert-base-uncased.
            AutoTokenizer.from_pretrained(str(packaged_teacher_dir())).save_pretrained(tmp)
            (tmp / BUILT_MARKER).write_text(json.dumps({"spec": spec.lower(), "task": task}))
        return dest, "random", type(model).__name__
    path = Path(spec)
    if not (path / "config.json").is_file():
        raise PocketbertError(f"{spec} is neither a known architecture ({', '.join(ARCHITECTURES)}) nor a model dir "
                              "with config.json")
    arch = (json.loads((path / "config.json").read_text()).get("architectures") or [None])[0]
    return path, "trained", arch


def bench_pair(teacher: str, student: str, seq_lens: list[int], precisions: list[str], runtime: str, out: Path,
               task: str = "qa", threads: int | None = None, runs: int = 20, warmup: int = 3,
               force: bool = False) -> list[dict]:
    """Build, convert (reusing artifacts already in `out` unless `force`), bench; print the ratio lines last."""
    from pocketbert.bench.host import bench_host
    from pocketbert.bench.report import ratio_rows

    if runtime not in RUNTIME_FORMATS:
        raise PocketbertError(f"--runtime must be one of {', '.join(RUNTIME_FORMATS)}")
    try:
        from pocketbert.convert.api import convert_model
    except ImportError as exc:  # pragma: no cover - the convert stage ships with pocketbert
        raise PocketbertError(f"the convert stage is not installed ({exc}); reinstall pocketbert") from exc
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    threads = threads or min(4, os.cpu_count() or 1)
    models = {}
    for role, spec in (("teacher", teacher), ("student", student)):
        name = Path(spec).name if Path(spec).is_dir() else spec.lower()
        path, weights, arch = build_model(spec, task, out / "models" / f"{role}-{name}")
        models[role] = {"name": name, "path": path, "weights": weights, "architecture": arch,
                        "params": _params_of(path)}
    results = out / "results.jsonl"
    if results.exists():
        results.unlink()  # this command's results are of this run only; `report` can merge several files
    records: list[dict] = []
    # Convert and bench one precision at a time: a later precision failing its parity gate keeps earlier results.
    for precision in precisions:
        artifacts, overrides = [], {}
        for role in ("teacher", "student"):
            m = models[role]
            dest = out / "artifacts" / f"{role}-{m['name']}-{task}-{runtime}-{precision}"
            manifest = dest / "manifest.json"
            if force or not manifest.is_file() or json.loads(manifest.read_text()).get("seq_lens") != list(seq_lens):
                print(f"converting {m['name']} -> {runtime} {precision} seq {seq_lens}", file=sys.stderr)
                convert_model(RUNTIME_FORMATS[runtime], str(m["path"]), task, list(seq_lens), precision, dest,
                              force=True, n=PAIR_PARITY_N)
            artifacts.append(dest)
            overrides[str(dest)] = {"model": {"name": m["name"], "role": role, "weights": m["weights"],
                                              "architecture": m["architecture"], "params": m["params"],
                                              "source": str(m["path"])}}
        records += bench_host(artifacts, threads=[threads], runs=runs, warmup=warmup, out=results,
                              seq_lens=seq_lens, overrides=overrides)
    rows = ratio_rows(records)
    print(f"results: {results}")
    for row in rows:
        print(f"latency ratio (student/teacher) {row['precision']} seq {row['seq_len']}: {row['latency_ratio']:.3f}")
    for row in rows:
        print(f"size ratio (student/teacher) {row['precision']} seq {row['seq_len']}: {row['size_ratio']:.3f}")
    return records
