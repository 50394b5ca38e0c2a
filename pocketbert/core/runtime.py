"""The one runtime layer: load a converted artifact (CONTRACTS.md §5) and run it as a phone would.

Each format's backend is the class its `registry.FormatRecord.backend` names. The three built-in ones live here:
LiteRT through ai-edge-litert (one `seq_<S>` signature per length in one .tflite), ONNX through onnxruntime (one
file per S), Core ML through `MLModel.predict` (macOS only); a new format's backend subclasses core/backend.py's
`Backend` in its own module. Parity (convert/), evaluation of artifacts and the host bench all run artifacts
through this module, so "the artifact agrees with PyTorch" and "the artifact takes N ms" are statements about the
same code path.

Torch-free, and the backends are imported inside the functions that need them: importing this module costs
nothing, and a machine without coremltools can still run LiteRT and ONNX artifacts.

Every backend offers the same two calls:
  * `bind(seq_len, row) -> fn`: feeds of one window prepared once (names and dtypes the runtime wants);
    `fn()` runs the model and returns {output name: (1, ...) array}. The bench times `fn` alone.
  * `run(seq_len, feeds, names) -> {name: (n, ...) float32}`: n windows fed row by row (artifacts are static
    (1, S) by design).
"""
from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from pocketbert.core import registry
from pocketbert.core.backend import (  # noqa: F401  (FEATURE_KEYS, signature_name, Outputs: re-exported)
    FEATURE_KEYS, Backend, Outputs, first_line, prepare_feeds, signature_name,
)
from pocketbert.core.device_info import package_version
from pocketbert.core.errors import PocketbertError
from pocketbert.core.manifest import MANIFEST_NAME, load_manifest

# Core ML compute-unit names (CONTRACTS.md §7, the apps' `ComputeUnitsName`) -> coremltools.ComputeUnit member.
COREML_COMPUTE_UNITS = {"all": "ALL", "cpu_and_ne": "CPU_AND_NE", "cpu_and_gpu": "CPU_AND_GPU", "cpu_only": "CPU_ONLY"}
# coremltools logs "Failed to load _MLModelProxy" at import on Linux, where prediction is unavailable by design.
COREML_IMPORT_LOGGER = "coremltools"
_ONNX_DTYPES = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}


def coreml_can_predict() -> bool:
    """Core ML has no Linux runtime: prediction needs macOS."""
    return platform.system() == "Darwin"


def import_coremltools():
    """Import coremltools without its Linux-only import warnings (real conversion warnings still show)."""
    logger = logging.getLogger(COREML_IMPORT_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        import coremltools
    finally:
        logger.setLevel(level)
    return coremltools


def coreml_compute_unit(ct, name: str):
    """`ct.ComputeUnit` member for a compute-units name; the one place the mapping is spelled."""
    if name not in COREML_COMPUTE_UNITS:
        raise PocketbertError(f"compute units {name!r}; choose one of {', '.join(COREML_COMPUTE_UNITS)}")
    return getattr(ct.ComputeUnit, COREML_COMPUTE_UNITS[name])


class TFLiteBackend(Backend):
    """LiteRT interpreter (XNNPACK applied by default); one signature runner per `seq_<S>`."""

    runtime = "litert"
    delegate = "xnnpack"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise PocketbertError(f"cannot load {path}: {first_line(exc)} (truncated or not a .tflite); "
                                  "re-run `pocketbert convert`") from exc
        self.signatures = list(self.interpreter.get_signature_list())
        self.version = package_version("ai-edge-litert")
        self._runners: dict[str, object] = {}

    @classmethod
    def open(cls, files: Mapping[int, Path], threads: int | None = None, compute_units: str = "all") -> "TFLiteBackend":
        return cls(next(iter(files.values())), threads)  # one .tflite holds every length

    def _runner(self, seq_len: int):
        sig = signature_name(seq_len)
        if sig not in self.signatures:
            if len(self.signatures) != 1:
                raise PocketbertError(f"{self.path} has no signature {sig}; it has {', '.join(self.signatures) or 'none'}")
            sig = self.signatures[0]
        if sig not in self._runners:
            self._runners[sig] = self.interpreter.get_signature_runner(sig)
        return self._runners[sig]

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        runner = self._runner(seq_len)
        details = runner.get_input_details()
        feeds = prepare_feeds(list(details), {n: d["dtype"] for n, d in details.items()}, row)
        return lambda: runner(**feeds)


class OnnxBackend(Backend):
    """onnxruntime CPU sessions, one per static length; intra-op threads as given, inter-op 1 (batch 1)."""

    runtime = "onnxruntime"
    delegate = "cpu"

    def __init__(self, files: Mapping[int, Path], threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.version = ort.__version__
        self.sessions = {}
        for seq_len, path in files.items():
            try:
                self.sessions[seq_len] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
                raise PocketbertError(f"cannot load {path}: {first_line(exc)} (truncated or not ONNX); "
                                      "re-run `pocketbert convert`") from exc

    @classmethod
    def open(cls, files: Mapping[int, Path], threads: int | None = None, compute_units: str = "all") -> "OnnxBackend":
        return cls(files, threads)

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        if seq_len not in self.sessions:
            raise PocketbertError(f"no ONNX file for seq {seq_len}; the artifact has {sorted(self.sessions)}")
        sess = self.sessions[seq_len]
        inputs = sess.get_inputs()
        feeds = prepare_feeds([i.name for i in inputs], {i.name: _ONNX_DTYPES.get(i.type, np.int64) for i in inputs}, row)
        names = [o.name for o in sess.get_outputs()]
        return lambda: dict(zip(names, sess.run(names, feeds)))


class CoreMLBackend(Backend):  # pragma: no cover - prediction needs macOS
    """MLModel.predict with the chosen compute units; one package for every length (enumerated shapes) or one
    package per length (below iOS 18), as the manifest's signatures say."""

    runtime = "coreml"
    unavailable = "Core ML runs only on macOS"

    def __init__(self, files: Mapping[int, Path], compute_units: str = "all") -> None:
        if not coreml_can_predict():
            raise PocketbertError(f"Core ML models run only on macOS (this is {platform.system()}); "
                                  "use the LiteRT or ONNX artifact here, or run this on a Mac")
        ct = import_coremltools()
        self.version = ct.__version__
        self.compute_units = compute_units
        units = coreml_compute_unit(ct, compute_units)
        loaded: dict[Path, object] = {}
        self.models = {}
        for seq_len, path in files.items():
            if path not in loaded:
                loaded[path] = ct.models.MLModel(str(path), compute_units=units)
            self.models[seq_len] = loaded[path]

    @classmethod
    def open(cls, files: Mapping[int, Path], threads: int | None = None, compute_units: str = "all") -> "CoreMLBackend":
        return cls(files, compute_units)

    @classmethod
    def can_run_here(cls) -> bool:
        return coreml_can_predict()

    def bind(self, seq_len: int, row: Mapping[str, np.ndarray]) -> Callable[[], Outputs]:
        model = self.models.get(seq_len) or next(iter(self.models.values()))
        names = [i.name for i in model.get_spec().description.input]
        feeds = prepare_feeds(names, {n: np.int32 for n in names}, row)
        return lambda: model.predict(feeds)


def backend_class(fmt: str) -> type[Backend]:
    """The `Backend` subclass the registry names for `fmt` ("module:Class", imported on first use: runtimes are
    heavy optional packages, and a format's runtime module may live outside this file)."""
    record = registry.FORMATS.get(fmt)
    if record is None:
        raise PocketbertError(f"unknown artifact format {fmt!r}; expected one of {', '.join(registry.FORMATS)}")
    return registry.load_entry(record.backend)


def open_model(fmt: str, files: Mapping[int, Path], threads: int | None = None, compute_units: str = "all") -> Backend:
    """A backend for `files` ({seq_len: path}; LiteRT and Core ML hold every length in one file)."""
    return backend_class(fmt).open(files, threads, compute_units)


def model_files(artifact_dir: Path, manifest: dict) -> dict[int, Path]:
    """{seq_len: model file} with a one-line error for a missing or truncated file."""
    artifact_dir = Path(artifact_dir)
    files = {}
    for sig in manifest["signatures"]:
        path = artifact_dir / sig["file"]
        if not path.exists():
            raise PocketbertError(f"artifact {artifact_dir}: model file {sig['file']} is missing; re-run `pocketbert convert`")
        files[int(sig["seq_len"])] = path
    main = artifact_dir / manifest["model_file"]
    if main.is_file() and main.stat().st_size != manifest["file_size_bytes"]:
        raise PocketbertError(
            f"artifact {artifact_dir}: {manifest['model_file']} has {main.stat().st_size} bytes, the manifest says "
            f"{manifest['file_size_bytes']} (truncated or replaced); re-run `pocketbert convert`"
        )
    return files


def is_artifact_dir(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MANIFEST_NAME).is_file()


@dataclass
class Artifact:
    """A loaded artifact dir: its manifest and a backend for its model file(s)."""

    path: Path
    manifest: dict
    backend: Backend

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def seq_lens(self) -> list[int]:
        return sorted(int(s) for s in self.manifest["seq_lens"])

    @property
    def output_names(self) -> list[str]:
        return [o["name"] for o in self.manifest["outputs"]]

    def run(self, seq_len: int, feeds: Mapping[str, np.ndarray], names: list[str] | None = None) -> Outputs:
        """(n, S) feeds -> {output: (n, ...) float32} for `names` (default: the manifest's outputs)."""
        if seq_len not in self.seq_lens:
            raise PocketbertError(f"artifact {self.path} has no length {seq_len}; it has {self.seq_lens}")
        return self.backend.run(seq_len, feeds, names or self.output_names)

    def tokenizer(self):
        return artifact_tokenizer(self.path, self.manifest)


def artifact_tokenizer(artifact_dir, manifest: dict):
    """The tokenizer the apps build: vocab.txt + the manifest's normalization settings (CONTRACTS.md §3)."""
    from transformers import BertTokenizerFast

    tok = manifest.get("tokenizer") or {}
    vocab = Path(artifact_dir) / tok.get("vocab_file", "vocab.txt")
    if not vocab.is_file():
        raise PocketbertError(f"artifact {artifact_dir} has no {vocab.name}; re-run `pocketbert convert`")
    # `vocab=` (a path): transformers 5 silently ignores the older `vocab_file=` keyword and builds an empty vocab.
    return BertTokenizerFast(vocab=str(vocab), do_lower_case=bool(tok.get("lowercase", True)),
                             strip_accents=tok.get("strip_accents"),
                             tokenize_chinese_chars=bool(tok.get("tokenize_chinese_chars", True)))


def load_artifact(artifact_dir, threads: int | None = None, compute_units: str = "all",
                  manifest: dict | None = None) -> Artifact:
    """Validate the manifest, check the model files, load the backend (Core ML: macOS only, one clear line)."""
    artifact_dir = Path(artifact_dir)
    if manifest is None:
        manifest = load_manifest(artifact_dir)
    files = model_files(artifact_dir, manifest)
    return Artifact(artifact_dir, manifest, open_model(manifest["format"], files, threads, compute_units))
