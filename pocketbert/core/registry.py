"""The registry: what pocketbert knows about each task, each export format and each model family, in one place.

Every stage reads these records instead of keeping its own copy (CONTRACTS.md §2 and §5 describe the same facts
for people; ARCHITECTURE in CONTRACTS.md says how to add a record). Torch-free and import-free beyond the standard
library, so the CLI can validate arguments with it before any heavy import.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskRecord:
    """One task of CONTRACTS.md §2.

    auto_class: the transformers Auto class that loads the head. head_suffix: the config.architectures suffix that
    proves a model dir carries that head (None: any BERT-family encoder will do). outputs: the artifact's output
    names, in order. agreement: what parity compares for reduced precisions (the answer a user sees).
    """

    name: str
    auto_class: str
    head_suffix: str | None
    outputs: tuple[str, ...]
    agreement: str


TASKS: dict[str, TaskRecord] = {
    t.name: t for t in (
        TaskRecord("qa", "AutoModelForQuestionAnswering", "ForQuestionAnswering", ("start_logits", "end_logits"),
                   "same answer span (core.qa.best_span)"),
        TaskRecord("cls", "AutoModelForSequenceClassification", "ForSequenceClassification", ("logits",),
                   "same argmax label"),
        TaskRecord("embed", "AutoModel", None, ("embeddings",), "cosine(artifact, torch) of each embedding"),
        TaskRecord("mlm", "AutoModelForMaskedLM", "ForMaskedLM", ("logits",), "same top-1 word at masked positions"),
    )
}


@dataclass(frozen=True)
class FormatRecord:
    """One export format of CONTRACTS.md §5; adding a format is this record plus the two modules it names.

    layout: how the model file(s) are laid out in the artifact dir. precisions: what `convert` accepts (the first
    is the default). runtime: the results records' `runtime.name` when core.runtime runs the artifact.
    export: "module:function" that writes the model file(s) (`export(source, tokenizer, seq_lens, precision,
    out_dir, calibration, opts) -> (model_file, signatures, quantization)`), a module of the convert stage.
    backend: "module:Class", the `core.backend.Backend` subclass that loads and runs the artifact, a core module.
    Both are named by string and imported on first use (importlib): converters and runtimes are heavy optional
    packages, and the core may name a stage's module but never import it (tests/test_architecture.py checks
    that each string names a module of the right layer). aliases: other names `convert` accepts (android, ios).
    """

    name: str
    layout: str
    precisions: tuple[str, ...]
    runtime: str
    export: str
    backend: str
    aliases: tuple[str, ...] = ()


FORMATS: dict[str, FormatRecord] = {
    f.name: f for f in (
        FormatRecord("tflite", "model.tflite, one seq_<S> signature per length",
                     ("fp32", "fp16", "int8-dynamic", "int8-hadamard", "int8-mixed", "int8-weight", "int8-full"), "litert",
                     "pocketbert.convert.tflite_export:export", "pocketbert.core.runtime:TFLiteBackend",
                     ("android", "litert")),
        FormatRecord("coreml", "model.mlpackage (enumerated shapes, iOS 18+) or model_seq_<S>.mlpackage per length",
                     ("fp32", "fp16", "int8", "palettize4", "palettize6"), "coreml",
                     "pocketbert.convert.coreml_export:export", "pocketbert.core.runtime:CoreMLBackend", ("ios",)),
        FormatRecord("onnx", "model_seq_<S>.onnx per length", ("fp32", "int8-dynamic", "int8-block"), "onnxruntime",
                     "pocketbert.convert.onnx_export:export", "pocketbert.core.runtime:OnnxBackend"),
        # The optional extra `pocketbert[executorch]`; int8 = XNNPACK dynamic per-channel (convert/executorch_export.py).
        FormatRecord("executorch", "model.pte, one seq_<S> method per length (shared weights)", ("fp32", "int8"),
                     "executorch", "pocketbert.convert.executorch_export:export",
                     "pocketbert.core.executorch_backend:ExecuTorchBackend"),
    )
}


def format_aliases() -> dict[str, str]:
    """Every name `convert` accepts -> the format's name (each format's own name included)."""
    return {alias: f.name for f in FORMATS.values() for alias in (f.name, *f.aliases)}


def load_entry(spec: str):
    """The object a "package.module:attribute" string names, importing the module on first use."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


# Every precision name any format uses, from most to least precise (report order, log-name guessing).
PRECISION_ORDER = ("fp32", "fp16", "int8-weight", "int8-mixed", "int8-hadamard", "int8-block", "int8-dynamic", "int8", "int8-full", "palettize6", "palettize4")

# model_type -> whether its embeddings take token_type_ids (DistilBERT has no segment embeddings).
MODEL_TYPES = {"bert": True, "distilbert": False}

# Examples per sequence length a parity gate runs (convert, pipeline, qa-models); enough for a 0.97 agreement
# threshold to mean something, few enough for a 2-core CI box.
PARITY_SAMPLES = 64

# Public configs of bert-base-uncased and distilbert-base-uncased (shapes only; weights are never downloaded):
# `bench pair` and the profiler build random-weight models of these shapes.
BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
DISTILBERT_BASE = dict(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                       max_position_embeddings=512)
PUBLIC_ARCHITECTURES = {
    "bert-base": ("bert", BERT_BASE), "bert-base-uncased": ("bert", BERT_BASE),
    "distilbert-base": ("distilbert", DISTILBERT_BASE), "distilbert-base-uncased": ("distilbert", DISTILBERT_BASE),
}


def task_auto_classes() -> dict[str, str]:
    """task -> transformers Auto class name."""
    return {name: t.auto_class for name, t in TASKS.items()}
